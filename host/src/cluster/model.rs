//! The cluster's vocabulary: its containers and their states, what a flow
//! can ask of them, how that goes wrong, and what the cluster reports.

use super::ledger::UndoAction;
pub use super::shape_spec::ShapeSpec;
use super::signal::KillSignal;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

pub fn state_name(state: NodeState) -> &'static str {
    match state {
        NodeState::Created => "created",
        NodeState::Running => "running",
        NodeState::Paused => "paused",
        NodeState::Restarting => "restarting",
        NodeState::Removing => "removing",
        NodeState::Exited => "exited",
        NodeState::Dead => "dead",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    None,
    Starting,
    Healthy,
    Unhealthy,
}

/// One container of the project, as Docker reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    pub service: String,
    pub container: String,
    pub id: String,
    pub state: NodeState,
    pub health: Health,
}

#[cfg(test)]
impl Node {
    /// A test's node: container `container` of `service`, id `id`, in
    /// `state`, without a health check. The one fixture every test builds
    /// nodes with.
    pub fn fixture(
        service: impl Into<String>,
        container: impl Into<String>,
        id: impl Into<String>,
        state: NodeState,
    ) -> Node {
        Node {
            service: service.into(),
            container: container.into(),
            id: id.into(),
            state,
            health: Health::None,
        }
    }
}

/// Which output of a node a log frame is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// One chunk of a node's output as the orchestrator sent it, starting with
/// its timestamp (the seam's own type: no engine's leaks past a backend).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFrame {
    pub stream: LogStream,
    pub bytes: Vec<u8>,
}

/// Which container(s) a flow means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Service(String),
    /// A glob over service names; one running match is picked at random.
    Pattern(String),
    /// A container id, unique id prefix or container name.
    Id(String),
}

/// What a flow can ask of a container: one Engine API call on the container,
/// or a change to the networks it is on.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Container(ContainerAction),
    Network(NetworkAction),
}

/// One Engine API call on the container itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerAction {
    /// Only a signal that ends the process, so that `start` undoes it; a
    /// flow's text becomes one through [`KillSignal`]'s `FromStr`.
    Kill {
        signal: KillSignal,
    },
    /// At most [`ContainerAction::MAX_STOP_GRACE_SECONDS`]: the call lasts
    /// as long as the container takes to stop.
    Stop {
        grace_seconds: u32,
    },
    Start,
    Restart,
    Pause,
    Unpause,
}

impl ContainerAction {
    /// The longest stop grace a flow may ask for: a stop waits that long
    /// for the process before killing it, and a chapter is minutes long.
    pub const MAX_STOP_GRACE_SECONDS: u32 = 600;
}

/// A change to what the container's network lets through, and its undo.
#[derive(Debug, Clone, PartialEq)]
pub enum NetworkAction {
    /// Disconnect the container from every project network it is on.
    Partition,
    /// Reconnect it to each, with the aliases it had there, and remove an
    /// isolation.
    Heal,
    /// Drop traffic between it and these services' containers, both ways.
    Isolate {
        from: Vec<String>,
    },
    /// Delay, lose, cap… the traffic leaving it (see `netfault`).
    Shape(ShapeSpec),
    Unshape,
}

impl From<ContainerAction> for Action {
    fn from(action: ContainerAction) -> Self {
        Action::Container(action)
    }
}

impl From<NetworkAction> for Action {
    fn from(action: NetworkAction) -> Self {
        Action::Network(action)
    }
}

impl Action {
    /// Whether the action can be made on a container in `state` (so a
    /// pattern never picks a container it cannot act on).
    pub fn applies_to(&self, state: NodeState) -> bool {
        match self {
            Action::Container(action) => action.applies_to(state),
            Action::Network(
                NetworkAction::Partition | NetworkAction::Isolate { .. } | NetworkAction::Shape(_),
            ) => state == NodeState::Running,
            Action::Network(NetworkAction::Heal | NetworkAction::Unshape) => {
                state != NodeState::Removing
            }
        }
    }

    /// Whether the action takes something away from the cluster (as opposed
    /// to a flow's own undo: start, unpause, heal).
    pub fn is_disruptive(&self) -> bool {
        match self {
            Action::Container(action) => action.is_disruptive(),
            Action::Network(
                NetworkAction::Partition | NetworkAction::Isolate { .. } | NetworkAction::Shape(_),
            ) => true,
            Action::Network(NetworkAction::Heal | NetworkAction::Unshape) => false,
        }
    }

    /// As the presenter reads it (event log, transcript, ledger), e.g.
    /// `kill SIGKILL`, `partition`.
    pub fn describe(&self) -> String {
        match self {
            Action::Container(action) => action.describe(),
            Action::Network(NetworkAction::Partition) => "partition".into(),
            Action::Network(NetworkAction::Heal) => "heal".into(),
            Action::Network(NetworkAction::Isolate { from }) => {
                format!("isolate from {}", from.join(", "))
            }
            Action::Network(NetworkAction::Shape(spec)) => format!("shape {spec}"),
            Action::Network(NetworkAction::Unshape) => "unshape".into(),
        }
    }
}

impl ContainerAction {
    fn applies_to(&self, state: NodeState) -> bool {
        match self {
            ContainerAction::Kill { .. }
            | ContainerAction::Stop { .. }
            | ContainerAction::Pause => state == NodeState::Running,
            ContainerAction::Restart => state != NodeState::Removing,
            ContainerAction::Start => matches!(
                state,
                NodeState::Created | NodeState::Exited | NodeState::Dead
            ),
            ContainerAction::Unpause => state == NodeState::Paused,
        }
    }

