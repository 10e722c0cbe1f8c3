//! Faults on a task on another machine of the swarm. The presenter talks to
//! one manager's engine, which cannot signal a container elsewhere or run a
//! helper in its namespace. A short-lived helper service does it: the
//! netfault image, constrained to the task's machine (`node.id==…`), with
//! that machine's Docker socket and /proc mounted, runs `netfault engine`
//! (one container call) or `netfault on --container ID …` (a plan, or the
//! delayer, in the container's network namespace). Its output comes back
//! through the manager's service logs; the service is removed after.
//!
//! Chaos Toolkit's Swarm extension reaches other machines the same way.
//! Every helper service carries our labels, so a restore (or `host
//! recover`) finds a delayer left by a killed presenter.

use crate::cluster::docker::error::docker_error;
use crate::cluster::docker::helper::PROJECT_LABEL;
use crate::cluster::model::ClusterError;
use crate::cluster::netfault::output::{HelperOutput, delaying, last_line};
use crate::cluster::netfault::sweep::{Found, InUse, OP_LABEL};
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::models::{
    Mount, MountType, ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated,
    ServiceSpecModeReplicatedJob, TaskSpec, TaskSpecContainerSpec, TaskSpecPlacement,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum, TaskState,
};
use bollard::query_parameters::{ListServicesOptions, ListTasksOptions, LogsOptions};
use futures::StreamExt;
use netfault_proto::EngineReply;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const ENTRYPOINT: &str = "/usr/local/bin/netfault";
const ROLE_LABEL: &str = "demo.netfault.role";
const NODE_LABEL: &str = "demo.netfault.node";
/// Scheduling, pulling nothing (the image is on every machine), running
/// and reporting: a helper that takes longer is stuck.
const JOB_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(200);
/// How long the delayer gets to say it is delaying.
const DELAYER_READY: Duration = Duration::from_secs(15);

/// Where helper services of one scope run from.
pub struct Helpers<'a> {
    pub docker: &'a Docker,
    pub image: &'a str,
    /// The scope's key, every helper's label.
    pub key: &'a str,
}

fn spec(
    helpers: &Helpers<'_>,
    name: &str,
    node: &str,
    role: &str,
    claim: &InUse,
    argv: Vec<String>,
) -> ServiceSpec {
    let bind = |source: &str, target: &str, read_only: bool| Mount {
        source: Some(source.into()),
        target: Some(target.into()),
        typ: Some(MountType::BIND),
        read_only: Some(read_only),
        ..Default::default()
    };
    let mode = if role == "job" {
        ServiceSpecMode {
            replicated_job: Some(ServiceSpecModeReplicatedJob {
                max_concurrent: Some(1),
                total_completions: Some(1),
            }),
            ..Default::default()
        }
    } else {
        ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated { replicas: Some(1) }),
            ..Default::default()
        }
    };
    ServiceSpec {
        name: Some(name.into()),
        labels: Some(HashMap::from([
            (PROJECT_LABEL.to_string(), helpers.key.to_string()),
            (ROLE_LABEL.to_string(), role.to_string()),
            (NODE_LABEL.to_string(), node.to_string()),
            (OP_LABEL.to_string(), claim.token().to_string()),
        ])),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(helpers.image.into()),
                command: Some(vec![ENTRYPOINT.into()]),
                args: Some(argv),
                mounts: Some(vec![
                    bind("/var/run/docker.sock", "/var/run/docker.sock", false),
                    bind("/proc", "/host/proc", true),
                ]),
                // NET_ADMIN for tc and iptables; SYS_ADMIN to enter the
                // target's namespace; SYS_PTRACE to open it through the
                // target's process (whose capabilities the helper lacks).
                capability_add: Some(vec![
                    "CAP_NET_ADMIN".into(),
                    "CAP_SYS_ADMIN".into(),
                    "CAP_SYS_PTRACE".into(),
                ]),
                ..Default::default()
            }),
            placement: Some(TaskSpecPlacement {
                constraints: Some(vec![format!("node.id=={node}")]),
                ..Default::default()
            }),
            restart_policy: Some(TaskSpecRestartPolicy {
                condition: Some(TaskSpecRestartPolicyConditionEnum::NONE),
                ..Default::default()
            }),
            ..Default::default()
        }),
        mode: Some(mode),
        ..Default::default()
    }
}

