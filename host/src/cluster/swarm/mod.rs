//! The Swarm backend: a stack's tasks, found through the manager's task
//! list by the stack's label (`com.docker.stack.namespace`), one node per
//! slot (see `tasks`), named by the service with the stack's prefix removed,
//! so that the same flow's `etcd*` works on a Compose project and a stack.
//!
//! Faults on a task are made on its container by the engine of the machine
//! it runs on: kill, stop and pause as with Compose; a partition and the
//! network faults by the netfault helper in the container's namespace. A
//! killed or stopped task is Swarm's to replace: bringing a node back means
//! its service is at its desired replicas and running again (a forced
//! update of the service when Swarm is still waiting out its restart
//! delay). The ledger records the task as well as the container.
//!
//! Machines: the presenter talks to one manager's engine. A task on that
//! machine is faulted through it; a task on another machine through a
//! short-lived helper service constrained to that machine (`remote`).
//! `CHAOS_DEMO_SWARM_HELPERS=always` sends every fault that way, so that a
//! one-machine swarm (CI) exercises it. The list, the state and the logs
//! come from the manager, so they cover every machine.

pub mod remote;
pub mod tasks;

use super::backend::{Backend, Change, Liveness, Scope};
use super::docker::error::docker_error;
use super::docker::{
    Engine, Filters, follow_options, health_from_status, node_state, until_first_error,
};
use super::ledger::{Entry, UndoAction};
use super::model::{
    ClusterError, ContainerAction, Health, LogFrame, Node, NodeState, RestoreOutcome,
};
use super::netfault::output::HelperOutput;
use super::netfault::plan::Mechanisms;
use super::netfault::sweep::Found;
use async_trait::async_trait;
use bollard::models::{LocalNodeState, Service, TaskState};
use bollard::query_parameters::{
    InspectServiceOptions, ListNetworksOptions, ListServicesOptions, ListTasksOptions,
    UpdateServiceOptions,
};
use futures::stream::BoxStream;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use tasks::{TaskInfo, TaskPhase};

const STACK_LABEL: &str = "com.docker.stack.namespace";
/// Tasks on other machines change without an event on this engine; the
/// node list is read again this often to show them.
const POLL_EVERY: Duration = Duration::from_secs(2);
/// How long bringing a service back to its replicas may take.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(60);
const CONVERGE_POLL: Duration = Duration::from_millis(500);
/// `always`: faults go through helper services even on this machine.
const HELPERS_ENV: &str = "CHAOS_DEMO_SWARM_HELPERS";

/// Where a call on a container runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    /// Through this presenter's engine.
    Here,
    /// Through a helper service on this swarm node.
    Machine(String),
}

pub struct Swarm {
    scope: Scope,
    engine: Engine,
    /// This engine's node in the swarm, asked once it answers.
    local_node: tokio::sync::OnceCell<String>,
    /// What the latest listing saw (see [`Seen`]).
    seen: Mutex<Seen>,
}

/// Every task of the stack the latest listing saw, by container id (and by
/// task id, for tasks without a container), and the node id each slot is
/// shown under: how an earlier node's id finds its successor, and which
/// machine a container is on.
#[derive(Default)]
struct Seen {
    tasks: HashMap<String, TaskInfo>,
    shown: HashMap<String, String>,
}

impl Swarm {
    pub fn new(stack: String) -> Self {
        let scope = Scope::Swarm { stack };
        Swarm {
            engine: Engine::new(scope.key()),
            scope,
            local_node: tokio::sync::OnceCell::new(),
            seen: Mutex::new(Seen::default()),
        }
    }

    fn stack(&self) -> &str {
        self.scope.name()
    }

    fn full_name(&self, service: &str) -> String {
        format!("{}_{service}", self.stack())
    }

    fn lock_seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stack_filter(&self) -> Filters {
        HashMap::from([(
            "label".to_string(),
            vec![format!("{STACK_LABEL}={}", self.stack())],
        )])
    }

