//! The Docker side: the compose project's containers, found by their labels,
//! kept live by Docker's event stream, and every fault recorded in the ledger
//! before it is made.

pub mod ledger;
pub mod leftovers;
pub mod project;
pub mod signal;

use crate::events::Event;
use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::models::{
    ContainerSummaryStateEnum, EndpointIpamConfig, EndpointSettings, NetworkConnectRequest,
    NetworkDisconnectRequest,
};
use bollard::query_parameters::{
    EventsOptions, InspectContainerOptions, KillContainerOptions, ListContainersOptions,
    RestartContainerOptions, StartContainerOptions, StopContainerOptions,
};
use futures::StreamExt;
use ledger::{Entry, Ledger, Undo};
use rand::seq::IndexedRandom;
use serde::Serialize;
pub use signal::KillSignal;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

pub const PROJECT_LABEL: &str = "com.docker.compose.project";
pub const SERVICE_LABEL: &str = "com.docker.compose.service";

/// While waiting for a state, Docker is asked again this often in case an
/// event was missed (the event stream reconnecting, say).
const WAIT_FALLBACK_POLL: Duration = Duration::from_secs(1);
const WATCH_RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// How long after an event the watcher lists the containers again. Docker sends
/// an event before the list it serves reflects it (a list right after `die` can
/// still say running), so the list that follows an event is only trusted later.
const EVENT_CONFIRM_DELAY: Duration = Duration::from_millis(300);

/// The state a container is in once Docker reports `action` for it, for the
/// actions that settle it; the watcher shows it at once (the audience sees a
/// node go red when it dies, not when a list catches up).
fn state_after(action: &str) -> Option<NodeState> {
    match action {
        "die" | "stop" => Some(NodeState::Exited),
        "start" | "unpause" | "restart" => Some(NodeState::Running),
        "pause" => Some(NodeState::Paused),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    None,
    Starting,
    Healthy,
    Unhealthy,
}

/// One container of the project, as Docker reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    pub service: String,
    pub container: String,
    pub id: String,
    pub state: NodeState,
    pub health: Health,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Service(String),
    Pattern(String),
    Id(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Only a signal that ends the process, so that `start` undoes it; a
    /// flow's text becomes one through [`KillSignal`]'s `FromStr`.
    Kill {
        signal: KillSignal,
    },
    Stop {
        grace_seconds: u32,
    },
    Start,
    Restart,
    Pause,
    Unpause,
    /// Partition: disconnect the container from every network it is on.
    Disconnect,
    /// Heal a partition: reconnect it with the aliases it had.
    Reconnect,
}

/// Docker's own networks: a compose service is never on them, and leaving
/// them would cut the container off from more than its project.
const ENGINE_NETWORKS: [&str; 3] = ["bridge", "host", "none"];

impl Action {
    fn applies_to(&self, state: NodeState) -> bool {
        match self {
            Action::Kill { .. } | Action::Stop { .. } | Action::Pause => {
                state == NodeState::Running
            }
            Action::Restart => state != NodeState::Removing,
            Action::Start => matches!(
                state,
                NodeState::Created | NodeState::Exited | NodeState::Dead
            ),
            Action::Unpause => state == NodeState::Paused,
            Action::Disconnect => state == NodeState::Running,
            Action::Reconnect => state != NodeState::Removing,
        }
    }

    /// What undoes this fault, if it is one (a partition's undo depends on
    /// the container's networks; see `Cluster::partition_entries`).
    fn undo(&self) -> Option<Undo> {
        match self {
            Action::Kill { .. } | Action::Stop { .. } => Some(Undo::Start),
            Action::Pause => Some(Undo::Unpause),
            _ => None,
        }
    }

    /// Which recorded faults this action undoes.
    fn clears(&self) -> Option<Undo> {
        match self {
            Action::Start | Action::Restart => Some(Undo::Start),
            Action::Unpause => Some(Undo::Unpause),
            _ => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Action::Kill { signal } => format!("kill {signal}"),
            Action::Stop { grace_seconds } => format!("stop (grace {grace_seconds}s)"),
            Action::Start => "start".into(),
            Action::Restart => "restart".into(),
            Action::Pause => "pause".into(),
            Action::Unpause => "unpause".into(),
            Action::Disconnect => "partition".into(),
            Action::Reconnect => "heal".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClusterError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("not permitted: {0}")]
    NotPermitted(String),
    #[error("Docker is unavailable: {0}")]
    DockerUnavailable(String),
    #[error("Docker refused: {0}")]
    Failed(String),
    #[error("timed out")]
    Timeout,
    #[error("interrupted")]
    Interrupted,
}

/// A fault the host made, for the transcript and the event log.
#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    pub action: String,
    pub service: String,
    pub container: String,
    pub id: String,
}

/// What happened to one outstanding fault when the demo ended.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreOutcome {
    pub service: String,
    pub container: String,
    pub id: String,
    pub undo: Undo,
    pub ok: bool,
    /// `started`, `unpaused`, `already running`, `container is gone`, or the error.
    pub detail: String,
}

