//! The signals `kill` sends: only those that end a process, so that the
//! fault's undo (start the container again) is what brings the node back.
//!
//! A stop-type signal (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) leaves the
//! container "running" to Docker and frozen, which no start undoes; SIGCONT,
//! SIGUSR1/2 and the real-time signals do whatever the process made of them,
//! which the host cannot undo either. So a flow's signal is parsed into
//! [`KillSignal`] before anything reaches the ledger or Docker, and Docker is
//! only ever sent the canonical name, never the flow's text.

use std::fmt;
use std::str::FromStr;

/// How much of a refused spelling the error message repeats: enough to
/// recognise it, never a flow's megabyte.
const SHOWN_SPELLING_CHARS: usize = 32;

/// A signal that ends a process (unless the process handles it, in which
/// case the container keeps running and there is nothing to undo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillSignal {
    Kill,
    Term,
    Int,
    Quit,
    Hup,
    Abrt,
}

impl KillSignal {
    /// Every signal `kill` sends, in the order the refusal lists them.
    pub const ALL: [KillSignal; 6] = [
        KillSignal::Kill,
        KillSignal::Term,
        KillSignal::Int,
        KillSignal::Quit,
        KillSignal::Hup,
        KillSignal::Abrt,
    ];

    /// The canonical name, as Docker is sent it.
    pub fn name(self) -> &'static str {
        match self {
            KillSignal::Kill => "SIGKILL",
            KillSignal::Term => "SIGTERM",
            KillSignal::Int => "SIGINT",
            KillSignal::Quit => "SIGQUIT",
            KillSignal::Hup => "SIGHUP",
            KillSignal::Abrt => "SIGABRT",
        }
    }

    /// The Linux signal number (the same on every Linux architecture for
    /// these six).
    pub fn number(self) -> u8 {
        match self {
            KillSignal::Kill => 9,
            KillSignal::Term => 15,
            KillSignal::Int => 2,
            KillSignal::Quit => 3,
            KillSignal::Hup => 1,
            KillSignal::Abrt => 6,
        }
    }

    /// Whether `text` is one of this signal's spellings: the name with or
    /// without `SIG`, in any ASCII case, or the plain decimal number.
    /// Comparison is ASCII-only, so no Unicode case folding (`ſigkill`)
    /// turns some other text into a name.
    fn is_spelled(self, text: &str) -> bool {
        let name = self.name();
        let bare = &name["SIG".len()..];
        text.eq_ignore_ascii_case(name)
            || text.eq_ignore_ascii_case(bare)
            || text == self.number().to_string()
    }
}

impl fmt::Display for KillSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A spelling `kill` does not send, with the one-line reason (the cluster
/// reports it as a failed action; see `model`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for KillSignal {
    type Err = Refused;

    /// Accepts `SIGKILL`, `kill`, `Kill`, `9` and the like for the six
    /// signals in [`KillSignal::ALL`]; nothing is trimmed or normalised, so
    /// surrounding whitespace, leading zeros and `+` are refused, as is
    /// every other signal.
    fn from_str(text: &str) -> Result<Self, Refused> {
        KillSignal::ALL
            .into_iter()
            .find(|signal| signal.is_spelled(text))
            .ok_or_else(|| Refused(refusal(text)))
    }
}

/// The one-line reason a spelling is refused, repeating it safely.
fn refusal(text: &str) -> String {
    let allowed: Vec<String> = KillSignal::ALL
        .iter()
        .map(|signal| format!("{signal} ({})", signal.number()))
        .collect();
    format!(
        "kill does not send {}: it sends only {}, which end the process so that starting the container undoes the fault; to freeze a container use pause (undone by unpause)",
        shown(text),
        allowed.join(", ")
    )
}

