//! A backend without an orchestrator, for tests of the cluster's own rules
//! (the ledger before every fault, rollback, restore order, a replaced
//! Swarm task): it keeps a node list, records every call it is asked (and
//! how many faults the ledger on disk held at that moment), and fails the
//! calls a test scripts to fail.

use super::backend::{Backend, Change, Liveness, NetfaultHelpers, Scope};
use super::ledger::{Entry, Ledger, UndoAction};
use super::model::{ClusterError, ContainerAction, Node, NodeState, RestoreOutcome};
use super::netfault::output::HelperOutput;
use super::netfault::plan::Mechanisms;
use super::netfault::sweep::Found;
use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Mutex;

/// One call the cluster made, as `"perform etcd1 kill SIGKILL"`, and the
/// faults the ledger file held when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub what: String,
    pub ledger_on_disk: usize,
}

#[derive(Default)]
struct State {
    nodes: Vec<Node>,
    calls: Vec<Call>,
    /// Calls that fail: a prefix of [`Call::what`], and the failure (once).
    failures: Vec<(String, String)>,
    successors: HashMap<String, String>,
    tasks: HashMap<String, String>,
    addresses: HashMap<String, HashMap<String, Ipv4Addr>>,
    cuts: HashMap<String, Vec<UndoAction>>,
    /// Calls that take this long to land: a prefix of [`Call::what`].
    delays: Vec<(String, std::time::Duration)>,
    changes: Option<futures::channel::mpsc::UnboundedReceiver<Change>>,
}

pub struct FakeBackend {
    scope: Scope,
    /// Where the cluster's ledger is, to count its entries at each call.
    ledger_dir: PathBuf,
    state: Mutex<State>,
    by_isolation: bool,
}

impl FakeBackend {
    /// A project `project` whose ledger lives in `ledger_dir`, with `nodes`.
    pub fn new(project: &str, ledger_dir: PathBuf, nodes: Vec<Node>) -> Self {
        FakeBackend {
            scope: Scope::Compose {
                project: project.into(),
            },
            ledger_dir,
            state: Mutex::new(State {
                nodes,
                ..State::default()
            }),
            by_isolation: false,
        }
    }

    /// Partitions by isolation rules, as Swarm does.
    pub fn partitioning_by_isolation(mut self) -> Self {
        self.by_isolation = true;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next call starting with `prefix` fails with `why`.
    pub fn fail(&self, prefix: &str, why: &str) {
        self.lock().failures.push((prefix.into(), why.into()));
    }

    /// Every later call starting with `prefix` takes `delay` to land (it
    /// is recorded when it lands, as an engine would make it).
    pub fn delay(&self, prefix: &str, delay: std::time::Duration) {
        self.lock().delays.push((prefix.into(), delay));
    }

    async fn land(&self, what: &str) {
        let delay = self
            .lock()
            .delays
            .iter()
            .find(|(prefix, _)| what.starts_with(prefix.as_str()))
            .map(|(_, d)| *d);
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The calls so far, as words.
    pub fn said(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.what).collect()
    }

    pub fn set_nodes(&self, nodes: Vec<Node>) {
        self.lock().nodes = nodes;
    }

    /// Node `old` was replaced by node `new` (a rescheduled Swarm task).
    pub fn replace(&self, old: &str, new: &str) {
        self.lock().successors.insert(old.into(), new.into());
    }

    pub fn set_task(&self, id: &str, task: &str) {
        self.lock().tasks.insert(id.into(), task.into());
    }

    pub fn set_cuts(&self, id: &str, cuts: Vec<UndoAction>) {
        self.lock().cuts.insert(id.into(), cuts);
    }

    /// A stream of changes the test sends (the first `changes()` gets it).
    pub fn change_feed(&self) -> futures::channel::mpsc::UnboundedSender<Change> {
        let (tx, rx) = futures::channel::mpsc::unbounded();
        self.lock().changes = Some(rx);
        tx
    }

    /// Records `what`; `Err` if a test scripted it to fail.
    fn call(&self, what: String) -> Result<(), ClusterError> {
        let ledger_on_disk = Ledger::open(&self.ledger_dir, &self.scope.key())
            .map(|l| l.outstanding().len())
            .unwrap_or(0);
        let mut state = self.lock();
        state.calls.push(Call {
            what: what.clone(),
            ledger_on_disk,
        });
        let failing = state
            .failures
            .iter()
            .position(|(prefix, _)| what.starts_with(prefix.as_str()));
        match failing {
            Some(i) => Err(ClusterError::Failed(state.failures.remove(i).1)),
            None => Ok(()),
        }
    }

    fn outcome(&self, entry: &Entry, what: String, done: &str) -> RestoreOutcome {
        match self.call(what) {
            Ok(()) => RestoreOutcome::of(entry, true, done.into()),
            Err(e) => RestoreOutcome::of(entry, false, e.to_string()),
        }
    }
}

/// A node of `service` in `state`, its id and container named `id`.
pub fn node(service: &str, id: &str, state: NodeState) -> Node {
    Node::fixture(service, id, id, state)
}

#[async_trait]
impl Backend for FakeBackend {
    fn scope(&self) -> &Scope {
        &self.scope
    }

