//! Probe URLs that try to leave the one prefix the flow was granted:
//! userinfo, dot segments in every encoding, other ports and other spellings
//! of the host, a redirect; and spellings that lenient servers read as a
//! step out of the path though the URL standard does not (overlong UTF-8,
//! `%u`, encoded controls, Unicode dot and slash lookalikes, double
//! encoding). Each chapter reports what every URL got.

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

/// Paths under the grant that some server reads as leaving it: the host
/// must refuse each before sending anything, saying which segment and why.
pub const AMBIGUOUS: &[&str] = &[
    // Overlong UTF-8 for `.` and `/`, lone continuation, surrogate.
    "http://127.0.0.1:24841/allowed/..%c0%ae/x",
    "http://127.0.0.1:24841/allowed/%c0%ae%c0%ae/x",
    "http://127.0.0.1:24841/allowed/%e0%80%ae%e0%80%ae/x",
    "http://127.0.0.1:24841/allowed/..%c0%afx",
    "http://127.0.0.1:24841/allowed/%80",
    "http://127.0.0.1:24841/allowed/%ed%a0%80",
    // IIS `%u`, and `%%32%65` (IIS reads `%2e`).
    "http://127.0.0.1:24841/allowed/%u002e%u002e/x",
    "http://127.0.0.1:24841/allowed/%U002E%U002E/x",
    "http://127.0.0.1:24841/allowed/%%32%65%%32%65/x",
    // Encoded controls.
    "http://127.0.0.1:24841/allowed/..%00/x",
    "http://127.0.0.1:24841/allowed/..%09/x",
    "http://127.0.0.1:24841/allowed/..%0d%0a",
    "http://127.0.0.1:24841/allowed/..%7f/x",
    "http://127.0.0.1:24841/allowed/..%c2%85/x",
    // Dot and slash lookalikes, raw and encoded.
    "http://127.0.0.1:24841/allowed/%ef%bc%8e%ef%bc%8e/x",
    "http://127.0.0.1:24841/allowed/\u{ff0e}\u{ff0e}/x",
    "http://127.0.0.1:24841/allowed/\u{2024}\u{2024}/x",
    "http://127.0.0.1:24841/allowed/\u{fe52}\u{fe52}/x",
    "http://127.0.0.1:24841/allowed/\u{3002}\u{3002}/x",
    "http://127.0.0.1:24841/allowed/..\u{ff0f}x",
    "http://127.0.0.1:24841/allowed/..%e2%88%95x",
    "http://127.0.0.1:24841/allowed/..%e2%81%84x",
    "http://127.0.0.1:24841/allowed/..\u{ff3c}x",
    "http://127.0.0.1:24841/allowed/..%c2%a5x",
    "http://127.0.0.1:24841/allowed/.\u{200b}./x",
    "http://127.0.0.1:24841/allowed/.\u{338}.\u{338}/x",
    // Read as `..` after a second decoding.
    "http://127.0.0.1:24841/allowed/%252e%252e/x",
    "http://127.0.0.1:24841/allowed/%25c0%25ae%25c0%25ae/x",
    // Tomcat's `;`, an NTFS stream, a cut at `?`, Windows' trimming.
    "http://127.0.0.1:24841/allowed/..%3bx/y",
    "http://127.0.0.1:24841/allowed/..:x/y",
    "http://127.0.0.1:24841/allowed/..%3fx/y",
    "http://127.0.0.1:24841/allowed/.%20./x",
    // A raw backslash, an empty segment.
    "http://127.0.0.1:24841/allowed/x\\y",
    "http://127.0.0.1:24841/allowed/x//y",
];

/// URLs inside the grant, which must work.
pub const FINE: &[&str] = &[
    "http://127.0.0.1:24841/allowed",
    "http://127.0.0.1:24841/allowed/ok",
    "HTTP://127.0.0.1:24841/allowed/ok?q=1",
    "http://127.0.0.1:24841/allowed/sub/../ok",
    "http://127.0.0.1:24841/allowed/a%20b/caf%C3%A9;v=1",
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
            .chapter(
                Chapter::new("Ambiguous").action(|_| Err(report("ambiguous", AMBIGUOUS).into())),
            )
            .chapter(Chapter::new("Fine").action(|_| Err(report("fine", FINE).into())))
    }
}

export_flow!(Probes);
