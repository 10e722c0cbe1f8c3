//! A one-machine Docker Swarm for a test, and the etcd stack on it, taken
//! down with everything they made even when the test fails: the stack's
//! services, containers, networks and volumes, the presenter network, the
//! host's helpers, and swarm mode itself with the `docker_gwbridge` network
//! it creates (when the engine was not in a swarm before the test).

use crate::{run, workspace_root};
use anyhow::{Result, bail};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One engine has one swarm state: the tests of a process that each join
/// and leave it take turns, whatever `--test-threads` says.
static ONE_SWARM_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How long the stack's containers get to go after `docker stack rm`.
const TEARDOWN_LIMIT: Duration = Duration::from_secs(90);

pub struct SwarmStack {
    pub name: String,
    /// The bridge network (swarm scope) the presenter reaches members on.
    pub presenter_network: String,
    /// Whether this guard put the engine into swarm mode (and so leaves it).
    joined: bool,
    /// Whether `docker_gwbridge` was there before (else it goes too).
    had_gwbridge: bool,
    torn_down: bool,
    /// Held until the guard drops; declared last, so it is released after
    /// the teardown in `drop`.
    _turn: MutexGuard<'static, ()>,
}

fn docker(args: &[&str]) -> Result<String> {
    let output = run(Command::new("docker").args(args).stdin(Stdio::null()))?;
    if !output.status.success() {
        bail!(
            "docker {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn quiet_docker(args: &[&str]) {
    let _ = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn swarm_state() -> Result<String> {
    docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"])
}

fn network_exists(name: &str) -> bool {
    docker(&["network", "inspect", name, "--format", "{{.Name}}"]).is_ok()
}

/// The ids of every container (running or not) carrying `label`.
fn labelled_containers(label: &str) -> Vec<String> {
    docker(&["ps", "-aq", "--filter", &format!("label={label}")])
        .map(lines)
        .unwrap_or_default()
}

fn lines(text: String) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

impl SwarmStack {
    /// Puts the engine in swarm mode if it is not (listening on loopback
    /// only), then deploys clusters/etcd/stack.yaml as `name` and waits
    /// until etcd commits writes.
    pub fn deploy(name: &str) -> Result<Self> {
        // The demo's setup does not build it (only a stack needs it), so a
        // newcomer's first demo does not wait for it; idempotent.
        let built = run(
            Command::new(workspace_root().join("scripts/build-loadgen-image.sh"))
                .stdin(Stdio::null()),
        )?;
        if !built.status.success() {
            bail!(
                "building the loadgen image failed: {}",
                String::from_utf8_lossy(&built.stderr)
            );
        }
        crate::ensure_etcd_image()?;
        // A test that failed while holding it poisoned it; the guard's
        // teardown ran all the same.
        let turn = ONE_SWARM_AT_A_TIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let had_gwbridge = network_exists("docker_gwbridge");
        let joined = match swarm_state()?.as_str() {
            "active" => false,
            "inactive" => {
                docker(&[
                    "swarm",
                    "init",
                    "--listen-addr",
                    "127.0.0.1:2377",
                    "--advertise-addr",
                    "127.0.0.1",
                ])?;
                true
            }
            other => bail!("the engine's swarm state is '{other}'; leave or repair it first"),
        };
        let stack = SwarmStack {
            name: name.to_string(),
            presenter_network: format!("{name}-presenter"),
            joined,
            had_gwbridge,
            torn_down: false,
            _turn: turn,
        };
        // A leftover of an interrupted earlier run would clash.
        stack.remove_stack();
        docker(&[
            "network",
            "create",
            "--driver",
            "bridge",
            "--scope",
            "swarm",
            "--label",
            &format!("demo.test.stack={name}"),
            &stack.presenter_network,
        ])?;
        let file = workspace_root().join("clusters/etcd/stack.yaml");
        let output = run(Command::new("docker")
            .args(["stack", "deploy", "--compose-file"])
            .arg(&file)
            .arg(name)
            .env("PRESENTER_NETWORK", &stack.presenter_network)
            .env("ETCD_IMAGE", "demo-etcd:3.4.23")
            .env("LOADGEN_IMAGE", "demo-loadgen:0.1.0")
            .env("LOADGEN_DURATION", "420s")
            .stdin(Stdio::null()))?;
        if !output.status.success() {
            bail!(
                "docker stack deploy failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        stack.wait_until_committing()?;
        Ok(stack)
    }

    /// The members' client URLs on the presenter network, as Docker reports
    /// their running containers' addresses.
    pub fn member_endpoints(&self) -> Result<Vec<String>> {
        let mut endpoints = Vec::new();
        for member in ["etcd1", "etcd2", "etcd3"] {
            let ids = lines(docker(&[
                "ps",
                "-q",
                "--filter",
                &format!("label=com.docker.swarm.service.name={}_{member}", self.name),
                "--filter",
                "status=running",
            ])?);
            let Some(id) = ids.first() else {
                bail!("{member} has no running container");
            };
            let format = format!(
                "{{{{(index .NetworkSettings.Networks \"{}\").IPAddress}}}}",
                self.presenter_network
            );
            let ip = docker(&["inspect", id, "--format", &format])?;
            endpoints.push(format!("http://{ip}:2379"));
        }
        Ok(endpoints)
    }

    fn wait_until_committing(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        let endpoints = loop {
            match self.member_endpoints() {
                Ok(endpoints) => break endpoints,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_secs(1)),
                Err(e) => return Err(e.context("the stack's members never all ran")),
            }
        };
        crate::wait_until_etcd_commits(&endpoints.join(","))
    }

    /// `(service, "running/desired")` of every service of the stack, from
    /// Swarm.
    pub fn replicas(&self) -> Result<Vec<(String, String)>> {
        let text = docker(&[
            "service",
            "ls",
            "--filter",
            &format!("label=com.docker.stack.namespace={}", self.name),
            "--format",
            "{{.Name}} {{.Replicas}}",
        ])?;
        let mut replicas: Vec<(String, String)> = lines(text)
            .into_iter()
            .filter_map(|l| {
                let (name, count) = l.split_once(' ')?;
                Some((name.to_string(), count.to_string()))
            })
            .collect();
        replicas.sort();
        Ok(replicas)
    }

    /// Waits (bounded) until every etcd member's service runs its one
    /// replica.
    pub fn wait_for_replicas(&self, limit: Duration) -> Result<Vec<(String, String)>> {
        let deadline = Instant::now() + limit;
        loop {
            let replicas = self.replicas()?;
            let members_up = replicas
                .iter()
                .filter(|(name, _)| name.contains("_etcd"))
                .all(|(_, count)| count == "1/1");
            if members_up || Instant::now() > deadline {
                return Ok(replicas);
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn remove_stack(&self) {
        quiet_docker(&["stack", "rm", &self.name]);
        // `stack rm` returns before the containers are gone; the networks
        // and volumes can only go after them.
        let deadline = Instant::now() + TEARDOWN_LIMIT;
        while Instant::now() < deadline {
            let left = labelled_containers(&format!("com.docker.stack.namespace={}", self.name));
            if left.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        for helper in labelled_containers(&format!("demo.netfault.project=swarm-{}", self.name)) {
            quiet_docker(&["rm", "-f", &helper]);
        }
        for volume in self.volumes() {
            quiet_docker(&["volume", "rm", "-f", &volume]);
        }
        for network in self.networks() {
            quiet_docker(&["network", "rm", &network]);
        }
    }

    fn volumes(&self) -> Vec<String> {
        docker(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            &format!("label=com.docker.stack.namespace={}", self.name),
        ])
        .map(lines)
        .unwrap_or_default()
    }

    fn networks(&self) -> Vec<String> {
        let mut networks = docker(&[
            "network",
            "ls",
            "--format",
            "{{.Name}}",
            "--filter",
            &format!("label=com.docker.stack.namespace={}", self.name),
        ])
        .map(lines)
        .unwrap_or_default();
        if network_exists(&self.presenter_network) {
            networks.push(self.presenter_network.clone());
        }
        networks
    }

    /// Takes everything down and says what is still there (nothing, when
    /// all went).
    pub fn tear_down(&mut self) -> Vec<String> {
        self.torn_down = true;
        self.remove_stack();
        if self.joined {
            quiet_docker(&["swarm", "leave", "--force"]);
            if !self.had_gwbridge {
                // Leaving takes the ingress network; docker_gwbridge stays
                // until removed.
                let deadline = Instant::now() + Duration::from_secs(20);
                while network_exists("docker_gwbridge") && Instant::now() < deadline {
                    quiet_docker(&["network", "rm", "docker_gwbridge"]);
                    std::thread::sleep(Duration::from_millis(300));
                }
            }
        }
        self.leftovers()
    }

    /// What of this test is still on the engine.
    pub fn leftovers(&self) -> Vec<String> {
        let mut left: Vec<String> = Vec::new();
        let containers = labelled_containers(&format!("com.docker.stack.namespace={}", self.name));
        left.extend(containers.into_iter().map(|c| format!("container {c}")));
        left.extend(self.volumes().into_iter().map(|v| format!("volume {v}")));
        left.extend(self.networks().into_iter().map(|n| format!("network {n}")));
        let services = docker(&[
            "service",
            "ls",
            "-q",
            "--filter",
            &format!("label=com.docker.stack.namespace={}", self.name),
        ])
        .map(lines)
        .unwrap_or_default();
        left.extend(services.into_iter().map(|s| format!("service {s}")));
        if self.joined {
            match swarm_state() {
                Ok(state) if state == "inactive" => {}
                Ok(state) => left.push(format!("swarm mode ({state})")),
                Err(e) => left.push(format!("swarm state unknown: {e}")),
            }
            if !self.had_gwbridge && network_exists("docker_gwbridge") {
                left.push("network docker_gwbridge".into());
            }
        }
        left
    }
}

impl Drop for SwarmStack {
    fn drop(&mut self) {
        if self.torn_down {
            return;
        }
        let left = self.tear_down();
        if !left.is_empty() {
            eprintln!("warning: the swarm test left {left:?}");
        }
    }
}
