//! Network faults made inside the target's network namespace: `shape`
//! (netem-like delay, jitter, loss, bandwidth…) and `isolate` (a partial
//! partition), each planned as exact commands (`plan`), its undo written to
//! the ledger before anything changes, and applied by a helper container
//! (`docker::helper` on Docker). The spec a flow sends is checked first
//! (`super::shape_spec`); `output` is what a finished helper said.

pub mod output;
pub mod plan;
pub mod sweep;

use super::Cluster;
use super::ledger::{Entry, UndoAction};
use super::model::{ClusterError, Node, RestoreOutcome};
use super::shape_spec::{self as spec, ShapeSpec};
use super::unix_ms;
use plan::{Mechanisms, Plan};
use std::net::Ipv4Addr;

/// Which network fault an undo belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Shape,
    Isolate,
}

impl Cluster {
    /// Shapes the traffic leaving `node` as `spec` says.
    pub(super) async fn shape(&self, node: &Node, spec: &ShapeSpec) -> Result<(), ClusterError> {
        spec.validate().map_err(ClusterError::Invalid)?;
        if self.has_outstanding(node, Kind::Shape) {
            return Err(ClusterError::Failed(format!(
                "{} is already shaped: unshape it first",
                node.container
            )));
        }
        let mechanisms = self.mechanisms().await?;
        let peers = self.peer_addresses(node, &spec.towards).await?;
        let plan = plan::shape(spec, &peers, &mechanisms).map_err(ClusterError::Unsupported)?;
        self.apply(node, format!("shape {spec}"), Kind::Shape, plan)
            .await
    }

    /// Drops traffic between `node` and the containers of `from` both ways.
    pub(super) async fn isolate(&self, node: &Node, from: &[String]) -> Result<(), ClusterError> {
        spec::validate_peers("from-services", from, false).map_err(ClusterError::Invalid)?;
        if from.contains(&node.service) {
            return Err(ClusterError::Invalid(format!(
                "from-services names {}, the target's own service",
                node.service
            )));
        }
        if self.has_outstanding(node, Kind::Isolate) {
            return Err(ClusterError::Failed(format!(
                "{} is already isolated: heal it first",
                node.container
            )));
        }
        let mechanisms = self.mechanisms().await?;
        let peers = self.peer_addresses(node, from).await?;
        let plan = plan::isolate(&peers, &mechanisms).map_err(ClusterError::Unsupported)?;
        self.apply(
            node,
            format!("isolate from {}", from.join(", ")),
            Kind::Isolate,
            plan,
        )
        .await
    }

    /// Drops all of `node`'s traffic but loopback, both ways: a partition
    /// where the backend cannot cut networks. Healed as an isolation is.
    pub(super) async fn cut_off(&self, node: &Node) -> Result<(), ClusterError> {
        if self.has_outstanding(node, Kind::Isolate) {
            return Err(ClusterError::Failed(format!(
                "{} is already partitioned or isolated: heal it first",
                node.container
            )));
        }
        let mechanisms = self.mechanisms().await?;
        let plan = plan::cut_off(&mechanisms).map_err(ClusterError::Unsupported)?;
        self.apply(node, "partition".into(), Kind::Isolate, plan)
            .await
    }

    /// Undoes `shape` on `node`.
    pub(super) async fn unshape(&self, node: &Node) -> Result<(), ClusterError> {
        self.undo_kind(node, Kind::Shape).await
    }

    /// Undoes `isolate` on `node`; `Ok(false)` when it is not isolated.
    pub(super) async fn rejoin(&self, node: &Node) -> Result<bool, ClusterError> {
        if !self.has_outstanding(node, Kind::Isolate) {
            return Ok(false);
        }
        self.undo_kind(node, Kind::Isolate).await.map(|()| true)
    }

    fn has_outstanding(&self, node: &Node, kind: Kind) -> bool {
        self.outstanding_faults()
            .iter()
            .any(|e| e.container_id == node.id && kind_of(&e.undo) == Some(kind))
    }

