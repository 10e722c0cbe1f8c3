//! `file:PATH[@SPEED]`: replay a recorded load-tool log at its own pace, for
//! rehearsals. The pace comes from the lines themselves (Java YCSB's timestamps,
//! go-ycsb's `Takes(s)`), divided by SPEED.

use super::parse::{LineTime, line_time};
use super::{Feed, Report, Stream, WorkloadEvent};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A corrupt or concatenated log can claim hours between two lines; a rehearsal
/// must not stall on that.
const MAX_GAP: Duration = Duration::from_secs(60);

/// How long to wait before each line so that the replay keeps the recorded pace.
#[derive(Debug)]
pub struct ReplayClock {
    speed: f64,
    /// The latest time seen, of the same kind as the line being compared.
    last: Option<LineTime>,
}

impl ReplayClock {
    /// `speed` must be finite and positive (checked when the source is parsed).
    pub fn new(speed: f64) -> Self {
        Self { speed, last: None }
    }

    /// The pause before sending `line`: the recorded gap since the previous timed
    /// line, divided by the speed. Untimed lines go out at once.
    pub fn delay_before(&mut self, line: &str) -> Duration {
        let Some(now) = line_time(line) else {
            return Duration::ZERO;
        };
        let gap = match (self.last, now) {
            (Some(LineTime::Wall(a)), LineTime::Wall(b))
            | (Some(LineTime::Elapsed(a)), LineTime::Elapsed(b)) => {
                // Java YCSB's clocks only go forward within a run; backwards is the
                // next run of a concatenated log, which starts at once.
                self.last = Some(now);
                b - a
            }
            (Some(LineTime::Takes(a)), LineTime::Takes(b)) => {
                // Each go-ycsb operation has its own Takes(s) (an operation first
                // seen later reads lower), so only the latest one moves the clock,
                // unless it fell so far that the tool must have restarted.
                if b > a || b < a / 2.0 {
                    self.last = Some(now);
                }
                b - a
            }
            _ => {
                self.last = Some(now);
                0.0
            }
        };
        // Whole milliseconds: the timer's resolution, and the printed clocks'.
        let ms = (gap / self.speed * 1000.0).round();
        if ms.is_finite() && ms > 0.0 {
            Duration::from_millis(ms.min(MAX_GAP.as_millis() as f64) as u64)
        } else {
            Duration::ZERO
        }
    }
}

/// Parses the `PATH[@SPEED]` of a `file:` source. An `@` followed by something
/// that is not a number belongs to the path.
pub fn parse_spec(text: &str) -> anyhow::Result<(PathBuf, f64)> {
    let (path, speed) = match text.rsplit_once('@') {
        Some((path, speed)) if speed.parse::<f64>().is_ok() => {
            let speed: f64 = speed.parse()?;
            if !(speed.is_finite() && speed > 0.0) {
                anyhow::bail!("replay speed must be a positive number (got '{speed}')");
            }
            (path, speed)
        }
        _ => (text, 1.0),
    };
    let path = PathBuf::from(path);
    check_readable(&path)?;
    Ok((path, speed))
}

/// Fails now, with one line, rather than after the presenter's UI opened.
fn check_readable(path: &Path) -> anyhow::Result<()> {
    match std::fs::File::open(path) {
        Ok(f) if f.metadata().is_ok_and(|m| m.is_file()) => Ok(()),
        Ok(_) => anyhow::bail!("cannot replay {}: not a file", path.display()),
        Err(e) => anyhow::bail!("cannot replay {}: {e}", path.display()),
    }
}

