//! The whole path, for real: a three-member etcd cluster in Docker, the load
//! generator writing to it, and `host --flow etcd.wasm --headless` killing a
//! follower, then the leader (both named by etcd through the flow's probes),
//! then a second member, and restarting them. Everything asserted comes from
//! the transcript (Docker's, etcd's and the workload's own reports) and from
//! Docker afterwards. This is also the proof that flows swap without
//! rebuilding the host: the same binary runs tikv.wasm, etcd.wasm and a
//! freshly generated flow (tests/new_flow.rs).

use e2e::etcd_story::{full_run, quit_right_after_a_kill};
use e2e::{EtcdPorts, flow_wasm, workspace_root};

/// Ports apart from the demo's defaults (and per test, as tests may run in
/// parallel), so nothing clashes.
const FULL_RUN_PORTS: EtcdPorts = ["24791", "24792", "24793"];
const QUIT_PORTS: EtcdPorts = ["24794", "24795", "24796"];

#[test]
fn etcd_flow_kills_a_follower_then_the_leader_then_quorum_and_restores_everything() {
    full_run(&flow_wasm("etcd"), "fl-etcd", FULL_RUN_PORTS);
}

/// The etcd flow as built before the host held API versions side by side
/// (tests/fixtures/flows): every later host must run it the same way.
#[test]
fn a_flow_built_for_api_0_1_0_before_the_versioned_runtime_still_runs_the_whole_demo() {
    let fixture = workspace_root().join("tests/fixtures/flows/etcd-api-0.1.0.wasm");
    full_run(&fixture, "fl-etcd-v010", FULL_RUN_PORTS);
}

/// The etcd flow as built on the last SDK for API 0.2.0 (network faults,
/// speaker notes), kept byte for byte once the SDK moved on.
#[test]
fn a_flow_built_for_api_0_2_0_still_runs_the_whole_demo() {
    let fixture = workspace_root().join("tests/fixtures/flows/etcd-api-0.2.0.wasm");
    full_run(&fixture, "fl-etcd-v020", FULL_RUN_PORTS);
}

#[test]
fn quitting_right_after_a_kill_restores_the_killed_member() {
    quit_right_after_a_kill(&flow_wasm("etcd"), "fl-quit", QUIT_PORTS);
}
