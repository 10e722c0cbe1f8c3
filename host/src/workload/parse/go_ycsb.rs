//! go-ycsb (pingcap/go-ycsb): the periodic per-operation lines, one report a
//! few lines long.
//!
//! Facts the parser relies on (from the tool's sources, see
//! `tests/fixtures/workload/README.md`):
//!
//! * go-ycsb (`%-6s - %s`): `Count` is cumulative and `Takes(s)` is the time since
//!   that operation's histogram was created, so the current rate is ΔCount/ΔTakes of
//!   the same operation between consecutive reports. Errors are measured as
//!   `<OP>_ERROR`; the `TOTAL` line of newer releases counts successful operations
//!   only (real output shows `READ` Count 331628, `READ_ERROR` 1706, `TOTAL` 331628).

use super::numbers::{finite, non_negative};
use super::{Format, OpStat, Parsed, Parser, Sample};

/// One parsed go-ycsb line.
#[derive(Debug, Clone)]
pub(super) struct GoLine {
    pub(super) name: String,
    pub(super) takes: f64,
    count: u64,
    ops: Option<f64>,
    avg_us: Option<f64>,
    p99_us: Option<f64>,
}

/// More distinct go-ycsb operation names than any real run has (it has about ten).
const MAX_GO_OPERATIONS: usize = 256;
impl Parser {
    /// Turn the pending go-ycsb lines into a sample, updating the per-operation state.
    pub(super) fn finish_go_report(&mut self) -> Option<Parsed> {
        if self.go_pending.is_empty() {
            return None;
        }
        let lines = std::mem::take(&mut self.go_pending);

        // A counter or clock that went backwards means the tool restarted: forget
        // everything and treat this report as a first report.
        let restarted = lines.iter().any(|l| {
            self.go_prev
                .get(&l.name)
                .is_some_and(|&(takes, count)| l.count < count || l.takes < takes)
        });
        // Also bounds the state if a stream keeps inventing operation names.
        if restarted || self.go_prev.len() > MAX_GO_OPERATIONS {
            self.go_prev.clear();
        }

        let mut ops = Vec::with_capacity(lines.len());
        let mut ok_rate = 0.0;
        let mut failed_rate = 0.0;
        let mut total: Option<(f64, f64)> = None; // (rate, takes) of the TOTAL line
        let mut elapsed: Option<f64> = None;
        for line in lines {
            let (delta, rate) = match self.go_prev.get(&line.name) {
                Some(&(takes, count)) if line.takes > takes => {
                    let delta = line.count.saturating_sub(count);
                    (delta, delta as f64 / (line.takes - takes))
                }
                // Same Takes(s) as before: nothing new, or an interval too short for
                // the printed resolution (0.1 s); fall back to the running average.
                Some(&(_, count)) if line.count == count => (0, 0.0),
                Some(&(_, count)) => (line.count.saturating_sub(count), first_rate(&line)),
                None => (line.count, first_rate(&line)),
            };
            let rate = non_negative(rate);
            match self.go_prev.get_mut(&line.name) {
                Some(prev) => *prev = (line.takes, line.count),
                None => {
                    self.go_prev
                        .insert(line.name.clone(), (line.takes, line.count));
                }
            }
            elapsed = Some(elapsed.map_or(line.takes, |e: f64| e.max(line.takes)));
            if line.name == "TOTAL" {
                total = Some((rate, line.takes));
                continue;
            }
            let failed = line.name.ends_with("_ERROR");
            if failed {
                failed_rate += rate;
            } else {
                ok_rate += rate;
            }
            ops.push(OpStat {
                name: line.name,
                count: delta,
                avg_us: line.avg_us,
                p99_us: line.p99_us,
                failed,
            });
        }
        if let Some((rate, takes)) = total {
            ok_rate = rate;
            elapsed = Some(takes);
        }
        Some(Parsed::Sample(Sample {
            format: Format::GoYcsb,
            elapsed_s: elapsed,
            ops_per_sec: non_negative(ok_rate),
            failures_per_sec: non_negative(failed_rate),
            ops,
        }))
    }
}
/// Rate of an operation without a usable previous report: Count/Takes, or the printed
/// running average `OPS` when Takes(s) printed as 0.0.
fn first_rate(line: &GoLine) -> f64 {
    if line.takes > 0.0 {
        line.count as f64 / line.takes
    } else {
        line.ops.unwrap_or(0.0)
    }
}
/// Parse one go-ycsb line: `NAME - Key: value, Key: value, …` with at least
/// `Takes(s)` and `Count`, keys in any order.
pub(super) fn parse_go_line(line: &str) -> Option<GoLine> {
    // Cheap rejection first: go-ycsb's operation names have no '-', so the first '-'
    // must be the separator ` - `.
    let dash = line.find('-')?;
    let bytes = line.as_bytes();
    if dash == 0 || bytes[dash - 1] != b' ' || bytes.get(dash + 1) != Some(&b' ') {
        return None;
    }
    let (name, fields) = (line[..dash].trim(), &line[dash + 2..]);
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    let mut takes = None;
    let mut count = None;
    let mut ops = None;
    let mut avg_us = None;
    let mut p99_us = None;
    // Values are plain numbers: no ',' or ':' inside a field.
    for field in fields.split(',') {
        let Some((key, value)) = field.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "Takes(s)" => takes = finite(value),
            "Count" => count = value.parse::<u64>().ok(),
            "OPS" => ops = finite(value).filter(|v| *v >= 0.0),
            "Avg(us)" => avg_us = finite(value),
            "99th(us)" => p99_us = finite(value),
            _ => {}
        }
    }
    Some(GoLine {
        name: name.to_owned(),
        takes: takes.filter(|t| *t >= 0.0)?,
        count: count?,
        ops,
        avg_us,
        p99_us,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{close, fixture, samples};
    use super::*;

    #[test]
    fn fixture_go_ycsb_interval_after_flush() {
        let mut parser = Parser::new();
        let text = fixture("go-ycsb-interval.txt");
        for line in text.lines() {
            assert_eq!(parser.feed(line), None, "a go-ycsb report waits for more");
        }
        let Some(Parsed::Sample(s)) = parser.flush() else {
            panic!("flush completes the report");
        };
        assert_eq!(s.format, Format::GoYcsb);
        assert!(close(s.ops_per_sec, 506.0 / 0.3));
        assert_eq!(s.failures_per_sec, 0.0);
        assert_eq!(s.elapsed_s, Some(0.3));
        assert_eq!(
            s.ops,
            vec![OpStat {
                name: "READ".into(),
                count: 506,
                avg_us: Some(149.0),
                p99_us: Some(345.0),
                failed: false,
            }]
        );
        assert_eq!(parser.flush(), None);
    }
    // ----- go-ycsb -----

    const GO_OLD_1: &str = "INSERT - Takes(s): 10.0, Count: 1000, OPS: 100.0, Avg(us): 9, Min(us): 1, Max(us): 50, 99th(us): 20, 99.9th(us): 40, 99.99th(us): 50
READ   - Takes(s): 10.0, Count: 5000, OPS: 500.0, Avg(us): 9, Min(us): 1, Max(us): 50, 99th(us): 20, 99.9th(us): 40, 99.99th(us): 50";
    const GO_OLD_2: &str = "INSERT - Takes(s): 20.0, Count: 1500, OPS: 75.0, Avg(us): 9, Min(us): 1, Max(us): 50, 99th(us): 20, 99.9th(us): 40, 99.99th(us): 50
READ   - Takes(s): 20.0, Count: 6000, OPS: 300.0, Avg(us): 9, Min(us): 1, Max(us): 50, 99th(us): 20, 99.9th(us): 40, 99.99th(us): 50";

    #[test]
    fn go_first_report_uses_count_over_takes() {
        let s = samples(GO_OLD_1);
        assert_eq!(s.len(), 1);
        assert!(close(s[0].ops_per_sec, 600.0));
        assert_eq!(s[0].elapsed_s, Some(10.0));
    }

    #[test]
    fn go_rate_is_delta_count_over_delta_takes_summed_over_ops() {
        let s = samples(&format!("{GO_OLD_1}\n{GO_OLD_2}"));
        assert_eq!(
            s.len(),
            2,
            "the second report's first line completes the first"
        );
        // INSERT: 500/10 s, READ: 1000/10 s — not the cumulative OPS column.
        assert!(close(s[1].ops_per_sec, 150.0));
        assert_eq!(s[1].ops[0].count, 500);
        assert_eq!(s[1].ops[1].count, 1000);
    }

    #[test]
    fn go_next_report_first_line_completes_the_previous_report() {
        let mut p = Parser::new();
        let mut lines = GO_OLD_1.lines().chain(GO_OLD_2.lines());
        assert_eq!(p.feed(lines.next().unwrap()), None);
        assert_eq!(p.feed(lines.next().unwrap()), None);
        let Some(Parsed::Sample(first)) = p.feed(lines.next().unwrap()) else {
            panic!("INSERT again starts a new report");
        };
        assert!(close(first.ops_per_sec, 600.0));
    }

    #[test]
    fn go_blank_or_other_line_completes_the_report() {
        let mut p = Parser::new();
        for line in GO_OLD_1.lines() {
            assert_eq!(p.feed(line), None);
        }
        assert!(matches!(p.feed(""), Some(Parsed::Sample(_))));
        for line in GO_OLD_2.lines() {
            assert_eq!(p.feed(line), None);
        }
        let Some(Parsed::Sample(s)) = p.feed("Run finished, takes 20.01s") else {
            panic!("other line completes");
        };
        assert!(close(s.ops_per_sec, 150.0));
        assert_eq!(p.flush(), None);
    }

    #[test]
    fn go_new_version_columns_in_any_order_and_total_line() {
        let r1 = "READ   - Takes(s): 10.0, Count: 19332, OPS: 1933.3, Avg(us): 247, Min(us): 138, Max(us): 1110, 50th(us): 243, 90th(us): 289, 95th(us): 317, 99th(us): 407, 99.9th(us): 661, 99.99th(us): 871
TOTAL  - Takes(s): 10.0, Count: 38456, OPS: 3845.7, Avg(us): 257, Min(us): 138, Max(us): 2773, 50th(us): 252, 90th(us): 302, 95th(us): 331, 99th(us): 441, 99.9th(us): 751, 99.99th(us): 1784
UPDATE - Takes(s): 10.0, Count: 19124, OPS: 1912.6, Avg(us): 268, Min(us): 140, Max(us): 2773, 50th(us): 262, 90th(us): 311, 95th(us): 340, 99th(us): 453, 99.9th(us): 771, 99.99th(us): 2773";
        // Second report: columns shuffled; TOTAL grew by 3000 (the per-op sum by 2000,
        // so TOTAL must win).
        let r2 = "READ   - Count: 20332, 99th(us): 500, Takes(s): 20.0, Avg(us): 250, OPS: 1016.6
TOTAL  - OPS: 2072.8, Takes(s): 20.0, Count: 41456, Avg(us): 260
UPDATE - Avg(us): 270, Takes(s): 20.0, Count: 20124";
        let s = samples(&format!("{r1}\n{r2}"));
        assert_eq!(s.len(), 2);
        assert!(close(s[0].ops_per_sec, 3845.6));
        assert!(close(s[1].ops_per_sec, 300.0));
        assert_eq!(s[1].ops.len(), 2, "TOTAL is not an operation");
        assert_eq!(s[1].ops[0].p99_us, Some(500.0));
        assert_eq!(s[1].ops[0].avg_us, Some(250.0));
        assert_eq!(s[1].ops[0].count, 1000);
    }

    #[test]
    fn go_error_operations_are_failures() {
        let r1 = "READ   - Takes(s): 8.2, Count: 331628, OPS: 40310.3, Avg(us): 821, Min(us): 335, Max(us): 33247, 99th(us): 1835
READ_ERROR - Takes(s): 7.2, Count: 1706, OPS: 237.9, Avg(us): 511775, Min(us): 24, Max(us): 1212415, 99th(us): 1054719
TOTAL  - Takes(s): 8.2, Count: 331628, OPS: 40308.6, Avg(us): 821, Min(us): 335, Max(us): 33247, 99th(us): 1835";
        let r2 = "READ   - Takes(s): 18.2, Count: 331728, OPS: 1.0
READ_ERROR - Takes(s): 17.2, Count: 11706, OPS: 1.0
TOTAL  - Takes(s): 18.2, Count: 331728, OPS: 1.0";
        let s = samples(&format!("{r1}\n{r2}"));
        assert!(close(s[0].failures_per_sec, 1706.0 / 7.2));
        assert!(close(s[0].ops_per_sec, 331628.0 / 8.2));
        assert!(s[0].ops[1].failed && !s[0].ops[0].failed);
        assert!(close(s[1].failures_per_sec, 1000.0));
        assert!(close(s[1].ops_per_sec, 10.0));
    }

    #[test]
    fn go_error_without_total_is_not_throughput() {
        let s = samples(
            "UPDATE - Takes(s): 10.0, Count: 100, OPS: 10.0\nUPDATE_ERROR - Takes(s): 10.0, Count: 50, OPS: 5.0",
        );
        assert!(close(s[0].ops_per_sec, 10.0));
        assert!(close(s[0].failures_per_sec, 5.0));
    }

    #[test]
    fn go_counter_going_backwards_resets_state() {
        let restart = "INSERT - Takes(s): 2.0, Count: 40, OPS: 20.0\nREAD   - Takes(s): 2.0, Count: 100, OPS: 50.0";
        let after = "INSERT - Takes(s): 4.0, Count: 80, OPS: 20.0\nREAD   - Takes(s): 4.0, Count: 300, OPS: 75.0";
        let s = samples(&format!("{GO_OLD_1}\n{GO_OLD_2}\n{restart}\n{after}"));
        assert_eq!(s.len(), 4);
        assert!(
            close(s[2].ops_per_sec, 70.0),
            "Count/Takes again after a restart"
        );
        assert_eq!(s[2].ops[1].count, 100);
        assert!(
            close(s[3].ops_per_sec, 120.0),
            "and deltas from the restart on"
        );
    }

    #[test]
    fn go_zero_takes_uses_printed_ops() {
        let s = samples("READ   - Takes(s): 0.0, Count: 5, OPS: 123.4");
        assert!(close(s[0].ops_per_sec, 123.4));
    }

    #[test]
    fn go_unchanged_report_is_zero_rate() {
        let line = "READ   - Takes(s): 10.0, Count: 100, OPS: 10.0";
        let s = samples(&format!("{line}\n{line}"));
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].ops_per_sec, 0.0);
    }

    #[test]
    fn go_lines_missing_count_or_takes_are_ignored() {
        let mut p = Parser::new();
        assert_eq!(p.feed("READ   - Takes(s): 1.0, OPS: 5.0"), None);
        assert_eq!(p.feed("READ   - Count: 5, OPS: 5.0"), None);
        assert_eq!(p.feed("READ   - Takes(s): x, Count: 5"), None);
        assert_eq!(p.feed("READ   - Takes(s): 1.0, Count: -5"), None);
        assert_eq!(p.feed("two words - Takes(s): 1.0, Count: 5"), None);
        assert_eq!(p.flush(), None);
    }
}