    async fn connect(&self) -> Result<(), ClusterError> {
        Ok(())
    }

    async fn list(&self, service: Option<&str>) -> Result<Vec<Node>, ClusterError> {
        let mut nodes: Vec<Node> = self
            .lock()
            .nodes
            .iter()
            .filter(|n| service.is_none_or(|s| n.service == s))
            .cloned()
            .collect();
        nodes.sort_by(|a, b| (&a.service, &a.container).cmp(&(&b.service, &b.container)));
        Ok(nodes)
    }

    async fn successor(&self, id: &str) -> Option<String> {
        self.lock().successors.get(id).cloned()
    }

    fn task_of(&self, id: &str) -> Option<String> {
        self.lock().tasks.get(id).cloned()
    }

    async fn changes(
        &self,
    ) -> Result<BoxStream<'static, Result<Change, ClusterError>>, ClusterError> {
        match self.lock().changes.take() {
            Some(rx) => Ok(rx.map(Ok).boxed()),
            None => Ok(futures::stream::pending().boxed()),
        }
    }

    async fn published_address(
        &self,
        _service: &str,
        _port: u16,
    ) -> Result<Option<SocketAddr>, ClusterError> {
        Ok(None)
    }

    async fn follow_logs(
        &self,
        node: &Node,
        _since: Option<i32>,
    ) -> Result<BoxStream<'static, super::LogFrame>, ClusterError> {
        self.call(format!("follow_logs {}", node.id))?;
        Ok(futures::stream::empty().boxed())
    }

    async fn perform(&self, id: &str, action: &ContainerAction) -> Result<(), ClusterError> {
        let what = format!("perform {id} {}", action.describe());
        self.land(&what).await;
        self.call(what)?;
        let state = match action {
            ContainerAction::Kill { .. } | ContainerAction::Stop { .. } => NodeState::Exited,
            ContainerAction::Pause => NodeState::Paused,
            ContainerAction::Unpause | ContainerAction::Start | ContainerAction::Restart => {
                NodeState::Running
            }
        };
        if let Some(node) = self.lock().nodes.iter_mut().find(|n| n.id == id) {
            node.state = state;
        }
        Ok(())
    }

    async fn bring_back(&self, entry: &Entry) -> RestoreOutcome {
        let what = format!(
            "bring_back {} {}",
            entry.container_id,
            entry.undo.describe()
        );
        self.outcome(entry, what, "back")
    }

    fn partitions_by_isolation(&self) -> bool {
        self.by_isolation
    }

    async fn partition_cuts(&self, node: &Node) -> Result<Vec<UndoAction>, ClusterError> {
        Ok(self.lock().cuts.get(&node.id).cloned().unwrap_or_default())
    }

    async fn cut(&self, id: &str, cut: &UndoAction) -> Result<(), ClusterError> {
        self.call(format!("cut {id} {}", cut.describe()))
    }

    async fn reconnect(&self, entry: &Entry) -> RestoreOutcome {
        let what = format!("reconnect {} {}", entry.container_id, entry.undo.describe());
        self.outcome(entry, what, "reconnected")
    }

    async fn liveness(&self, id: &str) -> Result<Option<Liveness>, ClusterError> {
        Ok(self
            .lock()
            .nodes
            .iter()
            .find(|n| n.id == id)
            .map(|n| Liveness {
                running: n.state == NodeState::Running,
                started_at: "2026-12-07T00:00:00Z".into(),
            }))
    }

    async fn addresses(&self, id: &str) -> Result<HashMap<String, Ipv4Addr>, ClusterError> {
        Ok(self.lock().addresses.get(id).cloned().unwrap_or_default())
    }

    fn netfault_helpers(&self) -> &dyn NetfaultHelpers {
        self
    }
}

#[async_trait]
impl NetfaultHelpers for FakeBackend {
    async fn probe_netfault(&self) -> Result<Mechanisms, ClusterError> {
        self.call("probe".into())?;
        // A kernel without netem: a delay needs the delayer.
        Ok(crate::cluster::netfault::plan::kernel_without_netem())
    }

    async fn run_netfault(
        &self,
        id: &str,
        argv: Vec<String>,
    ) -> Result<HelperOutput, ClusterError> {
        let verb = argv.first().cloned().unwrap_or_default();
        self.call(format!("netfault {id} {verb}"))?;
        Ok(HelperOutput {
            exit_code: 0,
            stdout: String::new(),
            stderr: String::new(),
        })
    }

    async fn start_delayer(
        &self,
        id: &str,
        name: &str,
        _argv: Vec<String>,
    ) -> Result<(), ClusterError> {
        self.call(format!("start_delayer {id} {name}"))
    }

    async fn remove_helper(&self, name: &str) {
        let _ = self.call(format!("remove_helper {name}"));
    }

    async fn helpers(&self) -> Result<Vec<Found>, ClusterError> {
        Ok(Vec::new())
    }
}
