//! Parsers for the two real YCSB output formats: Java YCSB's status lines (and its
//! final `[OVERALL]` summary) and go-ycsb's periodic per-operation lines.
//!
//! Anything that is not one of these is ignored (`None`); no input panics.
//!
//! This module holds what the rest of the host sees (the [`Sample`] types, the
//! stateful [`Parser`] that tells the formats apart on one stream, and
//! [`line_time`] for replays); each format, with the facts about it the parser
//! relies on, is in its own module: `java_ycsb` and `go_ycsb`. `numbers`
//! reads numbers and clocks as the tools print them. The real output the tests
//! check against is in `tests/fixtures/workload/` (see its README).

mod go_ycsb;
mod java_ycsb;
mod numbers;
#[cfg(test)]
mod testing;

use std::collections::{HashMap, VecDeque};

use go_ycsb::{GoLine, parse_go_line};
use java_ycsb::{java_status_span, parse_java_status};
pub(crate) use numbers::days_from_civil;
use numbers::{finite, java_timestamp};

/// Which tool produced a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Java YCSB (brianfrankcooper/YCSB) status thread (`-s`).
    Ycsb,
    /// pingcap/go-ycsb periodic output.
    GoYcsb,
    /// A Prometheus query's value (the `prom:` source); no per-operation detail.
    Prometheus,
}

/// Per-operation detail of one report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OpStat {
    /// The operation's name as printed (`READ`, `READ-FAILED`, `UPDATE_ERROR`, …).
    pub name: String,
    /// Operations of this kind in the reporting interval. Java YCSB: the bracket's
    /// `Count=` (the HdrHistogram measurement's interval histogram), 0 when the bracket
    /// has no count (the old `AverageLatency(us)=` form). go-ycsb: ΔCount since the
    /// previous report, or `Count` for the first report.
    pub count: u64,
    /// Mean latency in microseconds, when printed and a number.
    pub avg_us: Option<f64>,
    /// 99th percentile latency in microseconds, when printed and a number.
    pub p99_us: Option<f64>,
    /// A failed-operation measurement (`…-FAILED` and other `-<error status>` for Java,
    /// `…_ERROR` for go-ycsb).
    pub failed: bool,
}

/// One throughput report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sample {
    pub format: Format,
    /// Seconds since the tool started, when the line says.
    pub elapsed_s: Option<f64>,
    /// Current rate over the last interval, successful operations only. Always finite
    /// and non-negative.
    pub ops_per_sec: f64,
    /// Current rate of failed operations. Always finite and non-negative.
    pub failures_per_sec: f64,
    /// Per-operation detail of this report, in the tool's order. Leaves out go-ycsb's
    /// `TOTAL` line (an aggregate) and Java YCSB's JVM gauges (`THREAD_COUNT`, …).
    pub ops: Vec<OpStat>,
}

/// What a line (or a flush) completed.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Sample(Sample),
    /// Java YCSB's final summary: emitted on `[OVERALL], Throughput(ops/sec), …`,
    /// carrying the `[OVERALL], RunTime(ms), …` seen before it, if any.
    EndOfRun {
        throughput: Option<f64>,
        runtime_ms: Option<u64>,
    },
    /// A `[VERDICT]` line: the tool's own check of its history.
    Verdict(verdict_line::Verdict),
    /// A line tagged `[VERDICT]` whose counts cannot be read, and why.
    BadVerdict(String),
}

/// Stateful line parser; use one per source stream.
///
/// go-ycsb prints one line per operation per report, so a go-ycsb report is only
/// complete when the next report's first line, a blank or any other line arrives, or
/// on [`Parser::flush`] (end of stream or an idle timer). go-ycsb also needs the
/// previous report to compute a rate.
#[derive(Default)]
pub struct Parser {
    /// Lines of the go-ycsb report being assembled.
    go_pending: Vec<GoLine>,
    /// Last cumulative (Takes, Count) per go-ycsb operation.
    go_prev: HashMap<String, (f64, u64)>,
    /// `[OVERALL], RunTime(ms)` waiting for its Throughput line.
    runtime_ms: Option<u64>,
    /// Results not yet handed out: a single line can complete a pending go-ycsb report
    /// *and* be a result itself (only when both formats share a stream).
    out: VecDeque<Parsed>,
}

/// The timing a recorded line carries, for replaying it at its own pace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LineTime {
    /// Java YCSB's wall-clock `yyyy-MM-dd HH:mm:ss:SSS`, in seconds since 1970.
    Wall(f64),
    /// Java YCSB's `N sec:` since the run started.
    Elapsed(f64),
    /// go-ycsb's `Takes(s)`: seconds since that operation was first measured.
    Takes(f64),
}

