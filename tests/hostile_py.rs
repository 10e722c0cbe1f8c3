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
use e2e::show::{assert_one_line, error_of, text};
use e2e::{EtcdPorts, host_bin, hostile_story, read_transcript, run, temp_dir};
use std::path::Path;
use std::process::{Command, Stdio};

const MAIN_PORTS: EtcdPorts = ["24874", "24875", "24876"];
const OTHER_PORTS: EtcdPorts = ["24877", "24878", "24879"];
/// The pack tries to connect here (tests/guests/hostile-py/app.py).
const LISTENER: &str = "127.0.0.1:24873";
/// Planted by the test; the pack tries to read it.
const SECRET_FILE: &str = "/tmp/pyhostile-secret.txt";
/// What a command the pack managed to run would create.
const COMMAND_RAN: &str = "/tmp/pyhostile-command-ran";
/// The pack's `memory-mib` (tests/guests/hostile-py/app.py).
const PACK_MEMORY_MIB: u32 = 40;

#[test]
fn every_python_hostile_chapter_is_contained_and_both_projects_stay_up() {
    std::fs::write(SECRET_FILE, "SECRET of the presenter\n").unwrap();
    let _ = std::fs::remove_file(COMMAND_RAN);
    let show = hostile_story::run(
        &python_flow_wasm("hostile-py"),
        ("pyhostile", MAIN_PORTS),
        ("pyhostileother", OTHER_PORTS),
        LISTENER,
        "the guest must never see this SECRET",
    );
    let _ = std::fs::remove_file(SECRET_FILE);
    let t = &show.transcript;

    let files = show.assert_files_refused(SECRET_FILE);
    assert!(!files.contains("SECRET of"), "{files}");
    assert!(!Path::new("planted.txt").exists());

    let env = show.assert_env_hidden();
    let sockets = show.assert_sockets_refused(LISTENER);

    let commands = error_of(t, "Run a command");
    assert!(commands.starts_with("commands: os.system: "), "{commands}");
    assert!(!commands.contains("LEAKED"), "{commands}");
    assert!(
        !Path::new(COMMAND_RAN).exists(),
        "a command of the guest ran"
    );

    let undeclared = show.assert_undeclared_refused(&[
        "kill etcd2 → not permitted",
        "pause etcd1 → not permitted",
        "shape etcd1 → not permitted",
        "shape etcd1 towards etcd2 → not permitted",
        "isolate etcd1 → not permitted",
        "stop etcd1 → not permitted",
    ]);
    let other_project = error_of(t, "Other project");
    assert_eq!(
        other_project
            .matches("→ not found: no container of the project")
            .count(),
        2,
        "{other_project}"
    );
    show.assert_no_fault();

    // A bug is the chapter's error, in the flow's own words; the show goes on.
    let uncaught = error_of(t, "Uncaught exception");
    assert_eq!(uncaught, "the flow raised KeyError: 'follower'");

    // The interpreter's memory is bounded by the pack's own statement.
    let bomb = show.assert_crashed(
        "hostile-py",
        8,
        "Memory bomb",
        &format!("exceeded its memory limit of {PACK_MEMORY_MIB} MiB"),
    );
    for (index, title) in [(9, "Spin"), (10, "Spin in a builtin")] {
        show.assert_spin_stopped("hostile-py", index, title);
    }

    // Lifting (issue 23): one call carrying too much is refused before it is
    // copied; many calls carrying a lot are paced and stopped like a spin.
    for title in ["Giant narration", "Huge peer list"] {
        show.assert_refused_as_too_big(title);
    }
    let flood = error_of(t, "Lifting flood");
    assert!(
        flood.contains("kept calling the host for more than 2s without waiting"),
        "{flood}"
    );

    // Probe paths that lenient servers read as `..`: each refused by the
    // parser (saying why), none sent.
    let ambiguous = error_of(t, "Ambiguous probe paths");
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
    // The show went on after every attack, to the end; no member of either
    // project stopped or frozen.
    show.assert_show_went_on();
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
