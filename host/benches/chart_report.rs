//! The story's two renderings:
//! - the live chart panel alone at 200×50 (TestBackend), five minutes of
//!   one-second samples with three fault windows and a degraded stretch;
//! - `host report`'s work (read, measure, plot, write the HTML) on a
//!   one-hour transcript of 3,600 samples, generated here in the lines the
//!   host writes. The transcript is left at `$TMPDIR/chaos-demo-bench-hour.jsonl`
//!   so the whole process can be timed too (`time host report …`).

use criterion::{Criterion, criterion_group, criterion_main};
use host::chart::LiveChart;
use host::timeline::{Bounds, Timeline};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::fmt::Write;
use std::hint::black_box;

fn five_minutes_with_three_faults() -> Timeline {
    let mut t = Timeline::new(Bounds::LIVE);
    t.chapter(0, 0, "Intro");
    for s in 0..=300u64 {
        let degraded = (200..=230).contains(&s);
        let ops = if degraded {
            12.0
        } else {
            1200.0 + ((s * 37) % 100) as f64
        };
        t.sample(s * 1000, Some(ops), Some(4.0), degraded, Some(1234.0));
    }
    for (i, (from, to)) in [(60_000, 75_000), (120_000, 140_000), (195_000, 235_000)]
        .into_iter()
        .enumerate()
    {
        let id = format!("c{i}");
        t.performed(from, "kill SIGKILL", true, &format!("etcd{}", i + 1), &id);
        t.performed(to, "start", false, &format!("etcd{}", i + 1), &id);
    }
    t
}

/// An hour of a show as the host's transcript has it: a sample a second
/// (with p99), a kill and its start every ten minutes, the node lines
/// Docker's events give, status changes when the kill degrades the workload.
fn hour_transcript() -> String {
    let mut out = String::with_capacity(1 << 20);
    let chapter = |out: &mut String, t: u64, index: u64, title: &str| {
        let _ = writeln!(
            out,
            r#"{{"index":{index},"title":"{title}","of":8,"flow":"etcd","flow_version":"0.1.0","t_ms":{t},"event":"chapter"}}"#
        );
        let _ = writeln!(
            out,
            r#"{{"text":"{title} narration","mode":"chapter","t_ms":{t},"event":"narration"}}"#
        );
    };
    let node = |out: &mut String, t: u64, i: u64, state: &str| {
        let _ = writeln!(
            out,
            r#"{{"service":"etcd{i}","container":"demo-etcd{i}-1","id":"{i:064}","state":"{state}","health":"none","t_ms":{t},"event":"node"}}"#
        );
    };
    chapter(&mut out, 0, 0, "Intro");
    for i in 1..=3 {
        node(&mut out, 5, i, "running");
    }
    let mut degraded = false;
    for s in 1..=3600u64 {
        let t = s * 1000;
        let minute_in_ten = s % 600;
        if minute_in_ten == 300 {
            let i = s / 600 % 3 + 1;
            chapter(&mut out, t, s / 600 + 1, "Lose a member");
            node(&mut out, t + 2, i, "exited");
            let _ = writeln!(
                out,
                r#"{{"action":"kill SIGKILL","service":"etcd{i}","container":"demo-etcd{i}-1","id":"{i:064}","disruptive":true,"t_ms":{},"event":"fault"}}"#,
                t + 5
            );
        }
        if minute_in_ten == 330 {
            let i = s / 600 % 3 + 1;
            let _ = writeln!(
                out,
                r#"{{"action":"start","service":"etcd{i}","container":"demo-etcd{i}-1","id":"{i:064}","disruptive":false,"t_ms":{t},"event":"fault"}}"#
            );
            node(&mut out, t + 40, i, "running");
        }
        let bad = (302..=334).contains(&minute_in_ten);
        if bad != degraded {
            let (from, to) = if bad {
                ("normal", "degraded")
            } else {
                ("degraded", "normal")
            };
            let _ = writeln!(
                out,
                r#"{{"kind":"status","from":"{from}","status":"{to}","t_ms":{t},"event":"workload"}}"#
            );
            degraded = bad;
        }
        let (ops, status) = if bad {
            (3.0, "degraded")
        } else {
            (1200.0 + (s * 37 % 100) as f64, "normal")
        };
        let p99 = if bad {
            950_000.0
        } else {
            2_100.0 + (s % 13) as f64
        };
        let _ = writeln!(
            out,
            r#"{{"kind":"sample","ops_per_sec":{ops},"failures_per_sec":0.0,"p99_us":{p99},"baseline":1234.0,"status":"{status}","samples":{s},"rehearsal":false,"t_ms":{t},"event":"workload"}}"#
        );
    }
    let _ = writeln!(out, r#"{{"reason":"quit","t_ms":3600500,"event":"quit"}}"#);
    let _ = writeln!(
        out,
        r#"{{"reason":"quit","outstanding_faults":0,"t_ms":3601000,"event":"done"}}"#
    );
    out
}

fn chart(c: &mut Criterion) {
    let timeline = five_minutes_with_three_faults();
    assert_eq!(timeline.faults().len(), 3);
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("test backend");
    c.bench_function("chart panel 200x50, 3 fault bands", |b| {
        b.iter(|| {
            terminal
                .draw(|frame| {
                    frame.render_widget(LiveChart::new(black_box(&timeline), 300_000), frame.area())
                })
                .expect("draw");
        })
    });
}

fn report(c: &mut Criterion) {
    let dir = std::env::temp_dir();
    let transcript = dir.join("chaos-demo-bench-hour.jsonl");
    let output = dir.join("chaos-demo-bench-hour.html");
    std::fs::write(&transcript, hour_transcript()).expect("writing the transcript");
    let html = host::report::Format::Html;
    let written = host::report::write(&transcript, &output, html).expect("report");
    assert_eq!(written.summary, "3600 samples, 6 fault window(s)");
    let mut group = c.benchmark_group("report");
    group.sample_size(20);
    group.bench_function("host report, one-hour transcript (3600 samples)", |b| {
        b.iter(|| host::report::write(black_box(&transcript), &output, html).expect("report"))
    });
    group.finish();
    let _ = std::fs::remove_file(&output);
}

criterion_group!(benches, chart, report);
criterion_main!(benches);