/// A name no other helper of this process has.
fn job_name(key: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{key}-netfault-job-{}-{n}", std::process::id())
}

/// Runs netfault with `argv` on machine `node` and waits (bounded) for it.
pub async fn run(
    helpers: &Helpers<'_>,
    node: &str,
    argv: Vec<String>,
) -> Result<HelperOutput, ClusterError> {
    let name = job_name(helpers.key);
    // Held until the service is removed below, so no sweep takes it mid-run.
    let claim = InUse::begin();
    helpers
        .docker
        .create_service(spec(helpers, &name, node, "job", &claim, argv), None)
        .await
        .map_err(docker_error)?;
    let finished = tokio::time::timeout(JOB_TIMEOUT, finished(helpers.docker, &name)).await;
    let output = match finished {
        Ok(Ok(exit_code)) => {
            let (stdout, stderr) = logs(helpers.docker, &name).await;
            Ok(HelperOutput {
                exit_code,
                stdout,
                stderr,
            })
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ClusterError::Failed(format!(
            "the helper service on swarm node {node} did not finish within {}s",
            JOB_TIMEOUT.as_secs()
        ))),
    };
    remove(helpers.docker, &name).await;
    drop(claim);
    output
}

/// The exit code of the service's task once it ended; a task Swarm could
/// not run (no such image there, constraint unmet) is said so.
async fn finished(docker: &Docker, service: &str) -> Result<i64, ClusterError> {
    loop {
        let tasks = docker
            .list_tasks(Some(ListTasksOptions {
                filters: Some(HashMap::from([(
                    "service".to_string(),
                    vec![service.to_string()],
                )])),
            }))
            .await
            .map_err(docker_error)?;
        for task in tasks {
            let status = task.status.unwrap_or_default();
            match status.state {
                Some(TaskState::COMPLETE | TaskState::FAILED) => {
                    return Ok(status
                        .container_status
                        .and_then(|c| c.exit_code)
                        .unwrap_or(1));
                }
                Some(TaskState::REJECTED | TaskState::ORPHANED | TaskState::REMOVE) => {
                    return Err(ClusterError::Failed(format!(
                        "Swarm could not run the helper: {}",
                        status.err.or(status.message).unwrap_or_default()
                    )));
                }
                _ => {}
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// What the service printed, stdout and stderr apart.
async fn logs(docker: &Docker, service: &str) -> (String, String) {
    let mut frames = docker.service_logs(
        service,
        Some(LogsOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        }),
    );
    let (mut stdout, mut stderr) = (String::new(), String::new());
    while let Some(Ok(frame)) = frames.next().await {
        match frame {
            LogOutput::StdErr { message } => stderr.push_str(&String::from_utf8_lossy(&message)),
            other => stdout.push_str(&String::from_utf8_lossy(&other.into_bytes())),
        }
        // A plan is bounded, so is what it prints.
        if stdout.len() + stderr.len() > 256 * 1024 {
            break;
        }
    }
    (stdout, stderr)
}

/// Starts the long-lived helper `name` (the delayer) on machine `node` and
/// waits (bounded) until it says it is delaying.
pub async fn start(
    helpers: &Helpers<'_>,
    node: &str,
    name: &str,
    argv: Vec<String>,
) -> Result<(), ClusterError> {
    // The ledger entry names the delayer; this covers it while it starts.
    let claim = InUse::begin();
    helpers
        .docker
        .create_service(spec(helpers, name, node, "delayer", &claim, argv), None)
        .await
        .map_err(docker_error)?;
    let deadline = tokio::time::Instant::now() + DELAYER_READY;
    loop {
        let (stdout, stderr) = logs(helpers.docker, name).await;
        if delaying(&stdout) {
            return Ok(());
        }
        let ended = tokio::time::timeout(POLL, finished(helpers.docker, name))
            .await
            .is_ok();
        if ended || tokio::time::Instant::now() > deadline {
            remove(helpers.docker, name).await;
            let why = last_line(&stderr).unwrap_or_else(|| "no output".into());
            return Err(ClusterError::Failed(format!(
                "the delayer on swarm node {node} did not start: {why}"
            )));
        }
    }
}

/// Removes helper service `name`; one already gone is fine.
pub async fn remove(docker: &Docker, name: &str) {
    match docker.delete_service(name).await {
        Ok(()) => {}
        Err(e) => match docker_error(e) {
            ClusterError::NotFound(_) => {}
            other => tracing::warn!("cannot remove helper service {name}: {other}"),
        },
    }
}

/// The scope's helper services, for a sweep to choose from.
pub async fn list(docker: &Docker, key: &str) -> Result<Vec<Found>, ClusterError> {
    let services = docker
        .list_services(Some(ListServicesOptions {
            filters: Some(HashMap::from([(
                "label".to_string(),
                vec![format!("{PROJECT_LABEL}={key}")],
            )])),
            ..Default::default()
        }))
        .await
        .map_err(docker_error)?;
    Ok(services
        .into_iter()
        .filter_map(|s| {
            let spec = s.spec?;
            Some(Found {
                id: s.id?,
                name: spec.name?,
                op: spec.labels.and_then(|mut l| l.remove(OP_LABEL)),
            })
        })
        .collect())
}

/// What `netfault engine` said of one container call: the engine's status
/// and body.
pub fn engine_reply(output: &HelperOutput) -> Result<EngineReply, ClusterError> {
    match netfault_proto::engine_said(&output.stdout) {
        Some(Ok(reply)) => Ok(reply),
        Some(Err(failure)) => Err(ClusterError::Failed(failure.error)),
        None => Err(ClusterError::Failed(format!(
            "the helper said nothing: {}",
            output.why()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(stdout: &str) -> HelperOutput {
        HelperOutput {
            exit_code: 0,
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    #[test]
    fn the_engine_reply_is_read_from_the_last_json_line() {
        let reply = engine_reply(&said("noise\n{\"status\":204,\"body\":\"\"}\n")).unwrap();
        assert_eq!(reply.status, 204);
        assert_eq!(reply.body.get(), "\"\"");
        let reply = engine_reply(&said(
            "{\"status\":404,\"body\":{\"message\":\"No such container: x\"}}",
        ))
        .unwrap();
        assert_eq!(reply.status, 404);
        assert_eq!(reply.message(), "No such container: x");
        assert!(matches!(
            engine_reply(&said("{\"error\":\"cannot reach the engine\"}")),
            Err(ClusterError::Failed(m)) if m.contains("cannot reach")
        ));
        assert!(engine_reply(&said("")).is_err());
    }

    #[test]
    fn a_helper_service_is_pinned_to_its_machine_and_labelled_for_recover() {
        let docker = Docker::connect_with_defaults().unwrap();
        let helpers = Helpers {
            docker: &docker,
            image: "demo-netfault:0.1.0",
            key: "swarm-demo",
        };
        let claim = InUse::begin();
        let spec = spec(&helpers, "n", "node7", "job", &claim, vec!["show".into()]);
        let template = spec.task_template.unwrap();
        assert_eq!(
            template.placement.unwrap().constraints.unwrap(),
            ["node.id==node7"]
        );
        let labels = spec.labels.unwrap();
        assert_eq!(labels[PROJECT_LABEL], "swarm-demo");
        assert_eq!(labels[OP_LABEL], claim.token(), "a sweep leaves it alone");
        assert!(spec.mode.unwrap().replicated_job.is_some());
        let container = template.container_spec.unwrap();
        assert_eq!(container.args.unwrap(), ["show"]);
        assert_eq!(
            template.restart_policy.unwrap().condition,
            Some(TaskSpecRestartPolicyConditionEnum::NONE)
        );
    }
}
