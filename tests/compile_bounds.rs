//! Compiling a pack is bounded (issue 23): `host inspect` on compile bombs
//! is refused in one line naming the bound, before anything compiles, with
//! the host's memory (its compile child's included) under a cap; a flow
//! that passes the shape check still compiles under a memory cap and a
//! deadline in a child process that dies with the host.
//! Figures are printed (`--nocapture`); BENCHMARKS.md, "Compile bounds",
//! has the before/after measurements.

use e2e::python::python_flow_wasm;
use e2e::show::inspect_command;
use e2e::{bombs, flow_wasm, host_bin, temp_dir};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Peak RSS of `host inspect` and its compile child refusing a bomb: the
/// host alone is ~25 MB, and the file is read once (a few MB).
const MAX_RSS_KB: i64 = 200 * 1024;
/// Beyond this the host is hung, not slow: the test kills it and fails.
const HANG: Duration = Duration::from_secs(120);

struct Finished {
    code: Option<i32>,
    stderr: String,
    stdout: String,
    peak_rss_kb: i64,
    took: Duration,
}

/// Runs `host ARGS` with `env`, reaping it with wait4 for its peak RSS
/// (the maximum of the host and of every child it reaped: the compile
/// child). Linux also counts the peak of this test process up to the spawn
/// (exec records the old mm's), so the figure is an upper bound: the tests
/// keep their own memory small (the bombs are a few MB).
fn host(args: &[&std::ffi::OsStr], env: &[(&str, &std::ffi::OsStr)]) -> Finished {
    let out_dir = temp_dir(&unique("compile-bounds-out"));
    let stdout_path = out_dir.join("stdout");
    let stderr_path = out_dir.join("stderr");
    let mut command = Command::new(host_bin());
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    for (name, value) in env {
        command.env(name, value);
    }
    let started = Instant::now();
    // Reaped below by wait4 (for its rusage), not by `Child::wait`.
    #[allow(clippy::zombie_processes)]
    let child = command.spawn().expect("starting the host");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(reaped >= 0, "wait4: {}", std::io::Error::last_os_error());
        if reaped == pid {
            break;
        }
        if started.elapsed() > HANG {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            panic!("host {args:?} still ran after {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = started.elapsed();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let finished = Finished {
        code,
        stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
        stdout: std::fs::read_to_string(&stdout_path).unwrap_or_default(),
        peak_rss_kb: usage.ru_maxrss,
        took,
    };
    let _ = std::fs::remove_dir_all(&out_dir);
    finished
}

/// A directory name of its own for each run: the tests run in parallel,
/// and `temp_dir` empties the directory it is given.
fn unique(name: &str) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{name}-{n}")
}

fn inspect(path: &Path, cache: &Path, env: &[(&str, &std::ffi::OsStr)]) -> Finished {
    let state = temp_dir(&unique("compile-bounds-state"));
    let mut all: Vec<(&str, &std::ffi::OsStr)> = vec![("CHAOS_DEMO_CACHE_DIR", cache.as_os_str())];
    all.extend_from_slice(env);
    let finished = host(
        &[
            "inspect".as_ref(),
            path.as_os_str(),
            "--state-dir".as_ref(),
            state.as_os_str(),
        ],
        &all,
    );
    let _ = std::fs::remove_dir_all(&state);
    finished
}

