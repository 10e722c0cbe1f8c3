//! Java YCSB's text formats: the periodic status line (printed on stderr) and
//! the final `[OVERALL]` summary (printed on stdout).
//!
//! The shapes follow YCSB's `StatusThread`, `RemainingFormatter`,
//! `Measurements.getSummary` and `OneMeasurementHdrHistogram.getSummary`
//! (0.17): numbers through `DecimalFormat("#.##")`, a status bracket per
//! operation followed by one space, `current ops/sec` omitted while the total
//! is 0.

use std::fmt::{self, Write as _};

/// Java's `new DecimalFormat("#.##").format(x)` in an English locale: at most
/// two decimals, rounded half-to-even on the exact binary value (as the JDK
/// does), no trailing zeros, no decimal point for whole numbers, no grouping.
pub fn format_decimal(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "∞" } else { "-∞" }.to_string();
    }
    // Rust rounds exact ties to even, like the JDK's HALF_EVEN.
    let mut s = format!("{x:.2}");
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    s
}

/// Java's `Double.toString`, as used by the `[OVERALL]` summary lines:
/// shortest round-trip digits, always with a fractional part, scientific
/// notation outside `[1e-3, 1e7)`.
pub fn format_java_double(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "NaN".to_string()
        } else if x > 0.0 {
            "Infinity".to_string()
        } else {
            "-Infinity".to_string()
        };
    }
    let abs = x.abs();
    if x == 0.0 || (1e-3..1e7).contains(&abs) {
        let s = format!("{x}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let s = format!("{x:E}");
        match s.split_once('E') {
            Some((mantissa, exp)) if !mantissa.contains('.') => format!("{mantissa}.0E{exp}"),
            _ => s,
        }
    }
}

/// YCSB's `RemainingFormatter`: days/hours/minutes with a trailing space,
/// seconds only when less than a minute remains.
pub fn format_remaining(mut seconds: u64) -> String {
    fn unit(out: &mut String, n: u64, one: &str, many: &str) {
        let _ = write!(out, "{n} {} ", if n == 1 { one } else { many });
    }
    let mut out = String::new();
    let days = seconds / 86_400;
    if days > 0 {
        unit(&mut out, days, "day", "days");
        seconds -= days * 86_400;
    }
    let hours = seconds / 3_600;
    if hours > 0 {
        unit(&mut out, hours, "hour", "hours");
        seconds -= hours * 3_600;
    }
    if days < 1 {
        let minutes = seconds / 60;
        if minutes > 0 {
            unit(&mut out, minutes, "minute", "minutes");
            seconds -= minutes * 60;
        }
    }
    if out.is_empty() {
        unit(&mut out, seconds, "second", "seconds");
    }
    out
}

/// A broken-down wall-clock time, as `SimpleDateFormat("yyyy-MM-dd HH:mm:ss:SSS")`
/// prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millis: u32,
}

impl Timestamp {
    /// The current local time (the process's time zone, as the JVM uses).
    pub fn now_local() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let secs = now.as_secs() as libc::time_t;
        // SAFETY: `tm` is plain old data; localtime_r only writes into it and
        // reads `secs`, both valid for the duration of the call.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
        if !ok {
            return Self::from_unix_utc(now.as_secs(), now.subsec_millis());
        }
        Self {
            year: tm.tm_year + 1900,
            month: (tm.tm_mon + 1) as u32,
            day: tm.tm_mday as u32,
            hour: tm.tm_hour as u32,
            minute: tm.tm_min as u32,
            second: tm.tm_sec as u32,
            millis: now.subsec_millis(),
        }
    }

    /// UTC broken-down time from Unix seconds (civil-from-days algorithm).
    pub fn from_unix_utc(secs: u64, millis: u32) -> Self {
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Self {
            year,
            month,
            day,
            hour: (rem / 3_600) as u32,
            minute: (rem % 3_600 / 60) as u32,
            second: (rem % 60) as u32,
            millis,
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}:{:03}",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millis
        )
    }
}

/// Latency statistics of one operation over one interval, in microseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub max: u64,
    pub min: u64,
    pub avg: f64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub p9999: u64,
}

