//! Reading a transcript back: each JSON line into the [`Timeline`] (samples,
//! fault windows, degraded stretches, chapters) and into the rows of the
//! report's timeline table. A line that is not JSON, or lacks `t_ms` or
//! `event`, is counted and skipped; a field of the wrong type reads as
//! missing. Nothing here trusts the text it reads: it is escaped where it is
//! written out (`html.rs`).

use crate::timeline::{Bounds, Timeline};
use serde_json::Value;

/// The most rows the timeline table lists; later ones are counted only.
pub const MAX_ENTRIES: usize = 5_000;

/// What the kind of a timeline row is, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Chapter,
    Fault,
    /// An action that undoes a fault (start, unpause, heal, …).
    Undo,
    Restore,
    RestoreFailed,
    Node,
    Workload,
    Error,
    End,
}

/// One row of the timeline table.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub t_ms: u64,
    pub kind: Kind,
    pub text: String,
}

/// How the show ended, from its `done` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub t_ms: u64,
    pub reason: String,
    pub outstanding_faults: u64,
}

/// A show as its transcript tells it.
#[derive(Debug, Clone)]
pub struct Show {
    /// The flow's name and version (transcripts written before chapter lines
    /// carried them have none).
    pub flow: Option<(String, String)>,
    pub timeline: Timeline,
    pub entries: Vec<Entry>,
    /// Rows past [`MAX_ENTRIES`], not listed.
    pub entries_left_out: usize,
    pub done: Option<Done>,
    /// Lines that were not transcript lines.
    pub skipped_lines: usize,
    /// Samples carrying a p99.
    pub p99_samples: usize,
    /// The last line's time.
    pub last_ms: u64,
}

impl Show {
    /// How long the transcript covers.
    pub fn duration_ms(&self) -> u64 {
        self.last_ms.max(self.timeline.latest_ms())
    }

    fn push(&mut self, t_ms: u64, kind: Kind, text: String) {
        if self.entries.len() < MAX_ENTRIES {
            self.entries.push(Entry { t_ms, kind, text });
        } else {
            self.entries_left_out += 1;
        }
    }
}

fn text<'a>(line: &'a Value, key: &str) -> &'a str {
    line[key].as_str().unwrap_or("")
}

/// Transcripts from before fault lines said `disruptive`: the undo actions
/// the host had then.
fn disruptive_by_name(action: &str) -> bool {
    !matches!(action, "start" | "unpause" | "heal" | "unshape")
}

pub fn read(transcript: &str) -> Show {
    let mut show = Show {
        flow: None,
        timeline: Timeline::new(Bounds::WHOLE_SHOW),
        entries: Vec::new(),
        entries_left_out: 0,
        done: None,
        skipped_lines: 0,
        p99_samples: 0,
        last_ms: 0,
    };
    for raw in transcript.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(line) = serde_json::from_str::<Value>(raw) else {
            show.skipped_lines += 1;
            continue;
        };
        let (Some(t), Some(event)) = (line["t_ms"].as_u64(), line["event"].as_str()) else {
            show.skipped_lines += 1;
            continue;
        };
        show.last_ms = show.last_ms.max(t);
        read_line(&mut show, t, event, &line);
    }
    show
}

