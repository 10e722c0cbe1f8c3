//! The one thing the workload needs of the cluster: the logs of a service's
//! node. A handle for that alone, so the workload can neither list the
//! project nor make a fault.

use super::backend::Backend;
use super::model::{ClusterError, LogFrame};
use futures::stream::BoxStream;
use std::sync::Arc;

/// Follows the container logs of the project's services.
#[derive(Clone)]
pub struct ServiceLogs {
    backend: Arc<dyn Backend>,
}

impl ServiceLogs {
    pub(super) fn new(backend: Arc<dyn Backend>) -> Self {
        ServiceLogs { backend }
    }

    /// The project or stack, as the user named it.
    pub fn project(&self) -> &str {
        self.backend.scope().name()
    }

    pub fn backend_scope(&self) -> &super::Scope {
        self.backend.scope()
    }

    /// The stdout and stderr frames of `service`'s container (the first by
    /// name if it has several), each starting with the engine's timestamp: every
    /// frame since `since` (whole seconds since 1970), or without it only
    /// those from now on. The stream ends when the container stops or Docker
    /// fails. `Ok(None)`: the service has no container.
    pub async fn follow(
        &self,
        service: &str,
        since: Option<i32>,
    ) -> Result<Option<BoxStream<'static, LogFrame>>, ClusterError> {
        let nodes = self.backend.list(Some(service)).await?;
        // A service that was brought back has its running node first.
        let Some(node) = nodes
            .iter()
            .find(|n| n.state == super::NodeState::Running)
            .or(nodes.first())
        else {
            return Ok(None);
        };
        self.backend.follow_logs(node, since).await.map(Some)
    }
}
