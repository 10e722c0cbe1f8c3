//! The dashboard: a pure function of [`App`]. Header, narration, cluster,
//! workload (the live chart of `chart.rs`, or a sparkline where it does not
//! fit), event log, footer; a countdown takes the centre.
//!
//! Every string drawn here that a flow, Docker or a workload command can
//! supply goes through [`display_line`] (narration through
//! [`markup::to_line`]): ratatui drops control characters but would show
//! the rest of an escape sequence as junk.

use crate::app::{App, Input, Phase, status_word};
use crate::chart::LiveChart;
use crate::cluster_panel;
pub use crate::cluster_panel::short_duration;
use crate::events::Level;
use crate::keys;
use crate::markup;
use crate::sanitize::display_line;
use crate::widgets::{BigDigits, GLYPH_HEIGHT};
use crate::workload::tracker::Status;
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Sparkline, Wrap};

/// Below this the layout cannot say anything useful.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 12;

pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let message = Paragraph::new("terminal too small")
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true });
        frame.render_widget(message, area);
        return;
    }
    let [header, body, log, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(6),
        Constraint::Length(6),
        Constraint::Length(1),
    ])
    .areas(area);
    let [narration, side] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
    // The workload keeps at least 5 rows; a cluster too big for the rest is
    // grouped by service (cluster_panel.rs).
    let cluster_rows = cluster_panel::height(app, side.height.saturating_sub(5));
    let [cluster, workload] =
        Layout::vertical([Constraint::Length(cluster_rows), Constraint::Min(5)]).areas(side);

    render_header(app, frame, header);
    render_narration(app, frame, narration);
    cluster_panel::render(app, frame, cluster);
    render_workload(app, frame, workload);
    render_log(app, frame, log);
    render_footer(app, frame, footer);
    // Overlays use the whole screen: the body alone can be too short for
    // the big digits on a small terminal.
    if app.phase != Phase::Presenting {
        render_restoring(app, frame, area);
    } else if let Some((remaining, label)) = &app.countdown {
        render_countdown(frame, area, *remaining, label);
    } else if app.fault_flash_visible() {
        let what = app.fault_flash.as_ref().map(|(_, w)| w.as_str());
        render_fault_injected(frame, area, what.unwrap_or(""));
    }
    if app.show_help {
        render_help(frame, area);
    }
}

fn level_color(level: Level) -> Color {
    match level {
        Level::Info => Color::Cyan,
        Level::Success => Color::Green,
        Level::Warning => Color::Yellow,
        Level::Danger => Color::Red,
    }
}

fn render_header(app: &App, frame: &mut Frame, area: Rect) {
    let total = app.flow.chapters.len();
    let title = app
        .flow
        .chapters
        .get(app.chapter)
        .map(|c| display_line(&c.title))
        .unwrap_or_default();
    let secs = app.elapsed_ms() / 1000;
    let mut spans = vec![
        Span::styled(
            format!(
                " {} {} ",
                display_line(&app.flow.name),
                display_line(&app.flow.version)
            ),
            Style::new().bold().reversed(),
        ),
        Span::raw(format!("  Chapter {}/{total}: ", app.chapter + 1)),
        Span::styled(title, Style::new().bold()),
        Span::raw(format!("  {:02}:{:02}", secs / 60, secs % 60)),
    ];
    if app.workload.rehearsal {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(
            " REHEARSAL ",
            Style::new().bg(Color::Magenta).fg(Color::White).bold(),
        ));
    }
    if let Some((text, level)) = &app.badge {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(
            format!(" {} ", display_line(text)),
            Style::new().bg(level_color(*level)).fg(Color::Black).bold(),
        ));
    }
    frame.render_widget(Line::from(spans), area);
}

fn render_narration(app: &App, frame: &mut Frame, area: Rect) {
    let lines: Vec<Line> = app.narration.iter().map(|l| markup::to_line(l)).collect();
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false }).block(
        Block::bordered()
            .border_type(BorderType::Rounded)
            .title(" Narration "),
    );
    frame.render_widget(paragraph, area);
}

