//! The presenter's state and how inputs and events change it. Pure: no I/O,
//! no tasks; the show loop (`show.rs`) feeds it and carries out its effects.

use crate::cluster::{ClusterEvent, Node, NodeState, Performed, RestoreOutcome};
use crate::events::{Event, Level, RunId};
use crate::flow;
use crate::hypotheses::checker::{Checker, Observation, Outcome, Verdicted};
use crate::hypotheses::{Hypothesis, Moment};
use crate::model::FlowInfo;
use crate::timeline::{Bounds, Timeline};
use crate::workload::tracker::Status;
use crate::workload::verdicts::Anomaly;
use crate::workload::{WorkloadEvent, WorkloadView};
use std::collections::{HashMap, VecDeque};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

const EVENT_LOG_LINES: usize = 200;
/// How long "FAULT INJECTED" stays up after a disruptive fault: long enough to
/// be read from the back row, short enough not to hide the effect.
pub const FAULT_FLASH_MS: u64 = 2500;

/// What the presenter asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Next,
    Previous,
    Quit,
    Help,
    /// The emergency stop: stop the running chapter and restore every
    /// fault, staying in the show.
    Stop,
}

/// What the app needs done outside itself.
#[derive(Debug)]
pub enum Effect {
    /// For the flow task, as is.
    Flow(flow::FlowRequest),
    /// Cancel everything and restore the cluster.
    Quit,
    /// Stop the show's faults (an abort condition or the presenter): undo
    /// every one, make none until the next chapter; the show goes on.
    StopFaults { reason: String, breached_at_ms: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Presenting,
    /// Quit was asked; faults are being undone.
    Restoring,
    Done,
}

#[derive(Debug)]
struct ActiveRun {
    id: RunId,
    index: usize,
    cancel: CancellationToken,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub t_ms: u64,
    pub level: Level,
    pub text: String,
}

/// The most narration lines (and bytes) the presenter keeps for the screen.
pub const MAX_NARRATION_LINES: usize = 200;
pub const MAX_NARRATION_BYTES: usize = 256 * 1024;

pub struct App {
    pub flow: FlowInfo,
    pub chapter: usize,
    /// Narration lines (markup) of the chapter on screen.
    pub narration: Vec<String>,
    pub badge: Option<(String, Level)>,
    pub countdown: Option<(u32, String)>,
    pub nodes: Vec<Node>,
    pub docker_unavailable: Option<String>,
    pub workload: WorkloadView,
    pub workload_source_error: Option<String>,
    pub log: VecDeque<LogLine>,
    /// A one-line message for the footer ("the fault is in flight…").
    pub notice: Option<String>,
    pub phase: Phase,
    pub show_help: bool,
    /// When the last disruptive fault landed (ms since start) and what it was.
    pub fault_flash: Option<(u64, String)>,
    /// Per container id: its state and since when (ms since start).
    pub node_since: HashMap<String, (NodeState, u64)>,
    /// What each restore did while quitting, in order.
    pub restores: Vec<RestoreOutcome>,
    /// Samples, fault windows and degraded stretches with their times, for
    /// the live chart (bounded: the last minutes).
    pub timeline: Timeline,
    /// Narration lines dropped from the top of `narration` (a first line
    /// says how many).
    narration_dropped: usize,
    /// The narration each chapter last showed, so going back shows it again.
    narration_of: Vec<Option<Vec<String>>>,
    /// Chapters whose action has run (going back never re-runs one).
    ran: Vec<bool>,
    active: Option<ActiveRun>,
    next_run: RunId,
    started: Instant,
    /// Inputs handled so far (the headless key script waits on it).
    pub inputs_handled: u64,
    /// The show's steady-state hypotheses and what was judged of them.
    pub hypotheses: Checker,
    /// Why the show's faults were last stopped, while they are.
    pub stopped: Option<String>,
    /// Whether the hypotheses' end was judged.
    hypotheses_ended: bool,
}

impl App {
    pub fn new(flow: FlowInfo, started: Instant) -> Self {
        let ran = vec![false; flow.chapters.len()];
        let narration_of = vec![None; flow.chapters.len()];
        App {
            flow,
            chapter: 0,
            narration: Vec::new(),
            badge: None,
            countdown: None,
            nodes: Vec::new(),
            docker_unavailable: None,
            workload: WorkloadView::empty(),
            workload_source_error: None,
            log: VecDeque::new(),
            notice: None,
            phase: Phase::Presenting,
            show_help: false,
            fault_flash: None,
            node_since: HashMap::new(),
            restores: Vec::new(),
            timeline: Timeline::new(Bounds::LIVE),
            narration_dropped: 0,
            narration_of,
            ran,
            active: None,
            next_run: 1,
            started,
            inputs_handled: 0,
            hypotheses: Checker::new(Vec::new()),
            stopped: None,
            hypotheses_ended: false,
        }
    }

    /// The show's steady-state hypotheses (the presenter's, then the flow's).
    pub fn set_hypotheses(&mut self, hypotheses: Vec<Hypothesis>) {
        self.hypotheses = Checker::new(hypotheses);
    }

