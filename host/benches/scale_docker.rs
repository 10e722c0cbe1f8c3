//! The Docker side of the scale figures, on a project that
//! `scripts/bench-scale.sh` started (N idle containers labelled
//! `com.docker.compose.project=scale-bench`, ten services `svc00`…`svc09`):
//! - list-nodes: `Cluster::connect` + `refresh()` (a new client, version
//!   negotiated, the project's containers listed), and `refresh()` again on
//!   the same client;
//! - a Docker event → the frame that shows it: `pause` of one container (and
//!   its `unpause`) made through the Engine API; Docker's own event time
//!   (`timeNano`, the daemon's clock on this machine), the time the watcher's
//!   report callback received the `NodesChanged` that shows it, and the time
//!   the app had taken that event and the 200×50 frame after it was drawn
//!   (TestBackend), as the show loop does it. Each frame is checked for the
//!   paused container on screen.
//!
//! Prints `BENCH …` lines. Not a criterion bench: each figure is a median of
//! a fixed number of rounds, every wait bounded. Run by
//! `scripts/bench-scale.sh` (`SCALE_BENCH_NODES=N cargo bench -p host
//! --bench scale_docker`), which makes and removes the containers.

use bollard::Docker;
use bollard::query_parameters::EventsOptions;
use futures::StreamExt;
use host::app::App;
use host::cluster::ledger::Ledger;
use host::cluster::{Cluster, ClusterEvent, Node, NodeState};
use host::events::Event;
use host::model::{Capabilities, Chapter, FlowInfo};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const LIST_ROUNDS: usize = 20;
const EVENT_ROUNDS: usize = 10;
/// Longer than the watcher's confirming list after an event (300 ms), so
/// one round's list never overlaps the next round's event.
const SETTLE: Duration = Duration::from_millis(700);
const WAIT: Duration = Duration::from_secs(20);

fn unix_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or_default()
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// "median 1.23 ms (min 1.01–max 2.34) of 20".
fn summary_ms(mut values: Vec<f64>) -> String {
    if values.is_empty() {
        return "no rounds".into();
    }
    values.sort_by(f64::total_cmp);
    format!(
        "median {:.2} ms (min {:.2}–max {:.2}) of {}",
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
        values.len()
    )
}

fn flow() -> FlowInfo {
    FlowInfo {
        name: "scale".into(),
        version: "0.1.0".into(),
        description: String::new(),
        chapters: vec![Chapter {
            title: "Pause one of many".into(),
            narration: "One container of many is paused.".into(),
            key_hint: String::new(),
            auto_advance: false,
            blocks_advance: false,
            notes: String::new(),
        }],
        capabilities: Capabilities {
            faults: vec![],
            reads_workload: false,
            http_probes: vec![],
            memory_mib: 0,
        },
        default_workload: None,
        hypotheses: Vec::new(),
    }
}

/// Whether the frame shows `container` in `state` on one row.
fn shows(terminal: &Terminal<TestBackend>, container: &str, state: NodeState) -> bool {
    let buffer = terminal.backend().buffer();
    let word = host::cluster::state_name(state);
    (0..buffer.area.height).any(|y| {
        let row: String = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol())
            .collect();
        row.contains(container) && row.contains(word)
    })
}

