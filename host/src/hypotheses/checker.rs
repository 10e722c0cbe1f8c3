//! Judging hypotheses as the show goes: fed what the workload, its verdict
//! counts and the cluster report, and told when faults start and are all
//! undone; says what it judged, and when an abort condition is breached.
//! Pure (no clock, no I/O), so every rule is tested in milliseconds.

use super::{Check, Hypothesis, Moment};
use serde::{Deserialize, Serialize};
use verdict_line::Verdict;

/// What is known at one moment (the newest of each).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    pub ops_per_sec: Option<f64>,
    pub baseline: Option<f64>,
    pub p99_ms: Option<f64>,
    pub verdict: Option<Verdict>,
    pub all_running: Option<bool>,
}

/// One judgement's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "result")]
pub enum Outcome {
    Met { value: String },
    NotMet { value: String },
    NotEvaluated { why: String },
}

impl Outcome {
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Met { .. } => "met",
            Outcome::NotMet { .. } => "NOT MET",
            Outcome::NotEvaluated { .. } => "not evaluated",
        }
    }

    pub fn detail(&self) -> &str {
        match self {
            Outcome::Met { value } | Outcome::NotMet { value } => value,
            Outcome::NotEvaluated { why } => why,
        }
    }
}

/// One hypothesis judged at one moment (a transcript's `hypothesis`
/// line, which `host report` reads back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    /// Its index in the show's list.
    pub hypothesis: usize,
    pub name: String,
    pub moment: Moment,
    pub outcome: Outcome,
    pub t_ms: u64,
}

/// What the checker asks the show to do or record.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdicted {
    Judged(Judgement),
    /// An abort condition was breached by the observation at `t_ms`: stop
    /// the running chapter and restore every fault.
    Abort {
        hypothesis: usize,
        name: String,
        value: String,
        t_ms: u64,
    },
}

/// A continuous check's history.
#[derive(Debug, Clone, Default)]
struct Continuous {
    evaluated: bool,
    /// The first breach: when, and what was seen.
    breach: Option<(u64, String)>,
}

pub struct Checker {
    hypotheses: Vec<Hypothesis>,
    latest: Observation,
    faults_open: bool,
    before_judged: bool,
    continuous: Vec<Continuous>,
    /// Per hypothesis with `after-undo`: the open recovery window's end.
    recovering: Vec<Option<u64>>,
    /// An abort fires once until faults are made again.
    abort_armed: bool,
    judged: Vec<Judgement>,
}

impl Checker {
    pub fn new(hypotheses: Vec<Hypothesis>) -> Self {
        let n = hypotheses.len();
        Checker {
            hypotheses,
            latest: Observation::default(),
            faults_open: false,
            before_judged: false,
            continuous: vec![Continuous::default(); n],
            recovering: vec![None; n],
            abort_armed: true,
            judged: Vec::new(),
        }
    }

    pub fn hypotheses(&self) -> &[Hypothesis] {
        &self.hypotheses
    }

    /// Every judgement so far, in order.
    pub fn judged(&self) -> &[Judgement] {
        &self.judged
    }

    /// New figures at `t_ms`; `update` sets what changed.
    pub fn observe(&mut self, t_ms: u64, update: impl FnOnce(&mut Observation)) -> Vec<Verdicted> {
        update(&mut self.latest);
        let mut out = Vec::new();
        for index in 0..self.hypotheses.len() {
            let h = &self.hypotheses[index];
            let result = evaluate(&h.check, &self.latest, false);
            let (continuous, abort, name) = (
                h.moments.contains(&Moment::Continuously),
                h.abort,
                h.name.clone(),
            );
            if continuous && let Ok((met, value)) = &result {
                let state = &mut self.continuous[index];
                state.evaluated = true;
                if !met && state.breach.is_none() {
                    state.breach = Some((t_ms, value.clone()));
                    out.push(self.judge(index, Moment::Continuously, not_met(value), t_ms));
                }
                if !met && abort && self.abort_armed {
                    self.abort_armed = false;
                    out.push(Verdicted::Abort {
                        hypothesis: index,
                        name,
                        value: value.clone(),
                        t_ms,
                    });
                }
            }
            if let Some(until) = self.recovering[index]
                && let Ok((true, value)) = &result
                && t_ms <= until
            {
                self.recovering[index] = None;
                let moment = self.after_undo(index);
                out.push(self.judge(index, moment, met(value), t_ms));
            }
        }
        out
    }

