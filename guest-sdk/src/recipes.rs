//! The fault and recovery steps every flow repeats, each with the narration
//! the audience expects: count down or cancel ([`count_down_to_fault`]), kill
//! ([`count_down_then_kill`]) and start again ([`start_and_wait_running`]),
//! and a fault that lasts as long as a block of the chapter
//! ([`scoped_fault`]). [`crate::workload::measure_baseline`] is the whole
//! "Workload baseline" chapter.
//!
//! ```no_run
//! use guest_sdk::prelude::*;
//! use std::time::Duration;
//!
//! #[derive(Default)]
//! struct Demo {
//!     victim: Option<Node>,
//! }
//!
//! impl Demo {
//!     fn kill(&mut self) -> Result<(), FlowError> {
//!         let target = Target::pattern("db*");
//!         self.victim = Some(recipes::count_down_then_kill(&target, "SIGKILL", 3, "Killing in")?);
//!         Ok(())
//!     }
//!
//!     fn recover(&mut self) -> Result<(), FlowError> {
//!         if let Some(node) = self.victim.take() {
//!             recipes::start_and_wait_running(&node.target(), Duration::from_secs(30))?;
//!         }
//!         Ok(())
//!     }
//! }
//! ```

use crate::cluster::{self, ClusterError, Node, NodeState, Target};
use crate::markup::{dim, green, red};
use crate::{FlowError, log, narration, timing};
use std::time::Duration;

/// How long Docker gets to report a killed container exited. A SIGKILLed
/// process is gone at once; this only covers a slow engine.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Counts down `seconds` under `label`, sends `signal` to `target` and waits
/// until Docker reports the container exited, narrating each step: "Killed
/// SERVICE.", then "Docker reports SERVICE exited." Returns the killed node;
/// keep it to start it again later.
///
/// A cancelled countdown narrates "Fault cancelled." and returns
/// `Err(Interrupted)`: nothing was killed. When Docker has not reported the
/// exit in time the node is still returned (the signal was sent, so the
/// fault is in place and must be undone) after narrating why.
pub fn count_down_then_kill(
    target: &Target,
    signal: &str,
    seconds: u32,
    label: &str,
) -> Result<Node, FlowError> {
    count_down_to_fault(seconds, label)?;
    let victim = cluster::kill(target, signal)?;
    narration::append("Killed " + red(&victim.service) + ".");
    match cluster::wait_for(&victim.id, NodeState::Exited, EXIT_TIMEOUT) {
        Ok(exited) => {
            narration::append(format!("Docker reports {} ", exited.service) + red("exited") + ".");
            Ok(exited)
        }
        Err(ClusterError::Interrupted) => Err(FlowError::Interrupted),
        Err(e) => {
            narration::append(format!(
                "Docker has not reported the exit yet: {}",
                e.message()
            ));
            Ok(victim)
        }
    }
}

/// Counts down `seconds` under `label` before a fault. A cancelled
/// countdown narrates "Fault cancelled." and returns `Err(Interrupted)`, so
/// with `?` nothing after it runs and no fault follows.
pub fn count_down_to_fault(seconds: u32, label: &str) -> Result<(), FlowError> {
    cancelled_narrated(timing::count_down(seconds, label), |line| {
        narration::append(line)
    })
}

fn cancelled_narrated(
    counted: Result<(), FlowError>,
    narrate: impl FnOnce(&str),
) -> Result<(), FlowError> {
    counted.inspect_err(|_| narrate("Fault cancelled."))
}

/// Asks the host to undo every fault on `node` after `after`, whatever the
/// flow is doing then (should the chapter be skipped mid-fault), and
/// narrates it, dimmed. A refusal is narrated, not fatal: the host still
/// undoes every fault when the show ends. Only an interruption is an error.
pub fn safety_net(node: &Node, after: Duration) -> Result<(), FlowError> {
    match cluster::undo_after(&node.target(), after) {
        Ok(_) => narration::append(dim(format!(
            "(Safety net: the host undoes it in {} s whatever happens.)",
            after.as_secs()
        ))),
        Err(ClusterError::Interrupted) => return Err(FlowError::Interrupted),
        Err(e) => narration::append(dim(format!(
            "(No safety net: {}. The host still undoes it when the show ends.)",
            e.message()
        ))),
    }
    Ok(())
}

/// A fault that lasts as long as `body`: `apply` makes it (and narrates
/// it), [`safety_net`] asks the host to undo it after `safety` should the
/// chapter be cut short, `body` runs with the faulted node, and `undo` undoes
/// it (and narrates that) whatever `body` returned, an error or an
/// interruption included. Returns `body`'s result; when `undo` fails that
/// failure is returned instead (the fault is still in place, the host undoes
/// it when the show ends), and `body`'s error goes to the log.
///
/// ```no_run
/// # use guest_sdk::prelude::*;
/// # use std::time::Duration;
/// # fn chapter() -> Result<(), FlowError> {
/// let spec = ShapeSpec::new().delay(Duration::from_millis(200));
/// let p99 = recipes::scoped_fault(
///     || Ok(cluster::shape(&Target::service("etcd1"), &spec)?),
///     Duration::from_secs(60),
///     |slowed| Ok(cluster::unshape(&slowed.target()).map(drop)?),
///     |_slowed| {
///         timing::pause(Duration::from_secs(5))?; // … measure what the clients see …
///         Ok(42.0)
///     },
/// )?;
/// # Ok(()) }
/// ```
pub fn scoped_fault<T>(
    apply: impl FnOnce() -> Result<Node, FlowError>,
    safety: Duration,
    undo: impl FnOnce(&Node) -> Result<(), FlowError>,
    body: impl FnOnce(&Node) -> Result<T, FlowError>,
) -> Result<T, FlowError> {
    scoped_with(apply, |node| safety_net(node, safety), undo, body)
}

