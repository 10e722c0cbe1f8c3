//! The Engine API for one compose project: the client (made once the engine
//! answers), the label filter that finds the project's containers, and what
//! Docker's answers mean in the cluster's terms.

use super::model::{ClusterError, Health, Node, NodeState};
use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::models::{ContainerSummary, ContainerSummaryStateEnum};
use bollard::query_parameters::ListContainersOptions;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;

const PROJECT_LABEL: &str = "com.docker.compose.project";
const SERVICE_LABEL: &str = "com.docker.compose.service";

/// A filter of the Engine API (`label`, `type`, …) and its accepted values.
pub(super) type Filters = HashMap<String, Vec<String>>;

/// The project's side of the engine. Shared by the cluster and the handles
/// it gives out, which need Docker but nothing else of the cluster's.
pub(super) struct Engine {
    project: String,
    /// Set once the engine answered; until then (engine down or its socket
    /// missing at start) every call tries again and fails with
    /// `DockerUnavailable`. A client, once made, reconnects by itself.
    client: Mutex<Option<Docker>>,
}

impl Engine {
    pub(super) fn new(project: String) -> Self {
        Engine {
            project,
            client: Mutex::new(None),
        }
    }

    pub(super) fn project(&self) -> &str {
        &self.project
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

    /// The containers of the project, or of one of its services: found by
    /// their compose labels, never by their names (a project called `tikv`
    /// names every container `tikv-…`).
    pub(super) fn label_filter(&self, service: Option<&str>) -> Filters {
        let mut labels = vec![format!("{PROJECT_LABEL}={}", self.project)];
        if let Some(service) = service {
            labels.push(format!("{SERVICE_LABEL}={service}"));
        }
        HashMap::from([("label".to_string(), labels)])
    }

    async fn summaries(
        &self,
        service: Option<&str>,
    ) -> Result<Vec<ContainerSummary>, ClusterError> {
        self.client()
            .await?
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(self.label_filter(service)),
                ..Default::default()
            }))
            .await
            .map_err(docker_error)
    }

    /// The project's containers (or one service's), by service and name.
    pub(super) async fn list(&self, service: Option<&str>) -> Result<Vec<Node>, ClusterError> {
        let mut nodes: Vec<Node> = self
            .summaries(service)
            .await?
            .into_iter()
            .filter_map(node_from_summary)
            .collect();
        nodes.sort_by(|a, b| (&a.service, &a.container).cmp(&(&b.service, &b.container)));
        Ok(nodes)
    }

    /// The host address Docker published `service`'s container `port` on;
    /// `Ok(None)` when the service has no such binding, `NotFound` when the
    /// project has no such service.
    pub(super) async fn published_address(
        &self,
        service: &str,
        port: u16,
    ) -> Result<Option<SocketAddr>, ClusterError> {
        let summaries = self.summaries(Some(service)).await?;
        if summaries.is_empty() {
            return Err(ClusterError::NotFound(format!(
                "project '{}' has no service '{service}'",
                self.project
            )));
        }
        let bindings: Vec<(Option<String>, u16, u16)> = summaries
            .iter()
            .flat_map(|s| s.ports.iter().flatten())
            .map(|p| (p.ip.clone(), p.private_port, p.public_port.unwrap_or(0)))
            .collect();
        Ok(published(&bindings, port))
    }
}

/// A container of the project as a [`Node`]; `None` without a service label
/// (the filter matched the project; the service is what a target names).
fn node_from_summary(summary: ContainerSummary) -> Option<Node> {
    let service = summary.labels.unwrap_or_default().remove(SERVICE_LABEL)?;
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

/// Where Docker published a container port, from `(address, container port,
/// host port)` bindings: loopback when it listens on all addresses, else the
/// address it is bound to. IPv4 first. A binding Docker reports with an
/// address that does not parse is skipped.
fn published(bindings: &[(Option<String>, u16, u16)], port: u16) -> Option<SocketAddr> {
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

pub(super) fn docker_error(error: DockerError) -> ClusterError {
    match error {
        DockerError::DockerResponseServerError {
            status_code: 404,
            message,
        } => ClusterError::NotFound(message),
        DockerError::DockerResponseServerError { message, .. } => ClusterError::Failed(message),
        other => ClusterError::DockerUnavailable(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_label_filter_names_the_project_and_the_service() {
        let engine = Engine::new("tikv".into());
        assert_eq!(
            engine.label_filter(None),
            HashMap::from([(
                "label".to_string(),
                vec!["com.docker.compose.project=tikv".to_string()]
            )])
        );
        assert_eq!(
            engine.label_filter(Some("pd0"))["label"],
            [
                "com.docker.compose.project=tikv",
                "com.docker.compose.service=pd0"
            ]
        );
    }
}
