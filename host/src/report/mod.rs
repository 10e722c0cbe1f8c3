//! `host report TRANSCRIPT`: after the show, one self-contained HTML file
//! for a blog post or a colleague: throughput, p99 and the load tool's
//! verdict counts over time (SVG, drawn with plotters, on one time axis)
//! with the fault windows shaded, the degraded stretches and the first
//! anomaly of each kind marked, the key figures (baseline, trough, time to
//! detect, time to recover, faults outstanding at the end, the verdict),
//! the stops of the show's faults, each steady-state hypothesis with its
//! overall result and its judgements, and the timeline of chapters, faults,
//! restores, node states, judgements and anomalies.
//!
//! - `read`: the transcript's lines into a [`crate::timeline::Timeline`],
//!   typed verdict, hypothesis, stop, restore and done lines, and timeline
//!   rows;
//! - `figures`: the key figures;
//! - `plot`: the SVG figures;
//! - `html`: the page, where every transcript string is escaped;
//! - `journal`: the show as a Chaos Toolkit journal
//!   (`--format chaostoolkit`).
//!
//! No PNG: plotters' bitmap backend draws text only with a font loaded at
//! run time (font-kit and the system's fonts, or a font file compiled in)
//! and PNG encoding brings the `image` crate; the SVG needs neither.

pub mod figures;
pub mod html;
pub mod journal;
pub mod plot;
pub mod read;

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// What `host report` writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One self-contained HTML page.
    #[default]
    Html,
    /// A Chaos Toolkit journal (JSON).
    Chaostoolkit,
}

/// What `host report` wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    /// What to say of it: "40 samples, 2 fault window(s)".
    pub summary: String,
}

/// The report of one transcript's text, as HTML; `source` names the
/// transcript on the page.
pub fn render(transcript: &str, source: &str) -> Result<(String, figures::KeyFigures)> {
    let show = read::read(transcript);
    let key = figures::measure(&show);
    let throughput = plot::figure(&show, plot::Measure::Throughput)?
        .context("the throughput figure is always drawn")?;
    let p99 = plot::figure(&show, plot::Measure::P99)?;
    let verdicts = plot::verdict_figure(&show)?;
    let page = html::page(
        &show,
        &key,
        &throughput,
        p99.as_ref(),
        verdicts.as_ref(),
        source,
    );
    Ok((page, key))
}

/// Where the report of `transcript` goes unless `-o` says: beside it, as
/// `NAME.html` or `NAME.journal.json`.
pub fn default_output(transcript: &Path, format: Format) -> PathBuf {
    let (extension, fallback) = match format {
        Format::Html => ("html", "report.html"),
        Format::Chaostoolkit => ("journal.json", "report.journal.json"),
    };
    let mut out = transcript.with_extension(extension);
    if out == transcript {
        out = transcript.with_extension(fallback);
    }
    out
}

