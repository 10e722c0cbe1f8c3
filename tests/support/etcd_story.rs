//! What both etcd end-to-end tests (the Rust flow and its Python port)
//! check in the transcript of a whole show: the same story, whichever
//! language told it. [`full_run`] and [`quit_right_after_a_kill`] are the
//! two shows themselves, parametrised by flow.

pub use crate::show::events;
use crate::show::{Headless, assert_completed};
use crate::{
    EtcdPorts, assert_all_running, assert_ledger_empty, etcd_cluster_up, etcd_workload,
    read_transcript, temp_dir,
};
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// Guards against a hung show (the Python flow's is the slower); never a
/// measure of speed.
const FULL_RUN_LIMIT: Duration = Duration::from_secs(420);
const QUIT_LIMIT: Duration = Duration::from_secs(240);

/// The whole show of the etcd flow `flow` on a fresh three-member cluster
/// (project `PREFIX-PID`, client ports `ports`), the load generator writing
/// to it, every chapter in turn. Checks the story any etcd flow tells: the
/// host exited successfully and no chapter failed; a baseline measured from
/// the load generator and narrated; three kills (a follower, the leader,
/// then quorum) each seen by Docker; who led as etcd said; quorum loss
/// measured, narrated, and recovered from; the show completed with nothing
/// outstanding, the ledger empty, every member running. Returns the
/// transcript for the flow's own checks.
pub fn full_run(flow: &Path, project_prefix: &str, ports: EtcdPorts) -> Vec<Value> {
    let project = format!("{project_prefix}-{}", std::process::id());
    let cluster = etcd_cluster_up(&project, ports);
    let dir = temp_dir(project_prefix);
    let show = Headless::new(flow, &project, &dir).workload(&etcd_workload(ports, "300s"));

    let output = show.run(FULL_RUN_LIMIT);
    let t = finished_show(&output, &show.transcript, &["workload"]);

    // A baseline was measured from the load generator's real output, and the
    // flow narrated the host's figure.
    let baseline = measured_baseline(&t);
    let said = narrations(&t);
    assert!(
        said.iter()
            .any(|l| l.starts_with(&format!("Baseline: {baseline:.0} ops/s"))),
        "the flow did not narrate the measured baseline {baseline}: {said:?}"
    );

    // Three kills: a follower (started again in its chapter), the leader,
    // and a second member, which loses quorum.
    let kills = assert_three_kills_seen_by_docker(&t);
    assert_leader_story(&said, &kills);
    assert_quorum_loss_measured(&t, &kills, baseline);
    assert!(
        said.iter()
            .any(|l| l.starts_with("Quorum lost: throughput ")),
        "{said:?}"
    );
    assert!(
        said.iter().any(|l| l.starts_with("Writes are back: ")),
        "{said:?}"
    );

    assert_verdicts_kept_with_a_stale_minority(&t);

    // Nothing left broken: every fault undone (network ones included), the
    // ledger empty, every member running.
    assert_completed(&t);
    assert_all_running(&cluster);
    assert_ledger_empty(&show.state, &project);

    drop(cluster);
    std::fs::remove_dir_all(dir).ok();
    t
}