    /// This engine's swarm node id; an engine outside a swarm, or a worker
    /// (which cannot list tasks), is said plainly.
    async fn local_node(&self) -> Result<&str, ClusterError> {
        self.local_node
            .get_or_try_init(|| async {
                let info = self
                    .engine
                    .client()
                    .await?
                    .info()
                    .await
                    .map_err(docker_error)?;
                let swarm = info.swarm.unwrap_or_default();
                // Said as the cluster being unavailable, so the dashboard
                // shows why its panel is empty; asked again until it works.
                if swarm.local_node_state != Some(LocalNodeState::ACTIVE) {
                    return Err(ClusterError::DockerUnavailable(
                        "this Docker engine is not in a swarm: run `docker swarm init` (or point DOCKER_HOST at a manager), or use --backend compose".into(),
                    ));
                }
                if swarm.control_available != Some(true) {
                    return Err(ClusterError::DockerUnavailable(
                        "this Docker engine is a swarm worker, which cannot list the stack's tasks: point DOCKER_HOST at a manager".into(),
                    ));
                }
                Ok(swarm.node_id.unwrap_or_default())
            })
            .await
            .map(String::as_str)
    }

    /// The stack's services (or the one a flow calls `service`).
    async fn services(&self, service: Option<&str>) -> Result<Vec<Service>, ClusterError> {
        let services = self
            .engine
            .client()
            .await?
            .list_services(Some(ListServicesOptions {
                filters: Some(self.stack_filter()),
                ..Default::default()
            }))
            .await
            .map_err(docker_error)?;
        let wanted = service.map(|s| self.full_name(s));
        Ok(services
            .into_iter()
            .filter(|s| wanted.is_none() || service_name(s) == wanted.as_deref())
            .collect())
    }

    /// Every task of `services`, earlier ones included.
    async fn tasks(&self, services: &[Service]) -> Result<Vec<TaskInfo>, ClusterError> {
        let ids: HashMap<String, String> = services
            .iter()
            .filter_map(|s| Some((s.id.clone()?, service_name(s)?.to_string())))
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let filters = HashMap::from([("service".to_string(), ids.keys().cloned().collect())]);
        let tasks = self
            .engine
            .client()
            .await?
            .list_tasks(Some(ListTasksOptions {
                filters: Some(filters),
            }))
            .await
            .map_err(docker_error)?;
        Ok(tasks
            .into_iter()
            .filter_map(|task| {
                let service = ids.get(task.service_id.as_deref()?)?.clone();
                let status = task.status.unwrap_or_default();
                Some(TaskInfo {
                    id: task.id?,
                    service,
                    slot: task.slot,
                    node_id: task.node_id.unwrap_or_default(),
                    container_id: status
                        .container_status
                        .and_then(|c| c.container_id)
                        .unwrap_or_default(),
                    state: phase(status.state),
                    created: task
                        .created_at
                        .as_deref()
                        .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
                        .unwrap_or(SystemTime::UNIX_EPOCH),
                })
            })
            .collect())
    }

    /// What this engine knows of the stack's containers that run on it.
    async fn local_containers(&self) -> Result<HashMap<String, (NodeState, Health)>, ClusterError> {
        Ok(self
            .engine
            .summaries(self.stack_filter())
            .await?
            .into_iter()
            .filter_map(|s| {
                let health = health_from_status(s.status.as_deref().unwrap_or(""));
                Some((s.id?, (node_state(s.state), health)))
            })
            .collect())
    }

    /// Where calls on container `id` run: here, or through a helper service
    /// on the machine its task is on (always, under `HELPERS_ENV=always`).
    async fn route(&self, id: &str) -> Result<Route, ClusterError> {
        let always = std::env::var(HELPERS_ENV).is_ok_and(|v| v == "always");
        Ok(match self.machine_of(id).await? {
            Some(node) if always || node != self.local_node().await? => Route::Machine(node),
            _ => Route::Here,
        })
    }

    /// Whether container `id` runs on this engine's machine (its addresses
    /// are routed here, its logs are here).
    async fn is_here(&self, id: &str) -> Result<bool, ClusterError> {
        let local = self.local_node().await?.to_string();
        Ok(self.machine_of(id).await?.is_none_or(|node| node == local))
    }

    /// The swarm node container `id`'s task runs on. An id the listing has
    /// not seen (a fresh `host recover`) is looked up once; `None`: not a
    /// task of the stack, left to the engine to refuse.
    async fn machine_of(&self, id: &str) -> Result<Option<String>, ClusterError> {
        if !self.lock_seen().tasks.contains_key(id) {
            self.list(None).await?;
        }
        Ok(self
            .lock_seen()
            .tasks
            .get(id)
            .map(|t| t.node_id.clone())
            .filter(|node| !node.is_empty()))
    }

