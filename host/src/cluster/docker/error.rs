//! What the Engine API's errors mean in the cluster's terms. A leaf: every
//! Docker-speaking file (the engine, its helpers, Swarm's remote calls)
//! maps its errors through it.

use crate::cluster::model::ClusterError;
use bollard::errors::Error as DockerError;

pub(in crate::cluster) fn docker_error(error: DockerError) -> ClusterError {
    match error {
        DockerError::DockerResponseServerError {
            status_code: 404,
            message,
        } => ClusterError::NotFound(message),
        DockerError::DockerResponseServerError { message, .. } => ClusterError::Failed(message),
        other => ClusterError::DockerUnavailable(other.to_string()),
    }
}
