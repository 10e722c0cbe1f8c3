//! What both hostile suites (the Rust pack, tests/guests/hostile, and the
//! Python one, tests/guests/hostile-py) check: the pack runs headless on a
//! real compose project beside a bystander project, every attack ends as
//! its chapter's one-line error, nothing it tried reached the presenter's
//! files, environment, network or Docker, and the show goes on to its end
//! with both projects whole.

use crate::show::{error_of, t_ms};
use crate::{
    ComposeProject, EtcdPorts, assert_whole, etcd_project_up, host_bin, read_transcript, temp_dir,
};
use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A guard against a hung show (the Python pack's is the slower); never a
/// measure of speed.
const RUN_LIMIT: Duration = Duration::from_secs(240);

/// One hostile show, run to its end, and what it ran against.
pub struct HostileShow {
    /// The project the pack was pointed at.
    pub main: ComposeProject,
    /// A bystander project the pack must not reach.
    pub other: ComposeProject,
    /// The loopback listener the pack tries to connect to.
    pub listener: TcpListener,
    pub transcript: Vec<Value>,
    dir: PathBuf,
}

/// Brings up the etcd projects `main` and `other` (the bystander), binds
/// the loopback `listener` the pack tries to reach, and runs the pack
/// `wasm` headless (`--yes`) on `main` with `SB_SECRET=secret` in the
/// host's environment, to its end (killed past 240 s). Prints the
/// transcript, checks the host exited successfully.
pub fn run(
    wasm: &Path,
    main: (&str, EtcdPorts),
    other: (&str, EtcdPorts),
    listener: &str,
    secret: &str,
) -> HostileShow {
    let main = etcd_project_up(main.0, main.1);
    let other = etcd_project_up(other.0, other.1);
    let listener = TcpListener::bind(listener).unwrap();
    listener.set_nonblocking(true).unwrap();
    let dir = temp_dir(&main.name);
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
        .env("SB_SECRET", secret)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let limit = Instant::now() + RUN_LIMIT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > limit {
            let _ = child.kill();
            panic!("the host did not finish within {RUN_LIMIT:?}");
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
        String::from_utf8_lossy(&output.stderr)
    );
    HostileShow {
        main,
        other,
        listener,
        transcript: t,
        dir,
    }
}

impl HostileShow {
    /// "Open files": refused at `path` (the first file tried), nothing read.
    pub fn assert_files_refused(&self, path: &str) -> &str {
        let files = error_of(&self.transcript, "Open files");
        assert!(files.starts_with(&format!("files: {path}: ")), "{files}");
        assert!(!files.contains("LEAKED"), "{files}");
        files
    }

    /// "Read env": the pack saw no variable and no argument.
    pub fn assert_env_hidden(&self) -> &str {
        let env = error_of(&self.transcript, "Read env");
        assert!(env.starts_with("env: 0 variables, 0 arguments"), "{env}");
        assert!(!env.contains("LEAKED"), "{env}");
        env
    }

    /// "Open sockets": refused at the test's listener (`addr`), which no
    /// connection reached.
    pub fn assert_sockets_refused(&self, addr: &str) -> &str {
        let sockets = error_of(&self.transcript, "Open sockets");
        assert!(
            sockets.starts_with(&format!("sockets: tcp {addr}: ")),
            "{sockets}"
        );
        assert!(!sockets.contains("LEAKED"), "{sockets}");
        assert!(
            self.listener.accept().is_err(),
            "the guest connected to the test's listener"
        );
        sockets
    }

    /// "Undeclared service": every one of `attempts` (`"kill etcd2 → not
    /// permitted"`) reported, and nothing reached Docker for them either: no
    /// network-fault helper ever ran for the project (each carries its label).
    pub fn assert_undeclared_refused(&self, attempts: &[&str]) -> &str {
        let undeclared = error_of(&self.transcript, "Undeclared service");
        for attempt in attempts {
            assert!(undeclared.contains(attempt), "{attempt}: {undeclared}");
        }
        let helpers = Command::new("docker")
            .args(["ps", "-aq", "--filter"])
            .arg(format!("label=demo.netfault.project={}", self.main.name))
            .output()
            .expect("running docker");
        assert!(
            helpers.stdout.trim_ascii().is_empty(),
            "a network-fault helper ran"
        );
        undeclared
    }

    /// No fault of the pack reached Docker: the transcript has none.
    pub fn assert_no_fault(&self) {
        assert!(
            !self.transcript.iter().any(|e| e["event"] == "fault"),
            "a fault reached Docker"
        );
    }

    /// The chapter `index` titled `title` crashed the pack `pack` (0.1.0),
    /// the message saying so and then `says`.
    pub fn assert_crashed(&self, pack: &str, index: usize, title: &str, says: &str) -> &str {
        let message = error_of(&self.transcript, title);
        assert!(
            message.starts_with(&format!(
                "flow {pack} 0.1.0 crashed in chapter {index} \"{title}\": "
            )) && message.contains(says),
            "{message}"
        );
        message
    }

    /// The chapter `index` titled `title`, which computes without end, was
    /// stopped at the compute bound (2 s), within 10 s of its start.
    pub fn assert_spin_stopped(&self, pack: &str, index: usize, title: &str) -> &str {
        let t = &self.transcript;
        let spin = error_of(t, title);
        assert!(
            spin.starts_with(&format!(
                "flow {pack} 0.1.0 crashed in chapter {index} \"{title}\": computed for more than 2s"
            )),
            "{spin}"
        );
        let entered = t_ms(t, "the chapter's start", |e| {
            e["event"] == "chapter" && e["title"] == title
        });
        let stopped = t_ms(t, "the chapter's error", |e| {
            e["event"] == "error" && e["message"] == spin
        });
        eprintln!(
            "FIGURE {pack} {title:?}: stopped {} ms after the chapter began",
            stopped - entered
        );
        assert!(
            stopped - entered < 10_000,
            "{title} ran {} ms",
            stopped - entered
        );
        spin
    }

    /// The chapter titled `title` handed the host more in one call than it
    /// takes, and was refused before it was copied.
    pub fn assert_refused_as_too_big(&self, title: &str) -> &str {
        let refused = error_of(&self.transcript, title);
        assert!(
            refused.contains("handed the host more than 2 MiB in one call"),
            "{title}: {refused}"
        );
        refused
    }

    /// The show went on after every attack, to the end: the last chapter
    /// narrated, then `done`, completed, nothing outstanding; and both
    /// projects are whole (every member running, none frozen).
    pub fn assert_show_went_on(&self) {
        let t = &self.transcript;
        assert!(
            t.iter()
                .any(|e| e["event"] == "narration" && e["text"] == "still here after every attack"),
            "the last chapter did not run"
        );
        let done = t.last().unwrap();
        assert_eq!(done["event"], "done", "{done}");
        assert_eq!(done["reason"], "completed", "{done}");
        assert_eq!(done["outstanding_faults"], 0, "{done}");
        assert_whole(&self.main);
        assert_whole(&self.other);
    }
}

impl Drop for HostileShow {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}