    fn helpers<'a>(&'a self, docker: &'a bollard::Docker) -> remote::Helpers<'a> {
        remote::Helpers {
            docker,
            image: self.engine.netfault_image(),
            key: self.engine.helper_key(),
        }
    }

    /// One Engine API call on a container on machine `node`: its status
    /// and body.
    async fn call_on(
        &self,
        node: &str,
        method: &str,
        path: String,
    ) -> Result<(u16, serde_json::Value), ClusterError> {
        let docker = self.engine.client().await?;
        let argv = vec!["engine".to_string(), method.to_string(), path];
        let output = remote::run(&self.helpers(&docker), node, argv).await?;
        remote::engine_reply(&output)
    }

    /// A container's inspection on machine `node`; `None`: no such
    /// container.
    async fn inspect_on(
        &self,
        node: &str,
        id: &str,
    ) -> Result<Option<serde_json::Value>, ClusterError> {
        match self
            .call_on(node, "GET", format!("/containers/{id}/json"))
            .await?
        {
            (200, body) => Ok(Some(body)),
            (404, _) => Ok(None),
            (status, body) => Err(engine_failure(status, &body)),
        }
    }

    /// A container fault on machine `node`.
    async fn perform_on(
        &self,
        node: &str,
        id: &str,
        action: &ContainerAction,
    ) -> Result<(), ClusterError> {
        let path = match action {
            ContainerAction::Kill { signal } => {
                format!("/containers/{id}/kill?signal={}", signal.name())
            }
            ContainerAction::Stop { grace_seconds } => {
                format!("/containers/{id}/stop?t={grace_seconds}")
            }
            ContainerAction::Pause => format!("/containers/{id}/pause"),
            ContainerAction::Unpause => format!("/containers/{id}/unpause"),
            ContainerAction::Start | ContainerAction::Restart => {
                return Err(ClusterError::Failed(
                    "a swarm task is started by its service, not on its machine".into(),
                ));
            }
        };
        match self.call_on(node, "POST", path).await? {
            (200..=299 | 304, _) => Ok(()),
            (status, body) => Err(engine_failure(status, &body)),
        }
    }

    /// Undoes an `Unpause` entry on machine `node`.
    async fn unpause_on(&self, node: &str, entry: &Entry) -> RestoreOutcome {
        let outcome = |ok: bool, detail: String| RestoreOutcome::of(entry, ok, detail);
        match self.inspect_on(node, &entry.container_id).await {
            Ok(None) => outcome(true, "container is gone".into()),
            Ok(Some(info)) if info["State"]["Paused"] != true => outcome(true, "not paused".into()),
            Ok(Some(_)) => {
                match self
                    .perform_on(node, &entry.container_id, &ContainerAction::Unpause)
                    .await
                {
                    Ok(()) => outcome(true, "unpaused".into()),
                    Err(e) => outcome(false, e.to_string()),
                }
            }
            Err(e) => outcome(false, e.to_string()),
        }
    }

    fn service_of(&self, id: &str) -> Option<String> {
        self.lock_seen().tasks.get(id).map(|t| t.service.clone())
    }

    /// Replaces the service's tasks now, as `docker service update --force`
    /// does: the way to skip Swarm's restart delay.
    async fn force_update(&self, full_name: &str) -> Result<(), ClusterError> {
        let docker = self.engine.client().await?;
        let service = docker
            .inspect_service(full_name, None::<InspectServiceOptions>)
            .await
            .map_err(docker_error)?;
        let version = service
            .version
            .and_then(|v| v.index)
            .and_then(|i| i32::try_from(i).ok())
            .ok_or_else(|| ClusterError::Failed(format!("service {full_name} has no version")))?;
        let mut spec = service.spec.unwrap_or_default();
        let template = spec.task_template.get_or_insert_with(Default::default);
        template.force_update = Some(template.force_update.unwrap_or(0) + 1);
        docker
            .update_service(
                full_name,
                spec,
                UpdateServiceOptions {
                    version,
                    ..Default::default()
                },
                None,
            )
            .await
            .map_err(docker_error)?;
        Ok(())
    }

