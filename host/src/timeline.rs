//! What happened when: throughput samples with their times, each fault's
//! window from injection to undo, the degraded stretches and the chapters.
//! The live chart (`chart.rs`, fed by the app from events) and `host report`
//! (fed from a transcript) read the same [`Timeline`], so the screen and the
//! report tell the same story.
//!
//! A fault window opens when a disruptive action is performed on a container
//! and closes at the first of: a non-disruptive action on the same container
//! (the flow's own start, unpause, heal, …), a successful restore of it, or
//! the container seen running again after Docker reported it not running
//! (a restart, or someone outside starting it). Nothing here names a
//! particular action: new ones work as long as they say whether they are
//! disruptive.
//!
//! Bounded: a live timeline keeps [`Bounds::keep_ms`] of history and at most
//! so many points, windows, stretches and chapters; the oldest go first.

use std::collections::{HashMap, VecDeque};

/// A down stretch that began this long before a fault's window counts as
/// that fault's (Docker announces a death before the kill request returns).
const DOWN_SLACK_MS: u64 = 2_000;
/// What ends a window when Docker reports its container running again.
const RUNNING_AGAIN: &str = "running again";

/// One throughput sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Milliseconds since the show started.
    pub t_ms: u64,
    pub ops_per_sec: f64,
    /// The slowest operation's p99 latency in this sample, when reported.
    pub p99_ms: Option<f64>,
    /// The workload's status at this sample was degraded.
    pub degraded: bool,
}

/// One fault, from injection to undo.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultWindow {
    pub start_ms: u64,
    /// `None` while the fault is outstanding.
    pub end_ms: Option<u64>,
    /// As the cluster describes it (`kill SIGKILL`, `partition`).
    pub action: String,
    pub service: String,
    /// The container's id.
    pub id: String,
    /// What undid it (`start`, `restore: started`, `running again`).
    pub ended_by: Option<String>,
}

impl FaultWindow {
    /// Whether the window covers any of `[from, to]`, `now` being the end
    /// of an open window.
    pub fn overlaps(&self, from: u64, to: u64, now: u64) -> bool {
        self.start_ms <= to && self.end_ms.unwrap_or(now) >= from
    }
}

/// A stretch of time the workload was degraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stretch {
    pub start_ms: u64,
    /// `None` while it lasts.
    pub end_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChapterMark {
    pub t_ms: u64,
    pub index: usize,
    pub title: String,
}

/// How much a timeline keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// History older than this (before the newest time seen) is dropped;
    /// `None` keeps it all (a report).
    pub keep_ms: Option<u64>,
    pub max_points: usize,
    /// Fault windows, degraded stretches and chapter marks, each.
    pub max_marks: usize,
}

impl Bounds {
    /// What the live chart needs: ten minutes, more than it ever shows.
    pub const LIVE: Bounds = Bounds {
        keep_ms: Some(600_000),
        max_points: 4_096,
        max_marks: 256,
    };
    /// A whole show, for the report (a day of one sample a second fits).
    pub const WHOLE_SHOW: Bounds = Bounds {
        keep_ms: None,
        max_points: 100_000,
        max_marks: 10_000,
    };
}

/// What Docker last said about one container, for the "running again" rule.
#[derive(Debug, Clone, Copy, Default)]
struct NodeTrack {
    running: bool,
    /// When it last left running, if it has not come back since.
    down_since: Option<u64>,
    /// Its last completed stretch not running.
    last_down: Option<(u64, u64)>,
    /// When the last action was performed on it.
    last_action_ms: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Timeline {
    bounds: Bounds,
    points: VecDeque<Point>,
    faults: VecDeque<FaultWindow>,
    degraded: VecDeque<Stretch>,
    chapters: VecDeque<ChapterMark>,
    baseline: Option<f64>,
    /// When a baseline was first reported.
    baseline_since_ms: Option<u64>,
    nodes: HashMap<String, NodeTrack>,
    /// The newest time seen, for pruning.
    latest_ms: u64,
    /// Points, windows, stretches and chapters dropped by the bounds.
    dropped: u64,
}

impl Timeline {
    pub fn new(bounds: Bounds) -> Self {
        Timeline {
            bounds,
            points: VecDeque::new(),
            faults: VecDeque::new(),
            degraded: VecDeque::new(),
            chapters: VecDeque::new(),
            baseline: None,
            baseline_since_ms: None,
            nodes: HashMap::new(),
            latest_ms: 0,
            dropped: 0,
        }
    }

