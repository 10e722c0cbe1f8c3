//! Probe URLs that try to leave the one prefix the flow was granted:
//! userinfo, dot segments in every encoding, other ports and other spellings
//! of the host, a redirect. Each chapter reports what every URL got.

use guest_sdk::prelude::*;
use std::time::Duration;

/// The granted prefix; the test runs a server there and one at
/// 127.0.0.1:24842 that must never see a connection.
const GRANTED: &str = "http://127.0.0.1:24841/allowed";

pub const TRICKS: &[&str] = &[
    "http://127.0.0.1:24841@127.0.0.1:24842/allowed/x",
    "http://user:pw@127.0.0.1:24841/allowed/x",
    "http://127.0.0.1:24841/allowed/../x",
    "http://127.0.0.1:24841/allowed/./../x",
    "http://127.0.0.1:24841/allowed/%2e%2e/x",
    "http://127.0.0.1:24841/allowed/%2E%2E/x",
    "http://127.0.0.1:24841/allowed/.%2e/x",
    "http://127.0.0.1:24841/allowed/..%2fx",
    "http://127.0.0.1:24841/allowed/..%2Fx",
    "http://127.0.0.1:24841/allowed/..%5cx",
    "http://127.0.0.1:24841/allowed\\..\\x",
    "http://127.0.0.1:24841/allowed/%252e%252e/x",
    "http://127.0.0.1:24841/allowed/..;/x",
    "http://127.0.0.1:24841/allowed/\t../x",
    "http://127.0.0.1:24841/allowedx",
    "http://127.0.0.1:24841/ALLOWED/x",
    "http://127.0.0.1:24841/allowed#@127.0.0.1:24842/",
    "http://127.0.0.1:24842/allowed/x",
    "http://127.1:24842/allowed/x",
    "http://0x7f.0.0.1:24842/allowed/x",
    "http://2130706433:24842/allowed/x",
    "http://[::ffff:127.0.0.1]:24842/allowed/x",
    "http://127.0.0.1:24842\\@127.0.0.1:24841/allowed/x",
    "https://127.0.0.1:24841/allowed/x",
    "file:///etc/passwd",
    "http://127.0.0.1:24841/allowed/redirect",
];

/// URLs inside the grant, which must work.
pub const FINE: &[&str] = &[
    "http://127.0.0.1:24841/allowed",
    "http://127.0.0.1:24841/allowed/ok",
    "HTTP://127.0.0.1:24841/allowed/ok?q=1",
    "http://127.0.0.1:24841/allowed/sub/../ok",
];

#[derive(Default)]
struct Probes;

/// Appends one narration line per URL, `NAME i => outcome`: the chapter's
/// error would be cut to the host's limit.
fn report(name: &str, urls: &[&str]) -> String {
    for (i, url) in urls.iter().enumerate() {
        let got = match probe::http_get(url, Duration::from_secs(3)) {
            Ok(response) => format!("status {}", response.status),
            Err(e) => e.message(),
        };
        narration::append(format!("{name} {i} => {got}"));
        // Within the host's narration rate.
        timing::sleep(Duration::from_millis(20));
    }
    format!("{name}: {} probes tried", urls.len())
}

impl Flow for Probes {
    fn describe(&self) -> FlowInfo<Self> {
        FlowInfo::new("probes", "0.1.0")
            .description("Probes outside its grant")
            .http_probe(GRANTED)
            // A malformed prefix and one with userinfo grant nothing.
            .http_probe("http://user@127.0.0.1:24842/")
            .http_probe("not a url")
            .chapter(Chapter::new("Tricks").action(|_| Err(report("trick", TRICKS).into())))
            .chapter(Chapter::new("Fine").action(|_| Err(report("fine", FINE).into())))
    }
}

export_flow!(Probes);
