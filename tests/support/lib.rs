//! Shared pieces of the end-to-end tests: building the real binaries and
//! flows once, and a compose project that is torn down even when a test fails.

pub mod bombs;
pub mod chaostoolkit;
pub mod etcd_story;
pub mod hostile_story;
pub mod netfault;
pub mod new_flow_story;
pub mod python;
pub mod show;
pub mod svg;
pub mod swarm;
pub mod tmux;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub fn workspace_root() -> PathBuf {
    // Cargo sets it for the test process too; read at run time first, since
    // the compile-time value goes stale when a target directory is copied to
    // another checkout (cargo's hashes do not depend on where the workspace
    // is, so it does not rebuild, and the tests then built and ran the other
    // checkout).
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR`, else the workspace's.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(args)
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("running cargo {args:?}"))?;
    if !status.success() {
        bail!("cargo {args:?} failed: {status}");
    }
    Ok(())
}

/// Builds the host, the load generator and the flows once per test binary.
pub fn build_all() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        cargo(&["build", "-p", "host", "-p", "loadgen"]).expect("building host and loadgen");
        cargo(&[
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "-p",
            "tikv-flow",
            "-p",
            "etcd-flow",
            "-p",
            "faults-flow",
        ])
        .expect("building the flows for wasm32-wasip2");
    });
}

pub fn host_bin() -> PathBuf {
    build_all();
    target_dir().join("debug/host")
}

pub fn loadgen_bin() -> PathBuf {
    build_all();
    target_dir().join("debug/loadgen")
}

pub fn flow_wasm(name: &str) -> PathBuf {
    build_all();
    target_dir().join(format!("wasm32-wasip2/release/{name}.wasm"))
}

pub fn run(cmd: &mut Command) -> Result<Output> {
    let output = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    Ok(output)
}

/// Runs the host with `args`, killing it if it outlives `limit`. A run
/// (`--flow`) that gives no consent flag gets `--yes`: the tests run their own
/// packs, and a headless run of an untrusted pack would stop at consent.
pub fn run_host(args: &[&str], limit: Duration) -> Result<Output> {
    let consent_given = args.iter().any(|a| *a == "--yes" || *a == "--allow");
    let consent: &[&str] = if args.contains(&"--flow") && !consent_given {
        &["--yes"]
    } else {
        &[]
    };
    let mut child = Command::new(host_bin())
        .args(args)
        .args(consent)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting the host")?;
    let started = Instant::now();
    loop {
        if child.try_wait()?.is_some() {
            return Ok(child.wait_with_output()?);
        }
        if started.elapsed() > limit {
            // SIGTERM first: the host restores its faults on it.
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            std::thread::sleep(Duration::from_secs(10));
            let _ = child.kill();
            let output = child.wait_with_output()?;
            bail!(
                "the host ran longer than {limit:?}; stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Parses a JSON-lines transcript.
pub fn read_transcript(path: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the transcript {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).with_context(|| format!("transcript line is not JSON: {l}"))
        })
        .collect()
}

/// A compose project brought up for one test and always torn down (volumes
/// and networks included), also when the test panics.
pub struct ComposeProject {
    pub name: String,
    file: PathBuf,
    env: Vec<(String, String)>,
}

impl ComposeProject {
    pub fn up(name: &str, file: &Path, env: &[(&str, &str)]) -> Result<Self> {
        let project = ComposeProject {
            name: name.to_string(),
            file: file.to_path_buf(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        // A leftover from an interrupted earlier run would clash.
        project.compose(&["down", "-v", "--remove-orphans"])?;
        let output = project.compose(&["up", "-d"])?;
        if !output.status.success() {
            bail!(
                "docker-compose up failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(project)
    }

    fn compose(&self, args: &[&str]) -> Result<Output> {
        let mut cmd = compose_command();
        cmd.arg("-f")
            .arg(&self.file)
            .arg("-p")
            .arg(&self.name)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null());
        run(&mut cmd)
    }

    /// `(service, state)` of every container of the project, from Docker.
    pub fn states(&self) -> Result<Vec<(String, String)>> {
        let output = run(Command::new("docker").args([
            "ps",
            "-a",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.name),
            "--format",
            "{{.Label \"com.docker.compose.service\"}} {{.State}}",
        ]))?;
        let text = String::from_utf8_lossy(&output.stdout);
        let mut states: Vec<(String, String)> = text
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(s, st)| (s.to_string(), st.to_string()))
            .collect();
        states.sort();
        Ok(states)
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        // A test that failed before its host restored leaves the host's
        // network-fault helpers (a delayer in a member's namespace); they
        // carry our label, not Compose's, so `down` would not see them.
        let helpers = Command::new("docker")
            .args(["ps", "-aq", "--filter"])
            .arg(format!("label=demo.netfault.project={}", self.name))
            .output();
        if let Ok(helpers) = helpers {
            for id in String::from_utf8_lossy(&helpers.stdout).split_whitespace() {
                let _ = Command::new("docker")
                    .args(["rm", "-f", id])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
        match self.compose(&["down", "-v", "--remove-orphans", "-t", "2"]) {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "warning: tearing down {} failed: {}",
                self.name,
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("warning: tearing down {} failed: {e}", self.name),
        }
    }
}

/// `docker-compose` (v1) where it is installed, else the `docker compose`
/// plugin (v2), ready for its arguments.
pub fn compose_command() -> Command {
    if which("docker-compose") {
        Command::new("docker-compose")
    } else {
        let mut cmd = Command::new("docker");
        cmd.arg("compose");
        cmd
    }
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Builds the offline etcd image if it is missing (idempotent).
pub fn ensure_etcd_image() -> Result<()> {
    let status = Command::new(workspace_root().join("scripts/build-etcd-image.sh"))
        .status()
        .context("running scripts/build-etcd-image.sh")?;
    if !status.success() {
        bail!("building the etcd image failed: {status}");
    }
    Ok(())
}

/// A fresh temporary directory for one test (state dir, transcript).
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chaos-demo-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a temp dir");
    dir
}

/// Loopback ports of the three etcd members' client endpoints; each test file
/// picks its own so files can run in parallel.
pub type EtcdPorts = [&'static str; 3];

/// The members' client URLs, comma-separated, as loadgen's `--endpoints` takes them.
pub fn etcd_endpoints(ports: EtcdPorts) -> String {
    ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The load generator writing to the etcd members on `ports` for
/// `duration` (`"300s"`), as a `--workload cmd:` source.
pub fn etcd_workload(ports: EtcdPorts, duration: &str) -> String {
    // A fifth of the reads serializable: a member cut off from the others
    // answers those from its stale copy, which the verdicts count apart.
    format!(
        "cmd:{} etcd --duration {duration} --serializable-reads 20 --endpoints {}",
        loadgen_bin().display(),
        etcd_endpoints(ports)
    )
}

/// The offline three-member etcd cluster as compose project `project`, its
/// members' client ports on `ports`, started but not waited for; torn down
/// when the guard drops.
pub fn etcd_project_up(project: &str, ports: EtcdPorts) -> ComposeProject {
    ensure_etcd_image().unwrap();
    let compose = workspace_root().join("clusters/etcd/docker-compose.yaml");
    ComposeProject::up(
        project,
        &compose,
        &[
            ("ETCD_IMAGE", "demo-etcd:3.4.23"),
            ("ETCD1_PORT", ports[0]),
            ("ETCD2_PORT", ports[1]),
            ("ETCD3_PORT", ports[2]),
        ],
    )
    .unwrap()
}

/// The offline three-member etcd cluster as compose project `project`, up and
/// committing writes (`loadgen etcd --check`), torn down when the guard drops.
pub fn etcd_cluster_up(project: &str, ports: EtcdPorts) -> ComposeProject {
    let cluster = etcd_project_up(project, ports);
    wait_until_etcd_commits(&etcd_endpoints(ports)).unwrap();
    cluster
}

/// Checks that Docker lists the three etcd members of `cluster`, every one
/// running (after a show: nothing it did is left broken).
pub fn assert_all_running(cluster: &ComposeProject) {
    let states = cluster.states().unwrap();
    assert_eq!(states.len(), 3, "{}: {states:?}", cluster.name);
    for (service, state) in &states {
        assert_eq!(
            state, "running",
            "{} {service} left {state}: {states:?}",
            cluster.name
        );
    }
}

/// Checks that `cluster` is whole: its three etcd members running
/// ([`assert_all_running`]) and no process of theirs frozen (a SIGSTOP).
pub fn assert_whole(cluster: &ComposeProject) {
    assert_all_running(cluster);
    assert_eq!(
        frozen_processes(&cluster.name).unwrap(),
        Vec::<String>::new(),
        "{}: frozen processes",
        cluster.name
    );
}

/// The host's fault ledger for `project` in the state directory `state`.
pub fn ledger_path(state: &Path, project: &str) -> PathBuf {
    state.join(format!("ledger-{project}.json"))
}

/// The entries of the fault ledger at `path` (none if it is gone or unreadable).
pub fn ledger_entries(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|v| v["entries"].as_array().cloned())
        .unwrap_or_default()
}

/// Checks that the project's fault ledger (removed by the host once nothing
/// is outstanding) is gone or lists no entry.
pub fn assert_ledger_empty(state: &Path, project: &str) {
    let path = ledger_path(state, project);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let ledger: Value = serde_json::from_str(&text).unwrap();
    assert!(
        ledger["entries"].as_array().is_none_or(|e| e.is_empty()),
        "the ledger still lists faults: {text}"
    );
}

/// Waits (60 s at most) until etcd at `endpoints` (loadgen's
/// comma-separated `--endpoints`) commits writes.
pub fn wait_until_etcd_commits(endpoints: &str) -> Result<()> {
    let ready = run(Command::new(loadgen_bin()).args([
        "etcd",
        "--check",
        "--wait",
        "60s",
        "--endpoints",
        endpoints,
    ]))?;
    if !ready.status.success() {
        bail!(
            "etcd never became ready: {}",
            String::from_utf8_lossy(&ready.stderr)
        );
    }
    Ok(())
}

/// The variants of the hostile crate (tests/guests/hostile), by cargo
/// feature ("" = the default flow).
const HOSTILE_VARIANTS: &[(&str, &str)] = &[
    ("hostile", ""),
    ("describe-loop", "describe-loop"),
    ("api-v9", "api-v9"),
    ("other-world", "other-world"),
    ("escapes", "escapes"),
    ("floods", "floods"),
    ("blocking", "blocking"),
    ("probes", "probes"),
    ("cmd-workload", "cmd-workload"),
    ("no-imports", "no-imports"),
    ("lifting", "lifting"),
    ("describe-bomb", "describe-bomb"),
    ("absurd-hypotheses", "absurd-hypotheses"),
];

/// A hostile pack, built for wasm32-wasip2 once per test process and copied
/// aside (every build writes the same hostile.wasm).
pub fn hostile_wasm(variant: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        build_all();
        let out = target_dir().join("hostile-guests");
        std::fs::create_dir_all(&out).unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        for (name, feature) in HOSTILE_VARIANTS {
            let mut cmd = Command::new(&cargo);
            cmd.args(["build", "--release", "--target", "wasm32-wasip2"])
                .args(["-p", "hostile-flow"])
                .current_dir(workspace_root());
            if !feature.is_empty() {
                cmd.args(["--features", feature]);
            }
            let status = cmd.status().expect("running cargo");
            assert!(status.success(), "building the hostile variant {name}");
            std::fs::copy(
                target_dir().join("wasm32-wasip2/release/hostile.wasm"),
                out.join(format!("{name}.wasm")),
            )
            .unwrap();
        }
        out
    });
    dir.join(format!("{variant}.wasm"))
}

/// Processes of the compose project's containers that are stopped (state
/// `T`, as a SIGSTOP leaves them), as `container: pid stat` lines.
pub fn frozen_processes(project: &str) -> Result<Vec<String>> {
    let ids = run(Command::new("docker").args([
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
    ]))?;
    let mut frozen = Vec::new();
    for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
        let top = run(Command::new("docker").args(["top", id, "-o", "pid,stat"]))?;
        for line in String::from_utf8_lossy(&top.stdout).lines().skip(1) {
            let stat = line.split_whitespace().nth(1).unwrap_or("");
            if stat.starts_with('T') {
                frozen.push(format!("{id}: {line}"));
            }
        }
    }
    Ok(frozen)
}

/// The error a transcript reports for the chapter titled `title`, if any
/// (panics if that chapter never started).
pub fn chapter_error<'a>(t: &'a [Value], title: &str) -> Option<&'a str> {
    let index = t
        .iter()
        .find(|e| e["event"] == "chapter" && e["title"] == title)
        .unwrap_or_else(|| panic!("chapter {title} never started"))["index"]
        .clone();
    t.iter()
        .find(|e| e["event"] == "error" && e["chapter"] == index)
        .and_then(|e| e["message"].as_str())
}

/// The chapters of the blocking pack (tests/guests/hostile/src/blocking.rs)
/// that never return on their own, by index: each is a different way of
/// being stuck when the presenter quits.
pub const BLOCKING_CHAPTERS: [(usize, &str); 7] = [
    (1, "Hanging probe"),
    (2, "WASI sleep"),
    (3, "Cheap calls after quit"),
    (4, "Compute after quit"),
    (5, "Docker wait"),
    (6, "Endless countdown"),
    (7, "Docker calls"),
];

/// All a finished child wrote to its piped stderr.
pub fn read_stderr(child: &mut std::process::Child) -> String {
    let mut text = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
    }
    text
}