    async fn undo_kind(&self, node: &Node, kind: Kind) -> Result<(), ClusterError> {
        let entries: Vec<Entry> = self
            .outstanding_faults()
            .into_iter()
            .filter(|e| e.container_id == node.id && kind_of(&e.undo) == Some(kind))
            .collect();
        if entries.is_empty() {
            let what = match kind {
                Kind::Shape => "shaped",
                Kind::Isolate => "isolated",
            };
            return Err(ClusterError::Failed(format!(
                "{} is not {what} by this host",
                node.container
            )));
        }
        for entry in entries {
            let outcome = self.restore(&entry).await;
            if !outcome.ok {
                return Err(ClusterError::Failed(format!(
                    "cannot undo on {}: {}",
                    node.container, outcome.detail
                )));
            }
            self.clear(&node.id, &entry.undo);
        }
        Ok(())
    }

    /// Records the plan's undo, starts its delayer, runs its commands; on
    /// any failure undoes what was done and forgets the entry.
    async fn apply(
        &self,
        node: &Node,
        described: String,
        kind: Kind,
        plan: Plan,
    ) -> Result<(), ClusterError> {
        let started_at = self
            .backend
            .liveness(&node.id)
            .await?
            .map_or_else(|| unix_ms().to_string(), |live| live.started_at);
        let delayer = plan
            .delayer
            .as_ref()
            .map(|_| delayer_name(self.project(), &node.id));
        let undo = match kind {
            Kind::Shape => UndoAction::Unshape {
                steps: plan.undo.clone(),
                delayer: delayer.clone(),
                started_at,
            },
            Kind::Isolate => UndoAction::Rejoin {
                steps: plan.undo.clone(),
                started_at,
            },
        };
        let entry = self.entry(node, described, undo);
        self.record(&entry)?;
        let made = async {
            if let (Some(name), Some(args)) = (&delayer, &plan.delayer) {
                self.backend
                    .netfault_helpers()
                    .start_delayer(&node.id, name, args.argv())
                    .await?;
            }
            let output = self.run_plan(&node.id, "run", &plan.apply).await?;
            if output.exit_code != 0 {
                return Err(ClusterError::Failed(output.why()));
            }
            Ok(())
        }
        .await;
        if let Err(error) = made {
            tracing::warn!("{} on {} failed: {error}", entry.action, node.container);
            let outcome = self.restore(&entry).await;
            if outcome.ok {
                self.forget(&entry);
            }
            return Err(error);
        }
        Ok(())
    }

    async fn run_plan(
        &self,
        target_id: &str,
        verb: &str,
        steps: &[Vec<String>],
    ) -> Result<output::HelperOutput, ClusterError> {
        let plan = netfault_proto::Plan {
            steps: steps.to_vec(),
        };
        let argv = vec![verb.into(), "--plan".into(), plan.to_arg()];
        self.backend
            .netfault_helpers()
            .run_netfault(target_id, argv)
            .await
    }

    /// What the kernel offers, asked once per run (at the first fault).
    async fn mechanisms(&self) -> Result<Mechanisms, ClusterError> {
        self.mechanisms
            .get_or_try_init(|| async {
                let found = self.backend.netfault_helpers().probe_netfault().await?;
                tracing::info!("network-fault mechanisms of this Docker host: {found:?}");
                Ok(found)
            })
            .await
            .cloned()
    }

