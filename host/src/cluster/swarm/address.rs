//! Where the presenter's machine reaches a stack's service: a port the
//! service publishes (every machine of the swarm answers on it), else the
//! running container's address on a bridge network of this machine (a
//! stack's presenter network), if the container runs here.

use super::Swarm;
use crate::cluster::backend::Backend;
use crate::cluster::docker::error::docker_error;
use crate::cluster::model::{ClusterError, NodeState};
use bollard::models::Service;
use bollard::query_parameters::ListNetworksOptions;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Where the service publishes container port `port`: loopback and the
/// published port (the routing mesh answers on every machine).
fn published(service: &Service, port: u16) -> Option<SocketAddr> {
    let published = service
        .endpoint
        .as_ref()
        .and_then(|e| e.ports.as_ref())
        .into_iter()
        .flatten()
        .find(|p| p.target_port == Some(i64::from(port)))
        .and_then(|p| u16::try_from(p.published_port?).ok())
        .filter(|p| *p != 0)?;
    Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), published))
}

/// The container's address on the first (by name) of its networks that is
/// one of this machine's `bridges`.
fn on_a_bridge(
    addresses: HashMap<String, Ipv4Addr>,
    bridges: &HashSet<String>,
    port: u16,
) -> Option<SocketAddr> {
    let mut on_bridges: Vec<(String, Ipv4Addr)> = addresses
        .into_iter()
        .filter(|(network, _)| bridges.contains(network))
        .collect();
    on_bridges.sort();
    on_bridges
        .first()
        .map(|(_, ip)| SocketAddr::new(IpAddr::V4(*ip), port))
}

impl Swarm {
    /// See the module's comment. `NotFound`: the stack has no `service`.
    pub(super) async fn address_of(
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
        if let Some(address) = published(found, port) {
            return Ok(Some(address));
        }
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

    /// The address of the node's container on a bridge network this
    /// machine routes to, if any.
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
        Ok(on_a_bridge(
            self.engine.addresses(id).await?,
            &bridges,
            port,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{EndpointPortConfig, ServiceEndpoint};

    fn publishing(ports: &[(i64, i64)]) -> Service {
        Service {
            endpoint: Some(ServiceEndpoint {
                ports: Some(
                    ports
                        .iter()
                        .map(|(target, published)| EndpointPortConfig {
                            target_port: Some(*target),
                            published_port: Some(*published),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_published_port_is_reached_on_loopback() {
        let service = publishing(&[(2379, 12379), (2380, 0)]);
        assert_eq!(
            published(&service, 2379).map(|a| a.to_string()).as_deref(),
            Some("127.0.0.1:12379")
        );
        assert_eq!(published(&service, 2380), None, "0: not published");
        assert_eq!(published(&service, 9999), None);
        assert_eq!(published(&Service::default(), 2379), None);
    }

    #[test]
    fn an_unpublished_port_is_reached_on_a_bridge_of_this_machine() {
        let addresses = HashMap::from([
            ("demo_overlay".to_string(), Ipv4Addr::new(10, 0, 1, 5)),
            ("demo_z_bridge".to_string(), Ipv4Addr::new(172, 20, 0, 9)),
            ("demo_a_bridge".to_string(), Ipv4Addr::new(172, 21, 0, 3)),
        ]);
        let bridges: HashSet<String> = ["demo_z_bridge", "demo_a_bridge", "bridge"]
            .map(String::from)
            .into();
        assert_eq!(
            on_a_bridge(addresses.clone(), &bridges, 2379)
                .map(|a| a.to_string())
                .as_deref(),
            Some("172.21.0.3:2379")
        );
        assert_eq!(on_a_bridge(addresses, &HashSet::new(), 2379), None);
    }
}