/// The compose project's containers and the faults made on them. One per
/// host process, shared by the flow's API and the app.
pub struct Cluster {
    /// Set once the engine answered; until then (engine down or its socket
    /// missing at start) every call tries again and fails with
    /// `DockerUnavailable`. A client, once made, reconnects by itself.
    docker: Mutex<Option<Docker>>,
    project: String,
    ledger: Mutex<Ledger>,
    nodes: watch::Sender<Vec<Node>>,
    events: mpsc::UnboundedSender<Event>,
    /// Held while undoing faults, so a scheduled undo and the final restore
    /// never start the same container twice.
    restoring: tokio::sync::Mutex<()>,
}

impl Cluster {
    /// Connects to the engine named by DOCKER_HOST (or the local socket). An
    /// unreachable engine is not an error here: the presenter still opens and
    /// says so; every call then fails with `DockerUnavailable`.
    pub async fn connect(
        project: String,
        ledger: Ledger,
        events: mpsc::UnboundedSender<Event>,
    ) -> anyhow::Result<Arc<Self>> {
        let cluster = Arc::new(Cluster {
            docker: Mutex::new(None),
            project,
            ledger: Mutex::new(ledger),
            nodes: watch::Sender::new(Vec::new()),
            events,
            restoring: tokio::sync::Mutex::new(()),
        });
        if let Err(e) = cluster.client().await {
            tracing::warn!("{e}");
        }
        Ok(cluster)
    }

    /// The Engine API client, made on first success.
    async fn client(&self) -> Result<Docker, ClusterError> {
        if let Some(docker) = self.lock_docker().clone() {
            return Ok(docker);
        }
        let docker = Docker::connect_with_defaults()
            .map_err(|e| ClusterError::DockerUnavailable(format!("{e} (check DOCKER_HOST)")))?;
        // The engine may speak an older API than bollard's default; without
        // agreeing on one, every later call would be refused.
        let docker = docker.negotiate_version().await.map_err(docker_error)?;
        *self.lock_docker() = Some(docker.clone());
        Ok(docker)
    }