    /// Whether any fault is outstanding changed, at `t_ms`.
    pub fn faults_changed(&mut self, t_ms: u64, open: bool) -> Vec<Verdicted> {
        let mut out = Vec::new();
        if open == self.faults_open {
            return out;
        }
        self.faults_open = open;
        if open {
            self.abort_armed = true;
            if !self.before_judged {
                self.before_judged = true;
                for index in 0..self.hypotheses.len() {
                    if self.hypotheses[index].moments.contains(&Moment::Before) {
                        let outcome = self.outcome_now(index, false);
                        out.push(self.judge(index, Moment::Before, outcome, t_ms));
                    }
                }
            }
            // A new fault before recovery: that window is judged with the
            // next undo's.
            for window in &mut self.recovering {
                *window = None;
            }
        } else {
            // Judged on the samples that come after the undo, never on one
            // taken before it.
            for index in 0..self.hypotheses.len() {
                if let Moment::AfterUndo { within } = self.after_undo(index) {
                    self.recovering[index] = Some(t_ms + within.as_millis() as u64);
                }
            }
        }
        out
    }

    /// Closes recovery windows that ran out by `t_ms`.
    pub fn tick(&mut self, t_ms: u64) -> Vec<Verdicted> {
        let mut out = Vec::new();
        for index in 0..self.hypotheses.len() {
            if let Some(until) = self.recovering[index]
                && t_ms > until
            {
                self.recovering[index] = None;
                let outcome = match self.outcome_now(index, false) {
                    Outcome::NotEvaluated { why } => Outcome::NotEvaluated { why },
                    Outcome::Met { value } | Outcome::NotMet { value } => Outcome::NotMet {
                        value: format!("still {value} when the recovery time ran out"),
                    },
                };
                let moment = self.after_undo(index);
                out.push(self.judge(index, moment, outcome, t_ms));
            }
        }
        out
    }

    /// The show ended at `t_ms`: the end moments, the continuous checks'
    /// summaries, and recovery windows still open.
    pub fn end(&mut self, t_ms: u64) -> Vec<Verdicted> {
        let mut out = Vec::new();
        for index in 0..self.hypotheses.len() {
            let moments = self.hypotheses[index].moments.clone();
            if self.recovering[index].take().is_some() {
                let outcome = Outcome::NotMet {
                    value: format!(
                        "{} when the show ended, before it recovered",
                        self.outcome_now(index, false).detail()
                    ),
                };
                out.push(self.judge(index, self.after_undo(index), outcome, t_ms));
            }
            if moments.contains(&Moment::Continuously) {
                let state = self.continuous[index].clone();
                let outcome = match (state.evaluated, state.breach) {
                    (_, Some((at, value))) => Outcome::NotMet {
                        value: format!("{value} at {}", clock(at)),
                    },
                    (true, None) => Outcome::Met {
                        value: "held at every sample".into(),
                    },
                    (false, None) => Outcome::NotEvaluated {
                        why: why_not(&self.hypotheses[index].check, &self.latest),
                    },
                };
                // The breach itself was judged when it happened.
                if !matches!(outcome, Outcome::NotMet { .. }) {
                    out.push(self.judge(index, Moment::Continuously, outcome, t_ms));
                }
            }
            if moments.contains(&Moment::Before) && !self.before_judged {
                let outcome = Outcome::NotEvaluated {
                    why: "no fault was made".into(),
                };
                out.push(self.judge(index, Moment::Before, outcome, t_ms));
            }
            if moments.contains(&Moment::End) {
                let outcome = self.outcome_now(index, true);
                out.push(self.judge(index, Moment::End, outcome, t_ms));
            }
        }
        out
    }