    pub fn points(&self) -> &VecDeque<Point> {
        &self.points
    }

    pub fn faults(&self) -> &VecDeque<FaultWindow> {
        &self.faults
    }

    pub fn degraded(&self) -> &VecDeque<Stretch> {
        &self.degraded
    }

    pub fn chapters(&self) -> &VecDeque<ChapterMark> {
        &self.chapters
    }

    pub fn baseline(&self) -> Option<f64> {
        self.baseline
    }

    /// When the baseline was first known (the warm-up is over).
    pub fn baseline_since_ms(&self) -> Option<u64> {
        self.baseline_since_ms
    }

    /// The newest time any input carried.
    pub fn latest_ms(&self) -> u64 {
        self.latest_ms
    }

    /// How many entries the bounds dropped.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// A workload sample (`ops_per_sec` is `None` when the view had none).
    pub fn sample(
        &mut self,
        t_ms: u64,
        ops_per_sec: Option<f64>,
        p99_ms: Option<f64>,
        degraded: bool,
        baseline: Option<f64>,
    ) {
        self.seen(t_ms);
        if let Some(b) = baseline.filter(|b| b.is_finite() && *b > 0.0) {
            self.baseline = Some(b);
            self.baseline_since_ms.get_or_insert(t_ms);
        }
        self.status(t_ms, degraded);
        if let Some(ops) = ops_per_sec.filter(|o| o.is_finite()) {
            self.points.push_back(Point {
                t_ms,
                ops_per_sec: ops.max(0.0),
                p99_ms: p99_ms.filter(|p| p.is_finite() && *p >= 0.0),
                degraded,
            });
        }
        self.prune();
    }

    /// The workload's status is (or is not) degraded from `t_ms` on.
    pub fn status(&mut self, t_ms: u64, degraded: bool) {
        self.seen(t_ms);
        let open = self.degraded.back_mut().filter(|s| s.end_ms.is_none());
        match (open, degraded) {
            (None, true) => {
                self.degraded.push_back(Stretch {
                    start_ms: t_ms,
                    end_ms: None,
                });
                self.prune();
            }
            (Some(stretch), false) => stretch.end_ms = Some(t_ms.max(stretch.start_ms)),
            _ => {}
        }
    }

    /// The host performed `action` on container `id` of `service`.
    pub fn performed(
        &mut self,
        t_ms: u64,
        action: &str,
        disruptive: bool,
        service: &str,
        id: &str,
    ) {
        self.seen(t_ms);
        let chapter_start = self.chapters.back().map_or(0, |c| c.t_ms);
        let track = self.nodes.entry(id.to_string()).or_default();
        let previous_action = track.last_action_ms;
        track.last_action_ms = Some(t_ms);
        let track = *track;
        if !disruptive {
            self.close(id, t_ms, action);
            return;
        }
        // A fault that came and went before its call returned (a restart):
        // the container's last stretch down began after the previous action
        // on it and in this chapter, and it is running again.
        let since = previous_action.unwrap_or(0).max(chapter_start);
        let (start_ms, end_ms, ended_by) = match track.last_down {
            Some((down, up)) if track.running && down >= since && up <= t_ms => {
                (down, Some(up), Some(RUNNING_AGAIN.to_string()))
            }
            _ => (t_ms, None, None),
        };
        self.faults.push_back(FaultWindow {
            start_ms,
            end_ms,
            action: action.to_string(),
            service: service.to_string(),
            id: id.to_string(),
            ended_by,
        });
        self.prune();
    }

    /// An outstanding fault on `id` was undone (`ok`) or could not be.
    pub fn restored(&mut self, t_ms: u64, id: &str, ok: bool, detail: &str) {
        self.seen(t_ms);
        if ok {
            self.close(id, t_ms, &format!("restore: {detail}"));
        }
    }

    /// Docker reports container `id` running or not.
    pub fn node(&mut self, t_ms: u64, id: &str, running: bool) {
        self.seen(t_ms);
        // Called for every node of every list: no new key unless it is new.
        if !self.nodes.contains_key(id) {
            self.nodes.insert(id.to_string(), NodeTrack::default());
        }
        let Some(track) = self.nodes.get_mut(id) else {
            return;
        };
        let was_down = track.down_since;
        track.running = running;
        match (running, was_down) {
            (false, None) => track.down_since = Some(t_ms),
            (true, Some(down)) => {
                track.down_since = None;
                track.last_down = Some((down, t_ms));
                // Back by itself (or by anyone): the windows it was down for end.
                for window in self.faults.iter_mut().filter(|w| {
                    w.id == id && w.end_ms.is_none() && w.start_ms <= down + DOWN_SLACK_MS
                }) {
                    window.end_ms = Some(t_ms.max(window.start_ms));
                    window.ended_by = Some(RUNNING_AGAIN.into());
                }
            }
            _ => {}
        }
    }