/// The Engine API's own answer to the list the cluster asks for, over the
/// Unix socket with no client library: what Docker takes, parsing aside.
/// `None` when DOCKER_HOST is not a Unix socket.
fn raw_list_ms(project: &str) -> anyhow::Result<Option<(f64, usize)>> {
    use std::io::{Read, Write};
    let socket = match std::env::var("DOCKER_HOST") {
        Ok(host) if !host.is_empty() => match host.strip_prefix("unix://") {
            Some(path) => path.to_string(),
            None => return Ok(None),
        },
        _ => "/var/run/docker.sock".to_string(),
    };
    let filters = format!(r#"{{"label":["com.docker.compose.project={project}"]}}"#);
    let query = percent_encoding::utf8_percent_encode(&filters, percent_encoding::NON_ALPHANUMERIC);
    let started = Instant::now();
    let mut stream = std::os::unix::net::UnixStream::connect(&socket)?;
    write!(
        stream,
        "GET /containers/json?all=1&filters={query} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(
        answer.starts_with(b"HTTP/1.1 200"),
        "the Engine API answered {:?}",
        String::from_utf8_lossy(&answer[..answer.len().min(80)])
    );
    Ok(Some((ms, answer.len())))
}

async fn list_nodes(
    project: &str,
    state_dir: &std::path::Path,
    expect: usize,
) -> anyhow::Result<()> {
    // Interleaved, so the three see the same moments of a shared machine.
    let (mut raw, mut bytes) = (Vec::new(), 0);
    let (mut connect_and_list, mut list_again) = (Vec::new(), Vec::new());
    for _ in 0..LIST_ROUNDS {
        if let Some((ms, size)) = raw_list_ms(project)? {
            raw.push(ms);
            bytes = size;
        }
        let ledger = Ledger::open(state_dir, project)?;
        let started = Instant::now();
        let cluster = Cluster::connect(project.to_string(), ledger, |_| {}).await;
        let nodes = cluster.refresh().await?;
        connect_and_list.push(started.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(
            nodes.len() == expect,
            "project {project} has {} containers, not {expect}",
            nodes.len()
        );
        let started = Instant::now();
        cluster.refresh().await?;
        list_again.push(started.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "BENCH {expect} list-nodes (connect + refresh): {}",
        summary_ms(connect_and_list)
    );
    println!(
        "BENCH {expect} list-nodes (refresh, client made): {}",
        summary_ms(list_again)
    );
    println!(
        "BENCH {expect} the Engine API's list alone (raw HTTP on the socket, {bytes} bytes): {}",
        summary_ms(raw)
    );
    Ok(())
}

/// Docker's own time of each (container id, action) it reports for the project.
fn docker_event_times(
    docker: &Docker,
    project: &str,
    shutdown: CancellationToken,
) -> mpsc::UnboundedReceiver<(String, String, i64)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let filters = HashMap::from([
        (
            "label".to_string(),
            vec![format!("com.docker.compose.project={project}")],
        ),
        ("type".to_string(), vec!["container".to_string()]),
        (
            "event".to_string(),
            vec!["pause".to_string(), "unpause".to_string()],
        ),
    ]);
    let mut stream = docker.events(Some(EventsOptions {
        filters: Some(filters),
        ..Default::default()
    }));
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => return,
                next = stream.next() => next,
            };
            let Some(Ok(message)) = next else { return };
            let id = message.actor.and_then(|a| a.id).unwrap_or_default();
            let action = message.action.unwrap_or_default();
            let _ = tx.send((id, action, message.time_nano.unwrap_or_default()));
        }
    });
    rx
}

struct Show {
    app: App,
    terminal: Terminal<TestBackend>,
    frame_log: host::term::FrameLog,
    events: mpsc::UnboundedReceiver<(i64, ClusterEvent)>,
}

impl Show {
    /// Takes the watcher's events and draws a frame after each, as the show
    /// loop does, until `victim` is in `want`: returns when the callback got
    /// that event and when its frame was drawn (unix ns).
    async fn until(&mut self, victim: &Node, want: NodeState) -> anyhow::Result<(i64, i64)> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let Ok(Some((received, event))) =
                tokio::time::timeout_at(deadline, self.events.recv()).await
            else {
                anyhow::bail!("{} never became {want:?}", victim.container);
            };
            self.app.on_event(Event::Cluster(event));
            self.terminal
                .draw(|frame| host::ui::render(&self.app, frame))?;
            self.frame_log.drawn(&self.app);
            let drawn = unix_ns();
            let now = self.app.nodes.iter().find(|n| n.id == victim.id);
            if now.is_some_and(|n| n.state == want) {
                return Ok((received, drawn));
            }
        }
    }

    /// Applies (and draws) whatever the watcher reports within `for_`.
    async fn drain(&mut self, for_: Duration) -> anyhow::Result<()> {
        let until = tokio::time::Instant::now() + for_;
        while let Ok(Some((_, event))) = tokio::time::timeout_at(until, self.events.recv()).await {
            self.app.on_event(Event::Cluster(event));
            self.terminal
                .draw(|frame| host::ui::render(&self.app, frame))?;
            self.frame_log.drawn(&self.app);
        }
        Ok(())
    }
}

