//! `loadgen`: a bounded load generator for the demo's etcd cluster.
//!
//! `loadgen etcd --duration 120s` drives etcd through its v3 JSON gateway from
//! several threads, each looping over every endpoint, and prints a Java-YCSB
//! status line on stderr every interval, then YCSB's `[OVERALL]` summary on
//! stdout. `loadgen etcd --check --wait 30s` exits 0 once every endpoint
//! answers a put. Degradation seen through it is real: a failed request is
//! counted and its endpoint skipped for a short, doubling backoff, so a dead or
//! frozen member costs little while the cluster keeps quorum, and a cluster
//! without quorum answers nothing.

mod checked;
mod etcd;
mod http;
mod signal;
mod stats;
mod ycsb;

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::{Args, Parser, Subcommand};

use crate::etcd::{Timeouts, Workload};
use crate::http::Endpoint;
use crate::ycsb::{LatencySummary, OperationTotals, StatusLine, Timestamp};

/// The longest run accepted: the generator must never outlive a demo by much.
const MAX_DURATION: Duration = Duration::from_secs(4 * 3600);

#[derive(Parser, Debug)]
#[command(
    name = "loadgen",
    version,
    about = "Bounded load generator printing Java-YCSB status lines"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Put keys into etcd through its v3 JSON gateway (POST /v3/kv/put).
    Etcd(EtcdArgs),
}

#[derive(Args, Debug)]
struct EtcdArgs {
    /// Comma-separated client URLs (http://HOST:PORT).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "http://127.0.0.1:23791,http://127.0.0.1:23792,http://127.0.0.1:23793"
    )]
    endpoints: Vec<String>,

    /// How long to run (e.g. 120s, 2m, 1h30m; at most 4h). Required unless --check.
    #[arg(long, value_parser = parse_duration, required_unless_present = "check")]
    duration: Option<Duration>,

    /// Worker threads; each loops over all endpoints.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: u16,

    /// Status line interval (YCSB's status.interval).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    interval: Duration,

    /// Deadline of one request, connect included [default: 500ms; 2s with --check].
    #[arg(long, value_parser = parse_duration)]
    timeout: Option<Duration>,

    /// Deadline of one TCP connect (also bounded by --timeout).
    #[arg(long, default_value = "200ms", value_parser = parse_duration)]
    connect_timeout: Duration,

    /// After a failed request, skip that endpoint for this long at first,
    /// doubling on each further failure up to --backoff-max.
    #[arg(long, default_value = "250ms", value_parser = parse_duration)]
    backoff: Duration,

    /// Longest skip of a failing endpoint (also how soon a member that came
    /// back is used again).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    backoff_max: Duration,

    /// Number of distinct keys written (uniformly at random).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    keys: u64,

    /// Bytes per value.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    value_size: u32,

    /// Prefix of every key.
    #[arg(long, default_value = "loadgen/user")]
    key_prefix: String,

    /// Put random keys only, checking nothing (the load before histories).
    /// By default each worker writes its own register and reads any, and
    /// every operation is checked: a `[VERDICT]` line follows each status
    /// line, and a final read counts the acknowledged writes etcd lost.
    #[arg(long)]
    no_history: bool,

    /// Out of 100 reads, how many are serializable (answered by whichever
    /// member gets them, without asking the quorum: a cut-off member
    /// answers them from its stale copy). Counted apart from the others.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    serializable_reads: u8,

    /// Prefix of the checked workload's keys (each run under its own start time).
    #[arg(long, default_value = "loadgen/history")]
    history_prefix: String,

    /// Label prefixed to each status line (YCSB's -l).
    #[arg(long, default_value = "")]
    label: String,

    /// Instead of generating load, exit 0 once every endpoint answers a put,
    /// non-zero (with the reasons) otherwise.
    #[arg(long)]
    check: bool,

    /// With --check: keep trying for this long before giving up.
    #[arg(long, default_value = "0s", value_parser = parse_duration, requires = "check")]
    wait: Duration,
}

