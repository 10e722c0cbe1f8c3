//! Packs that misbehave on purpose (tests/guests/hostile), run by the real
//! host against a real compose project. Each case ends with the host alive,
//! the one-line message it printed, and every container of the project (and of
//! a second, bystander project) still running.
//!
//! Docker names and ports: projects `sbhostile` and `sbother`, host ports
//! 24830-24836.

use e2e::{
    ComposeProject, ensure_etcd_image, frozen_processes, host_bin, hostile_wasm, read_transcript,
    run, temp_dir, workspace_root,
};
use serde_json::Value;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_one_line(stderr: &str) {
    assert_eq!(stderr.trim().lines().count(), 1, "not one line:\n{stderr}");
    assert!(!stderr.contains("panicked"), "the host panicked:\n{stderr}");
}

fn inspect(path: &std::path::Path, state_dir: &std::path::Path) -> Output {
    run(Command::new(host_bin())
        .arg("inspect")
        .arg(path)
        .arg("--state-dir")
        .arg(state_dir))
    .unwrap()
}

#[test]
fn a_describe_that_never_returns_is_stopped_with_a_one_line_error() {
    let dir = temp_dir("sb-describe-loop");
    let wasm = hostile_wasm("describe-loop");
    let started = Instant::now();
    let output = inspect(&wasm, &dir);
    let took = started.elapsed();
    let stderr = text(&output.stderr);
    eprintln!("describe loop: host exited after {took:?} with: {stderr}");
    assert!(!output.status.success());
    assert_one_line(&stderr);
    assert!(
        stderr.contains("describe-loop.wasm: describe() computed for more than 2s"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn unknown_api_versions_and_other_worlds_get_one_line_errors() {
    let dir = temp_dir("sb-worlds");
    let output = inspect(&hostile_wasm("api-v9"), &dir);
    let stderr = text(&output.stderr);
    eprintln!("api-v9: {stderr}");
    assert!(!output.status.success());
    assert_one_line(&stderr);
    assert!(
        stderr.contains("api-v9.wasm was built for demo:flow@9.0.0, newer than this host (demo:flow@0.1.0 to 0.2.0): upgrade the host"),
        "{stderr}"
    );

    let output = inspect(&hostile_wasm("other-world"), &dir);
    let stderr = text(&output.stderr);
    eprintln!("other-world: {stderr}");
    assert!(!output.status.success());
    assert_one_line(&stderr);
    assert!(
        stderr.contains("other-world.wasm is not a demo flow"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_headless_run_of_an_untrusted_pack_needs_consent_and_remembers_it() {
    let dir = temp_dir("sb-consent");
    let wasm = hostile_wasm("hostile");
    let wasm_str = wasm.to_string_lossy().into_owned();
    let state = dir.to_string_lossy().into_owned();
    // No cluster is needed: consent is settled before anything is connected,
    // so a refused run cannot touch one.
    let output = run(Command::new(host_bin())
        .args([
            "--flow",
            &wasm_str,
            "--headless",
            "--project",
            "sb-never-created",
            "--state-dir",
            &state,
        ])
        .stdin(Stdio::null()))
    .unwrap();
    let stderr = text(&output.stderr);
    eprintln!("untrusted: {stderr}");
    assert!(!output.status.success());
    assert_one_line(&stderr);
    assert!(
        stderr.contains("(hostile 0.1.0) is not trusted yet; it asks for: kill:etcd1; pass --yes"),
        "{stderr}"
    );

    let before = text(&inspect(&wasm, &dir).stdout);
    assert!(
        before.contains("fault kill on services 'etcd1'  [kill:etcd1: not granted yet]"),
        "{before}"
    );

    let output = run(Command::new(host_bin())
        .args(["--flow", &wasm_str, "--headless", "--allow", "kill:nope*"])
        .args(["--project", "sb-never-created", "--state-dir", &state])
        .args(["--keys", "q"])
        .stdin(Stdio::null()))
    .unwrap();
    eprintln!("allow kill:nope*: {}", text(&output.stderr));
    let after = text(&inspect(&wasm, &dir).stdout);
    assert!(
        after.contains("fault kill on services 'etcd1'  [kill:etcd1: refused]"),
        "{after}"
    );

    let bad = run(Command::new(host_bin())
        .args([
            "--flow",
            &wasm_str,
            "--headless",
            "--allow",
            "explode:etcd1",
        ])
        .args(["--state-dir", &state]))
    .unwrap();
    let stderr = text(&bad.stderr);
    assert!(!bad.status.success());
    assert!(stderr.contains("unknown action 'explode'"), "{stderr}");
    std::fs::remove_dir_all(dir).ok();
}

const MAIN_PORTS: [&str; 3] = ["24831", "24832", "24833"];
const OTHER_PORTS: [&str; 3] = ["24834", "24835", "24836"];
const LISTENER: &str = "127.0.0.1:24830";

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

fn assert_all_running(project: &ComposeProject) {
    let states = project.states().unwrap();
    assert_eq!(states.len(), 3, "{}: {states:?}", project.name);
    for (service, state) in &states {
        assert_eq!(state, "running", "{} {service}: {states:?}", project.name);
    }
}

/// The error the host reported for the chapter titled `title`.
fn chapter_error<'a>(t: &'a [Value], title: &str) -> &'a str {
    e2e::chapter_error(t, title).unwrap_or_else(|| panic!("chapter {title} reported no error"))
}

fn t_ms(t: &[Value], pred: impl Fn(&Value) -> bool) -> u64 {
    t.iter()
        .find(|e| pred(e))
        .and_then(|e| e["t_ms"].as_u64())
        .unwrap()
}

#[test]
fn every_hostile_chapter_is_contained_and_both_projects_stay_up() {
    let wasm = hostile_wasm("hostile");
    let main = up("sbhostile", MAIN_PORTS);
    let other = up("sbother", OTHER_PORTS);
    let listener = TcpListener::bind(LISTENER).unwrap();
    listener.set_nonblocking(true).unwrap();
    let dir = temp_dir("sb-hostile");
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
        .env("SB_SECRET", "the guest must never see this")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let limit = Instant::now() + Duration::from_secs(180);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > limit {
            let _ = child.kill();
            panic!("the host did not finish within 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
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

    let files = chapter_error(&t, "Open files");
    assert!(files.starts_with("files: /etc/passwd: "), "{files}");
    assert!(!files.contains("LEAKED"), "{files}");

    let env = chapter_error(&t, "Read env");
    assert!(env.starts_with("env: 0 variables, 0 arguments"), "{env}");
    assert!(!env.contains("LEAKED"), "{env}");

    let sockets = chapter_error(&t, "Open sockets");
    assert!(
        sockets.starts_with("sockets: tcp 127.0.0.1:24830: "),
        "{sockets}"
    );
    assert!(!sockets.contains("LEAKED"), "{sockets}");
    assert!(
        listener.accept().is_err(),
        "the guest connected to the test's listener"
    );

    let undeclared = chapter_error(&t, "Undeclared service");
    assert!(
        undeclared.contains("kill etcd2 → not permitted")
            && undeclared.contains("pause etcd1 → not permitted")
            && undeclared.contains("shape etcd1 → not permitted")
            && undeclared.contains("shape etcd1 towards etcd2 → not permitted")
            && undeclared.contains("isolate etcd1 → not permitted"),
        "{undeclared}"
    );
    // Nothing reached Docker for them either: no network-fault helper ever
    // ran for this project (each carries the project's label).
    let helpers = std::process::Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            "label=demo.netfault.project=sbhostile",
        ])
        .output()
        .expect("running docker");
    assert!(
        helpers.stdout.trim_ascii().is_empty(),
        "a network-fault helper ran"
    );
    let other_project = chapter_error(&t, "Other project");
    assert!(
        other_project.contains("kill sbother_etcd1_1 → not found: no container of the project"),
        "{other_project}"
    );
    assert!(
        !t.iter().any(|e| e["event"] == "fault"),
        "a fault reached Docker"
    );

    let giant = t
        .iter()
        .filter(|e| e["event"] == "narration" && e["mode"] == "set")
        .filter_map(|e| e["text"].as_str())
        .find(|text| text.starts_with("xxxx"))
        .expect("the giant narration was shown");
    assert!(giant.len() <= 64 * 1024 + 4, "{} bytes shown", giant.len());
    let over = chapter_error(&t, "Giant narration");
    assert!(
        over.contains("handed the host more than 2 MiB in one call"),
        "{over}"
    );

    let bomb = chapter_error(&t, "Memory bomb");
    assert!(
        bomb.starts_with("flow hostile 0.1.0 crashed in chapter 7 \"Memory bomb\": ")
            && bomb.contains("exceeded its memory limit"),
        "{bomb}"
    );
    let panic = chapter_error(&t, "Panic");
    assert!(
        panic.starts_with("flow hostile 0.1.0 crashed in chapter 8 \"Panic\": ")
            && panic.contains("hostile flow panicked on purpose"),
        "{panic}"
    );
    let spin = chapter_error(&t, "Spin");
    assert!(
        spin.starts_with(
            "flow hostile 0.1.0 crashed in chapter 9 \"Spin\": computed for more than 2s"
        ),
        "{spin}"
    );
    let entered = t_ms(&t, |e| e["event"] == "chapter" && e["title"] == "Spin");
    let stopped = t_ms(&t, |e| e["event"] == "error" && e["message"] == spin);
    eprintln!(
        "spinning enter() stopped {} ms after the chapter began",
        stopped - entered
    );

    let signals = chapter_error(&t, "Stop signals");
    assert!(!signals.contains("LEAKED"), "{signals}");
    for spelling in [
        "\"SIGSTOP\"",
        "\"19\"",
        "\"tstp\"",
        "\"SIGCONT\"",
        "\"SIGRTMIN+3\"",
    ] {
        assert!(
            signals.contains(&format!("{spelling} → ")),
            "{spelling} not tried: {signals}"
        );
    }
    assert_eq!(
        signals.matches("→ refused, use pause").count(),
        19,
        "not every freezing signal was refused with advice: {signals}"
    );
    assert_eq!(frozen_processes(&main.name).unwrap(), Vec::<String>::new());

    // The show went on after every attack, to the end.
    assert!(
        t.iter()
            .any(|e| e["event"] == "narration" && e["text"] == "still here after every attack"),
        "the last chapter did not run"
    );
    let done = t.last().unwrap();
    assert_eq!(done["event"], "done", "{done}");
    assert_eq!(done["reason"], "completed", "{done}");
    for message in [
        files,
        env,
        sockets,
        undeclared,
        other_project,
        bomb,
        panic,
        spin,
        signals,
    ] {
        eprintln!("MESSAGE: {message}");
    }

    assert_all_running(&main);
    assert_all_running(&other);
    std::fs::remove_dir_all(dir).ok();
}
