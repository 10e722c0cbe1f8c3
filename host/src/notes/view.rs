//! What a notes screen shows, built from the app's state by a pure function.

use crate::app::{App, Phase};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What a notes screen asks of the show, one JSON object a line (the show
/// sends [`NotesView`]s the other way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotesCommand {
    Next,
    Back,
    /// The emergency stop: every fault undone, the show goes on.
    Stop,
}

impl NotesCommand {
    /// The command a key asks for on the notes screen (its quit leaves the
    /// notes only, and it has no help).
    pub fn for_input(input: crate::app::Input) -> Option<NotesCommand> {
        match input {
            crate::app::Input::Next => Some(NotesCommand::Next),
            crate::app::Input::Previous => Some(NotesCommand::Back),
            crate::app::Input::Stop => Some(NotesCommand::Stop),
            crate::app::Input::Quit | crate::app::Input::Help => None,
        }
    }

    /// What the show does with it.
    pub fn input(self) -> crate::app::Input {
        match self {
            NotesCommand::Next => crate::app::Input::Next,
            NotesCommand::Back => crate::app::Input::Previous,
            NotesCommand::Stop => crate::app::Input::Stop,
        }
    }
}

/// One snapshot of the show for the presenter's second screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotesView {
    pub flow: String,
    /// 1-based, as the header says it.
    pub chapter: usize,
    pub chapters: usize,
    pub title: String,
    /// The chapter's speaker notes (markup); empty when it has none.
    pub notes: String,
    pub next_title: Option<String>,
    /// The show's elapsed time when this view was made, as its header says.
    pub elapsed_ms: u64,
    /// `--talk-time`, when given.
    pub talk_time_ms: Option<u64>,
    /// What the flow is doing now, in a line: the countdown, the badge, the
    /// newest narration line, or that it waits for the presenter.
    pub activity: String,
    pub ended: bool,
}

impl NotesView {
    pub fn of(app: &App, talk_time: Option<Duration>) -> NotesView {
        let chapter = app.flow.chapters.get(app.chapter);
        let plain_last_line = app
            .narration
            .iter()
            .rev()
            .map(|line| crate::markup::plain(line))
            .find(|line| !line.trim().is_empty());
        let activity = if let Some((remaining, label)) = &app.countdown {
            format!("counting down: {remaining} — {label}")
        } else if app.is_running() {
            match (&app.badge, plain_last_line) {
                (Some((badge, _)), _) if !badge.is_empty() => format!("running: {badge}"),
                (_, Some(line)) => format!("running: {line}"),
                _ => "running".into(),
            }
        } else if app.phase != Phase::Presenting {
            "the show is ending: restoring every fault".into()
        } else if app.at_last_chapter() {
            "done: the last chapter's action has finished".into()
        } else {
            "waiting for you: SPACE for the next chapter".into()
        };
        NotesView {
            flow: app.flow.name.clone(),
            chapter: app.chapter + 1,
            chapters: app.flow.chapters.len(),
            title: chapter.map(|c| c.title.clone()).unwrap_or_default(),
            notes: chapter.map(|c| c.notes.clone()).unwrap_or_default(),
            next_title: app
                .flow
                .chapters
                .get(app.chapter + 1)
                .map(|c| c.title.clone()),
            elapsed_ms: app.elapsed_ms(),
            talk_time_ms: talk_time.map(|t| t.as_millis() as u64),
            activity,
            ended: app.phase == Phase::Done,
        }
    }

    /// The same view but for the clock: whether a client must be told.
    pub fn differs_beyond_the_clock(&self, other: &NotesView) -> bool {
        let mut a = self.clone();
        a.elapsed_ms = other.elapsed_ms;
        a != *other
    }
}

/// `12:34`, or `1:02:03` past an hour.
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Capabilities, Chapter, FlowInfo};
    use std::time::Instant;

    fn chapter(title: &str, notes: &str) -> Chapter {
        Chapter {
            title: title.into(),
            narration: String::new(),
            key_hint: String::new(),
            auto_advance: false,
            blocks_advance: false,
            notes: notes.into(),
        }
    }

    fn app() -> App {
        App::new(
            FlowInfo {
                name: "etcd".into(),
                version: "0.2.0".into(),
                description: String::new(),
                chapters: vec![
                    chapter("Intro", "Say [bold]hello[/]"),
                    chapter("Lose the leader", ""),
                ],
                capabilities: Capabilities::default(),
                default_workload: None,
                hypotheses: Vec::new(),
            },
            Instant::now(),
        )
    }

    #[test]
    fn the_view_has_this_chapters_notes_the_next_title_and_the_talk_time() {
        let view = NotesView::of(&app(), Some(Duration::from_secs(20 * 60)));
        assert_eq!(view.chapter, 1);
        assert_eq!(view.chapters, 2);
        assert_eq!(view.notes, "Say [bold]hello[/]");
        assert_eq!(view.next_title.as_deref(), Some("Lose the leader"));
        assert_eq!(view.talk_time_ms, Some(1_200_000));
        assert!(
            view.activity.starts_with("waiting for you"),
            "{}",
            view.activity
        );
    }

    #[test]
    fn clocks_read_as_a_talk_timer() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(754_000), "12:34");
        assert_eq!(clock(3_723_000), "1:02:03");
    }
}
