//! The live workload, as the host measures it from the load tool's output.
//! Needs `FlowInfo::reads_workload()`.

use crate::bindings::demo::flow::workload as raw;
pub use raw::{OpStat, Sample, Status, WorkloadError};
use std::fmt;
use std::time::Duration;

/// The latest sample.
pub fn current() -> Result<Option<Sample>, WorkloadError> {
    raw::current()
}

/// The measured baseline (ops/sec), once measured.
pub fn baseline() -> Result<Option<f64>, WorkloadError> {
    raw::baseline()
}

pub fn status() -> Result<Status, WorkloadError> {
    raw::current_status()
}

/// Ops/sec of the recent window, oldest first.
pub fn history() -> Result<Vec<f64>, WorkloadError> {
    raw::history()
}

/// Waits until the status is `status` and returns the latest sample.
pub fn wait_for(status: Status, timeout: Duration) -> Result<Option<Sample>, WorkloadError> {
    raw::wait_for(status, crate::timing::clamp_ms(timeout))
}

impl Sample {
    /// The highest p99 latency among the sample's operations, in ms.
    pub fn worst_p99_ms(&self) -> Option<f64> {
        self.ops
            .iter()
            .filter_map(|op| op.p99_us)
            .reduce(f64::max)
            .map(|us| us / 1000.0)
    }
}

impl WorkloadError {
    /// A sentence for the audience (the derived `Display` is for logs).
    pub fn message(&self) -> String {
        match self {
            WorkloadError::NotPermitted => {
                "reading the workload was not granted (declare reads_workload)".to_string()
            }
            WorkloadError::Timeout => "timed out waiting for the workload".to_string(),
            WorkloadError::Interrupted => "interrupted by the presenter".to_string(),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::NoData => "no data",
            Status::WarmingUp => "warming up",
            Status::Normal => "normal",
            Status::Degraded => "degraded",
        })
    }
}
