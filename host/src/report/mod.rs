//! `host report TRANSCRIPT`: after the show, one self-contained HTML file
//! for a blog post or a colleague: throughput and p99 over time (SVG, drawn
//! with plotters) with the fault windows shaded and the degraded stretches
//! marked, the key figures (baseline, trough, time to detect, time to
//! recover, faults outstanding at the end) and the timeline of chapters,
//! faults, restores and node states.
//!
//! - `read`: the transcript's lines into a [`crate::timeline::Timeline`]
//!   and timeline rows;
//! - `figures`: the key figures;
//! - `plot`: the SVG figures;
//! - `html`: the page, where every transcript string is escaped.
//!
//! No PNG: plotters' bitmap backend draws text only with a font loaded at
//! run time (font-kit and the system's fonts, or a font file compiled in)
//! and PNG encoding brings the `image` crate; the SVG needs neither.

pub mod figures;
pub mod html;
pub mod plot;
pub mod read;

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// What `host report` wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub samples: usize,
    pub faults: usize,
}

/// The report of one transcript's text, as HTML; `source` names the
/// transcript on the page.
pub fn render(transcript: &str, source: &str) -> Result<(String, figures::KeyFigures)> {
    let show = read::read(transcript);
    let key = figures::measure(&show);
    let throughput = plot::figure(&show, plot::Measure::Throughput)?
        .context("the throughput figure is always drawn")?;
    let p99 = plot::figure(&show, plot::Measure::P99)?;
    let page = html::page(&show, &key, &throughput, p99.as_ref(), source);
    Ok((page, key))
}

/// Where the report of `transcript` goes unless `-o` says: beside it, as
/// `NAME.html`.
pub fn default_output(transcript: &Path) -> PathBuf {
    let mut out = transcript.with_extension("html");
    if out == transcript {
        out = transcript.with_extension("report.html");
    }
    out
}

/// Reads `transcript`, writes its report to `output`.
pub fn write(transcript: &Path, output: &Path) -> Result<Written> {
    let text = std::fs::read_to_string(transcript)
        .with_context(|| format!("cannot read the transcript {}", transcript.display()))?;
    let source = transcript
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (page, key) = render(&text, &source)?;
    if output == transcript {
        anyhow::bail!(
            "the report would overwrite its transcript {}; pass -o",
            transcript.display()
        );
    }
    std::fs::write(output, page)
        .with_context(|| format!("cannot write the report {}", output.display()))?;
    Ok(Written {
        path: output.to_path_buf(),
        samples: key.samples,
        faults: key.faults.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The `x`, `width` of each `<rect>` filled with the band colour.
    fn bands(svg: &str) -> Vec<(f64, f64)> {
        svg.split("<rect")
            .skip(1)
            .map(|r| &r[..r.find("/>").unwrap()])
            .filter(|r| r.contains("fill=\"#F59E0B\""))
            .map(|r| {
                let attr = |name: &str| -> f64 {
                    let start = r.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
                    r[start..].split('"').next().unwrap().parse().unwrap()
                };
                (attr("x"), attr("width"))
            })
            .collect()
    }

    fn attr(html: &str, name: &str) -> f64 {
        let start = html.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        html[start..].split('"').next().unwrap().parse().unwrap()
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
        let found = bands(throughput);
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
        assert_eq!(bands(p99).len(), 2);
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

    #[test]
    fn the_default_output_sits_beside_the_transcript() {
        assert_eq!(
            default_output(Path::new("/tmp/run.jsonl")),
            Path::new("/tmp/run.html")
        );
        assert_eq!(
            default_output(Path::new("show.html")),
            Path::new("show.report.html")
        );
    }
}
