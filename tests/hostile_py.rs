//! The hostile suite's Python half: a pack written with guest-sdk-py
//! (tests/guests/hostile-py) that misbehaves on purpose, run by the real host
//! against a real compose project. An interpreter inside the component
//! changes nothing: each case ends with the host alive, a one-line message,
//! and every container of the project (and of a bystander project) still
//! running, none frozen; nothing the pack tried reached Docker, the network,
//! the presenter's files or environment, or ran a command.
//!
//! Docker names and ports: projects `pyhostile` and `pyhostileother`, host
//! ports 24874-24879; a loopback listener on 24873.

use e2e::python::python_flow_wasm;
use e2e::{
    ComposeProject, chapter_error, ensure_etcd_image, frozen_processes, host_bin, read_transcript,
    run, temp_dir, workspace_root,
};
use serde_json::Value;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MAIN_PORTS: [&str; 3] = ["24874", "24875", "24876"];
const OTHER_PORTS: [&str; 3] = ["24877", "24878", "24879"];
/// The pack tries to connect here (tests/guests/hostile-py/app.py).
const LISTENER: &str = "127.0.0.1:24873";
/// Planted by the test; the pack tries to read it.
const SECRET_FILE: &str = "/tmp/pyhostile-secret.txt";
/// What a command the pack managed to run would create.
const COMMAND_RAN: &str = "/tmp/pyhostile-command-ran";
/// The pack's `memory-mib` (tests/guests/hostile-py/app.py).
const PACK_MEMORY_MIB: u32 = 40;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_one_line(message: &str) {
    assert_eq!(
        message.trim().lines().count(),
        1,
        "not one line:\n{message}"
    );
    assert!(
        !message.contains("panicked"),
        "the host panicked:\n{message}"
    );
}

fn up(project: &str, ports: [&str; 3]) -> ComposeProject {
    ensure_etcd_image().unwrap();
    ComposeProject::up(
        project,
        &workspace_root().join("clusters/etcd/docker-compose.yaml"),
        &[
            ("ETCD_IMAGE", "demo-etcd:3.4.23"),
            ("ETCD1_PORT", ports[0]),
            ("ETCD2_PORT", ports[1]),
            ("ETCD3_PORT", ports[2]),
        ],
    )
    .unwrap()
}

fn assert_whole(project: &ComposeProject) {
    let states = project.states().unwrap();
    assert_eq!(states.len(), 3, "{}: {states:?}", project.name);
    for (service, state) in &states {
        assert_eq!(state, "running", "{} {service}: {states:?}", project.name);
    }
    assert_eq!(
        frozen_processes(&project.name).unwrap(),
        Vec::<String>::new()
    );
}

/// The error the host reported for the chapter titled `title`: one line.
fn error_of<'a>(t: &'a [Value], title: &str) -> &'a str {
    let message =
        chapter_error(t, title).unwrap_or_else(|| panic!("chapter {title} reported no error"));
    assert_one_line(message);
    message
}

fn t_ms(t: &[Value], pred: impl Fn(&Value) -> bool) -> u64 {
    t.iter()
        .find(|e| pred(e))
        .and_then(|e| e["t_ms"].as_u64())
        .unwrap()
}

