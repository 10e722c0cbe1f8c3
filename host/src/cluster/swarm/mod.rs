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
//! `--swarm-helpers always` sends every fault that way, so that a
//! one-machine swarm (CI) exercises it. The list, the state and the logs
//! come from the manager, so they cover every machine.
//!
//! Each job has a file: `listing` (the stack's services and tasks, and what
//! the latest listing saw), `tasks` (which task stands for a node; pure),
//! `calls` (where a call runs, and calls on other machines), `remote` (the
//! helper services that make them), `converge` (a service back at its
//! replicas), `address` (where the presenter reaches a service); this file
//! holds the backend's state and answers the trait from them.

mod address;
mod calls;
mod converge;
mod listing;
pub mod remote;
pub mod tasks;

use super::backend::{Backend, Change, Liveness, NetfaultHelpers, Scope};
use super::docker::{Engine, addresses_of, follow_options, liveness_of, until_first_error};
use super::ledger::{Entry, UndoAction};
use super::model::{ClusterError, ContainerAction, LogFrame, Node, RestoreOutcome};
use super::options::{EngineOptions, HelperPlacement};
use async_trait::async_trait;
use calls::Route;
use converge::CONVERGE_TIMEOUT;
use futures::stream::BoxStream;
use listing::Seen;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

/// Tasks on other machines change without an event on this engine; the
/// node list is read again this often to show them.
const POLL_EVERY: Duration = Duration::from_secs(2);

pub struct Swarm {
    scope: Scope,
    engine: Engine,
    /// Whether calls on a task here go through a helper service too.
    helpers: HelperPlacement,
    /// This engine's node in the swarm, asked once it answers.
    local_node: tokio::sync::OnceCell<String>,
    /// What the latest listing saw (see [`Seen`]).
    seen: Mutex<Seen>,
}

impl Swarm {
    pub fn new(stack: String, options: &EngineOptions) -> Self {
        let scope = Scope::Swarm { stack };
        Swarm {
            engine: Engine::new(scope.key(), options.netfault_image.clone()),
            helpers: options.swarm_helpers,
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
        self.lock_seen().record(tasks, &shown, service.is_none());
        Ok(shown.into_iter().map(|s| s.node).collect())
    }

    async fn successor(&self, id: &str) -> Option<String> {
        self.lock_seen().successor(id)
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
        self.address_of(service, port).await
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
            Route::Machine(node) => Ok(self.inspect_on(&node, id).await?.map(liveness_of)),
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
                Ok(addresses_of(info))
            }
        }
    }

    fn netfault_helpers(&self) -> &dyn NetfaultHelpers {
        self
    }
}
