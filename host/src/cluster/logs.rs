//! The one thing the workload needs of the cluster: the logs of a service's
//! container. A handle for that alone, so the workload can neither list the
//! project nor make a fault.

use super::docker::{Engine, docker_error};
use super::model::ClusterError;
use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use futures::StreamExt;
use futures::stream::BoxStream;
use std::sync::Arc;

/// Follows the container logs of the project's services.
#[derive(Clone)]
pub struct ServiceLogs {
    engine: Arc<Engine>,
}

impl ServiceLogs {
    pub(super) fn new(engine: Arc<Engine>) -> Self {
        ServiceLogs { engine }
    }

    pub fn project(&self) -> &str {
        self.engine.project()
    }

    /// The stdout and stderr frames of `service`'s container (the first by
    /// name if it has several), each starting with Docker's timestamp: every
    /// frame since `since` (whole seconds since 1970), or without it only
    /// those from now on. The stream ends when the container stops or Docker
    /// fails. `Ok(None)`: the service has no container.
    pub async fn follow(
        &self,
        service: &str,
        since: Option<i32>,
    ) -> Result<Option<BoxStream<'static, LogOutput>>, ClusterError> {
        let Some(node) = self.engine.list(Some(service)).await?.into_iter().next() else {
            return Ok(None);
        };
        let frames = self.engine.client().await?.logs(
            &node.id,
            Some(LogsOptions {
                follow: true,
                stdout: true,
                stderr: true,
                timestamps: true,
                since: since.unwrap_or(0),
                tail: if since.is_some() { "all" } else { "0" }.into(),
                ..Default::default()
            }),
        );
        // Ends at the first error: the follower attaches again, from where
        // this stream stopped.
        let frames = frames
            .scan(node.container, |container, frame| {
                let frame = frame
                    .map_err(|e| tracing::debug!("logs of {container}: {}", docker_error(e)))
                    .ok();
                std::future::ready(frame)
            })
            .boxed();
        Ok(Some(frames))
    }
}
