//! Java YCSB (brianfrankcooper/YCSB): the status thread's lines (`-s`) and the
//! final `[OVERALL]` summary.
//!
//! Facts the parser relies on (from the tool's sources, see
//! `tests/fixtures/workload/README.md`):
//!
//! * Java YCSB (`StatusThread`): `LABEL` + `yyyy-MM-dd HH:mm:ss:SSS` + ` N sec: T operations; `
//!   then, only when `T != 0`, `X current ops/sec; `, then optionally
//!   `est completion in …`, then one bracket per measurement. `X` is the rate over the
//!   last interval and is printed with `DecimalFormat("#.##")` in the JVM's locale: no
//!   grouping separator, no decimal point for whole numbers, and a decimal comma in
//!   some locales. The label is free text glued to the date, so the parser anchors on
//!   the *last* `N sec: T operations;` of the line.
//! * Java YCSB's operation count includes failed operations, which are measured
//!   separately as `READ-FAILED` (or `READ-<STATUS>` with `reportlatencyforeacherror`).

use std::sync::LazyLock;

use regex::Regex;

use super::numbers::{finite, java_number, non_negative, plain_u64};
use super::{Format, OpStat, Parsed, Parser, Sample};

/// `N sec: T operations;` — the fixed part of every Java YCSB status line — ending
/// the text it is run on. Anchored at the end so the search runs backwards from a
/// known ` operations;` and reads only the match, not the whole line.
static JAVA_STATUS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9]+ sec: [0-9]+ operations;\z").expect("valid regex"));

/// ` operations;`, searched forwards with SIMD (memchr's reverse search is not).
static OPERATIONS: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(b" operations;"));

/// Where the last `N sec: T operations;` of a Java YCSB status line is, as
/// (start, end). The label before it is free text, so the last one is the real one.
pub(super) fn java_status_span(line: &str) -> Option<(usize, usize)> {
    OPERATIONS
        .find_iter(line.as_bytes())
        .filter_map(|at| {
            // `at` starts an ASCII literal, so `end` is a char boundary.
            let end = at + OPERATIONS.needle().len();
            JAVA_STATUS.find(&line[..end]).map(|m| (m.start(), m.end()))
        })
        .last()
}
/// Java YCSB measurements that are gauges of the client JVM, not operations
/// (`-p measurement.trackjvm=true`).
const JAVA_JVM_GAUGES: &[&str] = &[
    "THREAD_COUNT",
    "USED_MEM_MB",
    "SYS_LOAD_AVG",
    "GCS",
    "GCS_TIME",
];

/// Java YCSB latency measurements that are not counted once per operation in the
/// status line's total: per-thread cleanup, and composite or extra measurements taken
/// on top of the DB calls that are themselves measured.
const JAVA_NOT_COUNTED: &[&str] = &["CLEANUP", "READ-MODIFY-WRITE", "VERIFY"];

/// Suffixes Java YCSB's `DBWrapper` appends to failed operations: `-FAILED` by
/// default, `-<Status name>` with `reportlatencyforeacherror`/`latencytrackederrors`.
const JAVA_FAILED_SUFFIXES: &[&str] = &[
    "-FAILED",
    "-ERROR",
    "-NOT_FOUND",
    "-NOT_IMPLEMENTED",
    "-UNEXPECTED_STATE",
    "-BAD_REQUEST",
    "-FORBIDDEN",
    "-SERVICE_UNAVAILABLE",
];
impl Parser {
    /// Java YCSB's final `[OVERALL], …` summary lines; anything else is noise.
    pub(super) fn parse_summary(&mut self, line: &str) -> Option<Parsed> {
        let rest = line.trim_start().strip_prefix("[OVERALL],")?;
        let (key, value) = rest.split_once(',')?;
        let value = value.trim();
        match key.trim() {
            "RunTime(ms)" => {
                self.runtime_ms = value
                    .parse::<u64>()
                    .ok()
                    .or_else(|| finite(value).map(|v| v.max(0.0) as u64));
                None
            }
            "Throughput(ops/sec)" => Some(Parsed::EndOfRun {
                throughput: finite(value).filter(|v| *v >= 0.0),
                runtime_ms: self.runtime_ms.take(),
            }),
            _ => None,
        }
    }
}

