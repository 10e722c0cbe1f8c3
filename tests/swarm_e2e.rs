//! The etcd flow, unchanged, on a Docker Swarm: the engine goes into swarm
//! mode (loopback only), the etcd stack (clusters/etcd/stack.yaml) is
//! deployed with its load generator as a service, and `host --backend swarm
//! --stack NAME --flow etcd.wasm --headless` tells the same story as on
//! Compose. Asserted from the transcript (Docker's, etcd's and the
//! workload's reports) and from Swarm afterwards; then the engine leaves
//! swarm mode and nothing of the test is left on it.
//!
//! Isolated from the Compose tests: its own stack, its own networks, no
//! host ports.

use e2e::etcd_story::{
    Back, assert_leader_story, assert_quorum_loss_measured, assert_three_kills_seen, events,
    finished_show, measured_baseline, narrations,
};
use e2e::swarm::SwarmStack;
use e2e::{flow_wasm, host_bin, read_transcript, run, run_host, temp_dir};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn the_etcd_flow_runs_unchanged_on_a_swarm_stack_and_every_service_comes_back() {
    let name = format!("swe2e{}", std::process::id());
    let mut stack = SwarmStack::deploy(&name).unwrap();
    let dir = temp_dir("swarm-e2e");
    let state = dir.join("state").to_string_lossy().into_owned();
    let transcript_path = dir.join("run.jsonl");
    let flow = flow_wasm("etcd").to_string_lossy().into_owned();
    let output = run_host(
        &[
            "--backend",
            "swarm",
            "--stack",
            &name,
            "--flow",
            &flow,
            "--headless",
            "--state-dir",
            &state,
            "--transcript",
            &transcript_path.to_string_lossy(),
            "--workload",
            "service:loadgen",
        ],
        Duration::from_secs(400),
    )
    .unwrap();
    let t = finished_show(&output, &transcript_path, &[]);

    // The nodes are the stack's tasks, under the flow's service names.
    let nodes = events(&t, "node");
    assert!(!nodes.is_empty());
    for node in &nodes {
        let service = node["service"].as_str().unwrap();
        assert!(
            ["etcd1", "etcd2", "etcd3", "loadgen"].contains(&service),
            "{node}"
        );
        assert!(
            node["container"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{name}_{service}.1.")),
            "{node}"
        );
    }

    // A baseline from the load generator's output, read from its service.
    let baseline = measured_baseline(&t);

    // Three kills, each seen by Docker; a killed task is back when Swarm
    // runs a new one for its service.
    let kills = assert_three_kills_seen(&t, Back::SameService);
    assert_leader_story(&narrations(&t), &kills);
    assert_quorum_loss_measured(&t, &kills, baseline);

    let done = events(&t, "done");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["reason"], "completed");
    assert_eq!(done[0]["outstanding_faults"], 0);

    // Every member's service is at its replicas, running, as Swarm says.
    let replicas = stack.wait_for_replicas(Duration::from_secs(30)).unwrap();
    for member in ["etcd1", "etcd2", "etcd3"] {
        let service = format!("{name}_{member}");
        assert!(
            replicas.contains(&(service.clone(), "1/1".to_string())),
            "{service} is not back at 1/1: {replicas:?}"
        );
    }

    let left = stack.tear_down();
    assert!(left.is_empty(), "the test left {left:?} on the engine");
    std::fs::remove_dir_all(dir).ok();
}

/// The faults flow's first chapter on the stack (isolate and shape etcd3,
/// kill etcd1, stop etcd2, pause etcd3), the host SIGKILLed while they are
/// outstanding, then `host recover --backend swarm`: every service is back
/// at its replicas, nothing is paused, etcd3's namespace holds no rule of
/// ours, no helper is left, and the ledger, which named each fault's task,
/// is gone.
#[test]
fn after_a_sigkill_recover_brings_every_service_of_the_stack_back() {
    kill_then_recover(&format!("swkill{}", std::process::id()), &[]);
}

/// The same, with every fault and every undo made by helper services on
/// the task's machine, as for a task on another machine of the swarm (on
/// one machine, `CHAOS_DEMO_SWARM_HELPERS=always` sends them that way).
#[test]
fn faults_on_another_machine_go_through_helper_services_and_are_recovered() {
    kill_then_recover(
        &format!("swhelp{}", std::process::id()),
        &[("CHAOS_DEMO_SWARM_HELPERS", "always")],
    );
}