    /// The IPv4 addresses of the containers of `services` on the networks
    /// `node` is on (the only addresses its traffic can go to).
    async fn peer_addresses(
        &self,
        node: &Node,
        services: &[String],
    ) -> Result<Vec<Ipv4Addr>, ClusterError> {
        if services.is_empty() {
            return Ok(Vec::new());
        }
        let own = self.backend.addresses(&node.id).await?;
        let nodes = self.backend.list(None).await?;
        let mut addresses = Vec::new();
        for service in services {
            let containers: Vec<&Node> = nodes.iter().filter(|n| &n.service == service).collect();
            if containers.is_empty() {
                return Err(ClusterError::NotFound(format!(
                    "the project has no service {service}"
                )));
            }
            let before = addresses.len();
            for peer in containers {
                for (network, ip) in self.backend.addresses(&peer.id).await? {
                    if own.contains_key(&network) {
                        addresses.push(ip);
                    }
                }
            }
            if addresses.len() == before {
                return Err(ClusterError::NotFound(format!(
                    "no container of {service} has an address on a network {} is on (is it running?)",
                    node.container
                )));
            }
        }
        addresses.sort();
        addresses.dedup();
        Ok(addresses)
    }

    /// Undoes a network fault: the recorded commands, run in the target's
    /// namespace, and its delayer removed. A target restarted or recreated
    /// since has a new namespace without the rules: reported, not an error.
    pub(super) async fn restore_network(&self, entry: &Entry) -> RestoreOutcome {
        let outcome = |ok: bool, detail: String| RestoreOutcome::of(entry, ok, detail);
        let (steps, delayer, recorded_start) = match &entry.undo {
            UndoAction::Unshape {
                steps,
                delayer,
                started_at,
            } => (steps, delayer.as_deref(), started_at),
            UndoAction::Rejoin { steps, started_at } => (steps, None, started_at),
            _ => return outcome(false, "not a network fault".into()),
        };
        let delayer_note = match delayer {
            Some(name) => {
                self.backend.netfault_helpers().remove_helper(name).await;
                ", delayer stopped"
            }
            None => "",
        };
        let now = match self.backend.liveness(&entry.container_id).await {
            Ok(Some(now)) => now,
            Ok(None) => {
                return outcome(
                    true,
                    format!("container is gone, and its rules with it{delayer_note}"),
                );
            }
            Err(e) => return outcome(false, e.to_string()),
        };
        let same_namespace = now.running && now.started_at == *recorded_start;
        if !same_namespace {
            return outcome(
                true,
                format!(
                    "restarted since: its network namespace went, and the rules with it{delayer_note}"
                ),
            );
        }
        match self.run_plan(&entry.container_id, "undo", steps).await {
            Ok(output) if output.exit_code == 0 => {
                let (removed, absent) = output.undone();
                outcome(
                    true,
                    format!("removed {removed} rule(s) ({absent} already gone){delayer_note}"),
                )
            }
            Ok(output) => outcome(false, output.why()),
            Err(e) => outcome(false, e.to_string()),
        }
    }

    /// Removes helper containers of this project that no outstanding fault
    /// and no call in progress needs: finished or stuck `run` helpers, and
    /// delayers whose fault is undone (a host killed between the steps can
    /// leave either). The rule is `sweep::sweepable`.
    pub async fn sweep_helpers(&self) {
        let found = match self.backend.netfault_helpers().helpers().await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!("cannot list network-fault helpers: {e}");
                return;
            }
        };
        // Read after the listing, never before: a fault made meanwhile is on
        // the ledger (or its call registered) before its helper exists.
        let entries = self.outstanding_faults();
        let in_use = sweep::in_use();
        for helper in sweep::sweepable(&found, &entries, &in_use) {
            tracing::info!("removing leftover network-fault helper {}", helper.name);
            self.backend
                .netfault_helpers()
                .remove_helper(&helper.name)
                .await;
        }
    }
}

fn kind_of(undo: &UndoAction) -> Option<Kind> {
    match undo {
        UndoAction::Unshape { .. } => Some(Kind::Shape),
        UndoAction::Rejoin { .. } => Some(Kind::Isolate),
        _ => None,
    }
}

/// One delayer per target, named so a later run finds it.
fn delayer_name(project: &str, target_id: &str) -> String {
    let short: String = target_id.chars().take(12).collect();
    format!("{project}-netfault-delay-{short}")
}

#[cfg(test)]
mod docker_tests;
