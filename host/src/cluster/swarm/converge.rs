//! Bringing a service back: to its desired replicas, running, by Swarm
//! (a forced update when Swarm is still waiting out its restart delay),
//! within [`CONVERGE_TIMEOUT`]. A killed or stopped task is Swarm's to
//! replace; the node counts as back once its slot runs again.

use super::Swarm;
use super::listing::service_name;
use super::tasks::{self, Shown, TaskInfo};
use crate::cluster::docker::error::docker_error;
use crate::cluster::model::{ClusterError, NodeState};
use bollard::models::Service;
use bollard::query_parameters::{InspectServiceOptions, UpdateServiceOptions};
use std::collections::HashSet;
use std::time::Duration;

/// How long bringing a service back to its replicas may take.
pub(super) const CONVERGE_TIMEOUT: Duration = Duration::from_secs(60);
const CONVERGE_POLL: Duration = Duration::from_millis(500);

/// How many slots a service should have running: its replicas, or in
/// global mode one per machine it has a task on.
fn desired(service: &Service, tasks: &[TaskInfo]) -> usize {
    let mode = service.spec.as_ref().and_then(|s| s.mode.clone());
    match mode.and_then(|m| m.replicated).and_then(|r| r.replicas) {
        Some(replicas) => usize::try_from(replicas).unwrap_or(0),
        None => tasks
            .iter()
            .map(|t| t.node_id.as_str())
            .collect::<HashSet<_>>()
            .len(),
    }
}

/// How many of the shown slots run.
fn running(shown: &[Shown]) -> usize {
    shown
        .iter()
        .filter(|s| s.node.state == NodeState::Running)
        .count()
}

impl Swarm {
    pub(super) fn service_of(&self, id: &str) -> Option<String> {
        self.lock_seen().tasks.get(id).map(|t| t.service.clone())
    }

    /// Replaces the service's tasks now, as `docker service update --force`
    /// does: the way to skip Swarm's restart delay.
    pub(super) async fn force_update(&self, full_name: &str) -> Result<(), ClusterError> {
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
    pub(super) async fn replicas(&self, full_name: &str) -> Result<(usize, usize), ClusterError> {
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
        let running = running(&tasks::nodes(self.stack(), &tasks, &|id| {
            local.get(id).copied()
        }));
        Ok((running, desired(service, &tasks)))
    }

    /// Brings `service` (a flow's name) back to its desired replicas,
    /// running, within [`CONVERGE_TIMEOUT`].
    pub(super) async fn converge(&self, service: &str) -> Result<String, ClusterError> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::model::Health;
    use crate::cluster::swarm::tasks::TaskPhase;
    use bollard::models::{ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated};
    use std::time::SystemTime;

    fn task(id: &str, machine: &str, slot: Option<i64>, state: TaskPhase) -> TaskInfo {
        TaskInfo {
            id: id.into(),
            service: "demo_etcd".into(),
            slot,
            node_id: machine.into(),
            container_id: format!("c-{id}"),
            state,
            created: SystemTime::UNIX_EPOCH,
        }
    }

    fn service(replicas: Option<i64>) -> Service {
        Service {
            spec: Some(ServiceSpec {
                name: Some("demo_etcd".into()),
                mode: Some(ServiceSpecMode {
                    replicated: replicas.map(|r| ServiceSpecModeReplicated { replicas: Some(r) }),
                    global: replicas.is_none().then(Default::default),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_replicated_service_wants_its_replicas_and_a_global_one_a_task_per_machine() {
        let tasks = [
            task("t1", "a", Some(1), TaskPhase::Running),
            task("t2", "a", Some(2), TaskPhase::Ended),
            task("t3", "b", Some(3), TaskPhase::Running),
        ];
        assert_eq!(desired(&service(Some(3)), &tasks), 3);
        assert_eq!(desired(&service(Some(0)), &tasks), 0);
        assert_eq!(desired(&service(None), &tasks), 2);
        assert_eq!(desired(&Service::default(), &[]), 0);
    }

    #[test]
    fn a_killed_task_is_back_once_its_slot_runs_again() {
        let local = |_: &str| None::<(NodeState, Health)>;
        let killed = [
            task("t1", "a", Some(1), TaskPhase::Ended),
            task("t2", "a", Some(2), TaskPhase::Running),
        ];
        let shown = tasks::nodes("demo", &killed, &local);
        assert_eq!(running(&shown), 1, "{shown:?}");
        // Swarm's replacement in slot 1 runs: the service is back at 2/2.
        let replaced = [
            task("t1", "a", Some(1), TaskPhase::Ended),
            task("t1b", "b", Some(1), TaskPhase::Running),
            task("t2", "a", Some(2), TaskPhase::Running),
        ];
        let shown = tasks::nodes("demo", &replaced, &local);
        assert_eq!(running(&shown), 2);
        assert_eq!(desired(&service(Some(2)), &replaced), 2);
    }

    #[test]
    fn a_container_this_engine_saw_die_is_not_counted_as_running() {
        let tasks = [task("t1", "a", Some(1), TaskPhase::Running)];
        let dead = |_: &str| Some((NodeState::Exited, Health::None));
        assert_eq!(running(&tasks::nodes("demo", &tasks, &dead)), 0);
    }
}