/// When `line` was printed, if it says: the wall clock of a Java YCSB status line
/// (millisecond precision) over its `N sec:`, or a go-ycsb line's `Takes(s)`.
pub fn line_time(line: &str) -> Option<LineTime> {
    let line = line.trim_end();
    if let Some((start, end)) = java_status_span(line) {
        let wall = java_timestamp(line[..start].trim_end());
        return match wall {
            Some(t) => Some(LineTime::Wall(t)),
            None => line[start..end]
                .split(' ')
                .next()
                .and_then(finite)
                .map(LineTime::Elapsed),
        };
    }
    parse_go_line(line).map(|l| LineTime::Takes(l.takes))
}
impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one line (without its newline; a trailing `'\r'` and trailing spaces are
    /// tolerated). Returns what the line completed, if anything.
    ///
    /// In the rare case one line completes two things (a go-ycsb report pending when
    /// a Java YCSB line arrives on the same stream), the second one is returned by the
    /// next call to `feed` or `flush`.
    pub fn feed(&mut self, line: &str) -> Option<Parsed> {
        let line = line.trim_end();
        // A Java YCSB status line wins: its label is free text and could mimic go-ycsb.
        let java = java_status_span(line);
        let go = if java.is_none() {
            parse_go_line(line)
        } else {
            None
        };
        if let Some(go) = go {
            let starts_new_report = self.go_pending.last().is_some_and(|last| {
                // go-ycsb sorts a report's lines by name, so a name that does not sort
                // after the previous one starts the next report.
                go.name.as_str() <= last.name.as_str()
                    || self.go_pending.iter().any(|l| l.name == go.name)
            });
            if starts_new_report {
                let report = self.finish_go_report();
                self.out.extend(report);
            }
            self.go_pending.push(go);
        } else {
            let report = self.finish_go_report();
            self.out.extend(report);
            let own = match java {
                Some(span) => parse_java_status(line, span).map(Parsed::Sample),
                None => match line.parse::<verdict_line::Verdict>() {
                    Ok(verdict) => Some(Parsed::Verdict(verdict)),
                    Err(verdict_line::ParseError::Malformed(why)) => {
                        Some(Parsed::BadVerdict(crate::sanitize::flow_line(why, 200)))
                    }
                    Err(verdict_line::ParseError::NotAVerdict) => self.parse_summary(line),
                },
            };
            self.out.extend(own);
        }
        self.out.pop_front()
    }

    /// Complete whatever is pending (a go-ycsb report): call at end of stream or from
    /// an idle timer. At end of stream call it until it returns `None`.
    pub fn flush(&mut self) -> Option<Parsed> {
        if self.out.is_empty() {
            return self.finish_go_report();
        }
        let report = self.finish_go_report();
        self.out.extend(report);
        self.out.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{
        close, fixture, go_like_line, java_like_line, near_miss_line, one_sample,
    };
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trailing_carriage_return_and_spaces_are_tolerated() {
        let s = one_sample(
            "2024-01-01 00:00:10:000 10 sec: 5000 operations; 500 current ops/sec;   \r",
        );
        assert_eq!(s.ops_per_sec, 500.0);
        let mut p = Parser::new();
        assert_eq!(
            p.feed("READ   - Takes(s): 2.0, Count: 100, OPS: 50.0  \r"),
            None
        );
        let Some(Parsed::Sample(s)) = p.flush() else {
            panic!("sample expected");
        };
        assert_eq!(s.ops_per_sec, 50.0);
    }

    #[test]
    fn line_time_reads_each_format_clock() {
        let fixture_lines: Vec<String> = fixture("ycsb-0.17-status.txt")
            .lines()
            .map(str::to_owned)
            .collect();
        let (Some(LineTime::Wall(a)), Some(LineTime::Wall(b))) =
            (line_time(&fixture_lines[0]), line_time(&fixture_lines[1]))
        else {
            panic!("Java YCSB lines carry a wall clock");
        };
        // Seconds since 1970 as f64 keep about a microsecond of precision.
        assert!((b - a - 9.906).abs() < 1e-6, "{}", b - a);
        assert!(close(days_from_civil(1970, 1, 1) as f64, 0.0));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(
            line_time("label2017-05-20 18:55:44:512 10 sec: 5 operations; ")
                .map(|t| matches!(t, LineTime::Wall(_))),
            Some(true),
            "a -l label glued to the date"
        );
        assert_eq!(
            line_time(" 30 sec: 30218 operations; 1003.39 current ops/sec;"),
            Some(LineTime::Elapsed(30.0))
        );
        assert_eq!(
            line_time(&fixture("go-ycsb-interval.txt")),
            Some(LineTime::Takes(0.3))
        );
        assert_eq!(line_time("[OVERALL], Throughput(ops/sec), 5"), None);
        assert_eq!(
            line_time("2017-13-20 18:55:44:512 1 sec: 1 operations;"),
            Some(LineTime::Elapsed(1.0)),
            "not a date: fall back to the elapsed seconds"
        );
    }
    #[test]
    fn two_formats_on_one_stream_lose_nothing() {
        let mut p = Parser::new();
        let mut out = Vec::new();
        out.extend(p.feed("READ   - Takes(s): 1.0, Count: 5"));
        out.extend(p.feed("x 10 sec: 5000 operations; 500 current ops/sec; "));
        out.extend(p.feed("[OVERALL], Throughput(ops/sec), 5.0"));
        while let Some(x) = p.flush() {
            out.push(x);
        }
        assert_eq!(out.len(), 3);
        assert!(matches!(&out[0], Parsed::Sample(s) if s.format == Format::GoYcsb));
        assert!(matches!(&out[1], Parsed::Sample(s) if s.format == Format::Ycsb));
        assert!(matches!(&out[2], Parsed::EndOfRun { .. }));
    }

    // ----- noise -----

    #[test]
    fn other_lines_are_ignored() {
        let mut p = Parser::new();
        for line in [
            "",
            "Loading workload...",
            "***************** properties *****************",
            "\"operationcount\"=\"1000\"",
            "[READ], AverageLatency(us), 1657.3425007610595",
            "[OVERALL], Throughput",
            "[OVERALL]",
            "operation err: context deadline exceeded",
            "10 sec: x operations; 5 current ops/sec;",
            "DBWrapper: report latency for each error is false",
        ] {
            assert_eq!(p.feed(line), None, "{line:?}");
        }
        assert_eq!(p.flush(), None);
    }

    #[test]
    fn serializes_format_in_kebab_case() {
        assert_eq!(
            serde_json::to_string(&Format::GoYcsb).unwrap(),
            "\"go-ycsb\""
        );
        assert_eq!(serde_json::to_string(&Format::Ycsb).unwrap(), "\"ycsb\"");
    }

    #[test]
    fn verdict_lines_are_read_beside_the_status_lines() {
        let mut parser = Parser::new();
        let line = "[VERDICT] acknowledged=12 failed=0 unknown=1 reads=30 stale=0 stale-serializable=2 lost=0 final=no";
        match parser.feed(line) {
            Some(Parsed::Verdict(v)) => {
                assert_eq!(
                    (v.acknowledged, v.unknown, v.stale_serializable),
                    (12, 1, 2)
                )
            }
            other => panic!("{other:?}"),
        }
        match parser.feed("[VERDICT] acknowledged=1 lost=x stale=0 unknown=0\x1b[2J") {
            Some(Parsed::BadVerdict(why)) => {
                assert!(why.contains("lost"), "{why}");
                assert!(!why.contains('\x1b'), "{why}");
            }
            other => panic!("{other:?}"),
        }
        // A status line still parses after them.
        assert!(matches!(
            parser.feed("2024-01-01 00:00:10:000 10 sec: 5000 operations; 500 current ops/sec;"),
            Some(Parsed::Sample(_))
        ));
    }

    fn check(p: &Parsed) {
        match p {
            Parsed::Sample(s) => {
                assert!(s.ops_per_sec.is_finite() && s.ops_per_sec >= 0.0, "{s:?}");
                assert!(
                    s.failures_per_sec.is_finite() && s.failures_per_sec >= 0.0,
                    "{s:?}"
                );
                assert!(s.elapsed_s.is_none_or(f64::is_finite), "{s:?}");
                for op in &s.ops {
                    assert!(op.avg_us.is_none_or(f64::is_finite), "{op:?}");
                    assert!(op.p99_us.is_none_or(f64::is_finite), "{op:?}");
                }
            }
            Parsed::EndOfRun { throughput, .. } => {
                assert!(throughput.is_none_or(f64::is_finite));
            }
            Parsed::Verdict(_) => {}
            Parsed::BadVerdict(why) => assert_eq!(why.lines().count(), 1, "{why}"),
        }
    }

    fn feed_all(lines: &[String]) {
        let mut p = Parser::new();
        for line in lines {
            let _ = line_time(line);
            if let Some(x) = p.feed(line) {
                check(&x);
            }
        }
        while let Some(x) = p.flush() {
            check(&x);
        }
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(lines in prop::collection::vec(any::<String>(), 0..16)) {
            feed_all(&lines);
        }

        #[test]
        fn arbitrary_bytes_never_panic(lines in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..16)) {
            let lines: Vec<String> = lines.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect();
            feed_all(&lines);
        }
        #[test]
        fn near_misses_never_panic(lines in prop::collection::vec(
            prop_oneof![near_miss_line(), go_like_line(), java_like_line()], 0..24)) {
            feed_all(&lines);
        }
    }
}
