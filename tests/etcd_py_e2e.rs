//! The etcd flow written in Python (chapters-wasm/etcd-py, guest-sdk-py,
//! componentize-py), for real: the same three-member etcd cluster in Docker,
//! the same load generator, the same host binary as the Rust flow's e2e
//! (tests/etcd_e2e.rs), and the same assertions: a baseline measured from the
//! load generator's output, three kills that Docker reports, the leader and a
//! follower named by etcd, quorum lost as a measured degradation, recovery,
//! and nothing left broken. Also: the port's and the SDK's Python unit tests,
//! and the component's cold and cached load (figures printed, `--nocapture`).
//!
//! Docker names and ports: projects `py-etcd-*`, host ports 24861-24866.

use e2e::etcd_story::{
    assert_leader_story, assert_quorum_loss_measured, assert_three_kills_seen_by_docker, events,
    finished_show, measured_baseline, narrations,
};
use e2e::python::{python_flow_wasm, python_unittests};
use e2e::{
    ComposeProject, EtcdPorts, etcd_cluster_up, etcd_endpoints, host_bin, loadgen_bin,
    read_transcript, run, run_host, temp_dir, workspace_root,
};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

const FULL_RUN_PORTS: EtcdPorts = ["24861", "24862", "24863"];
const QUIT_PORTS: EtcdPorts = ["24864", "24865", "24866"];

fn flow() -> String {
    python_flow_wasm("etcd-py").to_string_lossy().into_owned()
}

fn host_args<'a>(
    flow: &'a str,
    project: &'a str,
    state: &'a str,
    transcript: &'a str,
    workload: &'a str,
) -> Vec<&'a str> {
    vec![
        "--flow",
        flow,
        "--headless",
        "--project",
        project,
        "--state-dir",
        state,
        "--transcript",
        transcript,
        "--workload",
        workload,
    ]
}

fn assert_all_running(cluster: &ComposeProject) {
    let states = cluster.states().unwrap();
    assert_eq!(states.len(), 3, "{states:?}");
    for (service, state) in &states {
        assert_eq!(
            state, "running",
            "{service} left {state} after the host exited: {states:?}"
        );
    }
}

