//! Which task stands for each node of a stack, and what the flow calls it.
//! Pure, so the rules are tested without a swarm.
//!
//! A node is one slot of a service (a replica; in global mode, one machine).
//! Swarm keeps the slot's earlier tasks for a while: a killed task stays as
//! `failed` while its replacement waits out the restart delay. The node
//! shows the running task if there is one, else the latest task that ended
//! (the audience sees the killed node red until its replacement runs), else
//! the latest task.

use crate::cluster::model::{Health, Node, NodeState};
use std::collections::HashMap;
use std::time::SystemTime;

/// What the backend needs of one Swarm task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInfo {
    pub id: String,
    /// The swarm service's full name (`STACK_etcd1`).
    pub service: String,
    /// The replica's slot; global services have none (one per machine).
    pub slot: Option<i64>,
    pub node_id: String,
    /// Empty until the task has a container.
    pub container_id: String,
    pub state: TaskPhase,
    pub created: SystemTime,
}

/// Swarm's task states, as far as a presenter tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskPhase {
    /// new … starting: on its way up.
    Starting,
    Running,
    /// complete, shutdown, failed, rejected, orphaned, remove.
    Ended,
}

/// One node, and the task it was chosen from.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub node: Node,
    pub task: TaskInfo,
}

/// The slot a task fills: its service and replica (or machine).
pub fn slot_key(task: &TaskInfo) -> String {
    match task.slot {
        Some(slot) => format!("{}.{slot}", task.service),
        None => format!("{}.{}", task.service, task.node_id),
    }
}

/// The name a flow uses for a stack's service: `STACK_etcd1` → `etcd1`.
/// `None`: not a service of that stack.
pub fn flow_service_name<'a>(stack: &str, service: &'a str) -> Option<&'a str> {
    service
        .strip_prefix(stack)?
        .strip_prefix('_')
        .filter(|rest| !rest.is_empty())
}

/// One node per slot, sorted by service and name. `local` says what this
/// engine knows of a task's container (paused, health), where it runs here.
pub fn nodes(
    stack: &str,
    tasks: &[TaskInfo],
    local: &dyn Fn(&str) -> Option<(NodeState, Health)>,
) -> Vec<Shown> {
    let mut by_slot: HashMap<String, Vec<&TaskInfo>> = HashMap::new();
    for task in tasks {
        by_slot.entry(slot_key(task)).or_default().push(task);
    }
    let mut shown: Vec<Shown> = by_slot
        .into_values()
        .filter_map(|slot| {
            let task = representative(&slot)?;
            let service = flow_service_name(stack, &task.service)?.to_string();
            let (mut state, mut health) = match task.state {
                TaskPhase::Running => (NodeState::Running, Health::None),
                TaskPhase::Starting => (NodeState::Created, Health::None),
                TaskPhase::Ended => (NodeState::Exited, Health::None),
            };
            // The engine knows more of its own containers: paused (Swarm
            // still says running) and health.
            if !task.container_id.is_empty()
                && let Some((local_state, local_health)) = local(&task.container_id)
            {
                if task.state == TaskPhase::Running {
                    state = local_state;
                }
                health = local_health;
            }
            let id = if task.container_id.is_empty() {
                task.id.clone()
            } else {
                task.container_id.clone()
            };
            Some(Shown {
                node: Node {
                    service,
                    container: format!("{}.{}", slot_key(task), task.id),
                    id,
                    state,
                    health,
                },
                task: task.clone(),
            })
        })
        .collect();
    shown.sort_by(|a, b| {
        (&a.node.service, &a.node.container).cmp(&(&b.node.service, &b.node.container))
    });
    shown
}