    /// Stops the running chapter and every fault, staying in the show.
    pub fn stop_faults(&mut self, reason: String, breached_at_ms: u64) -> Vec<Effect> {
        if self.phase != Phase::Presenting {
            return Vec::new();
        }
        if let Some(run) = self.active.take() {
            run.cancel.cancel();
        }
        self.countdown = None;
        self.push_log(
            Level::Danger,
            format!("STOP: {reason}; restoring every fault"),
        );
        self.notice = Some(format!("Stopped: {reason}. Faults are being undone."));
        self.stopped = Some(reason.clone());
        vec![Effect::StopFaults {
            reason,
            breached_at_ms,
        }]
    }

    /// The show is over (restored, the load tool's last word heard): the
    /// hypotheses' end moments and summaries are judged. Once.
    pub fn end_hypotheses(&mut self) {
        if std::mem::replace(&mut self.hypotheses_ended, true) {
            return;
        }
        let now = self.elapsed_ms();
        let end = self.hypotheses.end(now);
        // The show is over: an abort now would stop nothing more.
        let _ = self.on_verdicted(end);
    }

    /// The periodic tick: recovery windows that ran out.
    pub fn tick(&mut self) -> Vec<Effect> {
        let now = self.elapsed_ms();
        let verdicted = self.hypotheses.tick(now);
        self.on_verdicted(verdicted)
    }

    /// Logs each judgement; an abort condition's breach stops the faults.
    fn on_verdicted(&mut self, verdicted: Vec<Verdicted>) -> Vec<Effect> {
        let mut effects = Vec::new();
        for v in verdicted {
            match v {
                Verdicted::Judged(j) => {
                    let level = match j.outcome {
                        Outcome::Met { .. } => Level::Success,
                        Outcome::NotMet { .. } => Level::Danger,
                        Outcome::NotEvaluated { .. } => Level::Warning,
                    };
                    self.push_log(
                        level,
                        format!(
                            "hypothesis {} ({}): {}, {}",
                            j.name,
                            moment_word(&j.moment),
                            j.outcome.word(),
                            j.outcome.detail()
                        ),
                    );
                }
                Verdicted::Abort {
                    name, value, t_ms, ..
                } => {
                    let reason = format!("abort condition {name} breached ({value})");
                    effects.extend(self.stop_faults(reason, t_ms));
                }
            }
        }
        effects
    }

    /// What the hypotheses learn from a workload or cluster event.
    fn observe(&mut self, update: impl FnOnce(&mut Observation)) -> Vec<Effect> {
        let now = self.elapsed_ms();
        let verdicted = self.hypotheses.observe(now, update);
        self.on_verdicted(verdicted)
    }

