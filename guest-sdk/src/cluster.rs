//! The containers of the presenter's Compose project. Faults need a grant in
//! `describe` (`FlowInfo::grant_faults`); anything else fails with
//! `ClusterError::NotPermitted` before reaching Docker.
//!
//! Network faults: [`partition`] cuts a container off from everyone,
//! [`isolate`] only from some services, [`heal`] undoes both; [`shape`]
//! delays, drops or throttles what a container sends ([`ShapeSpec`]),
//! [`unshape`] undoes it.

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

/// Undoes [`partition`] and [`isolate`]: reconnects a partitioned container
/// with its original aliases, so its service name resolves again, and
/// removes its isolation rules. Fails with `Failed` if the host did neither
/// to it.
pub fn heal(target: &Target) -> Result<Node, ClusterError> {
    raw::heal(target)
}

/// A partial partition (needs `FaultAction::Network`, and every service in
/// `from_services` must match the grant's `peers`): traffic between the
/// target and the containers of `from_services` is dropped both ways, while
/// the target still reaches every other container. Isolating a leader from
/// both followers leaves it a minority of one. [`heal`] undoes it; the host
/// does when the demo ends, if the flow has not.
///
/// `from_services` are exact service names; an empty list, or one naming
/// the target's own service, fails with `Invalid`.
///
/// ```no_run
/// # use guest_sdk::prelude::*;
/// # fn chapter() -> Result<(), FlowError> {
/// let leader = cluster::isolate(&Target::service("etcd1"), &["etcd2", "etcd3"])?;
/// // … etcd2 and etcd3 elect a new leader; etcd1 cannot commit …
/// cluster::heal(&leader.target())?;
/// # Ok(()) }
/// ```
pub fn isolate<S: AsRef<str>>(target: &Target, from_services: &[S]) -> Result<Node, ClusterError> {
    let services: Vec<String> = from_services
        .iter()
        .map(|s| s.as_ref().to_string())
        .collect();
    raw::isolate(target, &services)
}

/// Shapes the traffic leaving a running container (needs
/// `FaultAction::Shape`; services named in [`ShapeSpec::towards`] must match
/// the grant's `peers`). Every part applies to packets *leaving* the target,
/// so a 200 ms delay adds 200 ms to each round trip through it. One shape
/// per container at a time: [`unshape`] first to change it. The host
/// removes it when the demo ends, if the flow has not.
///
/// Fails with `Invalid` for a spec out of range and with `Unsupported` for
/// one this Docker host's kernel cannot apply (duplication, corruption and
/// reordering need `sch_netem`), both before anything is changed.
///
/// ```no_run
/// # use guest_sdk::prelude::*;
/// # use std::time::Duration;
/// # fn chapter() -> Result<(), FlowError> {
/// let spec = ShapeSpec::new().delay(Duration::from_millis(200));
/// let slow = cluster::shape(&Target::service("etcd1"), &spec)?;
/// // A safety net: the host removes it in a minute whatever happens.
/// cluster::undo_after(&slow.target(), Duration::from_secs(60))?;
/// # Ok(()) }
/// ```
pub fn shape(target: &Target, spec: &ShapeSpec) -> Result<Node, ClusterError> {
    raw::shape(target, &spec.to_raw())
}

/// Undoes [`shape`]. Fails with `Failed` if the host did not shape this
/// container. A container restarted since has lost its shaping with its
/// network namespace; that counts as undone.
///
/// ```no_run
/// # use guest_sdk::prelude::*;
/// # fn chapter(slow: Node) -> Result<(), FlowError> {
/// let node = cluster::unshape(&slow.target())?;
/// narration::append(&format!("{} is at full speed again.", node.service));
/// # Ok(()) }
/// ```
pub fn unshape(target: &Target) -> Result<Node, ClusterError> {
    raw::unshape(target)
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
            ClusterError::Invalid(why) => format!("invalid request: {why}"),
            ClusterError::Unsupported(why) => {
                format!("not supported on this Docker host: {why}")
            }
        }
    }
}