    fn lock_docker(&self) -> std::sync::MutexGuard<'_, Option<Docker>> {
        self.docker.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    /// The Engine API client, for read-only streams (container logs); `None`
    /// until the engine has been reached (any successful `refresh` does).
    pub fn docker(&self) -> Option<Docker> {
        self.lock_docker().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Vec<Node>> {
        self.nodes.subscribe()
    }

    pub fn outstanding_faults(&self) -> Vec<Entry> {
        self.lock_ledger().outstanding().to_vec()
    }

    fn lock_ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Follows Docker's events for the project and republishes the node list
    /// on every container change, reconnecting when the engine comes back.
    pub fn spawn_watcher(self: &Arc<Self>, shutdown: CancellationToken) {
        let cluster = self.clone();
        tokio::spawn(async move {
            let mut reported_down = false;
            loop {
                let filters = HashMap::from([
                    ("type".to_string(), vec!["container".to_string()]),
                    (
                        "label".to_string(),
                        vec![format!("{PROJECT_LABEL}={}", cluster.project)],
                    ),
                ]);
                let stream = cluster.client().await.ok().map(|docker| {
                    docker.events(Some(EventsOptions {
                        filters: Some(filters),
                        ..Default::default()
                    }))
                });
                match cluster.refresh().await {
                    Ok(_) if reported_down => {
                        reported_down = false;
                        let _ = cluster.events.send(Event::DockerUnavailable(None));
                    }
                    Ok(_) => {}
                    Err(ClusterError::DockerUnavailable(why)) if !reported_down => {
                        reported_down = true;
                        let _ = cluster.events.send(Event::DockerUnavailable(Some(why)));
                    }
                    Err(_) => {}
                }
                let Some(mut stream) = stream else {
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(WATCH_RECONNECT_DELAY) => continue,
                    }
                };
                // When to list again to confirm what events were applied from.
                let mut confirm_at: Option<tokio::time::Instant> = None;
                loop {
                    let confirm = async {
                        match confirm_at {
                            Some(at) => tokio::time::sleep_until(at).await,
                            None => std::future::pending().await,
                        }
                    };
                    let next = tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = confirm => {
                            confirm_at = None;
                            let _ = cluster.refresh().await;
                            continue;
                        }
                        next = stream.next() => next,
                    };
                    match next {
                        Some(Ok(message)) => {
                            let action = message.action.unwrap_or_default();
                            // Health checks run as execs every few seconds; they
                            // change nothing a presenter sees.
                            if action.starts_with("exec_") {
                                continue;
                            }
                            let id = message.actor.and_then(|actor| actor.id);
                            match (state_after(&action), id) {
                                (Some(state), Some(id)) => cluster.apply_state(&id, state),
                                _ => {
                                    let _ = cluster.refresh().await;
                                }
                            }
                            confirm_at = Some(tokio::time::Instant::now() + EVENT_CONFIRM_DELAY);
                        }
                        Some(Err(e)) => {
                            tracing::warn!("Docker event stream ended: {e}");
                            break;
                        }
                        None => break,
                    }
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(WATCH_RECONNECT_DELAY) => {}
                }
            }
        });
    }

    /// Publishes a container's new state as an event reported it, before any
    /// list shows it.
    fn apply_state(&self, id: &str, state: NodeState) {
        let changed =
            self.nodes
                .send_if_modified(|nodes| match nodes.iter_mut().find(|n| n.id == id) {
                    Some(node) if node.state != state => {
                        node.state = state;
                        true
                    }
                    _ => false,
                });
        if changed {
            let nodes = self.nodes.borrow().clone();
            let _ = self.events.send(Event::Nodes(nodes));
        }
    }

    /// Asks Docker for the project's containers and publishes them if changed.
    pub async fn refresh(&self) -> Result<Vec<Node>, ClusterError> {
        let nodes = self.list().await?;
        let changed = self.nodes.send_if_modified(|current| {
            if *current == nodes {
                false
            } else {
                *current = nodes.clone();
                true
            }
        });
        if changed {
            let _ = self.events.send(Event::Nodes(nodes.clone()));
        }
        Ok(nodes)
    }

    async fn list(&self) -> Result<Vec<Node>, ClusterError> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{PROJECT_LABEL}={}", self.project)],
        )]);
        let summaries = self
            .client()
            .await?
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .map_err(docker_error)?;
        let mut nodes: Vec<Node> = summaries
            .into_iter()
            .filter_map(|summary| {
                let labels = summary.labels.unwrap_or_default();
                // The filter already matched the project; the service label is
                // what a target names. Containers without one (`docker-compose run`
                // leftovers still have it) are skipped.
                let service = labels.get(SERVICE_LABEL)?.clone();
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
            })
            .collect();
        nodes.sort_by(|a, b| (&a.service, &a.container).cmp(&(&b.service, &b.container)));
        Ok(nodes)
    }

    /// Performs `action` on the container `target` names, among those
    /// `permitted` allows. The fault is in the ledger before Docker is asked.
    pub async fn act(
        &self,
        target: &Target,
        action: Action,
        permitted: &(dyn Fn(&Node) -> bool + Send + Sync),
    ) -> Result<Node, ClusterError> {
        let nodes = self.list().await?;
        let node = choose(&nodes, target, &action, permitted)?;
        match &action {
            Action::Disconnect => self.partition(&node).await?,
            Action::Reconnect => self.heal(&node).await?,
            other => self.fault(&node, other).await?,
        }
        tracing::info!(
            "{} {} ({})",
            action.describe(),
            node.container,
            node.service
        );
        let _ = self.events.send(Event::Fault(Fault {
            action: action.describe(),
            service: node.service.clone(),
            container: node.container.clone(),
            id: node.id.clone(),
        }));
        Ok(node)
    }

    /// A fault undone by one Docker call (or an undo of one).
    async fn fault(&self, node: &Node, action: &Action) -> Result<(), ClusterError> {
        let entry = action.undo().map(|undo| self.entry(node, action, undo));
        if let Some(entry) = &entry {
            self.record(entry)?;
        }
        let result = self.perform(&node.id, action).await;
        if let Err(error) = &result {
            if let Some(entry) = &entry {
                let _ = self.lock_ledger().forget(entry);
            }
            tracing::warn!(
                "{} on {} failed: {error}",
                action.describe(),
                node.container
            );
        }
        result?;
        if let Some(undo) = action.clears()
            && let Err(e) = self.lock_ledger().clear(&node.id, &undo)
        {
            tracing::warn!("cannot update the fault ledger: {e}");
        }
        Ok(())
    }

    fn entry(&self, node: &Node, action: &Action, undo: Undo) -> Entry {
        Entry {
            container_id: node.id.clone(),
            container: node.container.clone(),
            service: node.service.clone(),
            action: action.describe(),
            undo,
            at_unix_ms: unix_ms(),
        }
    }

    fn record(&self, entry: &Entry) -> Result<(), ClusterError> {
        self.lock_ledger().record(entry.clone()).map_err(|e| {
            ClusterError::Failed(format!(
                "cannot write the fault ledger, so the fault was not made: {e}"
            ))
        })
    }

    /// Disconnects the container from each of its networks, each one written
    /// to the ledger (with the aliases and fixed address it had there) before
    /// it is cut.
    async fn partition(&self, node: &Node) -> Result<(), ClusterError> {
        let info = self
            .client()
            .await?
            .inspect_container(&node.id, None::<InspectContainerOptions>)
            .await
            .map_err(docker_error)?;
        let networks = info
            .network_settings
            .and_then(|n| n.networks)
            .unwrap_or_default();
        let mut undos: Vec<Undo> = networks
            .into_iter()
            .filter(|(name, _)| !ENGINE_NETWORKS.contains(&name.as_str()))
            .map(|(network, endpoint)| Undo::Reconnect {
                network,
                aliases: endpoint.aliases.unwrap_or_default(),
                ipv4_address: endpoint
                    .ipam_config
                    .and_then(|c| c.ipv4_address)
                    .filter(|a| !a.is_empty()),
            })
            .collect();
        if undos.is_empty() {
            return Err(ClusterError::Failed(format!(
                "{} is on no project network to disconnect it from",
                node.container
            )));
        }
        undos.sort_by_key(|u| u.describe());
        for undo in undos {
            let Undo::Reconnect { network, .. } = &undo else {
                continue;
            };
            let network = network.clone();
            let entry = self.entry(node, &Action::Disconnect, undo);
            self.record(&entry)?;
            let request = NetworkDisconnectRequest {
                container: node.id.clone(),
                force: Some(true),
            };
            let cut = match self.client().await {
                Ok(docker) => docker
                    .disconnect_network(&network, request)
                    .await
                    .map_err(docker_error),
                Err(e) => Err(e),
            };
            if let Err(error) = cut {
                let _ = self.lock_ledger().forget(&entry);
                tracing::warn!(
                    "partition {} from {network} failed: {error}",
                    node.container
                );
                return Err(error);
            }
        }
        Ok(())
    }

    /// Reconnects a partitioned container to every network the ledger says
    /// it was cut from.
    async fn heal(&self, node: &Node) -> Result<(), ClusterError> {
        let cuts: Vec<Entry> = self
            .outstanding_faults()
            .into_iter()
            .filter(|e| e.container_id == node.id && matches!(e.undo, Undo::Reconnect { .. }))
            .collect();
        if cuts.is_empty() {
            return Err(ClusterError::Failed(format!(
                "{} is not partitioned by this host",
                node.container
            )));
        }
        for entry in cuts {
            let outcome = self.restore(&entry).await;
            if !outcome.ok {
                return Err(ClusterError::Failed(format!(
                    "cannot heal {}: {}",
                    node.container, outcome.detail
                )));
            }
            if let Err(e) = self.lock_ledger().clear(&node.id, &entry.undo) {
                tracing::warn!("cannot update the fault ledger: {e}");
            }
        }
        Ok(())
    }

    async fn reconnect(&self, id: &str, undo: &Undo) -> Result<(), ClusterError> {
        let Undo::Reconnect {
            network,
            aliases,
            ipv4_address,
        } = undo
        else {
            return Ok(());
        };
        let request = NetworkConnectRequest {
            container: id.to_string(),
            endpoint_config: Some(EndpointSettings {
                aliases: Some(aliases.clone()),
                ipam_config: ipv4_address.as_ref().map(|address| EndpointIpamConfig {
                    ipv4_address: Some(address.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        self.client()
            .await?
            .connect_network(network, request)
            .await
            .map_err(docker_error)
    }

    /// Undoes every outstanding fault on the containers `target` names, once
    /// `after` has passed (as Pumba's `--duration` does). Returns the
    /// containers whose faults are scheduled. Faults made after this call are
    /// not included; the final restore still undoes everything.
    pub async fn undo_after(
        self: &Arc<Self>,
        target: &Target,
        after: Duration,
        permitted: &(dyn Fn(&Node) -> bool + Send + Sync),
    ) -> Result<Vec<Node>, ClusterError> {
        let nodes = self.list().await?;
        let outstanding = self.outstanding_faults();
        let chosen: Vec<Node> = matching(&nodes, target)?
            .into_iter()
            .filter(|n| permitted(n))
            .filter(|n| outstanding.iter().any(|e| e.container_id == n.id))
            .cloned()
            .collect();
        if chosen.is_empty() {
            return Err(ClusterError::Failed(format!(
                "no container of {} has a fault this flow may undo",
                describe_target(target)
            )));
        }
        let due: Vec<Entry> = outstanding
            .into_iter()
            .filter(|e| chosen.iter().any(|n| n.id == e.container_id))
            .collect();
        let cluster = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let still: Vec<Entry> = {
                let ledger = cluster.lock_ledger();
                due.into_iter()
                    .filter(|e| ledger.outstanding().contains(e))
                    .collect()
            };
            cluster.restore_entries(still).await;
        });
        Ok(chosen)
    }

    async fn perform(&self, id: &str, action: &Action) -> Result<(), ClusterError> {
        let docker = self.client().await?;
        let result = match action {
            Action::Kill { signal } => {
                let options = KillContainerOptions {
                    signal: signal.name().to_string(),
                };
                docker.kill_container(id, Some(options)).await
            }
            Action::Stop { grace_seconds } => {
                let options = StopContainerOptions {
                    t: Some(i32::try_from(*grace_seconds).unwrap_or(i32::MAX)),
                    ..Default::default()
                };
                docker.stop_container(id, Some(options)).await
            }
            Action::Start => {
                docker
                    .start_container(id, None::<StartContainerOptions>)
                    .await
            }
            Action::Restart => {
                docker
                    .restart_container(id, None::<RestartContainerOptions>)
                    .await
            }
            Action::Pause => docker.pause_container(id).await,
            Action::Unpause => docker.unpause_container(id).await,
            Action::Disconnect | Action::Reconnect => {
                unreachable!("network faults go through partition and heal")
            }
        };
        result.map_err(docker_error)
    }

    /// Waits until Docker reports the container `id` (id, prefix or name) in
    /// `state`.
    pub async fn wait_for(
        &self,
        id: &str,
        state: NodeState,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<Node, ClusterError> {
        let mut updates = self.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut nodes = self.refresh().await?;
        loop {
            let matching = find_by_id(&nodes, id)?;
            if matching.state == state {
                return Ok(matching.clone());
            }
            tokio::select! {
                _ = cancel.cancelled() => return Err(ClusterError::Interrupted),
                _ = tokio::time::sleep_until(deadline) => return Err(ClusterError::Timeout),
                changed = updates.changed() => {
                    if changed.is_err() {
                        return Err(ClusterError::DockerUnavailable("the cluster watcher stopped".into()));
                    }
                    nodes = updates.borrow_and_update().clone();
                }
                _ = tokio::time::sleep(WAIT_FALLBACK_POLL) => nodes = self.refresh().await?,
            }
        }
    }

    /// Undoes every outstanding fault in the ledger. Tolerant: a container
    /// already running or removed is reported, not an error; an entry whose
    /// undo failed stays in the ledger for `host recover`.
    pub async fn restore_all(&self) -> Vec<RestoreOutcome> {
        let entries = self.outstanding_faults();
        self.restore_entries(entries).await
    }

    async fn restore_entries(&self, mut entries: Vec<Entry>) -> Vec<RestoreOutcome> {
        let _restoring = self.restoring.lock().await;
        // Unpause before start: a paused container that was then killed needs
        // both. Reconnect before start, so it comes up with its peers in reach.
        entries.sort_by_key(|e| match e.undo {
            Undo::Unpause => 0,
            Undo::Reconnect { .. } => 1,
            Undo::Start => 2,
        });
        let mut outcomes = Vec::new();
        for entry in entries {
            let outcome = self.restore(&entry).await;
            if outcome.ok
                && let Err(e) = self.lock_ledger().clear(&entry.container_id, &entry.undo)
            {
                tracing::warn!("cannot update the fault ledger: {e}");
            }
            tracing::info!(
                "restore {}: {} ({})",
                entry.container,
                outcome.detail,
                outcome.ok
            );
            let _ = self.events.send(Event::Restored(outcome.clone()));
            outcomes.push(outcome);
        }
        let _ = self.refresh().await;
        outcomes
    }

    async fn restore(&self, entry: &Entry) -> RestoreOutcome {
        let outcome = |ok: bool, detail: String| RestoreOutcome {
            service: entry.service.clone(),
            container: entry.container.clone(),
            id: entry.container_id.clone(),
            undo: entry.undo.clone(),
            ok,
            detail,
        };
        let docker = match self.client().await {
            Ok(docker) => docker,
            Err(e) => return outcome(false, e.to_string()),
        };
        let info = match docker
            .inspect_container(&entry.container_id, None::<InspectContainerOptions>)
            .await
        {
            Ok(info) => info,
            Err(e) => {
                return match docker_error(e) {
                    ClusterError::NotFound(_) => outcome(true, "container is gone".into()),
                    other => outcome(false, other.to_string()),
                };
            }
        };
        let state = info.state.unwrap_or_default();
        let (action, done) = match &entry.undo {
            Undo::Reconnect { network, .. } => {
                let connected = info
                    .network_settings
                    .and_then(|n| n.networks)
                    .is_some_and(|n| n.contains_key(network));
                if connected {
                    return outcome(true, format!("already on {network}"));
                }
                return match self.reconnect(&entry.container_id, &entry.undo).await {
                    Ok(()) => outcome(true, format!("reconnected to {network}")),
                    Err(ClusterError::NotFound(_)) => {
                        outcome(true, format!("network {network} is gone"))
                    }
                    Err(e) => outcome(false, e.to_string()),
                };
            }
            Undo::Start if state.running == Some(true) => {
                return outcome(true, "already running".into());
            }
            Undo::Unpause if state.paused != Some(true) => {
                return outcome(true, "not paused".into());
            }
            Undo::Start => (Action::Start, "started"),
            Undo::Unpause => (Action::Unpause, "unpaused"),
        };
        match self.perform(&entry.container_id, &action).await {
            Ok(()) => outcome(true, done.into()),
            Err(e) => outcome(false, e.to_string()),
        }
    }
}

/// Picks the container a target names. Pure, so the selection rules are tested
/// without Docker.
pub fn choose(
    nodes: &[Node],
    target: &Target,
    action: &Action,
    permitted: &(dyn Fn(&Node) -> bool + Send + Sync),
) -> Result<Node, ClusterError> {
    let matched = matching(nodes, target)?;
    let what = describe_target(target);
    if matched.is_empty() {
        return Err(ClusterError::NotFound(format!(
            "no container of the project matches {what}"
        )));
    }
    let allowed: Vec<&Node> = matched.into_iter().filter(|n| permitted(n)).collect();
    if allowed.is_empty() {
        return Err(ClusterError::NotPermitted(format!(
            "{} on {what} was not granted to this flow",
            action.describe()
        )));
    }
    let applicable: Vec<&Node> = allowed
        .iter()
        .copied()
        .filter(|n| action.applies_to(n.state))
        .collect();
    let chosen = match target {
        Target::Pattern(_) => applicable.choose(&mut rand::rng()).copied(),
        _ => applicable.first().copied(),
    };
    chosen.cloned().ok_or_else(|| {
        let states: Vec<String> = allowed
            .iter()
            .map(|n| format!("{} is {}", n.container, state_name(n.state)))
            .collect();
        ClusterError::Failed(format!(
            "cannot {} {what}: {}",
            action.describe(),
            states.join(", ")
        ))
    })
}

/// Every container `target` names, whatever its state.
fn matching<'a>(nodes: &'a [Node], target: &Target) -> Result<Vec<&'a Node>, ClusterError> {
    Ok(match target {
        Target::Service(name) => nodes.iter().filter(|n| &n.service == name).collect(),
        Target::Pattern(glob) => {
            let pattern = glob::Pattern::new(glob).map_err(|e| {
                ClusterError::NotFound(format!("'{glob}' is not a valid pattern: {e}"))
            })?;
            nodes
                .iter()
                .filter(|n| pattern.matches(&n.service))
                .collect()
        }
        Target::Id(id) => vec![find_by_id(nodes, id)?],
    })
}

fn describe_target(target: &Target) -> String {
    match target {
        Target::Service(name) => format!("service '{name}'"),
        Target::Pattern(glob) => format!("services matching '{glob}'"),
        Target::Id(id) => format!("container '{id}'"),
    }
}

fn find_by_id<'a>(nodes: &'a [Node], id: &str) -> Result<&'a Node, ClusterError> {
    if let Some(node) = nodes.iter().find(|n| n.id == id || n.container == id) {
        return Ok(node);
    }
    let by_prefix: Vec<&Node> = if id.len() >= 6 {
        nodes.iter().filter(|n| n.id.starts_with(id)).collect()
    } else {
        Vec::new()
    };
    match by_prefix.as_slice() {
        [one] => Ok(one),
        [] => Err(ClusterError::NotFound(format!(
            "no container of the project has id or name '{id}'"
        ))),
        _ => Err(ClusterError::NotFound(format!(
            "'{id}' is the prefix of several containers; give more of the id"
        ))),
    }
}

