//! The report's figures as SVG, drawn with plotters: throughput with its
//! baseline, p99 latency (log scale), and the load tool's verdict counts
//! (acknowledged writes on the left axis; stale, stale serializable and
//! lost on the right, the first of each kind marked at its time), all over
//! seconds since the show started, on the same time axis (one size, one
//! margin each side, so a time is at the same pixel in every figure), with
//! each fault's window shaded and labelled; the first two mark each
//! degraded stretch in red (a strip along the time axis, and the line).
//!
//! Text from the transcript reaches the SVG only as band labels, sanitised
//! here; plotters escapes it as XML. Chapter titles stay out of the SVG
//! (the HTML lists them): a chapter is its number on the plot.

use super::read::Show;
use super::read::VerdictLine;
use crate::chart::{clock, nice_ceiling};
use crate::sanitize::display_line;
use crate::timeline::{Point, Timeline};
use crate::workload::verdicts::Anomaly;
use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 340;
/// The band colour (`#F59E0B`), which tests look for in the SVG.
pub const BAND: RGBColor = RGBColor(245, 158, 11);
const BAND_OPACITY: f64 = 0.28;
const LINE: RGBColor = RGBColor(29, 78, 216);
const DEGRADED: RGBColor = RGBColor(220, 38, 38);
const BASELINE: RGBColor = RGBColor(13, 148, 136);
const CHAPTER: RGBColor = RGBColor(148, 163, 184);
/// The verdict figure's series (acknowledged writes in the line colour).
pub const STALE: RGBColor = DEGRADED;
pub const STALE_SERIALIZABLE: RGBColor = RGBColor(124, 58, 237);
pub const LOST: RGBColor = RGBColor(190, 24, 93);
const FONT: &str = "sans-serif";
/// The label areas left and right of every figure's plot: the same in
/// all, so their time axes line up.
const LEFT_AREA: u32 = 64;
const RIGHT_AREA: u32 = 56;
/// Samples further apart than this are not joined (the workload was silent).
const GAP_MS: u64 = 5_000;
/// Above this many points, each pixel column keeps its lowest and highest.
const MAX_PLOTTED: usize = 4_000;

/// One figure: its SVG, and where its time axis lies in it, so a reader
/// (or a test) can map a pixel back to a time.
#[derive(Debug, Clone)]
pub struct Figure {
    pub svg: String,
    pub t0_ms: u64,
    pub t1_ms: u64,
    /// Pixel x of `t0_ms` and of `t1_ms`.
    pub x0_px: i32,
    pub x1_px: i32,
}

/// Which value of a sample a figure plots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Throughput,
    P99,
}

impl Measure {
    fn value(self, p: &Point) -> Option<f64> {
        match self {
            Measure::Throughput => Some(p.ops_per_sec),
            Measure::P99 => p.p99_ms.filter(|v| *v > 0.0),
        }
    }

    fn caption(self) -> &'static str {
        match self {
            Measure::Throughput => "Throughput (ops/s)",
            Measure::P99 => "p99 latency (ms, log scale)",
        }
    }
}

/// The time axis of a show: all of it, at least a second.
fn span(show: &Show) -> (u64, u64) {
    (0, show.duration_ms().max(1000))
}

fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// Draws `measure`'s figure, or `None` when no sample carries it.
pub fn figure(show: &Show, measure: Measure) -> Result<Option<Figure>> {
    let timeline = &show.timeline;
    let values: Vec<f64> = timeline
        .points()
        .iter()
        .filter_map(|p| measure.value(p))
        .collect();
    if measure == Measure::P99 && values.is_empty() {
        return Ok(None);
    }
    let mut svg = String::new();
    let (t0, t1) = span(show);
    let (x0_px, x1_px) = {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        match measure {
            Measure::Throughput => {
                let top = values
                    .iter()
                    .copied()
                    .fold(timeline.baseline().unwrap_or(0.0), f64::max);
                let y = 0.0..nice_ceiling(top * 1.1);
                draw(&root, show, measure, t0, t1, y)?
            }
            Measure::P99 => {
                let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = values.iter().copied().fold(0.0, f64::max);
                let y = (lo / 2.0).max(0.001)..(hi * 2.0).max(lo * 4.0);
                draw(&root, show, measure, t0, t1, y.log_scale())?
            }
        }
    };
    Ok(Some(Figure {
        svg,
        t0_ms: t0,
        t1_ms: t1,
        x0_px,
        x1_px,
    }))
}

