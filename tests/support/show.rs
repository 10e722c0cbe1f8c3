//! A host run as every test reads it: its output as text, its transcript
//! (whole, or as far as written), the errors and times in it, and the
//! process itself (`host inspect`, the arguments of a headless show, a
//! guard that kills a host a failed test left running).

use crate::{host_bin, run, run_host};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::Duration;

/// Bytes a process wrote, as text (invalid UTF-8 replaced).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `(succeeded, stdout, stderr)` of a finished process.
pub fn outcome(output: &Output) -> (bool, String, String) {
    (
        output.status.success(),
        text(&output.stdout),
        text(&output.stderr),
    )
}

/// Checks that `message` is one line (surrounding whitespace aside) and not
/// a panic of the host: what a presenter is told when something is refused.
pub fn assert_one_line(message: &str) {
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

/// The transcript's events of one kind (`"fault"`, `"done"`, …), in order.
pub fn events<'a>(transcript: &'a [Value], kind: &str) -> Vec<&'a Value> {
    transcript.iter().filter(|e| e["event"] == kind).collect()
}

/// The time (`t_ms`) of the first transcript event that `pred` picks;
/// panics, naming `what`, if there is none.
pub fn t_ms(t: &[Value], what: &str, pred: impl Fn(&Value) -> bool) -> u64 {
    t.iter()
        .find(|e| pred(e))
        .and_then(|e| e["t_ms"].as_u64())
        .unwrap_or_else(|| panic!("no {what} in the transcript"))
}

/// The error the host reported for the chapter titled `title`, checked to
/// be there and to be one line (a flow's panic may say "panicked": see
/// [`error_of`]).
pub fn one_line_error_of<'a>(t: &'a [Value], title: &str) -> &'a str {
    let message = crate::chapter_error(t, title)
        .unwrap_or_else(|| panic!("chapter {title} reported no error"));
    assert_eq!(
        message.trim().lines().count(),
        1,
        "not one line:\n{message}"
    );
    message
}

/// The error the host reported for the chapter titled `title`, checked to
/// be there, one line and no panic ([`assert_one_line`]).
pub fn error_of<'a>(t: &'a [Value], title: &str) -> &'a str {
    let message = one_line_error_of(t, title);
    assert_one_line(message);
    message
}

/// Checks that the show ended on its own: one `done`, reason `completed`,
/// no fault outstanding.
pub fn assert_completed(t: &[Value]) {
    let done = events(t, "done");
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0]["reason"], "completed");
    assert_eq!(done[0]["outstanding_faults"], 0);
}

/// The complete transcript lines written so far (the host may be mid-line).
pub fn transcript_so_far(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// A child process killed (SIGKILL) and reaped when the guard drops: a
/// host a failed assertion would otherwise leave running.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `host inspect PATH --state-dir STATE`, to add to (environment, pipes).
pub fn inspect_command(path: &Path, state_dir: &Path) -> Command {
    let mut cmd = Command::new(host_bin());
    cmd.arg("inspect")
        .arg(path)
        .arg("--state-dir")
        .arg(state_dir);
    cmd
}

/// `host inspect PATH` with its own state directory (grants made elsewhere
/// do not count), run to its end.
pub fn inspect(path: &Path, state_dir: &Path) -> Output {
    run(&mut inspect_command(path, state_dir)).unwrap()
}

/// `host ARGS` run in `cwd`, as a person types it there: `(succeeded,
/// stdout, stderr)`.
pub fn host_in(args: &[&str], cwd: &Path) -> (bool, String, String) {
    outcome(&run(Command::new(host_bin()).args(args).current_dir(cwd)).unwrap())
}

/// The arguments of a headless show, the fixture every headless run of the
/// tests starts from: `--flow FLOW --headless --project PROJECT --state-dir
/// DIR/state --transcript DIR/run.jsonl`, then `--workload` and `--keys` if
/// given.
pub struct Headless {
    /// The state directory (`DIR/state`): the ledger, the grants.
    pub state: PathBuf,
    /// The transcript file (`DIR/run.jsonl`).
    pub transcript: PathBuf,
    args: Vec<String>,
}

impl Headless {
    pub fn new(flow: &Path, project: &str, dir: &Path) -> Self {
        let state = dir.join("state");
        let transcript = dir.join("run.jsonl");
        let args = vec![
            "--flow".into(),
            flow.to_string_lossy().into_owned(),
            "--headless".into(),
            "--project".into(),
            project.into(),
            "--state-dir".into(),
            state.to_string_lossy().into_owned(),
            "--transcript".into(),
            transcript.to_string_lossy().into_owned(),
        ];
        Headless {
            state,
            transcript,
            args,
        }
    }

    /// Reads the workload from `source` (`cmd:…`, `service:…`).
    pub fn workload(mut self, source: &str) -> Self {
        self.args.extend(["--workload".into(), source.into()]);
        self
    }

    /// Presses the keys of `script` (`"space space q"`) instead of running
    /// every chapter in turn.
    pub fn keys(mut self, script: &str) -> Self {
        self.args.extend(["--keys".into(), script.into()]);
        self
    }

    /// Any other arguments (`--hypothesis SPEC`, …).
    pub fn with(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    pub fn args(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }

    /// Runs the show to its end ([`run_host`]: consent given, the host
    /// stopped past `limit`).
    pub fn run(&self, limit: Duration) -> Output {
        run_host(&self.args(), limit).unwrap()
    }
}
