//! The presenter in a real terminal: tmux runs `host --flow etcd.wasm` against
//! a real three-member etcd cluster with the load generator as workload;
//! `send-keys` advances, `capture-pane` reads the screen. Checked: the
//! dashboard before the fault, the countdown, the degraded workload after
//! quorum is lost, and that Q restores every member. The screens are printed
//! (run with --nocapture to see them).

use e2e::tmux::{HEIGHT, Tmux, WIDTH, shell_quote, shell_words, show};
use e2e::{
    EtcdPorts, etcd_cluster_up, etcd_endpoints, flow_wasm, host_bin, loadgen_bin, run, temp_dir,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// This test's own loopback ports (24820-24829 are reserved for it).
const PORTS: EtcdPorts = ["24820", "24821", "24822"];

fn endpoints() -> String {
    etcd_endpoints(PORTS)
}

fn wait_for_file(path: &Path, limit: Duration) -> Option<String> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return Some(text);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

#[test]
fn dashboard_in_tmux_counts_down_shows_degraded_and_restores_on_q() {
    let project = format!("ui-tmux-{}", std::process::id());
    let cluster = etcd_cluster_up(&project, PORTS);

    let dir = temp_dir("tui-tmux");
    let path = |name: &str| -> PathBuf { dir.join(name) };
    let exit_file = path("exit");
    let cast_file = path("show.cast");
    let workload = format!(
        "cmd:{} etcd --duration 240s --endpoints {}",
        loadgen_bin().display(),
        endpoints()
    );
    let host = [
        host_bin().to_string_lossy().into_owned(),
        "--flow".into(),
        flow_wasm("etcd").to_string_lossy().into_owned(),
        "--project".into(),
        project.clone(),
        "--state-dir".into(),
        path("state").to_string_lossy().into_owned(),
        "--log".into(),
        path("host.log").to_string_lossy().into_owned(),
        "--record".into(),
        cast_file.to_string_lossy().into_owned(),
        "--workload".into(),
        workload,
    ];
    let host = shell_words(&host);
    // The exit status goes to a file: the pane closes when the host ends.
    let command = format!(
        "{host} 2>{}; echo $? > {}",
        shell_quote(&path("stderr").to_string_lossy()),
        shell_quote(&exit_file.to_string_lossy())
    );
    let tmux = Tmux::start(
        &format!("ui-tmux-{}", std::process::id()),
        &command,
        &dir.to_string_lossy(),
    );
    let long = Duration::from_secs(90);

    // First run of this pack: the presenter is asked, in the terminal.
    let consent = tmux.wait_for("the consent screen", long, |s| {
        s.contains("asks for permission") && s.contains("kill:etcd*")
    });
    show("consent", &consent);
    tmux.keys(&["a"]);
    tmux.wait_for("the intro", long, |s| s.contains("Chapter 1/10: Intro"));
    tmux.keys(&["Space"]);
    tmux.wait_for("cluster health", long, |s| {
        s.contains("Chapter 2/10") && s.matches("running").count() >= 3
    });
    tmux.keys(&["Space"]);
    // Chapter 3 measures the baseline from the load generator's own output.
    let before = tmux.wait_for("a measured baseline", Duration::from_secs(120), |s| {
        s.contains("Chapter 3/10")
            && s.contains(" normal ")
            && regex_like_baseline(s)
            && !s.contains("Running…")
    });
    show("before the fault", &before);
    assert!(before.contains("Narration") && before.contains("Cluster"));
    assert!(before.contains("Events") && before.contains("? help"));

    // Help overlay opens and closes.
    tmux.keys(&["?"]);
    tmux.wait_for("the help overlay", long, |s| {
        s.contains("previous (narration only)")
    });
    tmux.keys(&["?"]);
    tmux.wait_for("the help overlay to close", long, |s| {
        !s.contains("previous (narration only)")
    });

    tmux.keys(&["Space"]);
    let countdown = tmux.wait_for("the first countdown", long, |s| {
        s.contains("Killing a follower in") && s.contains("█████")
    });
    show("countdown", &countdown);
    assert!(countdown.contains("Q cancels"));
    // While the blocking chapter runs, next is refused and the footer says so.
    tmux.keys(&["Space"]);
    tmux.wait_for("the blocked-next notice", long, |s| {
        s.contains("next is blocked until it finishes")
    });
    // The follower is killed, seen exited, and started again.
    tmux.wait_for("chapter 4 to finish", long, |s| {
        s.contains("Chapter 4/10")
            && s.contains("running again")
            && !s.contains("next is blocked")
            && !s.contains("next unlocks")
    });

    tmux.keys(&["Space"]);
    tmux.wait_for("the leader countdown", long, |s| {
        s.contains("Killing the leader in")
    });
    tmux.wait_for("chapter 5 to finish", long, |s| {
        s.contains("Chapter 5/10")
            && s.contains("exited")
            && s.contains("Two members left")
            && !s.contains("next unlocks")
    });

    tmux.keys(&["Space"]);
    tmux.wait_for("the second countdown", long, |s| {
        s.contains("Killing a second member in")
    });
    let degraded = tmux.wait_for("the degraded workload", long, |s| {
        // The panel title, not the event log, which also names past changes.
        s.contains("Workload  DEGRADED") && s.matches(" exited ").count() >= 2
    });
    show("degraded", &degraded);
    // The workload panel's border is red on the title row.
    let escaped = tmux.capture_escaped();
    let title_row = escaped
        .lines()
        .find(|l| l.contains("Workload"))
        .expect("the workload panel");
    assert!(
        // tmux writes red as SGR 31 or as palette colour 1, by version.
        title_row.contains("\x1b[31m╭") || title_row.contains("\x1b[38;5;1m╭"),
        "the workload title row is not red: {title_row:?}"
    );

    // Q while two members are down: the host restores both and exits.
    tmux.keys(&["q"]);
    let exit = wait_for_file(&exit_file, Duration::from_secs(60))
        .unwrap_or_else(|| panic!("the host did not exit; screen:\n{}", tmux.capture()));
    let stderr = std::fs::read_to_string(path("stderr")).unwrap_or_default();
    assert_eq!(exit.trim(), "0", "host failed: {stderr}");
    let states = cluster.states().unwrap();
    assert_eq!(states.len(), 3, "{states:?}");
    for (service, state) in &states {
        assert_eq!(state, "running", "{service} left {state}: {states:?}");
    }

    // The recording is a valid asciicast v2 whose output drew the show.
    let cast = std::fs::read_to_string(&cast_file).unwrap();
    let mut lines = cast.lines();
    let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["version"], 2);
    assert_eq!(header["width"], WIDTH);
    assert_eq!(header["height"], HEIGHT);
    let mut output = String::new();
    for line in lines {
        let event: (f64, String, String) = serde_json::from_str(line).unwrap();
        if event.1 == "o" {
            output.push_str(&event.2);
        }
    }
    // Frames are diffs: only the cells that changed are written, so look for
    // words that appear whole when they first show.
    for text in ["Intro", "quorum", "FAULT INJECTED", "DEGRADED", "Restoring"] {
        assert!(output.contains(text), "the recording never drew {text:?}");
    }
    let log = std::fs::read_to_string(path("host.log")).unwrap();
    assert!(log.contains("flow etcd"), "the log went elsewhere: {log}");

    drop(tmux);
    drop(cluster);
    std::fs::remove_dir_all(dir).ok();
}

