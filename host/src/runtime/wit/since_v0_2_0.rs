//! `demo:flow@0.2.0`: 0.1.0 plus network faults (`shape`, `unshape`,
//! `isolate`), the `invalid` and `unsupported` errors, the `shape` action,
//! a grant's `peers` and a chapter's `notes`. The interfaces it kept as they
//! were expand from `unchanged`; what it changed is written here.

use crate::cluster::{
    self, Action, ContainerAction, Health, NetworkAction, Node, NodeState, ShapeSpec, Target,
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
        path: "../wit/v0.2.0",
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
/// `wit/v0.2.0/flow.wit` (tested below).
pub const VERSION: semver::Version = semver::Version::new(0, 2, 0);

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
            notes: chapter.notes,
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
                    peers: grant.peers,
                })
                .collect(),
            reads_workload: caps.reads_workload,
            http_probes: caps.http_probes,
            memory_mib: caps.memory_mib,
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
            bindings::FaultAction::Shape => FaultAction::Shape,
        }
    }
}

super::unchanged::unchanged_interfaces_since_v0_1_0!();

type ClusterResult<T> = Result<T, wit_cluster::ClusterError>;

impl wit_cluster::Host for HostApi {
    super::unchanged::cluster_functions_since_v0_1_0!();

    async fn shape(
        &mut self,
        target: wit_cluster::Target,
        spec: wit_cluster::ShapeSpec,
    ) -> ClusterResult<wit_cluster::Node> {
        act_on(self, target, NetworkAction::Shape(spec.into())).await
    }

    async fn unshape(&mut self, target: wit_cluster::Target) -> ClusterResult<wit_cluster::Node> {
        act_on(self, target, NetworkAction::Unshape).await
    }

    async fn isolate(
        &mut self,
        target: wit_cluster::Target,
        from_services: Vec<String>,
    ) -> ClusterResult<wit_cluster::Node> {
        act_on(
            self,
            target,
            NetworkAction::Isolate {
                from: from_services,
            },
        )
        .await
    }
}

impl From<wit_cluster::ShapeSpec> for ShapeSpec {
    fn from(spec: wit_cluster::ShapeSpec) -> Self {
        ShapeSpec {
            delay_ms: spec.delay_ms,
            jitter_ms: spec.jitter_ms,
            correlation_pct: spec.correlation_pct,
            loss_pct: spec.loss_pct,
            duplicate_pct: spec.duplicate_pct,
            corrupt_pct: spec.corrupt_pct,
            reorder_pct: spec.reorder_pct,
            rate_kbit: spec.rate_kbit,
            towards: spec.towards,
        }
    }
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
        E::Invalid(m) => wit_cluster::ClusterError::Invalid(m),
        E::Unsupported(m) => wit_cluster::ClusterError::Unsupported(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_the_wit_package_line() {
        let wit = include_str!("../../../../wit/v0.2.0/flow.wit");
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
            bindings::FaultAction::Shape,
        ];
        let converted: Vec<FaultAction> = all.into_iter().map(FaultAction::from).collect();
        assert_eq!(converted, FaultAction::ALL.to_vec());
    }
}
