//! How the presenter's in-process work grows with the cluster: 3, 30 and 300
//! containers of ten services (`svc00`…`svc09`), one of them exited by a kill
//! the flow made. Per size:
//! - the cluster panel alone, rendered into a 200×50 TestBackend;
//! - the whole 200×50 dashboard;
//! - pattern selection: `Target::Pattern("svc*")` over the node list (what a
//!   flow's `kill("svc*")` picks from, with the grant check it passes), and a
//!   target by id;
//! - a Docker event's in-process part: the app taking a `NodesChanged` (one
//!   node paused or unpaused) and the frame drawn after it, as the show loop
//!   does it (the watcher's list clone included).
//!
//! The real-Docker part (list-nodes, Docker event → frame) is
//! `scripts/bench-scale.sh`.
//!
//! Run: `cargo bench -p host --bench scale`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use host::app::App;
use host::capability::{Grants, Need};
use host::cluster::{
    ClusterEvent, ContainerAction, Health, KillSignal, Node, NodeState, Performed, Target,
};
use host::events::Event;
use host::model::{Capabilities, Chapter, FaultAction, FaultGrant, FlowInfo};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;
use std::time::Instant;

const SIZES: [usize; 3] = [3, 30, 300];
const SERVICES: usize = 10;

/// `n` containers spread over ten services, sorted as Docker's list is
/// (service, then name); the first is exited.
fn nodes(n: usize) -> Vec<Node> {
    let mut nodes: Vec<Node> = (0..n)
        .map(|i| {
            let service = format!("svc{:02}", i % SERVICES);
            Node {
                container: format!("scale-bench-{service}-{}", i / SERVICES + 1),
                service,
                id: format!("{i:064x}"),
                state: NodeState::Running,
                health: Health::None,
            }
        })
        .collect();
    nodes.sort_by(|a, b| (&a.service, &a.container).cmp(&(&b.service, &b.container)));
    nodes[0].state = NodeState::Exited;
    nodes
}

fn kill() -> host::cluster::Action {
    ContainerAction::Kill {
        signal: KillSignal::Kill,
    }
    .into()
}

/// The presenter on a chapter, the cluster's `n` nodes seen and the first
/// one killed by the flow (an outstanding fault).
fn app(n: usize) -> App {
    let mut app = App::new(
        FlowInfo {
            name: "scale".into(),
            version: "0.1.0".into(),
            description: String::new(),
            chapters: vec![Chapter {
                title: "Kill one of many".into(),
                narration: "One container of [bold]many[/] is killed.".into(),
                key_hint: String::new(),
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
    let nodes = nodes(n);
    let victim = nodes[0].clone();
    app.on_event(Event::Cluster(ClusterEvent::NodesChanged(nodes)));
    app.on_event(Event::Cluster(ClusterEvent::Performed(Performed {
        action: kill(),
        service: victim.service,
        container: victim.container,
        id: victim.id,
    })));
    app
}

fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(200, 50)).expect("test backend")
}

fn panel(c: &mut Criterion) {
    let mut group = c.benchmark_group("cluster panel 200x50");
    for n in SIZES {
        let app = app(n);
        let mut terminal = terminal();
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                terminal
                    .draw(|frame| {
                        let area = frame.area();
                        host::cluster_panel::render(black_box(&app), frame, area)
                    })
                    .expect("draw");
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("dashboard 200x50");
    for n in SIZES {
        let app = app(n);
        let mut terminal = terminal();
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                terminal
                    .draw(|frame| host::ui::render(black_box(&app), frame))
                    .expect("draw");
            })
        });
    }
    group.finish();
}

fn selection(c: &mut Criterion) {
    // The grant check a flow's kill passes, as the runtime makes it.
    let grants = Grants::from_declared(&Capabilities {
        faults: vec![FaultGrant {
            services: "svc*".into(),
            actions: vec![FaultAction::Kill],
            peers: vec![],
        }],
        reads_workload: false,
        http_probes: vec![],
        memory_mib: 0,
    });
    let granted = |n: &Node| grants.permits(Need::Fault(FaultAction::Kill), &n.service);
    let pattern = Target::Pattern("svc*".into());
    let mut group = c.benchmark_group("select svc*");
    for n in SIZES {
        let nodes = nodes(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                host::cluster::select::choose(black_box(&nodes), &pattern, &kill(), &granted)
                    .expect("a running svc node")
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("select by id (the last)");
    for n in SIZES {
        let nodes = nodes(n);
        let last = Target::Id(nodes[n - 1].id.clone());
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                host::cluster::select::choose(black_box(&nodes), &last, &kill(), &granted)
                    .expect("the last node")
            })
        });
    }
    group.finish();
}

/// One node paused, then unpaused, in turn: every event is a real change.
fn event_to_frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("NodesChanged + frame 200x50");
    for n in SIZES {
        let mut app = app(n);
        let mut terminal = terminal();
        let mut frame_log = host::term::FrameLog::default();
        let mut published = app.nodes.clone();
        let target = n - 1;
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                toggle(&mut published[target]);
                // The watcher sends a copy of its list with every change.
                let event = Event::Cluster(ClusterEvent::NodesChanged(published.clone()));
                app.on_event(black_box(event));
                terminal
                    .draw(|frame| host::ui::render(&app, frame))
                    .expect("draw");
                frame_log.drawn(&app);
            })
        });
    }
    group.finish();
}

/// The parts of the above: the app alone taking the event, and the frame
/// log (which node changed on the frame just drawn) alone.
fn event_parts(c: &mut Criterion) {
    let mut group = c.benchmark_group("NodesChanged, app only");
    for n in SIZES {
        let mut app = app(n);
        let mut published = app.nodes.clone();
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                toggle(&mut published[n - 1]);
                let event = Event::Cluster(ClusterEvent::NodesChanged(published.clone()));
                app.on_event(black_box(event));
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("frame log, one node changed");
    for n in SIZES {
        let mut app = app(n);
        let mut frame_log = host::term::FrameLog::default();
        frame_log.drawn(&app);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                toggle(&mut app.nodes[n - 1]);
                frame_log.drawn(black_box(&app));
            })
        });
    }
    group.finish();
}

fn toggle(node: &mut Node) {
    node.state = match node.state {
        NodeState::Paused => NodeState::Running,
        _ => NodeState::Paused,
    };
}

criterion_group!(benches, panel, selection, event_to_frame, event_parts);
criterion_main!(benches);