/// A flow's text as the refusal repeats it: capped (before the sanitiser
/// scans it), on one line, without controls or escape sequences, quoted.
fn shown(text: &str) -> String {
    let mut capped: String = text.chars().take(SHOWN_SPELLING_CHARS).collect();
    if capped.len() < text.len() {
        capped.push('…');
    }
    format!("'{}'", crate::sanitize::display_line(&capped))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_message(text: &str) -> String {
        match text.parse::<KillSignal>() {
            Err(Refused(message)) => message,
            Ok(signal) => panic!("{text:?} should be refused, got {signal:?}"),
        }
    }

    #[test]
    fn every_documented_spelling_of_the_six_signals_is_accepted() {
        let spellings = [
            (
                KillSignal::Kill,
                ["SIGKILL", "sigkill", "SigKill", "KILL", "kill", "9"],
            ),
            (
                KillSignal::Term,
                ["SIGTERM", "sigterm", "SigTerm", "TERM", "term", "15"],
            ),
            (
                KillSignal::Int,
                ["SIGINT", "sigint", "SigInt", "INT", "int", "2"],
            ),
            (
                KillSignal::Quit,
                ["SIGQUIT", "sigquit", "SigQuit", "QUIT", "quit", "3"],
            ),
            (
                KillSignal::Hup,
                ["SIGHUP", "sighup", "SigHup", "HUP", "hup", "1"],
            ),
            (
                KillSignal::Abrt,
                ["SIGABRT", "sigabrt", "SigAbrt", "ABRT", "abrt", "6"],
            ),
        ];
        for (signal, texts) in spellings {
            for text in texts {
                assert_eq!(text.parse::<KillSignal>(), Ok(signal), "{text:?}");
            }
        }
        assert_eq!(spellings.len(), KillSignal::ALL.len());
    }

    #[test]
    fn docker_is_sent_the_canonical_name() {
        let names: Vec<String> = KillSignal::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            names,
            [
                "SIGKILL", "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGABRT"
            ]
        );
        assert_eq!("kill".parse::<KillSignal>().unwrap().to_string(), "SIGKILL");
        assert_eq!("15".parse::<KillSignal>().unwrap().to_string(), "SIGTERM");
    }

    #[test]
    fn stop_type_signals_are_refused_in_every_spelling_docker_accepts() {
        for (name, number) in [("STOP", 19), ("TSTP", 20), ("TTIN", 21), ("TTOU", 22)] {
            let lower = name.to_ascii_lowercase();
            for text in [
                format!("SIG{name}"),
                name.to_string(),
                format!("sig{lower}"),
                lower.clone(),
                format!("Sig{lower}"),
                number.to_string(),
                format!("0{number}"),
                format!("+{number}"),
                format!(" SIG{name}"),
                format!("SIG{name}\n"),
            ] {
                let message = refused_message(&text);
                assert!(
                    message.contains("use pause (undone by unpause)"),
                    "{message}"
                );
            }
        }
    }

    #[test]
    fn signals_that_do_not_end_a_process_are_refused() {
        for text in [
            "SIGCONT",
            "cont",
            "18",
            "SIGUSR1",
            "usr1",
            "10",
            "SIGUSR2",
            "12",
            "SIGRTMIN",
            "SIGRTMIN+3",
            "rtmin+3",
            "SIGRTMAX-1",
            "34",
            "64",
            "SIGIOT",
            "SIGWINCH",
            "SIGCHLD",
        ] {
            refused_message(text);
        }
    }

    #[test]
    fn numbers_outside_the_set_empty_and_junk_are_refused() {
        for text in [
            "",
            "0",
            "-9",
            "09",
            "+9",
            "9.0",
            "256",
            "265",
            "4294967305",
            "SIG",
            "SIGSIGKILL",
            "SIG KILL",
            "SIG_KILL",
            "SIGKIL",
            "SIGKILLX",
            "ſigkill",
            "SIGKİLL",
            "SIG\u{1b}KILL",
            "SIGKILL\0",
        ] {
            refused_message(text);
        }
    }

    /// Whitespace is not trimmed: " SIGKILL " is not a documented spelling,
    /// and a flow that sends it learns so at once rather than relying on
    /// leniency.
    #[test]
    fn surrounding_whitespace_is_refused_not_trimmed() {
        for text in ["  SIGKILL ", " SIGKILL", "SIGKILL ", "\tkill", "9\n"] {
            refused_message(text);
        }
    }

    #[test]
    fn the_refusal_is_one_line_naming_the_signal_and_the_allowed_set() {
        let message = refused_message("SIGSTOP");
        assert_eq!(
            message,
            "kill does not send 'SIGSTOP': it sends only SIGKILL (9), SIGTERM (15), SIGINT (2), SIGQUIT (3), SIGHUP (1), SIGABRT (6), which end the process so that starting the container undoes the fault; to freeze a container use pause (undone by unpause)"
        );
        for hostile in [
            "SIG\u{1b}KILL",
            "STOP\r\n\u{1b}[2J",
            "\u{9b}31m",
            "\u{7f}",
            "\u{1b}]0;owned\u{7}",
            "\u{202e}POTSGIS",
        ] {
            let message = refused_message(hostile);
            assert!(
                !message.chars().any(|c| c.is_control() || c == '\u{202e}'),
                "nothing a terminal acts on: {message:?}"
            );
            assert!(!message.contains("owned"), "{message:?}");
        }
    }

    #[test]
    fn a_long_spelling_is_cut_in_the_refusal() {
        let long = "SIGSTOP".repeat(10_000);
        let message = refused_message(&long);
        assert!(message.len() < 400, "{} bytes", message.len());
        assert!(
            message.contains("SIGSTOPSIGSTOPSIGSTOPSIGSTOPSIGS…"),
            "{message}"
        );
        // Cut on a character, not a byte: no panic inside a multi-byte one.
        let message = refused_message(&"é".repeat(100));
        assert!(
            message.contains(&format!("{}…", "é".repeat(32))),
            "{message}"
        );
    }
}
