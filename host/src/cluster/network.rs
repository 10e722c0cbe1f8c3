//! Partitions: a container cut from every project network it is on, each cut
//! in the ledger (with the aliases and address it had) before it is made, and
//! healed by reconnecting it as it was.

use super::docker::docker_error;
use super::ledger::{Entry, UndoAction};
use super::model::{Action, ClusterError, NetworkAction, Node};
use super::{Cluster, entry};
use bollard::models::{
    EndpointIpamConfig, EndpointSettings, NetworkConnectRequest, NetworkDisconnectRequest,
};
use bollard::query_parameters::InspectContainerOptions;

/// Docker's own networks: a compose service is never on them, and leaving
/// them would cut the container off from more than its project.
const ENGINE_NETWORKS: [&str; 3] = ["bridge", "host", "none"];

impl Cluster {
    /// Disconnects the container from each of its networks, each one written
    /// to the ledger (with the aliases and fixed address it had there) before
    /// it is cut.
    pub(super) async fn partition(&self, node: &Node) -> Result<(), ClusterError> {
        let info = self
            .engine
            .client()
            .await?
            .inspect_container(&node.id, None::<InspectContainerOptions>)
            .await
            .map_err(docker_error)?;
        let networks = info
            .network_settings
            .and_then(|n| n.networks)
            .unwrap_or_default();
        let mut cuts: Vec<(String, UndoAction)> = networks
            .into_iter()
            .filter(|(name, _)| !ENGINE_NETWORKS.contains(&name.as_str()))
            .map(|(network, endpoint)| {
                let undo = UndoAction::Reconnect {
                    network: network.clone(),
                    aliases: endpoint.aliases.unwrap_or_default(),
                    ipv4_address: endpoint
                        .ipam_config
                        .and_then(|c| c.ipv4_address)
                        .filter(|a| !a.is_empty()),
                };
                (network, undo)
            })
            .collect();
        if cuts.is_empty() {
            return Err(ClusterError::Failed(format!(
                "{} is on no project network to disconnect it from",
                node.container
            )));
        }
        cuts.sort_by(|a, b| a.0.cmp(&b.0));
        let described = Action::from(NetworkAction::Partition).describe();
        for (network, undo) in cuts {
            let entry = entry(node, described.clone(), undo);
            self.record(&entry)?;
            let request = NetworkDisconnectRequest {
                container: node.id.clone(),
                force: Some(true),
            };
            let cut = match self.engine.client().await {
                Ok(docker) => docker
                    .disconnect_network(&network, request)
                    .await
                    .map_err(docker_error),
                Err(e) => Err(e),
            };
            if let Err(error) = cut {
                self.forget(&entry);
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
    /// it was cut from, and removes its isolation.
    pub(super) async fn heal(&self, node: &Node) -> Result<(), ClusterError> {
        let cuts: Vec<Entry> = self
            .outstanding_faults()
            .into_iter()
            .filter(|e| e.container_id == node.id && matches!(e.undo, UndoAction::Reconnect { .. }))
            .collect();
        let rejoined = self.rejoin(node).await?;
        if cuts.is_empty() && !rejoined {
            return Err(ClusterError::Failed(format!(
                "{} is not partitioned or isolated by this host",
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
            self.clear(&node.id, &entry.undo);
        }
        Ok(())
    }

    /// Connects container `id` to `network` again, with the aliases (and
    /// fixed address) it had there.
    pub(super) async fn reconnect(
        &self,
        id: &str,
        network: &str,
        aliases: &[String],
        ipv4_address: Option<&str>,
    ) -> Result<(), ClusterError> {
        let request = NetworkConnectRequest {
            container: id.to_string(),
            endpoint_config: Some(EndpointSettings {
                aliases: Some(aliases.to_vec()),
                ipam_config: ipv4_address.map(|address| EndpointIpamConfig {
                    ipv4_address: Some(address.to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        self.engine
            .client()
            .await?
            .connect_network(network, request)
            .await
            .map_err(docker_error)
    }
}
