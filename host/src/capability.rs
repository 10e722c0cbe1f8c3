//! The one place that decides whether a flow may do something. Every cluster,
//! workload and probe call from a flow passes through [`Grants`] before any
//! Docker or network call is made.

use crate::model::{Capabilities, FaultAction};
use crate::probe_url::{ProbePrefix, ProbeUrl};

/// An action on a container, as the capability model names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Fault(FaultAction),
    /// `start`, `unpause`, `heal`, `undo-after`: undoing a fault, allowed on
    /// any service the flow holds some fault action on. (`list-nodes` and
    /// `wait-for` need no grant.)
    Undo,
}

/// One grant, its globs compiled.
#[derive(Debug, Clone)]
struct FaultGrantCheck {
    services: glob::Pattern,
    actions: Vec<FaultAction>,
    peers: Vec<glob::Pattern>,
}

/// What a flow may do: what it declared in `describe()`, narrowed to what the
/// presenter granted (`consent::obtain` builds it from the granted items).
#[derive(Debug, Clone, Default)]
pub struct Grants {
    faults: Vec<FaultGrantCheck>,
    reads_workload: bool,
    http_probes: Vec<ProbePrefix>,
}

impl Grants {
    pub fn from_declared(caps: &Capabilities) -> Self {
        Grants {
            faults: caps
                .faults
                .iter()
                .filter_map(|grant| {
                    // An invalid glob grants nothing rather than failing the flow.
                    let services = glob::Pattern::new(&grant.services).ok()?;
                    Some(FaultGrantCheck {
                        services,
                        actions: grant.actions.clone(),
                        peers: grant
                            .peers
                            .iter()
                            .filter_map(|p| glob::Pattern::new(p).ok())
                            .collect(),
                    })
                })
                .collect(),
            reads_workload: caps.reads_workload,
            http_probes: caps
                .http_probes
                .iter()
                .filter_map(|declared| match ProbePrefix::parse(declared) {
                    Ok(prefix) => Some(prefix),
                    Err(_) => {
                        // A malformed prefix grants nothing rather than
                        // failing the flow; the consent screen lists it as
                        // refused, with the same reason.
                        tracing::warn!(
                            "a probe prefix grants nothing: {}",
                            crate::probe_url::listed_prefix(declared)
                        );
                        None
                    }
                })
                .collect(),
        }
    }

    pub fn permits(&self, need: Need, service: &str) -> bool {
        self.faults.iter().any(|grant| {
            grant.services.matches(service)
                && match need {
                    Need::Undo => !grant.actions.is_empty(),
                    Need::Fault(action) => grant.actions.contains(&action),
                }
        })
    }

    /// Whether a network fault on `service` may name `peer` (as `isolate`'s
    /// peers or `shape`'s `towards`): some grant on `service` lists a peer
    /// glob matching it. The action itself is checked by [`Grants::permits`].
    pub fn permits_peer(&self, service: &str, peer: &str) -> bool {
        self.faults.iter().any(|grant| {
            grant.services.matches(service) && grant.peers.iter().any(|p| p.matches(peer))
        })
    }

    pub fn reads_workload(&self) -> bool {
        self.reads_workload
    }

    /// A probe URL must be under a declared prefix: the same scheme, host
    /// and port, and the prefix's path or below it on a segment boundary
    /// (both normalised, see [`crate::probe_url`]).
    pub fn permits_probe(&self, url: &ProbeUrl) -> bool {
        self.http_probes.iter().any(|prefix| prefix.permits(url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FaultGrant;

    fn declared(services: &str, actions: Vec<FaultAction>, probes: &[&str]) -> Grants {
        Grants::from_declared(&Capabilities {
            faults: vec![FaultGrant {
                services: services.into(),
                actions,
                peers: vec!["etcd*".into()],
            }],
            reads_workload: false,
            http_probes: probes.iter().map(|p| p.to_string()).collect(),
            memory_mib: 0,
        })
    }

    fn grants(services: &str, actions: Vec<FaultAction>) -> Grants {
        declared(services, actions, &["http://127.0.0.1:2379/"])
    }

    fn permits(grants: &Grants, raw: &str) -> bool {
        ProbeUrl::parse(raw).is_ok_and(|url| grants.permits_probe(&url))
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
    fn a_peer_must_match_a_peer_glob_of_a_grant_on_the_target() {
        let g = grants("etcd*", vec![FaultAction::Network]);
        assert!(g.permits_peer("etcd1", "etcd2"));
        assert!(!g.permits_peer("etcd1", "loadgen"));
        assert!(!g.permits_peer("pd0", "etcd2"), "no grant on pd0");
        let none = declared("etcd*", vec![FaultAction::Network], &[]);
        let mut caps = Capabilities::default();
        caps.faults.push(FaultGrant {
            services: "etcd*".into(),
            actions: vec![FaultAction::Shape],
            peers: vec![],
        });
        let no_peers = Grants::from_declared(&caps);
        assert!(!no_peers.permits_peer("etcd1", "etcd2"));
        assert!(none.permits_peer("etcd1", "etcd3"));
    }

    #[test]
    fn probes_must_be_under_a_declared_prefix() {
        let g = grants("x", vec![]);
        assert!(permits(&g, "http://127.0.0.1:2379/v3/kv/range"));
        assert!(permits(&g, "HTTP://127.1:2379/v3/kv/range"));
        assert!(!permits(&g, "http://127.0.0.1:23790/"));
        assert!(!permits(&g, "http://example.com/"));
        // What a string prefix let through.
        let g = declared("x", vec![], &["http://127.0.0.1:24901"]);
        assert!(permits(&g, "http://127.0.0.1:24901/x"));
        assert!(!permits(&g, "http://127.0.0.1:24901@127.0.0.1:24902/x"));
        assert!(!permits(&g, "http://127.0.0.1:249010/x"));
        let g = declared("x", vec![], &["http://127.0.0.1:2379/v3/kv"]);
        assert!(permits(&g, "http://127.0.0.1:2379/v3/kv/range"));
        assert!(!permits(&g, "http://127.0.0.1:2379/v3/kvx"));
        assert!(!permits(&g, "http://127.0.0.1:2379/v3/kv/../../x"));
        assert!(!permits(&g, "http://127.0.0.1:2379/v3/kv/..%2f..%2fx"));
    }

    #[test]
    fn a_malformed_prefix_grants_nothing_and_spares_the_others() {
        let g = declared(
            "x",
            vec![],
            &[
                "",
                "http://u:p@127.0.0.1:2380/",
                "http://127.0.0.1:2381/?q",
                "http://127.0.0.1:2382/a/..%2f",
                "ftp://127.0.0.1:2383/",
                "127.0.0.1:2384",
                "http://127.0.0.1:2379/v3/",
            ],
        );
        assert!(permits(&g, "http://127.0.0.1:2379/v3/kv"));
        for port in 2380..=2384 {
            assert!(!permits(&g, &format!("http://127.0.0.1:{port}/")), "{port}");
            assert!(
                !permits(&g, &format!("http://127.0.0.1:{port}/a/b")),
                "{port}"
            );
        }
        assert!(!permits(&g, "http://u:p@127.0.0.1:2380/"));
        let nothing = declared("x", vec![], &[""]);
        assert!(!permits(&nothing, "http://127.0.0.1/"));
    }
}
