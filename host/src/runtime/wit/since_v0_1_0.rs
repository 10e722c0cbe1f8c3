//! `demo:flow@0.1.0`: its bindings, its linker entries, its host side and
//! its conversions into the host's own types. Each import converts its
//! arguments into host types and calls the version-independent operation
//! on [`HostApi`]; each result converts back. When a newer version lands,
//! this file stays as it is (its WIT never changes) and keeps old flows
//! running.

use crate::cluster::{
    self, Action, ContainerAction, Health, NetworkAction, Node, NodeState, Target,
};
use crate::events::Level;
use crate::model::{Capabilities, Chapter, FaultAction, FaultGrant, FlowInfo};
use crate::probe_http::Request;
use crate::runtime::StoreData;
use crate::runtime::api::{HostApi, ProbeError, WorkloadError};
use crate::workload::parse::Sample;
use crate::workload::tracker::Status;
use wasmtime::component::{HasSelf, Linker};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/v0.1.0",
        world: "flow",
        imports: { default: async },
        exports: { default: async },
    });
}

use bindings::demo::flow::{
    cluster as wit_cluster, log as wit_log, narration, probe as wit_probe, timing, types,
    workload as wit_workload,
};

/// The API version this module speaks: the package line of
/// `wit/v0.1.0/flow.wit` (tested below).
pub const VERSION: semver::Version = semver::Version::new(0, 1, 0);

super::unchanged::world_functions_since_v0_1_0!();

impl From<bindings::FlowInfo> for FlowInfo {
    fn from(info: bindings::FlowInfo) -> Self {
        FlowInfo {
            name: info.name,
            version: info.version,
            description: info.description,
            chapters: info.chapters.into_iter().map(Chapter::from).collect(),
            capabilities: info.capabilities.into(),
            default_workload: info.default_workload,
            hypotheses: Vec::new(),
        }
    }
}

impl From<bindings::Chapter> for Chapter {
    fn from(chapter: bindings::Chapter) -> Self {
        Chapter {
            title: chapter.title,
            narration: chapter.narration,
            key_hint: chapter.key_hint,
            auto_advance: chapter.auto_advance,
            blocks_advance: chapter.blocks_advance,
            // 0.1.0 has no speaker notes.
            notes: String::new(),
        }
    }
}

impl From<bindings::Capabilities> for Capabilities {
    fn from(caps: bindings::Capabilities) -> Self {
        Capabilities {
            faults: caps
                .faults
                .into_iter()
                .map(|grant| FaultGrant {
                    services: grant.services,
                    actions: grant.actions.into_iter().map(FaultAction::from).collect(),
                    // 0.1.0 has no isolate or shape, so no peers.
                    peers: Vec::new(),
                })
                .collect(),
            reads_workload: caps.reads_workload,
            http_probes: caps.http_probes,
            // 0.1.0 flows get the default.
            memory_mib: 0,
        }
    }
}

impl From<bindings::FaultAction> for FaultAction {
    fn from(action: bindings::FaultAction) -> Self {
        match action {
            bindings::FaultAction::Kill => FaultAction::Kill,
            bindings::FaultAction::Stop => FaultAction::Stop,
            bindings::FaultAction::Restart => FaultAction::Restart,
            bindings::FaultAction::Pause => FaultAction::Pause,
            bindings::FaultAction::Network => FaultAction::Network,
        }
    }
}

super::unchanged::unchanged_interfaces_since_v0_1_0!();

type ClusterResult<T> = Result<T, wit_cluster::ClusterError>;

impl wit_cluster::Host for HostApi {
    super::unchanged::cluster_functions_since_v0_1_0!();
}

fn error_to_wit(error: cluster::ClusterError) -> wit_cluster::ClusterError {
    use cluster::ClusterError as E;
    match error {
        E::NotFound(m) => wit_cluster::ClusterError::NotFound(m),
        E::NotPermitted(m) => wit_cluster::ClusterError::NotPermitted(m),
        E::DockerUnavailable(m) => wit_cluster::ClusterError::DockerUnavailable(m),
        E::Failed(m) => wit_cluster::ClusterError::Failed(m),
        E::Timeout => wit_cluster::ClusterError::Timeout,
        E::Interrupted => wit_cluster::ClusterError::Interrupted,
        // Only the network faults of 0.2.0 fail these ways; a 0.1.0 flow
        // cannot ask for them, but its `failed` would carry the message.
        e @ (E::Invalid(_) | E::Unsupported(_)) => wit_cluster::ClusterError::Failed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_the_wit_package_line() {
        let wit = include_str!("../../../../wit/v0.1.0/flow.wit");
        let package = wit
            .lines()
            .find_map(|l| l.trim().strip_prefix("package "))
            .expect("a package line");
        assert_eq!(package, format!("demo:flow@{VERSION};"));
    }

    #[test]
    fn every_fault_action_converts() {
        let all = [
            bindings::FaultAction::Kill,
            bindings::FaultAction::Stop,
            bindings::FaultAction::Restart,
            bindings::FaultAction::Pause,
            bindings::FaultAction::Network,
        ];
        let converted: Vec<FaultAction> = all.into_iter().map(FaultAction::from).collect();
        // Every action but 0.2.0's `shape`.
        assert_eq!(converted, FaultAction::ALL[..5].to_vec());
    }
}