    /// Tells the hypotheses whether a fault is outstanding now.
    fn faults_maybe_changed(&mut self) -> Vec<Effect> {
        let open = self.timeline.faults().iter().any(|f| f.end_ms.is_none());
        let now = self.elapsed_ms();
        let verdicted = self.hypotheses.faults_changed(now, open);
        self.on_verdicted(verdicted)
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Whether a chapter's action is running.
    pub fn is_running(&self) -> bool {
        self.active.is_some()
    }

    pub fn at_last_chapter(&self) -> bool {
        self.chapter + 1 >= self.flow.chapters.len()
    }

    /// Whether "next" is refused right now because the running chapter says so.
    pub fn blocks_advance(&self) -> bool {
        self.active
            .as_ref()
            .and_then(|run| self.flow.chapters.get(run.index))
            .is_some_and(|c| c.blocks_advance)
    }

    /// Swaps in a reloaded flow's description (`--watch`), staying on the
    /// chapter on screen. Chapters that ran are not run again.
    pub fn replace_flow(&mut self, flow: FlowInfo) {
        self.ran.resize(flow.chapters.len(), false);
        self.chapter = self.chapter.min(flow.chapters.len().saturating_sub(1));
        if !self.is_running()
            && let Some(chapter) = flow.chapters.get(self.chapter)
        {
            self.narration = chapter.narration.lines().map(str::to_string).collect();
        }
        self.flow = flow;
    }

    /// Opens the first chapter.
    pub fn start(&mut self) -> Vec<Effect> {
        self.show_chapter(0)
    }

    pub fn on_input(&mut self, input: Input) -> Vec<Effect> {
        self.inputs_handled += 1;
        if self.phase != Phase::Presenting {
            return Vec::new();
        }
        match input {
            Input::Help => {
                self.show_help = !self.show_help;
                Vec::new()
            }
            Input::Quit => self.quit(),
            Input::Stop => {
                let now = self.elapsed_ms();
                self.stop_faults("stopped by the presenter".into(), now)
            }
            Input::Next => {
                if self.blocks_advance() {
                    self.notice =
                        Some("This chapter is running; next is blocked until it finishes.".into());
                    return Vec::new();
                }
                if self.at_last_chapter() {
                    self.notice = Some(
                        "This is the last chapter. Q quits (and restores the cluster).".into(),
                    );
                    return Vec::new();
                }
                // Skipping a chapter that is still waiting cancels its wait.
                if let Some(run) = self.active.take() {
                    run.cancel.cancel();
                }
                self.show_chapter(self.chapter + 1)
            }
            Input::Previous => {
                if self.chapter == 0 || self.blocks_advance() {
                    return Vec::new();
                }
                if let Some(run) = self.active.take() {
                    run.cancel.cancel();
                }
                self.show_chapter(self.chapter - 1)
            }
        }
    }

    /// Shows chapter `index` and runs its action unless it already ran.
    fn show_chapter(&mut self, index: usize) -> Vec<Effect> {
        let Some(chapter) = self.flow.chapters.get(index) else {
            return Vec::new();
        };
        if index != self.chapter && self.ran[self.chapter] {
            self.narration_of[self.chapter] = Some(std::mem::take(&mut self.narration));
        }
        self.chapter = index;
        self.narration = chapter.narration.lines().map(str::to_string).collect();
        let title = chapter.title.clone();
        let now = self.elapsed_ms();
        self.timeline.chapter(now, index, &title);
        self.narration_dropped = 0;
        self.countdown = None;
        self.notice = None;
        if self.ran[index] {
            if let Some(shown) = &self.narration_of[index] {
                self.narration = shown.clone();
            }
            self.notice = Some("Already run; its action is not repeated.".into());
            return Vec::new();
        }
        self.ran[index] = true;
        // A new chapter may make faults again after a stop.
        self.stopped = None;
        let run = self.next_run;
        self.next_run += 1;
        let cancel = CancellationToken::new();
        self.active = Some(ActiveRun {
            id: run,
            index,
            cancel: cancel.clone(),
        });
        vec![Effect::Flow(flow::FlowRequest::Enter {
            index: index as u32,
            run,
            cancel,
        })]
    }

    pub fn quit(&mut self) -> Vec<Effect> {
        if self.phase != Phase::Presenting {
            return Vec::new();
        }
        if let Some(run) = self.active.take() {
            run.cancel.cancel();
        }
        self.countdown = None;
        self.phase = Phase::Restoring;
        self.notice = Some("Restoring the cluster…".into());
        vec![Effect::Quit]
    }

    /// Keeps the narration to [`MAX_NARRATION_LINES`] lines and
    /// [`MAX_NARRATION_BYTES`], dropping the oldest and saying so in a first
    /// line, so a flow appending for ever cannot grow the presenter.
    fn bound_narration(&mut self) {
        let has_marker = self.narration_dropped > 0;
        let body_start = usize::from(has_marker);
        let mut bytes: usize = self.narration[body_start..].iter().map(String::len).sum();
        let mut cut = body_start;
        while self.narration.len() - cut > MAX_NARRATION_LINES
            || (bytes > MAX_NARRATION_BYTES && self.narration.len() - cut > 1)
        {
            bytes -= self.narration[cut].len();
            cut += 1;
        }
        let newly_dropped = cut - body_start;
        if newly_dropped == 0 {
            return;
        }
        self.narration_dropped += newly_dropped;
        let marker = crate::runtime::outbox::dropped_marker(self.narration_dropped);
        self.narration.splice(0..cut, [marker]);
    }

    fn is_current(&self, run: RunId) -> bool {
        self.active.as_ref().is_some_and(|a| a.id == run)
    }

    pub fn on_event(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::NarrationSet { run, markup } if self.is_current(run) => {
                self.narration = markup.lines().map(str::to_string).collect();
                self.narration_dropped = 0;
                self.bound_narration();
            }
            Event::NarrationAppend { run, markup } if self.is_current(run) => {
                self.narration.extend(markup.lines().map(str::to_string));
                self.bound_narration();
            }
            Event::Badge { run, text, level } if self.is_current(run) => {
                self.badge = (!text.is_empty()).then_some((text, level));
            }
            Event::Countdown {
                run,
                remaining,
                label,
            } if self.is_current(run) => {
                self.countdown = (remaining > 0).then_some((remaining, label));
            }
            Event::ChapterFinished {
                run,
                index,
                outcome,
            } => {
                return self.chapter_finished(run, index, outcome);
            }
            Event::Cluster(event) => return self.on_cluster(event),
            Event::Workload(event) => return self.on_workload(event),
            Event::RestoreFinished => self.phase = Phase::Done,
            Event::FaultsStopped {
                breached_at_ms,
                restored_at_ms,
                restored,
                failed,
                ..
            } => {
                let took = restored_at_ms.saturating_sub(breached_at_ms);
                let (level, said) = if failed == 0 {
                    (
                        Level::Success,
                        format!("{restored} fault(s) undone {took} ms after the stop"),
                    )
                } else {
                    (
                        Level::Danger,
                        format!(
                            "{failed} of {} undo(s) failed; they stay on the ledger for `host recover`",
                            restored + failed
                        ),
                    )
                };
                self.push_log(level, said.clone());
                if self.phase == Phase::Presenting {
                    self.notice = Some(format!(
                        "Stopped: {said}. SPACE goes on; faults resume with the next chapter."
                    ));
                }
            }
            // Narration from a chapter the presenter already left.
            Event::NarrationSet { .. }
            | Event::NarrationAppend { .. }
            | Event::Badge { .. }
            | Event::Countdown { .. } => {}
        }
        Vec::new()
    }