/// Network conditions for [`shape`], as Linux's netem names them. Build one
/// from [`ShapeSpec::new`] (nothing shaped) and set what you need; a part
/// left at zero shapes nothing:
///
/// ```
/// use guest_sdk::cluster::ShapeSpec;
/// use std::time::Duration;
///
/// // 200 ms ± 20 ms and 5 % loss, only on what goes to etcd2.
/// let spec = ShapeSpec::new()
///     .delay(Duration::from_millis(200))
///     .jitter(Duration::from_millis(20))
///     .loss_pct(5.0)
///     .towards(["etcd2"]);
/// assert_eq!(spec.describe(), "200 ms ± 20 ms delay, 5% loss towards etcd2");
/// ```
///
/// The host checks the ranges (given with each part) and fails `shape` with
/// `Invalid` before changing anything when one is out of range.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShapeSpec {
    delay_ms: u32,
    jitter_ms: u32,
    correlation_pct: f32,
    loss_pct: f32,
    duplicate_pct: f32,
    corrupt_pct: f32,
    reorder_pct: f32,
    rate_kbit: u32,
    towards: Vec<String>,
}

impl ShapeSpec {
    /// Shapes nothing: no delay, no loss, no cap, all traffic.
    pub fn new() -> Self {
        Self::default()
    }

