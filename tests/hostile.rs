//! Packs that misbehave on purpose (tests/guests/hostile), run by the real
//! host against a real compose project. Each case ends with the host alive,
//! the one-line message it printed, and every container of the project (and of
//! a second, bystander project) still running.
//!
//! Docker names and ports: projects `sbhostile` and `sbother`, host ports
//! 24830-24836.

use e2e::show::{assert_one_line, error_of, inspect, one_line_error_of, text};
use e2e::{EtcdPorts, host_bin, hostile_story, hostile_wasm, run, temp_dir};
use std::process::{Command, Stdio};
use std::time::Instant;

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
        stderr.contains("api-v9.wasm was built for demo:flow@9.0.0, newer than this host (demo:flow@0.1.0 to 0.3.0): upgrade the host"),
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
fn absurd_steady_state_hypotheses_are_refused_at_load_in_one_line() {
    let dir = temp_dir("sb-absurd-hypotheses");
    let output = inspect(&hostile_wasm("absurd-hypotheses"), &dir);
    let stderr = text(&output.stderr);
    eprintln!("absurd hypotheses: {stderr}");
    assert!(!output.status.success());
    assert_one_line(&stderr);
    assert!(
        stderr.contains("describe() declares a hypothesis that bounds p99 at NaN ms"),
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

const MAIN_PORTS: EtcdPorts = ["24831", "24832", "24833"];
const OTHER_PORTS: EtcdPorts = ["24834", "24835", "24836"];
const LISTENER: &str = "127.0.0.1:24830";

#[test]
fn every_hostile_chapter_is_contained_and_both_projects_stay_up() {
    let show = hostile_story::run(
        &hostile_wasm("hostile"),
        ("sbhostile", MAIN_PORTS),
        ("sbother", OTHER_PORTS),
        LISTENER,
        "the guest must never see this",
    );
    let t = &show.transcript;

    let files = show.assert_files_refused("/etc/passwd");
    let env = show.assert_env_hidden();
    let sockets = show.assert_sockets_refused(LISTENER);
    let undeclared = show.assert_undeclared_refused(&[
        "kill etcd2 → not permitted",
        "pause etcd1 → not permitted",
        "shape etcd1 → not permitted",
        "shape etcd1 towards etcd2 → not permitted",
        "isolate etcd1 → not permitted",
    ]);
    let other_project = error_of(t, "Other project");
    assert!(
        other_project.contains("kill sbother_etcd1_1 → not found: no container of the project"),
        "{other_project}"
    );
    show.assert_no_fault();

    let giant = t
        .iter()
        .filter(|e| e["event"] == "narration" && e["mode"] == "set")
        .filter_map(|e| e["text"].as_str())
        .find(|text| text.starts_with("xxxx"))
        .expect("the giant narration was shown");
    assert!(giant.len() <= 64 * 1024 + 4, "{} bytes shown", giant.len());
    show.assert_refused_as_too_big("Giant narration");

    let bomb = show.assert_crashed("hostile", 7, "Memory bomb", "exceeded its memory limit");
    // The flow's own panic: its message quotes "panicked at", so only one
    // line is checked.
    let panic = one_line_error_of(t, "Panic");
    assert!(
        panic.starts_with("flow hostile 0.1.0 crashed in chapter 8 \"Panic\": ")
            && panic.contains("hostile flow panicked on purpose"),
        "{panic}"
    );
    let spin = show.assert_spin_stopped("hostile", 9, "Spin");

    let signals = error_of(t, "Stop signals");
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
    // The show went on after every attack, to the end; no member of either
    // project stopped or frozen.
    show.assert_show_went_on();
}
