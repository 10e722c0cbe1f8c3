//! The fault ledger: every fault the host makes is written here, to disk,
//! before it is made, and cleared once undone. Whatever happens to the host,
//! the ledger says what to restore.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How to undo a fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UndoAction {
    Start,
    Unpause,
    /// Connect the container to `network` again. The aliases are what the
    /// container had there before the partition: compose DNS resolves the
    /// service name through them, so a reconnect without them leaves the
    /// service unreachable by name.
    Reconnect {
        network: String,
        aliases: Vec<String>,
        /// Only set when the address was fixed in the compose file; otherwise
        /// Docker picks one, as it did at `up`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ipv4_address: Option<String>,
    },
    /// Remove a `shape`: the exact commands (`tc qdisc del … handle 1:`,
    /// each iptables rule and chain) a helper runs in the container's
    /// namespace, and the delayer container kept running for it.
    Unshape {
        steps: Vec<Vec<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delayer: Option<String>,
        /// Docker's `StartedAt` when the fault was made: a container
        /// started since has a new namespace, without the rules.
        started_at: String,
    },
    /// Remove an `isolate`: its exact iptables rules and chain.
    Rejoin {
        steps: Vec<Vec<String>>,
        started_at: String,
    },
}

impl UndoAction {
    /// Whether undoing `self` also undoes `other` (a partition is undone per
    /// network, the others per container).
    pub fn covers(&self, other: &UndoAction) -> bool {
        match (self, other) {
            (
                UndoAction::Reconnect { network: a, .. },
                UndoAction::Reconnect { network: b, .. },
            ) => a == b,
            // One of each per container: the undo of either kind is all of it.
            (UndoAction::Unshape { .. }, UndoAction::Unshape { .. })
            | (UndoAction::Rejoin { .. }, UndoAction::Rejoin { .. }) => true,
            _ => self == other,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            UndoAction::Start => "start".into(),
            UndoAction::Unpause => "unpause".into(),
            UndoAction::Reconnect { network, .. } => format!("reconnect to {network}"),
            UndoAction::Unshape { steps, delayer, .. } => format!(
                "unshape ({} command(s){})",
                steps.len(),
                if delayer.is_some() {
                    ", stop the delayer"
                } else {
                    ""
                }
            ),
            UndoAction::Rejoin { steps, .. } => {
                format!("remove the isolation ({} command(s))", steps.len())
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub container_id: String,
    pub container: String,
    pub service: String,
    /// The orchestrator's task behind the container (a Swarm task id), so
    /// that a restore knows which task was hit once Swarm replaced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// What was done, e.g. `kill SIGKILL`.
    pub action: String,
    pub undo: UndoAction,
    /// Unix time in ms when the fault was recorded.
    pub at_unix_ms: u128,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct LedgerFile {
    project: String,
    entries: Vec<Entry>,
}

/// The ledger of one compose project, backed by one JSON file.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    file: LedgerFile,
}

impl Ledger {
    /// Opens (or starts) the ledger of `project` in `state_dir`.
    pub fn open(state_dir: &Path, project: &str) -> anyhow::Result<Self> {
        let path = state_dir.join(format!("ledger-{project}.json"));
        let file = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!(
                    "the fault ledger {} is damaged ({e}); check it by hand, then delete it",
                    path.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => LedgerFile {
                project: project.to_string(),
                entries: Vec::new(),
            },
            Err(e) => anyhow::bail!("cannot read the fault ledger {}: {e}", path.display()),
        };
        Ok(Ledger { path, file })
    }

    pub fn outstanding(&self) -> &[Entry] {
        &self.file.entries
    }

    /// Records a fault; returns once it is on disk. A fault that cannot be
    /// written is not kept either: it will not be made, so nothing is
    /// outstanding, and a later write must not put it on disk.
    pub fn record(&mut self, entry: Entry) -> std::io::Result<()> {
        self.file.entries.push(entry);
        let saved = self.save();
        if saved.is_err() {
            self.file.entries.pop();
        }
        saved
    }

    /// Forgets the faults on `container_id` that `undo` reverses.
    pub fn clear(&mut self, container_id: &str, undo: &UndoAction) -> std::io::Result<()> {
        let before = self.file.entries.len();
        self.file
            .entries
            .retain(|e| !(e.container_id == container_id && undo.covers(&e.undo)));
        if self.file.entries.len() != before {
            self.save()?;
        }
        Ok(())
    }

    /// Forgets one specific entry (a fault that Docker then refused).
    pub fn forget(&mut self, entry: &Entry) -> std::io::Result<()> {
        if let Some(pos) = self.file.entries.iter().rposition(|e| e == entry) {
            self.file.entries.remove(pos);
            self.save()?;
        }
        Ok(())
    }

    fn save(&self) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        if self.file.entries.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        }
        // Write then rename, so a crash mid-write never leaves half a ledger.
        let tmp = self.path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(&self.file).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, text)?;
        let file = std::fs::File::open(&tmp)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, undo: UndoAction) -> Entry {
        Entry {
            container_id: id.into(),
            container: format!("c-{id}"),
            service: "etcd1".into(),
            action: "kill SIGKILL".into(),
            undo,
            task: None,
            at_unix_ms: 1,
        }
    }

    #[test]
    fn a_recorded_fault_survives_a_reopen_and_clearing_removes_the_file() {
        let dir = std::env::temp_dir().join(format!("ledger-test-{}", std::process::id()));
        let mut ledger = Ledger::open(&dir, "p").unwrap();
        ledger.record(entry("a", UndoAction::Start)).unwrap();
        ledger.record(entry("b", UndoAction::Unpause)).unwrap();
        let reopened = Ledger::open(&dir, "p").unwrap();
        assert_eq!(reopened.outstanding().len(), 2);

        ledger.clear("a", &UndoAction::Unpause).unwrap();
        assert_eq!(ledger.outstanding().len(), 2, "undo kinds must match");
        ledger.clear("a", &UndoAction::Start).unwrap();
        ledger.clear("b", &UndoAction::Unpause).unwrap();
        assert!(ledger.outstanding().is_empty());
        assert!(!dir.join("ledger-p.json").exists());
        std::fs::remove_dir_all(&dir).ok();
    }

    fn reconnect(network: &str) -> UndoAction {
        UndoAction::Reconnect {
            network: network.into(),
            aliases: vec!["etcd1".into(), "0123456789ab".into()],
            ipv4_address: None,
        }
    }

    #[test]
    fn partitions_are_cleared_per_network_and_keep_their_aliases() {
        let dir = std::env::temp_dir().join(format!("ledger-net-{}", std::process::id()));
        let mut ledger = Ledger::open(&dir, "p").unwrap();
        ledger.record(entry("a", reconnect("p_default"))).unwrap();
        ledger.record(entry("a", reconnect("p_backend"))).unwrap();
        ledger.record(entry("a", UndoAction::Start)).unwrap();

        let reopened = Ledger::open(&dir, "p").unwrap();
        assert_eq!(reopened.outstanding()[0].undo, reconnect("p_default"));

        ledger.clear("a", &reconnect("p_default")).unwrap();
        let left: Vec<&UndoAction> = ledger.outstanding().iter().map(|e| &e.undo).collect();
        assert_eq!(left, vec![&reconnect("p_backend"), &UndoAction::Start]);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_damaged_ledger_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("ledger-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ledger-p.json"), "{not json").unwrap();
        let err = Ledger::open(&dir, "p").unwrap_err().to_string();
        assert!(err.contains("damaged"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
