//! Latency figures from the host's workload samples, as the slow-leader
//! chapter compares them. Pure, so it is tested natively
//! (`cargo test -p etcd-flow`).

use guest_sdk::workload::Sample;

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
