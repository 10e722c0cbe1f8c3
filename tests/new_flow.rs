//! The author's path, as a newcomer types it: `host new-flow`, one build
//! command, `host inspect`, and a headless show on a real cluster.

use e2e::{
    EtcdPorts, etcd_cluster_up, host_bin, read_transcript, run, run_host, temp_dir, workspace_root,
};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const PORTS: EtcdPorts = ["24870", "24871", "24872"];
const NAME: &str = "fl-smoke-flow";

fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(Into::into)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn host(args: &[&str], cwd: &Path) -> (bool, String, String) {
    let output = run(Command::new(host_bin()).args(args).current_dir(cwd)).unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_generated_flow_builds_with_one_command_and_runs_headless() {
    let dir = temp_dir("new-flow");

    let (ok, out, err) = host(&["new-flow", NAME, "--services", "etcd*"], &dir);
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
    let wasm_str = wasm.to_string_lossy().into_owned();

    let (ok, out, err) = host(&["inspect", &wasm_str], &dir);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("flow:        {NAME} 0.1.0")), "{out}");
    assert!(out.contains("3. Kill a node  [blocks-advance]"), "{out}");
    assert!(out.contains("fault kill on services 'etcd*'"), "{out}");

    // A second generation into the same place is refused, not merged.
    let (ok, _, err) = host(&["new-flow", NAME, "--services", "etcd*"], &dir);
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = host(&["new-flow", "Bad Name"], &dir);
    assert!(!ok && err.contains("invalid flow name"), "{err}");

    // The generated flow, unchanged, on a real three-member etcd cluster.
    let project = format!("fl-newflow-{}", std::process::id());
    let cluster = etcd_cluster_up(&project, PORTS);

    let state = dir.join("state").to_string_lossy().into_owned();
    let transcript = dir.join("run.jsonl");
    let output = run_host(
        &[
            "--flow",
            &wasm_str,
            "--headless",
            "--project",
            &project,
            "--state-dir",
            &state,
            "--transcript",
            &transcript.to_string_lossy(),
        ],
        Duration::from_secs(120),
    )
    .unwrap();
    assert!(
        output.status.success(),
        "host failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let t = read_transcript(&transcript).unwrap();
    assert!(
        t.iter().all(|e| e["event"] != "error"),
        "a chapter failed: {t:?}"
    );
    let kill = t
        .iter()
        .find(|e| e["event"] == "fault" && e["action"] == "kill SIGKILL")
        .expect("the flow killed a node");
    assert!(kill["service"].as_str().unwrap().starts_with("etcd"));
    let id = &kill["id"];
    let exited = t
        .iter()
        .position(|e| e["event"] == "node" && &e["id"] == id && e["state"] == "exited")
        .expect("Docker reported the kill");
    assert!(
        t[exited..]
            .iter()
            .any(|e| e["event"] == "node" && &e["id"] == id && e["state"] == "running"),
        "the flow did not start the node again"
    );
    let done: Vec<_> = t.iter().filter(|e| e["event"] == "done").collect();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["reason"], "completed");
    assert_eq!(done[0]["outstanding_faults"], 0);
    let states = cluster.states().unwrap();
    assert!(states.iter().all(|(_, s)| s == "running"), "{states:?}");

    drop(cluster);
    std::fs::remove_dir_all(dir).ok();
}

/// Complete transcript lines written so far (the host may be mid-line).
fn transcript_so_far(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn watch_reloads_a_changed_flow_and_stays_on_the_chapter() {
    let dir = temp_dir("watch");
    let file = dir.join("flow.wasm");
    std::fs::copy(e2e::flow_wasm("etcd"), &file).unwrap();
    let transcript = dir.join("run.jsonl");
    let project = format!("fl-watch-{}", std::process::id());
    // An empty project: chapter 2 of either flow only lists containers.
    let mut host = Command::new(host_bin())
        .args([
            "--flow",
            &file.to_string_lossy(),
            "--headless",
            "--watch",
            "--yes",
        ])
        .args(["--keys", "space 600s q", "--project", &project])
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--transcript")
        .arg(&transcript)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let poll = |pred: &dyn Fn(&[serde_json::Value]) -> bool, what: &str| {
        for _ in 0..600 {
            if pred(&transcript_so_far(&transcript)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("never saw {what}: {:?}", transcript_so_far(&transcript));
    };
    let finished_chapter_2 = |t: &[serde_json::Value]| {
        t.iter().any(|e| e["event"] == "chapter" && e["index"] == 1)
            && t.iter()
                .any(|e| e["event"] == "narration" && e["mode"] == "append")
    };
    let pid = host.id();
    let stderr = host.stderr.take();
    // Killed if an assertion fails before it exits.
    let mut guard = KillOnDrop(host);
    poll(&finished_chapter_2, "the etcd flow's second chapter run");

    // A broken build must not end the show; the next good one is picked up.
    std::fs::write(&file, b"not a component").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let tmp = dir.join("next.wasm");
    std::fs::copy(e2e::flow_wasm("tikv"), &tmp).unwrap();
    std::fs::rename(&tmp, &file).unwrap();
    let reloaded = |t: &[serde_json::Value]| {
        t.iter().any(|e| {
            e["event"] == "narration"
                && e["mode"] == "chapter"
                && e["text"]
                    .as_str()
                    .is_some_and(|s| s.contains("three TiKV stores"))
        })
    };
    poll(&reloaded, "the tikv flow's chapter 2 after the reload");

    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    poll(
        &|t| t.iter().any(|e| e["event"] == "done"),
        "the host finishing",
    );
    let exit = guard.0.wait().unwrap();
    let mut err = String::new();
    if let Some(mut s) = stderr {
        use std::io::Read;
        let _ = s.read_to_string(&mut err);
    }
    assert!(exit.success(), "host failed: {err}");

    let t = read_transcript(&transcript).unwrap();
    let chapters: Vec<u64> = t
        .iter()
        .filter(|e| e["event"] == "chapter")
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    // Intro, chapter 2, and chapter 2 again under the reloaded flow.
    assert_eq!(chapters, [0, 1, 1], "{t:?}");
    let done: Vec<_> = t.iter().filter(|e| e["event"] == "done").collect();
    assert_eq!(done[0]["reason"], "SIGTERM");
    assert!(t.iter().all(|e| e["event"] != "fault"));
    std::fs::remove_dir_all(dir).ok();
}