fn render_workload(app: &App, frame: &mut Frame, area: Rect) {
    let view = &app.workload;
    let degraded = view.status == Status::Degraded;
    let color = if degraded { Color::Red } else { Color::Green };
    let current = view.current.as_ref().map(|s| s.ops_per_sec);
    let p99 = view
        .current
        .as_ref()
        .and_then(|s| s.ops.iter().filter_map(|o| o.p99_us).reduce(f64::max));
    let mut title = vec![Span::raw(" Workload ")];
    title.push(Span::styled(
        format!(" {} ", status_word(view.status)),
        Style::new().fg(color).add_modifier(Modifier::BOLD),
    ));
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(if degraded { Color::Red } else { Color::Reset }))
        .title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // The verdict counts get a line of their own under the throughput.
    let verdict_rows = u16::from(view.verdicts.is_some());
    let [figures, verdict_area, chart] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(verdict_rows),
        Constraint::Min(1),
    ])
    .areas(inner);
    let fmt = |v: Option<f64>| v.map(|v| format!("{v:.0}")).unwrap_or_else(|| "–".into());
    let mut line = vec![
        Span::raw("now "),
        Span::styled(fmt(current), Style::new().fg(color).bold()),
        Span::raw(" ops/s   baseline "),
        Span::raw(fmt(view.baseline)),
    ];
    if let Some(p99) = p99 {
        line.push(Span::raw(format!("   p99 {:.1} ms", p99 / 1000.0)));
    }
    if let Some(error) = &app.workload_source_error
        && view.current.is_none()
    {
        line = vec![Span::styled(
            display_line(error),
            Style::new().fg(Color::Yellow),
        )];
    }
    frame.render_widget(Line::from(line), figures);
    if let Some(verdicts) = &view.verdicts {
        frame.render_widget(Line::from(verdict_spans(verdicts)), verdict_area);
    }
    if LiveChart::fits(chart) {
        frame.render_widget(LiveChart::new(&app.timeline, app.elapsed_ms()), chart);
        return;
    }
    // Too small for the chart: the sparkline shows the newest samples that fit.
    let width = chart.width as usize;
    let data: Vec<u64> = view
        .history
        .iter()
        .map(|v| v.max(0.0).round() as u64)
        .collect();
    let data = &data[data.len().saturating_sub(width)..];
    let sparkline = Sparkline::default()
        .data(data)
        .style(Style::new().fg(color));
    frame.render_widget(sparkline, chart);
}

/// The verdict counts beside the throughput: a word as well as a colour
/// (`kept` / `BROKEN`), so the state reads without telling red from green;
/// red from the first broken promise, with its time.
fn verdict_spans(verdicts: &crate::workload::verdicts::Verdicts) -> Vec<Span<'static>> {
    let v = &verdicts.latest;
    let broken = verdicts.broken();
    let (word, color) = if broken {
        ("✗ BROKEN", Color::Red)
    } else {
        ("✓ kept", Color::Green)
    };
    let mut spans = vec![
        Span::styled(word, Style::new().fg(color).bold()),
        Span::raw(format!(" acked {}", v.acknowledged)),
    ];
    let count = |name: &str, n: u64, bad: bool| {
        let style = if n > 0 && bad {
            Style::new().fg(Color::Red).bold()
        } else {
            Style::new()
        };
        Span::styled(format!(" {name} {n}"), style)
    };
    let lost = if v.final_read { "lost" } else { "lost?" };
    spans.push(count(lost, v.lost, true));
    spans.push(count("stale", v.stale, true));
    if v.stale_serializable > 0 {
        spans.push(Span::styled(
            format!(" stale(serializable) {}", v.stale_serializable),
            Style::new().fg(Color::Yellow),
        ));
    }
    spans.push(count("unknown", v.unknown, false));
    let first = [verdicts.first_stale_ms, verdicts.first_lost_ms]
        .into_iter()
        .flatten()
        .min();
    if let Some(t_ms) = first {
        let secs = t_ms / 1000;
        spans.push(Span::styled(
            format!(" since {}:{:02}", secs / 60, secs % 60),
            Style::new().fg(Color::Red),
        ));
    }
    spans
}

fn render_log(app: &App, frame: &mut Frame, area: Rect) {
    let visible = area.height.saturating_sub(2) as usize;
    let lines: Vec<Line> = app
        .log
        .iter()
        .skip(app.log.len().saturating_sub(visible))
        .map(|entry| {
            let secs = entry.t_ms / 1000;
            Line::from(vec![
                Span::raw(format!("{:02}:{:02} ", secs / 60, secs % 60)).dim(),
                Span::styled(
                    display_line(&entry.text),
                    Style::new().fg(level_color(entry.level)),
                ),
            ])
        })
        .collect();
    let paragraph = Paragraph::new(lines).block(
        Block::bordered()
            .border_type(BorderType::Rounded)
            .title(" Events "),
    );
    frame.render_widget(paragraph, area);
}