/// "baseline 1234" with digits, not the "–" shown before it is measured.
fn regex_like_baseline(screen: &str) -> bool {
    screen
        .split("baseline ")
        .skip(1)
        .any(|rest| rest.chars().next().is_some_and(|c| c.is_ascii_digit()))
}

/// The tmux pane title, which an OSC 2 from the host's output would change.
fn pane_title(tmux: &Tmux) -> String {
    let output = run(tmux.cmd().args(["display-message", "-p", "#{pane_title}"])).unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn assert_no_flow_junk(what: &str, screen: &str) {
    for junk in ["PWNED", "]2;", "]52;", "UFdORUQ", "[31;1m", "P+q544e"] {
        assert!(!screen.contains(junk), "{what} shows {junk:?}:\n{screen}");
    }
}

#[test]
fn a_packs_escape_sequences_never_reach_the_presenters_terminal() {
    let dir = temp_dir("tui-escapes");
    let path = |name: &str| -> PathBuf { dir.join(name) };
    let cast_file = path("show.cast");
    let exit_file = path("exit");
    let host = [
        host_bin().to_string_lossy().into_owned(),
        "--flow".into(),
        e2e::hostile_wasm("escapes").to_string_lossy().into_owned(),
        "--project".into(),
        "tui-escapes-never-created".into(),
        "--state-dir".into(),
        path("state").to_string_lossy().into_owned(),
        "--log".into(),
        path("host.log").to_string_lossy().into_owned(),
        "--record".into(),
        cast_file.to_string_lossy().into_owned(),
    ];
    let host = shell_words(&host);
    let command = format!(
        "{host} 2>{}; echo $? > {}",
        shell_quote(&path("stderr").to_string_lossy()),
        shell_quote(&exit_file.to_string_lossy())
    );
    let tmux = Tmux::start(
        &format!("tui-escapes-{}", std::process::id()),
        &command,
        &dir.to_string_lossy(),
    );
    // tmux keeps what an OSC 52 writes as a paste buffer when allowed to.
    run(tmux.cmd().args(["set-option", "-g", "set-clipboard", "on"])).unwrap();
    run(tmux.cmd().args(["select-pane", "-T", "presenter"])).unwrap();
    let long = Duration::from_secs(60);

    let consent = tmux.wait_for("the consent screen", long, |s| {
        s.contains("asks for permission")
    });
    show("consent with a hostile name", &consent);
    assert_no_flow_junk("the consent screen", &consent);
    assert!(consent.contains("evil"), "{consent}");
    tmux.keys(&["a"]);
    let dashboard = tmux.wait_for("the chapter's error", long, |s| s.contains("errorerror"));
    show("dashboard with hostile text", &dashboard);
    assert_no_flow_junk("the dashboard", &dashboard);
    assert!(dashboard.contains("narrationnarration"), "{dashboard}");
    let escaped = tmux.capture_escaped();
    assert!(
        !escaped.contains("\u{1b}]"),
        "an OSC sequence reached the screen"
    );
    assert_eq!(pane_title(&tmux), "presenter", "the flow retitled the pane");
    let buffers = run(tmux.cmd().arg("list-buffers")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&buffers.stdout).trim(),
        "",
        "the flow wrote to the clipboard"
    );

    tmux.keys(&["q"]);
    let status = wait_for_file(&exit_file, long).expect("the host never exited");
    assert_eq!(
        status.trim(),
        "0",
        "{}",
        std::fs::read_to_string(path("stderr")).unwrap_or_default()
    );
    let cast = std::fs::read_to_string(&cast_file).unwrap();
    assert_no_flow_junk("the recording", &cast);
    assert!(!cast.contains("\\u001b]"), "an OSC sequence was recorded");
    let stderr = std::fs::read_to_string(path("stderr")).unwrap_or_default();
    assert_no_flow_junk("stderr", &stderr);
    std::fs::remove_dir_all(dir).ok();
}

