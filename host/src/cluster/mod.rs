//! The cluster side: the nodes of a Compose project or a Swarm stack, kept
//! live by the orchestrator's events, and every fault recorded in the ledger
//! before it is made.
//!
//! [`Cluster`] is the one owner of that state and asks a [`Backend`] for
//! every query and change; each of its jobs has a file:
//! - `model`: the vocabulary (nodes, targets, actions, errors, events);
//! - `backend`: the seam, and `compose` and `swarm`, its two implementations;
//! - `docker`: one Docker engine and the container calls both Docker
//!   backends make on it; its `helper` runs the netfault helper containers,
//!   its `error` says what the Engine API's errors mean;
//! - `watch`: the node list, kept live from Docker's events, and waiting on it;
//! - `select`: which container a target names (pure);
//! - `actions`: a flow's action, and the container calls that make it;
//! - `network`: partitions and their healing;
//! - `netfault`: shaping and isolation, planned and recorded here and made
//!   by a helper in the target's network namespace (whatever runs it);
//! - `restore`: undoing outstanding faults, scheduled or at the end;
//! - `logs`: the handle the workload follows a service's logs through;
//! - `ledger`, `leftovers`, `project`, `signal`: the fault ledger, faults an
//!   earlier run left, which project is meant, and the signals `kill` sends;
//! - `options`: how the Docker backends run their helpers (read by the CLI);
//! - `shape_spec`: what a flow asks a `shape` fault for, checked (pure).

mod actions;
pub mod backend;
pub mod compose;
mod docker;
#[cfg(test)]
mod fake;
pub mod ledger;
pub mod leftovers;
mod logs;
mod model;
pub mod netfault;
mod network;
pub mod options;
pub mod project;
mod restore;
#[cfg(test)]
mod rule_tests;
pub mod select;
pub mod shape_spec;
pub mod signal;
pub mod swarm;
mod watch;

pub use logs::ServiceLogs;
pub use model::{
    Action, ClusterError, ClusterEvent, ContainerAction, Health, LogFrame, LogStream,
    NetworkAction, Node, NodeState, Performed, RestoreOutcome, ShapeSpec, Target, state_name,
};
pub use signal::KillSignal;

pub use backend::{Backend, Scope};
use ledger::{Entry, Ledger, UndoAction};
pub use options::{EngineOptions, HelperPlacement};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The backend that reaches `scope`, running its helpers as `options` say.
pub fn backend_for(scope: &Scope, options: &EngineOptions) -> Arc<dyn Backend> {
    match scope {
        Scope::Compose { project } => Arc::new(compose::Compose::new(project.clone(), options)),
        Scope::Swarm { stack } => Arc::new(swarm::Swarm::new(stack.clone(), options)),
    }
}

/// Where the cluster's events go: the show wraps them for the app; a
/// command that shows nothing drops them.
type Report = Box<dyn Fn(ClusterEvent) + Send + Sync>;

/// The scope's nodes and the faults made on them. One per host process,
/// shared by the flow's API and the show.
pub struct Cluster {
    backend: Arc<dyn Backend>,
    /// The scope's key (see [`Scope::key`]), for the ledger and helpers.
    key: String,
    ledger: Mutex<Ledger>,
    /// The latest node list (see `watch`).
    nodes: tokio::sync::watch::Sender<Vec<Node>>,
    report: Report,
    /// Held while undoing faults, so a scheduled undo and the final restore
    /// never start the same container twice.
    restoring: tokio::sync::Mutex<()>,
    /// Each fault in flight holds it shared; undoing every fault takes it
    /// whole, so a fault already on its way lands (ledger entry and engine
    /// call) before the undo reads the ledger, never after it.
    acting: tokio::sync::RwLock<()>,
    /// Set when the show's faults are stopped (an abort): no fault is made
    /// until [`Cluster::resume`].
    halted: std::sync::atomic::AtomicBool,
    /// What the kernel offers network faults, probed at the first one.
    mechanisms: tokio::sync::OnceCell<netfault::plan::Mechanisms>,
}

