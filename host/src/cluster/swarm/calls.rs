//! Where a call on a task's container runs, and the calls made through a
//! helper service on another machine (`remote`): a container fault, an
//! inspection, an unpause. The manager's engine cannot reach a container
//! elsewhere; `--swarm-helpers always` sends every call that way,
//! so that a one-machine swarm (CI) exercises it.

use super::{Swarm, remote};
use crate::cluster::backend::Backend;
use crate::cluster::backend::NetfaultHelpers;
use crate::cluster::ledger::Entry;
use crate::cluster::model::{ClusterError, ContainerAction, RestoreOutcome};
use crate::cluster::netfault::output::HelperOutput;
use crate::cluster::netfault::plan::Mechanisms;
use crate::cluster::netfault::sweep::Found;
use crate::cluster::options::HelperPlacement;
use async_trait::async_trait;
use bollard::models::ContainerInspectResponse;
use netfault_proto::{EngineCall, EngineReply};

/// Where a call on a container runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Route {
    /// Through this presenter's engine.
    Here,
    /// Through a helper service on this swarm node.
    Machine(String),
}

/// The route to a container on swarm node `machine` (`None`: unknown, left
/// to this engine to find or refuse) from this engine's node `local`.
fn route_for(machine: Option<String>, local: &str, always: bool) -> Route {
    match machine {
        Some(node) if always || node != local => Route::Machine(node),
        _ => Route::Here,
    }
}

/// The relayed call of a container fault made on another machine; a start
/// is the service's to make, never the machine's.
fn fault_call(id: &str, action: &ContainerAction) -> Result<EngineCall, ClusterError> {
    let container = id.to_string();
    Ok(match action {
        ContainerAction::Kill { signal } => EngineCall::Kill {
            container,
            signal: signal.name().to_string(),
        },
        ContainerAction::Stop { grace_seconds } => EngineCall::Stop {
            container,
            grace_seconds: *grace_seconds,
        },
        ContainerAction::Pause => EngineCall::Pause { container },
        ContainerAction::Unpause => EngineCall::Unpause { container },
        ContainerAction::Start | ContainerAction::Restart => {
            return Err(ClusterError::Failed(
                "a swarm task is started by its service, not on its machine".into(),
            ));
        }
    })
}

/// What an engine's refusal means in the cluster's terms.
fn engine_failure(reply: &EngineReply) -> ClusterError {
    match reply.status {
        404 => ClusterError::NotFound(reply.message()),
        _ => ClusterError::Failed(reply.message()),
    }
}

/// `argv` run in container `id`'s network namespace by a helper service.
pub(super) fn in_namespace(id: &str, argv: Vec<String>) -> Vec<String> {
    let mut wrapped = vec!["on".to_string(), "--container".to_string(), id.to_string()];
    wrapped.extend(argv);
    wrapped
}

impl Swarm {
    /// Where calls on container `id` run: here, or through a helper service
    /// on the machine its task is on (always, with `HelperPlacement::Always`).
    pub(super) async fn route(&self, id: &str) -> Result<Route, ClusterError> {
        let always = self.helpers == HelperPlacement::Always;
        let machine = self.machine_of(id).await?;
        Ok(route_for(machine, self.local_node().await?, always))
    }

    /// Whether container `id` runs on this engine's machine (its addresses
    /// are routed here, its logs are here).
    pub(super) async fn is_here(&self, id: &str) -> Result<bool, ClusterError> {
        let local = self.local_node().await?.to_string();
        Ok(self.machine_of(id).await?.is_none_or(|node| node == local))
    }

    /// The swarm node container `id`'s task runs on. An id the listing has
    /// not seen (a fresh `host recover`) is looked up once; `None`: not a
    /// task of the stack, left to the engine to refuse.
    async fn machine_of(&self, id: &str) -> Result<Option<String>, ClusterError> {
        if !self.lock_seen().tasks.contains_key(id) {
            self.list(None).await?;
        }
        Ok(self.lock_seen().machine_of(id))
    }

