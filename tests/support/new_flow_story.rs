//! What both author's-path tests (`host new-flow` in Rust and in Python)
//! check: the generated flow inspects as generated, runs unchanged on a real
//! cluster, and `--watch` picks up a changed flow while the show runs.

use crate::show::{Headless, KillOnDrop, assert_completed, events, host_in, transcript_so_far};
use crate::{
    EtcdPorts, assert_all_running, etcd_cluster_up, host_bin, read_stderr, read_transcript,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A guard against a hung show of a generated flow; never a measure of speed.
const RUN_LIMIT: Duration = Duration::from_secs(180);

/// Checks what `host inspect` says of the freshly generated flow `wasm`
/// (generated as `NAME --services 'etcd*'`): its name, the kill chapter,
/// the kill it declares. Returns the output for the language's own checks.
pub fn assert_inspects_as_generated(wasm: &Path, name: &str, cwd: &Path) -> String {
    let (ok, out, err) = host_in(&["inspect", &wasm.to_string_lossy()], cwd);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("flow:        {name} 0.1.0")), "{out}");
    assert!(out.contains("3. Kill a node  [blocks-advance]"), "{out}");
    assert!(out.contains("fault kill on services 'etcd*'"), "{out}");
    out
}

/// Runs the generated flow `wasm`, unchanged, headless on a fresh
/// three-member etcd cluster (project `PREFIX-PID` on `ports`; state and
/// transcript in `dir`), and checks what a generated flow does there: the
/// host exited successfully, no error at all, its kill of an etcd member
/// seen by Docker (exited, then running again: the flow started it), one
/// `done`, completed with no fault outstanding, every member running.
/// Returns the transcript.
pub fn assert_runs_on_a_real_cluster(
    wasm: &Path,
    project_prefix: &str,
    ports: EtcdPorts,
    dir: &Path,
) -> Vec<Value> {
    let project = format!("{project_prefix}-{}", std::process::id());
    let cluster = etcd_cluster_up(&project, ports);
    let show = Headless::new(wasm, &project, dir);
    let output = show.run(RUN_LIMIT);
    assert!(
        output.status.success(),
        "host failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let t = read_transcript(&show.transcript).unwrap();
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
    assert_completed(&t);
    assert_all_running(&cluster);
    drop(cluster);
    t
}

/// A picker for [`Watch::wait_for`]: a chapter's narration containing `text`.
pub fn narrated_chapter(text: &str) -> impl Fn(&[Value]) -> bool + '_ {
    move |t: &[Value]| {
        t.iter().any(|e| {
            e["event"] == "narration"
                && e["mode"] == "chapter"
                && e["text"].as_str().is_some_and(|s| s.contains(text))
        })
    }
}

/// A headless show of the flow file `flow` under `--watch`, on an empty
/// project `PREFIX-PID` (the second chapter of the flows it runs only lists
/// containers), held on its second chapter (`space 600s q`) until the test
/// ends it; killed if the test fails first.
pub struct Watch {
    host: KillOnDrop,
    transcript: PathBuf,
}

impl Watch {
    pub fn start(flow: &Path, project_prefix: &str, dir: &Path) -> Self {
        let project = format!("{project_prefix}-{}", std::process::id());
        let transcript = dir.join("run.jsonl");
        let child = Command::new(host_bin())
            .args(["--flow", &flow.to_string_lossy(), "--headless", "--watch"])
            .args(["--yes", "--keys", "space 600s q", "--project", &project])
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("--transcript")
            .arg(&transcript)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the host");
        Watch {
            host: KillOnDrop(child),
            transcript,
        }
    }

    /// Waits (`limit` at most) until the transcript written so far satisfies
    /// `pred`; panics naming `what` and showing the transcript otherwise.
    pub fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&[Value]) -> bool) {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if pred(&transcript_so_far(&self.transcript)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "never saw {what}: {:?}",
            transcript_so_far(&self.transcript)
        );
    }

    /// Ends the show with SIGTERM and checks how it ended: the host wrote
    /// its `done` (reason SIGTERM) and exited successfully; the transcript
    /// shows the intro, chapter 2, and chapter 2 again under the reloaded
    /// flow, and no fault. Returns the transcript.
    pub fn stop_after_one_reload(mut self) -> Vec<Value> {
        let status = Command::new("kill")
            .args(["-TERM", &self.host.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.wait_for("the host finishing", Duration::from_secs(60), |t| {
            t.iter().any(|e| e["event"] == "done")
        });
        let exit = self.host.0.wait().unwrap();
        let err = read_stderr(&mut self.host.0);
        assert!(exit.success(), "host failed: {err}");

        let t = read_transcript(&self.transcript).unwrap();
        let chapters: Vec<u64> = events(&t, "chapter")
            .iter()
            .map(|e| e["index"].as_u64().unwrap())
            .collect();
        assert_eq!(chapters, [0, 1, 1], "{t:?}");
        let done = events(&t, "done");
        assert_eq!(done[0]["reason"], "SIGTERM");
        assert!(t.iter().all(|e| e["event"] != "fault"));
        t
    }
}