/// Parse a Java YCSB status line (the caller checked the cheap substrings).
///
/// `ops_per_sec` is the printed `current ops/sec` (0 when absent, i.e. no operation
/// yet) minus the failure share. Java YCSB counts failed operations in its total, and
/// prints no failure rate, so `failures_per_sec` is *estimated*: assuming each
/// bracket's `Count=` is that measurement's count **in this interval** (true of the
/// default HdrHistogram measurement, whose status summary prints its interval
/// histogram), the failed share of the interval is
/// `Σ failed counts / Σ operation counts` and
/// `failures_per_sec = current ops/sec × that share`. The operation counts leave out
/// measurements that are not one-per-operation (`CLEANUP`, `READ-MODIFY-WRITE`,
/// `VERIFY`, `Intended-*` duplicates, JVM gauges). Without counts (the old
/// `[READ AverageLatency(us)=…]` form) failures cannot be estimated and are 0.
///
/// A line whose `current ops/sec` is not a number (`NaN`/`∞` when two reports fall in
/// the same millisecond) is ignored.
pub(super) fn parse_java_status(line: &str, (start, end): (usize, usize)) -> Option<Sample> {
    let elapsed_s = line[start..end].split(' ').next().and_then(finite);
    let mut rest = &line[end..];

    // `X current ops/sec` follows `operations; ` directly when present.
    let mut current = 0.0;
    const CURRENT: &str = "current ops/sec";
    let after = rest.trim_start();
    if let Some(space) = after.bytes().position(|b| b == b' ')
        && let Some(tail) = after[space + 1..].strip_prefix(CURRENT)
    {
        current = java_number(&after[..space])?.max(0.0);
        rest = tail;
    }

    let mut ops = Vec::new();
    let mut op_count: u64 = 0;
    let mut failed_count: u64 = 0;
    while let Some(open) = memchr::memchr(b'[', rest.as_bytes()) {
        let after = &rest[open + 1..];
        let Some(close) = memchr::memchr(b']', after.as_bytes()) else {
            break;
        };
        let body = &after[..close];
        rest = &after[close + 1..];
        let Some(op) = parse_java_bracket(body) else {
            continue;
        };
        if JAVA_JVM_GAUGES.contains(&op.name.as_str()) {
            continue;
        }
        let counted =
            !op.name.starts_with("Intended-") && !JAVA_NOT_COUNTED.contains(&op.name.as_str());
        if counted {
            if op.failed {
                failed_count = failed_count.saturating_add(op.count);
            } else {
                op_count = op_count.saturating_add(op.count);
            }
        }
        ops.push(op);
    }

    let failures_per_sec = if failed_count == 0 {
        0.0
    } else {
        let share = failed_count as f64 / (failed_count as f64 + op_count as f64);
        current * share
    };
    Some(Sample {
        format: Format::Ycsb,
        elapsed_s,
        ops_per_sec: non_negative(current - failures_per_sec),
        failures_per_sec: non_negative(failures_per_sec),
        ops,
    })
}

/// What a Java YCSB bracket's fields hold that the parser reads.
#[derive(Default)]
struct BracketFields<'a> {
    count: Option<&'a [u8]>,
    avg: Option<&'a [u8]>,
    p99: Option<&'a [u8]>,
}

/// Read `Count=`, `Avg=` (or `Average=`) and `99=` out of a bracket's fields:
/// `key=value` separated by `", "` or spaces alone. A decimal comma is never a
/// value's last character, so trailing commas are separators. One SIMD pass finds
/// every `=`, and only the wanted keys' values are cut out: this is most of the
/// parser's time on a busy stream. The last occurrence of a key wins.
fn bracket_fields(fields: &[u8]) -> BracketFields<'_> {
    let mut found = BracketFields::default();
    for eq in memchr::memchr_iter(b'=', fields) {
        let before = &fields[..eq];
        // A key starts the field: at the start or after a space (`99=` must not
        // match the end of `99.99=`).
        let key_is = |key: &[u8]| {
            before.ends_with(key)
                && (before.len() == key.len() || before[before.len() - key.len() - 1] == b' ')
        };
        let slot = if key_is(b"Count") {
            &mut found.count
        } else if key_is(b"Avg") || key_is(b"Average") {
            &mut found.avg
        } else if key_is(b"99") {
            &mut found.p99
        } else {
            continue;
        };
        let value = &fields[eq + 1..];
        let value = &value[..memchr::memchr(b' ', value).unwrap_or(value.len())];
        *slot = Some(&value[..value.iter().rposition(|&b| b != b',').map_or(0, |p| p + 1)]);
    }
    found
}

