//! `demo:flow@0.2.0`: 0.1.0 plus network faults (`shape`, `unshape`,
//! `isolate`), the `invalid` and `unsupported` errors, the `shape` action,
//! a grant's `peers` and a chapter's `notes`. The interfaces it kept as they
//! were expand from `unchanged`, and so does what it added (0.3.0 keeps
//! that too: `kept_since_v0_2_0`); only its `flow-info` is written here.

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

super::unchanged::kept_since_v0_2_0!();

super::unchanged::unchanged_interfaces_since_v0_1_0!();

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
