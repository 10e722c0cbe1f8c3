//! A flow's action on a container: picked, recorded in the ledger before it
//! is made, made, and reported. Container actions are one backend call
//! each; network actions are in `network` and `netfault`.

use super::model::{
    Action, ClusterError, ClusterEvent, ContainerAction, NetworkAction, Node, NodeState, Performed,
    Target,
};
use super::{Cluster, select};

impl Cluster {
    /// Performs `action` on the container `target` names, among those
    /// `permitted` allows. A fault is in the ledger before Docker is asked.
    pub async fn act(
        &self,
        target: &Target,
        action: impl Into<Action>,
        permitted: &(dyn Fn(&Node) -> bool + Send + Sync),
    ) -> Result<Node, ClusterError> {
        let action = action.into();
        // Shared while the fault is made: undoing every fault waits for it.
        let _acting = self.acting.read().await;
        if self.halted.load(std::sync::atomic::Ordering::Acquire) {
            return Err(ClusterError::Failed(
                "the show's faults were stopped; none is made until the next chapter".into(),
            ));
        }
        let nodes = self.backend.list(None).await?;
        let (target, replaced) = self.current_target(&nodes, target).await;
        let brought_back = match (&replaced, &action, &target) {
            // The orchestrator already brought the node back (Swarm
            // rescheduled the task): starting it is done.
            (Some(_), Action::Container(ContainerAction::Start), Target::Id(now)) => {
                select::find_by_id(&nodes, now)
                    .ok()
                    .filter(|n| n.state == NodeState::Running && permitted(n))
                    .cloned()
            }
            _ => None,
        };
        let already_back = brought_back.is_some();
        let node = match brought_back {
            Some(node) => node,
            None => select::choose(&nodes, &target, &action, permitted)?,
        };
        match &action {
            Action::Container(_) if already_back => {}
            Action::Container(container_action) => {
                self.container_action(&node, container_action).await?
            }
            Action::Network(NetworkAction::Partition) => self.partition(&node).await?,
            Action::Network(NetworkAction::Heal) => self.heal(&node).await?,
            Action::Network(NetworkAction::Isolate { from }) => self.isolate(&node, from).await?,
            Action::Network(NetworkAction::Shape(spec)) => self.shape(&node, spec).await?,
            Action::Network(NetworkAction::Unshape) => self.unshape(&node).await?,
        }
        // The replaced node's faults went with it once its successor is
        // started.
        if let (Some(old), Action::Container(action)) = (&replaced, &action)
            && let Some(undo) = action.clears()
        {
            self.clear(old, &undo);
        }
        tracing::info!(
            "{} {} ({})",
            action.describe(),
            node.container,
            node.service
        );
        self.emit(ClusterEvent::Performed(Performed {
            action,
            service: node.service.clone(),
            container: node.container.clone(),
            id: node.id.clone(),
        }));
        Ok(node)
    }

    /// A fault undone by one Docker call, or an undo of one.
    async fn container_action(
        &self,
        node: &Node,
        action: &ContainerAction,
    ) -> Result<(), ClusterError> {
        let recorded = action
            .undo()
            .map(|undo| self.entry(node, action.describe(), undo));
        if let Some(entry) = &recorded {
            self.record(entry)?;
        }
        if let Err(error) = self.backend.perform(&node.id, action).await {
            if let Some(entry) = &recorded {
                self.forget(entry);
            }
            tracing::warn!(
                "{} on {} failed: {error}",
                action.describe(),
                node.container
            );
            return Err(error);
        }
        if let Some(undo) = action.clears() {
            self.clear(&node.id, &undo);
        }
        Ok(())
    }

