//! Nothing lost: every fault the host makes on a real etcd cluster is undone
//! however the host ends (quit, SIGTERM, a guest trap, a host panic, SIGKILL
//! then `host recover`), partitions heal with the service names resolving
//! again inside the network, and a 50-cycle kill/start soak leaks nothing.
//!
//! The flow is tests/guests/faults (one chapter per fault kind); a test picks
//! its scenario with the headless key script. Docker, not the flow, is the
//! witness: `docker ps`/`inspect` after the host is gone, and a probe container
//! on the project network for DNS.

use e2e::show::events;
use e2e::{
    ComposeProject, EtcdPorts, assert_all_running, etcd_cluster_up, flow_wasm, host_bin,
    ledger_entries, ledger_path, loadgen_bin, read_transcript, run, temp_dir,
};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Host ports 24840-24869 and project names `ldg-*` belong to these tests.
type Ports = EtcdPorts;
const QUIT_PORTS: Ports = ["24840", "24841", "24842"];
const SIGTERM_PORTS: Ports = ["24843", "24844", "24845"];
const TRAP_PORTS: Ports = ["24846", "24847", "24848"];
const PANIC_PORTS: Ports = ["24849", "24850", "24851"];
const SIGKILL_PORTS: Ports = ["24852", "24853", "24854"];
const PARTITION_PORTS: Ports = ["24855", "24856", "24857"];
const SOAK_PORTS: Ports = ["24858", "24859", "24860"];

/// Guards against a hung host or cluster; never a measure of speed.
const STEP_LIMIT: Duration = Duration::from_secs(180);
const SOAK_LIMIT: Duration = Duration::from_secs(900);
/// Key script: chapter 1 (kill etcd1, stop etcd2, pause etcd3), then hold.
const BREAK_AND_HOLD: &str = "space 300s q";
const PROBE_IMAGE: &str = "ldg-dnsprobe:test";

fn project_name(test: &str) -> String {
    format!("ldg-{test}-{}", std::process::id())
}

/// One test's files: state directory (the ledger) and transcript.
struct Scratch {
    dir: PathBuf,
    state: PathBuf,
    transcript: PathBuf,
}

impl Scratch {
    fn new(test: &str) -> Self {
        let dir = temp_dir(&format!("faults-{test}"));
        Scratch {
            state: dir.join("state"),
            transcript: dir.join("run.jsonl"),
            dir,
        }
    }

    fn ledger(&self, project: &str) -> PathBuf {
        ledger_path(&self.state, project)
    }

