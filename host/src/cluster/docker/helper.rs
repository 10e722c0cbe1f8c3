//! The helper containers that make network faults: short-lived ones that
//! run `netfault run|undo|probe` in the target's network namespace
//! (`network_mode: container:ID`, NET_ADMIN and nothing else), and the
//! delayer that stays up for as long as a delay without netem does. The
//! target image needs no tools; the helper's image is ours, built locally
//! from Debian's packages (scripts/build-netfault-image.sh).
//!
//! Helpers carry our labels, never Compose's, so they are never nodes of the
//! project; `host recover` finds a delayer left by a killed host by them.

use super::error::docker_error;
use crate::cluster::model::ClusterError;
use crate::cluster::netfault::output::{HelperOutput, delaying, last_line};
use crate::cluster::netfault::plan::Mechanisms;
use crate::cluster::netfault::sweep::{Found, InUse, OP_LABEL};
use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, LogsOptions, RemoveContainerOptions,
    WaitContainerOptions,
};
use futures::StreamExt;
use std::collections::HashMap;
use std::time::Duration;

/// What every helper runs; `argv` are its arguments. Named explicitly, so
/// an image built another way works as long as the binary is there.
const ENTRYPOINT: &str = "/usr/local/bin/netfault";
/// Every helper carries it, with the project as its value.
pub const PROJECT_LABEL: &str = "demo.netfault.project";
/// The container whose namespace the helper works in.
pub const TARGET_LABEL: &str = "demo.netfault.target";
const ROLE_LABEL: &str = "demo.netfault.role";
/// A helper that has not finished by then is stuck (iptables' lock, a
/// wedged engine): it is removed and the fault fails.
const HELPER_TIMEOUT: Duration = Duration::from_secs(20);

/// Where a helper runs.
pub enum Namespace<'a> {
    /// In this container's network namespace.
    Of(&'a str),
    /// In a namespace of its own with only loopback (the kernel probe).
    Own,
}

fn host_config(namespace: &Namespace<'_>) -> HostConfig {
    HostConfig {
        network_mode: Some(match namespace {
            Namespace::Of(id) => format!("container:{id}"),
            Namespace::Own => "none".into(),
        }),
        cap_drop: Some(vec!["ALL".into()]),
        cap_add: Some(vec!["NET_ADMIN".into()]),
        memory: Some(64 * 1024 * 1024),
        pids_limit: Some(64),
        ..Default::default()
    }
}

/// A helper's labels; `claim` marks it as in use by its call until then
/// (see `sweep`).
fn labels(
    project: &str,
    namespace: &Namespace<'_>,
    role: &str,
    claim: &InUse,
) -> HashMap<String, String> {
    let mut labels = HashMap::from([
        (PROJECT_LABEL.to_string(), project.to_string()),
        (ROLE_LABEL.to_string(), role.to_string()),
        (OP_LABEL.to_string(), claim.token().to_string()),
    ]);
    if let Namespace::Of(id) = namespace {
        labels.insert(TARGET_LABEL.to_string(), id.to_string());
    }
    labels
}

/// Creates a helper container, with a missing image said plainly.
async fn create(
    docker: &Docker,
    image: &str,
    name: Option<String>,
    body: ContainerCreateBody,
) -> Result<String, ClusterError> {
    let options = CreateContainerOptions {
        name,
        ..Default::default()
    };
    match docker.create_container(Some(options), body).await {
        Ok(created) => Ok(created.id),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message,
        }) if message.contains("image") || message.contains("No such") => {
            Err(ClusterError::Unsupported(format!(
                "the network-fault helper image {image} is not on this Docker engine: run scripts/build-netfault-image.sh (or name another with --netfault-image)"
            )))
        }
        Err(e) => Err(docker_error(e)),
    }
}

/// Runs `argv` in a helper and waits for it (bounded), then removes it.
pub async fn run(
    docker: &Docker,
    image: &str,
    project: &str,
    namespace: Namespace<'_>,
    argv: Vec<String>,
) -> Result<HelperOutput, ClusterError> {
    // Held until the helper is removed below, so no sweep takes it mid-run.
    let claim = InUse::begin();
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        entrypoint: Some(vec![ENTRYPOINT.to_string()]),
        cmd: Some(argv),
        labels: Some(labels(project, &namespace, "run", &claim)),
        host_config: Some(host_config(&namespace)),
        ..Default::default()
    };
    let id = create(docker, image, None, body).await?;
    let result = tokio::time::timeout(HELPER_TIMEOUT, started_and_finished(docker, &id)).await;
    let output = match result {
        Ok(Ok(exit_code)) => Ok(HelperOutput {
            exit_code,
            stdout: logs(docker, &id, true).await,
            stderr: logs(docker, &id, false).await,
        }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ClusterError::Failed(format!(
            "the network-fault helper did not finish within {}s",
            HELPER_TIMEOUT.as_secs()
        ))),
    };
    remove(docker, &id).await;
    drop(claim);
    output
}