    pub(super) fn helpers<'a>(&'a self, docker: &'a bollard::Docker) -> remote::Helpers<'a> {
        remote::Helpers {
            docker,
            image: self.engine.netfault_image(),
            key: self.engine.helper_key(),
        }
    }

    /// One Engine API call on a container on machine `node`: its status
    /// and body.
    async fn call_on(&self, node: &str, call: EngineCall) -> Result<EngineReply, ClusterError> {
        let docker = self.engine.client().await?;
        let argv = call.argv();
        let output = remote::run(&self.helpers(&docker), node, argv).await?;
        remote::engine_reply(&output)
    }

    /// A container's inspection on machine `node`, read as the local
    /// engine's is; `None`: no such container.
    pub(super) async fn inspect_on(
        &self,
        node: &str,
        id: &str,
    ) -> Result<Option<ContainerInspectResponse>, ClusterError> {
        let container = id.to_string();
        let reply = self
            .call_on(node, EngineCall::Inspect { container })
            .await?;
        match reply.status {
            200 => reply.body_as().map(Some).map_err(|e| {
                ClusterError::Failed(format!(
                    "the engine on swarm node {node} described container {id} in a form this host cannot read: {e}"
                ))
            }),
            404 => Ok(None),
            _ => Err(engine_failure(&reply)),
        }
    }

    /// A container fault on machine `node`.
    pub(super) async fn perform_on(
        &self,
        node: &str,
        id: &str,
        action: &ContainerAction,
    ) -> Result<(), ClusterError> {
        let call = fault_call(id, action)?;
        let reply = self.call_on(node, call).await?;
        match reply.status {
            200..=299 | 304 => Ok(()),
            _ => Err(engine_failure(&reply)),
        }
    }

    /// Undoes an `Unpause` entry on machine `node`.
    pub(super) async fn unpause_on(&self, node: &str, entry: &Entry) -> RestoreOutcome {
        let outcome = |ok: bool, detail: String| RestoreOutcome::of(entry, ok, detail);
        match self.inspect_on(node, &entry.container_id).await {
            Ok(None) => outcome(true, "container is gone".into()),
            Ok(Some(info)) if info.state.as_ref().and_then(|s| s.paused) != Some(true) => {
                outcome(true, "not paused".into())
            }
            Ok(Some(_)) => {
                match self
                    .perform_on(node, &entry.container_id, &ContainerAction::Unpause)
                    .await
                {
                    Ok(()) => outcome(true, "unpaused".into()),
                    Err(e) => outcome(false, e.to_string()),
                }
            }
            Err(e) => outcome(false, e.to_string()),
        }
    }
}

/// The helper as a container here (the engine's own implementation), or
/// as a service on the machine a task runs on.
#[async_trait]
impl NetfaultHelpers for Swarm {
    async fn probe_netfault(&self) -> Result<Mechanisms, ClusterError> {
        self.engine.probe_netfault().await
    }

    async fn run_netfault(
        &self,
        id: &str,
        argv: Vec<String>,
    ) -> Result<HelperOutput, ClusterError> {
        match self.route(id).await? {
            Route::Here => self.engine.run_netfault(id, argv).await,
            Route::Machine(node) => {
                let docker = self.engine.client().await?;
                remote::run(&self.helpers(&docker), &node, in_namespace(id, argv)).await
            }
        }
    }

    async fn start_delayer(
        &self,
        id: &str,
        name: &str,
        argv: Vec<String>,
    ) -> Result<(), ClusterError> {
        match self.route(id).await? {
            Route::Here => self.engine.start_delayer(id, name, argv).await,
            Route::Machine(node) => {
                let docker = self.engine.client().await?;
                let argv = in_namespace(id, argv);
                remote::start(&self.helpers(&docker), &node, name, argv).await
            }
        }
    }

    /// A helper is a container here or a service elsewhere; either goes.
    async fn remove_helper(&self, name: &str) {
        if let Ok(docker) = self.engine.client().await {
            remote::remove(&docker, name).await;
        }
        self.engine.remove_helper(name).await
    }

