//! Undoing outstanding faults: scheduled by a flow (`undo-after`), or all of
//! them when the show ends. Tolerant: a container already back, or gone, is
//! reported, not an error.

use super::Cluster;
use super::docker::docker_error;
use super::ledger::{Entry, UndoAction};
use super::model::{ClusterError, ClusterEvent, ContainerAction, Node, RestoreOutcome, Target};
use super::select::{describe_target, matching};
use bollard::query_parameters::InspectContainerOptions;
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
        let nodes = self.engine.list(None).await?;
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
        let entries = self.outstanding_faults();
        self.restore_entries(entries).await
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

    /// Undoes one fault, unless the container is already as the undo would
    /// leave it.
    pub(super) async fn restore(&self, entry: &Entry) -> RestoreOutcome {
        if matches!(
            entry.undo,
            UndoAction::Unshape { .. } | UndoAction::Rejoin { .. }
        ) {
            return self.restore_network(entry).await;
        }
        let outcome = |ok: bool, detail: String| RestoreOutcome::of(entry, ok, detail);
        let docker = match self.engine.client().await {
            Ok(docker) => docker,
            Err(e) => return outcome(false, e.to_string()),
        };
        let info = match docker
            .inspect_container(&entry.container_id, None::<InspectContainerOptions>)
            .await
        {
            Ok(info) => info,
            Err(e) => {
                return match docker_error(e) {
                    ClusterError::NotFound(_) => outcome(true, "container is gone".into()),
                    other => outcome(false, other.to_string()),
                };
            }
        };
        let state = info.state.unwrap_or_default();
        let (action, done) = match &entry.undo {
            UndoAction::Reconnect {
                network,
                aliases,
                ipv4_address,
            } => {
                let connected = info
                    .network_settings
                    .and_then(|n| n.networks)
                    .is_some_and(|n| n.contains_key(network));
                if connected {
                    return outcome(true, format!("already on {network}"));
                }
                let reconnected = self
                    .reconnect(
                        &entry.container_id,
                        network,
                        aliases,
                        ipv4_address.as_deref(),
                    )
                    .await;
                return match reconnected {
                    Ok(()) => outcome(true, format!("reconnected to {network}")),
                    Err(ClusterError::NotFound(_)) => {
                        outcome(true, format!("network {network} is gone"))
                    }
                    Err(e) => outcome(false, e.to_string()),
                };
            }
            UndoAction::Start if state.running == Some(true) => {
                return outcome(true, "already running".into());
            }
            UndoAction::Unpause if state.paused != Some(true) => {
                return outcome(true, "not paused".into());
            }
            UndoAction::Start => (ContainerAction::Start, "started"),
            UndoAction::Unpause => (ContainerAction::Unpause, "unpaused"),
            UndoAction::Unshape { .. } | UndoAction::Rejoin { .. } => {
                return self.restore_network(entry).await;
            }
        };
        match self.perform(&entry.container_id, &action).await {
            Ok(()) => outcome(true, done.into()),
            Err(e) => outcome(false, e.to_string()),
        }
    }
}
