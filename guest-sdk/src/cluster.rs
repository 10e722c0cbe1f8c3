//! The containers of the presenter's Compose project. Faults need a grant in
//! `describe` (`FlowInfo::grant_faults`); anything else fails with
//! `ClusterError::NotPermitted` before reaching Docker.

use crate::bindings::demo::flow::cluster as raw;
pub use raw::{ClusterError, Health, Node, NodeState, Target};
use std::fmt;
use std::time::Duration;

impl Target {
    /// The container of a Compose service, e.g. `"etcd1"`.
    pub fn service(name: &str) -> Self {
        Target::Service(name.to_string())
    }

    /// A random applicable container of the services matching a glob, e.g. `"tikv*"`.
    pub fn pattern(glob: &str) -> Self {
        Target::Pattern(glob.to_string())
    }

    /// A container id (or unique prefix) or name.
    pub fn id(id: &str) -> Self {
        Target::Id(id.to_string())
    }
}

impl Node {
    /// This node as a target for a later call.
    pub fn target(&self) -> Target {
        Target::Id(self.id.clone())
    }
}

/// Every container of the project.
pub fn list_nodes() -> Result<Vec<Node>, ClusterError> {
    raw::list_nodes()
}

/// Sends `signal` to a running container: `"SIGKILL"`, `"SIGTERM"`,
/// `"SIGINT"`, `"SIGQUIT"`, `"SIGHUP"` or `"SIGABRT"` (any case, with or
/// without `SIG`, or the number). Those end the process, so the host's
/// `start` undoes the fault. Any other signal fails with `Failed` before
/// anything reaches Docker; to freeze a container use [`pause`].
pub fn kill(target: &Target, signal: &str) -> Result<Node, ClusterError> {
    raw::kill(target, signal)
}

/// Stops a container: SIGTERM, then SIGKILL after `grace` (whole seconds).
pub fn stop(target: &Target, grace: Duration) -> Result<Node, ClusterError> {
    raw::stop(target, u32::try_from(grace.as_secs()).unwrap_or(u32::MAX))
}

/// Starts a stopped container (undoes `kill` and `stop`).
pub fn start(target: &Target) -> Result<Node, ClusterError> {
    raw::start(target)
}

/// Restarts a container.
pub fn restart(target: &Target) -> Result<Node, ClusterError> {
    raw::restart(target)
}

/// Freezes every process of a running container.
pub fn pause(target: &Target) -> Result<Node, ClusterError> {
    raw::pause(target)
}

/// Undoes `pause`.
pub fn unpause(target: &Target) -> Result<Node, ClusterError> {
    raw::unpause(target)
}

/// Waits until Docker reports the container in `state`.
pub fn wait_for(id: &str, state: NodeState, timeout: Duration) -> Result<Node, ClusterError> {
    raw::wait_for(id, state, crate::timing::clamp_ms(timeout))
}

/// Cuts a running container off from the rest of the project (needs
/// `FaultAction::Network`). The host heals it when the demo ends.
pub fn partition(target: &Target) -> Result<Node, ClusterError> {
    raw::partition(target)
}

/// Reconnects a partitioned container with its original aliases, so its
/// service name resolves again.
pub fn heal(target: &Target) -> Result<Node, ClusterError> {
    raw::heal(target)
}

/// Undoes every fault now outstanding on the containers `target` matches
/// once `after` has passed, whatever the flow is doing then.
pub fn undo_after(target: &Target, after: Duration) -> Result<Vec<Node>, ClusterError> {
    raw::undo_after(target, crate::timing::clamp_ms(after))
}

impl ClusterError {
    /// A sentence for the audience (the derived `Display` is for logs).
    pub fn message(&self) -> String {
        match self {
            ClusterError::NotFound(what) => format!("not found: {what}"),
            ClusterError::NotPermitted(what) => format!("not permitted: {what}"),
            ClusterError::DockerUnavailable(why) => format!("Docker is unavailable: {why}"),
            ClusterError::Failed(why) => format!("Docker refused: {why}"),
            ClusterError::Timeout => "timed out".to_string(),
            ClusterError::Interrupted => "interrupted by the presenter".to_string(),
        }
    }
}

impl fmt::Display for NodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NodeState::Created => "created",
            NodeState::Running => "running",
            NodeState::Paused => "paused",
            NodeState::Restarting => "restarting",
            NodeState::Removing => "removing",
            NodeState::Exited => "exited",
            NodeState::Dead => "dead",
        })
    }
}
