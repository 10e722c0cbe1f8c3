//! The one place that decides whether a flow may do something. Every cluster,
//! workload and probe call from a flow passes through [`Grants`] before any
//! Docker or network call is made.

use crate::runtime::{Capabilities, FaultAction};

/// An action on a container, as the capability model names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Fault(FaultAction),
    /// `start`, `unpause`, `wait-for`: allowed on any service the flow may fault.
    Undo,
}

/// What a flow may do: what it declared in `describe()`. (Presenter consent on
/// top of the declaration narrows this further; see issue tracker.)
#[derive(Debug, Clone, Default)]
pub struct Grants {
    faults: Vec<(glob::Pattern, Vec<FaultAction>)>,
    reads_workload: bool,
    http_probes: Vec<String>,
}

impl Grants {
    pub fn from_declared(caps: &Capabilities) -> Self {
        Grants {
            faults: caps
                .faults
                .iter()
                .filter_map(|grant| {
                    // An invalid glob grants nothing rather than failing the flow.
                    let pattern = glob::Pattern::new(&grant.services).ok()?;
                    Some((pattern, grant.actions.clone()))
                })
                .collect(),
            reads_workload: caps.reads_workload,
            http_probes: caps.http_probes.clone(),
        }
    }

    pub fn permits(&self, need: Need, service: &str) -> bool {
        self.faults.iter().any(|(pattern, actions)| {
            pattern.matches(service)
                && match need {
                    Need::Undo => !actions.is_empty(),
                    Need::Fault(action) => actions.contains(&action),
                }
        })
    }

    pub fn reads_workload(&self) -> bool {
        self.reads_workload
    }

    /// A probe URL must start with a declared prefix.
    pub fn permits_probe(&self, url: &str) -> bool {
        self.http_probes
            .iter()
            .any(|prefix| !prefix.is_empty() && url.starts_with(prefix.as_str()))
    }
}

pub fn action_name(action: FaultAction) -> &'static str {
    match action {
        FaultAction::Kill => "kill",
        FaultAction::Stop => "stop",
        FaultAction::Restart => "restart",
        FaultAction::Pause => "pause",
        FaultAction::Network => "network",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::FaultGrant;

    fn grants(services: &str, actions: Vec<FaultAction>) -> Grants {
        Grants::from_declared(&Capabilities {
            faults: vec![FaultGrant {
                services: services.into(),
                actions,
            }],
            reads_workload: false,
            http_probes: vec!["http://127.0.0.1:2379/".into()],
        })
    }

    #[test]
    fn kill_grant_on_tikv_glob_never_covers_pd_or_grafana() {
        let g = grants("tikv*", vec![FaultAction::Kill]);
        assert!(g.permits(Need::Fault(FaultAction::Kill), "tikv0"));
        assert!(!g.permits(Need::Fault(FaultAction::Kill), "pd0"));
        assert!(!g.permits(Need::Fault(FaultAction::Kill), "grafana"));
        assert!(!g.permits(Need::Fault(FaultAction::Pause), "tikv0"));
        assert!(g.permits(Need::Undo, "tikv1"));
        assert!(!g.permits(Need::Undo, "pd0"));
    }

    #[test]
    fn probes_must_start_with_a_declared_prefix() {
        let g = grants("x", vec![]);
        assert!(g.permits_probe("http://127.0.0.1:2379/v3/kv/range"));
        assert!(!g.permits_probe("http://127.0.0.1:23790/"));
        assert!(!g.permits_probe("http://example.com/"));
    }
}
