//! Kill latency on the etcd test cluster, three ways, interleaved:
//! - ours: `Cluster::act` (list, ledger write, then the kill request), the
//!   path a flow's `cluster.kill` takes;
//! - `docker kill`: one CLI process per action, as the seed ran it through
//!   python-on-whales;
//! - raw Engine API: `curl --unix-socket … POST /containers/ID/kill`.
//!
//! Latency is from the moment the request starts (wall clock) to Docker's own
//! `die` event time for the container (`timeNano`, the daemon's clock on the
//! same machine), so every method is judged by the same witness.
//!
//! Run: `scripts/bench.sh` (or `cargo bench -p host --bench kill`). It brings
//! up its own compose project `chaosbench` on ports 24971-24973 and tears it
//! down afterwards, also on failure.

use bollard::Docker;
use bollard::query_parameters::{EventsOptions, StartContainerOptions};
use e2e::{ComposeProject, ensure_etcd_image, workspace_root};
use futures::StreamExt;
use host::cluster::ledger::Ledger;
use host::cluster::{Cluster, ContainerAction, KillSignal, Target};
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

const PROJECT: &str = "chaosbench";
const ROUNDS: usize = 15;
const VICTIM_SERVICE: &str = "etcd3";

fn unix_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Method {
    Ours,
    DockerCli,
    RawApi,
}

impl Method {
    fn label(self) -> &'static str {
        match self {
            Method::Ours => "ours (Cluster::act via bollard)",
            Method::DockerCli => "docker kill (CLI process)",
            Method::RawApi => "raw Engine API (curl --unix-socket)",
        }
    }
}

fn run_quiet(cmd: &mut Command) {
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("spawning the kill command");
    assert!(status.success(), "{cmd:?} failed");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ensure_etcd_image()?;
    let compose = workspace_root().join("clusters/etcd/docker-compose.yaml");
    let _project = ComposeProject::up(
        PROJECT,
        &compose,
        &[
            ("ETCD_IMAGE", "demo-etcd:3.4.23"),
            ("ETCD1_PORT", "24971"),
            ("ETCD2_PORT", "24972"),
            ("ETCD3_PORT", "24973"),
        ],
    )?;
    let docker = Docker::connect_with_defaults()?.negotiate_version().await?;
    let state_dir =
        std::env::temp_dir().join(format!("chaos-demo-bench-kill-{}", std::process::id()));
    std::fs::create_dir_all(&state_dir)?;
    let cluster =
        Cluster::connect(PROJECT.into(), Ledger::open(&state_dir, PROJECT)?, |_| {}).await;

    // Docker's die events, by container id.
    let (die_tx, mut die_rx) = mpsc::unbounded_channel::<(String, i64)>();
    let mut filters = HashMap::new();
    filters.insert("type".to_string(), vec!["container".to_string()]);
    filters.insert("event".to_string(), vec!["die".to_string()]);
    filters.insert(
        "label".to_string(),
        vec![format!("com.docker.compose.project={PROJECT}")],
    );
    let mut stream = docker.events(Some(EventsOptions {
        filters: Some(filters),
        ..Default::default()
    }));
    tokio::spawn(async move {
        while let Some(Ok(event)) = stream.next().await {
            if let (Some(actor), Some(nanos)) = (event.actor, event.time_nano) {
                let _ = die_tx.send((actor.id.unwrap_or_default(), nanos));
            }
        }
    });

    let victim = cluster
        .refresh()
        .await?
        .into_iter()
        .find(|n| n.service == VICTIM_SERVICE)
        .expect("the etcd3 container");
    let id = victim.id.clone();
    let everything = |_: &host::cluster::Node| true;
    let mut results: HashMap<Method, Vec<f64>> = HashMap::new();
    let methods = [Method::Ours, Method::DockerCli, Method::RawApi];
    for round in 0..ROUNDS {
        for method in methods {
            // Running and settled before each kill.
            docker
                .start_container(&id, None::<StartContainerOptions>)
                .await
                .ok();
            tokio::time::sleep(Duration::from_millis(700)).await;
            while die_rx.try_recv().is_ok() {}

            let started = unix_nanos();
            match method {
                Method::Ours => {
                    cluster
                        .act(
                            &Target::Service(VICTIM_SERVICE.into()),
                            ContainerAction::Kill {
                                signal: KillSignal::Kill,
                            },
                            &everything,
                        )
                        .await?;
                }
                Method::DockerCli => run_quiet(Command::new("docker").args(["kill", &id])),
                Method::RawApi => run_quiet(Command::new("curl").args([
                    "-sf",
                    "--unix-socket",
                    "/var/run/docker.sock",
                    "-X",
                    "POST",
                    &format!("http://localhost/v1.41/containers/{id}/kill?signal=SIGKILL"),
                ])),
            }
            let died_at = loop {
                let (who, nanos) = tokio::time::timeout(Duration::from_secs(10), die_rx.recv())
                    .await?
                    .expect("the event stream");
                if who == id && nanos >= started {
                    break nanos;
                }
            };
            let ms = (died_at - started) as f64 / 1e6;
            results.entry(method).or_default().push(ms);
            eprintln!("round {round:2} {:<40} {ms:7.2} ms", method.label());
        }
    }
    docker
        .start_container(&id, None::<StartContainerOptions>)
        .await
        .ok();
    cluster.restore_all().await;
    let _ = std::fs::remove_dir_all(&state_dir);

    let median = |m: Method| {
        let mut v = results[&m].clone();
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    println!(
        "kill latency, request start → Docker's die event, {ROUNDS} rounds each (median [min–max]):"
    );
    for m in methods {
        let (med, min, max) = median(m);
        println!("  {:<40} {med:7.2} ms  [{min:.2}–{max:.2}]", m.label());
    }
    let (ours, _, _) = median(Method::Ours);
    let (cli, _, _) = median(Method::DockerCli);
    let (raw, _, _) = median(Method::RawApi);
    println!("  ours / raw API  = {:.2}×  (goal ≤ 1.2×)", ours / raw);
    println!("  docker CLI / ours = {:.2}×  (goal ≥ 3×)", cli / ours);
    Ok(())
}