/// The etcd flow `flow` on a fresh cluster (project `PREFIX-PID`, ports
/// `ports`), quit right after its second kill: intro → health → baseline →
/// lose a follower (restarted by the flow) → lose the leader, then Q, the
/// leader left dead. Checks the quit restored exactly that kill (one
/// restore, ok, "started"), the show ended on `quit` with nothing
/// outstanding, the ledger is empty and every member runs.
pub fn quit_right_after_a_kill(flow: &Path, project_prefix: &str, ports: EtcdPorts) {
    let project = format!("{project_prefix}-{}", std::process::id());
    let cluster = etcd_cluster_up(&project, ports);
    let dir = temp_dir(project_prefix);
    let show = Headless::new(flow, &project, &dir)
        .workload(&etcd_workload(ports, "120s"))
        .keys("space space space space q");

    let output = show.run(QUIT_LIMIT);
    let t = read_transcript(&show.transcript).unwrap();
    assert!(
        output.status.success(),
        "host failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let kill = events(&t, "fault")
        .into_iter()
        .filter(|f| f["action"] == "kill SIGKILL")
        .nth(1)
        .expect("the leader was killed");
    let restore = events(&t, "restore");
    assert_eq!(restore.len(), 1, "{restore:?}");
    assert_eq!(restore[0]["id"], kill["id"]);
    assert_eq!(restore[0]["ok"], true);
    assert_eq!(restore[0]["detail"], "started");
    let done = events(&t, "done");
    assert_eq!(done[0]["reason"], "quit");
    assert_eq!(done[0]["outstanding_faults"], 0);
    assert_all_running(&cluster);
    assert_ledger_empty(&show.state, &project);

    drop(cluster);
    std::fs::remove_dir_all(dir).ok();
}

/// The transcript of a whole show, printed for the test's log (without the
/// events named in `hide`), once the host exited successfully and no
/// chapter failed.
pub fn finished_show(output: &Output, transcript: &Path, hide: &[&str]) -> Vec<Value> {
    let t = crate::read_transcript(transcript).unwrap();
    eprintln!(
        "transcript:\n{}",
        t.iter()
            .filter(|e| !hide.iter().any(|h| e["event"] == *h))
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        output.status.success(),
        "host failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        events(&t, "error")
            .iter()
            .all(|e| e["source"] == "workload" || e.get("chapter").is_none()),
        "a chapter failed"
    );
    t
}

/// The baseline the host measured from the load generator's output.
pub fn measured_baseline(t: &[Value]) -> f64 {
    let baseline = events(t, "workload")
        .iter()
        .find_map(|e| e["baseline"].as_f64())
        .expect("a baseline was measured");
    assert!(baseline > 0.0);
    baseline
}

/// The plain text of every narration line the flow appended.
pub fn narrations(transcript: &[Value]) -> Vec<String> {
    events(transcript, "narration")
        .iter()
        .filter(|e| e["mode"] == "append")
        .filter_map(|e| e["text"].as_str().map(str::to_string))
        .collect()
}

pub fn position(transcript: &[Value], pred: impl Fn(&Value) -> bool) -> Option<usize> {
    transcript.iter().position(pred)
}

/// What "the killed node is back" means to an orchestrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Back {
    /// Compose starts the same container again.
    SameContainer,
    /// Swarm replaces the task: a new container of the same service runs.
    SameService,
}

/// Three kills in the transcript (a follower, the leader, then a second
/// member: quorum lost), each seen by Docker, not the flow: exited, then
/// running again. Returns them in order.
pub fn assert_three_kills_seen_by_docker(t: &[Value]) -> Vec<Value> {
    assert_three_kills_seen(t, Back::SameContainer)
}

/// As [`assert_three_kills_seen_by_docker`], with `back` saying which node
/// running again counts as the killed one back.
pub fn assert_three_kills_seen(t: &[Value], back: Back) -> Vec<Value> {
    let faults = events(t, "fault");
    let kills: Vec<&&Value> = faults
        .iter()
        .filter(|f| f["action"] == "kill SIGKILL")
        .collect();
    assert_eq!(kills.len(), 3, "{faults:?}");
    assert_ne!(kills[1]["id"], kills[2]["id"]);
    for kill in &kills {
        assert!(kill["service"].as_str().unwrap().starts_with("etcd"));
        let id = kill["id"].as_str().unwrap();
        let fault_at = position(t, |e| {
            e["event"] == "fault" && e["id"] == id && e["action"] == "kill SIGKILL"
        })
        .unwrap();
        // Docker (not the flow) reported the node exited, then running again.
        // Docker announces the death before the kill request returns, so the
        // node event may come before the fault's: look from the chapter's start.
        let chapter_at = t[..fault_at]
            .iter()
            .rposition(|e| e["event"] == "chapter")
            .unwrap_or(0);
        let exited_at = t[chapter_at..]
            .iter()
            .position(|e| e["event"] == "node" && e["id"] == id && e["state"] == "exited")
            .map(|i| i + chapter_at)
            .unwrap_or_else(|| panic!("Docker never reported {id} exited"));
        let running_again = t[exited_at..].iter().any(|e| {
            e["event"] == "node"
                && e["state"] == "running"
                && match back {
                    Back::SameContainer => e["id"] == id,
                    Back::SameService => e["service"] == kill["service"],
                }
        });
        assert!(running_again, "{id} was not seen running again ({back:?})");
    }
    kills.into_iter().map(|k| (*k).clone()).collect()
}

