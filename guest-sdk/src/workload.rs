//! The live workload, as the host measures it from the load tool's output.
//! Needs `FlowInfo::reads_workload()`.

use crate::bindings::demo::flow::workload as raw;
use crate::{Context, FlowError};
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

/// The tracker's verdict: no data, warming up, normal or degraded.
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

/// Formats a rate for the audience, e.g. `1234 ops/s`.
pub fn ops(value: f64) -> String {
    format!("{value:.0} ops/s")
}

/// The figures a flow compares everything else against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    /// The tracker's baseline throughput.
    pub ops_per_sec: f64,
    /// The worst p99 latency of the sample at which the baseline was read, in
    /// ms, when the load tool reports percentiles.
    pub p99_ms: Option<f64>,
}

/// The "Workload baseline" chapter every flow has: narrates that it is
/// measuring, waits up to `timeout` for the tracker to call the workload
/// normal (the baseline is measured then), and narrates the figures.
///
/// `Err(Interrupted)` when the presenter skipped or quit; otherwise `Err`
/// with a sentence for the audience when no baseline came in time.
pub fn measure_baseline(timeout: Duration) -> Result<Baseline, FlowError> {
    crate::narration::append("Measuring…");
    let sample = wait_for(Status::Normal, timeout).context("no baseline")?;
    let ops_per_sec = baseline()?.context("no baseline: the tracker has not measured one")?;
    let measured = Baseline {
        ops_per_sec,
        p99_ms: sample.as_ref().and_then(Sample::worst_p99_ms),
    };
    crate::narration::append(&measured.describe());
    Ok(measured)
}

impl Baseline {
    /// One line of narration, e.g. `Baseline: 1234 ops/s, p99 8 ms`.
    pub fn describe(&self) -> String {
        let mut line = format!("Baseline: {}", crate::markup::bold(&ops(self.ops_per_sec)));
        if let Some(p99) = self.p99_ms {
            line.push_str(&format!(", p99 {p99:.1} ms"));
        }
        line
    }

    /// `value` as a percentage of the baseline (0 when the baseline is 0).
    pub fn percent(&self, value: f64) -> f64 {
        if self.ops_per_sec > 0.0 {
            100.0 * value / self.ops_per_sec
        } else {
            0.0
        }
    }
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
