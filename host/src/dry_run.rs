//! `host --flow F --dry-run`: what the show would touch, changing nothing.
//!
//! Every service each declared grant names (and each peer a network fault
//! may name), every probe prefix (a service URL mapped to its published
//! port), the workload source and every hypothesis are resolved against
//! the real cluster, read only: no consent is asked or recorded, no fault
//! is made, no workload is started. Each line says what was found, or
//! what is wrong and what to do; a problem makes the exit status 1.

use crate::cluster::{Cluster, Node, NodeState};
use crate::hypotheses::{Check, Hypothesis};
use crate::model::FlowInfo;
use crate::probe_url::{ProbePrefix, ProbeUrl};
use crate::workload::SourceSpec;

/// One line of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub problem: bool,
    pub text: String,
}

fn ok(text: String) -> Line {
    Line {
        problem: false,
        text,
    }
}

fn problem(text: String) -> Line {
    Line {
        problem: true,
        text,
    }
}

/// The services among `nodes` whose name matches `glob`, sorted, once each.
fn services_matching(nodes: &[Node], glob: &str) -> Result<Vec<String>, String> {
    let pattern =
        glob::Pattern::new(glob).map_err(|e| format!("'{glob}' is not a valid pattern: {e}"))?;
    let mut services: Vec<String> = nodes
        .iter()
        .filter(|n| pattern.matches(&n.service))
        .map(|n| n.service.clone())
        .collect();
    services.sort();
    services.dedup();
    Ok(services)
}

/// The plan for `info` against the nodes of `scope_name` (`nodes`, as the
/// engine lists them now), the workload `source` the show would read and
/// every hypothesis it would judge. Probe prefixes naming a service are
/// resolved with `published` (the address the service's port is published
/// at).
pub async fn plan<F, Fut>(
    info: &FlowInfo,
    scope_name: &str,
    nodes: &[Node],
    source: Option<(&SourceSpec, &str)>,
    hypotheses: &[Hypothesis],
    published: F,
) -> Vec<Line>
where
    F: Fn(ProbeUrl) -> Fut,
    Fut: std::future::Future<Output = Result<ProbeUrl, String>>,
{
    let mut lines = Vec::new();
    let running = nodes
        .iter()
        .filter(|n| n.state == NodeState::Running)
        .count();
    if nodes.is_empty() {
        lines.push(problem(format!(
            "{scope_name} has no containers on this engine: start it, or name another with --project / --stack"
        )));
    } else {
        lines.push(ok(format!(
            "{scope_name}: {} containers, {running} running",
            nodes.len()
        )));
    }

    for grant in &info.capabilities.faults {
        let actions: Vec<String> = grant.actions.iter().map(|a| a.to_string()).collect();
        match services_matching(nodes, &grant.services) {
            Err(why) => lines.push(problem(why)),
            Ok(found) if found.is_empty() => lines.push(problem(format!(
                "fault {} on '{}' matches no service of {scope_name}",
                actions.join(", "),
                grant.services
            ))),
            Ok(found) => lines.push(ok(format!(
                "fault {} on '{}': {}",
                actions.join(", "),
                grant.services,
                found.join(", ")
            ))),
        }
        for peer in &grant.peers {
            match services_matching(nodes, peer) {
                Err(why) => lines.push(problem(why)),
                Ok(found) if found.is_empty() => lines.push(problem(format!(
                    "network faults of '{}' may name '{peer}', which matches no service",
                    grant.services
                ))),
                Ok(found) => lines.push(ok(format!(
                    "network faults of '{}' may name '{peer}': {}",
                    grant.services,
                    found.join(", ")
                ))),
            }
        }
    }

    for declared in &info.capabilities.http_probes {
        let shown = crate::probe_url::listed_prefix(declared);
        let Ok(prefix) = ProbePrefix::parse(declared) else {
            lines.push(problem(format!(
                "probe {shown} is not a URL prefix the host accepts"
            )));
            continue;
        };
        let Ok(url) = ProbeUrl::parse(&prefix.to_string()) else {
            lines.push(problem(format!("probe {shown} cannot be resolved")));
            continue;
        };
        match published(url).await {
            Ok(resolved) if resolved.as_str() == prefix.to_string() => {
                lines.push(ok(format!("probe {prefix}")))
            }
            Ok(resolved) => lines.push(ok(format!("probe {prefix} → {resolved}"))),
            Err(why) => lines.push(problem(format!("probe {prefix}: {why}"))),
        }
    }

    let has_workload = match source {
        None => {
            let needs = info.capabilities.reads_workload
                || hypotheses
                    .iter()
                    .any(|h| !matches!(h.check, Check::AllRunning));
            if needs {
                lines.push(problem(
                    "no workload source: pass --workload (cmd:…, service:…, prom:…, file:…)"
                        .to_string(),
                ));
            } else {
                lines.push(ok("no workload source (none needed)".to_string()));
            }
            false
        }
        Some((SourceSpec::Service(service), from)) => {
            if nodes.iter().any(|n| &n.service == service) {
                lines.push(ok(format!(
                    "workload: the logs of service {service} ({from})"
                )));
            } else {
                lines.push(problem(format!(
                    "workload: service {service} ({from}) is not a service of {scope_name}"
                )));
            }
            true
        }
        Some((spec, from)) => {
            lines.push(ok(format!("workload: {} ({from})", describe_source(spec))));
            true
        }
    };

    for h in hypotheses {
        let origin = match h.origin {
            crate::hypotheses::Origin::Presenter => "yours",
            crate::hypotheses::Origin::Flow => "the flow's",
        };
        let abort = if h.abort { ", an abort condition" } else { "" };
        let line = match &h.check {
            Check::AllRunning if nodes.is_empty() => problem(format!(
                "hypothesis {} ({origin}{abort}): there are no nodes to judge",
                h.name
            )),
            Check::AllRunning => ok(format!(
                "hypothesis {} ({origin}{abort}): judged from the node list",
                h.name
            )),
            _ if !has_workload => problem(format!(
                "hypothesis {} ({origin}{abort}) cannot be evaluated without a workload source",
                h.name
            )),
            Check::NoLostWrites | Check::NoStaleReads => ok(format!(
                "hypothesis {} ({origin}{abort}): judged from the workload's [VERDICT] lines (loadgen prints them; a tool that does not leaves it not evaluated)",
                h.name
            )),
            _ => ok(format!(
                "hypothesis {} ({origin}{abort}): judged from the workload's samples",
                h.name
            )),
        };
        lines.push(line);
    }
    lines
}

