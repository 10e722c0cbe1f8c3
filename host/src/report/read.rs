//! Reading a transcript back: each JSON line into the [`Timeline`] (samples,
//! fault windows, degraded stretches, chapters), the verdict counts, the
//! hypotheses' judgements, the stops, and into the rows of the report's
//! timeline table. A line that is not JSON, or lacks `t_ms` or `event`, is
//! counted and skipped. In the older kinds (chapter, fault, node, workload,
//! error) a field of the wrong type reads as missing; the kinds read into
//! typed structs (verdict, hypothesis, stopped, restore, done, a chapter's
//! error) are skipped and counted whole when they do not fit. Nothing here
//! trusts the text it reads: it is escaped where it is written out
//! (`html.rs`, and as JSON strings by `journal.rs`).

use crate::hypotheses::Moment;
use crate::hypotheses::checker::{Judgement, Outcome};
use crate::timeline::{Bounds, Timeline};
use crate::workload::verdicts::{Verdict, Verdicts};
use serde::Deserialize;
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
    /// A hypothesis judged met or not evaluated.
    Hypothesis,
    /// A hypothesis judged not met.
    HypothesisNotMet,
    /// The first anomaly of a kind in the verdict counts.
    Anomaly,
    /// The show's faults were stopped (an abort condition, the presenter's X).
    Stopped,
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
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Done {
    pub t_ms: u64,
    /// `completed`, `quit`, or the signal's name.
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub outstanding_faults: u64,
    /// The wall clock then, ms since the Unix epoch; the machine's name and
    /// platform (transcripts written before these fields have none).
    #[serde(default)]
    pub unix_ms: Option<u64>,
    #[serde(default)]
    pub node: Option<String>,
    #[serde(default)]
    pub platform: Option<String>,
}

/// A `verdict` line: the load tool's cumulative counts at `t_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct VerdictLine {
    pub t_ms: u64,
    #[serde(flatten)]
    pub counts: Verdict,
}

/// A `stopped` line: the show's faults were stopped and undone.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct Stopped {
    /// When the line was written (all undone).
    pub t_ms: u64,
    /// The abort condition breached, or the presenter's stop.
    pub reason: String,
    pub breached_at_ms: u64,
    pub restored_at_ms: u64,
    pub breach_to_restored_ms: u64,
    /// Faults undone, and undos that failed.
    pub restored: u64,
    pub failed: u64,
}

/// A `restore` line: one outstanding fault undone by the host (at quit, a
/// stop, or for an earlier run's leftovers).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Restore {
    pub t_ms: u64,
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub container: String,
    #[serde(default)]
    pub id: String,
    /// What undid it (`start`, `unpause`, `heal`, …).
    #[serde(default)]
    pub undo: String,
    #[serde(default)]
    pub ok: bool,
    #[serde(default)]
    pub detail: String,
}

/// An `error` line that names a chapter: the chapter failed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChapterError {
    pub t_ms: u64,
    pub chapter: usize,
    pub message: String,
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
    /// When the presenter (or a signal) ended the show.
    pub quit_ms: Option<u64>,
    /// The load tool's verdict counts, in order.
    pub verdicts: Vec<VerdictLine>,
    /// The latest counts and when each kind of anomaly was first seen (the
    /// live panel's own bookkeeping, fed the same lines).
    pub verdict: Verdicts,
    /// Every hypothesis judgement, in order.
    pub judgements: Vec<Judgement>,
    pub stops: Vec<Stopped>,
    pub restores: Vec<Restore>,
    pub chapter_errors: Vec<ChapterError>,
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

/// The steady-state hypotheses judged in a show, each with its judgements.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged<'a> {
    /// Its index in the show's list.
    pub index: usize,
    pub name: &'a str,
    pub judgements: Vec<&'a Judgement>,
}

impl Show {
    /// The hypotheses, in the order of their index, each named as its
    /// first judgement names it.
    pub fn hypotheses(&self) -> Vec<Judged<'_>> {
        let mut by_index: std::collections::BTreeMap<usize, Judged<'_>> = Default::default();
        for j in &self.judgements {
            by_index
                .entry(j.hypothesis)
                .or_insert_with(|| Judged {
                    index: j.hypothesis,
                    name: &j.name,
                    judgements: Vec::new(),
                })
                .judgements
                .push(j);
        }
        by_index.into_values().collect()
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
        quit_ms: None,
        verdicts: Vec::new(),
        verdict: Verdicts::default(),
        judgements: Vec::new(),
        stops: Vec::new(),
        restores: Vec::new(),
        chapter_errors: Vec::new(),
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
        if read_line(&mut show, t, event, &line).is_err() {
            show.skipped_lines += 1;
        }
    }
    show
}

/// A line of a typed kind, or why it does not fit.
fn typed<'a, T: Deserialize<'a>>(line: &'a Value) -> Result<T, serde_json::Error> {
    T::deserialize(line)
}