    /// How many of a service's slots run, of how many it should have.
    async fn replicas(&self, full_name: &str) -> Result<(usize, usize), ClusterError> {
        let services: Vec<Service> = self
            .services(None)
            .await?
            .into_iter()
            .filter(|s| service_name(s) == Some(full_name))
            .collect();
        let Some(service) = services.first() else {
            return Err(ClusterError::NotFound(format!(
                "stack '{}' has no service {full_name}",
                self.stack()
            )));
        };
        let tasks = self.tasks(&services).await?;
        // This engine's word first: a container that just died is still a
        // running task to Swarm for a moment.
        let local = self.local_containers().await?;
        let running = tasks::nodes(self.stack(), &tasks, &|id| local.get(id).copied())
            .iter()
            .filter(|s| s.node.state == NodeState::Running)
            .count();
        let mode = service.spec.as_ref().and_then(|s| s.mode.clone());
        let desired = match mode.and_then(|m| m.replicated).and_then(|r| r.replicas) {
            Some(replicas) => usize::try_from(replicas).unwrap_or(0),
            // Global: one per machine it has a task on.
            None => tasks
                .iter()
                .map(|t| t.node_id.as_str())
                .collect::<HashSet<_>>()
                .len(),
        };
        Ok((running, desired))
    }

    /// Brings `service` (a flow's name) back to its desired replicas,
    /// running, within [`CONVERGE_TIMEOUT`].
    async fn converge(&self, service: &str) -> Result<String, ClusterError> {
        let full = self.full_name(service);
        let (running, desired) = self.replicas(&full).await?;
        if running >= desired {
            return Ok(format!("already at {running}/{desired} replicas"));
        }
        self.force_update(&full).await?;
        let deadline = tokio::time::Instant::now() + CONVERGE_TIMEOUT;
        loop {
            tokio::time::sleep(CONVERGE_POLL).await;
            let (running, desired) = self.replicas(&full).await?;
            if running >= desired {
                return Ok(format!("back at {running}/{desired} replicas"));
            }
            if tokio::time::Instant::now() > deadline {
                return Err(ClusterError::Timeout);
            }
        }
    }

    /// The address of the node's container on a bridge network this
    /// machine routes to (a stack's presenter network), if any.
    async fn bridge_address(
        &self,
        id: &str,
        port: u16,
    ) -> Result<Option<SocketAddr>, ClusterError> {
        let docker = self.engine.client().await?;
        let bridges: HashSet<String> = docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(HashMap::from([(
                    "driver".to_string(),
                    vec!["bridge".to_string()],
                )])),
            }))
            .await
            .map_err(docker_error)?
            .into_iter()
            .filter_map(|n| n.name)
            .collect();
        let mut on_bridges: Vec<(String, Ipv4Addr)> = self
            .engine
            .addresses(id)
            .await?
            .into_iter()
            .filter(|(network, _)| bridges.contains(network))
            .collect();
        on_bridges.sort();
        Ok(on_bridges
            .first()
            .map(|(_, ip)| SocketAddr::new(IpAddr::V4(*ip), port)))
    }
}

