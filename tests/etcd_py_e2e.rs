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

use e2e::etcd_story::{events, full_run, narrations, quit_right_after_a_kill};
use e2e::python::{python_flow_wasm, python_unittests};
use e2e::show::inspect_command;
use e2e::{EtcdPorts, run, temp_dir, workspace_root};
use std::time::{Duration, Instant};

const FULL_RUN_PORTS: EtcdPorts = ["24861", "24862", "24863"];
const QUIT_PORTS: EtcdPorts = ["24864", "24865", "24866"];

#[test]
fn the_python_etcd_flow_kills_a_follower_then_the_leader_then_quorum_and_restores_everything() {
    let t = full_run(&python_flow_wasm("etcd-py"), "py-etcd-full", FULL_RUN_PORTS);
    assert_eq!(events(&t, "chapter").len(), 10, "every chapter ran");
    for line in narrations(&t).iter().rev().take(6) {
        eprintln!("FIGURE etcd-py summary: {line}");
    }
}

#[test]
fn quitting_the_python_flow_right_after_a_kill_restores_the_killed_member() {
    quit_right_after_a_kill(&python_flow_wasm("etcd-py"), "py-etcd-quit", QUIT_PORTS);
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
        let output =
            run(inspect_command(&wasm, &dir.join("state")).env("CHAOS_DEMO_CACHE_DIR", &cache))
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
