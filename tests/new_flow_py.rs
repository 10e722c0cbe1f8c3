//! The Python author's path, as a newcomer types it: `host new-flow NAME
//! --lang python`, the one build command it prints (`./build.sh`), `host
//! inspect`, a headless show on a real cluster, and `--watch` picking up a
//! rebuilt flow while it runs.
//!
//! Docker names and ports: project `py-newflow-*`, host ports 24867-24869.

use e2e::{EtcdPorts, etcd_cluster_up, host_bin, read_transcript, run, run_host, temp_dir};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PORTS: EtcdPorts = ["24867", "24868", "24869"];
const NAME: &str = "py-smoke-flow";

fn host(args: &[&str], cwd: &Path) -> (bool, String, String) {
    let output = run(Command::new(host_bin()).args(args).current_dir(cwd)).unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The one build command, as printed, in the flow's directory.
fn build(root: &Path) {
    let started = Instant::now();
    let output = run(Command::new("./build.sh").current_dir(root)).unwrap();
    assert!(
        output.status.success(),
        "the generated flow does not build: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!(
        "FIGURE new-flow --lang python: ./build.sh took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn a_generated_python_flow_builds_with_one_command_inspects_and_runs_headless() {
    let dir = temp_dir("new-flow-py");

    let (ok, out, err) = host(
        &["new-flow", NAME, "--lang", "python", "--services", "etcd*"],
        &dir,
    );
    assert!(ok, "{err}");
    assert!(out.contains("./build.sh"), "{out}");
    assert!(out.contains(&format!("host inspect {NAME}.wasm")), "{out}");
    let root = dir.join(NAME);
    for file in ["app.py", "build.sh", "README.md", "test_app.py"] {
        assert!(root.join(file).is_file(), "{file} was not written");
    }

    // The generated unit test runs in plain Python, no host.
    let unit = run(Command::new("python3")
        .args(["-m", "unittest"])
        .current_dir(&root)
        .env("PYTHONDONTWRITEBYTECODE", "1"))
    .unwrap();
    assert!(
        unit.status.success(),
        "{}",
        String::from_utf8_lossy(&unit.stderr)
    );

    build(&root);
    let wasm = root.join(format!("{NAME}.wasm"));
    assert!(wasm.is_file(), "{} was not built", wasm.display());
    let wasm_str = wasm.to_string_lossy().into_owned();

    let (ok, out, err) = host(&["inspect", &wasm_str], &dir);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("flow:        {NAME} 0.1.0")), "{out}");
    assert!(out.contains("api:         demo:flow@0.2.0"), "{out}");
    assert!(out.contains("memory:      32 MiB (declared)"), "{out}");
    assert!(out.contains("3. Kill a node  [blocks-advance]"), "{out}");
    assert!(out.contains("fault kill on services 'etcd*'"), "{out}");

    // A second generation into the same place is refused, not merged; an
    // unknown language is a usage error.
    let (ok, _, err) = host(&["new-flow", NAME, "--lang", "python"], &dir);
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = host(&["new-flow", "other", "--lang", "cobol"], &dir);
    assert!(!ok && err.contains("invalid value 'cobol'"), "{err}");

    // The generated flow, unchanged, on a real three-member etcd cluster.
    let project = format!("py-newflow-{}", std::process::id());
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
        Duration::from_secs(180),
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
    let listed: Vec<&str> = t
        .iter()
        .filter(|e| e["event"] == "narration" && e["mode"] == "append")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert!(
        listed.contains(&"etcd1 running"),
        "the Cluster chapter did not list the members: {listed:?}"
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
fn transcript_so_far(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn watch_picks_up_the_python_flow_rebuilt_by_its_one_command() {
    let dir = temp_dir("new-flow-py-watch");
    let name = "py-watch-flow";
    let (ok, _, err) = host(&["new-flow", name, "--lang", "python"], &dir);
    assert!(ok, "{err}");
    let root = dir.join(name);
    build(&root);
    let wasm = root.join(format!("{name}.wasm"));
    let transcript = dir.join("run.jsonl");
    // An empty project: the Cluster chapter lists no container.
    let project = format!("py-watch-{}", std::process::id());
    let mut child = Command::new(host_bin())
        .args(["--flow", &wasm.to_string_lossy(), "--headless", "--watch"])
        .args(["--yes", "--keys", "space 600s q", "--project", &project])
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--transcript")
        .arg(&transcript)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let pid = child.id();
    let stderr = child.stderr.take();
    let mut guard = KillOnDrop(child);
    let poll = |pred: &dyn Fn(&[Value]) -> bool, what: &str, secs: u64| {
        let until = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < until {
            if pred(&transcript_so_far(&transcript)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("never saw {what}: {:?}", transcript_so_far(&transcript));
    };
    let narrated = |text: &'static str| {
        move |t: &[Value]| {
            t.iter().any(|e| {
                e["event"] == "narration"
                    && e["mode"] == "chapter"
                    && e["text"].as_str().is_some_and(|s| s.contains(text))
            })
        }
    };
    poll(
        &narrated("Docker's view of the project:"),
        "the Cluster chapter",
        120,
    );

    // The author edits the chapter and runs the one build command again.
    let app = root.join("app.py");
    let source = std::fs::read_to_string(&app).unwrap();
    std::fs::write(
        &app,
        source.replace(
            "Docker's view of the project:",
            "Docker's view, after an edit:",
        ),
    )
    .unwrap();
    build(&root);
    poll(
        &narrated("Docker's view, after an edit:"),
        "the rebuilt flow's Cluster chapter",
        180,
    );

    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    poll(
        &|t| t.iter().any(|e| e["event"] == "done"),
        "the host finishing",
        30,
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
    // Intro, the Cluster chapter, and the Cluster chapter again, reloaded.
    assert_eq!(chapters, [0, 1, 1], "{t:?}");
    assert!(t.iter().all(|e| e["event"] != "fault"));
    std::fs::remove_dir_all(dir).ok();
}
