//! The author's path, as a newcomer types it: `host new-flow`, one build
//! command, `host inspect`, and a headless show on a real cluster.

use e2e::new_flow_story::{
    Watch, assert_inspects_as_generated, assert_runs_on_a_real_cluster, narrated_chapter,
};
use e2e::show::host_in;
use e2e::{EtcdPorts, flow_wasm, run, target_dir, temp_dir};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

const PORTS: EtcdPorts = ["24870", "24871", "24872"];
const NAME: &str = "fl-smoke-flow";

#[test]
fn a_generated_flow_builds_with_one_command_and_runs_headless() {
    let dir = temp_dir("new-flow");

    let (ok, out, err) = host_in(&["new-flow", NAME, "--services", "etcd*"], &dir);
    assert!(ok, "{err}");
    assert!(out.contains("cargo build --release"), "{out}");
    let root = dir.join(NAME);

    // The one build command, as printed. The workspace's target directory is
    // shared so the SDK and its dependencies are not compiled again.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let build = run(Command::new(cargo)
        .args(["build", "--release"])
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", target_dir()))
    .unwrap();
    assert!(
        build.status.success(),
        "the generated flow does not build: {}",
        String::from_utf8_lossy(&build.stderr)
    );
    let wasm = target_dir().join("wasm32-wasip2/release/fl_smoke_flow.wasm");
    assert!(wasm.is_file(), "{} was not built", wasm.display());

    assert_inspects_as_generated(&wasm, NAME, &dir);

    // A second generation into the same place is refused, not merged.
    let (ok, _, err) = host_in(&["new-flow", NAME, "--services", "etcd*"], &dir);
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = host_in(&["new-flow", "Bad Name"], &dir);
    assert!(!ok && err.contains("invalid flow name"), "{err}");

    // The generated flow, unchanged, on a real three-member etcd cluster.
    assert_runs_on_a_real_cluster(&wasm, "fl-newflow", PORTS, &dir);

    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn watch_reloads_a_changed_flow_and_stays_on_the_chapter() {
    let dir = temp_dir("watch");
    let file = dir.join("flow.wasm");
    std::fs::copy(flow_wasm("etcd"), &file).unwrap();
    // An empty project: chapter 2 of either flow only lists containers.
    let watch = Watch::start(&file, "fl-watch", &dir);
    let finished_chapter_2 = |t: &[Value]| {
        t.iter().any(|e| e["event"] == "chapter" && e["index"] == 1)
            && t.iter()
                .any(|e| e["event"] == "narration" && e["mode"] == "append")
    };
    watch.wait_for(
        "the etcd flow's second chapter run",
        Duration::from_secs(60),
        finished_chapter_2,
    );

    // A broken build must not end the show; the next good one is picked up.
    std::fs::write(&file, b"not a component").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let tmp = dir.join("next.wasm");
    std::fs::copy(flow_wasm("tikv"), &tmp).unwrap();
    std::fs::rename(&tmp, &file).unwrap();
    watch.wait_for(
        "the tikv flow's chapter 2 after the reload",
        Duration::from_secs(60),
        narrated_chapter("three TiKV stores"),
    );

    // Intro, chapter 2, and chapter 2 again under the reloaded flow.
    watch.stop_after_one_reload();
    std::fs::remove_dir_all(dir).ok();
}