#[test]
fn every_compile_bomb_is_refused_in_one_line_before_compiling() {
    let dir = temp_dir("compile-bombs");
    let cache = dir.join("cache");
    let expected = [
        (
            "many-locals",
            "declares 40000 locals; a flow may declare at most",
        ),
        ("empty-functions", "declares 1000000 functions"),
        ("deep-blocks", "nests blocks 10001 deep"),
        ("huge-table", "declares a table of 100000000 elements"),
        ("data-segments", "declares 1000000 data segments"),
        ("many-modules", "more than 256 core modules"),
        ("nested-components", "it nests components 17 deep"),
    ];
    let bombs = bombs::all();
    assert_eq!(bombs.len(), expected.len());
    for (bomb, (name, says)) in bombs.iter().zip(expected) {
        assert_eq!(bomb.name, name);
        let path = dir.join(format!("{name}.wasm"));
        std::fs::write(&path, &bomb.bytes).unwrap();
        let run = inspect(&path, &cache, &[]);
        println!(
            "FIGURE bomb {name} ({} KB): refused in {} ms, peak RSS {} MB: {}",
            bomb.bytes.len() >> 10,
            run.took.as_millis(),
            run.peak_rss_kb >> 10,
            run.stderr.trim()
        );
        assert_eq!(run.code, Some(1), "{name}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{name}: {}", run.stdout);
        assert_eq!(run.stderr.lines().count(), 1, "{name}: {}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("{}: refused before compiling: ", path.display()))
                && run.stderr.contains(says),
            "{name}: {}",
            run.stderr
        );
        assert!(
            run.peak_rss_kb < MAX_RSS_KB,
            "{name}: peak RSS {} kB",
            run.peak_rss_kb
        );
    }
    // Nothing was compiled, so nothing was cached.
    let cached = std::fs::read_dir(&cache).map(|d| d.count()).unwrap_or(0);
    assert_eq!(cached, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_compile_over_its_memory_cap_is_refused_naming_the_cap() {
    let dir = temp_dir("compile-memory");
    let run = inspect(
        &python_flow_wasm("etcd-py"),
        &dir.join("cache"),
        &[("CHAOS_DEMO_COMPILE_MEMORY_MIB", "100".as_ref())],
    );
    println!(
        "FIGURE python flow under a 100 MiB compile cap: {} ms, peak RSS {} MB: {}",
        run.took.as_millis(),
        run.peak_rss_kb >> 10,
        run.stderr.trim()
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("refused while compiling: compiling it needed more than 100 MiB of memory"),
        "{}",
        run.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_compile_past_its_deadline_is_killed_naming_the_deadline() {
    let dir = temp_dir("compile-deadline");
    let run = inspect(
        &python_flow_wasm("etcd-py"),
        &dir.join("cache"),
        &[
            ("CHAOS_DEMO_COMPILE_SECONDS", "1".as_ref()),
            // Slower than Winch: surely more than a second for 18 MB.
            ("CHAOS_DEMO_COMPILER", "cranelift".as_ref()),
        ],
    );
    println!(
        "FIGURE python flow under a 1 s compile deadline: {} ms: {}",
        run.took.as_millis(),
        run.stderr.trim()
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("refused while compiling: compiling it took longer than 1 s"),
        "{}",
        run.stderr
    );
    assert!(run.took < Duration::from_secs(30), "{:?}", run.took);
    let cached = std::fs::read_dir(dir.join("cache"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(cached, 0, "a killed compile leaves nothing in the cache");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_a_cache_the_child_compiles_to_a_private_file_that_is_removed() {
    let dir = temp_dir("compile-nocache");
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let run = inspect(
        &flow_wasm("etcd"),
        // Empty: the cache is off.
        Path::new(""),
        &[("TMPDIR", tmp.as_os_str())],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.contains("flow:        etcd 0.1.0"),
        "{}",
        run.stdout
    );
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_compile_child_dies_with_the_host() {
    let dir = temp_dir("compile-pdeathsig");
    let state = dir.join("state");
    // Cranelift on the Python flow: seconds of compiling to interrupt.
    let mut host = inspect_command(&python_flow_wasm("etcd-py"), &state)
        .env("CHAOS_DEMO_CACHE_DIR", dir.join("cache"))
        .env("CHAOS_DEMO_COMPILER", "cranelift")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The child appears once the host has read and checked the pack; until
    // it has exec'd, it still reads as the host.
    let started = Instant::now();
    let child_pid = loop {
        let children =
            std::fs::read_to_string(format!("/proc/{}/task/{}/children", host.id(), host.id()))
                .unwrap_or_default();
        let compiling = children.split_whitespace().find(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&cmdline).contains("__compile")
        });
        if let Some(pid) = compiling {
            break pid.to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no compile child appeared"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    // Ctrl-C to the host alone (a terminal would send it to the child too):
    // the child must die because its parent did.
    unsafe { libc::kill(host.id() as libc::pid_t, libc::SIGINT) };
    let status = host.wait().unwrap();
    assert!(!status.success());
    let gone = Instant::now();
    // Gone, or a zombie nobody reaped yet (PID 1 in a container may not).
    let alive = || {
        let stat = std::fs::read_to_string(format!("/proc/{child_pid}/stat")).unwrap_or_default();
        let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
        matches!(state, Some(Some(s)) if s != 'Z' && s != 'X')
    };
    while alive() {
        assert!(
            gone.elapsed() < Duration::from_secs(5),
            "the compile child {child_pid} outlived the host"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Not a test: writes the bombs to $COMPILE_BOMBS_DIR for
/// scripts/compile-bounds.sh, which measures the host on them.
#[test]
#[ignore = "a tool: writes the bombs for scripts/compile-bounds.sh"]
fn write_compile_bombs() {
    let dir = std::env::var_os("COMPILE_BOMBS_DIR").expect("set COMPILE_BOMBS_DIR");
    std::fs::create_dir_all(&dir).unwrap();
    for bomb in bombs::all().into_iter().chain(bombs::for_measuring()) {
        std::fs::write(
            Path::new(&dir).join(format!("{}.wasm", bomb.name)),
            &bomb.bytes,
        )
        .unwrap();
    }
}

#[test]
fn the_python_flow_compiles_within_the_bounds_and_is_cached() {
    let dir = temp_dir("compile-python");
    let cache = dir.join("cache");
    let flow = python_flow_wasm("etcd-py");
    let cold = inspect(&flow, &cache, &[]);
    assert_eq!(cold.code, Some(0), "{}", cold.stderr);
    assert!(
        cold.stdout.contains("flow:        etcd-py 0.1.0"),
        "{}",
        cold.stdout
    );
    let entries: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "one entry, no temp file left: {entries:?}"
    );
    let warm = inspect(&flow, &cache, &[]);
    assert_eq!(warm.code, Some(0), "{}", warm.stderr);
    println!(
        "FIGURE python flow inspect: cold {} ms, peak RSS {} MB; cached {} ms, peak RSS {} MB; entry {} MB",
        cold.took.as_millis(),
        cold.peak_rss_kb >> 10,
        warm.took.as_millis(),
        warm.peak_rss_kb >> 10,
        std::fs::metadata(&entries[0]).unwrap().len() >> 20
    );
    let _ = std::fs::remove_dir_all(&dir);
}