async fn event_to_frame(
    project: &str,
    state_dir: &std::path::Path,
    expect: usize,
) -> anyhow::Result<()> {
    let docker = Docker::connect_with_defaults()?.negotiate_version().await?;
    let shutdown = CancellationToken::new();
    let mut docker_times = docker_event_times(&docker, project, shutdown.clone());
    let (tx, events) = mpsc::unbounded_channel();
    let cluster = Cluster::connect(
        project.to_string(),
        Ledger::open(state_dir, project)?,
        move |event| {
            let _ = tx.send((unix_ns(), event));
        },
    )
    .await;
    cluster.spawn_watcher(shutdown.clone());
    let mut app = App::new(flow(), Instant::now());
    app.start();
    let mut show = Show {
        app,
        terminal: Terminal::new(TestBackend::new(200, 50))?,
        frame_log: host::term::FrameLog::default(),
        events,
    };
    // The watcher's first list.
    let deadline = tokio::time::Instant::now() + WAIT;
    while show.app.nodes.len() != expect {
        let Ok(Some((_, event))) = tokio::time::timeout_at(deadline, show.events.recv()).await
        else {
            anyhow::bail!("the watcher never listed {expect} containers");
        };
        show.app.on_event(Event::Cluster(event));
    }
    show.drain(SETTLE).await?;
    let nodes = show.app.nodes.clone();
    let mut figures: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut shown = 0;
    let ms = |from: i64, to: i64| (to - from) as f64 / 1e6;
    for round in 0..EVENT_ROUNDS {
        // Spread over the list: first, last and between.
        let victim = &nodes[(round * (expect - 1)) / (EVENT_ROUNDS - 1)];
        for (action, want) in [
            ("pause", NodeState::Paused),
            ("unpause", NodeState::Running),
        ] {
            let asked = unix_ns();
            if action == "pause" {
                docker.pause_container(&victim.id).await?;
            } else {
                docker.unpause_container(&victim.id).await?;
            }
            let (received, drawn) = show.until(victim, want).await?;
            if want == NodeState::Paused && shows(&show.terminal, &victim.container, want) {
                shown += 1;
            }
            let docker_at = loop {
                match tokio::time::timeout(WAIT, docker_times.recv()).await {
                    Ok(Some((id, a, at))) if id == victim.id && a == action => break at,
                    Ok(Some(_)) => continue,
                    _ => anyhow::bail!("Docker reported no {action} of {}", victim.container),
                }
            };
            let push = |figures: &mut HashMap<&str, Vec<f64>>, key, v| {
                figures.entry(key).or_default().push(v)
            };
            let (watcher, frame, total, request) = match action {
                "pause" => (
                    "pause: Docker event → watcher callback",
                    "pause: callback → frame drawn",
                    "pause: Docker event → frame drawn",
                    "pause: request → frame drawn",
                ),
                _ => (
                    "unpause: Docker event → watcher callback",
                    "unpause: callback → frame drawn",
                    "unpause: Docker event → frame drawn",
                    "unpause: request → frame drawn",
                ),
            };
            push(&mut figures, watcher, ms(docker_at, received));
            push(&mut figures, frame, ms(received, drawn));
            push(&mut figures, total, ms(docker_at, drawn));
            push(&mut figures, request, ms(asked, drawn));
            show.drain(SETTLE).await?;
        }
    }
    shutdown.cancel();
    let mut keys: Vec<_> = figures.keys().copied().collect();
    keys.sort();
    for key in keys {
        println!("BENCH {expect} {key}: {}", summary_ms(figures[key].clone()));
    }
    println!("BENCH {expect} paused container on the frame: {shown} of {EVENT_ROUNDS}");
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let project: String = env_or("SCALE_BENCH_PROJECT", "scale-bench".to_string());
    let Some(expect) = std::env::var("SCALE_BENCH_NODES")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n >= 2)
    else {
        eprintln!(
            "scale_docker: set SCALE_BENCH_NODES (≥ 2) to the number of containers \
             scripts/bench-scale.sh started; skipping"
        );
        return Ok(());
    };
    let state_dir =
        std::env::temp_dir().join(format!("chaos-demo-bench-scale-{}", std::process::id()));
    std::fs::create_dir_all(&state_dir)?;
    let result = async {
        list_nodes(&project, &state_dir, expect).await?;
        event_to_frame(&project, &state_dir, expect).await
    }
    .await;
    let _ = std::fs::remove_dir_all(&state_dir);
    result
}