impl LatencySummary {
    /// Summarises the samples (sorting them in place); `None` when empty.
    pub fn from_samples(samples: &mut [u32]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let sum: u64 = samples.iter().map(|&v| u64::from(v)).sum();
        Some(Self {
            count: samples.len() as u64,
            max: u64::from(samples[samples.len() - 1]),
            min: u64::from(samples[0]),
            avg: sum as f64 / samples.len() as f64,
            p90: percentile(samples, 9_000),
            p99: percentile(samples, 9_900),
            p999: percentile(samples, 9_990),
            p9999: percentile(samples, 9_999),
        })
    }

    /// The bracket for `name`, e.g. `[UPDATE: Count=3, Max=9, …, 99.99=9]`.
    pub fn bracket(&self, name: &str) -> String {
        format!(
            "[{name}: Count={}, Max={}, Min={}, Avg={}, 90={}, 99={}, 99.9={}, 99.99={}]",
            self.count,
            self.max,
            self.min,
            format_decimal(self.avg),
            self.p90,
            self.p99,
            self.p999,
            self.p9999
        )
    }
}

/// Nearest-rank percentile (as HdrHistogram's `getValueAtPercentile`, without
/// its bucketing) of sorted, non-empty samples; `hundredths` is the percentile
/// times 100 (9990 for 99.9), so the rank is computed exactly in integers.
pub fn percentile(sorted: &[u32], hundredths: u64) -> u64 {
    let n = sorted.len() as u64;
    let rank = (hundredths * n).div_ceil(10_000).clamp(1, n);
    u64::from(sorted[(rank - 1) as usize])
}

/// One status line, formatted by `Display` exactly as YCSB's status thread
/// prints it (including the trailing space after each bracket).
#[derive(Debug, Clone)]
pub struct StatusLine {
    /// `-l LABEL`: prefixed to the timestamp without a separator.
    pub label: String,
    pub timestamp: Timestamp,
    pub elapsed_secs: u64,
    pub total_ops: u64,
    pub current_ops_per_sec: f64,
    /// `None` hides the `est completion in …` part.
    pub remaining_secs: Option<u64>,
    pub brackets: Vec<String>,
}

impl fmt::Display for StatusLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{} {} sec: {} operations; ",
            self.label, self.timestamp, self.elapsed_secs, self.total_ops
        )?;
        if self.total_ops != 0 {
            write!(
                f,
                "{} current ops/sec; ",
                format_decimal(self.current_ops_per_sec)
            )?;
        }
        if let Some(rem) = self.remaining_secs {
            write!(f, "est completion in {}", format_remaining(rem))?;
        }
        for bracket in &self.brackets {
            write!(f, "{bracket} ")?;
        }
        Ok(())
    }
}

/// Totals of one operation over the whole run, for the final summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperationTotals {
    pub count: u64,
    pub sum_us: u64,
    pub min_us: Option<u64>,
    pub max_us: u64,
}

impl OperationTotals {
    pub fn add(&mut self, s: &LatencySummary) {
        self.count += s.count;
        self.sum_us += (s.avg * s.count as f64).round() as u64;
        self.min_us = Some(self.min_us.map_or(s.min, |m| m.min(s.min)));
        self.max_us = self.max_us.max(s.max);
    }
}

