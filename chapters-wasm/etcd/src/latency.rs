//! Latency figures from the host's workload samples, as the slow-leader
//! chapter compares them. The rules are pure, so they are tested natively
//! (`cargo test -p etcd-flow`); the two readers at the end take them to the
//! host's samples.

use guest_sdk::prelude::*;
use std::time::Duration;

/// One-second samples whose median p99 is compared, before and during.
const P99_SAMPLES: usize = 3;
/// Samples without a successful operation tolerated while collecting them.
const P99_SKIPS: usize = 5;
/// How long p99 gets to come back near its earlier value after `unshape`.
const P99_RECOVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// Consecutive samples near the earlier p99 that count as "back".
const P99_BACK_SAMPLES: usize = 2;

/// A p99 at most this many times the earlier one counts as "near" it…
const NEAR_FACTOR: f64 = 1.5;
/// …and so does one at most this many ms above it (for a small baseline p99).
const NEAR_SLACK_MS: f64 = 25.0;

/// The highest p99 (ms) among the sample's successful operations: the load
/// tool reports failed operations apart (`UPDATE-FAILED`), and their latency
/// is the client's timeout, not etcd's. `None` when no successful operation
/// with a p99 is in the sample.
pub fn ok_p99_ms(sample: &Sample) -> Option<f64> {
    sample
        .ops
        .iter()
        .filter(|op| op.count > 0 && !op.name.to_ascii_uppercase().ends_with("-FAILED"))
        .filter_map(|op| op.p99_us)
        .reduce(f64::max)
        .map(|us| us / 1000.0)
}

/// The median of the figures (the mean of the middle two for an even count).
pub fn median(figures: &[f64]) -> Option<f64> {
    let mut sorted = figures.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Whether `now_ms` is near `before_ms`: within 50 % of it, or 25 ms.
pub fn near(before_ms: f64, now_ms: f64) -> bool {
    now_ms <= (before_ms * NEAR_FACTOR).max(before_ms + NEAR_SLACK_MS)
}

/// The figures for narration, e.g. `11.8, 12.3, 14.0 ms`.
pub fn list_ms(figures: &[f64]) -> String {
    let each: Vec<String> = figures.iter().map(|f| format!("{f:.1}")).collect();
    format!("{} ms", each.join(", "))
}

/// The median p99 (ms) of the successful writes of the next
/// [`P99_SAMPLES`] new samples that have some, and those figures.
pub fn median_p99(samples: &mut NewSamples) -> Result<(f64, Vec<f64>), FlowError> {
    let mut figures = Vec::with_capacity(P99_SAMPLES);
    let mut skipped = 0;
    while figures.len() < P99_SAMPLES {
        match ok_p99_ms(&samples.next()?) {
            Some(p99) => figures.push(p99),
            None if skipped < P99_SKIPS => skipped += 1,
            None => {
                let n = P99_SKIPS + 1;
                return Err(
                    format!("{n} workload samples without a p99 of successful operations").into(),
                );
            }
        }
    }
    Ok((median(&figures).context("no p99 figures")?, figures))
}

/// Waits until [`P99_BACK_SAMPLES`] new samples in a row have a p99 near
/// `before_ms`; returns the last one. Fails after [`P99_RECOVERY_TIMEOUT`]
/// with the last figure seen.
pub fn wait_p99_back(before_ms: f64, samples: &mut NewSamples) -> Result<f64, FlowError> {
    let (mut streak, mut last) = (0, None);
    // No pause between looks: each waits for the next sample.
    let back = timing::poll_until(P99_RECOVERY_TIMEOUT, Duration::ZERO, || {
        let p99 = ok_p99_ms(&samples.next()?);
        let near_before = p99.is_some_and(|ms| near(before_ms, ms));
        streak = if near_before { streak + 1 } else { 0 };
        last = p99.or(last);
        Ok(p99.filter(|_| streak >= P99_BACK_SAMPLES))
    })?;
    back.ok_or_else(|| {
        let last = last.map_or("none".to_string(), |ms| format!("{ms:.1} ms"));
        let secs = P99_RECOVERY_TIMEOUT.as_secs();
        format!("p99 did not come back near {before_ms:.1} ms within {secs} s (last: {last})")
            .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use guest_sdk::workload::OpStat;

    fn op(name: &str, count: u64, p99_us: Option<f64>) -> OpStat {
        OpStat {
            name: name.to_string(),
            count,
            avg_us: None,
            p99_us,
        }
    }

    fn sample(ops: Vec<OpStat>) -> Sample {
        Sample {
            t_ms: 1000,
            ops_per_sec: 100.0,
            failures_per_sec: 0.0,
            ops,
        }
    }

    #[test]
    fn the_p99_is_that_of_successful_operations_only() {
        let s = sample(vec![
            op("UPDATE", 90, Some(412_000.0)),
            op("UPDATE-FAILED", 10, Some(500_000.0)),
            op("READ", 50, Some(3_000.0)),
        ]);
        assert_eq!(ok_p99_ms(&s), Some(412.0));
        let only_failures = sample(vec![op("UPDATE-FAILED", 10, Some(500_000.0))]);
        assert_eq!(ok_p99_ms(&only_failures), None);
        let no_percentiles = sample(vec![op("UPDATE", 90, None)]);
        assert_eq!(ok_p99_ms(&no_percentiles), None);
        let empty_op = sample(vec![op("UPDATE", 0, Some(1_000.0))]);
        assert_eq!(ok_p99_ms(&empty_op), None);
    }

    #[test]
    fn the_median_takes_the_middle_figure() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[14.0, 11.0, 12.0]), Some(12.0));
        assert_eq!(median(&[14.0, 10.0]), Some(12.0));
    }

    #[test]
    fn near_allows_half_again_or_25_ms() {
        assert!(near(12.0, 18.0));
        assert!(near(12.0, 37.0), "within 25 ms");
        assert!(!near(12.0, 37.5));
        assert!(near(100.0, 150.0));
        assert!(!near(100.0, 151.0));
        assert!(near(12.0, 5.0), "lower is near");
        assert_eq!(list_ms(&[11.84, 12.3]), "11.8, 12.3 ms");
    }
}
