//! `host report --format chaostoolkit`: the show as a Chaos Toolkit journal
//! (the JSON `chaos run` writes), so the tools that read journals (reports,
//! dashboards) read a show too. The layout is chaoslib's
//! (`chaoslib/run.py`, `initialize_run_journal` and the code that fills
//! it), as of [`CHAOSLIB_VERSION`]:
//!
//! - `experiment`: title (the flow's name), description, the
//!   `steady-state-hypothesis` with one probe per hypothesis the show
//!   judged, the `method` with one action per chapter, the `rollbacks` the
//!   host made; an `extensions` entry says it came from this host and
//!   carries what a journal has no place for (each stop, the verdict);
//! - `steady_states`: `before` (the judgements before the first fault),
//!   `after` (those at the end), `during` (continuous and after-undo
//!   judgements, one state per moment): each probe's run has the outcome
//!   as its output and `tolerance_met`;
//! - `run`: each chapter as it ran (start, end, status, the faults it
//!   made); `rollbacks`: each restore the host made;
//! - `deviated`: a hypothesis was not met; `status`: `aborted` if the
//!   show's faults were stopped, `interrupted` if it ended otherwise than
//!   `completed`, else `completed`.
//!
//! A probe's tolerance is a regex on its output's `result`: Chaos
//! Toolkit's own `within_tolerance` gives the same `tolerance_met`. A
//! judgement that could not be made is a probe run that `failed`, its
//! reason as the exception (what chaoslib records of a probe that could
//! not run), and is no deviation. Each activity names `host` as its
//! process: the show ran them; the journal records that run, it is no
//! recipe to run them one by one.

use super::read::{Show, Stopped};
use crate::hypotheses::Moment;
use crate::hypotheses::checker::{Judgement, Outcome, overall};
use crate::sanitize::display_line;
use crate::workload::verdicts::Verdict;
use serde::Serialize;
use std::time::{Duration, UNIX_EPOCH};

/// The chaoslib release whose journal layout this writes (and that the
/// e2e test reads it with).
pub const CHAOSLIB_VERSION: &str = "1.44.0";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Journal {
    #[serde(rename = "chaoslib-version")]
    pub chaoslib_version: &'static str,
    pub platform: String,
    pub node: String,
    pub experiment: Experiment,
    /// ISO 8601, UTC, as Python's `datetime.isoformat()` writes it.
    pub start: String,
    pub end: String,
    /// Seconds.
    pub duration: f64,
    pub status: Status,
    pub deviated: bool,
    pub steady_states: SteadyStates,
    pub run: Vec<Run>,
    pub rollbacks: Vec<Run>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Completed,
    Interrupted,
    Aborted,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    #[serde(
        rename = "steady-state-hypothesis",
        skip_serializing_if = "Option::is_none"
    )]
    pub hypothesis: Option<Hypothesis>,
    pub method: Vec<Activity>,
    pub rollbacks: Vec<Activity>,
    pub extensions: Vec<Extension>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hypothesis {
    pub title: String,
    pub probes: Vec<Activity>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivityType {
    Probe,
    Action,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activity {
    #[serde(rename = "type")]
    pub kind: ActivityType,
    pub name: String,
    pub provider: Provider,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<Tolerance>,
}

/// Every activity's provider: the `host` process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provider {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub path: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<String>,
}

impl Provider {
    fn host(arguments: Vec<String>) -> Self {
        Provider {
            kind: "process",
            path: "host",
            arguments,
        }
    }
}

/// Chaos Toolkit's regex tolerance: `pattern` searched in the output's
/// `target` key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tolerance {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub target: &'static str,
    pub pattern: &'static str,
}

/// A judgement's output is met when its `result` is `met`.
const MET: Tolerance = Tolerance {
    kind: "regex",
    target: "result",
    pattern: "^met$",
};

/// Where the journal came from, and what it has no other place for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extension {
    pub name: &'static str,
    pub host_version: &'static str,
    /// The transcript's file name.
    pub transcript: String,
    pub flow: Option<String>,
    pub flow_version: Option<String>,
    /// Each time the show's faults were stopped.
    pub stopped: Vec<Stopped>,
    /// The load tool's last verdict counts.
    pub verdict: Option<Verdict>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SteadyStates {
    pub before: Option<State>,
    pub after: Option<State>,
    pub during: Vec<State>,
}

