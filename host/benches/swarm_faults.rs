//! What a fault costs on a Swarm stack, made directly through the
//! presenter's engine and through a helper service on the task's machine
//! (the way for a task on another machine; `HelperPlacement::Always`
//! takes it on one machine). A bench script, not criterion: each figure is
//! a whole call on a real one-machine swarm, 5 times, median.
//!
//!   cargo bench -p host --bench swarm_faults
//!
//! Joins and leaves swarm mode and removes everything it made (the guard of
//! tests/support/swarm.rs); prints `BENCH` lines.

use host::cluster::ledger::Ledger;
use host::cluster::{
    Cluster, ContainerAction, EngineOptions, HelperPlacement, NetworkAction, Node, NodeState,
    Scope, Target, backend_for,
};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const ROUNDS: usize = 5;

fn anything(_: &Node) -> bool {
    true
}

fn median_ms(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

async fn timed<F: std::future::Future>(times: &mut Vec<Duration>, f: F) -> F::Output {
    let started = Instant::now();
    let out = f.await;
    times.push(started.elapsed());
    out
}

async fn measure(cluster: &Cluster, way: &str) {
    let etcd3 = Target::Service("etcd3".into());
    let (mut pause, mut unpause, mut isolate, mut heal, mut kill, mut back) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..ROUNDS {
        timed(
            &mut pause,
            cluster.act(&etcd3, ContainerAction::Pause, &anything),
        )
        .await
        .unwrap();
        timed(
            &mut unpause,
            cluster.act(&etcd3, ContainerAction::Unpause, &anything),
        )
        .await
        .unwrap();
        let from = NetworkAction::Isolate {
            from: vec!["etcd1".into()],
        };
        timed(&mut isolate, cluster.act(&etcd3, from, &anything))
            .await
            .unwrap();
        timed(
            &mut heal,
            cluster.act(&etcd3, NetworkAction::Heal, &anything),
        )
        .await
        .unwrap();
        let signal = "SIGKILL".parse().unwrap();
        let killed = timed(
            &mut kill,
            cluster.act(&etcd3, ContainerAction::Kill { signal }, &anything),
        )
        .await
        .unwrap();
        cluster
            .wait_for(
                &killed.id,
                NodeState::Exited,
                Duration::from_secs(30),
                &CancellationToken::new(),
            )
            .await
            .unwrap();
        // Back: the flow's start, then its wait for the slot to run again.
        let started = Instant::now();
        cluster
            .act(
                &Target::Id(killed.id.clone()),
                ContainerAction::Start,
                &anything,
            )
            .await
            .unwrap();
        cluster
            .wait_for(
                &killed.id,
                NodeState::Running,
                Duration::from_secs(60),
                &CancellationToken::new(),
            )
            .await
            .unwrap();
        back.push(started.elapsed());
    }
    for (name, times) in [
        ("pause", pause),
        ("unpause", unpause),
        ("isolate from one peer", isolate),
        ("heal", heal),
        ("kill SIGKILL", kill),
        ("start → replacement running", back),
    ] {
        println!(
            "BENCH swarm {way}: {name}: median {:.0} ms of {ROUNDS}",
            median_ms(times)
        );
    }
}

fn main() {
    let name = format!("swbench{}", std::process::id());
    let stack = e2e::swarm::SwarmStack::deploy(&name).expect("deploying the etcd stack");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let state = std::env::temp_dir().join(&name);
        let scope = Scope::Swarm {
            stack: name.clone(),
        };
        let ledger = Ledger::open(&state, &scope.key()).unwrap();
        let direct = EngineOptions::default();
        let cluster = Cluster::connect_to(backend_for(&scope, &direct), ledger, |_| {}).await;
        measure(&cluster, "direct").await;
        drop(cluster);
        // The same faults through helper services, as on another machine.
        let through_helpers = EngineOptions {
            swarm_helpers: HelperPlacement::Always,
            ..EngineOptions::default()
        };
        let ledger = Ledger::open(&state, &scope.key()).unwrap();
        let cluster =
            Cluster::connect_to(backend_for(&scope, &through_helpers), ledger, |_| {}).await;
        measure(&cluster, "through a helper service").await;
        let _ = std::fs::remove_dir_all(&state);
    });
    drop(stack);
}
