//! `host inspect` on the shipped flows, and the one-line errors bad files get.

use e2e::show::{inspect_command, outcome};
use e2e::{flow_wasm, temp_dir};
use std::path::Path;
use std::process::Stdio;

/// `host inspect PATH` with a private state directory (grants the user made
/// elsewhere don't count): `(succeeded, stdout, stderr)`.
fn inspect(path: &Path) -> (bool, String, String) {
    outcome(&e2e::show::inspect(path, &temp_dir("inspect-state")))
}

#[test]
fn inspect_shows_the_tikv_flow_chapters_and_capabilities() {
    let (ok, out, err) = inspect(&flow_wasm("tikv"));
    assert!(ok, "{err}");
    assert!(out.contains("flow:        tikv 0.1.0"), "{out}");
    assert!(out.contains("api:         demo:flow@0.3.0"), "{out}");
    assert!(
        out.contains("workload:    service:go-ycsb (default)"),
        "{out}"
    );
    for chapter in [
        "1. Intro",
        "2. Cluster health",
        "3. Workload baseline",
        "4. Fault injection  [blocks-advance, notes]",
        "5. Detection",
        "6. Recovery  [blocks-advance, auto-advance, notes]",
        "7. Complete",
    ] {
        assert!(out.contains(chapter), "missing {chapter:?} in\n{out}");
    }
    assert!(out.contains("fault kill on services 'tikv*'"), "{out}");
    assert!(out.contains("read the workload"), "{out}");
}

#[test]
fn inspect_shows_the_etcd_flow() {
    let (ok, out, err) = inspect(&flow_wasm("etcd"));
    assert!(ok, "{err}");
    assert!(out.contains("flow:        etcd 0.1.0"), "{out}");
    assert!(
        out.contains("4. Lose a follower  [blocks-advance, notes]"),
        "{out}"
    );
    assert!(
        out.contains("6. Lose quorum  [blocks-advance, notes]"),
        "{out}"
    );
    assert!(out.contains("fault kill on services 'etcd*'"), "{out}");
    // 0.2.0's network faults: the chapters, the actions and the peers.
    assert!(
        out.contains("8. Slow leader  [blocks-advance, notes]"),
        "{out}"
    );
    assert!(
        out.contains("9. Minority leader  [blocks-advance, notes]"),
        "{out}"
    );
    assert!(out.contains("fault shape on services 'etcd*'"), "{out}");
    assert!(out.contains("fault network on services 'etcd*'"), "{out}");
    assert!(
        out.contains("network faults of 'etcd*' may name services 'etcd*'  [peers:etcd*:etcd*: not granted yet]"),
        "{out}"
    );
    assert!(out.contains("memory:      64 MiB (the default)"), "{out}");
    // 0.3.0's steady-state hypotheses, as the presenter would write them.
    assert!(out.contains("api:         demo:flow@0.3.0"), "{out}");
    assert!(
        out.contains("  no-stale-reads@continuously,end\n  no-lost-writes@end\n"),
        "{out}"
    );
    // Nothing was granted in this state directory yet.
    assert!(out.contains("[kill:etcd*: not granted yet]"), "{out}");
}

#[test]
fn bad_files_get_one_line_errors_naming_the_file() {
    let dir = temp_dir("bad-files");
    let cases: [(&str, &[u8], &str); 4] = [
        ("text.wasm", b"hello, not wasm", "is not a WebAssembly file"),
        (
            "core.wasm",
            b"\0asm\x01\0\0\0",
            "is a core wasm module, not a component",
        ),
        (
            "truncated.wasm",
            b"\0asm\x0d\0\x01\0\x07\x05",
            "is not a valid wasm component",
        ),
        ("empty.wasm", b"", "is not a WebAssembly file"),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let (ok, _, err) = inspect(&path);
        assert!(!ok, "{name} was accepted");
        assert_eq!(
            err.trim().lines().count(),
            1,
            "{name}: not one line:\n{err}"
        );
        assert!(
            err.contains(name) && err.contains(expected),
            "{name}: {err}"
        );
    }
    let (ok, _, err) = inspect(&dir.join("missing.wasm"));
    assert!(!ok);
    assert!(
        err.contains("cannot read flow") && err.contains("missing.wasm"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn inspect_reads_the_committed_0_1_0_flow_on_this_host() {
    let fixture = e2e::workspace_root().join("tests/fixtures/flows/etcd-api-0.1.0.wasm");
    let (ok, out, err) = inspect(&fixture);
    assert!(ok, "{err}");
    assert!(out.contains("flow:        etcd 0.1.0"), "{out}");
    assert!(out.contains("api:         demo:flow@0.1.0\n"), "{out}");
    assert!(out.contains("8. "), "{out}");
}

#[test]
fn a_flow_that_imports_nothing_of_the_api_is_not_claimed_for_the_hosts_version() {
    let (ok, out, err) = inspect(&e2e::hostile_wasm("no-imports"));
    assert!(ok, "{err}");
    assert!(
        out.contains("api:         demo:flow@0.1.0 (inferred from its exports: it imports nothing of the API)"),
        "{out}"
    );
}

/// `host inspect pack.wasm | head -1`: the reader is gone before the host
/// writes. It leaves quietly instead of panicking on the broken pipe.
#[test]
fn inspect_into_a_closed_pipe_exits_quietly() {
    let mut child = inspect_command(&flow_wasm("etcd"), &temp_dir("inspect-pipe"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the host");
    // Closed before the host has compiled the flow, so every write fails.
    drop(child.stdout.take());
    let stderr = e2e::read_stderr(&mut child);
    let status = child.wait().expect("waiting for the host");
    assert!(status.success(), "{status}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
