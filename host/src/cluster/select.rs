//! Which container a target names, among those a flow was granted. Pure, so
//! the selection rules are tested without Docker.

use super::model::{Action, ClusterError, Node, Target, state_name};
use rand::seq::IndexedRandom;

/// Picks the container `target` names among those `permitted` allows and
/// `action` applies to in their state; a pattern picks one of them at random.
/// Each way of failing says what the flow asked for.
pub fn choose(
    nodes: &[Node],
    target: &Target,
    action: &Action,
    permitted: &(dyn Fn(&Node) -> bool + Send + Sync),
) -> Result<Node, ClusterError> {
    let matched = matching(nodes, target)?;
    let what = describe_target(target);
    if matched.is_empty() {
        return Err(ClusterError::NotFound(format!(
            "no container of the project matches {what}"
        )));
    }
    let allowed: Vec<&Node> = matched.into_iter().filter(|n| permitted(n)).collect();
    if allowed.is_empty() {
        return Err(ClusterError::NotPermitted(format!(
            "{} on {what} was not granted to this flow",
            action.describe()
        )));
    }
    let applicable: Vec<&Node> = allowed
        .iter()
        .copied()
        .filter(|n| action.applies_to(n.state))
        .collect();
    let chosen = match target {
        Target::Pattern(_) => applicable.choose(&mut rand::rng()).copied(),
        _ => applicable.first().copied(),
    };
    chosen.cloned().ok_or_else(|| {
        let states: Vec<String> = allowed
            .iter()
            .map(|n| format!("{} is {}", n.container, state_name(n.state)))
            .collect();
        ClusterError::Failed(format!(
            "cannot {} {what}: {}",
            action.describe(),
            states.join(", ")
        ))
    })
}

/// Every container `target` names, whatever its state.
pub fn matching<'a>(nodes: &'a [Node], target: &Target) -> Result<Vec<&'a Node>, ClusterError> {
    Ok(match target {
        Target::Service(name) => nodes.iter().filter(|n| &n.service == name).collect(),
        Target::Pattern(glob) => {
            let pattern = glob::Pattern::new(glob).map_err(|e| {
                ClusterError::NotFound(format!("'{glob}' is not a valid pattern: {e}"))
            })?;
            nodes
                .iter()
                .filter(|n| pattern.matches(&n.service))
                .collect()
        }
        Target::Id(id) => vec![find_by_id(nodes, id)?],
    })
}

pub(super) fn describe_target(target: &Target) -> String {
    match target {
        Target::Service(name) => format!("service '{name}'"),
        Target::Pattern(glob) => format!("services matching '{glob}'"),
        Target::Id(id) => format!("container '{id}'"),
    }
}

pub fn find_by_id<'a>(nodes: &'a [Node], id: &str) -> Result<&'a Node, ClusterError> {
    if let Some(node) = nodes.iter().find(|n| n.id == id || n.container == id) {
        return Ok(node);
    }
    let by_prefix: Vec<&Node> = if id.len() >= 6 {
        nodes.iter().filter(|n| n.id.starts_with(id)).collect()
    } else {
        Vec::new()
    };
    match by_prefix.as_slice() {
        [one] => Ok(one),
        [] => Err(ClusterError::NotFound(format!(
            "no container of the project has id or name '{id}'"
        ))),
        _ => Err(ClusterError::NotFound(format!(
            "'{id}' is the prefix of several containers; give more of the id"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::model::{ContainerAction, NodeState};
    use crate::cluster::signal::KillSignal;

    fn node(service: &str, container: &str, id: &str, state: NodeState) -> Node {
        Node::fixture(service, container, id, state)
    }

    /// A project named `tikv`: container names all start with "tikv".
    fn tikv_project() -> Vec<Node> {
        vec![
            node("grafana", "tikv-grafana-1", "aaaaaa01", NodeState::Running),
            node("pd0", "tikv-pd0-1", "aaaaaa02", NodeState::Running),
            node("tikv0", "tikv-tikv0-1", "bbbbbb01", NodeState::Running),
            node("tikv1", "tikv-tikv1-1", "bbbbbb02", NodeState::Exited),
            node("tikv2", "tikv-tikv2-1", "bbbbbb03", NodeState::Running),
        ]
    }

    fn kill() -> Action {
        ContainerAction::Kill {
            signal: KillSignal::Kill,
        }
        .into()
    }

    fn anything(_: &Node) -> bool {
        true
    }

    #[test]
    fn pattern_matches_service_names_never_container_names() {
        let nodes = tikv_project();
        for _ in 0..200 {
            let chosen =
                choose(&nodes, &Target::Pattern("tikv*".into()), &kill(), &anything).unwrap();
            assert!(
                chosen.service == "tikv0" || chosen.service == "tikv2",
                "picked {} ({})",
                chosen.service,
                chosen.container
            );
        }
    }

    #[test]
    fn pattern_picks_among_running_containers_at_random() {
        let nodes = tikv_project();
        let picks: std::collections::HashSet<String> = (0..200)
            .map(|_| {
                choose(&nodes, &Target::Pattern("tikv*".into()), &kill(), &anything)
                    .unwrap()
                    .service
            })
            .collect();
        assert_eq!(
            picks.len(),
            2,
            "both running stores should be picked sometimes"
        );
    }

    #[test]
    fn a_target_outside_the_grant_is_not_permitted() {
        let nodes = tikv_project();
        let only_tikv = |n: &Node| n.service.starts_with("tikv");
        let err = choose(&nodes, &Target::Service("pd0".into()), &kill(), &only_tikv).unwrap_err();
        assert!(matches!(err, ClusterError::NotPermitted(_)), "{err:?}");
    }

    #[test]
    fn killing_a_stopped_service_says_why() {
        let nodes = tikv_project();
        let err = choose(&nodes, &Target::Service("tikv1".into()), &kill(), &anything).unwrap_err();
        assert_eq!(
            err,
            ClusterError::Failed(
                "cannot kill SIGKILL service 'tikv1': tikv-tikv1-1 is exited".into()
            )
        );
        let started = choose(
            &nodes,
            &Target::Service("tikv1".into()),
            &ContainerAction::Start.into(),
            &anything,
        );
        assert_eq!(started.unwrap().id, "bbbbbb02");
    }

    #[test]
    fn ids_match_by_full_id_name_or_unique_prefix() {
        let nodes = tikv_project();
        assert_eq!(find_by_id(&nodes, "bbbbbb03").unwrap().service, "tikv2");
        assert_eq!(find_by_id(&nodes, "tikv-pd0-1").unwrap().service, "pd0");
        assert!(
            matches!(find_by_id(&nodes, "bbbbbb"), Err(ClusterError::NotFound(m)) if m.contains("several"))
        );
        assert!(
            find_by_id(&nodes, "bb").is_err(),
            "short prefixes are refused"
        );
        assert!(matches!(
            choose(&nodes, &Target::Service("nope".into()), &kill(), &anything),
            Err(ClusterError::NotFound(_))
        ));
    }
}