/// The project's fault ledger (`ledger-PROJECT.json` in the state
/// directory, removed by the host once nothing is outstanding) is gone or
/// lists no entry.
fn assert_ledger_empty(state: &std::path::Path, project: &str) {
    let path = state.join(format!("ledger-{project}.json"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let ledger: Value = serde_json::from_str(&text).unwrap();
    assert!(
        ledger["entries"].as_array().is_none_or(|e| e.is_empty()),
        "the ledger still lists faults: {text}"
    );
}

#[test]
fn the_python_etcd_flow_kills_a_follower_then_the_leader_then_quorum_and_restores_everything() {
    let flow = flow();
    let project = format!("py-etcd-full-{}", std::process::id());
    let cluster = etcd_cluster_up(&project, FULL_RUN_PORTS);
    let dir = temp_dir("py-etcd-e2e");
    let state_dir = dir.join("state");
    let state = state_dir.to_string_lossy().into_owned();
    let transcript_path = dir.join("run.jsonl");
    let transcript_str = transcript_path.to_string_lossy().into_owned();
    let workload = format!(
        "cmd:{} etcd --duration 300s --endpoints {}",
        loadgen_bin().display(),
        etcd_endpoints(FULL_RUN_PORTS)
    );

    let output = run_host(
        &host_args(&flow, &project, &state, &transcript_str, &workload),
        Duration::from_secs(420),
    )
    .unwrap();
    let t = finished_show(&output, &transcript_path, &["workload", "node"]);
    assert_eq!(events(&t, "chapter").len(), 10, "every chapter ran");

    // A baseline was measured from the load generator's real output, and the
    // flow narrated the host's figure.
    let baseline = measured_baseline(&t);
    let said = narrations(&t);
    assert!(
        said.iter()
            .any(|l| l.starts_with(&format!("Baseline: {baseline:.0} ops/s"))),
        "the flow did not narrate the measured baseline {baseline}: {said:?}"
    );

    // Three kills: a follower (started again in its chapter), the leader,
    // and a second member, which loses quorum.
    let kills = assert_three_kills_seen_by_docker(&t);
    assert_leader_story(&said, &kills);
    assert_quorum_loss_measured(&t, &kills, baseline);
    assert!(
        said.iter()
            .any(|l| l.starts_with("Quorum lost: throughput ")),
        "{said:?}"
    );
    assert!(
        said.iter().any(|l| l.starts_with("Writes are back: ")),
        "{said:?}"
    );

    // Nothing left broken: every fault undone (network ones included), the
    // ledger empty, every member running.
    let done = events(&t, "done");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["reason"], "completed");
    assert_eq!(done[0]["outstanding_faults"], 0);
    assert_all_running(&cluster);
    assert_ledger_empty(&state_dir, &project);
    for line in said.iter().rev().take(6) {
        eprintln!("FIGURE etcd-py summary: {line}");
    }

    drop(cluster);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn quitting_the_python_flow_right_after_a_kill_restores_the_killed_member() {
    let flow = flow();
    let project = format!("py-etcd-quit-{}", std::process::id());
    let cluster = etcd_cluster_up(&project, QUIT_PORTS);
    let dir = temp_dir("py-etcd-quit");
    let state_dir = dir.join("state");
    let state = state_dir.to_string_lossy().into_owned();
    let transcript_path = dir.join("run.jsonl");
    let transcript_str = transcript_path.to_string_lossy().into_owned();
    let workload = format!(
        "cmd:{} etcd --duration 120s --endpoints {}",
        loadgen_bin().display(),
        etcd_endpoints(QUIT_PORTS)
    );
    let mut args = host_args(&flow, &project, &state, &transcript_str, &workload);
    // Intro → health → baseline → lose a follower (restarted by the flow) →
    // lose the leader, then quit once it ran: the leader is left dead.
    args.extend(["--keys", "space space space space q"]);

    let output = run_host(&args, Duration::from_secs(240)).unwrap();
    let t = read_transcript(&transcript_path).unwrap();
    assert!(
        output.status.success(),
        "host failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let kill = events(&t, "fault")
        .into_iter()
        .filter(|f| f["action"] == "kill SIGKILL")
        .nth(1)
        .expect("the leader was killed");
    let restore = events(&t, "restore");
    assert_eq!(restore.len(), 1, "{restore:?}");
    assert_eq!(restore[0]["id"], kill["id"]);
    assert_eq!(restore[0]["ok"], true);
    assert_eq!(restore[0]["detail"], "started");
    let done = events(&t, "done");
    assert_eq!(done[0]["reason"], "quit");
    assert_eq!(done[0]["outstanding_faults"], 0);
    assert_all_running(&cluster);
    assert_ledger_empty(&state_dir, &project);
    drop(cluster);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_sdk_and_the_port_pass_their_python_unit_tests() {
    let root = workspace_root();
    for dir in ["guest-sdk-py/tests", "chapters-wasm/etcd-py/tests"] {
        let report = python_unittests(&root.join(dir)).unwrap_or_else(|e| panic!("{e:#}"));
        eprintln!("{dir}:\n{report}");
        assert!(report.contains("OK"), "{report}");
    }
}

/// Whole-process `host inspect`, as a presenter's first and second start
/// see it: an empty compile cache, then the cached compile.
#[test]
fn the_python_component_loads_cold_then_from_the_cache() {
    let wasm = python_flow_wasm("etcd-py");
    let size = std::fs::metadata(&wasm).unwrap().len();
    let dir = temp_dir("py-etcd-load");
    let cache = dir.join("cache");
    let inspect = || {
        let started = Instant::now();
        let output = run(Command::new(host_bin())
            .arg("inspect")
            .arg(&wasm)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .env("CHAOS_DEMO_CACHE_DIR", &cache))
        .unwrap();
        let took = started.elapsed();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        (took, stdout)
    };
    let (cold, shown) = inspect();
    let (cached, again) = inspect();
    eprintln!(
        "FIGURE etcd-py.wasm: {:.1} MB, host inspect cold {} ms, cached {} ms",
        size as f64 / 1e6,
        cold.as_millis(),
        cached.as_millis()
    );
    assert_eq!(shown, again);
    assert!(shown.contains("flow:        etcd-py 0.1.0"), "{shown}");
    assert!(shown.contains("api:         demo:flow@0.2.0"), "{shown}");
    assert!(shown.contains("memory:      32 MiB (declared)"), "{shown}");
    assert!(
        shown.contains("4. Lose a follower  [blocks-advance, notes]"),
        "{shown}"
    );
    assert!(shown.contains("fault kill on services 'etcd*'"), "{shown}");
    assert!(
        std::fs::read_dir(&cache).is_ok_and(|mut d| d.next().is_some()),
        "nothing was cached"
    );
    // Generous (a loaded CI machine); the figure above is what counts.
    assert!(
        cached < Duration::from_secs(3),
        "a cached load took {cached:?}"
    );
    std::fs::remove_dir_all(dir).ok();
}
