//! The live chart in the workload panel: throughput over time, the baseline
//! as a line, each fault's window as a shaded band labelled with the action
//! and the service, and the degraded stretches in red (the line, and the
//! time axis under them). Drawn with ratatui's `Canvas` from a [`Timeline`];
//! a pure function of it and the clock.
//!
//! The time axis is seconds since the show started: the first minute fills
//! the width as it passes, then the whole show, then the last five minutes.
//! An area smaller than [`LiveChart::fits`] accepts draws nothing: the
//! panel shows its sparkline instead.

use crate::sanitize::display_line;
use crate::timeline::{FaultWindow, Timeline};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::widgets::Widget;
use ratatui::widgets::canvas::{Canvas, Line as Segment, Painter, Points, Shape};

/// The axis spans at least this much, so the first samples do not fill it.
pub const MIN_SPAN_MS: u64 = 60_000;
/// And at most this much: older history scrolls off the left.
pub const MAX_SPAN_MS: u64 = 300_000;
/// Samples further apart than this are not joined (the workload was silent).
const GAP_MS: u64 = 5_000;
/// Below this the chart cannot show a band next to a line.
const MIN_WIDTH: u16 = 20;
const MIN_HEIGHT: u16 = 4;

pub const BAND: Color = Color::DarkGray;
pub const NORMAL: Color = Color::Green;
pub const DEGRADED: Color = Color::Red;
pub const BASELINE: Color = Color::Cyan;
const LABEL: Color = Color::Yellow;
const AXIS: Color = Color::Gray;

/// The chart of `timeline` at `now_ms` (ms since the show started).
pub struct LiveChart<'a> {
    timeline: &'a Timeline,
    now_ms: u64,
}

impl<'a> LiveChart<'a> {
    pub fn new(timeline: &'a Timeline, now_ms: u64) -> Self {
        LiveChart { timeline, now_ms }
    }

    /// Whether `area` is big enough for the chart.
    pub fn fits(area: Rect) -> bool {
        area.width >= MIN_WIDTH && area.height >= MIN_HEIGHT
    }

    /// The time range on the axis, in ms since the show started.
    pub fn span(now_ms: u64) -> (u64, u64) {
        let end = now_ms.max(MIN_SPAN_MS);
        (end.saturating_sub(MAX_SPAN_MS), end)
    }
}

/// Where things go inside the chart's area.
struct Frame {
    /// The plot itself (the canvas).
    plot: Rect,
    /// The time axis, under the plot.
    axis_y: u16,
    /// Its labels, under the axis.
    labels_y: u16,
    /// Left of the plot: value labels, then the axis line.
    value_x: u16,
    axis_x: u16,
    t0: u64,
    t1: u64,
    y_max: f64,
}

impl Frame {
    /// The plot column of time `t` (clamped to the plot), as the canvas
    /// maps it for a one-cell-per-point grid.
    fn column(&self, t: u64) -> u16 {
        let t = t.clamp(self.t0, self.t1);
        let span = (self.t1 - self.t0).max(1) as f64;
        let cells = f64::from(self.plot.width.saturating_sub(1));
        ((t - self.t0) as f64 * cells / span).round() as u16
    }

    /// The plot row of value `v` (clamped), 0 at the top.
    fn row(&self, v: f64) -> u16 {
        let v = v.clamp(0.0, self.y_max);
        let cells = f64::from(self.plot.height.saturating_sub(1));
        ((self.y_max - v) * cells / self.y_max).round() as u16
    }

    fn x(&self, t: u64) -> f64 {
        t as f64 / 1000.0
    }
}

