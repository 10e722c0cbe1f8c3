//! What a finished netfault helper said, whichever orchestrator ran it, read
//! with the protocol's types (`netfault-proto`), never by hand.

use netfault_proto::{DelayerEvent, DelayerLine, Mechanisms, Outcome, StepLine};

/// What a finished helper said.
#[derive(Debug, Clone)]
pub struct HelperOutput {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

impl HelperOutput {
    /// The helper's own words on why it failed: the last failed step it
    /// printed, or its last stderr line.
    pub fn why(&self) -> String {
        let failed_step = self
            .step_lines()
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .find_map(|line| line.failed());
        failed_step
            .or_else(|| last_line(&self.stderr))
            .unwrap_or_else(|| format!("the helper exited with {}", self.exit_code))
    }

    /// The lines of `run` or `undo`.
    pub fn step_lines(&self) -> impl Iterator<Item = StepLine> + '_ {
        netfault_proto::lines(&self.stdout)
    }

    /// How many steps of an `undo` removed something, and how many found
    /// it already gone.
    pub fn undone(&self) -> (usize, usize) {
        self.step_lines()
            .fold((0, 0), |(removed, absent), line| match line {
                StepLine::Undone(u) if u.outcome == Outcome::Removed => (removed + 1, absent),
                StepLine::Undone(u) if u.outcome == Outcome::Absent => (removed, absent + 1),
                _ => (removed, absent),
            })
    }

    /// What `probe` found, if it said.
    pub fn mechanisms(&self) -> Option<Mechanisms> {
        netfault_proto::lines(&self.stdout).last()
    }
}

/// Whether a delayer's output so far says it is delaying.
pub fn delaying(stdout: &str) -> bool {
    netfault_proto::lines(stdout)
        .any(|line| matches!(line, DelayerLine::Event(DelayerEvent::Delaying { .. })))
}

/// The last line of `text` that says something.
pub fn last_line(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netfault_proto::{Failure, Ran, Undone};

    fn said(lines: &[String], stderr: &str) -> HelperOutput {
        HelperOutput {
            exit_code: 1,
            stdout: lines.iter().map(|l| format!("{l}\n")).collect(),
            stderr: stderr.into(),
        }
    }

    /// A line as the helper writes it.
    fn line(value: &impl serde::Serialize) -> String {
        serde_json::to_string(value).unwrap()
    }

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    fn undone(words: &[&str], outcome: Outcome, stderr: &str) -> String {
        line(&Undone {
            argv: argv(words),
            outcome,
            stderr: stderr.into(),
        })
    }

    #[test]
    fn why_is_the_last_failed_step_or_the_last_stderr_line() {
        let run = [
            line(&Ran {
                argv: argv(&["tc", "qdisc"]),
                ok: true,
                stderr: None,
            }),
            line(&Ran {
                argv: argv(&["iptables", "-A"]),
                ok: false,
                stderr: Some("busy\n".into()),
            }),
        ];
        assert_eq!(said(&run, "noise\n").why(), "`iptables -A` failed: busy");
        let undo = [undone(&["tc"], Outcome::Failed, "no")];
        assert_eq!(said(&undo, "").why(), "`tc` failed: no");
        assert_eq!(said(&[], "first\nlast\n\n").why(), "last");
        assert_eq!(said(&[], "").why(), "the helper exited with 1");
    }

    #[test]
    fn an_undo_counts_what_it_removed_and_what_was_gone() {
        let undo = [
            undone(&["tc"], Outcome::Removed, ""),
            undone(&["iptables"], Outcome::Absent, "Bad rule"),
            undone(&["iptables"], Outcome::Removed, ""),
            // A step's words that merely mention an outcome count for nothing.
            undone(&["tc"], Outcome::Failed, &line(&Outcome::Removed)),
            line(&Failure {
                error: line(&Outcome::Absent),
                released: None,
            }),
        ];
        assert_eq!(said(&undo, "").undone(), (2, 1));
    }

    #[test]
    fn a_delayer_is_ready_once_it_says_so_in_its_own_words() {
        let ready = DelayerEvent::Delaying {
            queue: 7430,
            delay_ms: 100,
            jitter_ms: 0,
        };
        assert!(!delaying(""));
        let mentioned = line(&Failure {
            error: format!("not {} yet", line(&ready)),
            released: None,
        });
        assert!(!delaying(&mentioned));
        assert!(delaying(&format!("noise\n{}\n", line(&ready))));
    }

    #[test]
    fn the_probe_is_read_as_mechanisms() {
        let probe = crate::cluster::netfault::plan::kernel_without_netem();
        assert_eq!(said(&[line(&probe)], "").mechanisms(), Some(probe));
        assert!(said(&["not json".into()], "").mechanisms().is_none());
    }
}