    fn on_cluster(&mut self, event: ClusterEvent) -> Vec<Effect> {
        match event {
            // Judged on what was seen until now, before the engine (and so
            // the node list) shows anything of the fault.
            ClusterEvent::FaultStarting => {
                let now = self.elapsed_ms();
                let verdicted = self.hypotheses.faults_changed(now, true);
                return self.on_verdicted(verdicted);
            }
            ClusterEvent::Performed(Performed {
                action,
                service,
                container,
                id,
            }) => {
                let described = action.describe();
                let now = self.elapsed_ms();
                self.timeline
                    .performed(now, &described, action.is_disruptive(), &service, &id);
                let text = format!("{described} {service} ({container})");
                if action.is_disruptive() {
                    self.fault_flash = Some((self.elapsed_ms(), format!("{described} {service}")));
                    self.push_log(Level::Danger, text);
                } else {
                    self.push_log(Level::Success, text);
                }
            }
            ClusterEvent::NodesChanged(nodes) => {
                let all_running =
                    !nodes.is_empty() && nodes.iter().all(|n| n.state == NodeState::Running);
                self.set_nodes(nodes);
                return self.observe(|o| o.all_running = Some(all_running));
            }
            ClusterEvent::DockerUnavailable(why) => {
                self.push_log(Level::Danger, format!("Docker unavailable: {why}"));
                self.docker_unavailable = Some(why);
            }
            ClusterEvent::DockerAvailable => {
                self.push_log(Level::Success, "Docker is reachable again".into());
                self.docker_unavailable = None;
            }
            ClusterEvent::Restored(outcome) => {
                let now = self.elapsed_ms();
                self.timeline
                    .restored(now, &outcome.id, outcome.ok, &outcome.detail);
                let level = if outcome.ok {
                    Level::Success
                } else {
                    Level::Danger
                };
                self.push_log(
                    level,
                    format!("restore {}: {}", outcome.service, outcome.detail),
                );
                if self.phase != Phase::Presenting {
                    self.restores.push(outcome);
                }
            }
        }
        // A fault made or undone (by the flow or a restore) may open or
        // close the faults' period the hypotheses are judged around.
        self.faults_maybe_changed()
    }

    fn on_workload(&mut self, event: WorkloadEvent) -> Vec<Effect> {
        match event {
            WorkloadEvent::Sample(view) => {
                let current = view.current.as_ref();
                let p99_ms = current
                    .and_then(|s| s.ops.iter().filter_map(|o| o.p99_us).reduce(f64::max))
                    .map(|us| us / 1000.0);
                self.timeline.sample(
                    view.t_ms,
                    current.map(|s| s.ops_per_sec),
                    p99_ms,
                    view.status == Status::Degraded,
                    view.baseline,
                );
                let (ops, baseline) = (current.map(|s| s.ops_per_sec), view.baseline);
                self.workload = view;
                return self.observe(|o| {
                    o.ops_per_sec = ops;
                    o.baseline = baseline;
                    o.p99_ms = p99_ms;
                });
            }
            WorkloadEvent::StatusChanged { from, to } => {
                let now = self.elapsed_ms();
                self.timeline.status(now, to == Status::Degraded);
                let level = match to {
                    Status::Degraded => Level::Danger,
                    Status::Normal => Level::Success,
                    _ => Level::Info,
                };
                self.push_log(
                    level,
                    format!("workload {} → {}", status_word(from), status_word(to)),
                );
            }
            WorkloadEvent::SourceFailed(message) => {
                self.push_log(Level::Warning, message.clone());
                self.workload_source_error = Some(message);
            }
            WorkloadEvent::Verdict { verdicts, first } => {
                for anomaly in first {
                    let level = match anomaly {
                        Anomaly::StaleSerializableRead => Level::Warning,
                        Anomaly::StaleRead | Anomaly::LostWrite => Level::Danger,
                    };
                    self.push_log(level, format!("first {}", anomaly.describe()));
                }
                let latest = verdicts.latest;
                self.workload.verdicts = Some(verdicts);
                return self.observe(|o| o.verdict = Some(latest));
            }
            WorkloadEvent::BadVerdict(message) => self.push_log(Level::Warning, message),
            WorkloadEvent::Finished => {
                self.push_log(Level::Info, "the workload command ended its run".into())
            }
        }
        Vec::new()
    }

    fn chapter_finished(
        &mut self,
        run: RunId,
        index: u32,
        outcome: Result<(), String>,
    ) -> Vec<Effect> {
        let title = self
            .flow
            .chapters
            .get(index as usize)
            .map(|c| c.title.clone())
            .unwrap_or_default();
        if let Err(message) = &outcome {
            self.push_log(
                Level::Danger,
                format!("chapter {} \"{title}\": {message}", index + 1),
            );
        }
        if !self.is_current(run) {
            return Vec::new();
        }
        self.active = None;
        self.countdown = None;
        self.notice = None;
        if let Err(message) = outcome {
            self.narration
                .push(format!("[red]{}[/]", message.replace('[', "[[")));
            return Vec::new();
        }
        let auto = self
            .flow
            .chapters
            .get(index as usize)
            .is_some_and(|c| c.auto_advance);
        if auto && self.phase == Phase::Presenting && !self.at_last_chapter() {
            return self.show_chapter(self.chapter + 1);
        }
        Vec::new()
    }