fn read_line(show: &mut Show, t: u64, event: &str, line: &Value) {
    match event {
        "chapter" => {
            let index = line["index"].as_u64().unwrap_or(0) as usize;
            let title = text(line, "title");
            if let Some(name) = line["flow"].as_str() {
                show.flow = Some((name.to_string(), text(line, "flow_version").to_string()));
            }
            show.timeline.chapter(t, index, title);
            let of = line["of"]
                .as_u64()
                .map(|n| format!("/{n}"))
                .unwrap_or_default();
            show.push(
                t,
                Kind::Chapter,
                format!("Chapter {}{of}: {title}", index + 1),
            );
        }
        "fault" => {
            let action = text(line, "action");
            let disruptive = line["disruptive"]
                .as_bool()
                .unwrap_or_else(|| disruptive_by_name(action));
            let (service, id) = (text(line, "service"), text(line, "id"));
            show.timeline.performed(t, action, disruptive, service, id);
            let kind = if disruptive { Kind::Fault } else { Kind::Undo };
            let container = text(line, "container");
            show.push(t, kind, format!("{action} {service} ({container})"));
        }
        "restore" => {
            let ok = line["ok"].as_bool().unwrap_or(false);
            let detail = text(line, "detail");
            show.timeline.restored(t, text(line, "id"), ok, detail);
            let kind = if ok {
                Kind::Restore
            } else {
                Kind::RestoreFailed
            };
            show.push(
                t,
                kind,
                format!("restore {}: {detail}", text(line, "service")),
            );
        }
        "node" => {
            let state = text(line, "state");
            show.timeline.node(t, text(line, "id"), state == "running");
            let health = match text(line, "health") {
                "" | "none" => String::new(),
                health => format!(" ({health})"),
            };
            show.push(
                t,
                Kind::Node,
                format!("{} {state}{health}", text(line, "service")),
            );
        }
        "workload" => match text(line, "kind") {
            "sample" => {
                let p99_ms = line["p99_us"].as_f64().map(|us| us / 1000.0);
                show.p99_samples += usize::from(p99_ms.is_some());
                show.timeline.sample(
                    t,
                    line["ops_per_sec"].as_f64(),
                    p99_ms,
                    text(line, "status") == "degraded",
                    line["baseline"].as_f64(),
                );
            }
            "status" => {
                let to = text(line, "status");
                show.timeline.status(t, to == "degraded");
                show.push(
                    t,
                    Kind::Workload,
                    format!("workload {} → {to}", text(line, "from")),
                );
            }
            _ => {}
        },
        "error" => {
            let message = line["message"].as_str();
            let what = match (line["chapter"].as_u64(), text(line, "source"), message) {
                (Some(chapter), _, Some(m)) => format!("chapter {} failed: {m}", chapter + 1),
                (_, "docker", None) => "Docker is reachable again".to_string(),
                (_, source, Some(m)) if !source.is_empty() => format!("{source}: {m}"),
                (_, _, m) => m.unwrap_or("error").to_string(),
            };
            show.push(t, Kind::Error, what);
        }
        "quit" => show.push(t, Kind::End, format!("quit ({})", text(line, "reason"))),
        "done" => {
            let done = Done {
                t_ms: t,
                reason: text(line, "reason").to_string(),
                outstanding_faults: line["outstanding_faults"].as_u64().unwrap_or(0),
            };
            show.push(
                t,
                Kind::End,
                format!(
                    "done ({}), {} fault(s) outstanding",
                    done.reason, done.outstanding_faults
                ),
            );
            show.done = Some(done);
        }
        // Narration, countdowns: the story's words, not its timeline.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transcript_reads_into_windows_stretches_and_rows() {
        let show = read(concat!(
            r#"{"t_ms":0,"event":"chapter","index":0,"title":"Intro","of":2,"flow":"etcd","flow_version":"0.1.0"}"#,
            "\n",
            r#"{"t_ms":1000,"event":"workload","kind":"sample","ops_per_sec":1000.0,"baseline":1000.0,"status":"normal","p99_us":2500.0}"#,
            "\nnot json at all\n",
            r#"{"event":"fault"}"#,
            "\n",
            r#"{"t_ms":2000,"event":"fault","action":"kill SIGKILL","service":"etcd1","container":"p-etcd1-1","id":"a"}"#,
            "\n",
            r#"{"t_ms":2500,"event":"workload","kind":"sample","ops_per_sec":0.0,"baseline":1000.0,"status":"degraded"}"#,
            "\n",
            r#"{"t_ms":4000,"event":"fault","action":"start","service":"etcd1","container":"p-etcd1-1","id":"a"}"#,
            "\n",
            r#"{"t_ms":6000,"event":"workload","kind":"status","from":"degraded","status":"normal"}"#,
            "\n",
            r#"{"t_ms":7000,"event":"done","reason":"completed","outstanding_faults":0}"#,
        ));
        assert_eq!(show.flow, Some(("etcd".into(), "0.1.0".into())));
        assert_eq!(show.skipped_lines, 2);
        let w = &show.timeline.faults()[0];
        assert_eq!((w.start_ms, w.end_ms), (2000, Some(4000)));
        let d = show.timeline.degraded()[0];
        assert_eq!((d.start_ms, d.end_ms), (2500, Some(6000)));
        assert_eq!(show.p99_samples, 1);
        assert_eq!(show.timeline.points()[0].p99_ms, Some(2.5));
        let kinds: Vec<Kind> = show.entries.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::Chapter,
                Kind::Fault,
                Kind::Undo,
                Kind::Workload,
                Kind::End
            ]
        );
        assert_eq!(show.entries[0].text, "Chapter 1/2: Intro");
        assert_eq!(show.done.as_ref().unwrap().outstanding_faults, 0);
        assert_eq!(show.duration_ms(), 7000);
    }

    #[test]
    fn fields_of_the_wrong_type_read_as_missing() {
        let show = read(concat!(
            r#"{"t_ms":5,"event":"fault","action":7,"service":null,"id":["x"],"disruptive":"yes"}"#,
            "\n",
            r#"{"t_ms":6,"event":"chapter","index":"one","title":{"a":1}}"#,
            "\n",
            r#"{"t_ms":7,"event":"workload","kind":"sample","ops_per_sec":"fast"}"#,
        ));
        assert_eq!(show.timeline.faults().len(), 1);
        assert_eq!(show.entries[1].text, "Chapter 1: ");
        assert!(show.timeline.points().is_empty());
    }
}
