//! The network-fault helper image (netfault/, clusters/netfault/) in tests:
//! building it, a private Docker network with containers of it that are
//! removed even when a test panics, and running helpers in a target's
//! network namespace the way the host does.

use crate::workspace_root;
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The helper image's tag (scripts/build-netfault-image.sh builds it).
pub fn netfault_image() -> String {
    std::env::var("NETFAULT_IMAGE_TAG").unwrap_or_else(|_| "demo-netfault:0.1.0".into())
}

/// Builds the helper image once per test process; the script rebuilds only
/// when the netfault binary changed.
pub fn ensure_netfault_image() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new(workspace_root().join("scripts/build-netfault-image.sh"))
            .stdin(Stdio::null())
            .status()
            .expect("running scripts/build-netfault-image.sh");
        assert!(
            status.success(),
            "building the netfault image failed: {status}"
        );
    });
}

/// Runs `cmd`, killing it if it outlives `limit` (then `on_timeout` runs,
/// e.g. to remove the container a `docker run` started).
pub fn run_bounded(
    cmd: &mut Command,
    limit: Duration,
    on_timeout: impl FnOnce(),
) -> Result<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {cmd:?}"))?;
    // Pipes are read by threads so a chatty child cannot block on them.
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let out = read(child.stdout.take().map(|p| Box::new(p) as _));
    let err = read(child.stderr.take().map(|p| Box::new(p) as _));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > limit {
            on_timeout();
            let _ = child.kill();
            let _ = child.wait();
            let stderr = err.join().unwrap_or_default();
            bail!(
                "{cmd:?} ran longer than {limit:?}; stderr: {}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

fn docker(args: &[&str], limit: Duration) -> Result<Output> {
    run_bounded(Command::new("docker").args(args), limit, || {})
}

/// The JSON objects of a netfault stdout, one per line.
pub fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The one JSON object a netfault command printed last.
pub fn last_json(output: &Output) -> Value {
    json_lines(&output.stdout).pop().unwrap_or_else(|| {
        panic!(
            "no JSON on stdout; stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// A private (internal) Docker network for one test and the containers of
/// the helper image on it or in its containers' namespaces. Dropping it
/// removes every container labelled with its name, then the network.
pub struct Lab {
    pub network: String,
    image: String,
    counter: AtomicUsize,
}

/// How long one helper container (`run`, `undo`, `show`, a probe) may take.
pub const HELPER_LIMIT: Duration = Duration::from_secs(30);

impl Lab {
    pub fn new(tag: &str) -> Lab {
        ensure_netfault_image();
        static N: AtomicUsize = AtomicUsize::new(0);
        let network = format!(
            "nfh-{}-{}-{tag}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let lab = Lab {
            network,
            image: netfault_image(),
            counter: AtomicUsize::new(0),
        };
        let out = docker(
            &[
                "network",
                "create",
                "--internal",
                "--driver",
                "bridge",
                "--label",
                &format!("nfh.lab={}", lab.network),
                &lab.network,
            ],
            Duration::from_secs(30),
        )
        .expect("docker network create");
        assert!(
            out.status.success(),
            "creating network {}: {}",
            lab.network,
            String::from_utf8_lossy(&out.stderr)
        );
        lab
    }

    fn name(&self, what: &str) -> String {
        format!(
            "{}-{what}-{}",
            self.network,
            self.counter.fetch_add(1, Ordering::SeqCst)
        )
    }

    fn label(&self) -> String {
        format!("nfh.lab={}", self.network)
    }

    /// Starts a long-running container (`udp-echo`, `tcp-sink`, `delay`),
    /// on the lab's network or (`netns = Some(target)`) in another
    /// container's network namespace with NET_ADMIN only, and waits until
    /// its log shows `ready` (the first JSON line it prints when it is).
    pub fn start(&self, what: &str, netns: Option<&str>, args: &[&str], ready: &str) -> String {
        let name = self.name(what);
        let network = match netns {
            Some(target) => format!("container:{target}"),
            None => self.network.clone(),
        };
        let label = self.label();
        let mut argv = vec![
            "run",
            "-d",
            "--name",
            &name,
            "--label",
            &label,
            "--network",
            &network,
            "--cap-drop",
            "ALL",
        ];
        if netns.is_some() {
            argv.extend(["--cap-add", "NET_ADMIN"]);
        }
        argv.push(&self.image);
        argv.extend_from_slice(args);
        let out = docker(&argv, Duration::from_secs(30)).expect("docker run -d");
        assert!(
            out.status.success(),
            "starting {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.wait_for_log(&name, ready, Duration::from_secs(15));
        name
    }

    /// Waits (bounded) until `container`'s stdout has a line containing `needle`.
    pub fn wait_for_log(&self, container: &str, needle: &str, limit: Duration) -> String {
        let started = Instant::now();
        loop {
            let out = docker(&["logs", container], Duration::from_secs(10)).expect("docker logs");
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if let Some(line) = text.lines().find(|l| l.contains(needle)) {
                return line.to_string();
            }
            if started.elapsed() > limit {
                panic!(
                    "{container} never printed {needle:?} within {limit:?}; stdout: {text}; stderr: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A short-lived helper in `target`'s network namespace, as the host runs
    /// them: `--network container:<target> --cap-drop ALL --cap-add NET_ADMIN`.
    pub fn helper(&self, target: &str, args: &[&str]) -> Output {
        self.run_once(
            &format!("container:{target}"),
            &["NET_ADMIN"],
            args,
            HELPER_LIMIT,
        )
    }

    /// A short-lived client container on the lab's network (no capabilities).
    pub fn client(&self, args: &[&str], limit: Duration) -> Output {
        self.run_once(&self.network.clone(), &[], args, limit)
    }

    /// `docker run --rm` of the image with `args`, bounded by `limit`.
    pub fn run_once(&self, network: &str, caps: &[&str], args: &[&str], limit: Duration) -> Output {
        let name = self.name("once");
        let label = self.label();
        let mut argv = vec![
            "run",
            "--rm",
            "--name",
            &name,
            "--label",
            &label,
            "--network",
            network,
            "--cap-drop",
            "ALL",
        ];
        for cap in caps {
            argv.extend(["--cap-add", cap]);
        }
        argv.push(&self.image);
        argv.extend_from_slice(args);
        run_bounded(Command::new("docker").args(&argv), limit, || {
            let _ = docker(&["rm", "-f", &name], Duration::from_secs(20));
        })
        .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// The container's address on the lab's network.
    pub fn ip(&self, container: &str) -> String {
        let format = format!(
            "{{{{(index .NetworkSettings.Networks \"{}\").IPAddress}}}}",
            self.network
        );
        let out = docker(
            &["inspect", "--format", &format, container],
            Duration::from_secs(10),
        )
        .expect("docker inspect");
        let ip = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            !ip.is_empty(),
            "{container} has no address on {}",
            self.network
        );
        ip
    }

    /// `netfault rtt` from a client container to `to`.
    pub fn rtt(&self, to: &str, count: u32, interval_ms: u32, timeout_ms: u32) -> Value {
        let (count_s, interval_s, timeout_s) = (
            count.to_string(),
            interval_ms.to_string(),
            timeout_ms.to_string(),
        );
        let limit = Duration::from_millis(u64::from(count * interval_ms + timeout_ms) + 20_000);
        let out = self.client(
            &[
                "rtt",
                "--to",
                to,
                "--count",
                &count_s,
                "--interval-ms",
                &interval_s,
                "--timeout-ms",
                &timeout_s,
            ],
            limit,
        );
        assert!(
            out.status.success(),
            "rtt failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary = last_json(&out);
        eprintln!("rtt to {to}: {summary}");
        summary
    }

    /// `netfault run --plan` (`op` = "run") or `undo` in `target`'s netns.
    pub fn plan(&self, target: &str, op: &str, plan: &Value) -> (i32, Vec<Value>) {
        let text = plan.to_string();
        let out = self.helper(target, &[op, "--plan", &text]);
        let lines = json_lines(&out.stdout);
        let shown: Vec<String> = lines.iter().map(Value::to_string).collect();
        eprintln!("netfault {op}: {}", shown.join(" "));
        (out.status.code().unwrap_or(-1), lines)
    }

    /// `netfault show` in `target`'s netns.
    pub fn show(&self, target: &str) -> Value {
        let out = self.helper(target, &["show"]);
        assert!(
            out.status.success(),
            "show failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        last_json(&out)
    }

    /// `docker stop -t secs`; returns the container's exit code.
    pub fn stop(&self, container: &str, secs: u32) -> i64 {
        let t = secs.to_string();
        let out = docker(
            &["stop", "-t", &t, container],
            Duration::from_secs(u64::from(secs) + 20),
        )
        .expect("docker stop");
        assert!(
            out.status.success(),
            "docker stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.exit_code(container)
    }

    pub fn kill(&self, container: &str) {
        let out = docker(&["kill", container], Duration::from_secs(20)).expect("docker kill");
        assert!(
            out.status.success(),
            "docker kill: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn exit_code(&self, container: &str) -> i64 {
        let out = docker(
            &["inspect", "--format", "{{.State.ExitCode}}", container],
            Duration::from_secs(10),
        )
        .expect("docker inspect");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(-1)
    }

    /// The container's main process as the host sees it (for its CPU time).
    pub fn host_pid(&self, container: &str) -> u32 {
        let out = docker(
            &["inspect", "--format", "{{.State.Pid}}", container],
            Duration::from_secs(10),
        )
        .expect("docker inspect");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a pid")
    }

    pub fn logs(&self, container: &str) -> String {
        let out = docker(&["logs", container], Duration::from_secs(10)).expect("docker logs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let filter = format!("label={}", self.label());
        if let Ok(out) = docker(&["ps", "-aq", "--filter", &filter], Duration::from_secs(20)) {
            let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect();
            if !ids.is_empty() {
                let mut argv = vec!["rm", "-f"];
                argv.extend(ids.iter().map(String::as_str));
                if let Err(e) = docker(&argv, Duration::from_secs(60)) {
                    eprintln!(
                        "warning: removing the containers of {}: {e:#}",
                        self.network
                    );
                }
            }
        }
        match docker(&["network", "rm", &self.network], Duration::from_secs(30)) {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "warning: removing network {}: {}",
                self.network,
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("warning: removing network {}: {e:#}", self.network),
        }
    }
}

/// Asserts that container `id`'s network namespace holds no rule, qdisc or
/// queue of ours, as a helper in it reads them (never the ledger), and that
/// no helper labelled `key` is left (a delayer, a stuck run).
pub fn assert_namespace_clean(id: &str, key: &str) {
    let shown = crate::run(std::process::Command::new("docker").args([
        "run",
        "--rm",
        "--network",
        &format!("container:{id}"),
        "--cap-add",
        "NET_ADMIN",
        &netfault_image(),
        "show",
    ]))
    .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("\"devs\""),
        "netfault show said nothing: {shown}"
    );
    for leftover in [
        "DEMO-SHAPE",
        "DEMO-DELAY",
        "DEMO-ISOLATE",
        "NFQUEUE",
        "statistic",
        "htb",
        "netem",
    ] {
        assert!(
            !shown.contains(leftover),
            "{leftover} left in {id}'s namespace: {shown}"
        );
    }
    let helpers = crate::run(std::process::Command::new("docker").args([
        "ps",
        "-aq",
        "--filter",
        &format!("label=demo.netfault.project={key}"),
    ]))
    .unwrap();
    assert!(
        helpers.stdout.trim_ascii().is_empty(),
        "a network-fault helper (the delayer?) outlived the show"
    );
}