fn kill_then_recover(name: &str, env: &[(&str, &str)]) {
    let name = name.to_string();
    let mut stack = SwarmStack::deploy(&name).unwrap();
    let since = unix_now();
    let dir = temp_dir("swarm-kill");
    let state = dir.join("state");
    let transcript = dir.join("run.jsonl");
    let ledger = state.join(format!("ledger-swarm-{name}.json"));
    let mut host = Command::new(host_bin())
        .args([
            "--backend",
            "swarm",
            "--stack",
            &name,
            "--headless",
            "--yes",
        ])
        .arg("--flow")
        .arg(flow_wasm("faults"))
        .arg("--state-dir")
        .arg(&state)
        .arg("--transcript")
        .arg(&transcript)
        .args(["--keys", "space 300s q"])
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let broken = loop {
        let said = narrations(&read_transcript(&transcript).unwrap_or_default());
        if said.iter().any(|l| l == "broken") {
            break true;
        }
        if started.elapsed() > Duration::from_secs(180) || host.try_wait().unwrap().is_some() {
            break false;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = host.kill();
    let output = host.wait_with_output().unwrap();
    assert!(
        broken,
        "the first chapter did not break the stack: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The ledger names the task behind every fault, not only the container.
    let entries: Vec<Value> = std::fs::read_to_string(&ledger)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|v| v["entries"].as_array().cloned())
        .unwrap_or_default();
    assert_eq!(entries.len(), 5, "{entries:?}");
    for entry in &entries {
        assert!(
            entry["task"].as_str().is_some_and(|t| !t.is_empty()),
            "{entry}"
        );
        assert!(entry["service"].as_str().unwrap().starts_with("etcd"));
    }
    assert!(!paused(&name).is_empty(), "etcd3 is paused before recover");

    let recover = || {
        run(Command::new(host_bin())
            .args(["recover", "--backend", "swarm", "--stack", &name])
            .arg("--state-dir")
            .arg(&state)
            .envs(env.iter().copied()))
        .unwrap()
    };
    let out = recover();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "recover failed: {stdout}");
    assert_eq!(stdout.matches("restored ").count(), 5, "{stdout}");
    assert!(!ledger.exists());

    // Swarm says every member runs its replica; nothing is paused; no rule,
    // qdisc or helper of ours is left.
    let replicas = stack.replicas().unwrap();
    for member in ["etcd1", "etcd2", "etcd3"] {
        let service = format!("{name}_{member}");
        assert!(
            replicas.contains(&(service.clone(), "1/1".to_string())),
            "{service} is not back at 1/1 after recover: {replicas:?}"
        );
    }
    assert!(paused(&name).is_empty(), "{:?}", paused(&name));
    let etcd3 = running_container(&name, "etcd3");
    e2e::netfault::assert_namespace_clean(&etcd3, &format!("swarm-{name}"));
    let helper_services = run(Command::new("docker").args([
        "service",
        "ls",
        "-q",
        "--filter",
        &format!("label=demo.netfault.project=swarm-{name}"),
    ]))
    .unwrap();
    assert!(
        String::from_utf8_lossy(&helper_services.stdout)
            .trim()
            .is_empty(),
        "a helper service is left"
    );

    // Idempotent: a second recover has nothing to do.
    let again = recover();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to restore"));

    // Which way the faults went, as Swarm's own events say: helper services
    // were created only when they were asked for.
    let helper_jobs = helper_services_created(&name, since);
    if env.is_empty() {
        assert_eq!(helper_jobs, 0, "the local path made helper services");
    } else {
        // isolate, shape (and its delayer), kill, stop, pause, and their
        // undos each need at least one.
        assert!(helper_jobs >= 8, "only {helper_jobs} helper service(s)");
    }

    let left = stack.tear_down();
    assert!(left.is_empty(), "the test left {left:?} on the engine");
    std::fs::remove_dir_all(dir).ok();
}

/// The stack's paused containers.
fn paused(stack: &str) -> String {
    let out = run(Command::new("docker").args([
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.stack.namespace={stack}"),
        "--filter",
        "status=paused",
    ]))
    .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn running_container(stack: &str, service: &str) -> String {
    let out = run(Command::new("docker").args([
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.swarm.service.name={stack}_{service}"),
        "--filter",
        "status=running",
    ]))
    .unwrap();
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        !id.is_empty(),
        "{service} of {stack} has no running container"
    );
    id
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// How many helper services of the stack's scope Swarm created since
/// `since` (its event log: the services themselves are gone by now).
fn helper_services_created(stack: &str, since: u64) -> usize {
    let out = run(Command::new("docker").args([
        "events",
        "--since",
        &since.to_string(),
        "--until",
        &(unix_now() + 1).to_string(),
        "--filter",
        "type=service",
        "--filter",
        "event=create",
        "--format",
        "{{.Actor.Attributes.name}}",
    ]))
    .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|name| name.starts_with(&format!("swarm-{stack}-netfault-")))
        .count()
}