impl Cluster {
    /// A Compose project's cluster, on the engine named by DOCKER_HOST (or
    /// the local socket).
    pub async fn connect(
        project: String,
        ledger: Ledger,
        report: impl Fn(ClusterEvent) + Send + Sync + 'static,
    ) -> Arc<Self> {
        let backend = compose::Compose::new(project, &EngineOptions::default());
        Self::connect_to(Arc::new(backend), ledger, report).await
    }

    /// The cluster `backend` reaches. An unreachable engine is not an error
    /// here: the presenter still opens and says so; every call then fails
    /// with `DockerUnavailable` until the engine answers.
    pub async fn connect_to(
        backend: Arc<dyn Backend>,
        ledger: Ledger,
        report: impl Fn(ClusterEvent) + Send + Sync + 'static,
    ) -> Arc<Self> {
        let cluster = Arc::new(Cluster {
            key: backend.scope().key(),
            backend,
            ledger: Mutex::new(ledger),
            nodes: tokio::sync::watch::Sender::new(Vec::new()),
            report: Box::new(report),
            restoring: tokio::sync::Mutex::new(()),
            acting: tokio::sync::RwLock::new(()),
            halted: std::sync::atomic::AtomicBool::new(false),
            mechanisms: tokio::sync::OnceCell::new(),
        });
        if let Err(e) = cluster.backend.connect().await {
            tracing::warn!("{e}");
        }
        cluster
    }

    /// The scope's key: a Compose project's name, `swarm-STACK` for a stack.
    pub fn project(&self) -> &str {
        &self.key
    }

    pub fn scope(&self) -> &Scope {
        self.backend.scope()
    }

    /// The handle to follow a service's logs with, and nothing else.
    pub fn service_logs(&self) -> ServiceLogs {
        ServiceLogs::new(self.backend.clone())
    }

    /// The address the presenter's machine reaches `service`'s `port` at
    /// (loopback for a wildcard binding, IPv4 first). `Ok(None)`: the
    /// service has no such binding; `Err(NotFound)`: no such service.
    pub async fn published_address(
        &self,
        service: &str,
        port: u16,
    ) -> Result<Option<SocketAddr>, ClusterError> {
        self.backend.published_address(service, port).await
    }

    pub fn outstanding_faults(&self) -> Vec<Entry> {
        self.lock_ledger().outstanding().to_vec()
    }

    fn lock_ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `entry` to the ledger before its fault is made; a fault that
    /// cannot be recorded is not made.
    fn record(&self, entry: &Entry) -> Result<(), ClusterError> {
        self.lock_ledger().record(entry.clone()).map_err(|e| {
            ClusterError::Failed(format!(
                "cannot write the fault ledger, so the fault was not made: {e}"
            ))
        })?;
        self.emit(ClusterEvent::FaultStarting);
        Ok(())
    }

    /// Forgets a recorded fault that Docker then refused to make.
    fn forget(&self, entry: &Entry) {
        if let Err(e) = self.lock_ledger().forget(entry) {
            tracing::warn!("cannot update the fault ledger: {e}");
        }
    }

    /// Clears the faults on `container_id` that `undo` reversed.
    fn clear(&self, container_id: &str, undo: &UndoAction) {
        if let Err(e) = self.lock_ledger().clear(container_id, undo) {
            tracing::warn!("cannot update the fault ledger: {e}");
        }
    }

    fn emit(&self, event: ClusterEvent) {
        (self.report)(event);
    }
}

impl Cluster {
    /// The ledger entry of a fault on `node`, `action` as
    /// [`Action::describe`] says it; the task behind it too, where there is
    /// one.
    fn entry(&self, node: &Node, action: String, undo: UndoAction) -> Entry {
        Entry {
            container_id: node.id.clone(),
            container: node.container.clone(),
            service: node.service.clone(),
            task: self.backend.task_of(&node.id),
            action,
            undo,
            at_unix_ms: unix_ms(),
        }
    }
}

fn unix_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}
