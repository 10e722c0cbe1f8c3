//! The presenter's state and how inputs and events change it. Pure: no I/O,
//! no tasks; the show loop (`show.rs`) feeds it and carries out its commands.

use crate::cluster::{Fault, Node, RestoreOutcome};
use crate::events::{Event, Level, RunId};
use crate::flow;
use crate::runtime::FlowInfo;
use crate::workload::WorkloadView;
use crate::workload::tracker::Status;
use std::collections::VecDeque;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

const EVENT_LOG_LINES: usize = 200;

/// What the presenter asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Next,
    Previous,
    Quit,
    Help,
}

/// What the app needs done outside itself.
#[derive(Debug)]
pub enum Command {
    /// For the flow task, as is.
    Flow(flow::Command),
    /// Cancel everything and restore the cluster.
    Quit,
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
    /// Chapters whose action has run (going back never re-runs one).
    ran: Vec<bool>,
    active: Option<ActiveRun>,
    next_run: RunId,
    started: Instant,
    /// Inputs handled so far (the headless key script waits on it).
    pub inputs_handled: u64,
}

impl App {
    pub fn new(flow: FlowInfo, started: Instant) -> Self {
        let ran = vec![false; flow.chapters.len()];
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
            ran,
            active: None,
            next_run: 1,
            started,
            inputs_handled: 0,
        }
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

    fn blocks_advance(&self) -> bool {
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
    pub fn start(&mut self) -> Vec<Command> {
        self.show_chapter(0)
    }

    pub fn on_input(&mut self, input: Input) -> Vec<Command> {
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
    fn show_chapter(&mut self, index: usize) -> Vec<Command> {
        let Some(chapter) = self.flow.chapters.get(index) else {
            return Vec::new();
        };
        self.chapter = index;
        self.narration = chapter.narration.lines().map(str::to_string).collect();
        self.countdown = None;
        self.notice = None;
        if self.ran[index] {
            self.notice = Some("Already run; its action is not repeated.".into());
            return Vec::new();
        }
        self.ran[index] = true;
        let run = self.next_run;
        self.next_run += 1;
        let cancel = CancellationToken::new();
        self.active = Some(ActiveRun {
            id: run,
            index,
            cancel: cancel.clone(),
        });
        vec![Command::Flow(flow::Command::Enter {
            index: index as u32,
            run,
            cancel,
        })]
    }

    pub fn quit(&mut self) -> Vec<Command> {
        if self.phase != Phase::Presenting {
            return Vec::new();
        }
        if let Some(run) = self.active.take() {
            run.cancel.cancel();
        }
        self.countdown = None;
        self.phase = Phase::Restoring;
        self.notice = Some("Restoring the cluster…".into());
        vec![Command::Quit]
    }

    fn is_current(&self, run: RunId) -> bool {
        self.active.as_ref().is_some_and(|a| a.id == run)
    }

    pub fn on_event(&mut self, event: Event) -> Vec<Command> {
        match event {
            Event::NarrationSet { run, markup } if self.is_current(run) => {
                self.narration = markup.lines().map(str::to_string).collect();
            }
            Event::NarrationAppend { run, markup } if self.is_current(run) => {
                self.narration.extend(markup.lines().map(str::to_string));
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
            Event::Fault(Fault {
                action,
                service,
                container,
                ..
            }) => {
                self.push_log(Level::Danger, format!("{action} {service} ({container})"));
            }
            Event::Nodes(nodes) => self.nodes = nodes,
            Event::DockerUnavailable(why) => {
                match &why {
                    Some(why) => self.push_log(Level::Danger, format!("Docker unavailable: {why}")),
                    None => self.push_log(Level::Success, "Docker is reachable again".into()),
                }
                self.docker_unavailable = why;
            }
            Event::Workload(view) => self.workload = view,
            Event::WorkloadStatus { from, to } => {
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
            Event::WorkloadSourceError(message) => {
                self.push_log(Level::Warning, message.clone());
                self.workload_source_error = Some(message);
            }
            Event::Restored(RestoreOutcome {
                service,
                detail,
                ok,
                ..
            }) => {
                let level = if ok { Level::Success } else { Level::Danger };
                self.push_log(level, format!("restore {service}: {detail}"));
            }
            Event::RestoreFinished => self.phase = Phase::Done,
            // Narration from a chapter the presenter already left.
            Event::NarrationSet { .. }
            | Event::NarrationAppend { .. }
            | Event::Badge { .. }
            | Event::Countdown { .. } => {}
        }
        Vec::new()
    }

    fn chapter_finished(
        &mut self,
        run: RunId,
        index: u32,
        outcome: Result<(), String>,
    ) -> Vec<Command> {
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

    fn push_log(&mut self, level: Level, text: String) {
        if self.log.len() == EVENT_LOG_LINES {
            self.log.pop_front();
        }
        let t_ms = self.elapsed_ms();
        self.log.push_back(LogLine { t_ms, level, text });
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
    use crate::runtime::{Capabilities, Chapter};

    fn chapter(title: &str, auto: bool, blocks: bool) -> Chapter {
        Chapter {
            title: title.into(),
            narration: format!("{title} narration"),
            key_hint: String::new(),
            auto_advance: auto,
            blocks_advance: blocks,
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
                },
                default_workload: None,
            },
            Instant::now(),
        )
    }

    fn entered(commands: &[Command]) -> Option<(u32, RunId)> {
        commands.iter().find_map(|c| match c {
            Command::Flow(flow::Command::Enter { index, run, .. }) => Some((*index, *run)),
            _ => None,
        })
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
        let commands = app.on_event(Event::ChapterFinished {
            run,
            index: 2,
            outcome: Ok(()),
        });
        assert_eq!(entered(&commands).unwrap().0, 3);
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
        let Command::Flow(flow::Command::Enter { cancel, .. }) = app.start().remove(0) else {
            panic!()
        };
        let commands = app.quit();
        assert!(matches!(commands.as_slice(), [Command::Quit]));
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
        let commands = app.on_event(Event::ChapterFinished {
            run,
            index: 2,
            outcome: Err("Docker refused: [x]".into()),
        });
        assert!(commands.is_empty());
        assert_eq!(
            app.narration.last().unwrap(),
            "[red]Docker refused: [[x][/]"
        );
    }
}