    /// Forgets the containers not in `ids` (the project's list changed).
    pub fn keep_nodes<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) {
        let keep: std::collections::HashSet<&str> = ids.into_iter().collect();
        self.nodes.retain(|id, _| keep.contains(id.as_str()));
    }

    pub fn chapter(&mut self, t_ms: u64, index: usize, title: &str) {
        self.seen(t_ms);
        self.chapters.push_back(ChapterMark {
            t_ms,
            index,
            title: title.to_string(),
        });
        self.prune();
    }

    fn close(&mut self, id: &str, t_ms: u64, by: &str) {
        for window in self.faults.iter_mut().filter(|w| w.id == id) {
            match window.end_ms {
                None => {
                    window.end_ms = Some(t_ms.max(window.start_ms));
                    window.ended_by = Some(by.to_string());
                }
                // Docker said it was running a moment before the undo's call
                // returned: the undo did it. The window keeps Docker's time.
                Some(end)
                    if end + DOWN_SLACK_MS >= t_ms
                        && window.ended_by.as_deref() == Some(RUNNING_AGAIN) =>
                {
                    window.ended_by = Some(by.to_string());
                }
                Some(_) => {}
            }
        }
    }

    fn seen(&mut self, t_ms: u64) {
        self.latest_ms = self.latest_ms.max(t_ms);
    }

