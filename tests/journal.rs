//! `host report --format chaostoolkit`: the journal of a show, read by Chaos
//! Toolkit's own code (support/chaostoolkit.rs). No Docker: the shows are
//! transcripts, tests/fixtures/report/stopped-show.jsonl (an abort
//! condition breached and the faults stopped, a hypothesis not met, a
//! failed undo, markup in names and reasons) and a small completed one;
//! tests/report.rs reads a real show's journal the same way.

use e2e::chaostoolkit::{assert_accepted, read_journal};
use e2e::{host_bin, run, temp_dir, workspace_root};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `host report --format chaostoolkit TRANSCRIPT` (no `-o`): what it said,
/// and the journal it wrote beside the transcript.
fn journal_of(transcript: &Path) -> (String, PathBuf, Value) {
    let out = run(Command::new(host_bin())
        .args(["report", "--format", "chaostoolkit"])
        .arg(transcript))
    .unwrap();
    assert!(
        out.status.success(),
        "host report failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = transcript.with_extension("journal.json");
    let journal = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        path,
        journal,
    )
}

#[test]
fn chaos_toolkit_reads_the_journal_of_a_show_whose_faults_were_stopped() {
    let dir = temp_dir("journal-stopped");
    let transcript = dir.join("show.jsonl");
    std::fs::copy(
        workspace_root().join("tests/fixtures/report/stopped-show.jsonl"),
        &transcript,
    )
    .unwrap();
    let (said, path, journal) = journal_of(&transcript);
    assert_eq!(
        said.trim(),
        format!(
            "wrote {} (3 chapter run(s), 4 hypothesis probe(s), status aborted, deviated)",
            path.display()
        )
    );
    let read = read_journal(&path);
    assert_accepted(&read);
    let s = &read.summary;
    assert_eq!(
        (s["status"].as_str(), s["deviated"].as_bool()),
        (Some("aborted"), Some(true))
    );
    // 1 before the first fault, 3 at the end, 2 during (the breach, the recovery).
    assert_eq!(s["probes_checked"], 6);
    let report = s["report"].as_str().unwrap();
    for line in [
        "| **Status**                    | aborted |",
        // The template puts a no-break space before each method row's name.
        "| action |\u{a0}Chapter 2: Lose the leader |",
        "#### Action - Chapter 3: Partition <i>etcd2</i>",
        "etcd2 did not answer: <b>timeout</b>",
    ] {
        assert!(
            report.contains(line),
            "{line} is not in Chaos Toolkit's report:\n{report}"
        );
    }
    assert!(
        s["header"]
            .as_str()
            .unwrap()
            .contains("Chaos Engineering Report")
    );
    // The markup is data in the journal, kept as it was written.
    assert_eq!(
        journal["experiment"]["title"],
        "etcd<script>alert('flow')</script>"
    );
    assert_eq!(journal["rollbacks"][1]["status"], "failed");
    assert_eq!(
        journal["experiment"]["extensions"][0]["stopped"][0]["breach_to_restored_ms"],
        480
    );
}

#[test]
fn chaos_toolkit_reads_the_journal_of_a_show_that_completed_and_kept_its_hypotheses() {
    let dir = temp_dir("journal-completed");
    let transcript = dir.join("run.jsonl");
    let mut lines = vec![
        r#"{"t_ms":0,"event":"chapter","index":0,"title":"Intro","of":2,"flow":"etcd","flow_version":"0.2.0"}"#.to_string(),
    ];
    for s in 1..=20u64 {
        lines.push(format!(
            r#"{{"t_ms":{},"event":"workload","kind":"sample","ops_per_sec":1000.0,"baseline":1000.0,"status":"normal","p99_us":3000.0}}"#,
            s * 1000
        ));
        lines.push(format!(
            r#"{{"t_ms":{},"event":"verdict","acknowledged":{},"failed":0,"unknown":0,"reads":{},"stale":0,"stale_serializable":0,"lost":0,"final":{},"first":[]}}"#,
            s * 1000,
            s * 500,
            s * 250,
            s == 20
        ));
        if s == 5 {
            lines.push(r#"{"t_ms":5000,"event":"chapter","index":1,"title":"Lose a follower","of":2,"flow":"etcd","flow_version":"0.2.0"}"#.into());
            lines.push(r#"{"t_ms":5000,"event":"fault","action":"kill SIGKILL","service":"etcd2","container":"p-etcd2-1","id":"b","disruptive":true}"#.into());
            lines.push(r#"{"t_ms":5000,"event":"hypothesis","hypothesis":0,"name":"no-stale-reads@before,continuously","moment":{"at":"before"},"outcome":{"result":"met","value":"0 stale of 1250 reads"}}"#.into());
        }
        if s == 8 {
            lines.push(r#"{"t_ms":8000,"event":"fault","action":"start","service":"etcd2","container":"p-etcd2-1","id":"b","disruptive":false}"#.into());
        }
    }
    lines.push(r#"{"t_ms":20500,"event":"hypothesis","hypothesis":0,"name":"no-stale-reads@before,continuously","moment":{"at":"continuously"},"outcome":{"result":"met","value":"held at every sample"}}"#.into());
    lines.push(r#"{"t_ms":20500,"event":"hypothesis","hypothesis":1,"name":"no-lost-writes@end","moment":{"at":"end"},"outcome":{"result":"met","value":"0 of 10000 acknowledged writes lost"}}"#.into());
    lines.push(r#"{"t_ms":20600,"event":"done","reason":"completed","outstanding_faults":0,"unix_ms":1765000020600,"node":"ci","platform":"Linux-6.1.0-x86_64"}"#.into());
    std::fs::write(&transcript, lines.join("\n") + "\n").unwrap();

    let (_, path, journal) = journal_of(&transcript);
    let read = read_journal(&path);
    assert_accepted(&read);
    let s = &read.summary;
    assert_eq!(
        (s["status"].as_str(), s["deviated"].as_bool()),
        (Some("completed"), Some(false))
    );
    assert_eq!(s["probes_checked"], 3);
    assert_eq!(journal["start"], "2025-12-06T05:46:40.000000+00:00");
    assert_eq!(journal["steady_states"]["before"]["steady_state_met"], true);
    assert_eq!(journal["steady_states"]["after"]["steady_state_met"], true);
    assert_eq!(
        journal["run"][1]["output"]["faults"][0]["undone_by"],
        "start"
    );
    assert_eq!(journal["rollbacks"], serde_json::json!([]));
    let report = s["report"].as_str().unwrap();
    assert!(
        report.contains("| **Status**                    | completed |"),
        "{report}"
    );
    assert!(
        report.contains("The steady state was  verified"),
        "{report}"
    );
}
