//! Speaker notes on a second terminal, for real: the show runs in one tmux
//! window against a real etcd cluster, `host notes` in another. The notes
//! follow the chapter, their SPACE advances the show, killing them leaves
//! the show running, and a new one attaches. Loopback ports 24880-24889 and
//! project `ui-notes-*` are this file's.

use e2e::tmux::{Tmux, shell_quote, shell_words, show};
use e2e::{EtcdPorts, etcd_cluster_up, flow_wasm, host_bin, temp_dir};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const PORTS: EtcdPorts = ["24880", "24881", "24882"];

#[test]
fn notes_in_a_second_terminal_follow_the_show_drive_it_and_may_come_and_go() {
    let project = format!("ui-notes-{}", std::process::id());
    let cluster = etcd_cluster_up(&project, PORTS);
    let dir = temp_dir("notes-tmux");
    let path = |name: &str| -> PathBuf { dir.join(name) };
    let state = path("state").to_string_lossy().into_owned();
    let exit_file = path("exit");
    let show_command = shell_words(&[
        host_bin().to_string_lossy().into_owned(),
        "--flow".into(),
        flow_wasm("etcd").to_string_lossy().into_owned(),
        "--yes".into(),
        "--project".into(),
        project.clone(),
        "--state-dir".into(),
        state.clone(),
        "--log".into(),
        path("host.log").to_string_lossy().into_owned(),
        "--talk-time".into(),
        "20m".into(),
    ]);
    let tmux = Tmux::start(
        &format!("ui-notes-{}", std::process::id()),
        &format!(
            "{show_command} 2>{}; echo $? > {}",
            shell_quote(&path("stderr").to_string_lossy()),
            shell_quote(&exit_file.to_string_lossy())
        ),
        &dir.to_string_lossy(),
    );
    let long = Duration::from_secs(60);
    tmux.wait_for("the intro", long, |s| s.contains("Chapter 1/10: Intro"));

    // `host notes -p P` in a second terminal; its marker finds it to kill it.
    let notes_command = shell_words(&[
        host_bin().to_string_lossy().into_owned(),
        "notes".into(),
        "--project".into(),
        project.clone(),
        "--state-dir".into(),
        state.clone(),
    ]);
    let first = tmux.open_window(&notes_command);
    let notes = tmux.wait_for_in(&first, "the intro's notes", long, |s| {
        s.contains("1/10  Intro")
            && s.contains("/ 20:00")
            && s.contains("Set the stage")
            && s.contains("Next: Cluster health")
    });
    show("notes, chapter 1", &notes);

    // The notes screen's SPACE is the show's SPACE.
    tmux.keys_to(&first, &["Space"]);
    tmux.wait_for("chapter 2 on the main screen", long, |s| {
        s.contains("Chapter 2/10: Cluster health")
    });
    let notes = tmux.wait_for_in(&first, "chapter 2's notes", long, |s| {
        s.contains("2/10  Cluster health") && s.contains("Point at the leader line")
    });
    show("notes, chapter 2", &notes);

    // A crashed notes screen takes nothing with it.
    let killed = Command::new("pkill")
        .args(["-KILL", "-f", &format!("notes --project {project}")])
        .status()
        .expect("running pkill");
    assert!(killed.success(), "the notes process was found and killed");
    std::thread::sleep(Duration::from_millis(500));
    tmux.keys(&["Space"]);
    tmux.wait_for("chapter 3 after the notes died", long, |s| {
        s.contains("Chapter 3/10")
    });

    // Another attaches to the same show and starts where it is.
    let second = tmux.open_window(&notes_command);
    let again = tmux.wait_for_in(&second, "a second notes screen", long, |s| {
        s.contains("3/10  Workload baseline")
    });
    show("notes, re-attached", &again);

    tmux.keys(&["q"]);
    let started = std::time::Instant::now();
    while !exit_file.exists() && started.elapsed() < long {
        std::thread::sleep(Duration::from_millis(200));
    }
    let code = std::fs::read_to_string(&exit_file).unwrap_or_default();
    let stderr = std::fs::read_to_string(path("stderr")).unwrap_or_default();
    assert_eq!(code.trim(), "0", "the show ended cleanly: {stderr}");
    let states = cluster.states().unwrap();
    assert!(
        states.iter().all(|(_, s)| s == "running"),
        "every member runs: {states:?}"
    );
    assert!(
        !path("state").join(format!("notes-{project}.sock")).exists(),
        "the show removed its socket"
    );
}
