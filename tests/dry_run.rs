//! `host --flow F --dry-run` for every shipped flow, against a real etcd
//! project: what each would touch, resolved, and nothing changed (no
//! consent recorded, no fault, no container touched, no ledger written).
//!
//! Docker names and ports: project `dr-*`, host ports 24911-24913.

use e2e::python::python_flow_wasm;
use e2e::show::outcome;
use e2e::{EtcdPorts, etcd_cluster_up, etcd_workload, flow_wasm, host_bin, run, temp_dir};
use std::path::Path;
use std::process::Command;

const PORTS: EtcdPorts = ["24911", "24912", "24913"];

fn dry_run(flow: &Path, project: &str, state: &Path, extra: &[&str]) -> (bool, String, String) {
    outcome(
        &run(Command::new(host_bin())
            .arg("--flow")
            .arg(flow)
            .args(["--dry-run", "--project", project])
            .arg("--state-dir")
            .arg(state)
            .args(extra))
        .unwrap(),
    )
}

#[test]
fn every_shipped_flow_dry_runs_against_a_real_project_and_changes_nothing() {
    let project = format!("dr-{}", std::process::id());
    let cluster = etcd_cluster_up(&project, PORTS);
    let dir = temp_dir("dry-run");
    let state = dir.join("state");
    let before = cluster.states().unwrap();
    let workload = etcd_workload(PORTS, "10s");

    for flow in [flow_wasm("etcd"), python_flow_wasm("etcd-py")] {
        let (ok, out, err) = dry_run(&flow, &project, &state, &["--workload", &workload]);
        eprintln!("{out}");
        assert!(ok, "{out}{err}");
        assert!(out.contains("changing nothing:"), "{out}");
        assert!(
            out.contains(&format!(
                "compose project '{project}': 3 containers, 3 running"
            )),
            "{out}"
        );
        assert!(out.contains("on 'etcd*': etcd1, etcd2, etcd3"), "{out}");
        assert!(
            out.contains(&format!(
                "probe http://etcd1:2379/v3/ → http://127.0.0.1:{}/v3/",
                PORTS[0]
            )),
            "{out}"
        );
        assert!(out.contains("ok:      workload: the command"), "{out}");
        assert!(!out.contains("problem:"), "{out}");
    }
    // The Rust flow's own hypotheses are in its plan.
    let (_, out, _) = dry_run(
        &flow_wasm("etcd"),
        &project,
        &state,
        &["--workload", &workload],
    );
    assert!(
        out.contains(
            "hypothesis no-lost-writes@end (the flow's): judged from the workload's [VERDICT] lines"
        ),
        "{out}"
    );

    // The TiKV flow's services are not in an etcd project: said, exit 1.
    let (ok, out, _) = dry_run(&flow_wasm("tikv"), &project, &state, &[]);
    eprintln!("{out}");
    assert!(!ok);
    assert!(
        out.contains("problem: fault kill on 'tikv*' matches no service"),
        "{out}"
    );
    assert!(
        out.contains("problem: workload: service go-ycsb (the flow's default) is not a service"),
        "{out}"
    );
    assert!(out.contains("dry run: "), "{out}");

    // Pointed at nothing (a typo), it says so first.
    let (ok, out, _) = dry_run(&flow_wasm("etcd"), "drnosuchproject", &state, &[]);
    assert!(!ok);
    assert!(
        out.contains("problem: compose project 'drnosuchproject' has no containers on this engine"),
        "{out}"
    );

    // Nothing changed: every member as it was, no consent and no ledger.
    assert_eq!(cluster.states().unwrap(), before);
    let written: Vec<_> = std::fs::read_dir(&state)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(written.is_empty(), "the dry run wrote {written:?}");
    drop(cluster);
    std::fs::remove_dir_all(dir).ok();
}