/// The hypothesis's probes run once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct State {
    /// `false` if a probe was not met, `true` if all were, `null` if none
    /// was not met but some could not be judged.
    pub steady_state_met: Option<bool>,
    pub probes: Vec<Run>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Succeeded,
    Failed,
}

/// One activity as it ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub activity: Activity,
    pub output: Output,
    pub start: String,
    pub end: String,
    /// Seconds.
    pub duration: f64,
    pub status: RunStatus,
    /// Probes only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerance_met: Option<bool>,
    /// What went wrong, as chaoslib lists a traceback's lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exception: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Output {
    /// A judgement: `{"result": "met", "value": …, "moment": {"at": …}}`.
    Judged {
        #[serde(flatten)]
        outcome: Outcome,
        moment: Moment,
    },
    /// A chapter: the faults it made.
    Chapter { faults: Vec<FaultMade> },
    /// A restore: what the host said of it.
    Detail(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultMade {
    pub action: String,
    pub service: String,
    pub at: String,
    /// When it was undone, and by what; `null` if it never was.
    pub undone_at: Option<String>,
    pub undone_by: Option<String>,
}

/// When the show started by the wall clock, and on which machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// The host's start (a transcript's `t_ms` 0), ms since the Unix epoch.
    pub started_unix_ms: u64,
    pub node: String,
    pub platform: String,
}

impl Origin {
    /// From the `done` line; else (the host was killed, or wrote no such
    /// fields) the show is taken to have ended when `file_modified` says
    /// the transcript was last written, on a machine not known.
    pub fn of(show: &Show, file_modified: Option<std::time::SystemTime>) -> Origin {
        let unknown = || "unknown".to_string();
        let from_done = show
            .done
            .as_ref()
            .and_then(|d| Some((d.unix_ms?.checked_sub(d.t_ms)?, d)));
        match from_done {
            Some((started, done)) => Origin {
                started_unix_ms: started,
                node: done.node.clone().unwrap_or_else(unknown),
                platform: done.platform.clone().unwrap_or_else(unknown),
            },
            None => Origin {
                started_unix_ms: file_modified
                    .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| (d.as_millis() as u64).saturating_sub(show.last_ms)),
                node: unknown(),
                platform: unknown(),
            },
        }
    }
}

/// A transcript string as the journal carries it: no control characters.
fn clean(text: &str) -> String {
    display_line(text).into_owned()
}

fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// The journal of `show`, read from the transcript named `source`.
pub fn journal(show: &Show, origin: &Origin, source: &str) -> Journal {
    let iso = |t_ms: u64| iso8601(origin.started_unix_ms.saturating_add(t_ms));
    let hypotheses = show.hypotheses();
    let probes: Vec<(usize, Activity)> = hypotheses
        .iter()
        .map(|h| {
            let mut name = clean(h.name);
            if name.trim().is_empty() {
                name = format!("hypothesis {}", h.index);
            }
            let activity = Activity {
                kind: ActivityType::Probe,
                provider: Provider::host(vec!["--hypothesis".into(), name.clone()]),
                name,
                tolerance: Some(MET),
            };
            (h.index, activity)
        })
        .collect();
    // Every judgement's hypothesis has its probe: both come from the same list.
    let probe_run = |j: &Judgement| {
        let (_, activity) = probes.iter().find(|(index, _)| *index == j.hypothesis)?;
        let activity = activity.clone();
        let (status, exception) = match &j.outcome {
            Outcome::NotEvaluated { why } => (RunStatus::Failed, vec![clean(why)]),
            _ => (RunStatus::Succeeded, Vec::new()),
        };
        let outcome = match &j.outcome {
            Outcome::Met { value } => Outcome::Met {
                value: clean(value),
            },
            Outcome::NotMet { value } => Outcome::NotMet {
                value: clean(value),
            },
            Outcome::NotEvaluated { why } => Outcome::NotEvaluated { why: clean(why) },
        };
        Some(Run {
            activity,
            tolerance_met: Some(matches!(outcome, Outcome::Met { .. })),
            output: Output::Judged {
                outcome,
                moment: j.moment,
            },
            start: iso(j.t_ms),
            end: iso(j.t_ms),
            duration: 0.0,
            status,
            exception,
        })
    };
    let state = |judged: &[&Judgement]| State {
        steady_state_met: match overall(judged.iter().copied()) {
            Outcome::NotMet { .. } => Some(false),
            _ if judged
                .iter()
                .all(|j| matches!(j.outcome, Outcome::Met { .. })) =>
            {
                Some(true)
            }
            _ => None,
        },
        probes: judged.iter().filter_map(|j| probe_run(j)).collect(),
    };
    let at = |moment: fn(&Moment) -> bool| -> Vec<&Judgement> {
        show.judgements
            .iter()
            .filter(|j| moment(&j.moment))
            .collect()
    };
    let before = at(|m| *m == Moment::Before);
    let after = at(|m| *m == Moment::End);
    let during_judged = at(|m| matches!(m, Moment::Continuously | Moment::AfterUndo { .. }));
    let during: Vec<State> = during_judged
        .chunk_by(|a, b| a.t_ms == b.t_ms)
        .map(&state)
        .collect();
    let steady_states = SteadyStates {
        before: (!before.is_empty()).then(|| state(&before)),
        after: (!after.is_empty()).then(|| state(&after)),
        during,
    };

    let (method, run) = chapters(show, &iso);
    let rollbacks: Vec<Run> = show
        .restores
        .iter()
        .map(|r| {
            let activity = Activity {
                kind: ActivityType::Action,
                name: clean(&format!(
                    "restore {} ({}): {}",
                    r.service, r.container, r.undo
                )),
                provider: Provider::host(Vec::new()),
                tolerance: None,
            };
            let (status, exception) = if r.ok {
                (RunStatus::Succeeded, Vec::new())
            } else {
                (RunStatus::Failed, vec![clean(&r.detail)])
            };
            Run {
                activity,
                output: Output::Detail(clean(&r.detail)),
                start: iso(r.t_ms),
                end: iso(r.t_ms),
                duration: 0.0,
                status,
                tolerance_met: None,
                exception,
            }
        })
        .collect();

    let deviated = hypotheses.iter().any(|h| {
        matches!(
            overall(h.judgements.iter().copied()),
            Outcome::NotMet { .. }
        )
    });
    let status = match &show.done {
        _ if !show.stops.is_empty() => Status::Aborted,
        Some(done) if done.reason == "completed" => Status::Completed,
        _ => Status::Interrupted,
    };
    let (flow, flow_version) = match &show.flow {
        Some((name, version)) => (Some(clean(name)), Some(clean(version))),
        None => (None, None),
    };
    let title = flow
        .clone()
        .filter(|f| !f.trim().is_empty())
        .unwrap_or_else(|| "A chaos-demo show".into());
    let description = format!(
        "A show of the flow {title}{}, its chapters run by the chaos-demo host and its \
         steady-state hypotheses judged as it went, as its transcript {} tells it.",
        flow_version
            .as_ref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default(),
        clean(source)
    );
    let duration_ms = show.duration_ms();
    Journal {
        chaoslib_version: CHAOSLIB_VERSION,
        platform: clean(&origin.platform),
        node: clean(&origin.node),
        experiment: Experiment {
            title,
            description,
            tags: vec!["chaos-demo".into()],
            hypothesis: (!probes.is_empty()).then(|| Hypothesis {
                title: "The presenter's steady-state hypotheses".into(),
                probes: probes.into_iter().map(|(_, a)| a).collect(),
            }),
            method,
            rollbacks: rollbacks.iter().map(|r| r.activity.clone()).collect(),
            extensions: vec![Extension {
                name: "chaos-demo",
                host_version: env!("CARGO_PKG_VERSION"),
                transcript: clean(source),
                flow,
                flow_version,
                stopped: show
                    .stops
                    .iter()
                    .map(|s| Stopped {
                        reason: clean(&s.reason),
                        ..s.clone()
                    })
                    .collect(),
                verdict: show.verdicts.last().map(|v| v.counts),
            }],
        },
        start: iso(0),
        end: iso(duration_ms),
        duration: secs(duration_ms),
        status,
        deviated,
        steady_states,
        run,
        rollbacks,
    }
}