/// Parses `500ms`, `2s`, `1.5s`, `2m`, `1h30m`; a bare number means seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = s.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("{s:?}: missing unit (ms, s, m or h)"))?;
        let (num, tail) = rest.split_at(num_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let value: f64 = num
            .parse()
            .map_err(|_| format!("{s:?}: bad number {num:?}"))?;
        let scale = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s, m or h)")),
        };
        total += Duration::try_from_secs_f64(value * scale).map_err(|e| format!("{s:?}: {e}"))?;
        rest = tail;
    }
    Ok(total)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Etcd(args) => etcd_command(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "loadgen: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn etcd_command(args: EtcdArgs) -> Result<ExitCode> {
    let endpoints = args
        .endpoints
        .iter()
        .filter(|e| !e.trim().is_empty())
        .map(|e| Endpoint::parse(e).map_err(anyhow::Error::msg))
        .collect::<Result<Vec<_>>>()?;
    if endpoints.is_empty() {
        bail!("no endpoints given");
    }
    let default_timeout = if args.check {
        Duration::from_secs(2)
    } else {
        Duration::from_millis(500)
    };
    let timeouts = Timeouts {
        request: args.timeout.unwrap_or(default_timeout),
        connect: args.connect_timeout,
    };
    if timeouts.request.is_zero() || timeouts.connect.is_zero() {
        bail!("--timeout and --connect-timeout must be positive");
    }

    if args.check {
        let ok = etcd::check(&endpoints, timeouts, args.wait);
        return Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }

    let duration = args.duration.context("--duration is required")?;
    if duration.is_zero() || duration > MAX_DURATION {
        bail!(
            "--duration must be between 1ms and {}s",
            MAX_DURATION.as_secs()
        );
    }
    if args.interval < Duration::from_millis(100) {
        bail!("--interval must be at least 100ms");
    }
    let workload = Workload {
        endpoints,
        threads: usize::from(args.threads),
        timeouts,
        keys: args.keys,
        value_size: args.value_size as usize,
        key_prefix: args.key_prefix,
        backoff_base: args.backoff,
        backoff_max: args.backoff_max,
    };
    let checked = (!args.no_history).then(|| {
        let run_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        checked::Checked {
            keys: checked::Keys::new(&args.history_prefix, run_ms),
            history: Arc::new(loadgen::history::History::new(workload.threads)),
            serializable_pct: args.serializable_reads,
        }
    });
    run(&workload, checked, duration, args.interval, &args.label)?;
    Ok(ExitCode::SUCCESS)
}

/// Accumulates interval samples into status lines and run totals.
struct Reporter {
    label: String,
    start: Instant,
    duration: Duration,
    last_at: Instant,
    total_ok: u64,
    ok: OperationTotals,
    failed: OperationTotals,
    read_ok: OperationTotals,
    read_failed: OperationTotals,
}

impl Reporter {
    fn status_line(&mut self, mut interval: stats::Interval, now: Instant) -> StatusLine {
        let ok = LatencySummary::from_samples(&mut interval.ok);
        let failed = LatencySummary::from_samples(&mut interval.failed);
        let read_ok = LatencySummary::from_samples(&mut interval.read_ok);
        let read_failed = LatencySummary::from_samples(&mut interval.read_failed);
        let ok_count = ok.as_ref().map_or(0, |s| s.count) + read_ok.as_ref().map_or(0, |s| s.count);
        self.total_ok += ok_count;
        let secs = now.duration_since(self.last_at).as_secs_f64();
        let current = if secs > 0.0 {
            ok_count as f64 / secs
        } else {
            0.0
        };
        self.last_at = now;
        let mut brackets = Vec::new();
        if let Some(s) = &ok {
            self.ok.add(s);
            brackets.push(s.bracket("UPDATE"));
        }
        if let Some(s) = &failed {
            self.failed.add(s);
            brackets.push(s.bracket("UPDATE-FAILED"));
        }
        if let Some(s) = &read_ok {
            self.read_ok.add(s);
            brackets.push(s.bracket("READ"));
        }
        if let Some(s) = &read_failed {
            self.read_failed.add(s);
            brackets.push(s.bracket("READ-FAILED"));
        }
        let elapsed = now.duration_since(self.start);
        let remaining = self.duration.saturating_sub(elapsed);
        StatusLine {
            label: self.label.clone(),
            timestamp: Timestamp::now_local(),
            elapsed_secs: elapsed.as_secs(),
            total_ops: self.total_ok,
            current_ops_per_sec: current,
            remaining_secs: Some(remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0)),
            brackets,
        }
    }
}

