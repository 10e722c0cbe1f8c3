//! Why a call into a flow failed, as the presenter is told.

use std::time::Duration;

/// Why a call into the flow failed.
#[derive(Debug, thiserror::Error)]
pub enum GuestFailure {
    #[error("computed for more than {0:?} without returning to the host")]
    ComputeBudget(Duration),
    #[error(
        "kept calling the host for more than {0:?} without waiting (pace a loop with timing.sleep; std::thread::sleep is not a wait the presenter can interrupt)"
    )]
    CallBudget(Duration),
    #[error("stopped because the presenter quit")]
    Interrupted,
    #[error(
        "kept running {0:?} after the presenter moved on; stopped (a flow returns when a wait reports it was interrupted)"
    )]
    Skipped(Duration),
    #[error("crashed: {trap}{stderr}")]
    Trap { trap: String, stderr: String },
    /// It returned something the host will not take (too many chapters…).
    #[error("{0}")]
    Refused(String),
}
