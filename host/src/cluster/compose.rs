//! The Compose backend: a project's containers on one engine, found by
//! Compose's labels, never by their names (a project called `tikv` names
//! every container `tikv-…`). Every fault is one Engine API call on the
//! container; a stopped container is brought back by starting it.

use super::backend::{Backend, Change, Liveness, NetfaultHelpers, Scope};
use super::docker::{Engine, Filters, node_from_summary, published_in};
use super::ledger::{Entry, UndoAction};
use super::model::{ClusterError, ContainerAction, LogFrame, Node, RestoreOutcome};
use super::options::EngineOptions;
use async_trait::async_trait;
use futures::stream::BoxStream;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};

const PROJECT_LABEL: &str = "com.docker.compose.project";
const SERVICE_LABEL: &str = "com.docker.compose.service";

pub struct Compose {
    scope: Scope,
    engine: Engine,
}

impl Compose {
    pub fn new(project: String, options: &EngineOptions) -> Self {
        Compose {
            engine: Engine::new(project.clone(), options.netfault_image.clone()),
            scope: Scope::Compose { project },
        }
    }

    fn project(&self) -> &str {
        self.scope.name()
    }

    /// The containers of the project, or of one of its services.
    fn label_filter(&self, service: Option<&str>) -> Filters {
        let mut labels = vec![format!("{PROJECT_LABEL}={}", self.project())];
        if let Some(service) = service {
            labels.push(format!("{SERVICE_LABEL}={service}"));
        }
        HashMap::from([("label".to_string(), labels)])
    }
}

#[async_trait]
impl Backend for Compose {
    fn scope(&self) -> &Scope {
        &self.scope
    }

    async fn connect(&self) -> Result<(), ClusterError> {
        self.engine.client().await.map(|_| ())
    }

    async fn list(&self, service: Option<&str>) -> Result<Vec<Node>, ClusterError> {
        let mut nodes: Vec<Node> = self
            .engine
            .summaries(self.label_filter(service))
            .await?
            .into_iter()
            .filter_map(|mut summary| {
                // The filter matched the project; the service is what a
                // target names, and a container without one is no node.
                let service = summary.labels.as_mut()?.remove(SERVICE_LABEL)?;
                node_from_summary(summary, service)
            })
            .collect();
        nodes.sort_by(|a, b| (&a.service, &a.container).cmp(&(&b.service, &b.container)));
        Ok(nodes)
    }

    async fn changes(
        &self,
    ) -> Result<BoxStream<'static, Result<Change, ClusterError>>, ClusterError> {
        self.engine.container_changes(self.label_filter(None)).await
    }

    async fn published_address(
        &self,
        service: &str,
        port: u16,
    ) -> Result<Option<SocketAddr>, ClusterError> {
        let summaries = self
            .engine
            .summaries(self.label_filter(Some(service)))
            .await?;
        if summaries.is_empty() {
            return Err(ClusterError::NotFound(format!(
                "project '{}' has no service '{service}'",
                self.project()
            )));
        }
        Ok(published_in(&summaries, port))
    }

    async fn follow_logs(
        &self,
        node: &Node,
        since: Option<i32>,
    ) -> Result<BoxStream<'static, LogFrame>, ClusterError> {
        self.engine
            .follow_logs(&node.id, &node.container, since)
            .await
    }

    async fn perform(&self, id: &str, action: &ContainerAction) -> Result<(), ClusterError> {
        self.engine.perform(id, action).await
    }

    async fn bring_back(&self, entry: &Entry) -> RestoreOutcome {
        self.engine.bring_back_container(entry).await
    }

    async fn partition_cuts(&self, node: &Node) -> Result<Vec<UndoAction>, ClusterError> {
        self.engine.partition_cuts(node).await
    }

    async fn cut(&self, id: &str, cut: &UndoAction) -> Result<(), ClusterError> {
        self.engine.cut(id, cut).await
    }

    async fn reconnect(&self, entry: &Entry) -> RestoreOutcome {
        self.engine.reconnect(entry).await
    }

    async fn liveness(&self, id: &str) -> Result<Option<Liveness>, ClusterError> {
        self.engine.liveness(id).await
    }

    async fn addresses(&self, id: &str) -> Result<HashMap<String, Ipv4Addr>, ClusterError> {
        self.engine.addresses(id).await
    }

    fn netfault_helpers(&self) -> &dyn NetfaultHelpers {
        &self.engine
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_filter_names_the_project_and_the_service() {
        let compose = Compose::new("tikv".into(), &EngineOptions::default());
        assert_eq!(
            compose.label_filter(None),
            HashMap::from([(
                "label".to_string(),
                vec!["com.docker.compose.project=tikv".to_string()]
            )])
        );
        assert_eq!(
            compose.label_filter(Some("pd0"))["label"],
            [
                "com.docker.compose.project=tikv",
                "com.docker.compose.service=pd0"
            ]
        );
    }
}
