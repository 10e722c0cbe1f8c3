//! The whole path, for real: a three-member etcd cluster in Docker, the load
//! generator writing to it, and `host --flow etcd.wasm --headless` killing a
//! follower, then the leader (both named by etcd through the flow's probes),
//! then a second member, and restarting them. Everything asserted comes from
//! the transcript (Docker's, etcd's and the workload's own reports) and from
//! Docker afterwards. This is also the proof that flows swap without
//! rebuilding the host: the same binary runs tikv.wasm, etcd.wasm and a
//! freshly generated flow (tests/new_flow.rs).

use e2e::etcd_story::{
    assert_leader_story, assert_quorum_loss_measured, assert_three_kills_seen_by_docker, events,
    finished_show, measured_baseline, narrations,
};
use e2e::{
    ComposeProject, EtcdPorts, etcd_cluster_up, etcd_endpoints, flow_wasm, loadgen_bin,
    read_transcript, run_host, temp_dir,
};
use std::time::Duration;

/// Ports apart from the demo's defaults (and per test, as tests may run in
/// parallel), so nothing clashes.
type Ports = EtcdPorts;
const FULL_RUN_PORTS: Ports = ["24791", "24792", "24793"];
const QUIT_PORTS: Ports = ["24794", "24795", "24796"];

fn up(project: &str, ports: Ports) -> ComposeProject {
    etcd_cluster_up(project, ports)
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

fn flow_wasm_str() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| flow_wasm("etcd").to_string_lossy().into_owned())
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

#[test]
fn etcd_flow_kills_a_follower_then_the_leader_then_quorum_and_restores_everything() {
    full_run(flow_wasm_str(), "fl-etcd");
}

/// The etcd flow as built before the host held API versions side by side
/// (tests/fixtures/flows): every later host must run it the same way.
#[test]
fn a_flow_built_for_api_0_1_0_before_the_versioned_runtime_still_runs_the_whole_demo() {
    let fixture = e2e::workspace_root().join("tests/fixtures/flows/etcd-api-0.1.0.wasm");
    full_run(&fixture.to_string_lossy(), "fl-etcd-v010");
}

fn full_run(flow: &str, name: &str) {
    let project = format!("{name}-{}", std::process::id());
    let cluster = up(&project, FULL_RUN_PORTS);
    let dir = temp_dir("etcd-e2e");
    let state = dir.join("state").to_string_lossy().into_owned();
    let transcript_path = dir.join("run.jsonl");
    let transcript_str = transcript_path.to_string_lossy().into_owned();
    let workload = format!(
        "cmd:{} etcd --duration 300s --endpoints {}",
        loadgen_bin().display(),
        etcd_endpoints(FULL_RUN_PORTS)
    );

    let output = run_host(
        &host_args(flow, &project, &state, &transcript_str, &workload),
        Duration::from_secs(360),
    )
    .unwrap();
    let t = finished_show(&output, &transcript_path, &[]);

    // A baseline was measured from the load generator's real output.
    let baseline = measured_baseline(&t);

    // Three kills: a follower (started again in its chapter), the leader,
    // and a second member, which loses quorum.
    let kills = assert_three_kills_seen_by_docker(&t);
    let said = narrations(&t);
    assert_leader_story(&said, &kills);
    assert_quorum_loss_measured(&t, &kills, baseline);

    let done = events(&t, "done");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["reason"], "completed");
    assert_eq!(done[0]["outstanding_faults"], 0);
    assert_all_running(&cluster);

    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn quitting_right_after_a_kill_restores_the_killed_member() {
    let project = format!("fl-quit-{}", std::process::id());
    let cluster = up(&project, QUIT_PORTS);
    let dir = temp_dir("etcd-quit");
    let state = dir.join("state").to_string_lossy().into_owned();
    let transcript_path = dir.join("run.jsonl");
    let transcript_str = transcript_path.to_string_lossy().into_owned();
    let workload = format!(
        "cmd:{} etcd --duration 120s --endpoints {}",
        loadgen_bin().display(),
        etcd_endpoints(QUIT_PORTS)
    );
    let mut args = host_args(
        flow_wasm_str(),
        &project,
        &state,
        &transcript_str,
        &workload,
    );
    // Intro → health → baseline → lose a follower (restarted by the flow) →
    // lose the leader, then quit once it ran: the leader is left dead.
    args.extend(["--keys", "space space space space q"]);

    let output = run_host(&args, Duration::from_secs(180)).unwrap();
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
    std::fs::remove_dir_all(dir).ok();
}
