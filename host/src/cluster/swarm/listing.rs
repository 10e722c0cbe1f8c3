//! Listing a stack: this engine's place in the swarm, the stack's services
//! and their tasks (through the manager, so every machine's), what this
//! engine knows of the containers that run here, and what the latest
//! listing saw ([`Seen`]): how a replaced node's id finds its successor.

use super::Swarm;
use super::tasks::{self, Shown, TaskInfo, TaskPhase};
use crate::cluster::docker::error::docker_error;
use crate::cluster::docker::{Filters, health_from_status, node_state};
use crate::cluster::model::{ClusterError, Health, NodeState};
use bollard::models::{LocalNodeState, Service, Task, TaskState};
use bollard::query_parameters::{ListServicesOptions, ListTasksOptions};
use std::collections::HashMap;
use std::time::SystemTime;

const STACK_LABEL: &str = "com.docker.stack.namespace";

/// Every task of the stack the latest listing saw, by container id (and by
/// task id, for tasks without a container), and the node id each slot is
/// shown under: how an earlier node's id finds its successor, and which
/// machine a container is on.
#[derive(Debug, Default)]
pub(super) struct Seen {
    pub(super) tasks: HashMap<String, TaskInfo>,
    shown: HashMap<String, String>,
}

impl Seen {
    /// Remembers a listing: of the whole stack (`whole`: what was seen
    /// before is forgotten) or of one service.
    pub(super) fn record(&mut self, tasks: Vec<TaskInfo>, shown: &[Shown], whole: bool) {
        if whole {
            self.tasks.clear();
            self.shown.clear();
        }
        for task in tasks {
            let key = if task.container_id.is_empty() {
                task.id.clone()
            } else {
                task.container_id.clone()
            };
            self.tasks.insert(key, task);
        }
        for s in shown {
            self.shown
                .insert(tasks::slot_key(&s.task), s.node.id.clone());
        }
    }

    /// The node id that now stands for node `id`'s slot, if it is another.
    pub(super) fn successor(&self, id: &str) -> Option<String> {
        let task = self.tasks.get(id)?;
        self.shown
            .get(&tasks::slot_key(task))
            .filter(|now| now.as_str() != id)
            .cloned()
    }

    /// The swarm node container (or task) `id` runs on, if known.
    pub(super) fn machine_of(&self, id: &str) -> Option<String> {
        self.tasks
            .get(id)
            .map(|t| t.node_id.clone())
            .filter(|node| !node.is_empty())
    }
}

impl Swarm {
    pub(super) fn stack_filter(&self) -> Filters {
        HashMap::from([(
            "label".to_string(),
            vec![format!("{STACK_LABEL}={}", self.stack())],
        )])
    }

