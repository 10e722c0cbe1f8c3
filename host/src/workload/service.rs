//! `service:NAME`: follow the logs (stdout and stderr) of a compose service's
//! container through the Engine API, re-attaching when the container restarts.

use super::{Feed, Report, Stream, WorkloadEvent};
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const REATTACH_DELAY: Duration = Duration::from_secs(1);

/// One chunk of a service's output: which stream, and its bytes, starting
/// with the engine's timestamp (`2026-11-23T12:40:02.123456789Z `).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFrame {
    pub stream: Stream,
    pub bytes: Vec<u8>,
}

/// The log frames of one container; the stream ends when the container
/// stops or the engine fails.
pub type LogFrames = BoxStream<'static, LogFrame>;

/// Where a compose service's container logs come from. The show hands in
/// the cluster's log handle; the workload needs nothing else of Docker.
pub trait LogSource: Send + Sync {
    /// The frames of `service`'s container: every frame since `since` (whole
    /// seconds since 1970), or without it only those from now on. `None`
    /// when the service has no container now (or Docker cannot say).
    fn attach<'a>(
        &'a self,
        service: &'a str,
        since: Option<i32>,
    ) -> BoxFuture<'a, Option<LogFrames>>;

    /// Where services are looked for, as the presenter reads it
    /// (`project 'demo'`).
    fn scope(&self) -> String;
}