    async fn helpers(&self) -> Result<Vec<Found>, ClusterError> {
        let mut helpers = self.engine.helpers().await?;
        let docker = self.engine.client().await?;
        helpers.extend(remote::list(&docker, self.engine.helper_key()).await?);
        Ok(helpers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::signal::KillSignal;

    #[test]
    fn a_container_elsewhere_goes_through_its_machine() {
        let here = "node-a";
        assert_eq!(route_for(Some("node-a".into()), here, false), Route::Here);
        assert_eq!(
            route_for(Some("node-b".into()), here, false),
            Route::Machine("node-b".into())
        );
        // Unknown: this engine finds it, or refuses.
        assert_eq!(route_for(None, here, false), Route::Here);
        assert_eq!(route_for(None, here, true), Route::Here);
        // `always`: even this machine's tasks go through a helper.
        assert_eq!(
            route_for(Some("node-a".into()), here, true),
            Route::Machine("node-a".into())
        );
    }

    #[test]
    fn faults_elsewhere_are_relayed_engine_calls_and_a_start_is_refused() {
        let kill = ContainerAction::Kill {
            signal: KillSignal::Term,
        };
        let request = |action: &ContainerAction| fault_call("c1", action).unwrap().request();
        assert_eq!(
            request(&kill),
            ("POST", "/containers/c1/kill?signal=SIGTERM".into())
        );
        assert_eq!(
            request(&ContainerAction::Stop { grace_seconds: 3 }),
            ("POST", "/containers/c1/stop?t=3".into())
        );
        assert_eq!(
            request(&ContainerAction::Pause),
            ("POST", "/containers/c1/pause".into())
        );
        assert_eq!(
            request(&ContainerAction::Unpause),
            ("POST", "/containers/c1/unpause".into())
        );
        // What the host sends is what the helper reads back.
        for signal in KillSignal::ALL {
            let call = fault_call("c1", &ContainerAction::Kill { signal }).unwrap();
            assert_eq!(EngineCall::from_args(&call.argv()[1..]), Ok(call));
        }
        for start in [ContainerAction::Start, ContainerAction::Restart] {
            assert!(matches!(
                fault_call("c1", &start),
                Err(ClusterError::Failed(m)) if m.contains("service")
            ));
        }
    }

    #[test]
    fn an_engine_refusal_keeps_its_message_and_a_404_is_not_found() {
        let body = r#"{"message":"No such container: c1"}"#;
        assert!(matches!(
            engine_failure(&EngineReply::new(404, body.into())),
            ClusterError::NotFound(m) if m == "No such container: c1"
        ));
        assert!(matches!(
            engine_failure(&EngineReply::new(409, body.into())),
            ClusterError::Failed(m) if m == "No such container: c1"
        ));
        assert!(matches!(
            engine_failure(&EngineReply::new(500, "odd".into())),
            ClusterError::Failed(m) if m == "\"odd\""
        ));
    }

    #[test]
    fn a_remote_inspection_reads_as_the_local_one() {
        let body = r#"{
            "Id": "c1",
            "State": { "Running": true, "Paused": false, "StartedAt": "2026-12-07T10:00:00Z" },
            "NetworkSettings": { "Networks": {
                "demo_default": { "IPAddress": "10.0.1.5" },
                "ingress": { "IPAddress": "" }
            } }
        }"#;
        let reply = EngineReply::new(200, body.into());
        let info: ContainerInspectResponse = reply.body_as().unwrap();
        let live = crate::cluster::docker::liveness_of(info.clone());
        assert!(live.running);
        assert_eq!(live.started_at, "2026-12-07T10:00:00Z");
        let addresses = crate::cluster::docker::addresses_of(info);
        assert_eq!(addresses.len(), 1);
        assert_eq!(addresses["demo_default"].to_string(), "10.0.1.5");
    }

    #[test]
    fn a_plan_elsewhere_runs_in_the_containers_namespace() {
        assert_eq!(
            in_namespace("c1", vec!["run".into(), "--plan".into()]),
            ["on", "--container", "c1", "run", "--plan"]
        );
    }
}