impl Widget for LiveChart<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if !Self::fits(area) {
            return;
        }
        let timeline = self.timeline;
        let (t0, t1) = Self::span(self.now_ms);
        let visible_max = timeline
            .points()
            .iter()
            .filter(|p| p.t_ms >= t0 && p.t_ms <= t1)
            .map(|p| p.ops_per_sec)
            .fold(0.0, f64::max);
        let y_max = nice_ceiling(visible_max.max(timeline.baseline().unwrap_or(0.0)) * 1.1);
        let value_width = [
            compact(y_max),
            timeline.baseline().map(compact).unwrap_or_default(),
        ]
        .iter()
        .map(|s| s.chars().count() as u16)
        .max()
        .unwrap_or(1)
        .min(area.width / 4);
        let plot = Rect {
            x: area.x + value_width + 1,
            y: area.y,
            width: area.width - value_width - 1,
            height: area.height - 2,
        };
        let frame = Frame {
            plot,
            axis_y: area.y + area.height - 2,
            labels_y: area.y + area.height - 1,
            value_x: area.x,
            axis_x: area.x + value_width,
            t0,
            t1,
            y_max,
        };
        let visible: Vec<&FaultWindow> = timeline
            .faults()
            .iter()
            .filter(|w| w.overlaps(t0, t1, self.now_ms))
            .collect();

        let now = self.now_ms;
        let canvas = Canvas::default()
            .marker(Marker::Braille)
            .x_bounds([frame.x(t0), frame.x(t1)])
            .y_bounds([0.0, y_max])
            .paint(|ctx| {
                ctx.marker(Marker::Block);
                for window in &visible {
                    ctx.draw(&Band {
                        from: frame.column(window.start_ms) as usize,
                        to: frame.column(window.end_ms.unwrap_or(now)) as usize,
                        rows: frame.plot.height as usize,
                    });
                }
                // One braille grid over the bands: where lines share a cell
                // their dots merge and the last colour drawn wins, so the
                // baseline goes first and the degraded segments last (a red
                // segment is never hidden).
                ctx.marker(Marker::Braille);
                if let Some(b) = timeline.baseline() {
                    ctx.draw(&Segment::new(frame.x(t0), b, frame.x(t1), b, BASELINE));
                }
                for degraded in [false, true] {
                    draw_throughput(ctx, timeline, &frame, degraded);
                }
            });
        canvas.render(frame.plot, buf);
        draw_band_labels(buf, &frame, &visible);
        draw_axes(buf, &frame, timeline, now);
    }
}

/// A fault's window: whole columns of the plot, top to bottom.
struct Band {
    from: usize,
    to: usize,
    rows: usize,
}

impl Shape for Band {
    fn draw(&self, painter: &mut Painter) {
        for x in self.from..=self.to {
            for y in 0..self.rows {
                painter.paint(x, y, BAND);
            }
        }
    }
}

/// The throughput line's segments ending in a sample that is (or is not)
/// degraded; a sample with no neighbour within [`GAP_MS`] is a dot.
fn draw_throughput(
    ctx: &mut ratatui::widgets::canvas::Context,
    timeline: &Timeline,
    frame: &Frame,
    degraded: bool,
) {
    let color = if degraded { DEGRADED } else { NORMAL };
    let points = timeline.points();
    let mut lonely = Vec::new();
    for (i, p) in points.iter().enumerate() {
        if p.t_ms > frame.t1 {
            break;
        }
        let prev = i.checked_sub(1).map(|j| points[j]);
        let next = points.get(i + 1);
        let joined_prev = prev.filter(|q| p.t_ms.abs_diff(q.t_ms) <= GAP_MS);
        let joined_next = next.is_some_and(|q| q.t_ms.abs_diff(p.t_ms) <= GAP_MS);
        if p.t_ms < frame.t0 && !joined_next {
            continue;
        }
        if p.degraded != degraded {
            continue;
        }
        match joined_prev {
            Some(q) => ctx.draw(&Segment::new(
                frame.x(q.t_ms),
                q.ops_per_sec,
                frame.x(p.t_ms),
                p.ops_per_sec,
                color,
            )),
            None if !joined_next && p.t_ms >= frame.t0 => {
                lonely.push((frame.x(p.t_ms), p.ops_per_sec))
            }
            None => {}
        }
    }
    if !lonely.is_empty() {
        ctx.draw(&Points {
            coords: &lonely,
            color,
        });
    }
}

/// Each band's "action service" along the top of the plot, alternating
/// between two rows when the plot is tall enough, cut short before the next
/// label on its row.
fn draw_band_labels(buf: &mut Buffer, frame: &Frame, windows: &[&FaultWindow]) {
    let rows: u16 = if frame.plot.height >= 6 { 2 } else { 1 };
    let right = frame.plot.x + frame.plot.width;
    let starts: Vec<u16> = windows
        .iter()
        .map(|w| frame.plot.x + frame.column(w.start_ms))
        .collect();
    for (i, window) in windows.iter().enumerate() {
        let row = (i as u16) % rows;
        let next = starts
            .get(i + rows as usize)
            .copied()
            .map_or(right, |s| s.saturating_sub(1).max(starts[i]));
        let width = next.min(right).saturating_sub(starts[i]);
        if width == 0 {
            continue;
        }
        let text = display_line(&format!("{} {}", window.action, window.service)).into_owned();
        buf.set_stringn(
            starts[i],
            frame.plot.y + row,
            text,
            width as usize,
            Style::new().fg(LABEL).add_modifier(Modifier::BOLD),
        );
    }
}

