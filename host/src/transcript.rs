//! The headless transcript: one JSON object per line, each with `t_ms` (since
//! the host started) and `event` (chapter, narration, countdown, fault,
//! restore, node, workload, error, done).

use crate::app::App;
use crate::cluster::Node;
use crate::events::Event;
use crate::markup;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use std::time::Instant;

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
        // A transcript that cannot be written must not stop the show.
        if writeln!(self.out, "{fields}")
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
            json!({"index": app.chapter, "title": title, "of": app.flow.chapters.len()}),
        );
        let text = markup::plain(&app.narration.join("\n"));
        self.write("narration", json!({"text": text, "mode": "chapter"}));
    }

    pub fn record(&mut self, event: &Event) {
        match event {
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
            Event::Fault(fault) => self.write("fault", json!(fault)),
            Event::Nodes(nodes) => {
                for node in nodes {
                    if self.nodes.get(&node.id) != Some(node) {
                        self.nodes.insert(node.id.clone(), node.clone());
                        self.write("node", json!(node));
                    }
                }
            }
            Event::DockerUnavailable(why) => {
                self.write("error", json!({"message": why, "source": "docker"}))
            }
            Event::Workload(view) => self.write(
                "workload",
                json!({
                    "kind": "sample",
                    "ops_per_sec": view.current.as_ref().map(|s| s.ops_per_sec),
                    "failures_per_sec": view.current.as_ref().map(|s| s.failures_per_sec),
                    "baseline": view.baseline,
                    "status": view.status,
                    "samples": view.samples_seen,
                    "rehearsal": view.rehearsal,
                }),
            ),
            Event::WorkloadStatus { from, to } => self.write(
                "workload",
                json!({"kind": "status", "from": from, "status": to}),
            ),
            Event::WorkloadSourceError(message) => {
                self.write("error", json!({"message": message, "source": "workload"}))
            }
            Event::Restored(outcome) => self.write("restore", json!(outcome)),
            Event::RestoreFinished => {}
        }
    }

    pub fn done(&mut self, reason: &str, outstanding_faults: usize) {
        self.write(
            "done",
            json!({"reason": reason, "outstanding_faults": outstanding_faults}),
        );
    }
}