/// [`java_number`] of a field value cut out of a `str` at ASCII bytes.
fn java_field_number(value: &[u8]) -> Option<f64> {
    std::str::from_utf8(value).ok().and_then(java_number)
}

/// One Java YCSB bracket body: `READ: Count=…, Max=…, Avg=…, 99=…` (fields separated
/// by `", "`; a comma *inside* a number is a decimal comma) or the old
/// `READ AverageLatency(us)=10317.59`.
fn parse_java_bracket(body: &str) -> Option<OpStat> {
    let (name, count, avg_us, p99_us) = if let Some(colon) = memchr::memchr(b':', body.as_bytes()) {
        let (name, fields) = (&body[..colon], &body.as_bytes()[colon + 1..]);
        let found = bracket_fields(fields);
        let count = found.count.and_then(plain_u64).unwrap_or(0);
        let avg = found.avg.and_then(java_field_number);
        let p99 = found.p99.and_then(java_field_number);
        (name, count, avg, p99)
    } else {
        let (name, latency) = body.split_once(" AverageLatency(")?;
        let (unit, value) = latency.split_once(")=")?;
        let scale = match unit {
            "us" => 1.0,
            "ms" => 1000.0,
            _ => return None,
        };
        (name, 0, java_number(value.trim()).map(|v| v * scale), None)
    };
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let failed = JAVA_FAILED_SUFFIXES.iter().any(|s| name.ends_with(s));
    Some(OpStat {
        name: name.to_owned(),
        count,
        avg_us: avg_us.filter(|v| v.is_finite()),
        p99_us,
        failed,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{
        close, fixture, java_like_line, near_miss_line, one_sample, run, samples,
    };
    use super::*;
    use proptest::prelude::*;

    // ----- fixtures -----

    #[test]
    fn fixture_ycsb_017_status_lines() {
        let s = samples(&fixture("ycsb-0.17-status.txt"));
        assert_eq!(s.len(), 2);

        assert_eq!(s[0].format, Format::Ycsb);
        assert_eq!(s[0].elapsed_s, Some(0.0));
        assert_eq!(s[0].ops_per_sec, 0.0);
        assert_eq!(s[0].failures_per_sec, 0.0);
        assert!(s[0].ops.is_empty());

        assert_eq!(s[1].elapsed_s, Some(10.0));
        assert!(close(s[1].ops_per_sec, 37634.74));
        assert_eq!(s[1].failures_per_sec, 0.0);
        assert_eq!(
            s[1].ops,
            vec![
                OpStat {
                    name: "READ".into(),
                    count: 188431,
                    avg_us: Some(548.39),
                    p99_us: Some(3513.0),
                    failed: false,
                },
                OpStat {
                    name: "INSERT".into(),
                    count: 189530,
                    avg_us: Some(534.86),
                    p99_us: Some(2779.0),
                    failed: false,
                },
            ]
        );
    }

    #[test]
    fn fixture_ycsb_summary_is_end_of_run() {
        let out = run(&mut Parser::new(), &fixture("ycsb-summary.txt"));
        assert_eq!(
            out,
            vec![Parsed::EndOfRun {
                throughput: Some(47865.21156423511),
                runtime_ms: Some(20892),
            }]
        );
    }
    // ----- Java YCSB status lines -----

    #[test]
    fn java_current_ops_per_sec_is_the_rate() {
        let s = one_sample(
            "2017-05-20 18:55:54:511 20 sec: 1001647 operations; 62526.2 current ops/sec; est completion in 1 minutes [READ: Count=312914, Max=56191, Min=146, Avg=367.63, 90=458, 99=749, 99.9=4991, 99.99=17679] [INSERT: Count=311032, Max=31711, Min=166, Avg=377.82, 90=476, 99=767, 99.9=5103, 99.99=17215] ",
        );
        assert!(close(s.ops_per_sec, 62526.2));
        assert_eq!(s.elapsed_s, Some(20.0));
        assert_eq!(s.ops.len(), 2);
    }

    #[test]
    fn java_zero_operations_without_current_rate_is_a_zero_sample() {
        let s =
            one_sample("2017-05-20 18:55:34:606 0 sec: 0 operations; est completion in 0 seconds ");
        assert_eq!(s.ops_per_sec, 0.0);
        assert_eq!(s.elapsed_s, Some(0.0));
    }

    #[test]
    fn java_whole_number_rate_has_no_decimal_point() {
        let s =
            one_sample("2024-01-01 00:00:10:000 10 sec: 5000 operations; 500 current ops/sec; ");
        assert_eq!(s.ops_per_sec, 500.0);
    }

    #[test]
    fn java_decimal_comma_in_rate_and_brackets() {
        let s = one_sample(
            "2017-05-20 18:55:44:512 10 sec: 376385 operations; 37634,74 current ops/sec; est completion in 2 minutes [READ: Count=188431, Max=154495, Min=157, Avg=548,39, 90=739, 99=3513,5, 99.9=15359, 99.99=44991] [INSERT: Count=189530, Max=160383, Min=177, Avg=534,86, 90=744, 99=2779, 99.9=11935, 99.99=41439] ",
        );
        assert!(close(s.ops_per_sec, 37634.74));
        assert_eq!(s.ops[0].avg_us, Some(548.39));
        assert_eq!(s.ops[0].p99_us, Some(3513.5));
        assert_eq!(s.ops[0].count, 188431);
        assert_eq!(s.ops[1].avg_us, Some(534.86));
    }

    #[test]
    fn java_label_prefix_is_any_text() {
        // `-l LABEL` is glued to the date; the label may even look like a status.
        for label in [
            "mylabel",
            "run 7 sec: 3 operations; ",
            "[x] - Takes(s): 1, Count: 2 ",
        ] {
            let line = format!(
                "{label}2017-05-20 18:55:44:512 10 sec: 376385 operations; 37634.74 current ops/sec; [READ: Count=10, Avg=5, 99=9]"
            );
            let s = one_sample(&line);
            assert_eq!(s.elapsed_s, Some(10.0), "{line}");
            assert!(close(s.ops_per_sec, 37634.74), "{line}");
            assert_eq!(s.ops.len(), 1, "{line}");
        }
    }

    #[test]
    fn java_old_average_latency_brackets() {
        let s = one_sample(
            " 30 sec: 30218 operations; 1003.39 current ops/sec; [UPDATE AverageLatency(us)=1.23] [READ AverageLatency(us)=10317.59]",
        );
        assert!(close(s.ops_per_sec, 1003.39));
        assert_eq!(
            s.ops[1],
            OpStat {
                name: "READ".into(),
                count: 0,
                avg_us: Some(10317.59),
                p99_us: None,
                failed: false,
            }
        );
        assert_eq!(s.ops[0].avg_us, Some(1.23));
    }

    #[test]
    fn java_failed_ops_are_failures_not_throughput() {
        // 100 of 1000 operations in the interval failed: 10% of the current rate.
        let s = one_sample(
            "2024-01-01 00:00:20:000 20 sec: 20000 operations; 1000 current ops/sec; [READ: Count=600, Max=9, Min=1, Avg=2, 90=3, 99=4, 99.9=5, 99.99=6] [READ-FAILED: Count=100, Max=9, Min=1, Avg=2, 90=3, 99=4, 99.9=5, 99.99=6] [UPDATE: Count=300, Max=9, Min=1, Avg=2, 90=3, 99=4, 99.9=5, 99.99=6]",
        );
        assert!(close(s.failures_per_sec, 100.0));
        assert!(close(s.ops_per_sec, 900.0));
        assert!(s.ops[1].failed);
        assert!(!s.ops[0].failed && !s.ops[2].failed);
    }

    #[test]
    fn java_all_failed_means_zero_ops_per_sec() {
        let s = one_sample(
            "2024-01-01 00:00:20:000 20 sec: 20000 operations; 1000 current ops/sec; [READ-FAILED: Count=10000, Avg=2, 99=4]",
        );
        assert_eq!(s.ops_per_sec, 0.0);
        assert!(close(s.failures_per_sec, 1000.0));
    }

    #[test]
    fn java_other_error_statuses_and_non_op_measurements() {
        let s = one_sample(
            "x 20 sec: 2 operations; 100 current ops/sec; [CLEANUP: Count=50, Avg=1] [Intended-READ: Count=50, Avg=1] [READ: Count=50, Avg=1] [READ-NOT_FOUND: Count=50, Avg=1] [THREAD_COUNT: Count=1, Avg=12]",
        );
        // READ 50 vs READ-NOT_FOUND 50; CLEANUP and Intended-* are not counted twice.
        assert!(close(s.failures_per_sec, 50.0));
        assert!(close(s.ops_per_sec, 50.0));
        let names: Vec<&str> = s.ops.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(
            names,
            ["CLEANUP", "Intended-READ", "READ", "READ-NOT_FOUND"]
        );
    }

    #[test]
    fn java_empty_interval_histogram_has_no_average() {
        let s = one_sample(
            "2024-01-01 00:00:20:000 20 sec: 20 operations; 1 current ops/sec; [READ: Count=0, Max=0, Min=9223372036854775807, Avg=NaN, 90=0, 99=0, 99.9=0, 99.99=0]",
        );
        assert_eq!(s.ops[0].avg_us, None);
        assert_eq!(s.ops[0].count, 0);
    }

    #[test]
    fn java_unprintable_rate_is_ignored() {
        let mut p = Parser::new();
        assert_eq!(
            p.feed("2024-01-01 00:00:20:000 20 sec: 20 operations; ∞ current ops/sec; "),
            None
        );
        assert_eq!(
            p.feed("2024-01-01 00:00:20:000 20 sec: 20 operations; NaN current ops/sec; "),
            None
        );
        assert_eq!(
            p.feed("2024-01-01 00:00:20:000 20 sec: 20 operations; 1.2.3 current ops/sec; "),
            None
        );
    }
    // ----- Java YCSB summary -----

    #[test]
    fn summary_throughput_without_runtime() {
        let mut p = Parser::new();
        assert_eq!(
            p.feed("[OVERALL], Throughput(ops/sec), 1.2345678E7"),
            Some(Parsed::EndOfRun {
                throughput: Some(12345678.0),
                runtime_ms: None
            })
        );
    }

    #[test]
    fn summary_runtime_is_consumed_by_one_end_of_run() {
        let mut p = Parser::new();
        assert_eq!(p.feed("[OVERALL], RunTime(ms), 1000"), None);
        assert_eq!(
            p.feed("[OVERALL], Throughput(ops/sec), NaN"),
            Some(Parsed::EndOfRun {
                throughput: None,
                runtime_ms: Some(1000)
            })
        );
        assert_eq!(
            p.feed("[OVERALL], Throughput(ops/sec), 5.0"),
            Some(Parsed::EndOfRun {
                throughput: Some(5.0),
                runtime_ms: None
            })
        );
        assert_eq!(p.feed("[READ], Operations, 499304"), None);
    }
    proptest! {
        /// The end-anchored search from each ` operations;` finds what a plain
        /// left-to-right search for the last match finds.
        #[test]
        fn status_span_is_the_last_match(line in prop_oneof![near_miss_line(), java_like_line()]) {
            let plain = Regex::new(r"[0-9]+ sec: [0-9]+ operations;").unwrap();
            let expected = plain.find_iter(&line).last().map(|m| (m.start(), m.end()));
            prop_assert_eq!(java_status_span(&line), expected);
        }
    }
}
