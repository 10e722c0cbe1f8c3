//! The fault and recovery steps every flow repeats, each with the narration
//! the audience expects. [`crate::workload::measure_baseline`] is the third:
//! the whole "Workload baseline" chapter.
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

use crate::FlowError;
use crate::cluster::{self, ClusterError, Node, NodeState, Target};
use crate::{markup, narration, timing};
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
    if let Err(cancelled) = timing::count_down(seconds, label) {
        narration::append("Fault cancelled.");
        return Err(cancelled);
    }
    let victim = cluster::kill(target, signal)?;
    narration::append(&format!("Killed {}.", markup::red(&victim.service)));
    match cluster::wait_for(&victim.id, NodeState::Exited, EXIT_TIMEOUT) {
        Ok(exited) => {
            narration::append(&format!(
                "Docker reports {} {}.",
                exited.service,
                markup::red("exited")
            ));
            Ok(exited)
        }
        Err(ClusterError::Interrupted) => Err(FlowError::Interrupted),
        Err(e) => {
            narration::append(&format!(
                "Docker has not reported the exit yet: {}",
                e.message()
            ));
            Ok(victim)
        }
    }
}

/// Starts a stopped or killed container, waits up to `timeout` until Docker
/// reports it running, and narrates "SERVICE is running again." Returns the
/// running node.
pub fn start_and_wait_running(target: &Target, timeout: Duration) -> Result<Node, FlowError> {
    let started = cluster::start(target)?;
    let running = cluster::wait_for(&started.id, NodeState::Running, timeout)?;
    narration::append(&format!(
        "{} is {} again.",
        running.service,
        markup::green("running")
    ));
    Ok(running)
}