fn render_footer(app: &App, frame: &mut Frame, area: Rect) {
    let text = match (&app.phase, &app.notice) {
        (Phase::Restoring | Phase::Done, _) => Span::styled(
            " Restoring the cluster… ",
            Style::new().bg(Color::Yellow).fg(Color::Black),
        ),
        (_, Some(notice)) => Span::styled(
            format!(" {}", display_line(notice)),
            Style::new().fg(Color::Yellow),
        ),
        _ if app.blocks_advance() => Span::styled(
            format!(
                " {}",
                keys::footer(
                    "Running… next unlocks when this chapter finishes",
                    &[Input::Previous]
                )
            ),
            Style::new().fg(Color::Yellow),
        ),
        _ => {
            let hint = app
                .flow
                .chapters
                .get(app.chapter)
                .map(|c| display_line(&c.key_hint).into_owned())
                .filter(|h| !h.trim().is_empty())
                .unwrap_or_else(keys::default_hint);
            Span::raw(format!(" {}", keys::footer(&hint, &[])))
        }
    };
    frame.render_widget(Line::from(text), area);
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

fn render_countdown(frame: &mut Frame, area: Rect, remaining: u32, label: &str) {
    let label = display_line(label);
    let number = remaining.to_string();
    let digits = BigDigits::new(&number).style(Style::new().fg(Color::Red).bold());
    let width = (label.chars().count() as u16).max(digits.width()).max(30) + 4;
    let popup = centered(area, width, GLYPH_HEIGHT + 6);
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(Style::new().fg(Color::Red));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [label_row, _, digits_area, _, hint_row] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(Line::from(label).bold().centered(), label_row);
    frame.render_widget(digits, digits_area);
    frame.render_widget(Line::from("Q cancels").dim().centered(), hint_row);
}

fn render_fault_injected(frame: &mut Frame, area: Rect, what: &str) {
    let what = display_line(what);
    let popup = centered(area, (what.chars().count() as u16).max(20) + 6, 5);
    frame.render_widget(Clear, popup);
    let style = Style::new().bg(Color::Red).fg(Color::White).bold();
    let text = vec![
        Line::from(""),
        Line::from("FAULT INJECTED"),
        Line::from(what).add_modifier(Modifier::DIM),
    ];
    let paragraph = Paragraph::new(text)
        .alignment(Alignment::Center)
        .style(style)
        .block(
            Block::bordered()
                .border_type(BorderType::Thick)
                .style(style),
        );
    frame.render_widget(paragraph, popup);
}

fn render_restoring(app: &App, frame: &mut Frame, area: Rect) {
    let mut lines = vec![Line::from("Undoing every fault this show made…").bold()];
    lines.push(Line::from(""));
    if app.restores.is_empty() {
        lines.push(Line::from("waiting for the chapter to stop").dim());
    }
    for outcome in &app.restores {
        let (mark, color) = if outcome.ok {
            ("✔", Color::Green)
        } else {
            ("✘", Color::Red)
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{mark} "), Style::new().fg(color).bold()),
            Span::raw(format!("{} ", display_line(&outcome.service))),
            Span::styled(display_line(&outcome.detail), Style::new().fg(color)),
        ]));
    }
    let height = lines.len() as u16 + 2;
    let popup = centered(area, 50, height);
    frame.render_widget(Clear, popup);
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim: true }).block(
        Block::bordered()
            .border_type(BorderType::Thick)
            .border_style(Style::new().fg(Color::Yellow))
            .title(" Restoring… "),
    );
    frame.render_widget(paragraph, popup);
}

