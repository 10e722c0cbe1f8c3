//! Parsers for the two real YCSB output formats: Java YCSB's status lines (and its
//! final `[OVERALL]` summary) and go-ycsb's periodic per-operation lines.
//!
//! Anything that is not one of these is ignored (`None`); no input panics.
//!
//! Facts the parsers rely on (from the tools' sources, see
//! `shared/fixtures/README.md`):
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
//! * go-ycsb (`%-6s - %s`): `Count` is cumulative and `Takes(s)` is the time since
//!   that operation's histogram was created, so the current rate is ΔCount/ΔTakes of
//!   the same operation between consecutive reports. Errors are measured as
//!   `<OP>_ERROR`; the `TOTAL` line of newer releases counts successful operations
//!   only (real output shows `READ` Count 331628, `READ_ERROR` 1706, `TOTAL` 331628).

use std::collections::{HashMap, VecDeque};
use std::sync::LazyLock;

use regex::Regex;

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

/// One parsed go-ycsb line.
#[derive(Debug, Clone)]
struct GoLine {
    name: String,
    takes: f64,
    count: u64,
    ops: Option<f64>,
    avg_us: Option<f64>,
    p99_us: Option<f64>,
}

/// More distinct go-ycsb operation names than any real run has (it has about ten).
const MAX_GO_OPERATIONS: usize = 256;

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
fn java_status_span(line: &str) -> Option<(usize, usize)> {
    OPERATIONS
        .find_iter(line.as_bytes())
        .filter_map(|at| {
            // `at` starts an ASCII literal, so `end` is a char boundary.
            let end = at + OPERATIONS.needle().len();
            JAVA_STATUS.find(&line[..end]).map(|m| (m.start(), m.end()))
        })
        .last()
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

/// Seconds since 1970 of the `yyyy-MM-dd HH:mm:ss:SSS` that ends `text` (the
/// JVM's local time; only differences between lines matter).
fn java_timestamp(text: &str) -> Option<f64> {
    let stamp = text.get(text.len().checked_sub(23)?..)?;
    let b = stamp.as_bytes();
    let sep_ok = b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b':';
    if !sep_ok {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = stamp.get(range)?;
        digits
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second, milli) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(secs as f64 + milli as f64 / 1000.0)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
                None => self.parse_summary(line),
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

    /// Java YCSB's final `[OVERALL], …` summary lines; anything else is noise.
    fn parse_summary(&mut self, line: &str) -> Option<Parsed> {
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

    /// Turn the pending go-ycsb lines into a sample, updating the per-operation state.
    fn finish_go_report(&mut self) -> Option<Parsed> {
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

/// A finite float, or nothing.
fn finite(s: &str) -> Option<f64> {
    exact_decimal(s.as_bytes()).or_else(|| s.parse::<f64>().ok().filter(|v| v.is_finite()))
}

/// Clamp to a finite, non-negative number (0 otherwise).
fn non_negative(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 { v } else { 0.0 }
}

/// Parse one go-ycsb line: `NAME - Key: value, Key: value, …` with at least
/// `Takes(s)` and `Count`, keys in any order.
fn parse_go_line(line: &str) -> Option<GoLine> {
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

/// A number printed by Java's `DecimalFormat("#.##")`: digits with at most one
/// decimal separator, which is `.` or, in some locales, `,` (the pattern has no
/// grouping, so a comma is never a thousands separator). `NaN`, `∞` and the like
/// give `None`.
fn java_number(s: &str) -> Option<f64> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let mut comma = false;
    let mut separators = 0;
    let mut any_digit = false;
    for &c in digits.as_bytes() {
        match c {
            b'0'..=b'9' => any_digit = true,
            b'.' => separators += 1,
            b',' => {
                separators += 1;
                comma = true;
            }
            _ => return None,
        }
    }
    if !any_digit || separators > 1 {
        return None;
    }
    // The decimal comma is rare; only it pays for a copy.
    let v: f64 = if let Some(v) = exact_decimal(digits.as_bytes()) {
        v
    } else if comma {
        digits.replace(',', ".").parse().ok()?
    } else {
        digits.parse().ok()?
    };
    let v = if negative { -v } else { v };
    v.is_finite().then_some(v)
}

/// `123.45` with at most 15 digits, as `12345 / 10^2`: both operands
/// are exact in an f64 and one division rounds correctly, so this is the value
/// `str::parse` gives, without its general algorithm. Longer numbers: `None`.
fn exact_decimal(digits: &[u8]) -> Option<f64> {
    const POWERS: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let mut mantissa: u64 = 0;
    let mut decimals = None;
    let mut count = 0;
    for (i, &c) in digits.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(c - b'0');
                count += 1;
                if count > 15 {
                    return None;
                }
            }
            b'.' if decimals.is_none() => decimals = Some(digits.len() - i - 1),
            _ => return None,
        }
    }
    if count == 0 {
        return None;
    }
    Some(mantissa as f64 / POWERS[decimals.unwrap_or(0)])
}

/// Digits only, no sign or separator, fitting in a u64.
fn plain_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &c| {
        let digit = c.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
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
fn parse_java_status(line: &str, (start, end): (usize, usize)) -> Option<Sample> {
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
    use super::*;
    use proptest::prelude::*;

    /// The shared fixtures sit beside the checkout, which may be nested one level
    /// deeper (a worktree) than the main checkout: look in every ancestor.
    pub(crate) fn fixtures_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|dir| dir.join("shared/fixtures"))
            .find(|dir| dir.is_dir())
            .expect("shared/fixtures in an ancestor of the host crate")
    }

    fn fixture(name: &str) -> String {
        let path = fixtures_dir().join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// Feed all lines, then flush until empty; collect everything produced.
    fn run(parser: &mut Parser, text: &str) -> Vec<Parsed> {
        let mut out: Vec<Parsed> = text.lines().filter_map(|l| parser.feed(l)).collect();
        while let Some(p) = parser.flush() {
            out.push(p);
        }
        out
    }

    fn samples(text: &str) -> Vec<Sample> {
        run(&mut Parser::new(), text)
            .into_iter()
            .filter_map(|p| match p {
                Parsed::Sample(s) => Some(s),
                Parsed::EndOfRun { .. } => None,
            })
            .collect()
    }

    fn one_sample(line: &str) -> Sample {
        let mut parser = Parser::new();
        match parser.feed(line) {
            Some(Parsed::Sample(s)) => s,
            other => panic!("expected a sample from {line:?}, got {other:?}"),
        }
    }

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

    /// Pieces of both formats, recombined into near-misses.
    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                " sec: ",
                " operations;",
                " operations; ",
                " current ops/sec;",
                " current ops/sec",
                "[",
                "]",
                "READ",
                "-FAILED",
                ": ",
                "Count=",
                ", ",
                "Avg=",
                "99=",
                "=",
                " AverageLatency(us)=",
                " AverageLatency(",
                ")=",
                "[OVERALL],",
                " RunTime(ms), ",
                " Throughput(ops/sec), ",
                " - ",
                "Takes(s): ",
                "Count: ",
                "OPS: ",
                "Avg(us): ",
                "99th(us): ",
                "TOTAL",
                "_ERROR",
                "NaN",
                "∞",
                "-",
                ",",
                ".",
                "\r",
                " ",
                "\t",
                "é",
                "Infinity",
                "inf",
                "+Inf",
                "1e308",
                "1e-320",
                "-0",
                "E7",
            ])
            .prop_map(str::to_owned),
            "[0-9]{1,30}",
            "[0-9]{1,5}[.,][0-9]{1,5}",
            any::<u64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|n| n.to_string()),
        ]
    }

    fn near_miss_line() -> impl Strategy<Value = String> {
        prop::collection::vec(fragment(), 0..24).prop_map(|v| v.concat())
    }

    fn go_like_line() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec!["READ", "TOTAL", "UPDATE_ERROR", "A", "ZZ", ""]),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "Takes(s)", "Count", "OPS", "Avg(us)", "99th(us)", "X",
                    ]),
                    prop_oneof![
                        any::<u64>().prop_map(|n| n.to_string()),
                        any::<f64>().prop_map(|n| n.to_string()),
                        "[0-9]{1,3}\\.[0-9]",
                        "[-+a-zA-Z0-9.]{0,8}",
                    ],
                ),
                0..7,
            ),
        )
            .prop_map(|(name, fields)| {
                let fields: Vec<String> = fields
                    .into_iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                format!("{name:<6} - {}", fields.join(", "))
            })
    }

    fn java_like_line() -> impl Strategy<Value = String> {
        (
            ".{0,10}",
            "[0-9]{1,25}",
            "[0-9]{1,25}",
            prop::option::of(prop_oneof![
                "[0-9]{1,20}([.,][0-9]{1,3})?",
                Just("NaN".to_owned()),
                "-[0-9]{1,4}"
            ]),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "READ",
                        "READ-FAILED",
                        "CLEANUP",
                        "Intended-UPDATE",
                        "",
                    ]),
                    "[0-9]{1,22}",
                    "[0-9.,a-zN]{0,8}",
                ),
                0..4,
            ),
        )
            .prop_map(|(label, secs, total, current, brackets)| {
                let mut line = format!("{label} {secs} sec: {total} operations; ");
                if let Some(c) = current {
                    line.push_str(&format!("{c} current ops/sec; "));
                }
                for (name, count, avg) in brackets {
                    line.push_str(&format!("[{name}: Count={count}, Avg={avg}, 99={avg}] "));
                }
                line
            })
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

        /// The fast path of `java_number` gives exactly what `str::parse` gives.
        #[test]
        fn exact_decimal_is_parse(number in "[0-9]{0,16}(\\.[0-9]{0,16})?") {
            if let Some(fast) = exact_decimal(number.as_bytes()) {
                let parsed: f64 = number.parse().unwrap();
                prop_assert_eq!(fast.to_bits(), parsed.to_bits());
            }
        }

        /// The end-anchored search from each ` operations;` finds what a plain
        /// left-to-right search for the last match finds.
        #[test]
        fn status_span_is_the_last_match(line in prop_oneof![near_miss_line(), java_like_line()]) {
            let plain = Regex::new(r"[0-9]+ sec: [0-9]+ operations;").unwrap();
            let expected = plain.find_iter(&line).last().map(|m| (m.start(), m.end()));
            prop_assert_eq!(java_status_span(&line), expected);
        }

        #[test]
        fn near_misses_never_panic(lines in prop::collection::vec(
            prop_oneof![near_miss_line(), go_like_line(), java_like_line()], 0..24)) {
            feed_all(&lines);
        }
    }
}