/// The method (one action per chapter, in the flow's order) and its runs
/// (one per time a chapter was entered: from then to the next chapter, the
/// presenter's quit or the end; failed if the host reported its error).
fn chapters(show: &Show, iso: &dyn Fn(u64) -> String) -> (Vec<Activity>, Vec<Run>) {
    let marks = show.timeline.chapters();
    let action = |index: usize, title: &str| Activity {
        kind: ActivityType::Action,
        name: clean(&format!("Chapter {}: {title}", index + 1)),
        provider: Provider::host(Vec::new()),
        tolerance: None,
    };
    let mut method: Vec<(usize, Activity)> = Vec::new();
    for mark in marks {
        if !method.iter().any(|(index, _)| *index == mark.index) {
            method.push((mark.index, action(mark.index, &mark.title)));
        }
    }
    method.sort_by_key(|(index, _)| *index);
    let last = show
        .quit_ms
        .or(show.done.as_ref().map(|d| d.t_ms))
        .unwrap_or(show.duration_ms());
    let runs = marks
        .iter()
        .enumerate()
        .map(|(i, mark)| {
            let end = marks
                .get(i + 1)
                .map_or(last.max(mark.t_ms), |next| next.t_ms);
            let is_last = i + 1 == marks.len();
            let failed: Vec<String> = show
                .chapter_errors
                .iter()
                .filter(|e| e.chapter == mark.index && e.t_ms >= mark.t_ms)
                .filter(|e| is_last || e.t_ms < end)
                .map(|e| clean(&e.message))
                .collect();
            let faults = show
                .timeline
                .faults()
                .iter()
                .filter(|w| w.start_ms >= mark.t_ms && (is_last || w.start_ms < end))
                .map(|w| FaultMade {
                    action: clean(&w.action),
                    service: clean(&w.service),
                    at: iso(w.start_ms),
                    undone_at: w.end_ms.map(iso),
                    undone_by: w.ended_by.as_deref().map(clean),
                })
                .collect();
            Run {
                activity: action(mark.index, &mark.title),
                output: Output::Chapter { faults },
                start: iso(mark.t_ms),
                end: iso(end),
                duration: secs(end.saturating_sub(mark.t_ms)),
                status: if failed.is_empty() {
                    RunStatus::Succeeded
                } else {
                    RunStatus::Failed
                },
                tolerance_met: None,
                exception: failed,
            }
        })
        .collect();
    (method.into_iter().map(|(_, a)| a).collect(), runs)
}