async fn started_and_finished(docker: &Docker, id: &str) -> Result<i64, ClusterError> {
    docker
        .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
        .await
        .map_err(docker_error)?;
    let mut wait = docker.wait_container(id, None::<WaitContainerOptions>);
    match wait.next().await {
        Some(Ok(response)) => Ok(response.status_code),
        // bollard reports a non-zero exit as this error.
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
        Some(Err(e)) => Err(docker_error(e)),
        None => Err(ClusterError::Failed(
            "the helper's wait ended without a status".into(),
        )),
    }
}

async fn logs(docker: &Docker, id: &str, stdout: bool) -> String {
    let options = LogsOptions {
        stdout,
        stderr: !stdout,
        ..Default::default()
    };
    let mut stream = docker.logs(id, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        // The helper prints a line per step; a plan is bounded, so is this.
        if text.len() > 256 * 1024 {
            break;
        }
    }
    text
}

/// Removes a helper container, whatever its state; a gone one is fine.
pub async fn remove(docker: &Docker, name_or_id: &str) {
    let options = RemoveContainerOptions {
        force: true,
        ..Default::default()
    };
    if let Err(e) = docker.remove_container(name_or_id, Some(options)).await {
        let gone = matches!(
            &e,
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                ..
            }
        );
        if !gone {
            tracing::warn!("cannot remove network-fault helper {name_or_id}: {e}");
        }
    }
}

/// Starts the delayer under `name` in the target's namespace and waits
/// (bounded) until it says it has bound its queue.
pub async fn start_delayer(
    docker: &Docker,
    image: &str,
    project: &str,
    target_id: &str,
    name: &str,
    argv: Vec<String>,
) -> Result<(), ClusterError> {
    let namespace = Namespace::Of(target_id);
    // The ledger entry names the delayer before this runs; the claim also
    // covers a caller that has none while it starts.
    let claim = InUse::begin();
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        entrypoint: Some(vec![ENTRYPOINT.to_string()]),
        cmd: Some(argv),
        labels: Some(labels(project, &namespace, "delayer", &claim)),
        host_config: Some(host_config(&namespace)),
        ..Default::default()
    };
    let id = create(docker, image, Some(name.to_string()), body).await?;
    docker
        .start_container(
            &id,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .map_err(docker_error)?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if delaying(&logs(docker, &id, true).await) {
            return Ok(());
        }
        let info = docker
            .inspect_container(
                &id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .map_err(docker_error)?;
        let running = info.state.and_then(|s| s.running).unwrap_or(false);
        if !running || tokio::time::Instant::now() > deadline {
            let why =
                last_line(&logs(docker, &id, false).await).unwrap_or_else(|| "no output".into());
            return Err(ClusterError::Failed(format!(
                "the delayer did not start: {why}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asks the kernel, from a helper in a namespace of its own, which
/// mechanisms it has.
pub async fn probe(
    docker: &Docker,
    image: &str,
    project: &str,
) -> Result<Mechanisms, ClusterError> {
    let output = run(docker, image, project, Namespace::Own, vec!["probe".into()]).await?;
    output.mechanisms().ok_or_else(|| {
        ClusterError::Failed(format!(
            "the network-fault helper's probe failed: {}",
            output.why()
        ))
    })
}

/// Helper containers of `project` (all roles), for a sweep to choose from.
pub async fn leftover_helpers(docker: &Docker, project: &str) -> Result<Vec<Found>, ClusterError> {
    let filters = HashMap::from([(
        "label".to_string(),
        vec![format!("{PROJECT_LABEL}={project}")],
    )]);
    let options = ListContainersOptions {
        all: true,
        filters: Some(filters),
        ..Default::default()
    };
    let containers = docker
        .list_containers(Some(options))
        .await
        .map_err(docker_error)?;
    Ok(containers
        .into_iter()
        .filter_map(|c| {
            let name = c.names?.into_iter().next()?;
            Some(Found {
                id: c.id?,
                name: name.trim_start_matches('/').to_string(),
                op: c.labels.and_then(|mut l| l.remove(OP_LABEL)),
            })
        })
        .collect())
}