    /// Added delay per packet, in whole milliseconds (0–60 s).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay_ms = crate::timing::clamp_ms(delay);
        self
    }

    /// Random variation of the delay, ± this much, in whole milliseconds (at
    /// most the [`delay`](Self::delay), so no packet leaves early).
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter_ms = crate::timing::clamp_ms(jitter);
        self
    }

    /// How much each packet's jitter follows the previous packet's, 0–100 (%).
    pub fn correlation_pct(mut self, percent: f32) -> Self {
        self.correlation_pct = percent;
        self
    }

    /// Packets dropped at random, 0–100 (%).
    pub fn loss_pct(mut self, percent: f32) -> Self {
        self.loss_pct = percent;
        self
    }

    /// Packets sent twice, 0–100 (%). Needs the kernel's netem.
    pub fn duplicate_pct(mut self, percent: f32) -> Self {
        self.duplicate_pct = percent;
        self
    }

    /// Packets with a flipped bit, 0–100 (%). Needs the kernel's netem.
    pub fn corrupt_pct(mut self, percent: f32) -> Self {
        self.corrupt_pct = percent;
        self
    }

    /// Packets sent at once ahead of the delayed ones, 0–100 (%); needs a
    /// [`delay`](Self::delay). Needs the kernel's netem.
    pub fn reorder_pct(mut self, percent: f32) -> Self {
        self.reorder_pct = percent;
        self
    }

    /// Bandwidth cap in kbit/s (0: no cap; otherwise 8–10 000 000).
    pub fn rate_kbit(mut self, kbit_per_sec: u32) -> Self {
        self.rate_kbit = kbit_per_sec;
        self
    }

    /// Shapes only traffic towards the containers of these services (exact
    /// service names, each matching the grant's `peers`); without it, all
    /// traffic leaving the target. Replaces an earlier list.
    pub fn towards<I, S>(mut self, services: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.towards = services
            .into_iter()
            .map(|s| s.as_ref().to_string())
            .collect();
        self
    }

    /// A short description for the audience, e.g. `200 ms delay, 5% loss`
    /// (`nothing` when nothing is shaped).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.delay_ms > 0 {
            parts.push(if self.jitter_ms > 0 {
                format!("{} ms ± {} ms delay", self.delay_ms, self.jitter_ms)
            } else {
                format!("{} ms delay", self.delay_ms)
            });
        }
        for (pct, what) in [
            (self.loss_pct, "loss"),
            (self.duplicate_pct, "duplication"),
            (self.corrupt_pct, "corruption"),
            (self.reorder_pct, "reordering"),
        ] {
            if pct > 0.0 {
                parts.push(format!("{pct}% {what}"));
            }
        }
        if self.rate_kbit > 0 {
            parts.push(format!("{} kbit/s cap", self.rate_kbit));
        }
        if parts.is_empty() {
            parts.push("nothing".to_string());
        }
        let mut text = parts.join(", ");
        if !self.towards.is_empty() {
            text.push_str(&format!(" towards {}", self.towards.join(", ")));
        }
        text
    }

    fn to_raw(&self) -> raw::ShapeSpec {
        raw::ShapeSpec {
            delay_ms: self.delay_ms,
            jitter_ms: self.jitter_ms,
            correlation_pct: self.correlation_pct,
            loss_pct: self.loss_pct,
            duplicate_pct: self.duplicate_pct,
            corrupt_pct: self.corrupt_pct,
            reorder_pct: self.reorder_pct,
            rate_kbit: self.rate_kbit,
            towards: self.towards.clone(),
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

impl NodeState {
    /// The state for the audience: green when running, red otherwise.
    pub fn styled(self) -> crate::markup::Markup {
        match self {
            NodeState::Running => crate::markup::green(self),
            _ => crate::markup::red(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_node_is_green_and_any_other_state_red() {
        assert_eq!(NodeState::Running.styled().as_str(), "[green]running[/]");
        assert_eq!(NodeState::Exited.styled().as_str(), "[red]exited[/]");
    }

    #[test]
    fn a_new_shape_spec_shapes_nothing_and_the_builder_sets_every_field() {
        let nothing = ShapeSpec::new().to_raw();
        assert_eq!(
            (nothing.delay_ms, nothing.jitter_ms, nothing.rate_kbit),
            (0, 0, 0)
        );
        assert_eq!(nothing.correlation_pct + nothing.loss_pct, 0.0);
        assert_eq!(
            nothing.duplicate_pct + nothing.corrupt_pct + nothing.reorder_pct,
            0.0
        );
        assert!(nothing.towards.is_empty());
        assert_eq!(ShapeSpec::new().describe(), "nothing");

        let spec = ShapeSpec::new()
            .delay(Duration::from_millis(200))
            .jitter(Duration::from_micros(20_900))
            .correlation_pct(25.0)
            .loss_pct(5.0)
            .duplicate_pct(1.0)
            .corrupt_pct(0.5)
            .reorder_pct(10.0)
            .rate_kbit(512)
            .towards(["etcd1"])
            .towards(vec!["etcd2".to_string(), "etcd3".to_string()]);
        let raw = spec.to_raw();
        assert_eq!(raw.delay_ms, 200);
        assert_eq!(raw.jitter_ms, 20, "whole milliseconds");
        assert_eq!(raw.correlation_pct, 25.0);
        assert_eq!(raw.loss_pct, 5.0);
        assert_eq!(raw.duplicate_pct, 1.0);
        assert_eq!(raw.corrupt_pct, 0.5);
        assert_eq!(raw.reorder_pct, 10.0);
        assert_eq!(raw.rate_kbit, 512);
        assert_eq!(raw.towards, ["etcd2", "etcd3"], "a later list replaces");
        assert_eq!(
            spec.describe(),
            "200 ms ± 20 ms delay, 5% loss, 1% duplication, 0.5% corruption, \
             10% reordering, 512 kbit/s cap towards etcd2, etcd3"
        );
    }

    #[test]
    fn a_delay_too_long_for_the_wit_is_clamped_for_the_host_to_refuse() {
        let raw = ShapeSpec::new()
            .delay(Duration::from_secs(u64::MAX))
            .to_raw();
        assert_eq!(raw.delay_ms, u32::MAX);
    }

    #[test]
    fn the_new_cluster_errors_have_audience_sentences() {
        assert_eq!(
            ClusterError::Invalid("delay-ms: 70000 is above 60000".into()).message(),
            "invalid request: delay-ms: 70000 is above 60000"
        );
        assert_eq!(
            ClusterError::Unsupported("corrupt-pct needs sch_netem".into()).message(),
            "not supported on this Docker host: corrupt-pct needs sch_netem"
        );
    }
}
