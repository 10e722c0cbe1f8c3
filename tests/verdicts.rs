//! The load generator's own check of its history, on a real three-member
//! etcd cluster: while a member is killed and started again, every
//! acknowledged write is still there at the final read, no linearizable
//! read is stale, and the counts arrive as `[VERDICT]` lines the host's
//! parser reads (`host workload parse`), the same type on both sides.
//!
//! Also: a steady-state hypothesis made an abort condition stops a real
//! show's faults when it is breached, and says why.
//!
//! Docker names and ports: projects `vd-*` and `vd-abort-*`, host ports
//! 24905-24910.

use e2e::show::{Headless, events};
use e2e::{
    EtcdPorts, assert_all_running, assert_ledger_empty, etcd_cluster_up, etcd_endpoints,
    etcd_workload, flow_wasm, host_bin, loadgen_bin, read_transcript, run, temp_dir,
};
use std::process::{Command, Stdio};
use std::time::Duration;
use verdict_line::Verdict;

const PORTS: EtcdPorts = ["24905", "24906", "24907"];
const ABORT_PORTS: EtcdPorts = ["24908", "24909", "24910"];

/// The container of `service` in compose project `project`.
fn container_of(project: &str, service: &str) -> String {
    let output = run(Command::new("docker").args([
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
        "--filter",
        &format!("label=com.docker.compose.service={service}"),
    ]))
    .unwrap();
    let id = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(!id.is_empty(), "no container of {service} in {project}");
    id
}

fn docker(args: &[&str]) {
    let output = run(Command::new("docker").args(args)).unwrap();
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn no_acknowledged_write_is_lost_and_no_read_is_stale_while_a_member_dies_and_comes_back() {
    let project = format!("vd-{}", std::process::id());
    let cluster = etcd_cluster_up(&project, PORTS);
    let dir = temp_dir("verdicts");
    let endpoints = etcd_endpoints(PORTS);

    let child = Command::new(loadgen_bin())
        .args(["etcd", "--duration", "24s", "--serializable-reads", "20"])
        .args(["--endpoints", &endpoints])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let etcd2 = container_of(&project, "etcd2");
    std::thread::sleep(Duration::from_secs(6));
    docker(&["kill", "--signal", "SIGKILL", &etcd2]);
    std::thread::sleep(Duration::from_secs(6));
    docker(&["start", &etcd2]);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "loadgen failed");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();

    let verdicts: Vec<Verdict> = stderr
        .lines()
        .filter(|l| l.contains(verdict_line::TAG))
        .map(|l| l.parse().unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert!(verdicts.len() >= 20, "{} verdict lines", verdicts.len());
    let last = verdicts.last().unwrap();
    eprintln!("FIGURE verdict after a member's kill and start: {last}");
    assert!(last.final_read, "the final read did not run: {last}");
    assert!(last.acknowledged > 1_000, "{last}");
    assert!(last.reads > 1_000, "{last}");
    assert_eq!(last.lost, 0, "{last}");
    assert_eq!(last.stale, 0, "{last}");
    // Counts only grow, line after line.
    for pair in verdicts.windows(2) {
        assert!(pair[1].acknowledged >= pair[0].acknowledged, "{pair:?}");
    }

    // The host's parser reads the same lines into the same counts.
    let log = dir.join("loadgen.log");
    std::fs::write(&log, &stderr).unwrap();
    let parsed = run(Command::new(host_bin())
        .args(["workload", "parse", "--json"])
        .arg(&log))
    .unwrap();
    assert!(parsed.status.success());
    let read_back: Vec<serde_json::Value> = String::from_utf8_lossy(&parsed.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["kind"] == "verdict")
        .collect();
    assert_eq!(read_back.len(), verdicts.len());
    let host_last = read_back.last().unwrap();
    assert_eq!(host_last["acknowledged"], last.acknowledged);
    assert_eq!(host_last["final"], true);

    let states = cluster.states().unwrap();
    assert!(states.iter().all(|(_, s)| s == "running"), "{states:?}");
    drop(cluster);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_breached_abort_condition_stops_a_real_shows_faults_and_says_why() {
    let project = format!("vd-abort-{}", std::process::id());
    let cluster = etcd_cluster_up(&project, ABORT_PORTS);
    let dir = temp_dir("verdicts-abort");
    // Intro, health, baseline, then "Lose a follower": its kill breaches
    // the abort condition; Q once the stopped chapter has ended.
    let show = Headless::new(&flow_wasm("etcd"), &project, &dir)
        .workload(&etcd_workload(ABORT_PORTS, "120s"))
        .with(&[
            "--hypothesis",
            "all-running@continuously!abort",
            "--hypothesis",
            "no-stale-reads@end",
        ])
        .keys("space space space q");
    let output = show.run(Duration::from_secs(240));
    assert!(
        output.status.success(),
        "host failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let t = read_transcript(&show.transcript).unwrap();

    let kill = events(&t, "fault")
        .into_iter()
        .find(|f| f["action"] == "kill SIGKILL")
        .expect("the follower was killed");
    let stopped = events(&t, "stopped");
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    let stop = stopped[0];
    assert!(
        stop["reason"]
            .as_str()
            .unwrap()
            .contains("all-running@continuously!abort"),
        "{stop}"
    );
    assert_eq!(stop["failed"], 0, "{stop}");
    assert!(stop["restored"].as_u64().unwrap() >= 1, "{stop}");
    eprintln!(
        "FIGURE abort: breach at {} ms, every fault undone {} ms later",
        stop["breached_at_ms"], stop["breach_to_restored_ms"]
    );
    // The stop undid the kill (the flow's own restart never ran).
    let restored: Vec<_> = events(&t, "restore")
        .into_iter()
        .filter(|r| r["id"] == kill["id"])
        .collect();
    assert_eq!(restored.len(), 1, "{restored:?}");
    assert_eq!(restored[0]["ok"], true);
    // The judgements: the breach, then the end.
    let judged = events(&t, "hypothesis");
    assert!(
        judged
            .iter()
            .any(|j| j["name"] == "all-running@continuously!abort"
                && j["outcome"]["result"] == "not-met"),
        "{judged:?}"
    );
    assert!(
        judged
            .iter()
            .any(|j| j["name"] == "no-stale-reads@end" && j["outcome"]["result"] == "met"),
        "{judged:?}"
    );
    let done = events(&t, "done");
    assert_eq!(done[0]["outstanding_faults"], 0);
    assert_all_running(&cluster);
    assert_ledger_empty(&show.state, &project);
    drop(cluster);
    std::fs::remove_dir_all(dir).ok();
}