    /// Moves the start back, as if `by` had passed (renders of clocks).
    #[cfg(test)]
    pub(crate) fn rewind(&mut self, by: std::time::Duration) {
        self.started -= by;
    }

    /// Whether "FAULT INJECTED" is still up.
    pub fn fault_flash_visible(&self) -> bool {
        self.fault_flash
            .as_ref()
            .is_some_and(|(at, _)| self.elapsed_ms().saturating_sub(*at) < FAULT_FLASH_MS)
    }

    /// The containers with a fault the show made that nothing has undone
    /// yet (their window on the timeline is open), and what the fault was.
    pub fn faulted(&self) -> HashMap<&str, &str> {
        self.timeline
            .faults()
            .iter()
            .filter(|w| w.end_ms.is_none())
            .map(|w| (w.id.as_str(), w.action.as_str()))
            .collect()
    }

    /// How long `node` has been in its current state, in ms.
    pub fn time_in_state(&self, node: &Node) -> Option<u64> {
        let (_, since) = self.node_since.get(&node.id)?;
        Some(self.elapsed_ms().saturating_sub(*since))
    }

    /// Takes Docker's new list: each node's time in state restarts only when
    /// its state changed. One lookup per node, updated in place (no new map
    /// per event); ids no longer listed are dropped when there are some.
    fn set_nodes(&mut self, nodes: Vec<Node>) {
        let now = self.elapsed_ms();
        for node in &nodes {
            self.timeline
                .node(now, &node.id, node.state == NodeState::Running);
            match self.node_since.get_mut(&node.id) {
                Some((state, _)) if *state == node.state => {}
                Some(entry) => *entry = (node.state, now),
                None => {
                    self.node_since.insert(node.id.clone(), (node.state, now));
                }
            }
        }
        if self.node_since.len() != nodes.len() {
            let listed: std::collections::HashSet<&str> =
                nodes.iter().map(|n| n.id.as_str()).collect();
            self.node_since.retain(|id, _| listed.contains(id.as_str()));
        }
        self.timeline
            .keep_nodes(nodes.iter().map(|n| n.id.as_str()));
        self.nodes = nodes;
    }