    /// This engine's swarm node id; an engine outside a swarm, or a worker
    /// (which cannot list tasks), is said plainly.
    pub(super) async fn local_node(&self) -> Result<&str, ClusterError> {
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
    pub(super) async fn services(
        &self,
        service: Option<&str>,
    ) -> Result<Vec<Service>, ClusterError> {
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
    pub(super) async fn tasks(&self, services: &[Service]) -> Result<Vec<TaskInfo>, ClusterError> {
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
            .filter_map(|task| task_info(task, &ids))
            .collect())
    }

    /// What this engine knows of the stack's containers that run on it.
    pub(super) async fn local_containers(
        &self,
    ) -> Result<HashMap<String, (NodeState, Health)>, ClusterError> {
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
}

/// What the backend keeps of a task of one of `services` (service id →
/// full name); `None` for a task of another service, or without an id.
fn task_info(task: Task, services: &HashMap<String, String>) -> Option<TaskInfo> {
    let service = services.get(task.service_id.as_deref()?)?.clone();
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
}

pub(super) fn service_name(service: &Service) -> Option<&str> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::model::Node;
    use bollard::models::{ContainerStatus, TaskStatus};

    fn task(id: &str, slot: i64, container: &str, state: TaskPhase) -> TaskInfo {
        TaskInfo {
            id: id.into(),
            service: "demo_etcd1".into(),
            slot: Some(slot),
            node_id: "machine-a".into(),
            container_id: container.into(),
            state,
            created: SystemTime::UNIX_EPOCH,
        }
    }

    fn shown(task: &TaskInfo, node_id: &str) -> Shown {
        Shown {
            node: Node {
                service: "etcd1".into(),
                container: node_id.into(),
                id: node_id.into(),
                state: NodeState::Running,
                health: Health::None,
            },
            task: task.clone(),
        }
    }

    #[test]
    fn a_replaced_task_is_found_under_its_successor() {
        let mut seen = Seen::default();
        let old = task("t1", 1, "c1", TaskPhase::Running);
        seen.record(vec![old.clone()], &[shown(&old, "c1")], true);
        assert_eq!(seen.successor("c1"), None, "still itself");
        // Swarm replaced it: the old task ended, a new one runs in the slot.
        let ended = task("t1", 1, "c1", TaskPhase::Ended);
        let new = task("t2", 1, "c2", TaskPhase::Running);
        seen.record(vec![ended, new.clone()], &[shown(&new, "c2")], true);
        assert_eq!(seen.successor("c1").as_deref(), Some("c2"));
        assert_eq!(seen.successor("c2"), None);
        assert_eq!(seen.successor("unknown"), None);
        assert_eq!(seen.machine_of("c1").as_deref(), Some("machine-a"));
    }

    #[test]
    fn a_task_without_a_container_is_known_by_its_task_id() {
        let mut seen = Seen::default();
        let pending = task("t3", 2, "", TaskPhase::Starting);
        seen.record(vec![pending.clone()], &[shown(&pending, "t3")], true);
        assert_eq!(seen.tasks["t3"].id, "t3");
        // A listing of one service adds to what the whole stack's said.
        let other = task("t4", 3, "c4", TaskPhase::Running);
        seen.record(vec![other], &[], false);
        assert!(seen.tasks.contains_key("t3") && seen.tasks.contains_key("c4"));
        seen.record(Vec::new(), &[], true);
        assert!(seen.tasks.is_empty());
    }

    #[test]
    fn swarm_task_states_become_phases() {
        assert_eq!(phase(Some(TaskState::RUNNING)), TaskPhase::Running);
        for ended in [
            TaskState::COMPLETE,
            TaskState::SHUTDOWN,
            TaskState::FAILED,
            TaskState::REJECTED,
            TaskState::REMOVE,
            TaskState::ORPHANED,
        ] {
            assert_eq!(phase(Some(ended)), TaskPhase::Ended, "{ended:?}");
        }
        for starting in [TaskState::NEW, TaskState::PENDING, TaskState::STARTING] {
            assert_eq!(phase(Some(starting)), TaskPhase::Starting);
        }
        assert_eq!(phase(None), TaskPhase::Starting);
    }

    #[test]
    fn a_task_is_kept_only_for_a_service_of_the_stack() {
        let services = HashMap::from([("svc-id".to_string(), "demo_etcd1".to_string())]);
        let listed = Task {
            id: Some("t1".into()),
            service_id: Some("svc-id".into()),
            slot: Some(1),
            node_id: Some("machine-a".into()),
            created_at: Some("2026-12-07T10:00:00.5Z".into()),
            status: Some(TaskStatus {
                state: Some(TaskState::RUNNING),
                container_status: Some(ContainerStatus {
                    container_id: Some("c1".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let info = task_info(listed.clone(), &services).unwrap();
        assert_eq!(
            (
                info.service.as_str(),
                info.container_id.as_str(),
                info.state
            ),
            ("demo_etcd1", "c1", TaskPhase::Running)
        );
        assert!(info.created > SystemTime::UNIX_EPOCH);
        let elsewhere = Task {
            service_id: Some("other".into()),
            ..listed
        };
        assert_eq!(task_info(elsewhere, &services), None);
    }
}
