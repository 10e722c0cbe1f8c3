//! The seam between what a flow asks of the cluster and the orchestrator
//! that carries it out. [`Cluster`](super::Cluster) owns the ledger, the
//! selection, the grants and the events, and asks a [`Backend`] for every
//! query and every change; a backend knows nothing of flows or grants.
//!
//! Two backends implement it: `compose` (a Compose project's containers on
//! one engine) and `swarm` (a stack's tasks, wherever Swarm put them). A
//! Kubernetes backend would be a third module (docs/kubernetes.md). Every
//! method names a node by the id the backend listed it under; a change is
//! written to the ledger by the cluster before the backend is asked.
//!
//! What every orchestrator must answer (its nodes, their changes, the
//! faults on them) is [`Backend`]; running the netfault helper in a node's
//! namespace is [`NetfaultHelpers`], which a backend hands out.

use super::ledger::{Entry, UndoAction};
use super::model::{ClusterError, ContainerAction, LogFrame, Node, NodeState, RestoreOutcome};
use super::netfault::output::HelperOutput;
use super::netfault::plan::Mechanisms;
use super::netfault::sweep::Found;
use async_trait::async_trait;
use futures::stream::BoxStream;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// What the presenter acts on: one Compose project or one Swarm stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Compose { project: String },
    Swarm { stack: String },
}

impl Scope {
    /// The project or stack name, as the user gave it.
    pub fn name(&self) -> &str {
        match self {
            Scope::Compose { project } => project,
            Scope::Swarm { stack } => stack,
        }
    }

    /// The key of everything the host keeps for this scope (ledger, notes
    /// socket, helper labels). A Compose project keeps its bare name, as
    /// before there were backends; a stack is prefixed so that a stack and a
    /// project of the same name never share a ledger.
    pub fn key(&self) -> String {
        match self {
            Scope::Compose { project } => project.clone(),
            Scope::Swarm { stack } => format!("swarm-{stack}"),
        }
    }

    /// What `host recover` needs to find this scope's ledger.
    pub fn recover_args(&self) -> String {
        match self {
            Scope::Compose { project } => format!("--project {project}"),
            Scope::Swarm { stack } => format!("--backend swarm --stack {stack}"),
        }
    }

    /// "compose project 'etcd'", "swarm stack 'etcd'".
    pub fn describe(&self) -> String {
        match self {
            Scope::Compose { project } => format!("compose project '{project}'"),
            Scope::Swarm { stack } => format!("swarm stack '{stack}'"),
        }
    }
}

/// A change to one node the backend saw, before any list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The node's id, as [`Backend::list`] gives it (empty: unknown).
    pub id: String,
    pub kind: ChangeKind,
}

/// What a change means, in the cluster's terms: the backend maps its
/// orchestrator's words (Docker's `die`, `pause`, …) to these, and leaves
/// out what changes nothing a presenter sees (health-check execs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The node is now in this state: shown at once (the audience sees a
    /// node go red when it dies, not when a list catches up).
    Now(NodeState),
    /// Something else changed (created, renamed, removed…): list again.
    Other,
}

/// Whether a node's process is up, and since when (a new start means a new
/// network namespace, without the rules a network fault put in the old one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Liveness {
    pub running: bool,
    pub started_at: String,
}

/// One orchestrator's way of finding nodes and changing them. Object-safe:
/// the cluster holds an `Arc<dyn Backend>`.
#[async_trait]
pub trait Backend: Send + Sync {
    fn scope(&self) -> &Scope;

    /// Connects, if not yet connected: the presenter opens without an
    /// engine and says so; every call fails with `DockerUnavailable` until
    /// one answers.
    async fn connect(&self) -> Result<(), ClusterError>;

    /// The nodes of the scope (or of one service), sorted by service, then
    /// name. Service names are the ones a flow targets (a stack's prefix
    /// removed).
    async fn list(&self, service: Option<&str>) -> Result<Vec<Node>, ClusterError>;

    /// The id a node listed earlier goes by now: a Swarm task that was
    /// replaced is the same node to a flow, under its replacement's id.
    /// `None`: the id is not one of the scope's former nodes.
    async fn successor(&self, _id: &str) -> Option<String> {
        None
    }