/// Who led came from etcd: the follower killed was not the leader then, the
/// second kill hit the member etcd named leader, and the survivors elected
/// another one in a later term (as the flow narrated it, in `said`).
pub fn assert_leader_story(said: &[String], kills: &[Value]) {
    let (leader, follower) = said
        .iter()
        .find_map(|line| {
            let (leader, rest) = line.split_once(" leads; ")?;
            Some((
                leader.to_string(),
                rest.strip_suffix(" is a follower.")?.to_string(),
            ))
        })
        .expect("the flow named the leader and a follower");
    assert_ne!(leader, follower);
    assert_eq!(kills[0]["service"], follower.as_str());
    let killed_leader = kills[1]["service"].as_str().unwrap();
    let leader_line = format!("{killed_leader} leads (term ");
    assert!(
        said.iter().any(|l| l.starts_with(&leader_line)),
        "{killed_leader} was not named leader before it was killed: {said:?}"
    );
    let elected = said
        .iter()
        .find(|l| l.contains(" was elected leader "))
        .expect("a new leader was elected");
    assert!(!elected.starts_with(killed_leader), "{elected}");
    let terms = elected
        .rsplit_once("(term ")
        .and_then(|(_, t)| t.strip_suffix(").")?.split_once(" → "))
        .map(|(a, b)| (a.parse::<u64>().unwrap(), b.parse::<u64>().unwrap()))
        .expect("the election names both terms");
    assert!(terms.1 > terms.0, "{elected}");
}

/// Losing quorum is measured: after the third kill a real sample falls
/// below half the baseline and the status is degraded; then it recovers.
pub fn assert_quorum_loss_measured(t: &[Value], kills: &[Value], baseline: f64) {
    let quorum_kill = position(t, |e| e["event"] == "fault" && e["id"] == kills[2]["id"]).unwrap();
    let degraded_at = t[quorum_kill..]
        .iter()
        .position(|e| {
            e["event"] == "workload"
                && e["kind"] == "sample"
                && e["status"] == "degraded"
                && e["ops_per_sec"]
                    .as_f64()
                    .is_some_and(|ops| ops < 0.5 * baseline)
        })
        .map(|i| i + quorum_kill)
        .expect("no degraded sample below half the baseline after quorum was lost");
    let recovered = t[degraded_at..]
        .iter()
        .any(|e| e["event"] == "workload" && e["kind"] == "status" && e["status"] == "normal");
    assert!(recovered, "the workload never recovered");
}

/// The load generator checked its own history all through the show: no
/// linearizable read was ever stale and no write lost (its final read,
/// after the show, confirms every acknowledged one), while serializable
/// reads answered by the leader cut off from the majority ("Minority
/// leader", where the flow has it) were stale: the check can be seen to
/// fail, where it should.
pub fn assert_verdicts_kept_with_a_stale_minority(t: &[Value]) {
    let verdicts = events(t, "verdict");
    assert!(
        verdicts.len() > 30,
        "only {} verdict lines reached the transcript",
        verdicts.len()
    );
    for v in &verdicts {
        assert_eq!(v["stale"], 0, "a stale linearizable read: {v}");
        assert_eq!(v["lost"], 0, "a lost write: {v}");
    }
    let last = verdicts.last().unwrap();
    assert!(last["acknowledged"].as_u64().unwrap() > 1_000, "{last}");
    // The load tool ended its run after the show: its final read found
    // every acknowledged write.
    assert_eq!(last["final"], true, "the final read did not run: {last}");
    assert_eq!(last["lost"], 0, "{last}");
    let chapters = events(t, "chapter");
    // The flow built for API 0.1.0 predates network faults: no minority.
    let Some(minority) = chapters
        .iter()
        .position(|c| c["title"] == "Minority leader")
    else {
        return;
    };
    let (from, to) = (
        chapters[minority]["t_ms"].as_u64().unwrap(),
        chapters
            .get(minority + 1)
            .and_then(|c| c["t_ms"].as_u64())
            .unwrap_or(u64::MAX),
    );
    let stale_serializable_at = |t_ms: u64| {
        verdicts
            .iter()
            .rfind(|v| v["t_ms"].as_u64().unwrap() <= t_ms)
            .map_or(0, |v| v["stale_serializable"].as_u64().unwrap())
    };
    let during = stale_serializable_at(to) - stale_serializable_at(from);
    eprintln!(
        "FIGURE verdicts: {} acknowledged, 0 stale, 0 lost; {during} stale serializable reads during Minority leader",
        last["acknowledged"]
    );
    assert!(
        during > 0,
        "no stale serializable read while the old leader was cut off: {:?}",
        verdicts
            .iter()
            .map(|v| &v["stale_serializable"])
            .collect::<Vec<_>>()
    );
}