fn plot_error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("drawing the report's figure: {e}")
}

/// Draws one figure on `root`; returns the pixel x of `t0` and `t1`.
fn draw<Y>(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    show: &Show,
    measure: Measure,
    t0: u64,
    t1: u64,
    y: Y,
) -> Result<(i32, i32)>
where
    Y: plotters::coord::ranged1d::AsRangedCoord<Value = f64>,
    Y::CoordDescType: plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let timeline = &show.timeline;
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .caption(measure.caption(), (FONT, 18))
        .x_label_area_size(36)
        .y_label_area_size(LEFT_AREA)
        .right_y_label_area_size(RIGHT_AREA)
        .build_cartesian_2d(secs(t0)..secs(t1), y)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_labels(10)
        .x_label_formatter(&|s| clock((*s * 1000.0) as u64))
        .x_desc("time since the show started (m:ss)")
        .y_label_formatter(&|v| match measure {
            Measure::P99 if *v < 10.0 => format!("{v:.1}"),
            _ => format!("{v:.0}"),
        })
        .light_line_style(RGBColor(241, 245, 249))
        .label_style((FONT, 12))
        .draw()
        .map_err(plot_error)?;
    let (y_lo, y_hi) = {
        let range = chart.y_range();
        (range.start, range.end)
    };
    let x_of = |t: u64| secs(t.clamp(t0, t1));
    draw_windows(&mut chart, timeline, t0, t1)?;

    // Degraded stretches: a red strip along the time axis.
    let strip_top = strip_top(y_lo, y_hi, measure);
    let stretches = timeline.degraded().iter().map(|s| {
        Rectangle::new(
            [
                (x_of(s.start_ms), y_lo),
                (x_of(s.end_ms.unwrap_or(t1)), strip_top),
            ],
            DEGRADED.mix(0.85).filled(),
        )
    });
    chart.draw_series(stretches).map_err(plot_error)?;

    if measure == Measure::Throughput
        && let Some(b) = timeline.baseline()
    {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(secs(t0), b), (secs(t1), b)],
                8,
                5,
                BASELINE.stroke_width(2),
            ))
            .map_err(plot_error)?;
    }

    let plotted = thin(timeline, measure, t0, t1);
    for degraded in [false, true] {
        let colour = if degraded { DEGRADED } else { LINE };
        for run in runs(&plotted, degraded) {
            let line: Vec<(f64, f64)> = run.iter().map(|(t, v)| (secs(*t), *v)).collect();
            chart
                .draw_series(LineSeries::new(line, colour.stroke_width(2)))
                .map_err(plot_error)?;
        }
    }

    draw_labels(root, &chart, timeline, t0, t1)?;
    let (x0, _) = chart.backend_coord(&(secs(t0), y_lo));
    let (x1, _) = chart.backend_coord(&(secs(t1), y_lo));
    root.present().map_err(plot_error)?;
    Ok((x0, x1))
}

/// A figure's chart: time in seconds across, `YC` up.
type Chart<'a, 'b, YC> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, YC>>;

/// The fault windows shaded, and a thin line where each chapter starts:
/// what every figure draws under its data.
fn draw_windows<YC: Ranged<ValueType = f64>>(
    chart: &mut Chart<'_, '_, YC>,
    timeline: &Timeline,
    t0: u64,
    t1: u64,
) -> Result<()> {
    let (y_lo, y_hi) = {
        let range = chart.y_range();
        (range.start, range.end)
    };
    let x_of = |t: u64| secs(t.clamp(t0, t1));
    let bands = timeline.faults().iter().map(|w| {
        let end = w.end_ms.unwrap_or(t1);
        Rectangle::new(
            [(x_of(w.start_ms), y_lo), (x_of(end), y_hi)],
            BAND.mix(BAND_OPACITY).filled(),
        )
    });
    chart.draw_series(bands).map_err(plot_error)?;
    for mark in timeline.chapters() {
        let x = x_of(mark.t_ms);
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x, y_lo), (x, y_hi)],
                CHAPTER.stroke_width(1),
            )))
            .map_err(plot_error)?;
    }
    Ok(())
}