/// The value labels left of the plot, the time axis under it (red where the
/// workload was degraded) and the time labels under that.
fn draw_axes(buf: &mut Buffer, frame: &Frame, timeline: &Timeline, now: u64) {
    let axis = Style::new().fg(AXIS);
    for y in frame.plot.y..frame.plot.y + frame.plot.height {
        buf[(frame.axis_x, y)].set_symbol("│").set_style(axis);
    }
    buf[(frame.axis_x, frame.axis_y)]
        .set_symbol("└")
        .set_style(axis);
    for x in frame.plot.x..frame.plot.x + frame.plot.width {
        buf[(x, frame.axis_y)].set_symbol("─").set_style(axis);
    }
    for stretch in timeline.degraded() {
        let end = stretch.end_ms.unwrap_or(now);
        if end < frame.t0 || stretch.start_ms > frame.t1 {
            continue;
        }
        let from = frame.plot.x + frame.column(stretch.start_ms);
        let to = frame.plot.x + frame.column(end);
        for x in from..=to {
            buf[(x, frame.axis_y)]
                .set_symbol("━")
                .set_style(Style::new().fg(DEGRADED));
        }
    }

    let width = frame.axis_x - frame.value_x;
    let value = |buf: &mut Buffer, row: u16, text: String, style: Style| {
        let text = format!("{text:>w$}", w = width as usize);
        buf.set_stringn(
            frame.value_x,
            frame.plot.y + row,
            text,
            width as usize,
            style,
        );
    };
    let bottom = frame.plot.height - 1;
    let baseline_row = timeline.baseline().map(|b| frame.row(b));
    if baseline_row != Some(0) {
        value(buf, 0, compact(frame.y_max), axis);
    }
    if baseline_row != Some(bottom) {
        value(buf, bottom, "0".into(), axis);
    }
    if let (Some(b), Some(row)) = (timeline.baseline(), baseline_row) {
        value(buf, row, compact(b), Style::new().fg(BASELINE));
    }

    // Time labels: start and end, and the middle when there is room.
    let dim = Style::new().fg(AXIS);
    let start = clock(frame.t0);
    let end = clock(frame.t1);
    let left = frame.plot.x;
    let w = frame.plot.width;
    buf.set_stringn(left, frame.labels_y, &start, w as usize, dim);
    let end_x = (left + w).saturating_sub(end.chars().count() as u16);
    if end_x > left + start.chars().count() as u16 {
        buf.set_string(end_x, frame.labels_y, &end, dim);
    }
    let middle = clock((frame.t0 + frame.t1) / 2);
    let mid_w = middle.chars().count() as u16;
    let mid_x = (left + w / 2).saturating_sub(mid_w / 2);
    if mid_x > left + start.chars().count() as u16 + 1 && mid_x + mid_w + 1 < end_x {
        buf.set_string(mid_x, frame.labels_y, &middle, dim);
    }
}