    fn transcript(&self) -> Vec<Value> {
        read_transcript(&self.transcript).unwrap_or_default()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// The host process; killed (SIGKILL) if a test fails while it runs.
struct Host {
    child: Option<Child>,
}

impl Host {
    fn start(project: &str, scratch: &Scratch, keys: Option<&str>, env: &[(&str, &str)]) -> Self {
        let flow = flow_wasm("faults");
        let mut cmd = Command::new(host_bin());
        cmd.arg("--flow")
            .arg(&flow)
            .arg("--headless")
            // The test pack is trusted for these runs; consent has its own tests.
            .arg("--yes")
            .args(["--project", project])
            .arg("--state-dir")
            .arg(&scratch.state)
            .arg("--transcript")
            .arg(&scratch.transcript)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(keys) = keys {
            cmd.args(["--keys", keys]);
        }
        Host {
            child: Some(cmd.spawn().expect("starting the host")),
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the host to exit; (success, stdout then stderr).
    fn wait(mut self, limit: Duration) -> (bool, String) {
        let mut child = self.child.take().unwrap();
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > limit {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "the host ran longer than {limit:?}; stderr: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// VmRSS of the host process, in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn narrated(transcript: &[Value], text: &str) -> bool {
    events(transcript, "narration")
        .iter()
        .any(|e| e["mode"] == "append" && e["text"] == text)
}

/// Polls `check` until it holds; panics after `limit` (a hang guard).
fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn state_of(cluster: &ComposeProject, service: &str) -> String {
    cluster
        .states()
        .unwrap()
        .into_iter()
        .find(|(s, _)| s == service)
        .map(|(_, state)| state)
        .unwrap_or_else(|| "missing".into())
}

fn all_running(cluster: &ComposeProject) -> bool {
    let states = cluster.states().unwrap();
    states.len() == 3 && states.iter().all(|(_, state)| state == "running")
}

/// The state left by chapter 1, checked on Docker while the host holds it.
fn assert_broken(cluster: &ComposeProject) {
    assert_eq!(state_of(cluster, "etcd1"), "exited");
    assert_eq!(state_of(cluster, "etcd2"), "exited");
    assert_eq!(state_of(cluster, "etcd3"), "paused");
}

fn assert_every_restore_ok(transcript: &[Value], count: usize) {
    let restores = events(transcript, "restore");
    assert_eq!(restores.len(), count, "{restores:?}");
    assert!(restores.iter().all(|r| r["ok"] == true), "{restores:?}");
}

/// Runs chapter 1 and waits until its three faults are on Docker and in the
/// ledger, the host then holding them.
fn break_and_hold(project: &str, scratch: &Scratch, env: &[(&str, &str)]) -> Host {
    let host = Host::start(project, scratch, Some(BREAK_AND_HOLD), env);
    wait_until("chapter 1 to break the cluster", STEP_LIMIT, || {
        narrated(&scratch.transcript(), "broken")
    });
    assert_eq!(ledger_entries(&scratch.ledger(project)).len(), FAULTS);
    host
}

/// Chapter 1's faults: isolate and shape etcd3, then kill, stop, pause.
const FAULTS: usize = 5;

/// What a helper in etcd3's network namespace reads there: no rule, qdisc or
/// delayer of ours may outlive the show, whatever ended it. Read from the
/// namespace itself, never from the ledger.
fn assert_network_clean(project: &str) {
    let id = String::from_utf8_lossy(
        &run(Command::new("docker").args([
            "ps",
            "-q",
            "--filter",
            &format!("label=com.docker.compose.project={project}"),
            "--filter",
            "label=com.docker.compose.service=etcd3",
        ]))
        .unwrap()
        .stdout,
    )
    .trim()
    .to_string();
    assert!(!id.is_empty(), "etcd3 of {project} is not running");
    e2e::netfault::assert_namespace_clean(&id, project);
}

#[test]
fn quit_restores_every_fault_and_clears_the_ledger() {
    let project = project_name("quit");
    let cluster = etcd_cluster_up(&project, QUIT_PORTS);
    let scratch = Scratch::new("quit");
    let host = Host::start(&project, &scratch, Some("space q"), &[]);
    let (ok, stderr) = host.wait(STEP_LIMIT);
    assert!(ok, "host failed: {stderr}");

    let t = scratch.transcript();
    let faults: Vec<&Value> = events(&t, "fault");
    let actions: Vec<&str> = faults.iter().filter_map(|f| f["action"].as_str()).collect();
    assert_eq!(
        actions,
        [
            "isolate from etcd1",
            "shape delay 100ms ±10ms, loss 5%",
            "kill SIGKILL",
            "stop (grace 1s)",
            "pause"
        ]
    );
    assert_every_restore_ok(&t, FAULTS);
    let done = events(&t, "done");
    assert_eq!(done[0]["reason"], "quit");
    assert_eq!(done[0]["outstanding_faults"], 0);
    assert_all_running(&cluster);
    assert_network_clean(&project);
    assert!(
        !scratch.ledger(&project).exists(),
        "the ledger was not cleared"
    );

    // "q" is sent the moment chapter 1 finishes, which its last narration marks.
    let broken_at = t
        .iter()
        .find(|e| e["event"] == "narration" && e["text"] == "broken")
        .and_then(|e| e["t_ms"].as_u64())
        .unwrap();
    let done_at = done[0]["t_ms"].as_u64().unwrap();
    eprintln!(
        "quit → every node running again (transcript): {} ms",
        done_at - broken_at
    );
}

#[test]
fn sigterm_restores_every_fault() {
    let project = project_name("term");
    let cluster = etcd_cluster_up(&project, SIGTERM_PORTS);
    let scratch = Scratch::new("term");
    let host = break_and_hold(&project, &scratch, &[]);
    assert_broken(&cluster);

    let sent = Instant::now();
    host.signal("TERM");
    wait_until("every member running after SIGTERM", STEP_LIMIT, || {
        all_running(&cluster)
    });
    let restored_in = sent.elapsed();
    let (ok, stderr) = host.wait(STEP_LIMIT);
    assert!(ok, "host failed: {stderr}");
    eprintln!(
        "SIGTERM → every node running again (docker ps): {} ms",
        restored_in.as_millis()
    );

    let t = scratch.transcript();
    assert_every_restore_ok(&t, FAULTS);
    assert_network_clean(&project);
    assert_eq!(events(&t, "done")[0]["reason"], "SIGTERM");
    assert!(!scratch.ledger(&project).exists());
}

#[test]
fn a_guest_trap_with_faults_outstanding_still_ends_restored() {
    let project = project_name("trap");
    let cluster = etcd_cluster_up(&project, TRAP_PORTS);
    let scratch = Scratch::new("trap");
    let host = Host::start(&project, &scratch, Some("space space q"), &[]);
    let (ok, stderr) = host.wait(STEP_LIMIT);
    assert!(ok, "host failed: {stderr}");

    let t = scratch.transcript();
    let trap = events(&t, "error")
        .into_iter()
        .find(|e| e["chapter"] == 2)
        .expect("chapter 3 (index 2) trapped");
    let message = trap["message"].as_str().unwrap();
    assert!(message.contains("crashed"), "{message}");
    assert_every_restore_ok(&t, FAULTS);
    assert_network_clean(&project);
    assert_all_running(&cluster);
    assert!(!scratch.ledger(&project).exists());
}

#[test]
fn a_host_panic_restores_every_fault() {
    let project = project_name("panic");
    let cluster = etcd_cluster_up(&project, PANIC_PORTS);
    let scratch = Scratch::new("panic");
    // With CHAOS_DEMO_DEBUG_PANIC set, the help key panics the show.
    let host = Host::start(
        &project,
        &scratch,
        Some("space ?"),
        &[("CHAOS_DEMO_DEBUG_PANIC", "1")],
    );
    let (ok, stderr) = host.wait(STEP_LIMIT);
    assert!(!ok, "the forced panic should fail the host: {stderr}");
    assert!(stderr.contains("the host crashed"), "{stderr}");
    assert_eq!(
        stderr.matches("restored ").count(),
        FAULTS,
        "one line per restored fault: {stderr}"
    );
    assert_all_running(&cluster);
    assert_network_clean(&project);
    assert!(!scratch.ledger(&project).exists());
}

#[test]
fn after_sigkill_the_next_start_says_what_is_outstanding_and_recover_restores_it() {
    let project = project_name("kill");
    let cluster = etcd_cluster_up(&project, SIGKILL_PORTS);
    let scratch = Scratch::new("kill");

    // SIGKILL: nothing runs on the way out, so the faults stay, on Docker and
    // in the ledger.
    let host = break_and_hold(&project, &scratch, &[]);
    host.signal("KILL");
    let (ok, _) = host.wait(STEP_LIMIT);
    assert!(!ok);
    assert_broken(&cluster);
    assert_eq!(ledger_entries(&scratch.ledger(&project)).len(), FAULTS);

    let recover = || {
        run(Command::new(host_bin())
            .args(["recover", "--project", &project])
            .arg("--state-dir")
            .arg(&scratch.state))
        .unwrap()
    };
    let out = recover();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "recover failed: {stdout}");
    assert_eq!(stdout.matches("restored ").count(), FAULTS, "{stdout}");
    assert_all_running(&cluster);
    assert_network_clean(&project);
    assert!(!scratch.ledger(&project).exists());
    // Idempotent: a second recover has nothing to do.
    let again = recover();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to restore"));

    // Killed again, the next headless start names the leftovers and how to
    // restore them, and (not asked to restore first) undoes them when it ends.
    std::fs::remove_file(&scratch.transcript).ok();
    let host = break_and_hold(&project, &scratch, &[]);
    host.signal("KILL");
    host.wait(STEP_LIMIT);
    assert_broken(&cluster);
    let next = Host::start(&project, &scratch, Some("q"), &[]);
    let (ok, stderr) = next.wait(STEP_LIMIT);
    assert!(ok, "host failed: {stderr}");
    assert!(
        stderr.contains("5 fault(s) outstanding from an earlier run"),
        "{stderr}"
    );
    assert!(stderr.contains("host recover --project"), "{stderr}");
    assert!(stderr.contains("etcd3 ("), "{stderr}");
    assert_all_running(&cluster);
    assert_network_clean(&project);
    assert!(!scratch.ledger(&project).exists());
}

/// A FROM-scratch image holding the load generator and the libraries it
/// links, to resolve and reach members by service name from inside the
/// project network (the etcd image has no shell or client).
fn probe_image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = temp_dir("dnsprobe");
        let rootfs = dir.join("rootfs");
        std::fs::create_dir_all(&rootfs).unwrap();
        let binary = loadgen_bin();
        std::fs::copy(&binary, rootfs.join("loadgen")).unwrap();
        let ldd = run(Command::new("ldd").arg(&binary)).unwrap();
        for lib in String::from_utf8_lossy(&ldd.stdout)
            .split_whitespace()
            .filter(|w| w.starts_with('/'))
        {
            let to = rootfs.join(lib.trim_start_matches('/'));
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(lib, &to).unwrap();
        }
        std::fs::write(
            dir.join("Dockerfile"),
            "FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"/loadgen\"]\n",
        )
        .unwrap();
        let built = run(Command::new("docker")
            .args(["build", "-q", "-t", PROBE_IMAGE])
            .arg(&dir))
        .unwrap();
        assert!(
            built.status.success(),
            "building the probe image: {}",
            String::from_utf8_lossy(&built.stderr)
        );
        std::fs::remove_dir_all(&dir).ok();
    });
    PROBE_IMAGE
}

fn project_networks(project: &str) -> Vec<String> {
    let out = run(Command::new("docker").args([
        "network",
        "ls",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
        "--format",
        "{{.Name}}",
    ]))
    .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Whether every named member answers a write, reached by service name from
/// a container on `network`. `--rm` and the bounded wait end the probe
/// container even if the test fails.
fn reachable_by_name(network: &str, services: &[&str], wait: &str) -> bool {
    let endpoints: Vec<String> = services
        .iter()
        .map(|s| format!("http://{s}:2379"))
        .collect();
    let out = run(Command::new("docker").args([
        "run",
        "--rm",
        "--network",
        network,
        probe_image(),
        "etcd",
        "--check",
        "--wait",
        wait,
        "--endpoints",
        &endpoints.join(","),
    ]))
    .unwrap();
    out.status.success()
}

fn aliases(cluster: &ComposeProject, service: &str, network: &str) -> Vec<String> {
    let out = run(Command::new("docker").args([
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={}", cluster.name),
        "--filter",
        &format!("label=com.docker.compose.service={service}"),
    ]))
    .unwrap();
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let out = run(Command::new("docker").args([
        "inspect",
        "--format",
        &format!("{{{{json (index .NetworkSettings.Networks \"{network}\").Aliases}}}}"),
        &id,
    ]))
    .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

#[test]
fn pause_unpause_partition_and_heal_with_dns_checked_inside_the_network() {
    let project = project_name("part");
    let cluster = etcd_cluster_up(&project, PARTITION_PORTS);
    let networks = project_networks(&project);
    assert_eq!(networks.len(), 1, "{networks:?}");
    let network = networks[0].clone();
    let aliases_before = aliases(&cluster, "etcd1", &network);
    assert!(aliases_before.contains(&"etcd1".to_string()));
    assert!(reachable_by_name(
        &network,
        &["etcd1", "etcd2", "etcd3"],
        "60s"
    ));

    // Chapters 1-3 break, trap and repair; 4-5 pause and unpause etcd3; 6
    // partitions etcd1, held until the test saw it and ended the host.
    let scratch = Scratch::new("part");
    let keys = "space space space space space space 600s q";
    let host = Host::start(&project, &scratch, Some(keys), &[]);
    wait_until("the partition", STEP_LIMIT, || {
        events(&scratch.transcript(), "fault")
            .iter()
            .any(|f| f["action"] == "partition")
    });
    let ledger = ledger_entries(&scratch.ledger(&project));
    let cut = &ledger[0]["undo"]["reconnect"];
    assert_eq!(cut["network"], network.as_str(), "{ledger:?}");
    assert!(
        cut["aliases"]
            .as_array()
            .unwrap()
            .contains(&Value::from("etcd1")),
        "{ledger:?}"
    );
    assert!(
        !reachable_by_name(&network, &["etcd1"], "3s"),
        "etcd1 still answers by name while partitioned"
    );
    assert!(
        reachable_by_name(&network, &["etcd2", "etcd3"], "60s"),
        "the majority side should keep serving"
    );
    assert_eq!(state_of(&cluster, "etcd1"), "running");
    // SIGTERM mid-pause: the restore reconnects etcd1 (`heal` itself runs in
    // the soak test's full walk through the chapters).
    host.signal("TERM");
    let (ok, stderr) = host.wait(STEP_LIMIT);
    assert!(ok, "host failed: {stderr}");
    let t = scratch.transcript();
    let restores = events(&t, "restore");
    assert_eq!(restores.len(), 1, "{restores:?}");
    assert_eq!(restores[0]["detail"], format!("reconnected to {network}"));

    assert!(
        reachable_by_name(&network, &["etcd1", "etcd2", "etcd3"], "60s"),
        "after the restore, every member must answer by service name"
    );
    let mut after = aliases(&cluster, "etcd1", &network);
    let mut before = aliases_before.clone();
    after.sort();
    before.sort();
    assert_eq!(after, before, "the aliases came back as they were");

    // Pause and unpause, as Docker reported them.
    let etcd3: Vec<&str> = events(&t, "node")
        .iter()
        .filter(|n| n["service"] == "etcd3")
        .filter_map(|n| n["state"].as_str())
        .collect();
    let paused = etcd3.iter().rposition(|s| *s == "paused").unwrap();
    assert!(etcd3[paused..].contains(&"running"), "{etcd3:?}");
    let actions: Vec<&str> = events(&t, "fault")
        .iter()
        .filter_map(|f| f["action"].as_str())
        .collect();
    assert!(
        actions.ends_with(&["pause", "unpause", "partition"]),
        "{actions:?}"
    );
    assert_all_running(&cluster);
}

#[test]
fn heal_and_a_fault_duration_then_a_soak_of_fifty_kill_start_cycles_leak_nothing() {
    let project = project_name("soak");
    let cluster = etcd_cluster_up(&project, SOAK_PORTS);
    let networks_before = project_networks(&project);
    let scratch = Scratch::new("soak");
    // No key script: every chapter in turn, then quit.
    let host = Host::start(&project, &scratch, None, &[]);
    wait_until("the first soak cycle", SOAK_LIMIT, || {
        narrated(&scratch.transcript(), "soak cycle 1 done")
    });
    let rss_start = host.rss_kib();
    wait_until("the last soak cycle", SOAK_LIMIT, || {
        narrated(&scratch.transcript(), "soak cycle 50 done")
    });
    let rss_end = host.rss_kib();
    let (ok, stderr) = host.wait(STEP_LIMIT);
    assert!(ok, "host failed: {stderr}");
    eprintln!("soak: host VmRSS after cycle 1: {rss_start} KiB, after cycle 50: {rss_end} KiB");

    let t = scratch.transcript();
    let chapter_errors: Vec<&Value> = events(&t, "error")
        .into_iter()
        .filter(|e| e.get("chapter").is_some() && e["chapter"] != 2)
        .collect();
    assert!(chapter_errors.is_empty(), "{chapter_errors:?}");
    let actions: Vec<&str> = events(&t, "fault")
        .iter()
        .filter_map(|f| f["action"].as_str())
        .collect();
    assert!(actions.contains(&"heal"), "{actions:?}");
    // Chapter 8 waited for the host to undo its kill after 1.5 s.
    assert!(narrated(&t, "undone by the host"));
    let kills = actions.iter().filter(|a| **a == "kill SIGKILL").count();
    let starts = actions.iter().filter(|a| **a == "start").count();
    // Kill etcd1 in chapter 1, etcd2 in chapter 8, then 50 soak kills.
    assert_eq!(kills, 52, "{actions:?}");
    assert_eq!(starts, 52, "{actions:?}");
    assert_eq!(events(&t, "done")[0]["outstanding_faults"], 0);

    assert_all_running(&cluster);
    assert_eq!(cluster.states().unwrap().len(), 3, "leaked containers");
    assert_eq!(
        project_networks(&project),
        networks_before,
        "leaked networks"
    );
    assert!(!scratch.ledger(&project).exists());
    assert!(
        rss_end <= rss_start + 16 * 1024,
        "host memory grew from {rss_start} KiB to {rss_end} KiB over 49 cycles"
    );
}

#[test]
fn an_unreachable_engine_is_reported_and_fault_calls_fail_cleanly() {
    let scratch = Scratch::new("nodocker");
    let project = project_name("nodocker");
    let socket = scratch.dir.join("no-docker.sock");
    let docker_host = format!("unix://{}", socket.display());
    let host = Host::start(
        &project,
        &scratch,
        Some("space q"),
        &[("DOCKER_HOST", &docker_host)],
    );
    let (ok, output) = host.wait(STEP_LIMIT);
    assert!(ok, "the show still runs and ends cleanly: {output}");

    let t = scratch.transcript();
    let docker = events(&t, "error")
        .into_iter()
        .find(|e| e["source"] == "docker")
        .expect("the transcript says Docker is unreachable");
    assert!(docker["message"].as_str().is_some(), "{docker}");
    let chapter = events(&t, "error")
        .into_iter()
        .find(|e| e["chapter"] == 1)
        .expect("the kill in chapter 2 failed");
    let message = chapter["message"].as_str().unwrap();
    assert!(message.contains("Docker is unavailable"), "{message}");
    assert_eq!(events(&t, "done")[0]["outstanding_faults"], 0);
    assert!(!scratch.ledger(&project).exists(), "no fault was recorded");
}