/// Labels last, over everything: "action service" at each band's start,
/// on two alternating rows; chapter numbers along the bottom.
fn draw_labels<YC: Ranged<ValueType = f64>>(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    chart: &Chart<'_, '_, YC>,
    timeline: &Timeline,
    t0: u64,
    t1: u64,
) -> Result<()> {
    let (y_lo, y_hi) = {
        let range = chart.y_range();
        (range.start, range.end)
    };
    let x_of = |t: u64| secs(t.clamp(t0, t1));
    let label_style = (FONT, 12).into_font().color(&RGBColor(120, 53, 15));
    for (i, w) in timeline.faults().iter().enumerate() {
        let (x_px, top_px) = chart.backend_coord(&(x_of(w.start_ms), y_hi));
        let text = display_line(&format!("{} {}", w.action, w.service)).into_owned();
        root.draw(&Text::new(
            text,
            (x_px + 3, top_px + 4 + 14 * (i as i32 % 2)),
            label_style.clone(),
        ))
        .map_err(plot_error)?;
    }
    // Chapters that began within a label's width of each other share one
    // label ("1–3").
    let chapter_style = (FONT, 11).into_font().color(&RGBColor(71, 85, 105));
    let mut groups: Vec<(i32, i32, usize, usize)> = Vec::new();
    for mark in timeline.chapters() {
        let (x_px, bottom_px) = chart.backend_coord(&(x_of(mark.t_ms), y_lo));
        match groups.last_mut() {
            Some((x0, _, _, last)) if x_px - *x0 < 24 => *last = mark.index,
            _ => groups.push((x_px, bottom_px, mark.index, mark.index)),
        }
    }
    for (x_px, bottom_px, first, last) in groups {
        let text = if first == last {
            format!("{}", first + 1)
        } else {
            format!("{}–{}", first + 1, last + 1)
        };
        root.draw(&Text::new(
            text,
            (x_px + 2, bottom_px - 26),
            chapter_style.clone(),
        ))
        .map_err(plot_error)?;
    }
    Ok(())
}

/// The verdict figure's series: what it is called and its colour, and
/// which anomaly it counts (`None`: acknowledged writes).
pub const VERDICT_SERIES: [(&str, RGBColor, Option<Anomaly>); 4] = [
    ("acknowledged writes", LINE, None),
    ("stale reads", STALE, Some(Anomaly::StaleRead)),
    (
        "stale serializable reads",
        STALE_SERIALIZABLE,
        Some(Anomaly::StaleSerializableRead),
    ),
    ("lost writes", LOST, Some(Anomaly::LostWrite)),
];

/// A colour as CSS and SVG write it, `#RRGGBB`.
pub fn hex(colour: RGBColor) -> String {
    let RGBColor(r, g, b) = colour;
    format!("#{r:02X}{g:02X}{b:02X}")
}

fn count(line: &VerdictLine, kind: Option<Anomaly>) -> u64 {
    let c = &line.counts;
    match kind {
        None => c.acknowledged,
        Some(Anomaly::StaleRead) => c.stale,
        Some(Anomaly::StaleSerializableRead) => c.stale_serializable,
        Some(Anomaly::LostWrite) => c.lost,
    }
}

/// When the first anomaly of `kind` was seen, if it was.
pub fn first_seen(show: &Show, kind: Anomaly) -> Option<u64> {
    let v = &show.verdict;
    match kind {
        Anomaly::StaleRead => v.first_stale_ms,
        Anomaly::StaleSerializableRead => v.first_stale_serializable_ms,
        Anomaly::LostWrite => v.first_lost_ms,
    }
}

