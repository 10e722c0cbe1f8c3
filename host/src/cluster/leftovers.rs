//! Faults a previous host left behind (it was SIGKILLed, or the machine lost
//! power): said at the next start, and restored if the presenter agrees.

use super::Cluster;
use super::ledger::Entry;
use std::io::{BufRead, IsTerminal, Write};

/// What to do about leftovers at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `--restore-leftovers`: restore them before the show, without asking.
    Restore,
    /// Ask on the terminal (only when stdin and stderr are terminals).
    Ask,
    /// Say what is outstanding and how to restore it, and go on.
    Report,
}

impl Policy {
    /// `Ask` where someone can answer; `Report` when headless or piped.
    pub fn for_run(restore: bool, headless: bool) -> Self {
        if restore {
            Policy::Restore
        } else if !headless && std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            Policy::Ask
        } else {
            Policy::Report
        }
    }
}

/// One line per outstanding fault, e.g. `etcd1 (demo-etcd1-1): kill SIGKILL, undo: start`.
pub fn describe(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| {
            format!(
                "{} ({}): {}, undo: {}",
                e.service,
                e.container,
                e.action,
                e.undo.describe()
            )
        })
        .collect()
}

/// Says what an earlier run left outstanding and restores it if `policy`
/// (or the presenter's answer) says so. Faults not restored now stay in the
/// ledger: this show undoes them when it ends, like its own.
pub async fn offer(cluster: &Cluster, policy: Policy) {
    let entries = cluster.outstanding_faults();
    if entries.is_empty() {
        return;
    }
    let scope = cluster.scope();
    let mut text = format!(
        "{} fault(s) outstanding from an earlier run of {}:\n",
        entries.len(),
        scope.describe()
    );
    for line in describe(&entries) {
        text.push_str(&format!("  {line}\n"));
    }
    tracing::warn!("{}", text.trim_end());
    eprint!("{text}");
    let restore = match policy {
        Policy::Restore => true,
        Policy::Report => {
            eprintln!(
                "they are undone when this show ends; to restore them now, run \
                 `host recover {}` or start with --restore-leftovers",
                scope.recover_args()
            );
            false
        }
        Policy::Ask => tokio::task::spawn_blocking(ask).await.unwrap_or(false),
    };
    if restore {
        for outcome in cluster.restore_all().await {
            eprintln!(
                "{} {} ({}): {}",
                if outcome.ok { "restored" } else { "FAILED" },
                outcome.service,
                outcome.container,
                outcome.detail
            );
        }
    }
}

fn ask() -> bool {
    eprint!("Restore them now? [Y/n] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    is_yes(&answer)
}

fn is_yes(answer: &str) -> bool {
    matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "" | "y" | "yes"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ledger::UndoAction;

    #[test]
    fn an_empty_answer_means_yes_and_anything_else_no() {
        assert!(is_yes("\n"));
        assert!(is_yes(" Y \n"));
        assert!(is_yes("yes"));
        assert!(!is_yes("n"));
        assert!(!is_yes("later"));
    }

    #[test]
    fn leftovers_name_the_service_the_fault_and_its_undo() {
        let entry = Entry {
            container_id: "abc".into(),
            container: "p-etcd1-1".into(),
            service: "etcd1".into(),
            action: "partition".into(),
            undo: UndoAction::Reconnect {
                network: "p_default".into(),
                aliases: vec!["etcd1".into()],
                ipv4_address: None,
            },
            task: None,
            at_unix_ms: 0,
        };
        assert_eq!(
            describe(&[entry]),
            vec!["etcd1 (p-etcd1-1): partition, undo: reconnect to p_default"]
        );
        assert_eq!(Policy::for_run(true, false), Policy::Restore);
        assert_eq!(Policy::for_run(false, true), Policy::Report);
    }
}
