//! The live workload, as the host measures it from the load tool's output.
//! Needs `FlowInfo::reads_workload()`.

use crate::bindings::demo::flow::workload as raw;
use crate::markup::{Markup, bold};
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
    crate::narration::append(measured.describe());
    Ok(measured)
}

/// A cursor over the host's workload samples: each [`NewSamples::next`]
/// returns a sample newer than the last one it returned, waiting for it if
/// need be. No index arithmetic in the flow, and no sample is read twice.
///
/// ```no_run
/// # use guest_sdk::prelude::*;
/// # fn chapter() -> Result<(), FlowError> {
/// let mut samples = workload::NewSamples::from_now()?;
/// let first = samples.next()?; // received after `from_now`
/// let second = samples.next()?; // after `first`
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct NewSamples {
    /// `t_ms` of the last sample seen; `None`: any sample is new.
    seen: Option<u64>,
    timeout: Duration,
}

impl NewSamples {
    /// How long [`NewSamples::next`] waits for a new sample by default; the
    /// host receives one about every second.
    pub const TIMEOUT: Duration = Duration::from_secs(10);

    /// Samples received after the latest one the host has now.
    pub fn from_now() -> Result<Self, WorkloadError> {
        Ok(Self::after(current()?.as_ref()))
    }

    /// Samples received after `sample` (every sample when `None`).
    pub fn after(sample: Option<&Sample>) -> Self {
        NewSamples {
            seen: sample.map(|s| s.t_ms),
            timeout: Self::TIMEOUT,
        }
    }

    /// Waits at most `timeout` for each new sample instead.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The next new sample, waited for in the host (`next-sample`, API
    /// 0.3.0): a sample already newer than the last one seen is returned at
    /// once. Fails when none came within the timeout; `Err(Interrupted)`
    /// when the presenter moved on.
    // Not an `Iterator`: the stream never ends, it waits and can fail, so
    // `Option<Result<…>>` would only add a case no caller has.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Sample, FlowError> {
        self.next_with(
            || Ok(current()?),
            |timeout| raw::next_sample(crate::timing::clamp_ms(timeout)),
        )
    }

    pub(crate) fn next_with(
        &mut self,
        latest: impl FnOnce() -> Result<Option<Sample>, FlowError>,
        wait_for_next: impl FnOnce(Duration) -> Result<Sample, WorkloadError>,
    ) -> Result<Sample, FlowError> {
        if let Some(latest) = latest()?
            && self.seen.is_none_or(|t| latest.t_ms > t)
        {
            self.seen = Some(latest.t_ms);
            return Ok(latest);
        }
        let sample = match wait_for_next(self.timeout) {
            Ok(sample) => sample,
            Err(WorkloadError::Timeout) => {
                return Err(format!(
                    "the workload sent no sample for {} s",
                    self.timeout.as_secs()
                )
                .into());
            }
            Err(e) => return Err(e.into()),
        };
        self.seen = Some(sample.t_ms);
        Ok(sample)
    }
}

impl Baseline {
    /// One line of narration, e.g. `Baseline: 1234 ops/s, p99 8 ms`.
    pub fn describe(&self) -> Markup {
        let mut line = "Baseline: " + bold(ops(self.ops_per_sec));
        if let Some(p99) = self.p99_ms {
            line += format!(", p99 {p99:.1} ms");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t_ms: u64) -> Sample {
        Sample {
            t_ms,
            ops_per_sec: 100.0,
            failures_per_sec: 0.0,
            ops: Vec::new(),
        }
    }

    #[test]
    fn the_cursor_yields_each_sample_newer_than_the_last_once() {
        let mut samples = NewSamples::after(Some(&sample(5)));
        // The host's latest is already newer: no wait.
        let got = samples.next_with(|| Ok(Some(sample(6))), |_| panic!("no wait needed"));
        assert_eq!(got.map(|s| s.t_ms), Ok(6));
        // Nothing newer: the host waits for the next one.
        let got = samples.next_with(|| Ok(Some(sample(6))), |_| Ok(sample(9)));
        assert_eq!(got.map(|s| s.t_ms), Ok(9));
    }

    #[test]
    fn without_a_start_any_sample_is_new_and_silence_fails_with_a_sentence() {
        let mut samples = NewSamples::after(None).timeout(Duration::from_secs(2));
        let first = samples.next_with(|| Ok(Some(sample(1))), |_| panic!("no wait needed"));
        assert_eq!(first.map(|s| s.t_ms), Ok(1));
        let silent = samples.next_with(
            || Ok(Some(sample(1))),
            |timeout| {
                assert_eq!(timeout, Duration::from_secs(2));
                Err(WorkloadError::Timeout)
            },
        );
        assert_eq!(
            silent.map(|s| s.t_ms),
            Err(FlowError::Failed(
                "the workload sent no sample for 2 s".into()
            ))
        );
    }

    #[test]
    fn an_interruption_while_waiting_for_a_sample_is_one() {
        let mut samples = NewSamples::after(Some(&sample(3)));
        let got = samples.next_with(|| Ok(Some(sample(3))), |_| Err(WorkloadError::Interrupted));
        assert_eq!(got.map(|s| s.t_ms), Err(FlowError::Interrupted));
    }

    #[test]
    fn the_baseline_line_escapes_nothing_it_should_not() {
        let b = Baseline {
            ops_per_sec: 1234.4,
            p99_ms: Some(8.04),
        };
        assert_eq!(
            b.describe().as_str(),
            "Baseline: [bold]1234 ops/s[/], p99 8.0 ms"
        );
    }
}