/// `m:ss` since the show started (`h:mm:ss` after an hour).
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A value in at most five characters: `950`, `1.2k`, `12k`, `3.4M`.
pub fn compact(v: f64) -> String {
    let v = v.max(0.0);
    match v {
        v if v >= 10_000_000.0 => format!("{:.0}M", v / 1e6),
        v if v >= 1_000_000.0 => format!("{:.1}M", v / 1e6),
        v if v >= 10_000.0 => format!("{:.0}k", v / 1e3),
        v if v >= 1_000.0 => format!("{:.1}k", v / 1e3),
        v => format!("{v:.0}"),
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `v` (at least 1).
pub fn nice_ceiling(v: f64) -> f64 {
    if !v.is_finite() || v <= 1.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * magnitude)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Bounds;

    fn draw(timeline: &Timeline, now: u64, width: u16, height: u16) -> Buffer {
        let area = Rect::new(0, 0, width, height);
        let mut buf = Buffer::empty(area);
        LiveChart::new(timeline, now).render(area, &mut buf);
        buf
    }

    /// A 60-second axis over a plot 61 columns wide: one column a second.
    /// The value labels take 5 columns ("1.2k"/"2.5k" + axis), so the plot
    /// starts at x = 5.
    fn steady_show() -> Timeline {
        let mut t = Timeline::new(Bounds::LIVE);
        for s in 0..=60u64 {
            t.sample(s * 1000, Some(1200.0), None, false, Some(1200.0));
        }
        t
    }

    fn row(buf: &Buffer, y: u16) -> String {
        (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
    }

    #[test]
    fn a_fault_injected_at_20s_and_undone_at_30s_shades_those_columns() {
        let mut t = steady_show();
        t.performed(20_000, "kill SIGKILL", true, "etcd2", "c2");
        t.performed(30_000, "start", false, "etcd2", "c2");
        let buf = draw(&t, 60_000, 66, 12);
        let plot_x = 5;
        // A row under the labels.
        let y = 5;
        let shaded: Vec<u16> = (0..66).filter(|&x| buf[(x, y)].bg == BAND).collect();
        let expected: Vec<u16> = (plot_x + 20..=plot_x + 30).collect();
        assert_eq!(shaded, expected, "row {y}: {}", row(&buf, y));
        // Labelled at its start with the action and the service.
        let label: String = row(&buf, 0).chars().skip(plot_x as usize + 20).collect();
        assert!(label.starts_with("kill SIGKILL etcd2"), "{}", row(&buf, 0));
        assert_eq!(buf[(plot_x + 20, 0)].fg, LABEL);
        // The time axis says where it is.
        assert!(row(&buf, 11).contains("0:00") && row(&buf, 11).contains("1:00"));
    }

    #[test]
    fn an_outstanding_fault_shades_up_to_now() {
        let mut t = steady_show();
        t.performed(50_000, "partition", true, "etcd1", "c1");
        let buf = draw(&t, 60_000, 66, 12);
        let shaded: Vec<u16> = (0..66).filter(|&x| buf[(x, 6)].bg == BAND).collect();
        assert_eq!(shaded, (55..=65).collect::<Vec<u16>>());
    }

    #[test]
    fn the_degraded_stretch_is_red_on_the_line_and_the_axis() {
        let mut t = Timeline::new(Bounds::LIVE);
        for s in 0..=60u64 {
            let degraded = (30..=40).contains(&s);
            let ops = if degraded { 0.0 } else { 1200.0 };
            t.sample(s * 1000, Some(ops), None, degraded, Some(1200.0));
        }
        let buf = draw(&t, 60_000, 66, 12);
        let axis_y = 10;
        let red: Vec<u16> = (0..66)
            .filter(|&x| buf[(x, axis_y)].fg == DEGRADED && buf[(x, axis_y)].symbol() == "━")
            .collect();
        assert_eq!(
            red,
            (35..=46).collect::<Vec<u16>>(),
            "{}",
            row(&buf, axis_y)
        );
        // The line at zero, on the plot's bottom row, is red there and green
        // before it.
        let bottom = 9;
        assert!((36..=45).all(|x| buf[(x, bottom)].fg == DEGRADED));
        let top_line_y = (0..10)
            .find(|&y| buf[(10, y)].fg == NORMAL)
            .expect("a green line at 1200");
        assert!(top_line_y < bottom);
        // The baseline is labelled in its colour.
        let (x, y) = (0..10)
            .find_map(|y| row(&buf, y).starts_with("1.2k").then_some((0, y)))
            .unwrap();
        assert_eq!(buf[(x, y)].fg, BASELINE);
    }

    #[test]
    fn the_axis_scrolls_after_five_minutes() {
        assert_eq!(LiveChart::span(10_000), (0, 60_000));
        assert_eq!(LiveChart::span(200_000), (0, 200_000));
        assert_eq!(LiveChart::span(400_000), (100_000, 400_000));
    }

    #[test]
    fn no_size_panics_and_small_areas_draw_nothing() {
        let mut t = steady_show();
        t.performed(20_000, "kill SIGKILL", true, "etcd2\x1b[31m", "c2");
        t.status(25_000, true);
        for w in 0..90 {
            for h in 0..16 {
                let buf = draw(&t, 60_000, w, h);
                if !LiveChart::fits(Rect::new(0, 0, w, h)) {
                    assert!(buf.content().iter().all(|c| c.symbol() == " "));
                }
                assert!(!buf.content().iter().any(|c| c.symbol().contains('\x1b')));
            }
        }
    }

    #[test]
    fn numbers_stay_short() {
        assert_eq!(compact(950.0), "950");
        assert_eq!(compact(1234.0), "1.2k");
        assert_eq!(compact(45_000.0), "45k");
        assert_eq!(nice_ceiling(1320.0), 2000.0);
        assert_eq!(nice_ceiling(2100.0), 2500.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(clock(75_000), "1:15");
        assert_eq!(clock(3_725_000), "1:02:05");
    }
}