/// The final summary lines (YCSB's text exporter), one per element, of
/// several operations (UPDATE, READ, …); the
/// throughput counts every successful one. An operation never made is left
/// out, unless it is the first.
pub fn summary_lines_of(
    runtime_ms: u64,
    ops: &[(&str, &OperationTotals, &OperationTotals)],
) -> Vec<String> {
    let done: u64 = ops.iter().map(|(_, ok, _)| ok.count).sum();
    let throughput = if runtime_ms == 0 {
        0.0
    } else {
        done as f64 * 1000.0 / runtime_ms as f64
    };
    let mut lines = vec![
        format!("[OVERALL], RunTime(ms), {runtime_ms}"),
        format!(
            "[OVERALL], Throughput(ops/sec), {}",
            format_java_double(throughput)
        ),
    ];
    let op = |lines: &mut Vec<String>, label: &str, t: &OperationTotals| {
        lines.push(format!("[{label}], Operations, {}", t.count));
        let avg = if t.count == 0 {
            f64::NAN
        } else {
            t.sum_us as f64 / t.count as f64
        };
        lines.push(format!(
            "[{label}], AverageLatency(us), {}",
            format_java_double(avg)
        ));
        if let Some(min) = t.min_us {
            lines.push(format!("[{label}], MinLatency(us), {min}"));
            lines.push(format!("[{label}], MaxLatency(us), {}", t.max_us));
        }
    };
    for (i, (name, ok, failed)) in ops.iter().enumerate() {
        if i > 0 && ok.count == 0 && failed.count == 0 {
            continue;
        }
        op(&mut lines, name, ok);
        if failed.count > 0 {
            op(&mut lines, &format!("{name}-FAILED"), failed);
        }
        lines.push(format!("[{name}], Return=OK, {}", ok.count));
        if failed.count > 0 {
            lines.push(format!("[{name}], Return=ERROR, {}", failed.count));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_format_keeps_at_most_two_decimals_without_trailing_zeros() {
        assert_eq!(format_decimal(37634.74), "37634.74");
        assert_eq!(format_decimal(37634.7449), "37634.74");
        assert_eq!(format_decimal(548.386), "548.39");
        assert_eq!(format_decimal(12.5), "12.5");
        assert_eq!(format_decimal(12.50001), "12.5");
        assert_eq!(format_decimal(1.999), "2");
        assert_eq!(format_decimal(739.0), "739");
        assert_eq!(format_decimal(0.0), "0");
        assert_eq!(format_decimal(0.004), "0");
        assert_eq!(format_decimal(123456789.0), "123456789");
    }

    #[test]
    fn decimal_format_rounds_exact_ties_to_even_like_the_jdk() {
        assert_eq!(format_decimal(0.125), "0.12");
        assert_eq!(format_decimal(0.375), "0.38");
        // 0.135 is slightly above the tie in binary, so it rounds up.
        assert_eq!(format_decimal(0.135), "0.14");
    }

    #[test]
    fn java_double_to_string() {
        assert_eq!(format_java_double(47865.21156423511), "47865.21156423511");
        assert_eq!(format_java_double(2000.0), "2000.0");
        assert_eq!(format_java_double(0.0), "0.0");
        assert_eq!(format_java_double(12_345_678.0), "1.2345678E7");
        assert_eq!(format_java_double(1e7), "1.0E7");
        assert_eq!(format_java_double(f64::NAN), "NaN");
    }

    #[test]
    fn remaining_time_uses_the_largest_units() {
        assert_eq!(format_remaining(0), "0 seconds ");
        assert_eq!(format_remaining(1), "1 second ");
        assert_eq!(format_remaining(59), "59 seconds ");
        assert_eq!(format_remaining(60), "1 minute ");
        assert_eq!(format_remaining(150), "2 minutes ");
        assert_eq!(format_remaining(3_600 + 120), "1 hour 2 minutes ");
        assert_eq!(format_remaining(2 * 86_400 + 3_600 + 60), "2 days 1 hour ");
    }

    #[test]
    fn timestamp_matches_simple_date_format() {
        // 2017-05-20 18:55:44 UTC, the fixture's first status line.
        let t = Timestamp::from_unix_utc(1_495_306_544, 512);
        assert_eq!(t.to_string(), "2017-05-20 18:55:44:512");
        assert_eq!(
            Timestamp::from_unix_utc(0, 7).to_string(),
            "1970-01-01 00:00:00:007"
        );
        assert_eq!(
            Timestamp::from_unix_utc(951_782_400, 0).to_string(),
            "2000-02-29 00:00:00:000"
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let sorted: Vec<u32> = (1..=1000).collect();
        assert_eq!(percentile(&sorted, 9_000), 900);
        assert_eq!(percentile(&sorted, 9_900), 990);
        assert_eq!(percentile(&sorted, 9_990), 999);
        assert_eq!(percentile(&sorted, 9_999), 1000);
        // 90% of 10 samples is exactly the 9th, with no floating-point drift.
        let ten: Vec<u32> = (1..=10).collect();
        assert_eq!(percentile(&ten, 9_000), 9);
        assert_eq!(percentile(&ten, 9_900), 10);
        assert_eq!(percentile(&[42], 9_000), 42);
        assert_eq!(percentile(&[1, 2], 1), 1);
    }

    #[test]
    fn latency_summary_of_an_interval() {
        let mut samples = vec![700, 100, 300, 200, 500, 400, 600, 800, 1000, 900];
        let s = LatencySummary::from_samples(&mut samples).unwrap();
        assert_eq!(
            s.bracket("UPDATE"),
            "[UPDATE: Count=10, Max=1000, Min=100, Avg=550, 90=900, 99=1000, 99.9=1000, 99.99=1000]"
        );
        let mut one = vec![157, 158, 158];
        let s = LatencySummary::from_samples(&mut one).unwrap();
        assert_eq!(
            s.bracket("UPDATE-FAILED"),
            "[UPDATE-FAILED: Count=3, Max=158, Min=157, Avg=157.67, 90=158, 99=158, 99.9=158, 99.99=158]"
        );
        assert_eq!(LatencySummary::from_samples(&mut []), None);
    }

    fn line(total_ops: u64, current: f64, brackets: Vec<String>) -> StatusLine {
        StatusLine {
            label: String::new(),
            timestamp: Timestamp::from_unix_utc(1_495_306_544, 512),
            elapsed_secs: 10,
            total_ops,
            current_ops_per_sec: current,
            remaining_secs: Some(150),
            brackets,
        }
    }

    #[test]
    fn status_line_has_the_java_ycsb_shape() {
        let l = line(376385, 37634.74, vec!["[UPDATE: Count=1]".into()]);
        assert_eq!(
            l.to_string(),
            "2017-05-20 18:55:44:512 10 sec: 376385 operations; 37634.74 current ops/sec; \
             est completion in 2 minutes [UPDATE: Count=1] "
        );
    }

    #[test]
    fn status_line_omits_current_ops_while_the_total_is_zero() {
        let mut l = line(0, 0.0, vec![]);
        l.elapsed_secs = 0;
        l.remaining_secs = Some(0);
        assert_eq!(
            l.to_string(),
            "2017-05-20 18:55:44:512 0 sec: 0 operations; est completion in 0 seconds "
        );
        // Once something succeeded, a stalled interval reads 0 current ops/sec.
        assert!(
            line(5, 0.0, vec![])
                .to_string()
                .contains("; 0 current ops/sec; ")
        );
    }

    #[test]
    fn status_line_matches_the_recorded_fixture() {
        let fixture = "2017-05-20 18:55:44:512 10 sec: 376385 operations; 37634.74 current ops/sec; est completion in 2 minutes [READ: Count=188431, Max=154495, Min=157, Avg=548.39, 90=739, 99=3513, 99.9=15359, 99.99=44991] [INSERT: Count=189530, Max=160383, Min=177, Avg=534.86, 90=744, 99=2779, 99.9=11935, 99.99=41439] ";
        let read = LatencySummary {
            count: 188431,
            max: 154495,
            min: 157,
            avg: 548.3853,
            p90: 739,
            p99: 3513,
            p999: 15359,
            p9999: 44991,
        };
        let insert = LatencySummary {
            count: 189530,
            max: 160383,
            min: 177,
            avg: 534.8649,
            p90: 744,
            p99: 2779,
            p999: 11935,
            p9999: 41439,
        };
        let l = line(
            376385,
            37634.7449,
            vec![read.bracket("READ"), insert.bracket("INSERT")],
        );
        assert_eq!(l.to_string(), fixture);
    }

    #[test]
    fn label_prefixes_the_timestamp() {
        let mut l = line(1, 1.0, vec![]);
        l.label = "etcd".into();
        assert!(
            l.to_string()
                .starts_with("etcd2017-05-20 18:55:44:512 10 sec: 1 operations; 1 current")
        );
    }

    #[test]
    fn summary_lines_match_the_text_exporter() {
        let ok = OperationTotals {
            count: 1000,
            sum_us: 2_000_000,
            min_us: Some(100),
            max_us: 9000,
        };
        let failed = OperationTotals {
            count: 3,
            sum_us: 1500,
            min_us: Some(400),
            max_us: 600,
        };
        let lines = summary_lines_of(20892, &[("UPDATE", &ok, &failed)]);
        assert_eq!(lines[0], "[OVERALL], RunTime(ms), 20892");
        assert_eq!(
            lines[1],
            "[OVERALL], Throughput(ops/sec), 47.86521156423511"
        );
        assert!(lines.contains(&"[UPDATE], AverageLatency(us), 2000.0".to_string()));
        assert!(lines.contains(&"[UPDATE-FAILED], Operations, 3".to_string()));
        assert!(lines.contains(&"[UPDATE], Return=ERROR, 3".to_string()));
        let zero = OperationTotals::default();
        let none = summary_lines_of(1000, &[("UPDATE", &zero, &zero), ("READ", &zero, &zero)]);
        assert_eq!(none[1], "[OVERALL], Throughput(ops/sec), 0.0");
        assert!(!none.iter().any(|l| l.contains("FAILED")));
    }
}