fn emit(line: &impl std::fmt::Display) {
    // Java YCSB prints its status on stderr; a closed stderr must not kill us.
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn run(
    workload: &Workload,
    checked: Option<checked::Checked>,
    duration: Duration,
    interval: Duration,
    label: &str,
) -> Result<()> {
    signal::install().context("installing signal handlers")?;
    let recorder = Arc::new(stats::Recorder::new(workload.threads));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let end = start + duration;
    let mut reporter = Reporter {
        label: label.to_string(),
        start,
        duration,
        last_at: start,
        total_ok: 0,
        ok: OperationTotals::default(),
        failed: OperationTotals::default(),
        read_ok: OperationTotals::default(),
        read_failed: OperationTotals::default(),
    };
    let checked = checked.map(Arc::new);
    // The verdict after each status line, with the same label.
    let verdict = |checked: &Option<Arc<checked::Checked>>| {
        if let Some(c) = checked {
            emit(&format!("{label}{}", c.history.verdict()));
        }
    };
    // Java YCSB's first line: nothing done yet.
    emit(&reporter.status_line(stats::Interval::default(), start));
    verdict(&checked);
    let spawned = match &checked {
        Some(c) => checked::spawn_workers(workload, c, &recorder, &stop),
        None => etcd::spawn_workers(workload, &recorder, &stop),
    };
    let workers = match spawned {
        Ok(w) => w,
        Err(e) => {
            stop.store(true, Ordering::Relaxed);
            return Err(e).context("starting worker threads");
        }
    };

    let mut tick = 1u32;
    loop {
        let next = (start + interval * tick).min(end);
        while Instant::now() < next && !signal::stopped() {
            thread::sleep(
                next.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(50)),
            );
        }
        let now = Instant::now();
        if signal::stopped() || now >= end {
            break;
        }
        emit(&reporter.status_line(recorder.drain(), now));
        verdict(&checked);
        tick += 1;
    }

    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    let now = Instant::now();
    emit(&reporter.status_line(recorder.drain(), now));
    if let Some(c) = &checked {
        // The final read confirms (or not) every acknowledged write, then
        // the run's keys go. A store that answers no final read leaves
        // `final=no`: lost writes were not checked, and the line says so.
        let workers = c.history.registers();
        if let Some(sets) =
            checked::final_read(&workload.endpoints, &c.keys, workers, workload.timeouts)
        {
            c.history.final_check(|w| sets[w].clone());
            checked::delete_run(&workload.endpoints, &c.keys, workload.timeouts);
        }
        verdict(&checked);
    }

    let runtime_ms = now.duration_since(start).as_millis() as u64;
    let mut out = std::io::stdout().lock();
    let ops = [
        ("UPDATE", &reporter.ok, &reporter.failed),
        ("READ", &reporter.read_ok, &reporter.read_failed),
    ];
    for line in ycsb::summary_lines_of(runtime_ms, &ops) {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("120s"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("-1").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn duration_is_required_unless_checking() {
        assert!(Cli::try_parse_from(["loadgen", "etcd"]).is_err());
        assert!(Cli::try_parse_from(["loadgen", "etcd", "--check", "--wait", "30s"]).is_ok());
        assert!(
            Cli::try_parse_from(["loadgen", "etcd", "--duration", "10s", "--wait", "3s"]).is_err()
        );
        let cli = Cli::try_parse_from([
            "loadgen",
            "etcd",
            "--endpoints",
            "http://127.0.0.1:1,http://127.0.0.1:2",
            "--duration",
            "120s",
            "--threads",
            "4",
        ])
        .unwrap();
        let Command::Etcd(a) = cli.command;
        assert_eq!(a.endpoints.len(), 2);
        assert_eq!(
            (a.duration, a.threads, a.interval),
            (Some(Duration::from_secs(120)), 4, Duration::from_secs(1))
        );
    }

    #[test]
    fn reporter_counts_only_successes_as_operations() {
        let start = Instant::now();
        let mut r = Reporter {
            label: String::new(),
            start,
            duration: Duration::from_secs(10),
            last_at: start,
            total_ok: 0,
            ok: OperationTotals::default(),
            failed: OperationTotals::default(),
            read_ok: OperationTotals::default(),
            read_failed: OperationTotals::default(),
        };
        let line = r.status_line(stats::Interval::default(), start);
        let text = line.to_string();
        assert!(
            text.ends_with(" 0 sec: 0 operations; est completion in 10 seconds "),
            "{text}"
        );

        let interval = stats::Interval {
            ok: vec![100, 200],
            failed: vec![5000],
            ..Default::default()
        };
        let line = r.status_line(interval, start + Duration::from_millis(500));
        assert_eq!(line.total_ops, 2);
        assert_eq!(ycsb::format_decimal(line.current_ops_per_sec), "4");
        let text = line.to_string();
        assert!(text.contains(" 0 sec: 2 operations; 4 current ops/sec; est completion in 10 seconds [UPDATE: Count=2,"), "{text}");
        assert!(
            text.contains("[UPDATE-FAILED: Count=1, Max=5000, Min=5000, Avg=5000,"),
            "{text}"
        );

        let line = r.status_line(
            stats::Interval::default(),
            start + Duration::from_millis(1500),
        );
        let text = line.to_string();
        assert!(
            text.contains(" 1 sec: 2 operations; 0 current ops/sec; est completion in 9 seconds "),
            "{text}"
        );
        assert!(!text.contains('['), "{text}");
    }
}