/// Sends the file's lines at the recorded pace, then ends.
pub(super) async fn run(
    path: PathBuf,
    speed: f64,
    lines: mpsc::Sender<Feed>,
    report: Report,
    shutdown: CancellationToken,
) {
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) => {
            report(WorkloadEvent::SourceFailed(format!(
                "cannot replay {}: {e}",
                path.display()
            )));
            return;
        }
    };
    let mut reader = tokio::io::BufReader::new(file).split(b'\n');
    let mut clock = ReplayClock::new(speed);
    loop {
        let bytes = tokio::select! {
            _ = shutdown.cancelled() => return,
            next = reader.next_segment() => match next {
                Ok(Some(bytes)) => bytes,
                Ok(None) => break,
                Err(e) => {
                    report(WorkloadEvent::SourceFailed(format!(
                        "cannot read {}: {e}", path.display()
                    )));
                    return;
                }
            },
        };
        let line = String::from_utf8_lossy(&bytes)
            .trim_end_matches('\r')
            .to_owned();
        let delay = clock.delay_before(&line);
        if !delay.is_zero() {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
        }
        if lines.send(Feed::Line(Stream::Stdout, line)).await.is_err() {
            return;
        }
    }
    tracing::info!("the replay of {} finished", path.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delays(speed: f64, text: &str) -> Vec<Duration> {
        let mut clock = ReplayClock::new(speed);
        text.lines().map(|l| clock.delay_before(l)).collect()
    }

    const JAVA: &str = "2017-05-20 18:55:34:606 0 sec: 0 operations; est completion in 0 seconds 
Loading workload...
2017-05-20 18:55:44:512 10 sec: 376385 operations; 37634.74 current ops/sec;
2017-05-20 18:55:54:512 20 sec: 976385 operations; 60000 current ops/sec;";

    #[test]
    fn java_lines_keep_their_wall_clock_gaps_divided_by_speed() {
        assert_eq!(
            delays(1.0, JAVA),
            [
                Duration::ZERO,
                Duration::ZERO,
                Duration::from_millis(9906),
                Duration::from_secs(10)
            ]
        );
        assert_eq!(
            delays(2.0, JAVA),
            [
                Duration::ZERO,
                Duration::ZERO,
                Duration::from_millis(4953),
                Duration::from_secs(5)
            ]
        );
    }

    #[test]
    fn java_lines_without_dates_use_elapsed_seconds() {
        let text = " 10 sec: 1 operations; 1 current ops/sec;\n 20 sec: 2 operations; 1 current ops/sec;\n 5 sec: 2 operations; 1 current ops/sec;\n 7 sec: 2 operations; 1 current ops/sec;";
        assert_eq!(
            delays(2.0, text),
            [
                Duration::ZERO,
                Duration::from_secs(5),
                Duration::ZERO,
                Duration::from_secs(1)
            ],
            "a clock going back is the next run"
        );
    }

    #[test]
    fn go_ycsb_reports_are_paced_by_their_latest_takes() {
        let text = "READ   - Takes(s): 8.2, Count: 1
READ_ERROR - Takes(s): 7.2, Count: 1
TOTAL  - Takes(s): 8.2, Count: 1
READ   - Takes(s): 18.2, Count: 2
READ_ERROR - Takes(s): 17.2, Count: 2
TOTAL  - Takes(s): 18.2, Count: 2
READ   - Takes(s): 1.0, Count: 1
READ   - Takes(s): 3.0, Count: 1";
        let d = delays(1.0, text);
        assert_eq!(d[..3], [Duration::ZERO; 3]);
        assert_eq!(d[3], Duration::from_secs(10));
        assert_eq!(d[4..7], [Duration::ZERO; 3], "restart at 1.0");
        assert_eq!(d[7], Duration::from_secs(2));
    }

    #[test]
    fn huge_recorded_gaps_are_capped() {
        let text = " 1 sec: 1 operations;\n 99999999 sec: 2 operations;";
        assert_eq!(delays(1.0, text)[1], MAX_GAP);
    }

    #[test]
    fn spec_reads_speed_and_rejects_missing_files() {
        let dir = std::env::temp_dir().join(format!("wl-replay-spec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("run@home.log");
        std::fs::write(&file, "x\n").unwrap();
        let text = file.display().to_string();

        assert_eq!(parse_spec(&text).unwrap(), (file.clone(), 1.0));
        assert_eq!(
            parse_spec(&format!("{text}@2.5")).unwrap(),
            (file.clone(), 2.5)
        );
        for bad in ["0", "-1", "inf", "NaN"] {
            let err = parse_spec(&format!("{text}@{bad}"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("positive number"), "{bad}: {err}");
        }
        let err = parse_spec("/nonexistent/run.log@2")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("cannot replay /nonexistent/run.log:"),
            "{err}"
        );
        let err = parse_spec(&dir.display().to_string())
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("not a file"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn replay_sends_every_line_then_ends() {
        let dir = std::env::temp_dir().join(format!("wl-replay-run-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("run.log");
        // Untimed lines and one timed line: no waiting, so the test is quick.
        std::fs::write(&file, b"a\r\n 1 sec: 1 operations;\nb\xff\n").unwrap();
        let (tx, mut rx) = mpsc::channel(8);
        let (report, _events) = crate::workload::reported();
        run(file, 1.0, tx, report, CancellationToken::new()).await;
        let mut got = Vec::new();
        while let Some(Feed::Line(_, line)) = rx.recv().await {
            got.push(line);
        }
        assert_eq!(got, ["a", " 1 sec: 1 operations;", "b\u{fffd}"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