    /// Each hypothesis and its overall result ([`overall`]).
    pub fn summary(&self) -> Vec<(&Hypothesis, Outcome)> {
        self.hypotheses
            .iter()
            .enumerate()
            .map(|(index, h)| {
                let mine = self.judged.iter().filter(|j| j.hypothesis == index);
                (h, overall(mine))
            })
            .collect()
    }

    fn after_undo(&self, index: usize) -> Moment {
        self.hypotheses[index]
            .moments
            .iter()
            .copied()
            .find(|m| matches!(m, Moment::AfterUndo { .. }))
            .unwrap_or(Moment::End)
    }

    fn outcome_now(&self, index: usize, at_end: bool) -> Outcome {
        match evaluate(&self.hypotheses[index].check, &self.latest, at_end) {
            Ok((true, value)) => met(&value),
            Ok((false, value)) => not_met(&value),
            Err(why) => Outcome::NotEvaluated { why },
        }
    }

    fn judge(&mut self, index: usize, moment: Moment, outcome: Outcome, t_ms: u64) -> Verdicted {
        let judgement = Judgement {
            hypothesis: index,
            name: self.hypotheses[index].name.clone(),
            moment,
            outcome,
            t_ms,
        };
        self.judged.push(judgement.clone());
        Verdicted::Judged(judgement)
    }
}

/// A hypothesis's overall result from its judgements (in order): not met
/// if any was (the first such, with the value seen), met if every one that
/// could be made was (the last), else not evaluated, saying why (the
/// last's reason).
pub fn overall<'a>(judgements: impl IntoIterator<Item = &'a Judgement>) -> Outcome {
    let mut first_not_met = None;
    let mut last_met = None;
    let mut last = None;
    for j in judgements {
        match &j.outcome {
            Outcome::NotMet { .. } if first_not_met.is_none() => first_not_met = Some(j),
            Outcome::Met { .. } => last_met = Some(j),
            _ => {}
        }
        last = Some(j);
    }
    match (first_not_met, last_met) {
        (Some(j), _) | (None, Some(j)) => j.outcome.clone(),
        (None, None) => Outcome::NotEvaluated {
            why: last
                .map(|j| j.outcome.detail().to_string())
                .unwrap_or_else(|| "not judged yet".into()),
        },
    }
}

fn met(value: &str) -> Outcome {
    Outcome::Met {
        value: value.to_string(),
    }
}

fn not_met(value: &str) -> Outcome {
    Outcome::NotMet {
        value: value.to_string(),
    }
}

fn clock(t_ms: u64) -> String {
    let secs = t_ms / 1000;
    format!("{}:{:02}", secs / 60, secs % 60)
}

fn why_not(check: &Check, obs: &Observation) -> String {
    evaluate(check, obs, false).err().unwrap_or_default()
}