    /// `target`, with an id the backend replaced since (a Swarm task Swarm
    /// rescheduled) named by its successor's id, and the replaced id.
    pub(super) async fn current_target(
        &self,
        nodes: &[Node],
        target: &Target,
    ) -> (Target, Option<String>) {
        if let Target::Id(id) = target
            && select::find_by_id(nodes, id).is_err()
            && let Some(now) = self.backend.successor(id).await
        {
            return (Target::Id(now), Some(id.clone()));
        }
        (target.clone(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ledger::Ledger;
    use crate::cluster::signal::KillSignal;
    use std::time::Duration;
    use tokio_util::sync::CancellationToken;

    /// Removes a test's state directory even when an assertion fails.
    struct StateDir(std::path::PathBuf);

    impl Drop for StateDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The process state (`ps` STAT, e.g. `Ssl`, `Tsl`) of every process in
    /// container `name`, as the engine's host sees them.
    fn process_states(name: &str) -> Vec<String> {
        let output = std::process::Command::new("docker")
            // Docker needs the pid column to map processes to the container.
            .args(["top", name, "-o", "pid,stat"])
            .output()
            .expect("running docker");
        assert!(
            output.status.success(),
            "docker top {name} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .skip(1)
            .filter_map(|line| line.split_whitespace().nth(1).map(str::to_string))
            .collect()
    }

    fn anything(_: &Node) -> bool {
        true
    }

    /// SIGSTOP through `kill` froze etcd past the presenter's quit: Docker
    /// still said running, so the ledger's `start` undid nothing. Now every
    /// stop-type spelling is refused on the flow's path (parse, then act)
    /// before the ledger or Docker hears of it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs a Docker engine"]
    async fn a_stop_signal_is_refused_and_the_container_keeps_running_with_docker() {
        crate::test_support::require_docker_engine(
            "a_stop_signal_is_refused_and_the_container_keeps_running_with_docker",
        )
        .await;
        let project = format!("cl-sigstop-{}", std::process::id());
        let etcd = crate::test_support::EtcdContainer::start(&project, "etcd");
        let state = StateDir(std::env::temp_dir().join(&project));
        let ledger = Ledger::open(&state.0, &project).unwrap();
        let cluster = Cluster::connect(project.clone(), ledger, |_| {}).await;
        cluster
            .wait_for(
                &etcd.name,
                NodeState::Running,
                Duration::from_secs(30),
                &CancellationToken::new(),
            )
            .await
            .unwrap();
        let target = Target::Service("etcd".into());
        let kill_as_a_flow_asks = |spelling: &'static str| {
            let cluster = &cluster;
            let target = &target;
            async move {
                match spelling.parse::<KillSignal>() {
                    Ok(signal) => {
                        cluster
                            .act(target, ContainerAction::Kill { signal }, &anything)
                            .await
                    }
                    Err(refused) => Err(refused.into()),
                }
            }
        };
        for spelling in [
            "SIGSTOP",
            "stop",
            "19",
            "SIGTSTP",
            "ttin",
            "SigTtou",
            " SIGSTOP",
            "SIGRTMIN+3",
        ] {
            let result = kill_as_a_flow_asks(spelling).await;
            assert!(
                matches!(&result, Err(ClusterError::Failed(m)) if m.contains("pause")),
                "{spelling:?}: {result:?}"
            );
        }
        // Docker applies a signal at once; a moment covers any lag in `ps`.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let states = process_states(&etcd.name);
        assert!(
            !states.is_empty() && states.iter().all(|stat| !stat.starts_with('T')),
            "no process of the container is stopped: {states:?}"
        );
        assert!(cluster.outstanding_faults().is_empty());
        let on_disk = Ledger::open(&state.0, &project).unwrap();
        assert!(
            on_disk.outstanding().is_empty(),
            "{:?}",
            on_disk.outstanding()
        );

        // The same path sends a signal that ends the process, under its
        // canonical name, and that fault is recorded and undone by a start.
        kill_as_a_flow_asks("9").await.unwrap();
        let recorded: Vec<String> = cluster
            .outstanding_faults()
            .iter()
            .map(|e| format!("{} → {}", e.action, e.undo.describe()))
            .collect();
        assert_eq!(recorded, ["kill SIGKILL → start"]);
        let restored = cluster.restore_all().await;
        assert!(
            restored.iter().all(|o| o.ok && o.detail == "started"),
            "{restored:?}"
        );
    }
}