/// What an engine's refusal means in the cluster's terms.
fn engine_failure(status: u16, body: &serde_json::Value) -> ClusterError {
    let message = body["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| body.to_string());
    match status {
        404 => ClusterError::NotFound(message),
        _ => ClusterError::Failed(message),
    }
}

fn service_name(service: &Service) -> Option<&str> {
    service.spec.as_ref()?.name.as_deref()
}

fn phase(state: Option<TaskState>) -> TaskPhase {
    match state {
        Some(TaskState::RUNNING) => TaskPhase::Running,
        Some(
            TaskState::COMPLETE
            | TaskState::SHUTDOWN
            | TaskState::FAILED
            | TaskState::REJECTED
            | TaskState::REMOVE
            | TaskState::ORPHANED,
        ) => TaskPhase::Ended,
        _ => TaskPhase::Starting,
    }
}

#[async_trait]
impl Backend for Swarm {
    fn scope(&self) -> &Scope {
        &self.scope
    }

    async fn connect(&self) -> Result<(), ClusterError> {
        self.local_node().await.map(|_| ())
    }

    async fn list(&self, service: Option<&str>) -> Result<Vec<Node>, ClusterError> {
        self.local_node().await?;
        let services = self.services(service).await?;
        let tasks = self.tasks(&services).await?;
        let local = self.local_containers().await?;
        let shown = tasks::nodes(self.stack(), &tasks, &|id| local.get(id).copied());
        let mut seen = self.lock_seen();
        if service.is_none() {
            seen.tasks.clear();
            seen.shown.clear();
        }
        for task in tasks {
            let key = if task.container_id.is_empty() {
                task.id.clone()
            } else {
                task.container_id.clone()
            };
            seen.tasks.insert(key, task);
        }
        for s in &shown {
            seen.shown
                .insert(tasks::slot_key(&s.task), s.node.id.clone());
        }
        Ok(shown.into_iter().map(|s| s.node).collect())
    }

    async fn successor(&self, id: &str) -> Option<String> {
        let seen = self.lock_seen();
        let task = seen.tasks.get(id)?;
        seen.shown
            .get(&tasks::slot_key(task))
            .filter(|now| now.as_str() != id)
            .cloned()
    }

    fn task_of(&self, id: &str) -> Option<String> {
        self.lock_seen().tasks.get(id).map(|t| t.id.clone())
    }

    async fn changes(
        &self,
    ) -> Result<BoxStream<'static, Result<Change, ClusterError>>, ClusterError> {
        self.engine.container_changes(self.stack_filter()).await
    }

    fn poll_every(&self) -> Option<Duration> {
        Some(POLL_EVERY)
    }

    fn partitions_by_isolation(&self) -> bool {
        // Swarm owns a task's network attachments (and the service's DNS
        // entries on them): a container reconnected by hand is not attached
        // as Swarm attached it. Rules in its namespace cut it off instead.
        true
    }

    async fn published_address(
        &self,
        service: &str,
        port: u16,
    ) -> Result<Option<SocketAddr>, ClusterError> {
        let services = self.services(Some(service)).await?;
        let Some(found) = services.first() else {
            return Err(ClusterError::NotFound(format!(
                "stack '{}' has no service '{service}'",
                self.stack()
            )));
        };
        // A port the service publishes: every machine of the swarm answers
        // on it, this one included.
        let published = found
            .endpoint
            .as_ref()
            .and_then(|e| e.ports.as_ref())
            .into_iter()
            .flatten()
            .find(|p| p.target_port == Some(i64::from(port)))
            .and_then(|p| u16::try_from(p.published_port?).ok())
            .filter(|p| *p != 0);
        if let Some(published) = published {
            return Ok(Some(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                published,
            )));
        }
        // Otherwise the running container's address on a bridge network of
        // this machine (the stack publishes nothing on the host).
        let running = self
            .list(Some(service))
            .await?
            .into_iter()
            .find(|n| n.state == NodeState::Running);
        match running {
            Some(node) if self.is_here(&node.id).await? => {
                self.bridge_address(&node.id, port).await
            }
            _ => Ok(None),
        }
    }

    async fn follow_logs(
        &self,
        node: &Node,
        since: Option<i32>,
    ) -> Result<BoxStream<'static, LogFrame>, ClusterError> {
        if self.is_here(&node.id).await? {
            return self
                .engine
                .follow_logs(&node.id, &node.container, since)
                .await;
        }
        // A task elsewhere: the manager relays its service's logs.
        let full = self.full_name(&node.service);
        let frames = self
            .engine
            .client()
            .await?
            .service_logs(&full, Some(follow_options(since)));
        Ok(until_first_error(frames, &full))
    }

    async fn perform(&self, id: &str, action: &ContainerAction) -> Result<(), ClusterError> {
        match action {
            ContainerAction::Start | ContainerAction::Restart => {
                let service = self.service_of(id).ok_or_else(|| {
                    ClusterError::NotFound(format!("no task of the stack has container '{id}'"))
                })?;
                // A start asks Swarm for the replacement now and returns;
                // the flow's wait-for follows the slot to it. A service
                // already at its replicas is left alone.
                if matches!(action, ContainerAction::Start) {
                    let (running, desired) = self.replicas(&service).await?;
                    if running >= desired {
                        return Ok(());
                    }
                }
                self.force_update(&service).await
            }
            _ => match self.route(id).await? {
                Route::Here => self.engine.perform(id, action).await,
                Route::Machine(node) => self.perform_on(&node, id, action).await,
            },
        }
    }

    async fn bring_back(&self, entry: &Entry) -> RestoreOutcome {
        match entry.undo {
            UndoAction::Start => match self.converge(&entry.service).await {
                Ok(detail) => RestoreOutcome::of(entry, true, detail),
                Err(ClusterError::Timeout) => RestoreOutcome::of(
                    entry,
                    false,
                    format!(
                        "service {} is not back at its replicas after {} s",
                        entry.service,
                        CONVERGE_TIMEOUT.as_secs()
                    ),
                ),
                Err(ClusterError::NotFound(_)) => {
                    RestoreOutcome::of(entry, true, "service is gone".into())
                }
                Err(e) => RestoreOutcome::of(entry, false, e.to_string()),
            },
            _ => match self.route(&entry.container_id).await {
                Ok(Route::Here) => self.engine.bring_back_container(entry).await,
                Ok(Route::Machine(node)) => self.unpause_on(&node, entry).await,
                Err(e) => RestoreOutcome::of(entry, false, e.to_string()),
            },
        }
    }

    async fn partition_cuts(&self, _node: &Node) -> Result<Vec<UndoAction>, ClusterError> {
        Err(ClusterError::Unsupported(
            "a swarm task is partitioned by isolation rules, not by network cuts".into(),
        ))
    }

    async fn cut(&self, _id: &str, cut: &UndoAction) -> Result<(), ClusterError> {
        Err(ClusterError::Unsupported(format!(
            "a swarm task is partitioned by isolation rules, not by {}",
            cut.describe()
        )))
    }

    async fn reconnect(&self, entry: &Entry) -> RestoreOutcome {
        self.engine.reconnect(entry).await
    }

    async fn liveness(&self, id: &str) -> Result<Option<Liveness>, ClusterError> {
        match self.route(id).await? {
            Route::Here => self.engine.liveness(id).await,
            Route::Machine(node) => Ok(self.inspect_on(&node, id).await?.map(|info| Liveness {
                running: info["State"]["Running"] == true,
                started_at: info["State"]["StartedAt"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            })),
        }
    }

    async fn addresses(&self, id: &str) -> Result<HashMap<String, Ipv4Addr>, ClusterError> {
        match self.route(id).await? {
            Route::Here => self.engine.addresses(id).await,
            Route::Machine(node) => {
                let info = self
                    .inspect_on(&node, id)
                    .await?
                    .ok_or_else(|| ClusterError::NotFound(format!("container {id} is gone")))?;
                let networks = info["NetworkSettings"]["Networks"].as_object().cloned();
                Ok(networks
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|(network, endpoint)| {
                        let ip = endpoint["IPAddress"].as_str()?.parse().ok()?;
                        Some((network, ip))
                    })
                    .collect())
            }
        }
    }

    async fn probe_netfault(&self) -> Result<Mechanisms, ClusterError> {
        self.engine.probe_netfault().await
    }

    async fn run_netfault(
        &self,
        id: &str,
        argv: Vec<String>,
    ) -> Result<HelperOutput, ClusterError> {
        match self.route(id).await? {
            Route::Here => self.engine.run_netfault(id, argv).await,
            Route::Machine(node) => {
                let docker = self.engine.client().await?;
                remote::run(&self.helpers(&docker), &node, in_namespace(id, argv)).await
            }
        }
    }

    async fn start_delayer(
        &self,
        id: &str,
        name: &str,
        argv: Vec<String>,
    ) -> Result<(), ClusterError> {
        match self.route(id).await? {
            Route::Here => self.engine.start_delayer(id, name, argv).await,
            Route::Machine(node) => {
                let docker = self.engine.client().await?;
                let argv = in_namespace(id, argv);
                remote::start(&self.helpers(&docker), &node, name, argv, "\"delaying\"").await
            }
        }
    }

    /// A helper is a container here or a service elsewhere; either goes.
    async fn remove_helper(&self, name: &str) {
        if let Ok(docker) = self.engine.client().await {
            remote::remove(&docker, name).await;
        }
        self.engine.remove_helper(name).await
    }

    async fn helpers(&self) -> Result<Vec<Found>, ClusterError> {
        let mut helpers = self.engine.helpers().await?;
        let docker = self.engine.client().await?;
        helpers.extend(remote::list(&docker, self.engine.helper_key()).await?);
        Ok(helpers)
    }
}

/// `argv` run in container `id`'s network namespace by a helper service.
fn in_namespace(id: &str, argv: Vec<String>) -> Vec<String> {
    let mut wrapped = vec!["on".to_string(), "--container".to_string(), id.to_string()];
    wrapped.extend(argv);
    wrapped
}