    /// The task (or pod) behind node `id`, for the ledger; `None` where the
    /// node is the container itself.
    fn task_of(&self, _id: &str) -> Option<String> {
        None
    }

    /// Changes to the scope's nodes as they happen, until the stream ends
    /// (the engine went away: the watcher connects again).
    async fn changes(
        &self,
    ) -> Result<BoxStream<'static, Result<Change, ClusterError>>, ClusterError>;

    /// How often to list again whatever the changes say, for changes the
    /// stream cannot see (tasks on other machines). `None`: never.
    fn poll_every(&self) -> Option<Duration> {
        None
    }

    /// Where the presenter's machine reaches `service`'s `port`. `Ok(None)`:
    /// nowhere; `NotFound`: no such service.
    async fn published_address(
        &self,
        service: &str,
        port: u16,
    ) -> Result<Option<SocketAddr>, ClusterError>;

    /// The output of node `node` from `since` (seconds since 1970; `None`:
    /// from now), each frame starting with the engine's timestamp.
    async fn follow_logs(
        &self,
        node: &Node,
        since: Option<i32>,
    ) -> Result<BoxStream<'static, LogFrame>, ClusterError>;

    /// Makes `action` on node `id`: kill, stop, pause, unpause, start,
    /// restart. "Start" means "running again" wherever the orchestrator,
    /// not the engine, brings a node back.
    async fn perform(&self, id: &str, action: &ContainerAction) -> Result<(), ClusterError>;

    /// Undoes a `Start` or `Unpause` entry, unless the node already is as
    /// the undo would leave it; a node that is gone is not an error.
    async fn bring_back(&self, entry: &Entry) -> RestoreOutcome;

    /// Whether a partition is made by isolation rules in the node's
    /// namespace (cutting it off from everything but loopback) instead of
    /// [`Backend::partition_cuts`].
    fn partitions_by_isolation(&self) -> bool {
        false
    }

    /// The cuts that partition node `node` from its peers, one undo each,
    /// for the cluster to record before [`Backend::cut`] makes each.
    async fn partition_cuts(&self, node: &Node) -> Result<Vec<UndoAction>, ClusterError>;

    async fn cut(&self, id: &str, cut: &UndoAction) -> Result<(), ClusterError>;

    /// Undoes one recorded cut (a `Reconnect` entry).
    async fn reconnect(&self, entry: &Entry) -> RestoreOutcome;

    // Network faults: plans are the backend-neutral commands of
    // `netfault::plan`, run in the node's network namespace by
    // [`Backend::netfault_helpers`].

    /// `Ok(None)`: the node is gone.
    async fn liveness(&self, id: &str) -> Result<Option<Liveness>, ClusterError>;

    /// Node `id`'s IPv4 address on each network it is on.
    async fn addresses(&self, id: &str) -> Result<HashMap<String, Ipv4Addr>, ClusterError>;

    /// What runs the netfault helper in the nodes' namespaces.
    fn netfault_helpers(&self) -> &dyn NetfaultHelpers;
}

/// Running the netfault helper in a node's network namespace: what a
/// network fault needs beyond the nodes themselves. One Docker
/// implementation (`docker::Engine`) serves Compose as it is and Swarm for
/// the tasks on the presenter's machine.
#[async_trait]
pub trait NetfaultHelpers: Send + Sync {
    /// What the kernel under the nodes offers network faults.
    async fn probe_netfault(&self) -> Result<Mechanisms, ClusterError>;

    /// Runs the netfault helper with `argv` in node `id`'s network
    /// namespace, bounded, and returns what it said.
    async fn run_netfault(&self, id: &str, argv: Vec<String>)
    -> Result<HelperOutput, ClusterError>;

    /// Starts the long-lived delayer `name` in node `id`'s namespace.
    async fn start_delayer(
        &self,
        id: &str,
        name: &str,
        argv: Vec<String>,
    ) -> Result<(), ClusterError>;

    /// Removes helper `name`, if it is there.
    async fn remove_helper(&self, name: &str);

    /// The scope's helpers that are still there.
    async fn helpers(&self) -> Result<Vec<Found>, ClusterError>;
}
