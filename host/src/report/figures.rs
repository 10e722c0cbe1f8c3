//! The key figures of a show: its baseline, the trough, and per fault how
//! long the workload took to show it (fault → degraded) and to get over it
//! (undo → normal), and what was still outstanding at the end. All measured
//! from the transcript's samples and status changes.

use super::read::Show;
use crate::timeline::{FaultWindow, Stretch, Timeline};

/// Fault → degraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detect {
    After(u64),
    /// The workload was already degraded when the fault was made.
    AlreadyDegraded,
    /// The workload never went degraded while the fault lasted.
    NotDegraded,
}

/// Undo → normal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recover {
    After(u64),
    /// Normal again while the fault still lasted, this long after it was made.
    BeforeUndo(u64),
    /// Degraded when the transcript ends.
    StillDegraded,
    /// Never undone in the transcript.
    NotUndone,
    NotDegraded,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FaultFigures {
    pub window: FaultWindow,
    pub detect: Detect,
    pub recover: Recover,
    /// The lowest sample while it lasted.
    pub trough: Option<f64>,
}

/// What was outstanding at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outstanding {
    /// As the `done` line says (the host's own fault ledger).
    Done(u64),
    /// No `done` line (the host was killed): windows never closed.
    NoDoneLine(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeyFigures {
    pub baseline: Option<f64>,
    /// The lowest sample after the baseline was measured: (t_ms, ops/s).
    pub trough: Option<(u64, f64)>,
    pub faults: Vec<FaultFigures>,
    /// The fault the trough fell in (or the first that degraded the workload).
    pub headline: Option<usize>,
    pub outstanding: Outstanding,
    pub samples: usize,
}

pub fn measure(show: &Show) -> KeyFigures {
    let timeline = &show.timeline;
    let end = show.duration_ms();
    let since = timeline.baseline_since_ms().unwrap_or(0);
    let trough = timeline
        .points()
        .iter()
        .filter(|p| p.t_ms >= since)
        .min_by(|a, b| a.ops_per_sec.total_cmp(&b.ops_per_sec))
        .map(|p| (p.t_ms, p.ops_per_sec));
    let faults: Vec<FaultFigures> = timeline
        .faults()
        .iter()
        .map(|w| fault_figures(timeline, w, end))
        .collect();
    let headline = trough
        .and_then(|(t, _)| {
            faults
                .iter()
                .position(|f| f.window.overlaps(t, t, end) && f.detect != Detect::NotDegraded)
        })
        .or_else(|| {
            faults
                .iter()
                .position(|f| matches!(f.detect, Detect::After(_)))
        });
    let open = timeline
        .faults()
        .iter()
        .filter(|w| w.end_ms.is_none())
        .count() as u64;
    let outstanding = match &show.done {
        Some(done) => Outstanding::Done(done.outstanding_faults),
        None => Outstanding::NoDoneLine(open),
    };
    KeyFigures {
        baseline: timeline.baseline(),
        trough,
        faults,
        headline,
        outstanding,
        samples: timeline.points().len(),
    }
}

fn fault_figures(timeline: &Timeline, w: &FaultWindow, end: u64) -> FaultFigures {
    let stretches: Vec<&Stretch> = timeline.degraded().iter().collect();
    let last = w.end_ms.unwrap_or(end);
    let active_at = |t: u64| {
        stretches
            .iter()
            .find(|s| s.start_ms <= t && s.end_ms.is_none_or(|e| e > t))
    };
    let already = stretches
        .iter()
        .find(|s| s.start_ms < w.start_ms && s.end_ms.is_none_or(|e| e > w.start_ms));
    let first_in = stretches
        .iter()
        .find(|s| s.start_ms >= w.start_ms && s.start_ms <= last);
    let detect = match (already, first_in) {
        (Some(_), _) => Detect::AlreadyDegraded,
        (None, Some(s)) => Detect::After(s.start_ms - w.start_ms),
        (None, None) => Detect::NotDegraded,
    };
    let recover = match (already.or(first_in), w.end_ms) {
        (None, _) => Recover::NotDegraded,
        (Some(_), None) => Recover::NotUndone,
        (Some(s), Some(undo)) => match active_at(undo) {
            Some(active) => match active.end_ms {
                Some(e) => Recover::After(e - undo),
                None => Recover::StillDegraded,
            },
            None => Recover::BeforeUndo(s.end_ms.unwrap_or(undo).saturating_sub(w.start_ms)),
        },
    };
    let trough = timeline
        .points()
        .iter()
        .filter(|p| p.t_ms >= w.start_ms && p.t_ms <= last)
        .map(|p| p.ops_per_sec)
        .reduce(f64::min);
    FaultFigures {
        window: w.clone(),
        detect,
        recover,
        trough,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::read::read;

    fn sample(t: u64, ops: f64, status: &str) -> String {
        let baseline = if status == "warming-up" {
            "null"
        } else {
            "1000.0"
        };
        format!(
            r#"{{"t_ms":{t},"event":"workload","kind":"sample","ops_per_sec":{ops},"baseline":{baseline},"status":"{status}"}}"#
        )
    }

    fn fault(t: u64, action: &str, disruptive: bool, id: &str) -> String {
        format!(
            r#"{{"t_ms":{t},"event":"fault","action":"{action}","service":"s{id}","container":"c","id":"{id}","disruptive":{disruptive}}}"#
        )
    }

    /// A follower's kill that degrades nothing, a quorum loss detected after
    /// 1.5 s that recovers 3 s after its undo, and a pause left outstanding.
    #[test]
    fn detect_and_recover_are_measured_from_the_status() {
        let mut lines = vec![sample(0, 1.0, "warming-up")];
        for s in 1..=30u64 {
            let (ops, status) = match s {
                12..=17 => (5.0, "degraded"),
                _ => (1000.0, "normal"),
            };
            lines.push(sample(s * 1000, ops, status));
        }
        lines.push(fault(2_000, "kill SIGKILL", true, "1"));
        lines.push(fault(5_000, "start", false, "1"));
        lines.push(fault(10_500, "kill SIGKILL", true, "2"));
        lines.push(fault(15_000, "start", false, "2"));
        lines.push(fault(25_000, "pause", true, "3"));
        lines.sort_by_key(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["t_ms"]
                .as_u64()
                .unwrap()
        });
        lines
            .push(r#"{"t_ms":31000,"event":"done","reason":"quit","outstanding_faults":1}"#.into());
        let show = read(&lines.join("\n"));
        let figures = measure(&show);
        assert_eq!(figures.baseline, Some(1000.0));
        // The warm-up's 1 ops/s is not the trough.
        assert_eq!(figures.trough, Some((12_000, 5.0)));
        let f = &figures.faults;
        assert_eq!(f.len(), 3);
        assert_eq!(
            (f[0].detect, f[0].recover),
            (Detect::NotDegraded, Recover::NotDegraded)
        );
        assert_eq!(f[1].detect, Detect::After(1_500));
        // Degraded 12 s – 18 s (the first normal sample), undone at 15 s.
        assert_eq!(f[1].recover, Recover::After(3_000));
        assert_eq!(f[1].trough, Some(5.0));
        assert_eq!(f[2].recover, Recover::NotDegraded);
        assert_eq!(figures.headline, Some(1));
        assert_eq!(figures.outstanding, Outstanding::Done(1));
    }

    #[test]
    fn a_transcript_cut_short_counts_the_windows_left_open() {
        let show = read(&[sample(0, 1000.0, "normal"), fault(1000, "pause", true, "1")].join("\n"));
        let figures = measure(&show);
        assert_eq!(figures.outstanding, Outstanding::NoDoneLine(1));
        assert_eq!(figures.faults[0].recover, Recover::NotDegraded);
    }

    #[test]
    fn recovering_before_the_undo_is_said_so() {
        let lines = [
            sample(1000, 1000.0, "normal"),
            fault(2000, "kill SIGKILL", true, "1"),
            sample(3000, 10.0, "degraded"),
            sample(4000, 900.0, "normal"),
            fault(9000, "start", false, "1"),
        ];
        let figures = measure(&read(&lines.join("\n")));
        assert_eq!(figures.faults[0].detect, Detect::After(1000));
        assert_eq!(figures.faults[0].recover, Recover::BeforeUndo(2000));
    }
}
