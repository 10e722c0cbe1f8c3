//! Partitions: a node cut from its peers the way its backend does it (a
//! container disconnected from each project network), each cut in the
//! ledger (with what undoes it) before it is made, and healed as it was.

use super::Cluster;
use super::ledger::{Entry, UndoAction};
use super::model::{Action, ClusterError, NetworkAction, Node};

impl Cluster {
    /// Disconnects the container from each of its networks, each one written
    /// to the ledger (with the aliases and fixed address it had there) before
    /// it is cut.
    pub(super) async fn partition(&self, node: &Node) -> Result<(), ClusterError> {
        if self.backend.partitions_by_isolation() {
            return self.cut_off(node).await;
        }
        let cuts = self.backend.partition_cuts(node).await?;
        let described = Action::from(NetworkAction::Partition).describe();
        let mut made: Vec<Entry> = Vec::new();
        for undo in cuts {
            let entry = self.entry(node, described.clone(), undo);
            if let Err(error) = self.record(&entry) {
                self.undo_cuts(node, &made).await;
                return Err(error);
            }
            if let Err(error) = self.backend.cut(&node.id, &entry.undo).await {
                self.forget(&entry);
                tracing::warn!(
                    "partition {} ({}) failed: {error}",
                    node.container,
                    entry.undo.describe()
                );
                self.undo_cuts(node, &made).await;
                return Err(error);
            }
            made.push(entry);
        }
        Ok(())
    }

    /// Undoes the cuts of a partition that failed half-way: a flow that is
    /// told its partition failed finds the node as it was. A cut that cannot
    /// be undone stays in the ledger for the final restore.
    async fn undo_cuts(&self, node: &Node, made: &[Entry]) {
        for entry in made.iter().rev() {
            let outcome = self.restore(entry).await;
            if outcome.ok {
                self.clear(&node.id, &entry.undo);
            } else {
                tracing::warn!(
                    "cannot undo the partial partition of {}: {}",
                    node.container,
                    outcome.detail
                );
            }
        }
    }

    /// Reconnects a partitioned container to every network the ledger says
    /// it was cut from, and removes its isolation.
    pub(super) async fn heal(&self, node: &Node) -> Result<(), ClusterError> {
        let cuts: Vec<Entry> = self
            .outstanding_faults()
            .into_iter()
            .filter(|e| e.container_id == node.id && matches!(e.undo, UndoAction::Reconnect { .. }))
            .collect();
        let rejoined = self.rejoin(node).await?;
        if cuts.is_empty() && !rejoined {
            return Err(ClusterError::Failed(format!(
                "{} is not partitioned or isolated by this host",
                node.container
            )));
        }
        for entry in cuts {
            let outcome = self.restore(&entry).await;
            if !outcome.ok {
                return Err(ClusterError::Failed(format!(
                    "cannot heal {}: {}",
                    node.container, outcome.detail
                )));
            }
            self.clear(&node.id, &entry.undo);
        }
        Ok(())
    }
}
