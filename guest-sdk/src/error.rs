//! The one error type of a chapter's action.
//!
//! Every SDK error converts into [`FlowError`] with `?`, so an action reads
//! as the steps of the show. Waits the presenter cuts short become
//! [`FlowError::Interrupted`], which [`export_flow!`](crate::export_flow) turns
//! into a clean end of the chapter; anything else becomes the sentence the
//! audience sees.

use crate::cluster::ClusterError;
use crate::probe::ProbeError;
use crate::workload::WorkloadError;
use std::fmt;

/// Why a chapter's action stopped before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowError {
    /// The presenter skipped the chapter or quit while the action waited.
    /// The chapter ends quietly: nothing is shown and no fault follows.
    Interrupted,
    /// The action cannot complete; the sentence is shown to the audience and
    /// the show goes on.
    Failed(String),
}

impl FlowError {
    /// A sentence for the audience.
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// `what: message`, keeping an interruption an interruption (it is never
    /// shown, so it needs no context).
    pub fn context(self, what: &str) -> Self {
        match self {
            FlowError::Interrupted => FlowError::Interrupted,
            FlowError::Failed(why) => FlowError::Failed(format!("{what}: {why}")),
        }
    }
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowError::Interrupted => f.write_str("interrupted by the presenter"),
            FlowError::Failed(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for FlowError {}

impl From<ClusterError> for FlowError {
    fn from(error: ClusterError) -> Self {
        match error {
            ClusterError::Interrupted => FlowError::Interrupted,
            other => FlowError::Failed(other.message()),
        }
    }
}

impl From<WorkloadError> for FlowError {
    fn from(error: WorkloadError) -> Self {
        match error {
            WorkloadError::Interrupted => FlowError::Interrupted,
            other => FlowError::Failed(other.message()),
        }
    }
}

impl From<ProbeError> for FlowError {
    fn from(error: ProbeError) -> Self {
        match error {
            ProbeError::Interrupted => FlowError::Interrupted,
            other => FlowError::Failed(other.message()),
        }
    }
}

impl From<String> for FlowError {
    fn from(message: String) -> Self {
        FlowError::Failed(message)
    }
}

impl From<&str> for FlowError {
    fn from(message: &str) -> Self {
        FlowError::Failed(message.to_string())
    }
}

/// Says what failed, in the audience's words, on the way out of an action.
///
/// ```no_run
/// # use guest_sdk::prelude::*;
/// # use std::time::Duration;
/// # fn chapter() -> Result<(), FlowError> {
/// // "the workload did not degrade: timed out waiting for the workload"
/// workload::wait_for(Status::Degraded, Duration::from_secs(30))
///     .context("the workload did not degrade")?;
/// // A `None` becomes the whole sentence.
/// let node = cluster::list_nodes()?.into_iter().next().context("the project is empty")?;
/// # Ok(()) }
/// ```
pub trait Context<T> {
    /// For a `Result`: `what: message` (an interruption stays one). For an
    /// `Option`: `None` fails with `what`.
    fn context(self, what: &str) -> Result<T, FlowError>;
}

impl<T, E: Into<FlowError>> Context<T> for Result<T, E> {
    fn context(self, what: &str) -> Result<T, FlowError> {
        self.map_err(|e| e.into().context(what))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: &str) -> Result<T, FlowError> {
        self.ok_or_else(|| FlowError::Failed(what.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_wait_of_any_api_is_an_interruption() {
        assert_eq!(
            FlowError::from(ClusterError::Interrupted),
            FlowError::Interrupted
        );
        assert_eq!(
            FlowError::from(WorkloadError::Interrupted),
            FlowError::Interrupted
        );
        assert_eq!(
            FlowError::from(ProbeError::Interrupted),
            FlowError::Interrupted
        );
    }

    #[test]
    fn other_api_errors_carry_the_audience_sentence() {
        assert_eq!(
            FlowError::from(ClusterError::NotFound("etcd9".into())),
            FlowError::Failed("not found: etcd9".into())
        );
        assert_eq!(
            FlowError::from(ClusterError::Invalid("loss-pct: 120 is above 100".into())),
            FlowError::Failed("invalid request: loss-pct: 120 is above 100".into())
        );
        assert_eq!(
            FlowError::from(ClusterError::Unsupported("no sch_netem".into())),
            FlowError::Failed("not supported on this Docker host: no sch_netem".into())
        );
        assert_eq!(
            FlowError::from(WorkloadError::Timeout),
            FlowError::Failed("timed out waiting for the workload".into())
        );
        assert_eq!(
            FlowError::from(ProbeError::Unreachable("connection refused".into())).message(),
            "unreachable: connection refused"
        );
        assert_eq!(
            FlowError::from("no leader"),
            FlowError::Failed("no leader".into())
        );
    }

    #[test]
    fn context_prefixes_failures_and_leaves_interruptions_alone() {
        let timed_out: Result<(), WorkloadError> = Err(WorkloadError::Timeout);
        assert_eq!(
            timed_out.context("no baseline"),
            Err(FlowError::Failed(
                "no baseline: timed out waiting for the workload".into()
            ))
        );
        let skipped: Result<(), ClusterError> = Err(ClusterError::Interrupted);
        assert_eq!(skipped.context("no baseline"), Err(FlowError::Interrupted));
        assert_eq!(
            None::<u8>.context("no follower"),
            Err(FlowError::Failed("no follower".into()))
        );
        assert_eq!(Some(3).context("no follower"), Ok(3));
    }
}