/// Nanoseconds since 1970 of a Docker log timestamp (RFC 3339 in UTC with up to
/// nine fraction digits, `2026-11-23T12:40:02.123456789Z`).
pub fn docker_time_ns(stamp: &str) -> Option<i64> {
    let (date, time) = stamp.strip_suffix('Z')?.split_once('T')?;
    let mut date = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut clock = clock.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos = if fraction.is_empty() {
        0
    } else {
        fraction.parse::<i64>().ok()? * 10i64.pow(9 - fraction.len() as u32)
    };
    let days = super::parse::days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// Splits Docker's log frames into lines, dropping frames already seen before a
/// re-attach (by their timestamp).
#[derive(Debug, Default)]
struct LineAssembler {
    /// Unfinished line per stream.
    pending: [String; 2],
    /// Timestamp of the newest frame handed on.
    seen_until_ns: Option<i64>,
}

impl LineAssembler {
    /// The complete lines `frame` finishes. `frame` starts with the timestamp
    /// Docker adds when asked for `timestamps`.
    fn push(&mut self, stream: Stream, frame: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(frame);
        let (stamp, message) = text.split_once(' ').unwrap_or(("", &text));
        if let Some(ns) = docker_time_ns(stamp) {
            if self.seen_until_ns.is_some_and(|seen| ns <= seen) {
                return Vec::new();
            }
            self.seen_until_ns = Some(ns);
        }
        let buffer = &mut self.pending[stream as usize];
        buffer.push_str(message);
        let mut lines = Vec::new();
        while let Some(pos) = buffer.find('\n') {
            let line: String = buffer.drain(..=pos).collect();
            lines.push(line.trim_end_matches(['\n', '\r']).to_owned());
        }
        lines
    }

    /// The stream ended: unfinished lines are complete (the process stopped),
    /// and whatever comes next is newer than now.
    fn end(&mut self) -> Vec<(Stream, String)> {
        self.seen_until_ns = Some(self.seen_until_ns.unwrap_or(0).max(now_ns()));
        [Stream::Stdout, Stream::Stderr]
            .into_iter()
            .filter_map(|stream| {
                let line = std::mem::take(&mut self.pending[stream as usize]);
                (!line.is_empty()).then_some((stream, line))
            })
            .collect()
    }

    /// Where to resume after a re-attach: the second of the newest frame seen
    /// (Docker's `since` has whole seconds; the timestamps weed out repeats).
    fn since(&self) -> Option<i32> {
        self.seen_until_ns
            .map(|ns| i32::try_from(ns.div_euclid(1_000_000_000)).unwrap_or(i32::MAX))
    }
}

/// Follows the logs of `service`'s container until shutdown. The first attach
/// starts at the present (an old run's lines would fake a baseline); later ones
/// resume where the previous stream stopped, so a restarted tool's first lines
/// are not lost while the host notices the restart.
pub(super) async fn follow(
    service: String,
    logs: Arc<dyn LogSource>,
    lines: mpsc::Sender<Feed>,
    report: Report,
    shutdown: CancellationToken,
) {
    let mut reported = false;
    let mut assembler = LineAssembler::default();
    loop {
        let attached = tokio::select! {
            _ = shutdown.cancelled() => return,
            attached = logs.attach(&service, assembler.since()) => attached,
        };
        match attached {
            Some(mut frames) => {
                reported = false;
                loop {
                    let next = tokio::select! {
                        _ = shutdown.cancelled() => return,
                        next = frames.next() => next,
                    };
                    let Some(frame) = next else { break };
                    let stream = frame.stream;
                    for line in assembler.push(stream, &frame.bytes) {
                        if lines.send(Feed::Line(stream, line)).await.is_err() {
                            return;
                        }
                    }
                }
                for (stream, line) in assembler.end() {
                    if lines.send(Feed::Line(stream, line)).await.is_err() {
                        return;
                    }
                }
            }
            None if !reported => {
                reported = true;
                report(WorkloadEvent::SourceFailed(format!(
                    "no container of service '{service}' in {}",
                    logs.scope()
                )));
            }
            None => {}
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(REATTACH_DELAY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Cluster;
    use crate::cluster::ledger::Ledger;
    use crate::test_support::EtcdContainer;

    #[test]
    fn docker_timestamps_parse_to_nanoseconds() {
        assert_eq!(docker_time_ns("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(
            docker_time_ns("2026-11-23T12:40:02.5Z"),
            Some(1_795_437_602_500_000_000)
        );
        assert_eq!(
            docker_time_ns("2026-11-23T12:40:02.000000001Z"),
            Some(1_795_437_602_000_000_001)
        );
        for bad in [
            "",
            "x",
            "2026-11-23T12:40:02",
            "2026-11-23T12:40:02.1234567890Z",
            "2026-11-23T12:40:02.-1Z",
            "2026-11-23 12:40:02Z",
        ] {
            assert_eq!(docker_time_ns(bad), None, "{bad}");
        }
    }

    #[test]
    fn frames_become_lines_per_stream_without_repeats() {
        let mut a = LineAssembler::default();
        assert_eq!(
            a.push(
                Stream::Stdout,
                b"2026-11-23T12:40:02.1Z READ - Takes(s): 1.0, "
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            a.push(Stream::Stderr, b"2026-11-23T12:40:02.2Z warn\r\n"),
            ["warn"]
        );
        assert_eq!(
            a.push(Stream::Stdout, b"2026-11-23T12:40:02.3Z Count: 5\nnext"),
            ["READ - Takes(s): 1.0, Count: 5"]
        );
        assert_eq!(a.since(), Some(1_795_437_602));
        // After a re-attach Docker resends the whole second; only newer frames count.
        assert!(
            a.push(Stream::Stderr, b"2026-11-23T12:40:02.2Z warn\n")
                .is_empty()
        );
        assert!(
            a.push(Stream::Stdout, b"2026-11-23T12:40:02.3Z old\n")
                .is_empty()
        );
        assert_eq!(
            a.push(Stream::Stdout, b"2026-11-23T12:40:02.4Z  line\n"),
            ["next line"]
        );
        assert_eq!(a.end(), []);
        assert!(a.since().unwrap() >= 1_795_437_602);
    }

    /// Lines received until one contains `needle`; `None` if none did within
    /// `limit` (a bound against hanging, not a speed requirement).
    async fn lines_until(
        rx: &mut mpsc::Receiver<Feed>,
        needle: &str,
        limit: Duration,
    ) -> Option<Vec<(Stream, String)>> {
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(Feed::Line(stream, line))) => {
                    let done = line.contains(needle);
                    got.push((stream, line));
                    if done {
                        return Some(got);
                    }
                }
                Ok(Some(Feed::Sample(_) | Feed::Finished)) => {}
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// A real container's stderr arrives, and after `docker restart` the new
    /// process's very first lines arrive too, exactly once.
    // Multi-threaded: the test's blocking `docker` calls must not stall the follower.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs a Docker engine"]
    async fn follows_a_real_container_across_restarts_with_docker() {
        crate::test_support::require_docker_engine(
            "follows_a_real_container_across_restarts_with_docker",
        )
        .await;
        let project = format!("wl-svc-{}", std::process::id());
        let etcd = EtcdContainer::start(&project, "etcd");
        let state = std::env::temp_dir().join(&project);
        let ledger = Ledger::open(&state, &project).unwrap();
        let cluster = Cluster::connect(project.clone(), ledger, |_| {}).await;
        // The handle the show hands the workload (its `LogSource` is in show.rs).
        let logs = Arc::new(cluster.service_logs());
        let (report, _events) = crate::workload::reported();
        let (tx, mut rx) = mpsc::channel(4096);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(follow("etcd".into(), logs, tx, report, shutdown.clone()));

        // The first attach starts at the present, so the lines of a restart prove
        // they arrive; the attach may come after the first restart, hence retries.
        const STARTED: &str = "etcdmain: etcd Version: 3.4.23";
        let mut first = None;
        // Usually enough for the first attach; the retries cover a slow one.
        tokio::time::sleep(Duration::from_secs(2)).await;
        for _ in 0..3 {
            etcd.restart();
            first = lines_until(&mut rx, STARTED, Duration::from_secs(20)).await;
            if first.is_some() {
                break;
            }
        }
        let first = first.expect("etcd's startup lines arrive through the Engine API");
        assert!(first.iter().all(|(stream, _)| *stream == Stream::Stderr));

        // Re-attach: the restarted process's first line arrives although it was
        // printed before the host noticed the restart, and only once.
        etcd.restart();
        let second = lines_until(&mut rx, STARTED, Duration::from_secs(30))
            .await
            .expect("lines after a restart arrive");
        assert_eq!(
            second.iter().filter(|(_, l)| l.contains(STARTED)).count(),
            1,
            "{second:?}"
        );
        // etcd stamps its lines to the microsecond, so a stamped line seen twice
        // was sent twice.
        let stamped: Vec<&String> = first
            .iter()
            .chain(&second)
            .map(|(_, l)| l)
            .filter(|l| l.starts_with("20"))
            .collect();
        let unique: std::collections::HashSet<&&String> = stamped.iter().collect();
        assert_eq!(unique.len(), stamped.len(), "a line was repeated");

        shutdown.cancel();
        task.await.unwrap();
        let _ = std::fs::remove_dir_all(&state);
    }

    #[test]
    fn an_unfinished_line_is_complete_when_the_stream_ends() {
        let mut a = LineAssembler::default();
        assert!(
            a.push(Stream::Stderr, b"2026-11-23T12:40:02Z bye")
                .is_empty()
        );
        assert_eq!(a.end(), [(Stream::Stderr, "bye".to_owned())]);
    }
}
