//! Time to render one dashboard frame at 200×50 into ratatui's TestBackend:
//! a busy screen (three nodes, a full sparkline window, a full event log,
//! narration with markup), and the same with the countdown up.

use criterion::{Criterion, criterion_group, criterion_main};
use host::app::App;
use host::cluster::{ClusterEvent, Health, Node, NodeState};
use host::events::{Event, Level};
use host::model::{Capabilities, Chapter, FlowInfo};
use host::workload::parse::{Format, OpStat, Sample};
use host::workload::tracker::Status;
use host::workload::{WorkloadEvent, WorkloadView};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;
use std::time::Instant;

fn busy_app() -> App {
    let chapter = |title: &str| Chapter {
        title: title.into(),
        narration: "SIGKILL a second member. One of three cannot form a majority: \
                    [red]writes stop[/].\n[bold]Watch[/] the [cyan]throughput[/] panel."
            .into(),
        key_hint: "wait for the fault".into(),
        auto_advance: false,
        blocks_advance: true,
        notes: String::new(),
    };
    let mut app = App::new(
        FlowInfo {
            name: "etcd".into(),
            version: "0.1.0".into(),
            description: String::new(),
            chapters: vec![
                chapter("Intro"),
                chapter("Lose quorum"),
                chapter("Recovery"),
            ],
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
    let nodes = (1..=3)
        .map(|i| Node {
            service: format!("etcd{i}"),
            container: format!("demo-etcd_etcd{i}_1"),
            id: format!("{i:064}"),
            state: if i == 1 {
                NodeState::Exited
            } else {
                NodeState::Running
            },
            health: Health::None,
        })
        .collect();
    app.on_event(Event::Cluster(ClusterEvent::NodesChanged(nodes)));
    let history: Vec<f64> = (0..200)
        .map(|i| 1200.0 + ((i * 37) % 100) as f64 - if i > 150 { 1100.0 } else { 0.0 })
        .collect();
    app.on_event(Event::Workload(WorkloadEvent::Sample(WorkloadView {
        t_ms: 60_000,
        status: Status::Degraded,
        baseline: Some(1234.0),
        current: Some(Sample {
            format: Format::Ycsb,
            elapsed_s: Some(60.0),
            ops_per_sec: 12.0,
            failures_per_sec: 300.0,
            ops: vec![OpStat {
                name: "UPDATE".into(),
                count: 12,
                avg_us: Some(900.0),
                p99_us: Some(4100.0),
                failed: false,
            }],
        }),
        history,
        samples_seen: 200,
        rehearsal: false,
        verdicts: None,
    })));
    // A full event log.
    for i in 0..200 {
        let (from, to) = if i % 2 == 0 {
            (Status::Normal, Status::Degraded)
        } else {
            (Status::Degraded, Status::Normal)
        };
        app.on_event(Event::Workload(WorkloadEvent::StatusChanged { from, to }));
    }
    app.badge = Some(("QUORUM LOST".into(), Level::Danger));
    app
}

fn render(c: &mut Criterion) {
    let mut app = busy_app();
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("test backend");
    c.bench_function("render 200x50 dashboard", |b| {
        b.iter(|| {
            terminal
                .draw(|frame| host::ui::render(black_box(&app), frame))
                .expect("draw");
        })
    });
    app.countdown = Some((3, "Killing a second member in".into()));
    c.bench_function("render 200x50 countdown", |b| {
        b.iter(|| {
            terminal
                .draw(|frame| host::ui::render(black_box(&app), frame))
                .expect("draw");
        })
    });
}

/// A stale read in the load tool's history reaches the screen through its
/// next `[VERDICT]` line (loadgen prints one a second): the host's part is
/// reading the line, the app taking the counts, and the frame that shows
/// them in red.
fn verdict_to_frame(c: &mut Criterion) {
    use host::workload::parse::{Parsed, Parser};
    use host::workload::verdicts::Verdicts;
    let mut app = busy_app();
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("test backend");
    let mut parser = Parser::new();
    let mut verdicts = Verdicts::default();
    let mut t_ms = 60_000;
    c.bench_function("verdict line to frame 200x50", |b| {
        b.iter(|| {
            t_ms += 1000;
            let line = "[VERDICT] acknowledged=20178 failed=54 unknown=98 reads=20198 stale=1 stale-serializable=133 lost=0 final=no";
            let Some(Parsed::Verdict(verdict)) = parser.feed(black_box(line)) else {
                panic!("not a verdict");
            };
            let first = verdicts.update(verdict, t_ms);
            app.on_event(Event::Workload(WorkloadEvent::Verdict {
                verdicts: verdicts.clone(),
                first,
            }));
            terminal
                .draw(|frame| host::ui::render(&app, frame))
                .expect("draw");
        })
    });
}

criterion_group!(benches, render, verdict_to_frame);
criterion_main!(benches);
