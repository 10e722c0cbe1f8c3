//! The cluster panel of the dashboard: one row per node, coloured by state,
//! with how long it has been in that state. A pure function of [`App`],
//! drawn by `ui.rs` into the area it lays out (and by the scale bench alone).

use crate::app::App;
use crate::cluster::{NodeState, state_name};
use crate::sanitize::display_line;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::Span;
use ratatui::widgets::{Block, BorderType, Paragraph, Row, Table, Wrap};

/// "42s", "3m05s", "1h02m": short enough for a table cell.
pub fn short_duration(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs / 60 % 60),
    }
}

pub fn state_color(state: NodeState) -> Color {
    match state {
        NodeState::Running => Color::Green,
        NodeState::Paused => Color::Yellow,
        NodeState::Restarting | NodeState::Created => Color::Blue,
        NodeState::Exited | NodeState::Dead | NodeState::Removing => Color::Red,
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .title(" Cluster ");
    if let Some(why) = &app.docker_unavailable {
        let text = Paragraph::new(format!("Docker unavailable: {}", display_line(why)))
            .style(Style::new().fg(Color::Red))
            .wrap(Wrap { trim: true })
            .block(block);
        frame.render_widget(text, area);
        return;
    }
    if app.nodes.is_empty() {
        frame.render_widget(
            Paragraph::new("no containers in this project").block(block),
            area,
        );
        return;
    }
    let rows = app.nodes.iter().map(|node| {
        let color = state_color(node.state);
        let since = app
            .time_in_state(node)
            .map(short_duration)
            .unwrap_or_default();
        Row::new(vec![
            Span::styled("●", Style::new().fg(color)),
            Span::raw(display_line(&node.service)),
            Span::styled(state_name(node.state), Style::new().fg(color).bold()),
            Span::raw(since),
            Span::raw(display_line(&node.container)).dim(),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(1),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(6),
            Constraint::Fill(1),
        ],
    )
    .block(block);
    frame.render_widget(table, area);
}