    fn push_log(&mut self, level: Level, text: String) {
        if self.log.len() == EVENT_LOG_LINES {
            self.log.pop_front();
        }
        let t_ms = self.elapsed_ms();
        self.log.push_back(LogLine { t_ms, level, text });
    }
}

/// How a moment reads in the events list.
pub fn moment_word(moment: &Moment) -> String {
    match moment {
        Moment::Before => "before the first fault".into(),
        Moment::Continuously => "continuously".into(),
        Moment::AfterUndo { within } => format!("within {} s of the undo", within.as_secs()),
        Moment::End => "at the end".into(),
    }
}

pub fn status_word(status: Status) -> &'static str {
    match status {
        Status::NoData => "no data",
        Status::WarmingUp => "warming up",
        Status::Normal => "normal",
        Status::Degraded => "DEGRADED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Capabilities, Chapter};

    fn chapter(title: &str, auto: bool, blocks: bool) -> Chapter {
        Chapter {
            title: title.into(),
            narration: format!("{title} narration"),
            key_hint: String::new(),
            auto_advance: auto,
            blocks_advance: blocks,
            notes: String::new(),
        }
    }

    fn app() -> App {
        App::new(
            FlowInfo {
                name: "t".into(),
                version: "1".into(),
                description: String::new(),
                chapters: vec![
                    chapter("intro", false, false),
                    chapter("fault", false, true),
                    chapter("recover", true, true),
                    chapter("done", false, false),
                ],
                capabilities: Capabilities {
                    faults: vec![],
                    reads_workload: true,
                    http_probes: vec![],
                    memory_mib: 0,
                },
                default_workload: None,
                hypotheses: Vec::new(),
            },
            Instant::now(),
        )
    }

    fn entered(effects: &[Effect]) -> Option<(u32, RunId)> {
        effects.iter().find_map(|e| match e {
            Effect::Flow(flow::FlowRequest::Enter { index, run, .. }) => Some((*index, *run)),
            _ => None,
        })
    }

    fn p99_sample(app: &mut App, p99_us: f64) -> Vec<Effect> {
        let view = WorkloadView {
            current: Some(crate::workload::parse::Sample {
                format: crate::workload::parse::Format::Ycsb,
                elapsed_s: None,
                ops_per_sec: 1000.0,
                failures_per_sec: 0.0,
                ops: vec![crate::workload::parse::OpStat {
                    name: "UPDATE".into(),
                    count: 1000,
                    avg_us: None,
                    p99_us: Some(p99_us),
                    failed: false,
                }],
            }),
            baseline: Some(1000.0),
            ..WorkloadView::empty()
        };
        app.on_event(Event::Workload(WorkloadEvent::Sample(view)))
    }

    fn stop_of(effects: &[Effect]) -> Option<&str> {
        effects.iter().find_map(|e| match e {
            Effect::StopFaults { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
    }

    #[test]
    fn a_breached_abort_condition_stops_the_chapter_and_every_fault_but_not_the_show() {
        let mut app = app();
        app.set_hypotheses(vec!["p99<=50ms!abort".parse().unwrap()]);
        app.start();
        assert!(stop_of(&p99_sample(&mut app, 10_000.0)).is_none());
        let (_, run) = entered(&app.on_input(Input::Next)).unwrap();
        let effects = p99_sample(&mut app, 400_000.0);
        let reason = stop_of(&effects).expect("the breach stops the faults");
        assert!(
            reason.contains("p99<=50ms!abort") && reason.contains("p99 400.0 ms"),
            "{reason}"
        );
        assert!(!app.is_current(run), "the running chapter was stopped");
        assert_eq!(app.phase, Phase::Presenting);
        assert!(app.stopped.is_some());
        assert!(
            app.log
                .iter()
                .any(|l| l.text.starts_with("STOP: abort condition"))
        );
        // The show goes on; the next chapter may make faults again.
        app.on_event(Event::ChapterFinished {
            run,
            index: 1,
            outcome: Err("interrupted".into()),
        });
        assert!(entered(&app.on_input(Input::Next)).is_some());
        assert!(app.stopped.is_none());
    }

    #[test]
    fn a_flow_narrating_verdict_lines_changes_no_count() {
        let mut app = app();
        app.set_hypotheses(vec!["no-lost-writes@continuously!abort".parse().unwrap()]);
        let (_, run) = entered(&app.start()).unwrap();
        let fake = "[VERDICT] acknowledged=10 failed=0 unknown=0 reads=5 stale=3 stale-serializable=0 lost=7 final=yes";
        for event in [
            Event::NarrationAppend {
                run,
                markup: fake.into(),
            },
            Event::NarrationSet {
                run,
                markup: fake.into(),
            },
        ] {
            assert!(
                app.on_event(event).is_empty(),
                "a narration stopped the faults"
            );
        }
        assert_eq!(app.workload.verdicts, None);
        assert!(app.hypotheses.judged().is_empty());
        assert!(!app.log.iter().any(|l| l.text.contains("lost write")));
    }

    #[test]
    fn before_the_first_fault_is_judged_on_what_was_seen_before_it_was_made() {
        let mut app = app();
        app.set_hypotheses(vec!["all-running@before".parse().unwrap()]);
        app.start();
        let running = vec![Node::fixture("s", "c1", "1", NodeState::Running)];
        app.on_event(Event::Cluster(ClusterEvent::NodesChanged(running)));
        // The ledger has the kill; the engine's report of it comes next.
        app.on_event(Event::Cluster(ClusterEvent::FaultStarting));
        let exited = vec![Node::fixture("s", "c1", "1", NodeState::Exited)];
        app.on_event(Event::Cluster(ClusterEvent::NodesChanged(exited)));
        let judged = app.hypotheses.judged();
        assert_eq!(judged.len(), 1, "{judged:?}");
        assert_eq!(judged[0].outcome.word(), "met", "{judged:?}");
    }

    #[test]
    fn x_is_the_presenters_emergency_stop() {
        let mut app = app();
        app.start();
        let effects = app.on_input(Input::Stop);
        assert_eq!(stop_of(&effects), Some("stopped by the presenter"));
        app.on_event(Event::FaultsStopped {
            reason: "stopped by the presenter".into(),
            breached_at_ms: 1_000,
            restored_at_ms: 1_240,
            restored: 2,
            failed: 0,
        });
        assert!(
            app.log
                .iter()
                .any(|l| l.text == "2 fault(s) undone 240 ms after the stop")
        );
    }

    #[test]
    fn next_is_ignored_while_a_blocking_chapter_runs() {
        let mut app = app();
        let (_, intro) = entered(&app.start()).unwrap();
        app.on_event(Event::ChapterFinished {
            run: intro,
            index: 0,
            outcome: Ok(()),
        });
        let (index, run) = entered(&app.on_input(Input::Next)).unwrap();
        assert_eq!(index, 1);
        assert!(app.on_input(Input::Next).is_empty());
        assert_eq!(app.chapter, 1);
        assert!(app.notice.as_deref().unwrap().contains("blocked"));
        app.on_event(Event::ChapterFinished {
            run,
            index: 1,
            outcome: Ok(()),
        });
        assert_eq!(entered(&app.on_input(Input::Next)).unwrap().0, 2);
    }

    #[test]
    fn auto_advance_enters_the_next_chapter_when_the_action_succeeds() {
        let mut app = app();
        app.start();
        app.on_input(Input::Next);
        app.active = None;
        let (_, run) = entered(&app.on_input(Input::Next)).unwrap();
        let effects = app.on_event(Event::ChapterFinished {
            run,
            index: 2,
            outcome: Ok(()),
        });
        assert_eq!(entered(&effects).unwrap().0, 3);
        assert_eq!(app.chapter, 3);
    }

    #[test]
    fn going_back_never_reruns_an_action() {
        let mut app = app();
        let (_, run) = entered(&app.start()).unwrap();
        app.on_event(Event::ChapterFinished {
            run,
            index: 0,
            outcome: Ok(()),
        });
        let (_, run) = entered(&app.on_input(Input::Next)).unwrap();
        app.on_event(Event::ChapterFinished {
            run,
            index: 1,
            outcome: Ok(()),
        });
        assert!(app.on_input(Input::Previous).is_empty());
        assert_eq!(app.chapter, 0);
        assert!(
            entered(&app.on_input(Input::Next)).is_none(),
            "the fault chapter must not run twice"
        );
        assert_eq!(app.narration, vec!["fault narration".to_string()]);
    }

    #[test]
    fn endless_appends_keep_the_newest_lines_under_a_marker() {
        let mut app = app();
        let (_, run) = entered(&app.start()).unwrap();
        for i in 0..5_000 {
            app.on_event(Event::NarrationAppend {
                run,
                markup: format!("line {i}"),
            });
        }
        assert_eq!(app.narration.len(), MAX_NARRATION_LINES + 1);
        assert!(
            app.narration[0].contains("4801 earlier lines not shown"),
            "{}",
            app.narration[0]
        );
        assert_eq!(app.narration.last().unwrap(), "line 4999");
        // Huge lines are bounded by bytes as well.
        let big = "b".repeat(64 * 1024);
        for _ in 0..100 {
            app.on_event(Event::NarrationAppend {
                run,
                markup: big.clone(),
            });
        }
        let bytes: usize = app.narration.iter().map(String::len).sum();
        assert!(bytes <= MAX_NARRATION_BYTES + 200, "{bytes} bytes kept");
        // A set starts afresh, without a marker.
        app.on_event(Event::NarrationSet {
            run,
            markup: "fresh".into(),
        });
        assert_eq!(app.narration, vec!["fresh".to_string()]);
    }

    #[test]
    fn narration_from_a_skipped_chapter_is_not_shown() {
        let mut app = app();
        let (_, intro) = entered(&app.start()).unwrap();
        app.on_input(Input::Next);
        app.on_event(Event::NarrationAppend {
            run: intro,
            markup: "late".into(),
        });
        assert_eq!(app.narration, vec!["fault narration".to_string()]);
    }

    #[test]
    fn quitting_cancels_the_running_chapter_and_restores() {
        let mut app = app();
        let Effect::Flow(flow::FlowRequest::Enter { cancel, .. }) = app.start().remove(0) else {
            panic!()
        };
        let effects = app.quit();
        assert!(matches!(effects.as_slice(), [Effect::Quit]));
        assert!(cancel.is_cancelled());
        assert_eq!(app.phase, Phase::Restoring);
        app.on_event(Event::RestoreFinished);
        assert_eq!(app.phase, Phase::Done);
    }

    #[test]
    fn a_failed_chapter_shows_its_error_and_does_not_auto_advance() {
        let mut app = app();
        app.start();
        app.on_input(Input::Next);
        app.active = None;
        let (_, run) = entered(&app.on_input(Input::Next)).unwrap();
        let effects = app.on_event(Event::ChapterFinished {
            run,
            index: 2,
            outcome: Err("Docker refused: [x]".into()),
        });
        assert!(effects.is_empty());
        assert_eq!(
            app.narration.last().unwrap(),
            "[red]Docker refused: [[x][/]"
        );
    }

    fn node(id: &str, state: NodeState) -> Node {
        Node::fixture(format!("svc-{id}"), format!("c-{id}"), id, state)
    }

    #[test]
    fn going_back_shows_the_narration_the_chapter_last_showed() {
        let mut app = app();
        let (_, run) = entered(&app.start()).unwrap();
        app.on_event(Event::NarrationAppend {
            run,
            markup: "[green]measured 1200 ops/s[/]".into(),
        });
        app.on_event(Event::ChapterFinished {
            run,
            index: 0,
            outcome: Ok(()),
        });
        app.on_input(Input::Next);
        app.active = None;
        assert!(app.on_input(Input::Previous).is_empty());
        assert_eq!(
            app.narration,
            vec![
                "intro narration".to_string(),
                "[green]measured 1200 ops/s[/]".to_string()
            ]
        );
    }

    fn nodes_changed(nodes: Vec<Node>) -> Event {
        Event::Cluster(ClusterEvent::NodesChanged(nodes))
    }

    #[test]
    fn time_in_state_restarts_only_when_the_state_changes() {
        let mut app = app();
        app.on_event(nodes_changed(vec![node("a", NodeState::Running)]));
        app.node_since.get_mut("a").unwrap().1 = 0;
        app.started -= std::time::Duration::from_secs(10);
        app.on_event(nodes_changed(vec![
            node("a", NodeState::Running),
            node("b", NodeState::Running),
        ]));
        let a = app.time_in_state(&app.nodes[0]).unwrap();
        let b = app.time_in_state(&app.nodes[1]).unwrap();
        assert!(a >= 10_000, "{a}");
        assert!(b < 10_000, "{b}");
        app.on_event(nodes_changed(vec![node("a", NodeState::Exited)]));
        assert!(app.time_in_state(&app.nodes[0]).unwrap() < 10_000);
        assert!(!app.node_since.contains_key("b"));
    }

    fn performed(action: impl Into<crate::cluster::Action>) -> Event {
        Event::Cluster(ClusterEvent::Performed(Performed {
            action: action.into(),
            service: "etcd1".into(),
            container: "c1".into(),
            id: "1".into(),
        }))
    }

    #[test]
    fn only_disruptive_faults_flash_fault_injected() {
        use crate::cluster::{ContainerAction, KillSignal};
        let mut app = app();
        app.on_event(performed(ContainerAction::Start));
        assert!(!app.fault_flash_visible());
        app.on_event(performed(ContainerAction::Kill {
            signal: KillSignal::Kill,
        }));
        assert!(app.fault_flash_visible());
        assert_eq!(app.fault_flash.as_ref().unwrap().1, "kill SIGKILL etcd1");
        app.fault_flash.as_mut().unwrap().0 = 0;
        app.started -= std::time::Duration::from_millis(FAULT_FLASH_MS);
        assert!(!app.fault_flash_visible());
    }

    /// Healing a partition flashed "FAULT INJECTED" while the flash was
    /// decided by the action's text; a heal gives the node back.
    #[test]
    fn a_heal_does_not_flash_fault_injected_but_a_kill_does() {
        use crate::cluster::{ContainerAction, KillSignal, NetworkAction};
        let mut app = app();
        app.on_event(performed(NetworkAction::Heal));
        assert!(!app.fault_flash_visible());
        assert_eq!(app.fault_flash, None);
        let logged = app.log.back().unwrap();
        assert_eq!(
            (logged.level, logged.text.as_str()),
            (Level::Success, "heal etcd1 (c1)")
        );
        app.on_event(performed(ContainerAction::Kill {
            signal: KillSignal::Kill,
        }));
        assert!(app.fault_flash_visible());
        assert_eq!(app.log.back().unwrap().level, Level::Danger);
    }

    #[test]
    fn restores_while_quitting_are_kept_for_the_restoring_screen() {
        let mut app = app();
        let outcome = |ok| {
            Event::Cluster(ClusterEvent::Restored(RestoreOutcome {
                service: "etcd1".into(),
                container: "c1".into(),
                id: "1".into(),
                undo: crate::cluster::ledger::UndoAction::Start,
                ok,
                detail: "started".into(),
            }))
        };
        // A leftover restored at startup is not part of this quit.
        app.on_event(outcome(true));
        app.quit();
        app.on_event(outcome(false));
        assert_eq!(app.restores.len(), 1);
        assert!(!app.restores[0].ok);
    }

    /// The live chart's state comes from the same events as the rest:
    /// a kill opens a window that the flow's start closes, a pause stays
    /// open until its restore, samples keep their times and status.
    #[test]
    fn the_chart_follows_faults_their_undo_and_the_samples() {
        use crate::cluster::{ContainerAction, KillSignal};
        let mut app = app();
        app.start();
        app.on_event(performed(ContainerAction::Kill {
            signal: KillSignal::Kill,
        }));
        app.on_event(performed(ContainerAction::Start));
        let pause = Performed {
            action: ContainerAction::Pause.into(),
            service: "etcd2".into(),
            container: "c2".into(),
            id: "2".into(),
        };
        app.on_event(Event::Cluster(ClusterEvent::Performed(pause)));
        let windows: Vec<(&str, &str, bool)> = app
            .timeline
            .faults()
            .iter()
            .map(|w| (w.action.as_str(), w.service.as_str(), w.end_ms.is_some()))
            .collect();
        assert_eq!(
            windows,
            [("kill SIGKILL", "etcd1", true), ("pause", "etcd2", false)]
        );
        app.on_event(Event::Cluster(ClusterEvent::Restored(RestoreOutcome {
            service: "etcd2".into(),
            container: "c2".into(),
            id: "2".into(),
            undo: crate::cluster::ledger::UndoAction::Unpause,
            ok: true,
            detail: "unpaused".into(),
        })));
        assert!(app.timeline.faults()[1].end_ms.is_some());

        let view = WorkloadView {
            t_ms: 4_000,
            status: Status::Degraded,
            baseline: Some(900.0),
            current: Some(crate::workload::parse::Sample {
                format: crate::workload::parse::Format::GoYcsb,
                elapsed_s: None,
                ops_per_sec: 12.0,
                failures_per_sec: 0.0,
                ops: vec![crate::workload::parse::OpStat {
                    name: "UPDATE".into(),
                    count: 12,
                    avg_us: None,
                    p99_us: Some(250_000.0),
                    failed: false,
                }],
            }),
            history: vec![12.0],
            samples_seen: 9,
            rehearsal: false,
            verdicts: None,
        };
        app.on_event(Event::Workload(WorkloadEvent::Sample(view)));
        let point = app.timeline.points()[0];
        assert_eq!((point.t_ms, point.ops_per_sec), (4_000, 12.0));
        assert_eq!(point.p99_ms, Some(250.0));
        assert!(point.degraded);
        assert_eq!(app.timeline.degraded()[0].start_ms, 4_000);
        app.on_event(Event::Workload(WorkloadEvent::StatusChanged {
            from: Status::Degraded,
            to: Status::Normal,
        }));
        assert!(app.timeline.degraded()[0].end_ms.is_some());
        // The chapter on screen is on the timeline too.
        assert_eq!(app.timeline.chapters()[0].title, "intro");
    }
}
