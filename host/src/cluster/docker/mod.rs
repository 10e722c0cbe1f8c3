//! One Docker engine and the container-level calls both Docker backends
//! make on it: the client (made once the engine answers), listing by label,
//! the fault calls, partitions, the network-fault helpers, logs, and what
//! Docker's answers mean in the cluster's terms. Which containers are nodes,
//! and what their services are called, is each backend's business.

pub mod error;
pub mod helper;

use super::backend::{Change, ChangeKind, Liveness, NetfaultHelpers};
use super::ledger::{Entry, UndoAction};
use super::model::{
    ClusterError, ContainerAction, Health, LogFrame, LogStream, Node, NodeState, RestoreOutcome,
};
use super::netfault::output::HelperOutput;
use super::netfault::plan::Mechanisms;
use super::netfault::sweep::Found;
use async_trait::async_trait;
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::models::{
    ContainerInspectResponse, ContainerSummary, ContainerSummaryStateEnum, EndpointIpamConfig,
    EndpointSettings, NetworkConnectRequest, NetworkDisconnectRequest,
};
use bollard::query_parameters::{
    InspectContainerOptions, KillContainerOptions, ListContainersOptions, LogsOptions,
    RestartContainerOptions, StartContainerOptions, StopContainerOptions,
};
use error::docker_error;
use futures::StreamExt;
use futures::stream::BoxStream;
use helper::Namespace;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;

/// A filter of the Engine API (`label`, `type`, …) and its accepted values.
pub(super) type Filters = HashMap<String, Vec<String>>;

/// Docker's own networks: a compose service is never on them, and leaving
/// them would cut the container off from more than its project.
const ENGINE_NETWORKS: [&str; 3] = ["bridge", "host", "none"];

/// One engine, shared by a backend and the handles it gives out.
pub(super) struct Engine {
    /// Set once the engine answered; until then (engine down or its socket
    /// missing at start) every call tries again and fails with
    /// `DockerUnavailable`. A client, once made, reconnects by itself.
    client: Mutex<Option<Docker>>,
    /// The image network faults run their helpers from.
    netfault_image: String,
    /// What every helper is labelled with, so a later run finds it.
    helper_key: String,
}

impl Engine {
    pub(super) fn new(helper_key: String, netfault_image: String) -> Self {
        Engine {
            client: Mutex::new(None),
            netfault_image,
            helper_key,
        }
    }

    /// The image network faults run their helpers from.
    pub(super) fn netfault_image(&self) -> &str {
        &self.netfault_image
    }

    /// What every helper of this engine's scope is labelled with.
    pub(super) fn helper_key(&self) -> &str {
        &self.helper_key
    }

    /// The Engine API client, made on first success.
    pub(super) async fn client(&self) -> Result<Docker, ClusterError> {
        if let Some(docker) = self.lock_client().clone() {
            return Ok(docker);
        }
        let docker = Docker::connect_with_defaults()
            .map_err(|e| ClusterError::DockerUnavailable(format!("{e} (check DOCKER_HOST)")))?;
        // The engine may speak an older API than bollard's default; without
        // agreeing on one, every later call would be refused.
        let docker = docker.negotiate_version().await.map_err(docker_error)?;
        *self.lock_client() = Some(docker.clone());
        Ok(docker)
    }

    fn lock_client(&self) -> std::sync::MutexGuard<'_, Option<Docker>> {
        self.client.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every container (running or not) the filters match.
    pub(super) async fn summaries(
        &self,
        filters: Filters,
    ) -> Result<Vec<ContainerSummary>, ClusterError> {
        self.client()
            .await?
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .map_err(docker_error)
    }