/// `ms` since the Unix epoch as Python's `datetime.isoformat()` writes an
/// aware UTC time: `2025-12-06T05:46:40.123000+00:00`.
pub fn iso8601(ms: u64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(ms);
    let text = humantime::format_rfc3339_micros(at).to_string();
    match text.strip_suffix('Z') {
        Some(utc) => format!("{utc}+00:00"),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::read::read;
    use crate::report::tests::STOPPED_SHOW;
    use serde_json::{Value, json};

    fn journal_of(transcript: &str) -> Journal {
        let show = read(transcript);
        journal(&show, &Origin::of(&show, None), "run.jsonl")
    }

    fn names(runs: &[Run]) -> Vec<&str> {
        runs.iter().map(|r| r.activity.name.as_str()).collect()
    }

    #[test]
    fn the_journal_has_the_keys_chaoslib_writes_dated_by_the_done_line() {
        let value = serde_json::to_value(journal_of(STOPPED_SHOW)).unwrap();
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort();
        // initialize_run_journal's keys, and the end and duration the run adds.
        assert_eq!(
            keys,
            [
                "chaoslib-version",
                "deviated",
                "duration",
                "end",
                "experiment",
                "node",
                "platform",
                "rollbacks",
                "run",
                "start",
                "status",
                "steady_states"
            ]
        );
        // done at 41.5 s, 1765000000000 ms since the epoch.
        assert_eq!(value["start"], "2025-12-06T05:45:58.500000+00:00");
        assert_eq!(value["end"], "2025-12-06T05:46:40.000000+00:00");
        assert_eq!(value["duration"], 41.5);
        assert_eq!(value["node"], "demo-box<b>");
        assert_eq!(value["platform"], "Linux-6.1.0-x86_64");
        assert_eq!(value["chaoslib-version"], CHAOSLIB_VERSION);
        let experiment = &value["experiment"];
        assert_eq!(experiment["title"], "etcd<script>alert('flow')</script>");
        assert!(!experiment["description"].as_str().unwrap().is_empty());
        assert_eq!(experiment["extensions"][0]["name"], "chaos-demo");
        assert_eq!(experiment["extensions"][0]["verdict"]["lost"], 2);
        assert_eq!(
            experiment["extensions"][0]["stopped"][0]["breached_at_ms"],
            21_000
        );
    }

    #[test]
    fn hypotheses_are_the_probes_and_their_judgements_the_steady_states() {
        let j = journal_of(STOPPED_SHOW);
        let probes = &j.experiment.hypothesis.as_ref().unwrap().probes;
        assert_eq!(probes.len(), 4);
        assert_eq!(probes[0].name, "p99<=200ms@continuously!abort");
        assert_eq!(
            probes[0].provider.arguments,
            ["--hypothesis", "p99<=200ms@continuously!abort"]
        );
        assert_eq!(probes[0].tolerance, Some(MET));

        let before = j.steady_states.before.as_ref().unwrap();
        assert_eq!(before.steady_state_met, Some(true));
        assert_eq!(names(&before.probes), [probes[1].name.as_str()]);

        // At the end: met, not met, not evaluated (a probe that failed).
        let after = j.steady_states.after.as_ref().unwrap();
        assert_eq!(after.steady_state_met, Some(false));
        let results: Vec<(RunStatus, Option<bool>)> = after
            .probes
            .iter()
            .map(|p| (p.status, p.tolerance_met))
            .collect();
        assert_eq!(
            results,
            [
                (RunStatus::Succeeded, Some(true)),
                (RunStatus::Succeeded, Some(false)),
                (RunStatus::Failed, Some(false)),
            ]
        );
        assert_eq!(
            after.probes[2].exception,
            ["<script>alert(\"why\")</script>"]
        );
        assert_eq!(
            serde_json::to_value(&after.probes[1].output).unwrap(),
            json!({"result": "not-met", "value": "2 of 36000 acknowledged writes lost", "moment": {"at": "end"}})
        );

        // During: the breach at 0:21, the recovery within 10 s at 0:27.
        let during: Vec<(Option<bool>, &str, &str)> = j
            .steady_states
            .during
            .iter()
            .map(|s| {
                (
                    s.steady_state_met,
                    s.probes[0].activity.name.as_str(),
                    s.probes[0].start.as_str(),
                )
            })
            .collect();
        assert_eq!(
            during,
            [
                (
                    Some(false),
                    probes[0].name.as_str(),
                    "2025-12-06T05:46:19.500000+00:00"
                ),
                (
                    Some(true),
                    probes[1].name.as_str(),
                    "2025-12-06T05:46:25.500000+00:00"
                ),
            ]
        );
        assert!(j.deviated);
        assert_eq!(j.status, Status::Aborted);
    }

    #[test]
    fn chapters_are_the_method_and_restores_the_rollbacks() {
        let j = journal_of(STOPPED_SHOW);
        let method: Vec<&str> = j
            .experiment
            .method
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(
            method,
            [
                "Chapter 1: Intro <b>bold</b>",
                "Chapter 2: Lose the leader",
                "Chapter 3: Partition <i>etcd2</i>"
            ]
        );
        assert_eq!(names(&j.run), method);
        let times: Vec<f64> = j.run.iter().map(|r| r.duration).collect();
        // To the next chapter; the last to the presenter's quit at 0:40.
        assert_eq!(times, [10.0, 20.0, 10.0]);
        assert_eq!(j.run[1].status, RunStatus::Succeeded);
        let Output::Chapter { faults } = &j.run[1].output else {
            panic!("{:?}", j.run[1].output)
        };
        assert_eq!(
            (faults[0].action.as_str(), faults[0].service.as_str()),
            ("kill SIGKILL", "etcd1")
        );
        assert_eq!(faults[0].undone_by.as_deref(), Some("restore: started"));
        // The chapter the host reported failing.
        assert_eq!(j.run[2].status, RunStatus::Failed);
        assert_eq!(j.run[2].exception, ["etcd2 did not answer: <b>timeout</b>"]);

        assert_eq!(
            names(&j.rollbacks),
            [
                "restore etcd1 (demo-etcd1-1): start",
                "restore etcd2 (demo-etcd2-1): unpause"
            ]
        );
        assert_eq!(j.rollbacks[0].status, RunStatus::Succeeded);
        assert_eq!(j.rollbacks[1].status, RunStatus::Failed);
        assert_eq!(
            j.rollbacks[1].exception,
            ["<script>no such container</script>"]
        );
        assert_eq!(j.experiment.rollbacks.len(), 2);
    }

    #[test]
    fn the_status_says_aborted_interrupted_or_completed() {
        let completed = concat!(
            r#"{"t_ms":0,"event":"chapter","index":0,"title":"Intro","of":1,"flow":"etcd","flow_version":"0.1.0"}"#,
            "\n",
            r#"{"t_ms":900,"event":"hypothesis","hypothesis":0,"name":"all-running@end","moment":{"at":"end"},"outcome":{"result":"met","value":"every node running"}}"#,
            "\n",
            r#"{"t_ms":1000,"event":"done","reason":"completed","outstanding_faults":0}"#,
        );
        let j = journal_of(completed);
        assert_eq!((j.status, j.deviated), (Status::Completed, false));
        assert_eq!(j.steady_states.before, None);
        assert!(j.steady_states.during.is_empty());
        let quit = completed.replace("\"completed\"", "\"quit\"");
        assert_eq!(journal_of(&quit).status, Status::Interrupted);
        let killed: String = completed.lines().take(2).collect::<Vec<_>>().join("\n");
        assert_eq!(journal_of(&killed).status, Status::Interrupted);
        // Not evaluated is no deviation.
        let unjudged = completed.replace(
            r#"{"result":"met","value":"every node running"}"#,
            r#"{"result":"not-evaluated","why":"the cluster was not listed yet"}"#,
        );
        let j = journal_of(&unjudged);
        assert!(!j.deviated);
        assert_eq!(
            j.steady_states.after.as_ref().unwrap().steady_state_met,
            None
        );
        // No hypothesis: no steady-state-hypothesis key.
        let value = serde_json::to_value(journal_of("")).unwrap();
        assert_eq!(value["experiment"].get("steady-state-hypothesis"), None);
        assert_eq!(value["experiment"]["title"], "A chaos-demo show");
        assert_eq!(
            value["steady_states"],
            json!({"before": null, "after": null, "during": []})
        );
    }

    #[test]
    fn without_a_dated_done_line_the_file_time_dates_the_show() {
        let show = read(r#"{"t_ms":5000,"event":"chapter","index":0,"title":"x"}"#);
        let modified = UNIX_EPOCH + Duration::from_millis(1_765_000_000_000);
        let origin = Origin::of(&show, Some(modified));
        assert_eq!(origin.started_unix_ms, 1_765_000_000_000 - 5_000);
        assert_eq!(
            (origin.node.as_str(), origin.platform.as_str()),
            ("unknown", "unknown")
        );
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000000+00:00");
        assert_eq!(iso8601(1_234), "1970-01-01T00:00:01.234000+00:00");
    }

    #[test]
    fn control_characters_from_the_transcript_stay_out_of_the_journal() {
        let line = r#"{"t_ms":0,"event":"chapter","index":0,"title":"a\u001b]2;PWNED\u0007b","of":1,"flow":"f\u202eg","flow_version":"1"}"#;
        let text = serde_json::to_string(&journal_of(line)).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["run"][0]["activity"]["name"], "Chapter 1: ab");
        assert_eq!(value["experiment"]["title"], "fg");
    }
}
