//! Undoing outstanding faults: scheduled by a flow (`undo-after`), or all of
//! them when the show ends. Tolerant: a container already back, or gone, is
//! reported, not an error.

use super::Cluster;
use super::ledger::{Entry, UndoAction};
use super::model::{ClusterError, ClusterEvent, Node, RestoreOutcome, Target};
use super::select::{describe_target, matching};
use std::sync::Arc;
use std::time::Duration;

impl Cluster {
    /// Undoes every outstanding fault on the containers `target` names, once
    /// `after` has passed (as Pumba's `--duration` does). Returns the
    /// containers whose faults are scheduled. Faults made after this call are
    /// not included; the final restore still undoes everything.
    pub async fn undo_after(
        self: &Arc<Self>,
        target: &Target,
        after: Duration,
        permitted: &(dyn Fn(&Node) -> bool + Send + Sync),
    ) -> Result<Vec<Node>, ClusterError> {
        let nodes = self.backend.list(None).await?;
        let (target, _) = self.current_target(&nodes, target).await;
        let target = &target;
        let outstanding = self.outstanding_faults();
        let chosen: Vec<Node> = matching(&nodes, target)?
            .into_iter()
            .filter(|n| permitted(n))
            .filter(|n| outstanding.iter().any(|e| e.container_id == n.id))
            .cloned()
            .collect();
        if chosen.is_empty() {
            return Err(ClusterError::Failed(format!(
                "no container of {} has a fault this flow may undo",
                describe_target(target)
            )));
        }
        let due: Vec<Entry> = outstanding
            .into_iter()
            .filter(|e| chosen.iter().any(|n| n.id == e.container_id))
            .collect();
        let cluster = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let still: Vec<Entry> = {
                let ledger = cluster.lock_ledger();
                due.into_iter()
                    .filter(|e| ledger.outstanding().contains(e))
                    .collect()
            };
            cluster.restore_entries(still).await;
        });
        Ok(chosen)
    }

    /// Undoes every outstanding fault in the ledger. An entry whose undo
    /// failed stays in the ledger for `host recover`.
    pub async fn restore_all(&self) -> Vec<RestoreOutcome> {
        // Every fault in flight lands first (see `acting`).
        let _all = self.acting.write().await;
        let entries = self.outstanding_faults();
        self.restore_entries(entries).await
    }

    /// Stops the show's faults: none is made from now on (until
    /// [`Cluster::resume`]), those in flight land, and every outstanding one
    /// is undone; a failing undo does not stop the others.
    pub async fn stop_faults(&self) -> Vec<RestoreOutcome> {
        self.halted
            .store(true, std::sync::atomic::Ordering::Release);
        self.restore_all().await
    }

    /// Faults may be made again (the presenter moved on after a stop).
    pub fn resume(&self) {
        self.halted
            .store(false, std::sync::atomic::Ordering::Release);
    }

    /// Whether the show's faults are stopped.
    pub fn is_halted(&self) -> bool {
        self.halted.load(std::sync::atomic::Ordering::Acquire)
    }

    async fn restore_entries(&self, mut entries: Vec<Entry>) -> Vec<RestoreOutcome> {
        let _restoring = self.restoring.lock().await;
        // Unpause before start: a paused container that was then killed needs
        // both. Reconnect before start, so it comes up with its peers in reach.
        entries.sort_by_key(|e| match e.undo {
            UndoAction::Unpause => 0,
            UndoAction::Reconnect { .. }
            | UndoAction::Unshape { .. }
            | UndoAction::Rejoin { .. } => 1,
            UndoAction::Start => 2,
        });
        let mut outcomes = Vec::new();
        for entry in entries {
            let outcome = self.restore(&entry).await;
            if outcome.ok {
                self.clear(&entry.container_id, &entry.undo);
            }
            tracing::info!(
                "restore {}: {} ({})",
                entry.container,
                outcome.detail,
                outcome.ok
            );
            self.emit(ClusterEvent::Restored(outcome.clone()));
            outcomes.push(outcome);
        }
        self.sweep_helpers().await;
        let _ = self.refresh().await;
        outcomes
    }

    /// Undoes one fault, unless the node is already as the undo would
    /// leave it.
    pub(super) async fn restore(&self, entry: &Entry) -> RestoreOutcome {
        match entry.undo {
            UndoAction::Unshape { .. } | UndoAction::Rejoin { .. } => {
                self.restore_network(entry).await
            }
            UndoAction::Reconnect { .. } => self.backend.reconnect(entry).await,
            UndoAction::Start | UndoAction::Unpause => self.backend.bring_back(entry).await,
        }
    }
}
