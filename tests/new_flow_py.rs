//! The Python author's path, as a newcomer types it: `host new-flow NAME
//! --lang python`, the one build command it prints (`./build.sh`), `host
//! inspect`, a headless show on a real cluster, and `--watch` picking up a
//! rebuilt flow while it runs.
//!
//! Docker names and ports: project `py-newflow-*`, host ports 24867-24869.

use e2e::new_flow_story::{
    Watch, assert_inspects_as_generated, assert_runs_on_a_real_cluster, narrated_chapter,
};
use e2e::show::host_in;
use e2e::{EtcdPorts, run, temp_dir};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const PORTS: EtcdPorts = ["24867", "24868", "24869"];
const NAME: &str = "py-smoke-flow";

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

    let (ok, out, err) = host_in(
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

    let out = assert_inspects_as_generated(&wasm, NAME, &dir);
    assert!(out.contains("api:         demo:flow@0.2.0"), "{out}");
    assert!(out.contains("memory:      32 MiB (declared)"), "{out}");

    // A second generation into the same place is refused, not merged; an
    // unknown language is a usage error.
    let (ok, _, err) = host_in(&["new-flow", NAME, "--lang", "python"], &dir);
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = host_in(&["new-flow", "other", "--lang", "cobol"], &dir);
    assert!(!ok && err.contains("invalid value 'cobol'"), "{err}");

    // The generated flow, unchanged, on a real three-member etcd cluster;
    // its Cluster chapter lists the members.
    let t = assert_runs_on_a_real_cluster(&wasm, "py-newflow", PORTS, &dir);
    let listed: Vec<&str> = t
        .iter()
        .filter(|e| e["event"] == "narration" && e["mode"] == "append")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert!(
        listed.contains(&"etcd1 running"),
        "the Cluster chapter did not list the members: {listed:?}"
    );

    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn watch_picks_up_the_python_flow_rebuilt_by_its_one_command() {
    let dir = temp_dir("new-flow-py-watch");
    let name = "py-watch-flow";
    let (ok, _, err) = host_in(&["new-flow", name, "--lang", "python"], &dir);
    assert!(ok, "{err}");
    let root = dir.join(name);
    build(&root);
    let wasm = root.join(format!("{name}.wasm"));
    // An empty project: the Cluster chapter lists no container.
    let watch = Watch::start(&wasm, "py-watch", &dir);
    watch.wait_for(
        "the Cluster chapter",
        Duration::from_secs(120),
        narrated_chapter("Docker's view of the project:"),
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
    watch.wait_for(
        "the rebuilt flow's Cluster chapter",
        Duration::from_secs(180),
        narrated_chapter("Docker's view, after an edit:"),
    );

    // Intro, the Cluster chapter, and the Cluster chapter again, reloaded.
    watch.stop_after_one_reload();
    std::fs::remove_dir_all(dir).ok();
}