fn render_help(frame: &mut Frame, area: Rect) {
    let mut text: Vec<Line> = keys::help_lines().into_iter().map(Line::from).collect();
    text.push(Line::from(""));
    text.push(Line::from("Going back never runs a fault again.").dim());
    let popup = centered(area, 52, text.len() as u16 + 2);
    frame.render_widget(Clear, popup);
    let paragraph = Paragraph::new(text).block(
        Block::bordered()
            .border_type(BorderType::Rounded)
            .title(" Keys "),
    );
    frame.render_widget(paragraph, popup);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{Node, NodeState};
    use crate::model::{Capabilities, Chapter, FlowInfo};
    use crate::workload::WorkloadView;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use std::time::Instant;

    fn app() -> App {
        let mut app = App::new(
            FlowInfo {
                name: "etcd".into(),
                version: "0.1.0".into(),
                description: String::new(),
                chapters: vec![Chapter {
                    title: "Lose quorum".into(),
                    narration: "[bold]Watch[/] the throughput".into(),
                    key_hint: "SPACE go".into(),
                    auto_advance: false,
                    blocks_advance: false,
                    notes: String::new(),
                }],
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
        );
        app.start();
        app.nodes = vec![Node::fixture(
            "etcd1",
            "demo-etcd1-1",
            "abc",
            NodeState::Exited,
        )];
        app
    }

    fn draw(app: &App, width: u16, height: u16) -> ratatui::buffer::Buffer {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|frame| render(app, frame)).unwrap();
        terminal.backend().buffer().clone()
    }

    fn text(buffer: &ratatui::buffer::Buffer) -> String {
        buffer.content().iter().map(|c| c.symbol()).collect()
    }

    fn find(buffer: &ratatui::buffer::Buffer, needle: &str) -> Option<(u16, u16)> {
        let width = buffer.area.width;
        for y in 0..buffer.area.height {
            let row: String = (0..width).map(|x| buffer[(x, y)].symbol()).collect();
            if let Some(x) = row.find(needle) {
                return Some((row[..x].chars().count() as u16, y));
            }
        }
        None
    }

    #[test]
    fn dashboard_shows_chapter_narration_and_a_red_exited_node() {
        let buffer = draw(&app(), 100, 30);
        let screen = text(&buffer);
        assert!(screen.contains("Chapter 1/1: Lose quorum"));
        assert!(screen.contains("Watch the throughput"));
        let (x, y) = find(&buffer, "exited").unwrap();
        assert_eq!(buffer[(x, y)].fg, Color::Red);
        let (x, y) = find(&buffer, "Watch").unwrap();
        assert!(buffer[(x, y)].modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn degraded_workload_draws_a_red_border() {
        let mut app = app();
        app.workload = WorkloadView {
            status: Status::Degraded,
            baseline: Some(1000.0),
            history: vec![1000.0, 900.0, 10.0],
            ..WorkloadView::empty()
        };
        let buffer = draw(&app, 100, 30);
        let (x, y) = find(&buffer, "Workload").unwrap();
        // The border cell left of the title is red.
        assert_eq!(buffer[(x - 2, y)].fg, Color::Red);
        assert!(text(&buffer).contains("DEGRADED"));
    }

    fn rows(buffer: &ratatui::buffer::Buffer) -> Vec<String> {
        (0..buffer.area.height)
            .map(|y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn countdown_draws_the_digit_big_and_red_under_the_label() {
        let mut app = app();
        app.countdown = Some((3, "Injecting fault in".into()));
        let buffer = draw(&app, 100, 30);
        let (_, label_y) = find(&buffer, "Injecting fault in").unwrap();
        let rows = rows(&buffer);
        // The five rows of the "3" glyph, below a blank line.
        let (x, y) = find(&buffer, "█████").unwrap();
        assert_eq!(y, label_y + 2);
        let glyph: Vec<String> = rows[y as usize..y as usize + 5]
            .iter()
            .map(|r| r.chars().skip(x as usize).take(5).collect())
            .collect();
        assert_eq!(glyph, ["█████", "    █", " ████", "    █", "█████"]);
        assert_eq!(buffer[(x, y)].fg, Color::Red);
        // Centred: as many columns left of the glyph as right of it (±1).
        let right = rows[y as usize].chars().count() as i32 - (x as i32 + 5);
        assert!((x as i32 - right).abs() <= 1, "x={x} right={right}");
        assert!(text(&buffer).contains("Q cancels"));
    }

    #[test]
    fn a_disruptive_fault_shows_fault_injected_in_red() {
        let mut app = app();
        let kill = crate::cluster::ContainerAction::Kill {
            signal: crate::cluster::KillSignal::Kill,
        };
        app.on_event(crate::events::Event::Cluster(
            crate::cluster::ClusterEvent::Performed(crate::cluster::Performed {
                action: kill.into(),
                service: "etcd1".into(),
                container: "demo-etcd1-1".into(),
                id: "abc".into(),
            }),
        ));
        let buffer = draw(&app, 100, 30);
        let (x, y) = find(&buffer, "FAULT INJECTED").unwrap();
        assert_eq!(buffer[(x, y)].bg, Color::Red);
        assert!(text(&buffer).contains("kill SIGKILL etcd1"));
    }

    #[test]
    fn quitting_shows_restoring_with_each_result() {
        let mut app = app();
        app.quit();
        let buffer = draw(&app, 100, 30);
        assert!(text(&buffer).contains("Restoring…"));
        assert!(text(&buffer).contains("waiting for the chapter to stop"));
        for (service, ok, detail) in [
            ("etcd1", true, "started"),
            ("etcd2", false, "no such container"),
        ] {
            app.on_event(crate::events::Event::Cluster(
                crate::cluster::ClusterEvent::Restored(crate::cluster::RestoreOutcome {
                    service: service.into(),
                    container: format!("demo-{service}-1"),
                    id: service.into(),
                    undo: crate::cluster::ledger::UndoAction::Start,
                    ok,
                    detail: detail.into(),
                }),
            ));
        }
        let buffer = draw(&app, 100, 30);
        let (x, y) = find(&buffer, "✔ etcd1 started").unwrap();
        assert_eq!(buffer[(x, y)].fg, Color::Green);
        let (x, y) = find(&buffer, "✘ etcd2 no such container").unwrap();
        assert_eq!(buffer[(x, y)].fg, Color::Red);
    }

    #[test]
    fn header_shows_rehearsal_when_a_replay_feeds_the_workload() {
        let mut app = app();
        assert!(!text(&draw(&app, 100, 30)).contains("REHEARSAL"));
        app.workload.rehearsal = true;
        assert!(find(&draw(&app, 100, 30), "REHEARSAL").unwrap().1 == 0);
    }

    #[test]
    fn verdict_counts_sit_beside_the_throughput_in_words_as_well_as_colour() {
        use crate::workload::verdicts::{Verdict, Verdicts};
        let mut app = app();
        let mut verdicts = Verdicts::default();
        let counts = Verdict {
            acknowledged: 1200,
            unknown: 3,
            ..Default::default()
        };
        verdicts.update(counts, 1_000);
        app.workload.verdicts = Some(verdicts.clone());
        let buffer = draw(&app, 140, 30);
        let (x, y) = find(&buffer, "✓ kept").expect("a kept verdict");
        assert_eq!(buffer[(x, y)].fg, Color::Green);
        let row = &rows(&buffer)[y as usize];
        assert!(
            row.contains("acked 1200 lost? 0 stale 0 unknown 3"),
            "{row}"
        );

        verdicts.update(Verdict { stale: 2, ..counts }, 65_000);
        app.workload.verdicts = Some(verdicts);
        let buffer = draw(&app, 140, 30);
        let (x, y) = find(&buffer, "✗ BROKEN").expect("a broken verdict");
        assert_eq!(buffer[(x, y)].fg, Color::Red);
        let row = &rows(&buffer)[y as usize];
        assert!(
            row.contains("stale 2") && row.contains("since 1:05"),
            "{row}"
        );
    }

    #[test]
    fn cluster_rows_show_time_in_state() {
        let mut app = app();
        let nodes = app.nodes.clone();
        app.on_event(crate::events::Event::Cluster(
            crate::cluster::ClusterEvent::NodesChanged(nodes),
        ));
        app.node_since.get_mut("abc").unwrap().1 = 0;
        app.rewind(std::time::Duration::from_secs(65));
        let buffer = draw(&app, 100, 30);
        let (_, y) = find(&buffer, "exited").unwrap();
        assert!(rows(&buffer)[y as usize].contains("1m05s"));
        assert_eq!(short_duration(42_000), "42s");
        assert_eq!(short_duration(3_725_000), "1h02m");
    }

    #[test]
    fn a_blocking_chapter_says_next_is_locked_in_the_footer() {
        let mut app = app();
        app.flow.chapters[0].blocks_advance = true;
        let buffer = draw(&app, 100, 30);
        assert!(rows(&buffer)[29].contains("next unlocks when this chapter finishes"));
    }

    #[test]
    fn no_size_panics_with_every_overlay_up() {
        let mut app = app();
        app.countdown = Some((10, "Killing the leader in".into()));
        app.show_help = true;
        app.workload.history = vec![5.0; 300];
        feed_samples(&mut app, 90, 40..=60);
        app.timeline
            .performed(35_000, "kill SIGKILL", true, "etcd2", "c2");
        app.timeline
            .performed(70_000, "partition", true, "etcd3", "c3");
        for w in 0..70 {
            for h in 0..24 {
                draw(&app, w.max(1), h.max(1));
            }
        }
        app.quit();
        for w in (1..120).step_by(7) {
            for h in 1..30 {
                draw(&app, w, h);
            }
        }
    }

    /// Samples at 1200 ops/s each second for `secs` seconds, fed as the
    /// workload reports them, degraded (at 10 ops/s) in `degraded`.
    fn feed_samples(app: &mut App, secs: u64, degraded: std::ops::RangeInclusive<u64>) {
        for s in 0..=secs {
            let bad = degraded.contains(&s);
            let status = if bad {
                Status::Degraded
            } else {
                Status::Normal
            };
            app.on_event(crate::events::Event::Workload(
                crate::workload::WorkloadEvent::Sample(WorkloadView {
                    t_ms: s * 1000,
                    status,
                    baseline: Some(1200.0),
                    current: Some(crate::workload::parse::Sample {
                        format: crate::workload::parse::Format::Ycsb,
                        elapsed_s: Some(s as f64),
                        ops_per_sec: if bad { 10.0 } else { 1200.0 },
                        failures_per_sec: 0.0,
                        ops: vec![],
                    }),
                    history: vec![1200.0; 30],
                    samples_seen: s + 1,
                    rehearsal: false,
                    verdicts: None,
                }),
            ));
        }
    }

    /// The chart's plot columns, found from its time axis: the column after
    /// the corner `└`, and as many as the axis is long. Returns (x of the
    /// plot's first column, its width, the axis row).
    fn plot_columns(buffer: &ratatui::buffer::Buffer) -> (u16, u16, u16) {
        let (corner_x, axis_y) = find(buffer, "└").expect("the chart's time axis");
        let width = (corner_x + 1..buffer.area.width)
            .take_while(|&x| matches!(buffer[(x, axis_y)].symbol(), "─" | "━"))
            .count() as u16;
        (corner_x + 1, width, axis_y)
    }

    /// The column of `t_ms` on the first minute's axis.
    fn column_of(t_ms: u64, plot_x: u16, width: u16) -> u16 {
        plot_x + ((t_ms as f64) * f64::from(width - 1) / 60_000.0).round() as u16
    }

    #[test]
    fn at_80x24_a_fault_at_20s_is_a_labelled_band_over_its_columns() {
        let mut app = app();
        app.nodes = (1..=3)
            .map(|i| {
                let (service, container) = (format!("etcd{i}"), format!("demo-etcd{i}-1"));
                Node::fixture(service, container, format!("c{i}"), NodeState::Running)
            })
            .collect();
        feed_samples(&mut app, 40, 99..=99);
        app.timeline
            .performed(20_000, "kill SIGKILL", true, "etcd2", "c2");
        app.timeline
            .performed(30_000, "start", false, "etcd2", "c2");
        let buffer = draw(&app, 80, 24);
        let (plot_x, width, axis_y) = plot_columns(&buffer);
        assert!(width >= 25, "a readable chart at 80x24: {width} columns");
        let (from, to) = (
            column_of(20_000, plot_x, width),
            column_of(30_000, plot_x, width),
        );
        let shaded: Vec<u16> = (0..80)
            .filter(|&x| buffer[(x, axis_y - 1)].bg == crate::chart::BAND)
            .collect();
        assert_eq!(shaded, (from..=to).collect::<Vec<u16>>());
        let (x, y) = find(&buffer, "kill SIGKILL").expect("the band's label");
        assert_eq!(x, from);
        assert!(y < axis_y);
        let label: String = rows(&buffer)[y as usize]
            .chars()
            .skip(x as usize)
            .take(18)
            .collect();
        assert_eq!(label, "kill SIGKILL etcd2");
        // The throughput line is green and the figures are still above it.
        assert!(
            (plot_x..plot_x + width)
                .any(|x| (0..axis_y).any(|y| buffer[(x, y)].fg == Color::Green))
        );
        assert!(text(&buffer).contains("now 1200 ops/s   baseline 1200"));
    }

    #[test]
    fn the_degraded_stretch_is_red_and_the_border_recovers_with_the_workload() {
        let mut app = app();
        feed_samples(&mut app, 50, 30..=40);
        // Back to normal at 41 s: the border is not red, the stretch stays red.
        let buffer = draw(&app, 100, 30);
        let (x, y) = find(&buffer, "Workload").unwrap();
        assert_ne!(buffer[(x - 2, y)].fg, Color::Red);
        let (plot_x, width, axis_y) = plot_columns(&buffer);
        let red: Vec<u16> = (0..100)
            .filter(|&x| buffer[(x, axis_y)].fg == Color::Red)
            .collect();
        assert_eq!(
            red,
            (column_of(30_000, plot_x, width)..=column_of(41_000, plot_x, width))
                .collect::<Vec<u16>>()
        );
        // The line is red in the stretch, green before it.
        let red_line = |x: u16| (0..axis_y).any(|y| buffer[(x, y)].fg == Color::Red);
        assert!(red_line(column_of(35_000, plot_x, width)));
        assert!(!red_line(column_of(10_000, plot_x, width)));
        // Degraded now: the border turns red.
        app.workload.status = Status::Degraded;
        let buffer = draw(&app, 100, 30);
        let (x, y) = find(&buffer, "Workload").unwrap();
        assert_eq!(buffer[(x - 2, y)].fg, Color::Red);
    }

    #[test]
    fn a_panel_too_small_for_the_chart_keeps_the_sparkline() {
        let mut app = app();
        app.workload = WorkloadView {
            status: Status::Normal,
            baseline: Some(1000.0),
            history: vec![1000.0; 40],
            ..WorkloadView::empty()
        };
        let buffer = draw(&app, 44, 16);
        assert!(find(&buffer, "└").is_none(), "no chart in a 44x16 terminal");
        let (x, y) = find(&buffer, "█").unwrap();
        assert_eq!(buffer[(x, y)].fg, Color::Green);
        app.workload.status = Status::Degraded;
        let buffer = draw(&app, 44, 16);
        let (x, y) = find(&buffer, "█").unwrap();
        assert_eq!(buffer[(x, y)].fg, Color::Red);
    }

    /// Every cell holds printable text only, and none of the leftovers a
    /// terminal escape leaves once its ESC byte is dropped is on screen.
    fn assert_no_escape_junk(buffer: &ratatui::buffer::Buffer) {
        for cell in buffer.content() {
            assert!(
                !cell.symbol().chars().any(char::is_control),
                "control char in cell {:?}",
                cell.symbol()
            );
        }
        let screen = text(buffer);
        for junk in ["]2;", "PWNED", "]52;", "[31m", "31m", "[2J"] {
            assert!(!screen.contains(junk), "{junk:?} is on screen");
        }
    }

    #[test]
    fn escape_sequences_from_a_flow_leave_no_junk_on_the_dashboard() {
        let mut app = app();
        app.flow.name = "evil\x1b]2;PWNED\x07".into();
        app.flow.chapters[0].title = "Lose \x1b[31mquorum".into();
        app.flow.chapters[0].key_hint = "SPACE \u{9b}31mgo".into();
        app.narration = vec!["[bold]Watch[/] \u{9b}31mthe \x1b]2;PWNED\x1b\\throughput".into()];
        app.badge = Some(("LEADER\x1b]52;c;cHduZWQ=\x07 DOWN".into(), Level::Danger));
        app.log.push_back(crate::app::LogLine {
            t_ms: 0,
            level: Level::Danger,
            text: "chapter failed: \x1b[2Jboom".into(),
        });
        let buffer = draw(&app, 100, 30);
        assert_no_escape_junk(&buffer);
        let screen = text(&buffer);
        for shown in [
            " evil 0.1.0 ",
            "Chapter 1/1: Lose quorum",
            " LEADER DOWN ",
            "Watch the throughput",
            "chapter failed: boom",
            "SPACE go",
        ] {
            assert!(screen.contains(shown), "{shown:?} is not on screen");
        }

        app.countdown = Some((3, "Killing \x1b]2;PWNED\x07the \x1b[31mleader in".into()));
        let buffer = draw(&app, 100, 30);
        assert_no_escape_junk(&buffer);
        assert!(text(&buffer).contains("Killing the leader in"));
    }

    #[test]
    fn tiny_terminal_shows_a_message_not_a_panic() {
        for (w, h) in [(20, 6), (1, 1), (39, 40), (200, 11)] {
            let buffer = draw(&app(), w, h);
            if w >= 18 {
                assert!(text(&buffer).contains("terminal too small"), "{w}x{h}");
            }
        }
    }
}