#[test]
fn every_python_hostile_chapter_is_contained_and_both_projects_stay_up() {
    let wasm = python_flow_wasm("hostile-py");
    let main = up("pyhostile", MAIN_PORTS);
    let other = up("pyhostileother", OTHER_PORTS);
    let listener = TcpListener::bind(LISTENER).unwrap();
    listener.set_nonblocking(true).unwrap();
    std::fs::write(SECRET_FILE, "SECRET of the presenter\n").unwrap();
    let _ = std::fs::remove_file(COMMAND_RAN);
    let dir = temp_dir("py-hostile");
    let transcript = dir.join("run.jsonl");

    let mut child = Command::new(host_bin())
        .args(["--flow", &wasm.to_string_lossy(), "--headless", "--yes"])
        .args([
            "--project",
            &main.name,
            "--state-dir",
            &dir.to_string_lossy(),
        ])
        .args(["--transcript", &transcript.to_string_lossy()])
        .env("SB_SECRET", "the guest must never see this SECRET")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let limit = Instant::now() + Duration::from_secs(240);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > limit {
            let _ = child.kill();
            panic!("the host did not finish within 240 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    let _ = std::fs::remove_file(SECRET_FILE);
    let t = read_transcript(&transcript).unwrap();
    for event in &t {
        let line = event.to_string();
        eprintln!("{}", &line[..line.len().min(400)]);
    }
    assert!(
        output.status.success(),
        "host failed: {}",
        text(&output.stderr)
    );

    let files = error_of(&t, "Open files");
    assert!(
        files.starts_with(&format!("files: {SECRET_FILE}: ")),
        "{files}"
    );
    assert!(!files.contains("LEAKED"), "{files}");
    assert!(!files.contains("SECRET of"), "{files}");
    assert!(!Path::new("planted.txt").exists());

    let env = error_of(&t, "Read env");
    assert!(env.starts_with("env: 0 variables, 0 arguments"), "{env}");
    assert!(!env.contains("LEAKED"), "{env}");

    let sockets = error_of(&t, "Open sockets");
    assert!(
        sockets.starts_with(&format!("sockets: tcp {LISTENER}: ")),
        "{sockets}"
    );
    assert!(!sockets.contains("LEAKED"), "{sockets}");
    assert!(
        listener.accept().is_err(),
        "the guest connected to the test's listener"
    );

    let commands = error_of(&t, "Run a command");
    assert!(commands.starts_with("commands: os.system: "), "{commands}");
    assert!(!commands.contains("LEAKED"), "{commands}");
    assert!(
        !Path::new(COMMAND_RAN).exists(),
        "a command of the guest ran"
    );

    let undeclared = error_of(&t, "Undeclared service");
    for attempt in [
        "kill etcd2 → not permitted",
        "pause etcd1 → not permitted",
        "shape etcd1 → not permitted",
        "shape etcd1 towards etcd2 → not permitted",
        "isolate etcd1 → not permitted",
        "stop etcd1 → not permitted",
    ] {
        assert!(undeclared.contains(attempt), "{attempt}: {undeclared}");
    }
    // Nothing reached Docker for them either: no network-fault helper ran
    // for this project (each carries the project's label), and no fault.
    let helpers = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            "label=demo.netfault.project=pyhostile",
        ])
        .output()
        .expect("running docker");
    assert!(
        helpers.stdout.trim_ascii().is_empty(),
        "a network-fault helper ran"
    );
    let other_project = error_of(&t, "Other project");
    assert_eq!(
        other_project
            .matches("→ not found: no container of the project")
            .count(),
        2,
        "{other_project}"
    );
    assert!(
        !t.iter().any(|e| e["event"] == "fault"),
        "a fault reached Docker"
    );

    // A bug is the chapter's error, in the flow's own words; the show goes on.
    let uncaught = error_of(&t, "Uncaught exception");
    assert_eq!(uncaught, "the flow raised KeyError: 'follower'");

    // The interpreter's memory is bounded by the pack's own statement.
    let bomb = error_of(&t, "Memory bomb");
    assert!(
        bomb.starts_with("flow hostile-py 0.1.0 crashed in chapter 8 \"Memory bomb\": ")
            && bomb.contains(&format!(
                "exceeded its memory limit of {PACK_MEMORY_MIB} MiB"
            )),
        "{bomb}"
    );
    for (index, title) in [(9, "Spin"), (10, "Spin in a builtin")] {
        let spin = error_of(&t, title);
        assert!(
            spin.starts_with(&format!(
                "flow hostile-py 0.1.0 crashed in chapter {index} \"{title}\": computed for more than 2s"
            )),
            "{spin}"
        );
        let entered = t_ms(&t, |e| e["event"] == "chapter" && e["title"] == title);
        let stopped = t_ms(&t, |e| e["event"] == "error" && e["message"] == spin);
        eprintln!(
            "FIGURE Python {title:?}: stopped {} ms after the chapter began",
            stopped - entered
        );
        assert!(
            stopped - entered < 10_000,
            "{title} ran {} ms",
            stopped - entered
        );
    }

    // Lifting (issue 23): one call carrying too much is refused before it is
    // copied; many calls carrying a lot are paced and stopped like a spin.
    for title in ["Giant narration", "Huge peer list"] {
        let refused = error_of(&t, title);
        assert!(
            refused.contains("handed the host more than 2 MiB in one call"),
            "{title}: {refused}"
        );
    }
    let flood = error_of(&t, "Lifting flood");
    assert!(
        flood.contains("kept calling the host for more than 2s without waiting"),
        "{flood}"
    );

    // Probe paths that lenient servers read as `..`: each refused by the
    // parser (saying why), none sent.
    let ambiguous = error_of(&t, "Ambiguous probe paths");
    for i in 0..8 {
        let outcome = ambiguous
            .split(" | ")
            .find(|o| o.starts_with(&format!("ambiguous {i} =>")))
            .unwrap_or_else(|| panic!("ambiguous {i} not reported: {ambiguous}"));
        assert!(
            outcome.contains("=> parser refused: ProbeError: probe not permitted: "),
            "{outcome}"
        );
    }

    // The show went on after every attack, to the end.
    assert!(
        t.iter()
            .any(|e| e["event"] == "narration" && e["text"] == "still here after every attack"),
        "the last chapter did not run"
    );
    let done = t.last().unwrap();
    assert_eq!(done["event"], "done", "{done}");
    assert_eq!(done["reason"], "completed", "{done}");
    assert_eq!(done["outstanding_faults"], 0, "{done}");
    for message in [
        files,
        env,
        sockets,
        commands,
        undeclared,
        other_project,
        uncaught,
        bomb,
    ] {
        eprintln!("MESSAGE: {message}");
    }

    assert_whole(&main);
    assert_whole(&other);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_python_pack_that_asks_for_more_memory_than_the_ceiling_is_refused_in_one_line() {
    let wasm = python_flow_wasm("hostile-py");
    let dir = temp_dir("py-hostile-ceiling");
    let transcript = dir.join("run.jsonl");
    // No cluster is needed: the need is read from describe(), before a
    // chapter runs or a cluster is connected.
    let output = run(Command::new(host_bin())
        .args(["--flow", &wasm.to_string_lossy(), "--headless", "--yes"])
        .args([
            "--project",
            "pyhostile-never-created",
            "--max-memory-mib",
            "32",
        ])
        .arg("--state-dir")
        .arg(&dir)
        .arg("--transcript")
        .arg(&transcript)
        .stdin(Stdio::null()))
    .unwrap();
    let stderr = text(&output.stderr);
    eprintln!("ceiling 32 MiB: {stderr}");
    assert!(!output.status.success());
    assert_one_line(&stderr);
    assert!(
        stderr.contains(&format!(
            "asks for {PACK_MEMORY_MIB} MiB of memory; this presenter allows at most 32 MiB"
        )),
        "{stderr}"
    );
    let ran_a_chapter = read_transcript(&transcript)
        .map(|t| t.iter().any(|e| e["event"] == "chapter"))
        .unwrap_or(false);
    assert!(!ran_a_chapter, "a chapter ran past the refusal");
    std::fs::remove_dir_all(dir).ok();
}
