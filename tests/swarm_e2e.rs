//! The etcd flow, unchanged, on a Docker Swarm: the engine goes into swarm
//! mode (loopback only), the etcd stack (clusters/etcd/stack.yaml) is
//! deployed with its load generator as a service, and `host --backend swarm
//! --stack NAME --flow etcd.wasm --headless` tells the same story as on
//! Compose. Asserted from the transcript (Docker's, etcd's and the
//! workload's reports) and from Swarm afterwards; then the engine leaves
//! swarm mode and nothing of the test is left on it.
//!
//! Isolated from the Compose tests: its own stack, its own networks, no
//! host ports.

use e2e::etcd_story::{
    Back, assert_leader_story, assert_quorum_loss_measured, assert_three_kills_seen, events,
    narrations,
};
use e2e::swarm::SwarmStack;
use e2e::{flow_wasm, read_transcript, run_host, temp_dir};
use std::time::Duration;

#[test]
fn the_etcd_flow_runs_unchanged_on_a_swarm_stack_and_every_service_comes_back() {
    let name = format!("swe2e{}", std::process::id());
    let mut stack = SwarmStack::deploy(&name).unwrap();
    let dir = temp_dir("swarm-e2e");
    let state = dir.join("state").to_string_lossy().into_owned();
    let transcript_path = dir.join("run.jsonl");
    let flow = flow_wasm("etcd").to_string_lossy().into_owned();
    let output = run_host(
        &[
            "--backend",
            "swarm",
            "--stack",
            &name,
            "--flow",
            &flow,
            "--headless",
            "--state-dir",
            &state,
            "--transcript",
            &transcript_path.to_string_lossy(),
            "--workload",
            "service:loadgen",
        ],
        Duration::from_secs(400),
    )
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let t = read_transcript(&transcript_path).unwrap();
    eprintln!(
        "transcript:\n{}",
        t.iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(output.status.success(), "host failed: {stderr}");
    assert!(
        events(&t, "error")
            .iter()
            .all(|e| e["source"] == "workload" || e.get("chapter").is_none()),
        "a chapter failed"
    );

    // The nodes are the stack's tasks, under the flow's service names.
    let nodes = events(&t, "node");
    assert!(!nodes.is_empty());
    for node in &nodes {
        let service = node["service"].as_str().unwrap();
        assert!(
            ["etcd1", "etcd2", "etcd3", "loadgen"].contains(&service),
            "{node}"
        );
        assert!(
            node["container"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{name}_{service}.1.")),
            "{node}"
        );
    }

    // A baseline from the load generator's output, read from its service.
    let baseline = events(&t, "workload")
        .iter()
        .find_map(|e| e["baseline"].as_f64())
        .expect("a baseline was measured");
    assert!(baseline > 0.0);

    // Three kills, each seen by Docker; a killed task is back when Swarm
    // runs a new one for its service.
    let kills = assert_three_kills_seen(&t, Back::SameService);
    assert_leader_story(&narrations(&t), &kills);
    assert_quorum_loss_measured(&t, &kills, baseline);

    let done = events(&t, "done");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["reason"], "completed");
    assert_eq!(done[0]["outstanding_faults"], 0);

    // Every member's service is at its replicas, running, as Swarm says.
    let replicas = stack.wait_for_replicas(Duration::from_secs(30)).unwrap();
    for member in ["etcd1", "etcd2", "etcd3"] {
        let service = format!("{name}_{member}");
        assert!(
            replicas.contains(&(service.clone(), "1/1".to_string())),
            "{service} is not back at 1/1: {replicas:?}"
        );
    }

    let left = stack.tear_down();
    assert!(left.is_empty(), "the test left {left:?} on the engine");
    std::fs::remove_dir_all(dir).ok();
}