    fn is_disruptive(&self) -> bool {
        !matches!(self, ContainerAction::Start | ContainerAction::Unpause)
    }

    /// What undoes this fault, if it leaves one behind (a restart brings
    /// the container back by itself).
    pub(super) fn undo(&self) -> Option<UndoAction> {
        match self {
            ContainerAction::Kill { .. } | ContainerAction::Stop { .. } => Some(UndoAction::Start),
            ContainerAction::Pause => Some(UndoAction::Unpause),
            _ => None,
        }
    }

    /// Which recorded faults this action undoes.
    pub(super) fn clears(&self) -> Option<UndoAction> {
        match self {
            ContainerAction::Start | ContainerAction::Restart => Some(UndoAction::Start),
            ContainerAction::Unpause => Some(UndoAction::Unpause),
            _ => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ContainerAction::Kill { signal } => format!("kill {signal}"),
            ContainerAction::Stop { grace_seconds } => format!("stop (grace {grace_seconds}s)"),
            ContainerAction::Start => "start".into(),
            ContainerAction::Restart => "restart".into(),
            ContainerAction::Pause => "pause".into(),
            ContainerAction::Unpause => "unpause".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClusterError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("not permitted: {0}")]
    NotPermitted(String),
    #[error("Docker is unavailable: {0}")]
    DockerUnavailable(String),
    #[error("Docker refused: {0}")]
    Failed(String),
    #[error("timed out")]
    Timeout,
    #[error("interrupted")]
    Interrupted,
    /// The request is wrong in itself (a spec out of range); nothing changed.
    #[error("invalid: {0}")]
    Invalid(String),
    /// This Docker host cannot do it (e.g. no `sch_netem`); nothing changed.
    #[error("unsupported here: {0}")]
    Unsupported(String),
}

/// A `kill` spelling that ends in no undoable fault is a failed action.
impl From<super::signal::Refused> for ClusterError {
    fn from(refused: super::signal::Refused) -> Self {
        ClusterError::Failed(refused.0)
    }
}

/// An action the host performed on a container for the flow.
#[derive(Debug, Clone, Serialize)]
pub struct Performed {
    /// Written as [`Action::describe`] says it (`kill SIGKILL`), the form
    /// the ledger and the transcript have always had.
    #[serde(serialize_with = "described")]
    pub action: Action,
    pub service: String,
    pub container: String,
    pub id: String,
}

fn described<S: serde::Serializer>(action: &Action, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&action.describe())
}

/// What happened to one outstanding fault when it was undone.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreOutcome {
    pub service: String,
    pub container: String,
    pub id: String,
    pub undo: UndoAction,
    pub ok: bool,
    /// `started`, `unpaused`, `already running`, `container is gone`, or the error.
    pub detail: String,
}

impl RestoreOutcome {
    /// What undoing `entry` came to.
    pub(super) fn of(entry: &super::ledger::Entry, ok: bool, detail: String) -> Self {
        RestoreOutcome {
            service: entry.service.clone(),
            container: entry.container.clone(),
            id: entry.container_id.clone(),
            undo: entry.undo.clone(),
            ok,
            detail,
        }
    }
}

/// What the cluster tells whoever listens, as it happens.
#[derive(Debug, Clone)]
pub enum ClusterEvent {
    /// The project's containers as Docker reports them, after any change.
    NodesChanged(Vec<Node>),
    /// Docker could not be reached (said once, until it is reachable again).
    DockerUnavailable(String),
    /// Docker is reachable again after [`ClusterEvent::DockerUnavailable`].
    DockerAvailable,
    /// A fault is on the ledger and about to be made (the engine not asked
    /// yet): what was true until now was true before it.
    FaultStarting,
    /// The host performed an action for the flow.
    Performed(Performed),
    /// One outstanding fault was undone (or could not be).
    Restored(RestoreOutcome),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_faults_that_take_something_away_are_disruptive() {
        let disruptive: Vec<String> = [
            Action::from(ContainerAction::Kill {
                signal: KillSignal::Kill,
            }),
            ContainerAction::Stop { grace_seconds: 1 }.into(),
            ContainerAction::Start.into(),
            ContainerAction::Restart.into(),
            ContainerAction::Pause.into(),
            ContainerAction::Unpause.into(),
            NetworkAction::Partition.into(),
            NetworkAction::Heal.into(),
            NetworkAction::Isolate {
                from: vec!["etcd2".into(), "etcd3".into()],
            }
            .into(),
            NetworkAction::Shape(ShapeSpec {
                delay_ms: 200,
                ..Default::default()
            })
            .into(),
            NetworkAction::Unshape.into(),
        ]
        .iter()
        .filter(|a| a.is_disruptive())
        .map(Action::describe)
        .collect();
        assert_eq!(
            disruptive,
            [
                "kill SIGKILL",
                "stop (grace 1s)",
                "restart",
                "pause",
                "partition",
                "isolate from etcd2, etcd3",
                "shape delay 200ms",
            ]
        );
    }

    #[test]
    fn a_performed_action_serializes_as_the_transcript_always_wrote_it() {
        let performed = Performed {
            action: NetworkAction::Heal.into(),
            service: "etcd1".into(),
            container: "p-etcd1-1".into(),
            id: "abc".into(),
        };
        assert_eq!(
            serde_json::to_value(&performed).unwrap(),
            serde_json::json!({
                "action": "heal",
                "service": "etcd1",
                "container": "p-etcd1-1",
                "id": "abc",
            })
        );
    }
}