/// Reads `transcript`, writes its report in `format` to `output`.
pub fn write(transcript: &Path, output: &Path, format: Format) -> Result<Written> {
    let text = std::fs::read_to_string(transcript)
        .with_context(|| format!("cannot read the transcript {}", transcript.display()))?;
    let source = transcript
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if output == transcript {
        anyhow::bail!(
            "the report would overwrite its transcript {}; pass -o",
            transcript.display()
        );
    }
    let (content, summary) = match format {
        Format::Html => {
            let (page, key) = render(&text, &source)?;
            let summary = format!(
                "{} samples, {} fault window(s)",
                key.samples,
                key.faults.len()
            );
            (page, summary)
        }
        Format::Chaostoolkit => {
            let show = read::read(&text);
            let modified = std::fs::metadata(transcript)
                .and_then(|m| m.modified())
                .ok();
            let origin = journal::Origin::of(&show, modified);
            let journal = journal::journal(&show, &origin, &source);
            let summary = format!(
                "{} chapter run(s), {} hypothesis probe(s), status {}{}",
                journal.run.len(),
                journal
                    .experiment
                    .hypothesis
                    .as_ref()
                    .map_or(0, |h| h.probes.len()),
                serde_json::to_value(journal.status)?
                    .as_str()
                    .unwrap_or_default(),
                if journal.deviated { ", deviated" } else { "" }
            );
            (serde_json::to_string_pretty(&journal)? + "\n", summary)
        }
    };
    std::fs::write(output, content)
        .with_context(|| format!("cannot write the report {}", output.display()))?;
    Ok(Written {
        path: output.to_path_buf(),
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use e2e::svg::{attr, bands, figure, vertical_lines};

    /// The band colour plot.rs fills fault windows with.
    const BAND: &str = "#F59E0B";

    /// A hand-made show: a minute at 1000 ops/s, a kill at 20 s that
    /// degrades the workload from 21 s, undone at 30 s, normal again at
    /// 33 s; a pause at 45 s restored when the presenter quit at 50 s. The
    /// service names and the chapter title try to inject markup.
    fn transcript() -> String {
        let mut lines = vec![
            r#"{"t_ms":0,"event":"chapter","index":0,"title":"<script>alert(1)</script>","of":2,"flow":"etcd<b>","flow_version":"0.1.0"}"#.to_string(),
            r#"{"t_ms":0,"event":"node","service":"etcd1","container":"p-etcd1-1","id":"a","state":"running","health":"none"}"#.into(),
        ];
        for s in 1..=55u64 {
            let degraded = (21..=32).contains(&s);
            let (ops, status) = if degraded {
                (3.0, "degraded")
            } else {
                (1000.0, "normal")
            };
            lines.push(format!(
                r#"{{"t_ms":{},"event":"workload","kind":"sample","ops_per_sec":{ops},"baseline":1000.0,"status":"{status}","p99_us":{}}}"#,
                s * 1000,
                if degraded { 900_000.0 } else { 2_000.0 }
            ));
            if s == 20 {
                lines.push(r#"{"t_ms":20000,"event":"chapter","index":1,"title":"Lose quorum","of":2,"flow":"etcd<b>","flow_version":"0.1.0"}"#.into());
                lines.push(r#"{"t_ms":20000,"event":"fault","action":"kill SIGKILL","service":"etcd1\"><img src=x onerror=alert(2)>","container":"p-etcd1-1","id":"a","disruptive":true}"#.into());
            }
            if s == 30 {
                lines.push(r#"{"t_ms":30000,"event":"fault","action":"start","service":"etcd1","container":"p-etcd1-1","id":"a","disruptive":false}"#.into());
            }
            if s == 45 {
                lines.push(r#"{"t_ms":45000,"event":"fault","action":"pause","service":"etcd2","container":"p-etcd2-1","id":"b","disruptive":true}"#.into());
            }
        }
        lines.push(r#"{"t_ms":50000,"event":"quit","reason":"quit"}"#.into());
        lines.push(r#"{"t_ms":50500,"event":"restore","service":"etcd2","container":"p-etcd2-1","id":"b","undo":"unpause","ok":true,"detail":"unpaused"}"#.into());
        lines
            .push(r#"{"t_ms":56000,"event":"done","reason":"quit","outstanding_faults":0}"#.into());
        lines.sort_by_key(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["t_ms"]
                .as_u64()
                .unwrap()
        });
        lines.join("\n")
    }

    #[test]
    fn the_report_shades_each_fault_at_its_times() {
        let (html, key) = render(&transcript(), "run.jsonl").unwrap();
        let throughput = &html[html.find("<figure id=\"throughput\"").unwrap()..];
        let throughput = &throughput[..throughput.find("</figure>").unwrap()];
        let (t0, t1) = (
            attr(throughput, "data-t0-ms"),
            attr(throughput, "data-t1-ms"),
        );
        let (x0, x1) = (
            attr(throughput, "data-x0-px"),
            attr(throughput, "data-x1-px"),
        );
        let ms = |px: f64| t0 + (px - x0) * (t1 - t0) / (x1 - x0);
        let found = bands(throughput, BAND);
        assert_eq!(found.len(), 2, "{found:?}");
        let px_ms = (t1 - t0) / (x1 - x0);
        for ((x, width), (start, end)) in found
            .iter()
            .zip([(20_000.0, 30_000.0), (45_000.0, 50_500.0)])
        {
            assert!(
                (ms(*x) - start).abs() <= 2.0 * px_ms,
                "{x} → {} vs {start}",
                ms(*x)
            );
            assert!(
                (ms(x + width) - end).abs() <= 2.0 * px_ms,
                "{} vs {end}",
                ms(x + width)
            );
        }
        // The p99 figure has them too, and both mark the degraded stretch in red.
        let p99 = &html[html.find("<figure id=\"p99\"").unwrap()..];
        assert_eq!(bands(p99, BAND).len(), 2);
        assert!(throughput.contains("fill=\"#DC2626\""));

        // The key figures.
        assert_eq!(key.baseline, Some(1000.0));
        assert_eq!(key.trough, Some((21_000, 3.0)));
        let kill = &key.faults[0];
        assert_eq!(kill.detect, figures::Detect::After(1_000));
        assert_eq!(kill.recover, figures::Recover::After(3_000));
        assert_eq!(key.faults[1].window.end_ms, Some(50_500));
        assert!(html.contains("<b>1000 ops/s</b><span>baseline</span>"));
        assert!(html.contains("<b>3.0 s</b><span>time to recover"));
        assert!(html.contains("<b>0</b><span>faults outstanding at the end</span>"));
        // The timeline lists the chapters, faults, restores and node states.
        for row in [
            "Chapter 2/2: Lose quorum",
            "<td class=\"w\">kill SIGKILL",
            "<td class=\"w\">start etcd1 (p-etcd1-1)",
            "restore etcd2: unpaused",
            "etcd1 running",
            "done (quit), 0 fault(s) outstanding",
        ] {
            assert!(html.contains(row), "{row}");
        }
    }

    #[test]
    fn nothing_from_the_transcript_becomes_markup() {
        let (html, _) = render(&transcript(), "<i>run</i>.jsonl").unwrap();
        assert!(!html.contains("<script"), "a script tag got through");
        assert!(!html.contains("<img"), "an img tag got through");
        assert!(!html.contains("<b>\""));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("etcd&lt;b&gt; 0.1.0"));
        assert!(html.contains("&lt;i&gt;run&lt;/i&gt;.jsonl"));
        // In the SVG, plotters escaped the band label.
        assert!(html.contains("etcd1&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
        // Self-contained: nothing is fetched.
        for outside in [
            "src=\"http",
            "href=\"http",
            "@import",
            "url(",
            "<link",
            "<script",
        ] {
            assert!(!html.contains(outside), "{outside}");
        }
        assert!(html.contains("default-src 'none'"));
    }

    #[test]
    fn an_empty_or_garbage_transcript_still_makes_a_page() {
        for text in ["", "garbage\n{\"t_ms\":\"x\"}\n[1,2]"] {
            let (html, key) = render(text, "x").unwrap();
            assert!(html.contains("<figure id=\"throughput\""));
            assert!(html.contains("No sample carries a p99"));
            assert_eq!(key.faults.len(), 0);
        }
    }

    /// A show with every new kind of line (tests/fixtures/report): three
    /// chapters; a kill at 0:20 whose p99 breaches an abort condition at
    /// 0:21, the faults stopped and undone at 0:21.48; a pause at 0:30
    /// whose undo fails at the quit; verdict counts each second, the first
    /// stale serializable read at 0:22, the first stale read at 0:24, two
    /// lost writes confirmed by the final read at 0:40.9; four hypotheses
    /// (one breached, one met throughout, one not met at the end, one not
    /// evaluated). Names, reasons and details carry markup.
    pub(crate) const STOPPED_SHOW: &str =
        include_str!("../../../tests/fixtures/report/stopped-show.jsonl");

    #[test]
    fn the_verdict_figure_marks_each_first_anomaly_at_its_time_on_the_shared_time_axis() {
        let (html, _) = render(STOPPED_SHOW, "stopped-show.jsonl").unwrap();
        let verdicts = figure(&html, "verdicts");
        let axis = |fig: &str| {
            [
                attr(fig, "data-t0-ms"),
                attr(fig, "data-t1-ms"),
                attr(fig, "data-x0-px"),
                attr(fig, "data-x1-px"),
            ]
        };
        // The same time at the same pixel in all three figures.
        let [t0, t1, x0, x1] = axis(verdicts);
        assert_eq!(axis(figure(&html, "throughput")), [t0, t1, x0, x1]);
        assert_eq!(axis(figure(&html, "p99")), [t0, t1, x0, x1]);
        let px_ms = (t1 - t0) / (x1 - x0);
        for (colour, first_ms) in [
            (plot::hex(plot::STALE), 24_000.0),
            (plot::hex(plot::STALE_SERIALIZABLE), 22_000.0),
            (plot::hex(plot::LOST), 40_900.0),
        ] {
            let found = vertical_lines(verdicts, &colour);
            assert_eq!(found.len(), 1, "{colour}: {found:?}");
            let ms = t0 + (found[0] - x0) * px_ms;
            assert!(
                (ms - first_ms).abs() <= px_ms,
                "{colour}: the marker is at {ms:.0} ms, the first anomaly at {first_ms}"
            );
        }
        assert!(verdicts.contains("first of the stale reads, 0:24"));
        // The fault windows are shaded here too.
        assert_eq!(bands(verdicts, BAND).len(), 2);
        // Counts without any anomaly draw no marker; no counts, no figure.
        let clean = r#"{"t_ms":1000,"event":"verdict","acknowledged":5,"failed":0,"unknown":0,"reads":3,"stale":0,"stale_serializable":0,"lost":0,"final":true,"first":[]}"#;
        let (html, _) = render(clean, "x").unwrap();
        let verdicts = figure(&html, "verdicts");
        for colour in [plot::STALE, plot::STALE_SERIALIZABLE, plot::LOST] {
            assert!(vertical_lines(verdicts, &plot::hex(colour)).is_empty());
        }
        assert!(html.contains("<b class=\"met\">✓ kept</b>"));
        let (html, _) = render(&transcript(), "x").unwrap();
        assert!(!html.contains("<figure id=\"verdicts\""));
        assert!(html.contains("no verdict counts"));
    }

    #[test]
    fn each_hypothesis_shows_its_overall_result_and_its_judgements() {
        let (html, _) = render(STOPPED_SHOW, "stopped-show.jsonl").unwrap();
        let section = &html[html.find("<table class=\"hypotheses\">").unwrap()..];
        let section = &section[..section.find("</table>").unwrap()];
        let bodies: Vec<&str> = section.split("<tbody").skip(1).collect();
        assert_eq!(bodies.len(), 4);
        let overall = |b: &str| {
            let row = &b[b.find("<tr class=\"overall\">").unwrap()..];
            row[..row.find("</tr>").unwrap()].to_string()
        };
        // Breached once: not met with the value seen.
        assert!(bodies[0].contains("data-result=\"not-met\""));
        assert!(overall(bodies[0]).contains("p99&lt;=200ms@continuously!abort"));
        assert!(overall(bodies[0]).contains("NOT MET</td><td>p99 900.0 ms"));
        assert!(bodies[0].contains("<td>continuously, at 0:21</td>"));
        // Met at each of its three moments: met, each listed with its time.
        assert!(bodies[1].contains("data-result=\"met\""));
        for row in [
            "<td>before the first fault, at 0:20</td><td class=\"met\">met</td><td>1000 ops/s, 100% of baseline</td>",
            "<td>after the undo, within 10s, at 0:27</td><td class=\"met\">met</td><td>950 ops/s, 95% of baseline</td>",
            "<td>at the end, at 0:41</td>",
        ] {
            assert!(bodies[1].contains(row), "{row}");
        }
        assert!(overall(bodies[2]).contains("2 of 36000 acknowledged writes lost"));
        // Not evaluated, saying why; the markup in its name and reason is text.
        assert!(bodies[3].contains("data-result=\"not-evaluated\""));
        assert!(overall(bodies[3]).contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(overall(bodies[3]).contains("&lt;script&gt;alert(&quot;why&quot;)&lt;/script&gt;"));
        assert!(html.contains("<b class=\"not-met\">2 of 4</b>"));
    }

    #[test]
    fn the_stop_shows_its_reason_breach_time_time_to_restored_and_failed_undos() {
        let (html, _) = render(STOPPED_SHOW, "stopped-show.jsonl").unwrap();
        let stop = &html[html.find("<div class=\"stop\"").unwrap()..];
        let stop = &stop[..stop.find("</div>").unwrap()];
        assert_eq!(attr(stop, "data-breached-at-ms"), 21_000.0);
        assert_eq!(attr(stop, "data-restored-at-ms"), 21_480.0);
        assert!(stop.contains(
            "abort condition p99&lt;=200ms@continuously!abort breached: p99 900.0 ms &lt;b onmouseover=x&gt;"
        ));
        assert!(stop.contains("Breached at 0:21; every fault undone at 0:21, 0.5 s after the breach; 1 fault(s) undone, no undo failed."));
        // A failed undo is said so, in red.
        let failed =
            STOPPED_SHOW.replace("\"restored\":1,\"failed\":0", "\"restored\":0,\"failed\":1");
        let (html, _) = render(&failed, "x").unwrap();
        assert!(html.contains("<b class=\"not-met\">1 undo(s) failed</b>"));
        // The timeline has the stop, the judgements and the first anomalies.
        let (html, _) = render(STOPPED_SHOW, "x").unwrap();
        for row in [
            "<tr class=\"stopped\"><td class=\"t\">0:21</td>",
            "<tr class=\"hypothesis-not-met\"><td class=\"t\">0:21</td><td class=\"w\">hypothesis p99&lt;=200ms@continuously!abort (continuously): NOT MET, p99 900.0 ms",
            "<tr class=\"anomaly\"><td class=\"t\">0:24</td><td class=\"w\">first stale read",
        ] {
            assert!(html.contains(row), "{row}");
        }
    }

    #[test]
    fn no_text_of_the_new_lines_becomes_markup() {
        let (html, _) = render(STOPPED_SHOW, "stopped-show.jsonl").unwrap();
        for tag in ["<script", "<img", "<b onmouseover", "<b>bold", "<i>etcd2"] {
            assert!(!html.contains(tag), "{tag} got through");
        }
        assert!(html.contains("etcd&lt;script&gt;alert(&#39;flow&#39;)&lt;/script&gt; 0.1.0"));
    }

    #[test]
    fn the_default_output_sits_beside_the_transcript() {
        assert_eq!(
            default_output(Path::new("/tmp/run.jsonl"), Format::Html),
            Path::new("/tmp/run.html")
        );
        assert_eq!(
            default_output(Path::new("show.html"), Format::Html),
            Path::new("show.report.html")
        );
        assert_eq!(
            default_output(Path::new("/tmp/run.jsonl"), Format::Chaostoolkit),
            Path::new("/tmp/run.journal.json")
        );
    }
}
