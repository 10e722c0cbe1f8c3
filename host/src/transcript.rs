//! The headless transcript: one JSON object per line, each with `t_ms` (since
//! the host started) and `event` (chapter, narration, countdown, fault,
//! restore, node, workload, error, quit, done). `host report` reads it back
//! (`report/`), so it carries what the report draws: the flow's name on
//! chapter lines, whether a fault is `disruptive`, each sample's `p99_us`,
//! the wall clock, machine and platform on the `done` line.
//! Fields are only ever added: existing ones keep their names and meaning.

use crate::app::App;
use crate::cluster::{ClusterEvent, Node};
use crate::events::Event;
use crate::markup;
use crate::workload::WorkloadEvent;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::time::Instant;

/// serde_json escapes C0 controls but writes C1 controls (U+0080–U+009F)
/// and bidi controls raw, and a UTF-8 terminal acts on those when someone
/// `cat`s the transcript. Outside strings a JSON line holds only ASCII, so
/// escaping every such char in the serialized line is valid JSON with the
/// same values.
fn escape_terminal_controls(line: &str) -> Cow<'_, str> {
    if !line.contains(is_raw_terminal_control) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 16);
    for c in line.chars() {
        if is_raw_terminal_control(c) {
            out.push_str(&format!("\\u{:04X}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// C1 controls, and bidi embeddings, overrides and isolates.
fn is_raw_terminal_control(c: char) -> bool {
    matches!(c, '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

pub struct Transcript {
    out: Box<dyn Write + Send>,
    started: Instant,
    /// Last state seen per container, so `node` lines are changes only.
    nodes: HashMap<String, Node>,
}

impl Transcript {
    pub fn new(out: Box<dyn Write + Send>, started: Instant) -> Self {
        Transcript {
            out,
            started,
            nodes: HashMap::new(),
        }
    }

    fn write(&mut self, event: &str, mut fields: Value) {
        if let Value::Object(map) = &mut fields {
            map.insert(
                "t_ms".into(),
                json!(self.started.elapsed().as_millis() as u64),
            );
            map.insert("event".into(), json!(event));
        }
        let line = fields.to_string();
        // A transcript that cannot be written must not stop the show.
        if writeln!(self.out, "{}", escape_terminal_controls(&line))
            .and_then(|_| self.out.flush())
            .is_err()
        {
            tracing::warn!("cannot write the transcript");
        }
    }

    pub fn chapter(&mut self, app: &App) {
        let title = app.flow.chapters.get(app.chapter).map(|c| c.title.clone());
        self.write(
            "chapter",
            json!({
                "index": app.chapter,
                "title": title,
                "of": app.flow.chapters.len(),
                "flow": app.flow.name,
                "flow_version": app.flow.version,
            }),
        );
        let text = markup::plain(&app.narration.join("\n"));
        self.write("narration", json!({"text": text, "mode": "chapter"}));
    }

    pub fn record(&mut self, event: &Event) {
        match event {
            Event::FaultsStopped {
                reason,
                breached_at_ms,
                restored_at_ms,
                restored,
                failed,
            } => self.write(
                "stopped",
                json!({
                    "reason": reason,
                    "breached_at_ms": breached_at_ms,
                    "restored_at_ms": restored_at_ms,
                    "breach_to_restored_ms": restored_at_ms.saturating_sub(*breached_at_ms),
                    "restored": restored,
                    "failed": failed,
                }),
            ),
            Event::NarrationSet { markup, .. } => self.write(
                "narration",
                json!({"text": markup::plain(markup), "mode": "set"}),
            ),
            Event::NarrationAppend { markup, .. } => self.write(
                "narration",
                json!({"text": markup::plain(markup), "mode": "append"}),
            ),
            Event::Badge { text, level, .. } => {
                self.write("narration", json!({"badge": text, "level": level}))
            }
            Event::Countdown {
                remaining, label, ..
            } => self.write("countdown", json!({"remaining": remaining, "label": label})),
            Event::ChapterFinished {
                index,
                outcome: Err(message),
                ..
            } => self.write("error", json!({"chapter": index, "message": message})),
            Event::ChapterFinished { .. } => {}
            Event::Cluster(event) => self.record_cluster(event),
            Event::Workload(event) => self.record_workload(event),
            Event::RestoreFinished => {}
        }
    }

    fn record_cluster(&mut self, event: &ClusterEvent) {
        match event {
            // The `fault` line follows once it is made.
            ClusterEvent::FaultStarting => {}
            ClusterEvent::Performed(performed) => {
                let mut line = json!(performed);
                // A fault (kill, pause, partition…) or its undo (start, heal…).
                line["disruptive"] = json!(performed.action.is_disruptive());
                self.write("fault", line)
            }
            ClusterEvent::NodesChanged(nodes) => {
                for node in nodes {
                    if self.nodes.get(&node.id) != Some(node) {
                        self.nodes.insert(node.id.clone(), node.clone());
                        self.write("node", json!(node));
                    }
                }
            }
            ClusterEvent::DockerUnavailable(why) => {
                self.write("error", json!({"message": why, "source": "docker"}))
            }
            // Written as it always was: an error line whose message is null.
            ClusterEvent::DockerAvailable => {
                self.write("error", json!({"message": null, "source": "docker"}))
            }
            ClusterEvent::Restored(outcome) => self.write("restore", json!(outcome)),
        }
    }

    fn record_workload(&mut self, event: &WorkloadEvent) {
        match event {
            WorkloadEvent::Sample(view) => self.write(
                "workload",
                json!({
                    "kind": "sample",
                    "ops_per_sec": view.current.as_ref().map(|s| s.ops_per_sec),
                    "failures_per_sec": view.current.as_ref().map(|s| s.failures_per_sec),
                    // The slowest operation's p99 in this sample, when the tool prints one.
                    "p99_us": view.current.as_ref().and_then(|s| {
                        s.ops.iter().filter_map(|o| o.p99_us).reduce(f64::max)
                    }),
                    "baseline": view.baseline,
                    "status": view.status,
                    "samples": view.samples_seen,
                    "rehearsal": view.rehearsal,
                }),
            ),
            WorkloadEvent::StatusChanged { from, to } => self.write(
                "workload",
                json!({"kind": "status", "from": from, "status": to}),
            ),
            WorkloadEvent::SourceFailed(message) => {
                self.write("error", json!({"message": message, "source": "workload"}))
            }
            WorkloadEvent::Verdict { verdicts, first } => self.write(
                "verdict",
                json!({
                    "acknowledged": verdicts.latest.acknowledged,
                    "failed": verdicts.latest.failed,
                    "unknown": verdicts.latest.unknown,
                    "reads": verdicts.latest.reads,
                    "stale": verdicts.latest.stale,
                    "stale_serializable": verdicts.latest.stale_serializable,
                    "lost": verdicts.latest.lost,
                    "final": verdicts.latest.final_read,
                    "first": first,
                }),
            ),
            WorkloadEvent::BadVerdict(message) => self.write(
                "workload",
                json!({"kind": "bad-verdict", "message": message}),
            ),
            WorkloadEvent::Finished => self.write("workload", json!({"kind": "finished"})),
        }
    }

    /// Steady-state judgements not written yet (the show calls this after
    /// each event; `written` is how many it wrote before).
    pub fn judgements(
        &mut self,
        judged: &[crate::hypotheses::checker::Judgement],
        written: &mut usize,
    ) {
        for j in judged.iter().skip(*written) {
            self.write("hypothesis", json!(j));
        }
        *written = judged.len();
    }

    /// The presenter (or a signal) ended the show; restoring starts now.
    pub fn quit(&mut self, reason: &str) {
        self.write("quit", json!({"reason": reason}));
    }

    /// The show is over. Also says when by the wall clock and on which
    /// machine, so `host report --format chaostoolkit` can date the journal
    /// and name its node and platform as Chaos Toolkit does.
    pub fn done(&mut self, reason: &str, outstanding_faults: usize) {
        let unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let (node, platform) = machine();
        self.write(
            "done",
            json!({
                "reason": reason,
                "outstanding_faults": outstanding_faults,
                "unix_ms": unix_ms,
                "node": node,
                "platform": platform,
            }),
        );
    }
}

/// This machine's name and platform, as a Chaos Toolkit journal records
/// them (Python's `platform.node()`, and `platform.platform()` without its
/// libc part: `Linux-6.1.0-18-amd64-x86_64`).
fn machine() -> (String, String) {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let node = read("/proc/sys/kernel/hostname").unwrap_or_else(|| "unknown".into());
    let os = match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Darwin",
        other => other,
    };
    let arch = std::env::consts::ARCH;
    let platform = match read("/proc/sys/kernel/osrelease") {
        Some(release) => format!("{os}-{release}-{arch}"),
        None => format!("{os}-{arch}"),
    };
    (node, platform)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Level;
    use std::sync::{Arc, Mutex};

    /// A sink the test reads back after the transcript wrote to it.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn c1_and_bidi_controls_are_escaped_and_read_back_unchanged() {
        let sink = Shared::default();
        let mut transcript = Transcript::new(Box::new(sink.clone()), Instant::now());
        let badge = "evil\u{9b}31m\u{9d}2;PWNED\u{9c}\u{85}\u{202e}txt.exe\u{2066}\x1b[0m";
        transcript.record(&Event::Badge {
            run: 0,
            text: badge.into(),
            level: Level::Danger,
        });
        let written = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let line = written.strip_suffix('\n').unwrap();
        assert!(
            !line
                .chars()
                .any(|c| c.is_control() || is_raw_terminal_control(c)),
            "{line:?}"
        );
        assert!(
            line.contains("\\u009B") && line.contains("\\u202E"),
            "{line}"
        );
        let parsed: Value = serde_json::from_str(line).unwrap();
        assert_eq!(parsed["badge"], badge);
    }

    #[test]
    fn a_line_without_such_chars_is_written_as_serde_json_wrote_it() {
        let line = json!({"title": "Lose quorum ●", "tab": "\t"}).to_string();
        assert!(matches!(escape_terminal_controls(&line), Cow::Borrowed(l) if l == line));
    }

    /// The cluster's typed events keep the lines the e2e tests read.
    #[test]
    fn cluster_events_keep_their_transcript_lines() {
        use crate::cluster::{NetworkAction, Performed};
        let sink = Shared::default();
        let mut transcript = Transcript::new(Box::new(sink.clone()), Instant::now());
        transcript.record(&Event::Cluster(ClusterEvent::Performed(Performed {
            action: NetworkAction::Partition.into(),
            service: "etcd1".into(),
            container: "p-etcd1-1".into(),
            id: "abc".into(),
        })));
        transcript.record(&Event::Cluster(ClusterEvent::DockerUnavailable(
            "no socket".into(),
        )));
        transcript.record(&Event::Cluster(ClusterEvent::DockerAvailable));
        let written = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = written
            .lines()
            .map(|line| {
                let mut value: Value = serde_json::from_str(line).unwrap();
                value.as_object_mut().unwrap().remove("t_ms");
                value
            })
            .collect();
        assert_eq!(
            lines,
            [
                json!({"event": "fault", "action": "partition", "service": "etcd1",
                       "container": "p-etcd1-1", "id": "abc", "disruptive": true}),
                json!({"event": "error", "source": "docker", "message": "no socket"}),
                json!({"event": "error", "source": "docker", "message": null}),
            ]
        );
    }

    #[test]
    fn the_done_line_dates_the_show_and_names_the_machine() {
        let sink = Shared::default();
        let mut transcript = Transcript::new(Box::new(sink.clone()), Instant::now());
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        transcript.done("completed", 0);
        let written = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let done: Value = serde_json::from_str(written.trim()).unwrap();
        assert_eq!(done["reason"], "completed");
        let unix_ms = done["unix_ms"].as_u64().unwrap();
        assert!(unix_ms >= before && unix_ms < before + 60_000, "{done}");
        assert!(!done["node"].as_str().unwrap().is_empty());
        let platform = done["platform"].as_str().unwrap();
        assert!(platform.ends_with(std::env::consts::ARCH), "{platform}");
    }
}