/// Whether `check` holds on `obs`, with the value seen; `Err`: it cannot be
/// judged (and why).
fn evaluate(check: &Check, obs: &Observation, at_end: bool) -> Result<(bool, String), String> {
    let verdict = || {
        obs.verdict
            .ok_or_else(|| "the workload reports no verdict counts ([VERDICT] lines)".to_string())
    };
    match check {
        Check::ThroughputAtLeast { fraction } => {
            let ops = obs.ops_per_sec.ok_or("no workload sample yet")?;
            let baseline = obs
                .baseline
                .filter(|b| *b > 0.0)
                .ok_or("no baseline measured yet")?;
            let share = ops / baseline;
            Ok((
                share >= *fraction,
                format!("{ops:.0} ops/s, {:.0}% of baseline", share * 100.0),
            ))
        }
        Check::P99AtMost { ms } => {
            let p99 = obs.p99_ms.ok_or("the workload reports no p99")?;
            Ok((p99 <= *ms, format!("p99 {p99:.1} ms")))
        }
        Check::NoLostWrites => {
            let v = verdict()?;
            if at_end && !v.final_read {
                return Err("the load tool's final read has not run".into());
            }
            Ok((
                v.lost == 0,
                format!("{} of {} acknowledged writes lost", v.lost, v.acknowledged),
            ))
        }
        Check::NoStaleReads => {
            let v = verdict()?;
            Ok((
                v.stale == 0,
                format!("{} stale of {} reads", v.stale, v.reads),
            ))
        }
        Check::AllRunning => {
            let all = obs.all_running.ok_or("the cluster was not listed yet")?;
            let value = if all {
                "every node running"
            } else {
                "a node is not running"
            };
            Ok((all, value.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checker(specs: &[&str]) -> Checker {
        Checker::new(specs.iter().map(|s| s.parse().unwrap()).collect())
    }

    fn judged(events: &[Verdicted]) -> Vec<(String, &'static str)> {
        events
            .iter()
            .filter_map(|e| match e {
                Verdicted::Judged(j) => Some((format!("{:?}", j.moment), j.outcome.word())),
                Verdicted::Abort { .. } => None,
            })
            .collect()
    }

    fn sample(ops: f64) -> impl FnOnce(&mut Observation) {
        move |o| {
            o.ops_per_sec = Some(ops);
            o.baseline = Some(1000.0);
        }
    }

    #[test]
    fn before_is_judged_at_the_first_fault_and_after_undo_within_the_recovery_time() {
        let mut c = checker(&["throughput>=0.8*baseline@before,after-undo:10s,end"]);
        assert!(c.observe(1_000, sample(990.0)).is_empty());
        assert_eq!(
            judged(&c.faults_changed(2_000, true)),
            [("Before".into(), "met")]
        );
        // Down during the fault: no judgement, this is no continuous check.
        assert!(c.observe(3_000, sample(100.0)).is_empty());
        // Undone while still low: the window opens; it recovers within it.
        assert!(c.faults_changed(4_000, false).is_empty());
        assert!(c.observe(5_000, sample(500.0)).is_empty());
        let events = c.observe(9_000, sample(850.0));
        assert_eq!(judged(&events)[0].1, "met");
        // The second fault's undo never recovers in time.
        c.faults_changed(20_000, true);
        c.faults_changed(21_000, false);
        c.observe(22_000, sample(300.0));
        assert!(c.tick(30_000).is_empty());
        let events = c.tick(31_001);
        let Verdicted::Judged(j) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(j.outcome.word(), "NOT MET");
        assert!(j.outcome.detail().contains("30% of baseline"), "{j:?}");
        let end = c.end(40_000);
        assert_eq!(judged(&end), [("End".into(), "NOT MET")]);
        let summary = c.summary();
        assert_eq!(summary[0].1.word(), "NOT MET");
    }

    #[test]
    fn an_abort_condition_fires_once_per_fault_period_at_the_breaching_sample() {
        let mut c = checker(&["p99<=50ms!abort"]);
        let p99 = |ms: f64| move |o: &mut Observation| o.p99_ms = Some(ms);
        assert!(c.observe(1_000, p99(10.0)).is_empty());
        c.faults_changed(2_000, true);
        let events = c.observe(3_000, p99(400.0));
        assert!(events.iter().any(|e| matches!(
            e,
            Verdicted::Abort { t_ms: 3_000, value, .. } if value == "p99 400.0 ms"
        )));
        // Still high: judged once, aborted once.
        assert!(c.observe(4_000, p99(500.0)).is_empty());
        // A new fault re-arms it.
        c.faults_changed(5_000, false);
        c.faults_changed(6_000, true);
        let again = c.observe(7_000, p99(450.0));
        assert!(again.iter().any(|e| matches!(e, Verdicted::Abort { .. })));
        let summary = c.summary();
        assert_eq!(summary[0].1.word(), "NOT MET");
    }

    #[test]
    fn what_cannot_be_judged_says_why() {
        let mut c = checker(&[
            "no-lost-writes@end",
            "throughput>=50%@before",
            "no-stale-reads@continuously",
        ]);
        let end = c.end(1_000);
        let outcomes: Vec<_> = end
            .iter()
            .filter_map(|e| match e {
                Verdicted::Judged(j) => Some(j.outcome.clone()),
                _ => None,
            })
            .collect();
        assert!(
            outcomes.iter().all(|o| o.word() == "not evaluated"),
            "{outcomes:?}"
        );
        assert!(
            outcomes
                .iter()
                .any(|o| o.detail().contains("no verdict counts"))
        );
        assert!(outcomes.iter().any(|o| o.detail() == "no fault was made"));

        // Counts without the final read: lost writes are not judged at the end.
        let mut c = checker(&["no-lost-writes@end"]);
        c.observe(1_000, |o| {
            o.verdict = Some(Verdict {
                acknowledged: 10,
                ..Default::default()
            })
        });
        let end = c.end(2_000);
        let Verdicted::Judged(j) = &end[0] else {
            panic!()
        };
        assert_eq!(j.outcome.detail(), "the load tool's final read has not run");
    }

    #[test]
    fn lost_writes_confirmed_by_the_final_read_are_not_met() {
        let mut c = checker(&["no-lost-writes"]);
        c.observe(1_000, |o| {
            o.verdict = Some(Verdict {
                acknowledged: 900,
                lost: 37,
                final_read: true,
                ..Default::default()
            })
        });
        let end = c.end(2_000);
        assert!(judged(&end).contains(&("End".into(), "NOT MET")));
        assert_eq!(
            c.summary()[0].1.detail(),
            "37 of 900 acknowledged writes lost"
        );
    }

    /// What the transcript writes of a judgement, `host report` reads back
    /// as the same judgement.
    #[test]
    fn a_judgement_reads_back_as_written() {
        let judgement = Judgement {
            hypothesis: 2,
            name: "throughput>=50%@after-undo:10s".into(),
            moment: Moment::AfterUndo {
                within: std::time::Duration::from_secs(10),
            },
            outcome: not_met("300 ops/s, 30% of baseline"),
            t_ms: 31_001,
        };
        let line = serde_json::to_value(&judgement).unwrap();
        assert_eq!(
            line["moment"],
            serde_json::json!({"at": "after-undo", "within": 10_000})
        );
        assert_eq!(line["outcome"]["result"], "not-met");
        let back: Judgement = serde_json::from_value(line).unwrap();
        assert_eq!(back, judgement);
    }

    #[test]
    fn the_overall_result_is_the_first_breach_else_the_last_met() {
        let at = |t_ms, outcome| Judgement {
            hypothesis: 0,
            name: "p99<=50ms".into(),
            moment: Moment::Continuously,
            outcome,
            t_ms,
        };
        let why = Outcome::NotEvaluated {
            why: "the workload reports no p99".into(),
        };
        assert_eq!(overall([&at(1, why.clone())]), why);
        let judged = [
            at(1, why.clone()),
            at(2, met("p99 10.0 ms")),
            at(3, met("p99 12.0 ms")),
        ];
        assert_eq!(overall(&judged), met("p99 12.0 ms"));
        let judged = [
            at(1, met("p99 10.0 ms")),
            at(2, not_met("p99 400.0 ms")),
            at(3, not_met("p99 900.0 ms")),
            at(4, met("p99 12.0 ms")),
        ];
        assert_eq!(overall(&judged), not_met("p99 400.0 ms"));
        assert_eq!(overall([]).detail(), "not judged yet");
    }
}