/// Ports of the blocking pack's own cluster and its never-answering server.
const BLOCKING_PORTS: EtcdPorts = ["24826", "24827", "24828"];
const HANGING_SERVER: &str = "127.0.0.1:24840";

fn now_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn q_in_the_terminal_exits_promptly_whatever_the_chapter_is_stuck_in() {
    let project = format!("tui-block-{}", std::process::id());
    let cluster = etcd_cluster_up(&project, BLOCKING_PORTS);
    let hanging = std::net::TcpListener::bind(HANGING_SERVER).unwrap();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for stream in hanging.incoming().flatten() {
            keep.lock().unwrap().push(stream);
        }
    });
    for (index, title) in e2e::BLOCKING_CHAPTERS {
        let dir = temp_dir(&format!("tui-block-{index}"));
        let path = |name: &str| -> PathBuf { dir.join(name) };
        let exit_file = path("exit");
        let host = [
            host_bin().to_string_lossy().into_owned(),
            "--flow".into(),
            e2e::hostile_wasm("blocking").to_string_lossy().into_owned(),
            "--yes".into(),
            "--project".into(),
            project.clone(),
            "--state-dir".into(),
            path("state").to_string_lossy().into_owned(),
        ];
        let host = shell_words(&host);
        // The exit time in ns, then the status: the pane closes after.
        let command = format!(
            "{host} 2>{}; s=$?; date +%s%N > {}.t; echo $s > {}",
            shell_quote(&path("stderr").to_string_lossy()),
            shell_quote(&exit_file.to_string_lossy()),
            shell_quote(&exit_file.to_string_lossy())
        );
        let tmux = Tmux::start(
            &format!("tui-block-{}-{index}", std::process::id()),
            &command,
            &dir.to_string_lossy(),
        );
        let long = Duration::from_secs(60);
        tmux.wait_for("the first chapter", long, |s| s.contains("Chapter 1/8"));
        // Through the earlier chapters before they arm (300 ms), to this one.
        for _ in 0..index {
            tmux.keys(&["Space"]);
            std::thread::sleep(Duration::from_millis(60));
        }
        let stuck = tmux.wait_for(title, long, |s| s.contains(&format!("Stuck: {title}")));
        std::thread::sleep(Duration::from_millis(1500));
        let pressed = now_ns();
        tmux.keys(&["q"]);
        let status = wait_for_file(&exit_file, long).unwrap_or_else(|| {
            panic!(
                "{title}: the host never exited; last screen:\n{}",
                tmux.capture()
            )
        });
        let exited: u128 = std::fs::read_to_string(path("exit.t"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let took = Duration::from_nanos((exited.saturating_sub(pressed)) as u64);
        eprintln!(
            "FIGURE terminal Q -> exit, {title:?}: {} ms",
            took.as_millis()
        );
        assert_eq!(
            status.trim(),
            "0",
            "{title}: {}\n{stuck}",
            std::fs::read_to_string(path("stderr")).unwrap_or_default()
        );
        assert!(
            took < Duration::from_secs(4),
            "{title}: {took:?} from Q to exit"
        );
        let states = cluster.states().unwrap();
        assert!(
            states.iter().all(|(_, s)| s == "running"),
            "{title}: {states:?}"
        );
        drop(tmux);
        std::fs::remove_dir_all(dir).ok();
    }
}
