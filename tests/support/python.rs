//! The Python flows (guest-sdk-py) for the tests: built with the SDK's own
//! `build.sh` (componentize-py) into `target/python/`, where
//! scripts/build-flows.sh puts them too, and rebuilt only when a source is
//! newer than the component (a build takes ~30 s and an 18 MB component).

use crate::{target_dir, workspace_root};
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

/// The shipped Python flows and test packs, by name: where their app lives.
fn app_dir(name: &str) -> PathBuf {
    let root = workspace_root();
    match name {
        "etcd-py" => root.join("chapters-wasm/etcd-py"),
        "hostile-py" => root.join("tests/guests/hostile-py"),
        other => panic!("no Python flow called {other}"),
    }
}

/// The newest modification time of the files under `dir` (recursively),
/// leaving out caches and the tests (they are not part of a component).
fn newest(dir: &Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return newest;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == "__pycache__" || name == "tests" || name.starts_with('.') {
            continue;
        }
        let modified = if path.is_dir() {
            newest_of(&path)
        } else {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH)
        };
        newest = newest.max(modified);
    }
    newest
}

fn newest_of(path: &Path) -> SystemTime {
    if path.is_dir() {
        newest(path)
    } else {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }
}

/// Whether `out` is older than any of `inputs` (or missing).
fn stale(out: &Path, inputs: &[PathBuf]) -> bool {
    let Ok(built) = std::fs::metadata(out).and_then(|m| m.modified()) else {
        return true;
    };
    inputs.iter().any(|input| newest_of(input) > built)
}

/// Builds the Python flow in `app_dir` into `out` with
/// `guest-sdk-py/build.sh` (one command, as an author runs it).
pub fn build_python_flow(app_dir: &Path, out: &Path) -> Result<()> {
    let script = workspace_root().join("guest-sdk-py/build.sh");
    let output = Command::new(&script)
        .arg(app_dir)
        .arg(out)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !output.status.success() {
        bail!(
            "{} {} failed: {}{}",
            script.display(),
            app_dir.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// `target/python/NAME.wasm`, built first when it is missing or older than
/// its app, the SDK, the SDK's build script or the WIT. Once per process
/// per flow; tests in one binary share it.
pub fn python_flow_wasm(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let root = workspace_root();
    let app = app_dir(name);
    let out = target_dir().join(format!("python/{name}.wasm"));
    let inputs = [
        app.clone(),
        root.join("guest-sdk-py/guest_sdk"),
        root.join("guest-sdk-py/build.sh"),
        root.join("wit/v0.2.0"),
    ];
    if stale(&out, &inputs) {
        build_python_flow(&app, &out).unwrap_or_else(|e| panic!("building {name}: {e:#}"));
    }
    built.insert(name.to_string(), out.clone());
    out
}

/// Runs `python3 -m unittest discover DIR` (plain Python, no host) and
/// returns its report; fails when a test fails.
pub fn python_unittests(dir: &Path) -> Result<String> {
    let output = Command::new("python3")
        .args(["-m", "unittest", "discover", "-v"])
        .arg(dir)
        .current_dir(workspace_root())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .context("running python3 -m unittest")?;
    let report = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        bail!("python3 -m unittest discover {}:\n{report}", dir.display());
    }
    Ok(report)
}
