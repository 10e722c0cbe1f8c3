//! Every string this flow hands the host carries terminal escape sequences
//! and control characters: its name, description, chapter titles, key hints,
//! narration, badge, countdown label, log lines, stdout, stderr and chapter
//! errors. Each payload spells `PWNED` (or a word of its own) inside the
//! sequence, so a test can tell a sequence that was removed whole from one
//! whose ESC alone was dropped.

use guest_sdk::narration::Level;
use guest_sdk::prelude::*;
use std::time::Duration;

/// One of each family a terminal acts on.
pub const PAYLOADS: &[&str] = &[
    "\u{1b}]2;PWNED-TITLE\u{7}",         // OSC: window title, BEL-terminated
    "\u{1b}]52;c;UFdORUQ=\u{1b}\\",      // OSC 52: clipboard write, ST-terminated
    "\u{1b}]8;;http://PWNED/\u{1b}\\",   // OSC 8: hyperlink
    "\u{1b}[2J\u{1b}[3;1H\u{1b}[31;1m",  // CSI: clear, move, colour
    "\u{1b}[?1049h\u{1b}[?25l",          // CSI private: alt screen, hide cursor
    "\u{9b}2J\u{9b}31m",                 // 8-bit CSI
    "\u{9d}0;PWNED-C1\u{9c}",            // 8-bit OSC with 8-bit ST
    "\u{1b}P+q544e;PWNED\u{1b}\\",       // DCS (XTGETTCAP)
    "\u{1b}_PWNED-APC\u{1b}\\",          // APC
    "\u{1b}^PWNED-PM\u{1b}\\",           // PM
    "\u{1b}XPWNED-SOS\u{1b}\\",          // SOS
    "\u{1b}c",                           // RIS: full reset
    "\u{1b}(0",                          // designate the line-drawing charset
    "\u{1b}#8",                          // DECALN: fill the screen with E
    "\u{8}\u{8}\u{7f}\r\u{7}\u{0}\u{5}", // BS, DEL, CR, BEL, NUL, ENQ
    "\u{202e}\u{2066}",                  // bidi override and isolate
];

fn evil(word: &str) -> String {
    let mut text = String::from(word);
    for payload in PAYLOADS {
        text.push_str(payload);
        text.push_str(word);
    }
    text
}

#[derive(Default)]
struct Escapes;

impl Flow for Escapes {
    fn describe(&self) -> FlowInfo<Self> {
        // The name starts with the sequence: a host that cuts the name to
        // its length limit must still not print half a sequence.
        FlowInfo::new("\u{1b}]2;PWNED-NAME\u{7}evil", "0.1.0\u{1b}[31m")
            .description(&evil("description"))
            .chapter(
                Chapter::new(&format!("title{}", PAYLOADS[0]))
                    .narration(&evil("narration"))
                    .key_hint(&format!("hint{}", PAYLOADS[1]))
                    .action(|_| {
                        // Raw: the host, not the SDK, must make these bytes harmless.
                        narration::append(Markup::raw(&evil("appended")));
                        narration::badge(&evil("badge"), Level::Warning);
                        log::warn(&evil("logged"));
                        println!("{}", evil("stdout"));
                        eprintln!("{}", evil("stderr"));
                        timing::countdown(1, &evil("countdown"));
                        timing::sleep(Duration::from_millis(200));
                        Err(evil("error").into())
                    }),
            )
            .chapter(Chapter::new(&format!("second{}", PAYLOADS[6])).narration("plain"))
            .grant_faults(&format!("etcd1{}", PAYLOADS[3]), &[FaultAction::Kill])
            .reads_workload()
    }
}

export_flow!(Escapes);
