//! Probe URLs that name a Compose service, e.g. `http://pd0:2379/pd/api/v1/stores`.
//!
//! A flow cannot know which host port the presenter published a service on
//! (the e2e tests and two side-by-side projects use other ports than the
//! demo's). So a flow writes the URL as the service sees itself inside the
//! project, and the host rewrites `SERVICE:PORT` to the loopback address
//! Docker published that container port on. The grant is checked against the
//! URL the flow wrote, before any rewriting, so the capability the presenter
//! reads (`http probe http://pd0:2379/`) is the one enforced. A URL whose host
//! is not a service of the project is sent as written.

use crate::cluster::{Cluster, PROJECT_LABEL, SERVICE_LABEL};
use bollard::query_parameters::ListContainersOptions;
use std::collections::HashMap;

/// The parts of `scheme://host:port/rest` when the host could be a Compose
/// service name: no dots, no brackets, not `localhost`, and an explicit port.
#[derive(Debug, PartialEq, Eq)]
pub struct ServiceUrl<'a> {
    pub scheme: &'a str,
    pub service: &'a str,
    pub port: u16,
    /// Everything after the authority, starting with `/` (or empty).
    pub rest: &'a str,
}

pub fn parse(url: &str) -> Option<ServiceUrl<'_>> {
    let (scheme, after) = url.split_once("://")?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    let (host, port) = authority.rsplit_once(':')?;
    let plain = !host.is_empty()
        && host != "localhost"
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !plain || host.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(ServiceUrl {
        scheme,
        service: host,
        port: port.parse().ok()?,
        rest,
    })
}

/// Where Docker published a container port: loopback when it listens on all
/// addresses, else the address it is bound to. IPv4 first.
pub fn published_address(bindings: &[(Option<String>, u16, u16)], port: u16) -> Option<String> {
    let mut matching: Vec<(&str, u16)> = bindings
        .iter()
        .filter(|(_, private, _)| *private == port)
        .map(|(ip, _, public)| (ip.as_deref().unwrap_or(""), *public))
        .filter(|(_, public)| *public != 0)
        .collect();
    matching.sort_by_key(|(ip, _)| ip.contains(':'));
    let (ip, public) = matching.first()?;
    let ip = match *ip {
        "" | "0.0.0.0" | "::" => "127.0.0.1".to_string(),
        v6 if v6.contains(':') => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    Some(format!("{ip}:{public}"))
}

/// Rewrites a service URL to the published address; other URLs unchanged.
/// `Err` says, for the audience, why a service URL cannot be reached.
pub async fn resolve(cluster: &Cluster, url: &str) -> Result<String, String> {
    let Some(parts) = parse(url) else {
        return Ok(url.to_string());
    };
    let filters = HashMap::from([(
        "label".to_string(),
        vec![
            format!("{PROJECT_LABEL}={}", cluster.project()),
            format!("{SERVICE_LABEL}={}", parts.service),
        ],
    )]);
    let Some(docker) = cluster.docker() else {
        return Err("Docker is unavailable, so the service's address is unknown".to_string());
    };
    let summaries = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        }))
        .await
        .map_err(|e| format!("Docker: {e}"))?;
    if summaries.is_empty() {
        // Not a service of this project: an ordinary host name.
        return Ok(url.to_string());
    }
    let bindings: Vec<(Option<String>, u16, u16)> = summaries
        .iter()
        .flat_map(|s| s.ports.iter().flatten())
        .map(|p| (p.ip.clone(), p.private_port, p.public_port.unwrap_or(0)))
        .collect();
    let address = published_address(&bindings, parts.port).ok_or_else(|| {
        format!(
            "service {} has no published port {} (is it running, with `ports:` in the compose file?)",
            parts.service, parts.port
        )
    })?;
    Ok(format!("{}://{address}{}", parts.scheme, parts.rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_urls_are_recognised_and_addresses_are_not() {
        assert_eq!(
            parse("http://pd0:2379/pd/api/v1/stores"),
            Some(ServiceUrl {
                scheme: "http",
                service: "pd0",
                port: 2379,
                rest: "/pd/api/v1/stores"
            })
        );
        assert_eq!(parse("http://etcd1:2379").unwrap().rest, "");
        assert_eq!(parse("http://127.0.0.1:2379/"), None);
        assert_eq!(parse("http://localhost:2379/"), None);
        assert_eq!(parse("http://example.com:80/"), None);
        assert_eq!(parse("http://pd0/"), None);
        assert_eq!(parse("http://pd0:http/"), None);
        assert_eq!(parse("pd0:2379"), None);
    }

    #[test]
    fn published_ports_prefer_ipv4_and_map_wildcards_to_loopback() {
        let b = vec![
            (Some("::".to_string()), 2379, 24791),
            (Some("0.0.0.0".to_string()), 2379, 24791),
            (Some("127.0.0.1".to_string()), 2380, 24700),
        ];
        assert_eq!(
            published_address(&b, 2379).as_deref(),
            Some("127.0.0.1:24791")
        );
        assert_eq!(
            published_address(&b, 2380).as_deref(),
            Some("127.0.0.1:24700")
        );
        assert_eq!(published_address(&b, 9999), None);
        let v6 = vec![(Some("::1".to_string()), 2379, 5)];
        assert_eq!(published_address(&v6, 2379).as_deref(), Some("[::1]:5"));
    }
}