/// The task that stands for a slot (see the module's comment).
fn representative<'a>(slot: &[&'a TaskInfo]) -> Option<&'a TaskInfo> {
    let latest = |phase: TaskPhase| {
        slot.iter()
            .filter(|t| t.state == phase)
            .max_by_key(|t| t.created)
            .copied()
    };
    latest(TaskPhase::Running)
        .or_else(|| {
            // An ended task without a container never ran (rejected).
            slot.iter()
                .filter(|t| t.state == TaskPhase::Ended && !t.container_id.is_empty())
                .max_by_key(|t| t.created)
                .copied()
        })
        .or_else(|| slot.iter().max_by_key(|t| t.created).copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn task(id: &str, service: &str, slot: i64, state: TaskPhase, age_s: u64) -> TaskInfo {
        TaskInfo {
            id: id.into(),
            service: service.into(),
            slot: Some(slot),
            node_id: "n1".into(),
            container_id: format!("c-{id}"),
            state,
            created: SystemTime::UNIX_EPOCH + Duration::from_secs(1000 - age_s),
        }
    }

    fn none(_: &str) -> Option<(NodeState, Health)> {
        None
    }

    #[test]
    fn the_stack_prefix_is_removed_and_other_stacks_are_not_ours() {
        assert_eq!(flow_service_name("demo", "demo_etcd1"), Some("etcd1"));
        assert_eq!(flow_service_name("demo", "demo_etcd_1"), Some("etcd_1"));
        assert_eq!(flow_service_name("demo", "demo2_etcd1"), None);
        assert_eq!(flow_service_name("demo", "demo_"), None);
        assert_eq!(flow_service_name("demo", "etcd1"), None);
    }

    #[test]
    fn a_killed_task_shows_red_until_its_replacement_runs() {
        let killed = task("a", "s_etcd1", 1, TaskPhase::Ended, 10);
        let mut waiting = task("b", "s_etcd1", 1, TaskPhase::Starting, 5);
        let shown = nodes("s", &[killed.clone(), waiting.clone()], &none);
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].node.id, "c-a");
        assert_eq!(shown[0].node.state, NodeState::Exited);
        assert_eq!(shown[0].node.service, "etcd1");
        assert_eq!(shown[0].node.container, "s_etcd1.1.a");

        waiting.state = TaskPhase::Running;
        let shown = nodes("s", &[killed, waiting], &none);
        assert_eq!(shown[0].node.id, "c-b");
        assert_eq!(shown[0].node.state, NodeState::Running);
    }

    #[test]
    fn slots_are_nodes_of_their_own_and_sorted() {
        let tasks = [
            task("c", "s_b", 1, TaskPhase::Running, 1),
            task("a", "s_a", 2, TaskPhase::Running, 1),
            task("b", "s_a", 1, TaskPhase::Running, 1),
        ];
        let names: Vec<String> = nodes("s", &tasks, &none)
            .into_iter()
            .map(|s| s.node.container)
            .collect();
        assert_eq!(names, ["s_a.1.b", "s_a.2.a", "s_b.1.c"]);
    }

    #[test]
    fn the_engine_tells_a_paused_container_and_its_health() {
        let tasks = [task("a", "s_etcd1", 1, TaskPhase::Running, 1)];
        let local = |id: &str| (id == "c-a").then_some((NodeState::Paused, Health::Healthy));
        let shown = nodes("s", &tasks, &local);
        assert_eq!(shown[0].node.state, NodeState::Paused);
        assert_eq!(shown[0].node.health, Health::Healthy);
    }

    #[test]
    fn a_container_that_just_died_is_down_before_swarm_says_so() {
        let tasks = [task("a", "s_etcd1", 1, TaskPhase::Running, 1)];
        let local = |_: &str| Some((NodeState::Exited, Health::None));
        assert_eq!(nodes("s", &tasks, &local)[0].node.state, NodeState::Exited);
    }

    #[test]
    fn a_task_without_a_container_yet_goes_by_its_task_id() {
        let mut pending = task("p", "s_etcd1", 1, TaskPhase::Starting, 1);
        pending.container_id.clear();
        let shown = nodes("s", &[pending], &none);
        assert_eq!(shown[0].node.id, "p");
        assert_eq!(shown[0].node.state, NodeState::Created);
    }
}