fn read_line(show: &mut Show, t: u64, event: &str, line: &Value) -> Result<(), serde_json::Error> {
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
            let restore: Restore = typed(line)?;
            show.timeline
                .restored(t, &restore.id, restore.ok, &restore.detail);
            let kind = if restore.ok {
                Kind::Restore
            } else {
                Kind::RestoreFailed
            };
            show.push(
                t,
                kind,
                format!("restore {}: {}", restore.service, restore.detail),
            );
            show.restores.push(restore);
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
            if let Ok(failed) = typed::<ChapterError>(line) {
                show.chapter_errors.push(failed);
            }
        }
        "quit" => {
            show.quit_ms.get_or_insert(t);
            show.push(t, Kind::End, format!("quit ({})", text(line, "reason")));
        }
        "done" => {
            let done: Done = typed(line)?;
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
        "verdict" => {
            let verdict: VerdictLine = typed(line)?;
            for anomaly in show.verdict.update(verdict.counts, t) {
                show.push(t, Kind::Anomaly, format!("first {}", anomaly.describe()));
            }
            show.verdicts.push(verdict);
        }
        "hypothesis" => {
            let j: Judgement = typed(line)?;
            let kind = match j.outcome {
                Outcome::NotMet { .. } => Kind::HypothesisNotMet,
                _ => Kind::Hypothesis,
            };
            show.push(
                t,
                kind,
                format!(
                    "hypothesis {} ({}): {}, {}",
                    j.name,
                    moment_text(&j.moment),
                    j.outcome.word(),
                    j.outcome.detail()
                ),
            );
            show.judgements.push(j);
        }
        "stopped" => {
            let stop: Stopped = typed(line)?;
            show.push(
                t,
                Kind::Stopped,
                format!(
                    "stopped: {}; {} fault(s) undone {} ms after the breach, {} undo(s) failed",
                    stop.reason, stop.restored, stop.breach_to_restored_ms, stop.failed
                ),
            );
            show.stops.push(stop);
        }
        // Narration, countdowns: the story's words, not its timeline.
        _ => {}
    }
    Ok(())
}

/// When a hypothesis was judged, as a person says it.
pub fn moment_text(moment: &Moment) -> String {
    match moment {
        Moment::Before => "before the first fault".into(),
        Moment::Continuously => "continuously".into(),
        Moment::AfterUndo { within } => {
            format!(
                "after the undo, within {}",
                humantime::format_duration(*within)
            )
        }
        Moment::End => "at the end".into(),
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

    #[test]
    fn verdicts_judgements_stops_restores_and_the_end_read_into_typed_lines() {
        let show = read(crate::report::tests::STOPPED_SHOW);
        assert_eq!(show.skipped_lines, 0);
        assert_eq!(show.verdicts.len(), 41);
        let last = show.verdicts.last().unwrap();
        assert_eq!(last.t_ms, 40_900);
        assert_eq!((last.counts.lost, last.counts.final_read), (2, true));
        assert_eq!(
            (
                show.verdict.first_stale_serializable_ms,
                show.verdict.first_stale_ms,
                show.verdict.first_lost_ms
            ),
            (Some(22_000), Some(24_000), Some(40_900))
        );
        let judged = show.hypotheses();
        let names: Vec<(usize, &str, usize)> = judged
            .iter()
            .map(|h| (h.index, h.name, h.judgements.len()))
            .collect();
        assert_eq!(
            names,
            [
                (0, "p99<=200ms@continuously!abort", 1),
                (1, "throughput>=0.5*baseline@before,after-undo:10s,end", 3),
                (2, "no-lost-writes@end", 1),
                (3, "<img src=x onerror=alert(1)>", 1),
            ]
        );
        assert_eq!(
            judged[1].judgements[1].moment,
            Moment::AfterUndo {
                within: std::time::Duration::from_secs(10)
            }
        );
        let stop = &show.stops[0];
        assert_eq!(
            (
                stop.breached_at_ms,
                stop.restored_at_ms,
                stop.breach_to_restored_ms
            ),
            (21_000, 21_480, 480)
        );
        assert_eq!(show.restores.len(), 2);
        assert!(!show.restores[1].ok);
        assert_eq!(show.chapter_errors[0].chapter, 2);
        let done = show.done.as_ref().unwrap();
        assert_eq!(done.unix_ms, Some(1_765_000_000_000));
        assert_eq!(done.node.as_deref(), Some("demo-box<b>"));
    }

    #[test]
    fn a_typed_line_that_does_not_fit_is_skipped_and_counted() {
        let show = read(concat!(
            r#"{"t_ms":1,"event":"verdict","acknowledged":"many"}"#,
            "\n",
            r#"{"t_ms":2,"event":"hypothesis","hypothesis":0,"name":"x","moment":{"at":"sometimes"},"outcome":{"result":"met","value":"1"}}"#,
            "\n",
            r#"{"t_ms":3,"event":"stopped","reason":7}"#,
            "\n",
            r#"{"t_ms":4,"event":"hypothesis","hypothesis":18446744073709551615,"name":"big","moment":{"at":"end"},"outcome":{"result":"not-evaluated","why":"w"}}"#,
        ));
        assert_eq!(show.skipped_lines, 3);
        assert!(show.verdicts.is_empty() && show.stops.is_empty());
        // A huge index is only a key: nothing is allocated by it.
        assert_eq!(show.hypotheses()[0].index, usize::MAX);
    }
}