fn describe_source(spec: &SourceSpec) -> String {
    match spec {
        SourceSpec::Command(command) => format!(
            "the command `{}`",
            crate::sanitize::flow_line(command.clone(), 200)
        ),
        SourceSpec::Service(service) => format!("the logs of service {service}"),
        SourceSpec::Prom(_) => "a Prometheus query".to_string(),
        SourceSpec::File { path, .. } => format!("a replay of {}", path.display()),
    }
}

/// The plan against `cluster` (its backend's listing and published ports).
pub async fn plan_on(
    info: &FlowInfo,
    cluster: &Cluster,
    source: Option<(&SourceSpec, &str)>,
    hypotheses: &[Hypothesis],
) -> Result<Vec<Line>, String> {
    let nodes = cluster.refresh().await.map_err(|e| e.to_string())?;
    let name = cluster.scope().describe();
    Ok(plan(info, &name, &nodes, source, hypotheses, |url| {
        crate::probe_url::resolve(cluster, url)
    })
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Capabilities, FaultAction, FaultGrant};

    fn info() -> FlowInfo {
        FlowInfo {
            name: "t".into(),
            version: "1".into(),
            description: String::new(),
            chapters: Vec::new(),
            capabilities: Capabilities {
                faults: vec![
                    FaultGrant {
                        services: "etcd*".into(),
                        actions: vec![FaultAction::Kill, FaultAction::Network],
                        peers: vec!["etcd*".into(), "zk*".into()],
                    },
                    FaultGrant {
                        services: "tikv*".into(),
                        actions: vec![FaultAction::Kill],
                        peers: Vec::new(),
                    },
                ],
                reads_workload: true,
                http_probes: vec!["http://etcd1:2379/v3/".into()],
                memory_mib: 0,
            },
            default_workload: None,
            hypotheses: Vec::new(),
        }
    }

    fn nodes() -> Vec<Node> {
        (1..=3)
            .map(|i| {
                Node::fixture(
                    format!("etcd{i}"),
                    format!("p-etcd{i}-1"),
                    format!("c{i}"),
                    NodeState::Running,
                )
            })
            .collect()
    }

    async fn mapped(url: ProbeUrl) -> Result<ProbeUrl, String> {
        Ok(ProbeUrl::parse(&url.as_str().replace("etcd1:2379", "127.0.0.1:23791")).unwrap())
    }

    #[tokio::test]
    async fn every_grant_peer_probe_source_and_hypothesis_is_resolved_or_a_problem() {
        let source = SourceSpec::Command("loadgen etcd".into());
        let hypotheses = vec![
            "no-lost-writes".parse().unwrap(),
            "all-running@end".parse().unwrap(),
        ];
        let lines = plan(
            &info(),
            "compose project 'p'",
            &nodes(),
            Some((&source, "--workload")),
            &hypotheses,
            mapped,
        )
        .await;
        let text: Vec<(bool, &str)> = lines.iter().map(|l| (l.problem, l.text.as_str())).collect();
        assert!(text.contains(&(false, "compose project 'p': 3 containers, 3 running")));
        assert!(text.contains(&(false, "fault kill, network on 'etcd*': etcd1, etcd2, etcd3")));
        assert!(text.contains(&(
            true,
            "fault kill on 'tikv*' matches no service of compose project 'p'"
        )));
        assert!(text.contains(&(
            true,
            "network faults of 'etcd*' may name 'zk*', which matches no service"
        )));
        assert!(text.contains(&(
            false,
            "probe http://etcd1:2379/v3/ → http://127.0.0.1:23791/v3/"
        )));
        assert!(
            text.iter()
                .any(|(p, t)| !p && t.starts_with("workload: the command"))
        );
        assert!(
            text.iter()
                .any(|(p, t)| !p && t.starts_with("hypothesis no-lost-writes (yours)"))
        );
        assert_eq!(lines.iter().filter(|l| l.problem).count(), 2);
    }

    #[tokio::test]
    async fn pointed_at_nothing_it_says_so() {
        let hypotheses = vec!["p99<=10ms".parse().unwrap()];
        let lines = plan(
            &info(),
            "compose project 'typo'",
            &[],
            None,
            &hypotheses,
            mapped,
        )
        .await;
        let problems: Vec<&str> = lines
            .iter()
            .filter(|l| l.problem)
            .map(|l| l.text.as_str())
            .collect();
        assert!(problems[0].starts_with("compose project 'typo' has no containers on this engine"));
        assert!(problems.iter().any(|p| p.starts_with("no workload source")));
        assert!(
            problems
                .iter()
                .any(|p| p.contains("cannot be evaluated without a workload source"))
        );
    }
}