/// Draws the verdict counts over the show, or `None` when the workload
/// reported none: acknowledged writes against the left axis, the three
/// kinds of anomaly against the right, a vertical line in an anomaly's
/// colour where its first one was seen.
pub fn verdict_figure(show: &Show) -> Result<Option<Figure>> {
    if show.verdicts.is_empty() {
        return Ok(None);
    }
    let (t0, t1) = span(show);
    let lines = thin_verdicts(&show.verdicts, t0, t1);
    let top = |kinds: &[Option<Anomaly>]| {
        lines
            .iter()
            .flat_map(|l| kinds.iter().map(|k| count(l, *k)))
            .max()
            .unwrap_or(0) as f64
    };
    let acked_top = nice_ceiling(top(&[None]) * 1.1);
    let anomalies = [
        Some(Anomaly::StaleRead),
        Some(Anomaly::StaleSerializableRead),
        Some(Anomaly::LostWrite),
    ];
    let anomaly_top = nice_ceiling(top(&anomalies) * 1.1).max(5.0);
    let mut svg = String::new();
    let (x0_px, x1_px) = {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .caption("Verdict counts (cumulative)", (FONT, 18))
            .x_label_area_size(36)
            .y_label_area_size(LEFT_AREA)
            .right_y_label_area_size(RIGHT_AREA)
            .build_cartesian_2d(secs(t0)..secs(t1), 0.0..acked_top)
            .map_err(plot_error)?
            .set_secondary_coord(secs(t0)..secs(t1), 0.0..anomaly_top);
        chart
            .configure_mesh()
            .x_labels(10)
            .x_label_formatter(&|s| clock((*s * 1000.0) as u64))
            .x_desc("time since the show started (m:ss)")
            .y_desc("acknowledged writes")
            .y_label_formatter(&|v| format!("{v:.0}"))
            .light_line_style(RGBColor(241, 245, 249))
            .label_style((FONT, 12))
            .draw()
            .map_err(plot_error)?;
        chart
            .configure_secondary_axes()
            .y_desc("stale / lost")
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style((FONT, 12))
            .draw()
            .map_err(plot_error)?;
        draw_windows(&mut chart, &show.timeline, t0, t1)?;

        let series = |kind| -> Vec<(f64, f64)> {
            lines
                .iter()
                .map(|l| (secs(l.t_ms), count(l, kind) as f64))
                .collect()
        };
        for (_, colour, kind) in VERDICT_SERIES {
            let line = LineSeries::new(series(kind), colour.stroke_width(2));
            match kind {
                None => chart.draw_series(line).map_err(plot_error)?,
                Some(_) => chart.draw_secondary_series(line).map_err(plot_error)?,
            };
        }

        // The first anomaly of each kind: a line across the plot at its
        // time, named along the top.
        let marker_style = |colour: RGBColor| (FONT, 12).into_font().color(&colour);
        let (x1_plot, _) = chart.backend_coord(&(secs(t1), 0.0));
        let mut row = 0;
        for (name, colour, kind) in VERDICT_SERIES {
            let Some(t) = kind.and_then(|k| first_seen(show, k)) else {
                continue;
            };
            let x = secs(t.clamp(t0, t1));
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, 0.0), (x, acked_top)],
                    colour.stroke_width(2),
                )))
                .map_err(plot_error)?;
            let (x_px, top_px) = chart.backend_coord(&(x, acked_top));
            let label = format!("first of the {name}, {}", clock(t));
            // Right of the line, or left of it near the right edge
            // (about 6 px a character at this size).
            let width = 6 * label.chars().count() as i32;
            let x_label = if x_px + 4 + width > x1_plot {
                x_px - 4 - width
            } else {
                x_px + 4
            };
            root.draw(&Text::new(
                label,
                (x_label, top_px + 32 + 14 * row),
                marker_style(colour),
            ))
            .map_err(plot_error)?;
            row += 1;
        }
        draw_labels(&root, &chart, &show.timeline, t0, t1)?;
        let (x0, _) = chart.backend_coord(&(secs(t0), 0.0));
        let (x1, _) = chart.backend_coord(&(secs(t1), 0.0));
        root.present().map_err(plot_error)?;
        (x0, x1)
    };
    Ok(Some(Figure {
        svg,
        t0_ms: t0,
        t1_ms: t1,
        x0_px,
        x1_px,
    }))
}

/// The verdict lines to draw: all of them up to [`MAX_PLOTTED`], else the
/// last of each pixel column (the counts are cumulative: the last is the
/// column's highest).
fn thin_verdicts(lines: &[VerdictLine], t0: u64, t1: u64) -> Vec<VerdictLine> {
    if lines.len() <= MAX_PLOTTED {
        return lines.to_vec();
    }
    let columns = u64::from(WIDTH);
    let bucket = |t: u64| (t.saturating_sub(t0)) * columns / (t1 - t0).max(1);
    let mut kept: Vec<VerdictLine> = Vec::with_capacity(WIDTH as usize);
    for line in lines {
        match kept.last_mut() {
            Some(last) if bucket(last.t_ms) == bucket(line.t_ms) => *last = *line,
            _ => kept.push(*line),
        }
    }
    kept
}