    fn prune(&mut self) {
        let cutoff = self
            .bounds
            .keep_ms
            .map_or(0, |keep| self.latest_ms.saturating_sub(keep));
        let max_points = self.bounds.max_points.max(1);
        let max_marks = self.bounds.max_marks.max(1);
        let mut dropped = 0;
        while self
            .points
            .front()
            .is_some_and(|p| p.t_ms < cutoff || self.points.len() > max_points)
        {
            self.points.pop_front();
            dropped += 1;
        }
        let ended_before = |end: Option<u64>| end.is_some_and(|e| e < cutoff);
        while self
            .faults
            .front()
            .is_some_and(|w| ended_before(w.end_ms) || self.faults.len() > max_marks)
        {
            self.faults.pop_front();
            dropped += 1;
        }
        while self
            .degraded
            .front()
            .is_some_and(|s| ended_before(s.end_ms) || self.degraded.len() > max_marks)
        {
            self.degraded.pop_front();
            dropped += 1;
        }
        // The chapter on screen stays, however long ago it began.
        while self.chapters.len() > 1
            && (self.chapters.len() > max_marks || self.chapters[1].t_ms < cutoff)
        {
            self.chapters.pop_front();
            dropped += 1;
        }
        self.dropped += dropped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline() -> Timeline {
        Timeline::new(Bounds::WHOLE_SHOW)
    }

    #[test]
    fn a_kill_window_ends_at_the_flows_own_start() {
        let mut t = timeline();
        t.node(0, "c1", true);
        t.performed(10_000, "kill SIGKILL", true, "etcd1", "c1");
        t.node(10_005, "c1", false);
        t.performed(20_000, "start", false, "etcd1", "c1");
        t.node(20_100, "c1", true);
        assert_eq!(
            t.faults().iter().collect::<Vec<_>>(),
            [&FaultWindow {
                start_ms: 10_000,
                end_ms: Some(20_000),
                action: "kill SIGKILL".into(),
                service: "etcd1".into(),
                id: "c1".into(),
                ended_by: Some("start".into()),
            }]
        );
    }

    /// Docker's `start` event can come before the start call returns.
    #[test]
    fn a_start_seen_by_docker_first_ends_the_window_then_and_names_the_start() {
        let mut t = timeline();
        t.node(0, "c1", true);
        t.performed(10_000, "kill SIGKILL", true, "etcd1", "c1");
        t.node(10_005, "c1", false);
        t.node(19_990, "c1", true);
        t.performed(20_000, "start", false, "etcd1", "c1");
        let w = &t.faults()[0];
        assert_eq!(w.end_ms, Some(19_990));
        assert_eq!(w.ended_by.as_deref(), Some("start"));
        // A later start (of another kill) does not rename it.
        t.performed(40_000, "start", false, "etcd1", "c1");
        assert_eq!(t.faults()[0].ended_by.as_deref(), Some("start"));
    }

    #[test]
    fn a_window_stays_open_until_a_successful_restore() {
        let mut t = timeline();
        t.performed(5_000, "partition", true, "etcd2", "c2");
        t.restored(9_000, "c2", false, "Docker refused");
        assert_eq!(t.faults()[0].end_ms, None);
        t.restored(9_500, "c2", true, "healed");
        assert_eq!(t.faults()[0].end_ms, Some(9_500));
        assert_eq!(t.faults()[0].ended_by.as_deref(), Some("restore: healed"));
    }

    #[test]
    fn an_undo_on_another_container_leaves_the_window_open() {
        let mut t = timeline();
        t.performed(1_000, "pause", true, "etcd1", "c1");
        t.performed(2_000, "unpause", false, "etcd2", "c2");
        assert_eq!(t.faults()[0].end_ms, None);
    }

    /// Docker's events of a restart arrive before the call returns: the
    /// window is the stretch the container was down.
    #[test]
    fn a_restart_whose_events_came_first_is_the_stretch_it_was_down() {
        let mut t = timeline();
        t.chapter(0, 0, "intro");
        t.node(0, "c1", true);
        t.chapter(30_000, 1, "restart");
        t.node(31_000, "c1", false);
        t.node(33_000, "c1", true);
        t.performed(33_050, "restart", true, "etcd1", "c1");
        let w = &t.faults()[0];
        assert_eq!((w.start_ms, w.end_ms), (31_000, Some(33_000)));
        // A later partition of the same, running container stays open.
        t.performed(40_000, "partition", true, "etcd1", "c1");
        assert_eq!(t.faults()[1].end_ms, None);
    }

    #[test]
    fn a_container_back_by_itself_ends_its_window() {
        let mut t = timeline();
        t.node(0, "c1", true);
        t.performed(1_000, "restart", true, "etcd1", "c1");
        t.node(1_200, "c1", false);
        t.node(3_000, "c1", true);
        assert_eq!(t.faults()[0].end_ms, Some(3_000));
        assert_eq!(t.faults()[0].ended_by.as_deref(), Some("running again"));
    }

    #[test]
    fn degraded_stretches_follow_the_status() {
        let mut t = timeline();
        t.sample(1_000, Some(1000.0), None, false, Some(1000.0));
        t.sample(2_000, Some(10.0), Some(40.0), true, Some(1000.0));
        t.sample(3_000, Some(0.0), None, true, Some(1000.0));
        t.status(4_000, false);
        t.sample(5_000, Some(900.0), None, false, Some(1000.0));
        assert_eq!(
            t.degraded().iter().copied().collect::<Vec<_>>(),
            [Stretch {
                start_ms: 2_000,
                end_ms: Some(4_000)
            }]
        );
        assert_eq!(t.points().len(), 4);
        assert_eq!(t.points()[1].p99_ms, Some(40.0));
        assert_eq!(t.baseline(), Some(1000.0));
    }

    #[test]
    fn a_live_timeline_keeps_its_window_and_the_chapter_on_screen() {
        let mut t = Timeline::new(Bounds {
            keep_ms: Some(10_000),
            max_points: 5,
            max_marks: 2,
        });
        t.chapter(0, 0, "intro");
        for i in 0..100u64 {
            t.sample(i * 1_000, Some(i as f64), None, i % 2 == 0, None);
            t.performed(i * 1_000, "kill SIGKILL", true, "etcd1", &format!("c{i}"));
        }
        assert_eq!(t.points().len(), 5);
        assert_eq!(t.points().back().unwrap().t_ms, 99_000);
        assert!(t.faults().len() <= 2);
        assert!(t.degraded().len() <= 2);
        assert_eq!(t.chapters().len(), 1);
        assert!(t.dropped() > 0);
    }

    #[test]
    fn non_finite_samples_are_not_points() {
        let mut t = timeline();
        t.sample(0, Some(f64::NAN), None, false, Some(f64::INFINITY));
        t.sample(1, None, None, false, None);
        t.sample(2, Some(-5.0), Some(f64::NAN), false, None);
        assert_eq!(t.points().len(), 1);
        assert_eq!(t.points()[0].ops_per_sec, 0.0);
        assert_eq!(t.points()[0].p99_ms, None);
        assert_eq!(t.baseline(), None);
    }
}
