//! Running `tc` and `iptables` without a shell: an absolute path from a fixed
//! list of directories (no $PATH lookup), a clean environment with `LC_ALL=C`
//! (the "absent" classification reads English messages), and a time limit
//! (`iptables -w` waits for the xtables lock without one).

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The programs a plan may run, by the name in argv[0].
pub const PROGRAMS: &[&str] = &["tc", "iptables", "iptables-legacy"];

const DIRS: &[&str] = &["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// How long one tc/iptables command may take before it is killed.
pub const STEP_LIMIT: Duration = Duration::from_secs(10);

pub fn resolve(program: &str) -> Option<PathBuf> {
    if !PROGRAMS.contains(&program) {
        return None;
    }
    DIRS.iter()
        .map(|d| PathBuf::from(d).join(program))
        .find(|p| p.is_file())
}

pub struct Ran {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `argv` (argv[0] one of [`PROGRAMS`]) to completion or `limit`.
pub fn run(argv: &[String], limit: Duration) -> Ran {
    let failed = |stderr: String| Ran {
        ok: false,
        stdout: String::new(),
        stderr,
    };
    let Some((program, args)) = argv.split_first() else {
        return failed("empty step".into());
    };
    let Some(path) = resolve(program) else {
        return failed(format!("{program}: not found in {}", DIRS.join(":")));
    };
    let mut child = match Command::new(&path)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return failed(format!("{}: {e}", path.display())),
    };
    // Both pipes are drained by threads so a long `iptables -S` cannot fill a
    // pipe and block the child.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(p) = pipe {
                let _ = p.take(4 << 20).read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let started = Instant::now();
    let mut pause = Duration::from_micros(200);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < limit => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let stdout = out.join().unwrap_or_default();
    let mut stderr = err.join().unwrap_or_default();
    let ok = match status {
        Some(s) => s.success(),
        None => {
            stderr.push_str(&format!("killed after {limit:?}"));
            false
        }
    };
    Ran { ok, stdout, stderr }
}

/// The first few lines of a command's stderr, for the JSON reports.
pub fn first_lines(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .take(4)
        .collect();
    let mut joined = lines.join("\n");
    if joined.len() > 600 {
        let mut cut = 600;
        while !joined.is_char_boundary(cut) {
            cut -= 1;
        }
        joined.truncate(cut);
    }
    joined
}
