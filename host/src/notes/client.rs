//! `host notes`: the presenter's second screen. It draws what the show
//! sends, keeps the talk timer running between views, and sends SPACE and ←
//! back; q leaves this screen only, never the show.

use super::view::{NotesCommand, NotesView, clock};
use crate::app::Input;
use crate::markup;
use anyhow::{Context, Result, bail};
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Paragraph, Wrap};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// Attaches to the show listening at `socket` until q or the show ends.
pub async fn attach(socket: &Path, project: &str) -> Result<()> {
    let stream = UnixStream::connect(socket).await.with_context(|| {
        format!(
            "no show of project '{project}' to attach to (nothing listens at {}): start `host --flow …` first",
            socket.display()
        )
    })?;
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    let mut terminal = ratatui::init();
    let mut keys = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut latest: Option<(NotesView, Instant)> = None;
    let outcome = loop {
        if let Err(e) = terminal.draw(|frame| draw(frame, latest.as_ref())) {
            break Err(anyhow::Error::from(e).context("drawing the notes"));
        }
        tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) => {
                    if let Ok(view) = serde_json::from_str::<NotesView>(&line) {
                        latest = Some((view, Instant::now()));
                    }
                }
                // The show ended (or was killed): nothing more will come.
                _ => break Ok(true),
            },
            key = keys.next() => {
                let Some(Ok(TermEvent::Key(key))) = key else { continue };
                if key.kind != KeyEventKind::Press {
                    continue;
                }
                let command = match crate::keys::input_for(&key) {
                    Some(Input::Quit) => break Ok(false),
                    Some(input) => match NotesCommand::for_input(input) {
                        Some(command) => command,
                        None => continue,
                    },
                    None => continue,
                };
                let Ok(mut line) = serde_json::to_vec(&command) else {
                    continue;
                };
                line.push(b'\n');
                if writer.write_all(&line).await.is_err() {
                    break Ok(true);
                }
            }
            _ = tick.tick() => {}
        }
    };
    ratatui::restore();
    match outcome {
        Ok(true) => {
            println!("the show of project '{project}' has ended");
            Ok(())
        }
        Ok(false) => Ok(()),
        Err(e) => bail!("{e:#}"),
    }
}

/// The notes screen; before the first view, a line saying it is attached.
fn draw(frame: &mut Frame, latest: Option<&(NotesView, Instant)>) {
    let area = frame.area();
    let Some((view, received)) = latest else {
        frame.render_widget(Paragraph::new("attached; waiting for the show…"), area);
        return;
    };
    let elapsed = if view.ended {
        view.elapsed_ms
    } else {
        view.elapsed_ms + received.elapsed().as_millis() as u64
    };
    let over = view.talk_time_ms.is_some_and(|talk| elapsed > talk);
    let timer = match view.talk_time_ms {
        Some(talk) => format!("{} / {}", clock(elapsed), clock(talk)),
        None => clock(elapsed),
    };
    let timer_style = if over {
        Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
    } else {
        Style::default().add_modifier(Modifier::BOLD)
    };
    let [header, body, next, now, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let title = crate::sanitize::display_line(&view.title).into_owned();
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(timer, timer_style),
            Span::raw(format!("  {}/{}  ", view.chapter, view.chapters)),
            Span::styled(title, Style::default().add_modifier(Modifier::BOLD)),
        ])),
        header,
    );
    let notes: Text = if view.notes.trim().is_empty() {
        Text::from(Line::styled(
            "(no notes for this chapter)",
            Style::default().fg(Color::DarkGray),
        ))
    } else {
        Text::from(view.notes.lines().map(markup::to_line).collect::<Vec<_>>())
    };
    frame.render_widget(
        Paragraph::new(notes)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Notes ")),
        body,
    );
    let next_title = match &view.next_title {
        Some(t) => crate::sanitize::display_line(t).into_owned(),
        None => "(last chapter)".into(),
    };
    frame.render_widget(Paragraph::new(format!("Next: {next_title}")), next);
    frame.render_widget(
        Paragraph::new(format!(
            "Now: {}",
            crate::sanitize::display_line(&view.activity)
        )),
        now,
    );
    frame.render_widget(
        Paragraph::new("SPACE/→ next   ← back   q leave the notes (the show goes on)")
            .style(Style::default().fg(Color::DarkGray)),
        footer,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn view() -> NotesView {
        NotesView {
            flow: "etcd".into(),
            chapter: 5,
            chapters: 9,
            title: "Lose the leader".into(),
            notes: "Point at the [red]red[/] node.\nWait for the election.".into(),
            next_title: Some("Lose quorum".into()),
            elapsed_ms: 754_000,
            talk_time_ms: Some(20 * 60_000),
            activity: "waiting for you: SPACE for the next chapter".into(),
            ended: true,
        }
    }

    fn screen(view: &NotesView, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        let latest = (view.clone(), Instant::now());
        terminal.draw(|f| draw(f, Some(&latest))).unwrap();
        let buffer = terminal.backend().buffer();
        (0..height)
            .map(|y| {
                (0..width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_notes_screen_shows_the_timer_the_notes_and_the_next_chapter() {
        let text = screen(&view(), 80, 12);
        assert!(
            text.contains("12:34 / 20:00  5/9  Lose the leader"),
            "{text}"
        );
        assert!(text.contains("Point at the red node."), "{text}");
        assert!(text.contains("Wait for the election."), "{text}");
        assert!(text.contains("Next: Lose quorum"), "{text}");
        assert!(text.contains("Now: waiting for you"), "{text}");
    }

    #[test]
    fn over_time_the_timer_turns_red_and_a_tiny_terminal_still_draws() {
        let late = NotesView {
            elapsed_ms: 21 * 60_000,
            ..view()
        };
        let mut terminal = Terminal::new(TestBackend::new(40, 6)).unwrap();
        let latest = (late, Instant::now());
        terminal.draw(|f| draw(f, Some(&latest))).unwrap();
        assert_eq!(terminal.backend().buffer()[(0, 0)].fg, Color::Red);
        for (w, h) in [(1, 1), (10, 2), (3, 5)] {
            screen(&view(), w, h);
        }
    }
}
