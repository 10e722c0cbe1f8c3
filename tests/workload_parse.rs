//! `host workload parse` on the real tools' output: what a presenter runs to
//! check their load tool before a show.

use e2e::show::outcome;
use e2e::{host_bin, run, workspace_root};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Real load-tool output kept in the repository (`tests/fixtures/workload/README.md`).
fn fixture(name: &str) -> PathBuf {
    let path = workspace_root().join("tests/fixtures/workload").join(name);
    assert!(path.is_file(), "fixture {} is missing", path.display());
    path
}

fn parse(args: &[&str], file: &PathBuf) -> (bool, String, String) {
    outcome(
        &run(Command::new(host_bin())
            .args(["workload", "parse"])
            .args(args)
            .arg(file))
        .unwrap(),
    )
}

fn parse_json(file: &PathBuf) -> Vec<Value> {
    let (ok, out, err) = parse(&["--json"], file);
    assert!(ok, "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn workload_parse_java_ycsb_status_fixture() {
    let values = parse_json(&fixture("ycsb-0.17-status.txt"));
    assert_eq!(values.len(), 2, "{values:?}");
    assert_eq!(values[0]["format"], "ycsb");
    assert_eq!(values[0]["ops_per_sec"], 0.0);
    assert_eq!(values[1]["kind"], "sample");
    assert_eq!(values[1]["ops_per_sec"], 37634.74);
    assert_eq!(values[1]["failures_per_sec"], 0.0);
    assert_eq!(values[1]["elapsed_s"], 10.0);
    let ops = values[1]["ops"].as_array().unwrap();
    assert_eq!(ops[0]["name"], "READ");
    assert_eq!(ops[0]["count"], 188431);
    assert_eq!(ops[0]["avg_us"], 548.39);
    assert_eq!(ops[0]["p99_us"], 3513.0);
    assert_eq!(ops[1]["name"], "INSERT");
    assert_eq!(ops[1]["p99_us"], 2779.0);

    let (ok, text, err) = parse(&[], &fixture("ycsb-0.17-status.txt"));
    assert!(ok, "{err}");
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("ops/s=37634.74"), "{text}");
    assert!(
        text.contains("READ n=188431 avg=548.39us p99=3513us"),
        "{text}"
    );
}

#[test]
fn workload_parse_java_ycsb_summary_fixture_is_end_of_run() {
    let values = parse_json(&fixture("ycsb-summary.txt"));
    assert_eq!(values.len(), 1, "{values:?}");
    assert_eq!(values[0]["kind"], "end-of-run");
    assert_eq!(values[0]["throughput"], 47865.21156423511);
    assert_eq!(values[0]["runtime_ms"], 20892);
}

#[test]
fn workload_parse_go_ycsb_interval_fixture() {
    let values = parse_json(&fixture("go-ycsb-interval.txt"));
    assert_eq!(values.len(), 1, "{values:?}");
    assert_eq!(values[0]["format"], "go-ycsb");
    let rate = values[0]["ops_per_sec"].as_f64().unwrap();
    assert!((rate - 506.0 / 0.3).abs() < 1e-6, "{rate}");
    assert_eq!(values[0]["ops"][0]["name"], "READ");
    assert_eq!(values[0]["ops"][0]["count"], 506);
    assert_eq!(values[0]["ops"][0]["avg_us"], 149.0);
    assert_eq!(values[0]["ops"][0]["p99_us"], 345.0);
}

#[test]
fn workload_parse_reads_stdin() {
    let text = std::fs::read(fixture("ycsb-0.17-status.txt")).unwrap();
    let mut child = Command::new(host_bin())
        .args(["workload", "parse", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &text).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 2);
}

#[test]
fn workload_parse_bad_input_is_a_one_line_error() {
    let (ok, out, err) = parse(&[], &PathBuf::from("/nonexistent/run.log"));
    assert!(!ok);
    assert!(out.is_empty(), "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: cannot read /nonexistent/run.log"),
        "{err}"
    );

    // A file with nothing the panel would show fails, so scripts notice.
    let (ok, _, err) = parse(&[], &workspace_root().join("Cargo.toml"));
    assert!(!ok);
    assert_eq!(err.trim(), "no Java YCSB or go-ycsb sample found");
}