pub fn state_name(state: NodeState) -> &'static str {
    match state {
        NodeState::Created => "created",
        NodeState::Running => "running",
        NodeState::Paused => "paused",
        NodeState::Restarting => "restarting",
        NodeState::Removing => "removing",
        NodeState::Exited => "exited",
        NodeState::Dead => "dead",
    }
}

fn node_state(state: Option<ContainerSummaryStateEnum>) -> NodeState {
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
fn health_from_status(status: &str) -> Health {
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

fn docker_error(error: DockerError) -> ClusterError {
    match error {
        DockerError::DockerResponseServerError {
            status_code: 404,
            message,
        } => ClusterError::NotFound(message),
        DockerError::DockerResponseServerError { message, .. } => ClusterError::Failed(message),
        other => ClusterError::DockerUnavailable(other.to_string()),
    }
}

fn unix_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the first node reaches `want` within `limit`.
    async fn reaches(
        nodes: &mut watch::Receiver<Vec<Node>>,
        want: NodeState,
        limit: Duration,
    ) -> bool {
        let reached = async {
            while nodes.borrow_and_update().first().map(|n| n.state) != Some(want) {
                if nodes.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(limit, reached).await.is_ok()
    }

    /// A container killed from outside (a crash, an operator) shows as exited
    /// without any later event: Docker's list lags its `die` event, and no other
    /// event may follow to trigger another look.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_outside_kill_shows_without_a_later_event() {
        let project = format!("cl-watch-{}", std::process::id());
        let etcd = crate::test_support::EtcdContainer::start(&project, "etcd");
        let state = std::env::temp_dir().join(&project);
        let ledger = ledger::Ledger::open(&state, &project).unwrap();
        let (events, _events_rx) = mpsc::unbounded_channel();
        let cluster = Arc::new(
            Cluster::connect(project.clone(), ledger, events)
                .await
                .unwrap(),
        );
        let mut nodes = cluster.subscribe();
        let shutdown = CancellationToken::new();
        cluster.spawn_watcher(shutdown.clone());
        // A functional limit, not a speed check: without the fix the state never
        // changes at all.
        assert!(
            reaches(&mut nodes, NodeState::Running, Duration::from_secs(30)).await,
            "the container is seen running"
        );
        // Let the watcher's start-up listing settle before the kill.
        tokio::time::sleep(Duration::from_secs(1)).await;
        etcd.kill();
        let exited = reaches(&mut nodes, NodeState::Exited, Duration::from_secs(10)).await;
        shutdown.cancel();
        let _ = std::fs::remove_dir_all(&state);
        assert!(exited, "the outside kill is shown: {:?}", *nodes.borrow());
    }

    /// Removes a test's state directory even when an assertion fails.
    struct StateDir(std::path::PathBuf);

    impl Drop for StateDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The process state (`ps` STAT, e.g. `Ssl`, `Tsl`) of every process in
    /// container `name`, as the engine's host sees them.
    fn process_states(name: &str) -> Vec<String> {
        let output = std::process::Command::new("docker")
            // Docker needs the pid column to map processes to the container.
            .args(["top", name, "-o", "pid,stat"])
            .output()
            .expect("running docker");
        assert!(
            output.status.success(),
            "docker top {name} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .skip(1)
            .filter_map(|line| line.split_whitespace().nth(1).map(str::to_string))
            .collect()
    }

    /// SIGSTOP through `kill` froze etcd past the presenter's quit: Docker
    /// still said running, so the ledger's `start` undid nothing. Now every
    /// stop-type spelling is refused on the flow's path (parse, then act)
    /// before the ledger or Docker hears of it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stop_signal_is_refused_and_the_container_keeps_running() {
        let project = format!("cl-sigstop-{}", std::process::id());
        let etcd = crate::test_support::EtcdContainer::start(&project, "etcd");
        let state = StateDir(std::env::temp_dir().join(&project));
        let ledger = ledger::Ledger::open(&state.0, &project).unwrap();
        let (events, _events_rx) = mpsc::unbounded_channel();
        let cluster = Cluster::connect(project.clone(), ledger, events)
            .await
            .unwrap();
        cluster
            .wait_for(
                &etcd.name,
                NodeState::Running,
                Duration::from_secs(30),
                &CancellationToken::new(),
            )
            .await
            .unwrap();
        let target = Target::Service("etcd".into());
        let kill_as_a_flow_asks = |spelling: &'static str| {
            let cluster = &cluster;
            let target = &target;
            async move {
                match spelling.parse::<KillSignal>() {
                    Ok(signal) => {
                        cluster
                            .act(target, Action::Kill { signal }, &anything)
                            .await
                    }
                    Err(refused) => Err(refused),
                }
            }
        };
        for spelling in [
            "SIGSTOP",
            "stop",
            "19",
            "SIGTSTP",
            "ttin",
            "SigTtou",
            " SIGSTOP",
            "SIGRTMIN+3",
        ] {
            let result = kill_as_a_flow_asks(spelling).await;
            assert!(
                matches!(&result, Err(ClusterError::Failed(m)) if m.contains("pause")),
                "{spelling:?}: {result:?}"
            );
        }
        // Docker applies a signal at once; a moment covers any lag in `ps`.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let states = process_states(&etcd.name);
        assert!(
            !states.is_empty() && states.iter().all(|stat| !stat.starts_with('T')),
            "no process of the container is stopped: {states:?}"
        );
        assert!(cluster.outstanding_faults().is_empty());
        let on_disk = ledger::Ledger::open(&state.0, &project).unwrap();
        assert!(
            on_disk.outstanding().is_empty(),
            "{:?}",
            on_disk.outstanding()
        );

        // The same path sends a signal that ends the process, under its
        // canonical name, and that fault is recorded and undone by a start.
        kill_as_a_flow_asks("9").await.unwrap();
        let recorded: Vec<String> = cluster
            .outstanding_faults()
            .iter()
            .map(|e| format!("{} → {}", e.action, e.undo.describe()))
            .collect();
        assert_eq!(recorded, ["kill SIGKILL → start"]);
        let restored = cluster.restore_all().await;
        assert!(
            restored.iter().all(|o| o.ok && o.detail == "started"),
            "{restored:?}"
        );
    }

    fn node(service: &str, container: &str, id: &str, state: NodeState) -> Node {
        Node {
            service: service.into(),
            container: container.into(),
            id: id.into(),
            state,
            health: Health::None,
        }
    }

    /// A project named `tikv`: container names all start with "tikv".
    fn tikv_project() -> Vec<Node> {
        vec![
            node("grafana", "tikv-grafana-1", "aaaaaa01", NodeState::Running),
            node("pd0", "tikv-pd0-1", "aaaaaa02", NodeState::Running),
            node("tikv0", "tikv-tikv0-1", "bbbbbb01", NodeState::Running),
            node("tikv1", "tikv-tikv1-1", "bbbbbb02", NodeState::Exited),
            node("tikv2", "tikv-tikv2-1", "bbbbbb03", NodeState::Running),
        ]
    }

    fn kill() -> Action {
        Action::Kill {
            signal: KillSignal::Kill,
        }
    }

    fn anything(_: &Node) -> bool {
        true
    }

    #[test]
    fn pattern_matches_service_names_never_container_names() {
        let nodes = tikv_project();
        for _ in 0..200 {
            let chosen =
                choose(&nodes, &Target::Pattern("tikv*".into()), &kill(), &anything).unwrap();
            assert!(
                chosen.service == "tikv0" || chosen.service == "tikv2",
                "picked {} ({})",
                chosen.service,
                chosen.container
            );
        }
    }

    #[test]
    fn pattern_picks_among_running_containers_at_random() {
        let nodes = tikv_project();
        let picks: std::collections::HashSet<String> = (0..200)
            .map(|_| {
                choose(&nodes, &Target::Pattern("tikv*".into()), &kill(), &anything)
                    .unwrap()
                    .service
            })
            .collect();
        assert_eq!(
            picks.len(),
            2,
            "both running stores should be picked sometimes"
        );
    }

    #[test]
    fn a_target_outside_the_grant_is_not_permitted() {
        let nodes = tikv_project();
        let only_tikv = |n: &Node| n.service.starts_with("tikv");
        let err = choose(&nodes, &Target::Service("pd0".into()), &kill(), &only_tikv).unwrap_err();
        assert!(matches!(err, ClusterError::NotPermitted(_)), "{err:?}");
    }

    #[test]
    fn killing_a_stopped_service_says_why() {
        let nodes = tikv_project();
        let err = choose(&nodes, &Target::Service("tikv1".into()), &kill(), &anything).unwrap_err();
        assert_eq!(
            err,
            ClusterError::Failed(
                "cannot kill SIGKILL service 'tikv1': tikv-tikv1-1 is exited".into()
            )
        );
        let started = choose(
            &nodes,
            &Target::Service("tikv1".into()),
            &Action::Start,
            &anything,
        );
        assert_eq!(started.unwrap().id, "bbbbbb02");
    }

    #[test]
    fn ids_match_by_full_id_name_or_unique_prefix() {
        let nodes = tikv_project();
        assert_eq!(find_by_id(&nodes, "bbbbbb03").unwrap().service, "tikv2");
        assert_eq!(find_by_id(&nodes, "tikv-pd0-1").unwrap().service, "pd0");
        assert!(
            matches!(find_by_id(&nodes, "bbbbbb"), Err(ClusterError::NotFound(m)) if m.contains("several"))
        );
        assert!(
            find_by_id(&nodes, "bb").is_err(),
            "short prefixes are refused"
        );
        assert!(matches!(
            choose(&nodes, &Target::Service("nope".into()), &kill(), &anything),
            Err(ClusterError::NotFound(_))
        ));
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
}