/// [`scoped_fault`] with its safety net given, so it is tested without a host.
fn scoped_with<T>(
    apply: impl FnOnce() -> Result<Node, FlowError>,
    net: impl FnOnce(&Node) -> Result<(), FlowError>,
    undo: impl FnOnce(&Node) -> Result<(), FlowError>,
    body: impl FnOnce(&Node) -> Result<T, FlowError>,
) -> Result<T, FlowError> {
    let node = apply()?;
    let outcome = net(&node).and_then(|()| body(&node));
    match undo(&node) {
        Ok(()) => outcome,
        Err(FlowError::Interrupted) => Err(FlowError::Interrupted),
        Err(undo_failed) => {
            if let Err(FlowError::Failed(why)) = &outcome {
                log::warn(&format!("before the undo failed: {why}"));
            }
            Err(undo_failed.context(&format!(
                "could not undo the fault on {} (the host undoes it when the show ends)",
                node.service
            )))
        }
    }
}

/// Starts a stopped or killed container, waits up to `timeout` until Docker
/// reports it running, and narrates "SERVICE is running again." Returns the
/// running node.
pub fn start_and_wait_running(target: &Target, timeout: Duration) -> Result<Node, FlowError> {
    let started = cluster::start(target)?;
    let running = cluster::wait_for(&started.id, NodeState::Running, timeout)?;
    narration::append(format!("{} is ", running.service) + green("running") + " again.");
    Ok(running)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Health;
    use std::cell::RefCell;

    fn node(service: &str) -> Node {
        Node {
            service: service.into(),
            container: format!("demo-{service}-1"),
            id: "c0ffee".into(),
            state: NodeState::Running,
            health: Health::None,
        }
    }

    /// Runs a scoped fault whose steps record themselves.
    fn scoped(
        apply: Result<Node, FlowError>,
        body: Result<u32, FlowError>,
        undo: Result<(), FlowError>,
    ) -> (Result<u32, FlowError>, Vec<&'static str>) {
        let steps = RefCell::new(Vec::new());
        let got = scoped_with(
            || {
                steps.borrow_mut().push("apply");
                apply
            },
            |_| {
                steps.borrow_mut().push("net");
                Ok(())
            },
            |n| {
                assert_eq!(n.service, "etcd1");
                steps.borrow_mut().push("undo");
                undo
            },
            |_| {
                steps.borrow_mut().push("body");
                body
            },
        );
        (got, steps.into_inner())
    }

    #[test]
    fn only_a_cancelled_countdown_says_fault_cancelled() {
        let mut said = Vec::new();
        let got = cancelled_narrated(Err(FlowError::Interrupted), |l| said.push(l.to_string()));
        assert_eq!(
            (got, said),
            (
                Err(FlowError::Interrupted),
                vec!["Fault cancelled.".to_string()]
            )
        );
        let mut said = Vec::new();
        let got = cancelled_narrated(Ok(()), |l| said.push(l.to_string()));
        assert_eq!((got, said), (Ok(()), vec![]));
    }

    #[test]
    fn a_scoped_fault_is_undone_after_its_body_and_returns_its_result() {
        let (got, steps) = scoped(Ok(node("etcd1")), Ok(7), Ok(()));
        assert_eq!(got, Ok(7));
        assert_eq!(steps, ["apply", "net", "body", "undo"]);
    }

    #[test]
    fn a_failed_or_interrupted_body_still_has_its_fault_undone() {
        let (got, steps) = scoped(Ok(node("etcd1")), Err("no p99".into()), Ok(()));
        assert_eq!(got, Err(FlowError::Failed("no p99".into())));
        assert_eq!(steps, ["apply", "net", "body", "undo"]);
        let (got, steps) = scoped(Ok(node("etcd1")), Err(FlowError::Interrupted), Ok(()));
        assert_eq!(got, Err(FlowError::Interrupted));
        assert_eq!(steps, ["apply", "net", "body", "undo"]);
    }

    #[test]
    fn a_fault_that_was_not_applied_is_neither_run_nor_undone() {
        let (got, steps) = scoped(Err("not permitted: etcd1".into()), Ok(7), Ok(()));
        assert_eq!(got, Err(FlowError::Failed("not permitted: etcd1".into())));
        assert_eq!(steps, ["apply"]);
    }

    #[test]
    fn a_failed_undo_is_the_news_and_says_the_host_will_undo_it() {
        let (got, _) = scoped(Ok(node("etcd1")), Ok(7), Err("Docker refused: gone".into()));
        assert_eq!(
            got,
            Err(FlowError::Failed(
                "could not undo the fault on etcd1 (the host undoes it when the show ends): \
                 Docker refused: gone"
                    .into()
            ))
        );
        let (got, _) = scoped(Ok(node("etcd1")), Ok(7), Err(FlowError::Interrupted));
        assert_eq!(
            got,
            Err(FlowError::Interrupted),
            "an undo cut short by the presenter"
        );
    }
}
