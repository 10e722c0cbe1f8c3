//! A real terminal for the UI tests: a tmux server on a private socket,
//! `send-keys` in, `capture-pane` out.

use crate::run;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The size of every test terminal.
pub const WIDTH: u16 = 120;
pub const HEIGHT: u16 = 36;

/// A tmux server on a private socket, killed (with everything in it) on drop.
pub struct Tmux {
    socket: String,
    /// A string unique to the host's command line (its temp dir), to wait for
    /// the host to finish restoring before the cluster is torn down.
    marker: String,
}

impl Tmux {
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-L").arg(&self.socket).stdin(Stdio::null());
        cmd
    }

    pub fn start(socket: &str, command: &str, marker: &str) -> Tmux {
        let tmux = Tmux {
            socket: socket.to_string(),
            marker: marker.to_string(),
        };
        let output = run(tmux.cmd().args([
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            &WIDTH.to_string(),
            "-y",
            &HEIGHT.to_string(),
            command,
        ]))
        .unwrap();
        assert!(
            output.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        tmux
    }

    pub fn capture(&self) -> String {
        let output = run(self.cmd().args(["capture-pane", "-p"])).unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The screen with colours as SGR escapes.
    pub fn capture_escaped(&self) -> String {
        let output = run(self.cmd().args(["capture-pane", "-p", "-e"])).unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        let status = self
            .cmd()
            .arg("send-keys")
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Polls the screen until `pred` holds; fails with the last screen after
    /// `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            if started.elapsed() > limit {
                panic!("waited {limit:?} for {what}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
        // The host restores its faults on SIGHUP; let it finish first, or it
        // may start a container the compose teardown is removing.
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            let running = Command::new("pgrep")
                .args(["-f", &self.marker])
                .stdout(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !running {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The host's command line for a shell, each argument quoted.
pub fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Tmux {
    /// Runs `command` in another window of the same server (a second
    /// terminal beside the first); returns the window's id (`@1`) to address
    /// it by, which stays its own when other windows close.
    pub fn open_window(&self, command: &str) -> String {
        let output =
            run(self
                .cmd()
                .args(["new-window", "-d", "-P", "-F", "#{window_id}", command]))
            .unwrap();
        assert!(
            output.status.success(),
            "tmux new-window failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// The screen of window `target` (an id from [`Tmux::open_window`]).
    pub fn capture_of(&self, target: &str) -> String {
        let output = run(self.cmd().args(["capture-pane", "-p", "-t", target])).unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn keys_to(&self, target: &str, keys: &[&str]) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", target])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// [`Tmux::wait_for`] on window `target`.
    pub fn wait_for_in(
        &self,
        target: &str,
        what: &str,
        limit: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let started = Instant::now();
        loop {
            let screen = self.capture_of(target);
            if pred(&screen) {
                return screen;
            }
            if started.elapsed() > limit {
                panic!("waited {limit:?} for {what} in {target}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

pub fn show(title: &str, screen: &str) {
    eprintln!("===== {title} =====\n{screen}\n===== end {title} =====");
}