    /// Docker's events for the containers the filters match, as changes.
    pub(super) async fn container_changes(
        &self,
        mut filters: Filters,
    ) -> Result<BoxStream<'static, Result<Change, ClusterError>>, ClusterError> {
        filters.insert("type".to_string(), vec!["container".to_string()]);
        let events = self
            .client()
            .await?
            .events(Some(bollard::query_parameters::EventsOptions {
                filters: Some(filters),
                ..Default::default()
            }));
        Ok(events
            .filter_map(|event| {
                let change = match event.map_err(docker_error) {
                    Ok(message) => change_of(message.action.as_deref().unwrap_or("")).map(|kind| {
                        Ok(Change {
                            id: message.actor.and_then(|a| a.id).unwrap_or_default(),
                            kind,
                        })
                    }),
                    Err(e) => Some(Err(e)),
                };
                std::future::ready(change)
            })
            .boxed())
    }

    /// The Engine API call that makes `action` on container `id`.
    pub(super) async fn perform(
        &self,
        id: &str,
        action: &ContainerAction,
    ) -> Result<(), ClusterError> {
        let docker = self.client().await?;
        let result = match action {
            ContainerAction::Kill { signal } => {
                let options = KillContainerOptions {
                    signal: signal.name().to_string(),
                };
                docker.kill_container(id, Some(options)).await
            }
            ContainerAction::Stop { grace_seconds } => {
                let options = StopContainerOptions {
                    t: Some(i32::try_from(*grace_seconds).unwrap_or(i32::MAX)),
                    ..Default::default()
                };
                docker.stop_container(id, Some(options)).await
            }
            ContainerAction::Start => {
                docker
                    .start_container(id, None::<StartContainerOptions>)
                    .await
            }
            ContainerAction::Restart => {
                docker
                    .restart_container(id, None::<RestartContainerOptions>)
                    .await
            }
            ContainerAction::Pause => docker.pause_container(id).await,
            ContainerAction::Unpause => docker.unpause_container(id).await,
        };
        result.map_err(docker_error)
    }

    /// `Ok(None)`: no such container.
    async fn inspect(&self, id: &str) -> Result<Option<ContainerInspectResponse>, ClusterError> {
        match self
            .client()
            .await?
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(docker_error)
        {
            Ok(info) => Ok(Some(info)),
            Err(ClusterError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Undoes a `Start` or `Unpause` on the container itself.
    pub(super) async fn bring_back_container(&self, entry: &Entry) -> RestoreOutcome {
        let outcome = |ok: bool, detail: String| RestoreOutcome::of(entry, ok, detail);
        let state = match self.inspect(&entry.container_id).await {
            Ok(Some(info)) => info.state.unwrap_or_default(),
            Ok(None) => return outcome(true, "container is gone".into()),
            Err(e) => return outcome(false, e.to_string()),
        };
        let (action, done) = match &entry.undo {
            UndoAction::Start if state.running == Some(true) => {
                return outcome(true, "already running".into());
            }
            UndoAction::Unpause if state.paused != Some(true) => {
                return outcome(true, "not paused".into());
            }
            UndoAction::Start => (ContainerAction::Start, "started"),
            UndoAction::Unpause => (ContainerAction::Unpause, "unpaused"),
            other => {
                return outcome(
                    false,
                    format!("not a container fault: {}", other.describe()),
                );
            }
        };
        match self.perform(&entry.container_id, &action).await {
            Ok(()) => outcome(true, done.into()),
            Err(e) => outcome(false, e.to_string()),
        }
    }

    /// One cut per network the container is on (with the aliases and fixed
    /// address it had there), sorted by network.
    pub(super) async fn partition_cuts(
        &self,
        node: &Node,
    ) -> Result<Vec<UndoAction>, ClusterError> {
        let info = self.inspect(&node.id).await?.ok_or_else(|| {
            ClusterError::NotFound(format!("container {} is gone", node.container))
        })?;
        let networks = info
            .network_settings
            .and_then(|n| n.networks)
            .unwrap_or_default();
        let mut cuts: Vec<UndoAction> = networks
            .into_iter()
            .filter(|(name, _)| !ENGINE_NETWORKS.contains(&name.as_str()))
            .map(|(network, endpoint)| UndoAction::Reconnect {
                network,
                aliases: endpoint.aliases.unwrap_or_default(),
                ipv4_address: endpoint
                    .ipam_config
                    .and_then(|c| c.ipv4_address)
                    .filter(|a| !a.is_empty()),
            })
            .collect();
        if cuts.is_empty() {
            return Err(ClusterError::Failed(format!(
                "{} is on no project network to disconnect it from",
                node.container
            )));
        }
        cuts.sort_by_key(|cut| match cut {
            UndoAction::Reconnect { network, .. } => network.clone(),
            _ => String::new(),
        });
        Ok(cuts)
    }

    /// Disconnects container `id` from the network of a `Reconnect` undo.
    pub(super) async fn cut(&self, id: &str, cut: &UndoAction) -> Result<(), ClusterError> {
        let UndoAction::Reconnect { network, .. } = cut else {
            return Err(ClusterError::Failed(format!(
                "not a partition cut: {}",
                cut.describe()
            )));
        };
        let request = NetworkDisconnectRequest {
            container: id.to_string(),
            force: Some(true),
        };
        self.client()
            .await?
            .disconnect_network(network, request)
            .await
            .map_err(docker_error)
    }

    /// Connects the container of a `Reconnect` entry to its network again,
    /// with the aliases (and fixed address) it had there.
    pub(super) async fn reconnect(&self, entry: &Entry) -> RestoreOutcome {
        let outcome = |ok: bool, detail: String| RestoreOutcome::of(entry, ok, detail);
        let UndoAction::Reconnect {
            network,
            aliases,
            ipv4_address,
        } = &entry.undo
        else {
            return outcome(false, "not a partition".into());
        };
        let info = match self.inspect(&entry.container_id).await {
            Ok(Some(info)) => info,
            Ok(None) => return outcome(true, "container is gone".into()),
            Err(e) => return outcome(false, e.to_string()),
        };
        let connected = info
            .network_settings
            .and_then(|n| n.networks)
            .is_some_and(|n| n.contains_key(network));
        if connected {
            return outcome(true, format!("already on {network}"));
        }
        let request = NetworkConnectRequest {
            container: entry.container_id.clone(),
            endpoint_config: Some(EndpointSettings {
                aliases: Some(aliases.to_vec()),
                ipam_config: ipv4_address.as_ref().map(|address| EndpointIpamConfig {
                    ipv4_address: Some(address.to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        let reconnected = match self.client().await {
            Ok(docker) => docker
                .connect_network(network, request)
                .await
                .map_err(docker_error),
            Err(e) => Err(e),
        };
        match reconnected {
            Ok(()) => outcome(true, format!("reconnected to {network}")),
            Err(ClusterError::NotFound(_)) => outcome(true, format!("network {network} is gone")),
            Err(e) => outcome(false, e.to_string()),
        }
    }

    pub(super) async fn liveness(&self, id: &str) -> Result<Option<Liveness>, ClusterError> {
        Ok(self.inspect(id).await?.map(liveness_of))
    }

    pub(super) async fn addresses(
        &self,
        id: &str,
    ) -> Result<HashMap<String, Ipv4Addr>, ClusterError> {
        let info = self
            .inspect(id)
            .await?
            .ok_or_else(|| ClusterError::NotFound(format!("container {id} is gone")))?;
        Ok(addresses_of(info))
    }

    /// The stdout and stderr frames of container `id` from `since` (or from
    /// now), each starting with Docker's timestamp; the stream ends when the
    /// container stops or Docker fails.
    pub(super) async fn follow_logs(
        &self,
        id: &str,
        container: &str,
        since: Option<i32>,
    ) -> Result<BoxStream<'static, LogFrame>, ClusterError> {
        let frames = self.client().await?.logs(id, Some(follow_options(since)));
        Ok(until_first_error(frames, container))
    }
}

/// Whether an inspected container runs, and since when.
pub(super) fn liveness_of(info: ContainerInspectResponse) -> Liveness {
    let state = info.state.unwrap_or_default();
    Liveness {
        running: state.running == Some(true),
        started_at: state.started_at.unwrap_or_default(),
    }
}

/// An inspected container's IPv4 address on each network it is on.
pub(super) fn addresses_of(info: ContainerInspectResponse) -> HashMap<String, Ipv4Addr> {
    info.network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(network, endpoint)| {
            let ip = endpoint.ip_address?.parse::<Ipv4Addr>().ok()?;
            Some((network, ip))
        })
        .collect()
}

/// The netfault helper as containers on this engine (see `helper`).
#[async_trait]
impl NetfaultHelpers for Engine {
    async fn probe_netfault(&self) -> Result<Mechanisms, ClusterError> {
        let docker = self.client().await?;
        helper::probe(&docker, &self.netfault_image, &self.helper_key).await
    }

    async fn run_netfault(
        &self,
        id: &str,
        argv: Vec<String>,
    ) -> Result<HelperOutput, ClusterError> {
        let docker = self.client().await?;
        helper::run(
            &docker,
            &self.netfault_image,
            &self.helper_key,
            Namespace::Of(id),
            argv,
        )
        .await
    }

    async fn start_delayer(
        &self,
        id: &str,
        name: &str,
        argv: Vec<String>,
    ) -> Result<(), ClusterError> {
        let docker = self.client().await?;
        helper::start_delayer(
            &docker,
            &self.netfault_image,
            &self.helper_key,
            id,
            name,
            argv,
        )
        .await
    }

    async fn remove_helper(&self, name: &str) {
        if let Ok(docker) = self.client().await {
            helper::remove(&docker, name).await;
        }
    }

    async fn helpers(&self) -> Result<Vec<Found>, ClusterError> {
        let docker = self.client().await?;
        helper::leftover_helpers(&docker, &self.helper_key).await
    }
}

/// Following logs with Docker's timestamps: every frame since `since`
/// (whole seconds since 1970), or without it only those from now on.
pub(super) fn follow_options(since: Option<i32>) -> LogsOptions {
    LogsOptions {
        follow: true,
        stdout: true,
        stderr: true,
        timestamps: true,
        since: since.unwrap_or(0),
        tail: if since.is_some() { "all" } else { "0" }.into(),
        ..Default::default()
    }
}

/// Log frames up to the first error, which is logged: the follower attaches
/// again, from where this stream stopped.
pub(super) fn until_first_error(
    frames: impl futures::Stream<Item = Result<LogOutput, DockerError>> + Send + 'static,
    whose: &str,
) -> BoxStream<'static, LogFrame> {
    frames
        .scan(whose.to_string(), |whose, frame| {
            let frame = frame
                .map(log_frame)
                .map_err(|e| tracing::debug!("logs of {whose}: {}", docker_error(e)))
                .ok();
            std::future::ready(frame)
        })
        .boxed()
}

/// Docker's frame in the seam's terms: stderr, or else stdout (a TTY's
/// console output is the process's stdout).
fn log_frame(output: LogOutput) -> LogFrame {
    let stream = match output {
        LogOutput::StdErr { .. } => LogStream::Stderr,
        _ => LogStream::Stdout,
    };
    LogFrame {
        stream,
        bytes: output.into_bytes().to_vec(),
    }
}

/// What Docker's container event `action` means; `None` for the health
/// checks, which run as execs every few seconds and change nothing a
/// presenter sees.
pub(super) fn change_of(action: &str) -> Option<ChangeKind> {
    Some(match action {
        "die" | "stop" => ChangeKind::Now(NodeState::Exited),
        "start" | "unpause" | "restart" => ChangeKind::Now(NodeState::Running),
        "pause" => ChangeKind::Now(NodeState::Paused),
        exec if exec.starts_with("exec_") => return None,
        _ => ChangeKind::Other,
    })
}

/// A container as a [`Node`] of `service`.
pub(super) fn node_from_summary(summary: ContainerSummary, service: String) -> Option<Node> {
    let container = summary
        .names
        .and_then(|names| names.into_iter().next())
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_string();
    Some(Node {
        service,
        container,
        id: summary.id?,
        state: node_state(summary.state),
        health: health_from_status(summary.status.as_deref().unwrap_or("")),
    })
}

/// Where Docker published a container port, from its summaries' bindings
/// (see [`published`]).
pub(super) fn published_in(summaries: &[ContainerSummary], port: u16) -> Option<SocketAddr> {
    let bindings: Vec<(Option<String>, u16, u16)> = summaries
        .iter()
        .flat_map(|s| s.ports.iter().flatten())
        .map(|p| (p.ip.clone(), p.private_port, p.public_port.unwrap_or(0)))
        .collect();
    published(&bindings, port)
}

/// Where Docker published a container port, from `(address, container port,
/// host port)` bindings: loopback when it listens on all addresses, else the
/// address it is bound to. IPv4 first. A binding Docker reports with an
/// address that does not parse is skipped.
pub(super) fn published(bindings: &[(Option<String>, u16, u16)], port: u16) -> Option<SocketAddr> {
    let mut matching: Vec<SocketAddr> = bindings
        .iter()
        .filter(|(_, private, public)| *private == port && *public != 0)
        .filter_map(|(ip, _, public)| {
            let ip = match ip.as_deref().unwrap_or_default() {
                "" => IpAddr::V4(Ipv4Addr::LOCALHOST),
                text => text.parse().ok()?,
            };
            let ip = if ip.is_unspecified() {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            } else {
                ip
            };
            Some(SocketAddr::new(ip, *public))
        })
        .collect();
    matching.sort_by_key(SocketAddr::is_ipv6);
    matching.first().copied()
}

pub(super) fn node_state(state: Option<ContainerSummaryStateEnum>) -> NodeState {
    match state {
        Some(ContainerSummaryStateEnum::RUNNING) => NodeState::Running,
        Some(ContainerSummaryStateEnum::PAUSED) => NodeState::Paused,
        Some(ContainerSummaryStateEnum::RESTARTING) => NodeState::Restarting,
        Some(ContainerSummaryStateEnum::REMOVING) => NodeState::Removing,
        Some(ContainerSummaryStateEnum::CREATED) => NodeState::Created,
        Some(ContainerSummaryStateEnum::DEAD) => NodeState::Dead,
        // A container on its way down is shown as down.
        Some(ContainerSummaryStateEnum::STOPPING) => NodeState::Exited,
        Some(ContainerSummaryStateEnum::EXITED) | Some(ContainerSummaryStateEnum::EMPTY) | None => {
            NodeState::Exited
        }
    }
}

/// Docker's list API reports health only inside the status text
/// ("Up 3 minutes (healthy)"); its wording is part of the Engine API.
pub(super) fn health_from_status(status: &str) -> Health {
    if status.contains("(healthy)") {
        Health::Healthy
    } else if status.contains("(unhealthy)") {
        Health::Unhealthy
    } else if status.contains("(health: starting)") {
        Health::Starting
    } else {
        Health::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_events_become_typed_changes() {
        assert_eq!(change_of("die"), Some(ChangeKind::Now(NodeState::Exited)));
        assert_eq!(change_of("stop"), Some(ChangeKind::Now(NodeState::Exited)));
        assert_eq!(
            change_of("start"),
            Some(ChangeKind::Now(NodeState::Running))
        );
        assert_eq!(
            change_of("restart"),
            Some(ChangeKind::Now(NodeState::Running))
        );
        assert_eq!(
            change_of("unpause"),
            Some(ChangeKind::Now(NodeState::Running))
        );
        assert_eq!(change_of("pause"), Some(ChangeKind::Now(NodeState::Paused)));
        assert_eq!(change_of("exec_start: /bin/sh -c etcdctl"), None);
        assert_eq!(change_of("exec_die"), None);
        assert_eq!(change_of("destroy"), Some(ChangeKind::Other));
        assert_eq!(change_of(""), Some(ChangeKind::Other));
    }

    #[test]
    fn health_is_read_from_the_status_text() {
        assert_eq!(
            health_from_status("Up 3 minutes (healthy)"),
            Health::Healthy
        );
        assert_eq!(
            health_from_status("Up 1 second (health: starting)"),
            Health::Starting
        );
        assert_eq!(
            health_from_status("Exited (137) 2 seconds ago"),
            Health::None
        );
    }

    #[test]
    fn published_ports_prefer_ipv4_and_map_wildcards_to_loopback() {
        let shown =
            |b: &[(Option<String>, u16, u16)], port| published(b, port).map(|a| a.to_string());
        let b = vec![
            (Some("::".to_string()), 2379, 24791),
            (Some("0.0.0.0".to_string()), 2379, 24791),
            (Some("127.0.0.1".to_string()), 2380, 24700),
            (Some("not an address".to_string()), 2381, 24702),
            (None, 2382, 24703),
        ];
        assert_eq!(shown(&b, 2379).as_deref(), Some("127.0.0.1:24791"));
        assert_eq!(shown(&b, 2380).as_deref(), Some("127.0.0.1:24700"));
        assert_eq!(shown(&b, 2381), None);
        assert_eq!(shown(&b, 2382).as_deref(), Some("127.0.0.1:24703"));
        assert_eq!(shown(&b, 9999), None);
        let v6 = vec![(Some("::1".to_string()), 2379, 5)];
        assert_eq!(shown(&v6, 2379).as_deref(), Some("[::1]:5"));
    }
}