/// The top of the red strip: 4 % of the plot's height (in its own scale).
fn strip_top(lo: f64, hi: f64, measure: Measure) -> f64 {
    match measure {
        Measure::Throughput => lo + (hi - lo) * 0.04,
        Measure::P99 => lo * (hi / lo).powf(0.04),
    }
}

/// `(t_ms, value, degraded)` of the samples to draw. Beyond
/// [`MAX_PLOTTED`], each pixel column keeps its lowest and its highest
/// sample, so a trough or a spike is never averaged away.
fn thin(timeline: &Timeline, measure: Measure, t0: u64, t1: u64) -> Vec<(u64, f64, bool)> {
    let all: Vec<(u64, f64, bool)> = timeline
        .points()
        .iter()
        .filter_map(|p| measure.value(p).map(|v| (p.t_ms, v, p.degraded)))
        .collect();
    if all.len() <= MAX_PLOTTED {
        return all;
    }
    let columns = u64::from(WIDTH);
    let bucket = |t: u64| (t.saturating_sub(t0)) * columns / (t1 - t0).max(1);
    let mut kept = Vec::with_capacity(2 * WIDTH as usize);
    let mut i = 0;
    while i < all.len() {
        let b = bucket(all[i].0);
        let mut j = i;
        let (mut lo, mut hi) = (i, i);
        while j < all.len() && bucket(all[j].0) == b {
            if all[j].1 < all[lo].1 {
                lo = j;
            }
            if all[j].1 > all[hi].1 {
                hi = j;
            }
            j += 1;
        }
        kept.push(all[lo.min(hi)]);
        if lo != hi {
            kept.push(all[lo.max(hi)]);
        }
        i = j;
    }
    kept
}

/// The line's pieces whose samples are (or are not) degraded, each joined
/// to the sample before it; broken where the workload was silent.
fn runs(points: &[(u64, f64, bool)], degraded: bool) -> Vec<Vec<(u64, f64)>> {
    let mut runs: Vec<Vec<(u64, f64)>> = Vec::new();
    let mut current: Vec<(u64, f64)> = Vec::new();
    for (i, &(t, v, d)) in points.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| points[j]);
        let joined = prev.filter(|p| t.abs_diff(p.0) <= GAP_MS);
        if d != degraded || joined.is_none() {
            if !current.is_empty() {
                runs.push(std::mem::take(&mut current));
            }
            if d != degraded {
                continue;
            }
        }
        if current.is_empty()
            && let Some(p) = joined
        {
            current.push((p.0, p.1));
        }
        current.push((t, v));
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_splits_into_normal_and_degraded_runs_joined_at_the_turns() {
        let points = [
            (0, 10.0, false),
            (1000, 10.0, false),
            (2000, 1.0, true),
            (3000, 1.0, true),
            (4000, 9.0, false),
            (20_000, 9.0, false),
        ];
        assert_eq!(
            runs(&points, false),
            [
                vec![(0, 10.0), (1000, 10.0)],
                vec![(3000, 1.0), (4000, 9.0)],
                vec![(20_000, 9.0)],
            ]
        );
        assert_eq!(
            runs(&points, true),
            [vec![(1000, 10.0), (2000, 1.0), (3000, 1.0)]]
        );
    }

    #[test]
    fn thinning_keeps_the_trough() {
        let mut t = Timeline::new(crate::timeline::Bounds::WHOLE_SHOW);
        for i in 0..20_000u64 {
            let ops = if i == 12_345 {
                0.0
            } else {
                1000.0 + (i % 7) as f64
            };
            t.sample(i * 100, Some(ops), None, false, None);
        }
        let kept = thin(&t, Measure::Throughput, 0, 2_000_000);
        assert!(kept.len() <= 2 * WIDTH as usize + 2, "{}", kept.len());
        assert!(kept.iter().any(|p| p.1 == 0.0));
    }
}
