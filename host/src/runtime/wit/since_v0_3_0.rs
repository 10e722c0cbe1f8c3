//! `demo:flow@0.3.0`: 0.2.0 plus a flow's steady-state `hypotheses` and
//! `workload.next-sample`. What it kept of 0.1.0 and 0.2.0 expands from
//! `unchanged`; what it changed (`workload`, `flow-info`) is written here.

use crate::cluster::{
    self, Action, ContainerAction, Health, NetworkAction, Node, NodeState, ShapeSpec, Target,
};
use crate::events::Level;
use crate::hypotheses::{Check, Hypothesis, Moment};
use crate::model::{Capabilities, Chapter, FaultAction, FaultGrant, FlowInfo};
use crate::probe_http::Request;
use crate::runtime::StoreData;
use crate::runtime::api::{HostApi, ProbeError, WorkloadError};
use crate::workload::parse::Sample;
use crate::workload::tracker::Status;
use wasmtime::component::{HasSelf, Linker};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/v0.3.0",
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
/// `wit/v0.3.0/flow.wit` (tested below).
pub const VERSION: semver::Version = semver::Version::new(0, 3, 0);

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
            hypotheses: info
                .hypotheses
                .into_iter()
                .map(hypothesis_from_wit)
                .collect(),
        }
    }
}

/// A flow's hypothesis in the host's terms (its bounds are checked with
/// the rest of the description).
fn hypothesis_from_wit(h: bindings::Hypothesis) -> Hypothesis {
    let check = match h.check {
        bindings::Check::ThroughputAtLeast(fraction) => Check::ThroughputAtLeast { fraction },
        bindings::Check::P99AtMostMs(ms) => Check::P99AtMost { ms },
        bindings::Check::NoLostWrites => Check::NoLostWrites,
        bindings::Check::NoStaleReads => Check::NoStaleReads,
        bindings::Check::AllRunning => Check::AllRunning,
    };
    let moments = h
        .moments
        .into_iter()
        // More than the bound is refused by the description's check; only
        // what is needed to say so is converted.
        .take(9)
        .map(|m| match m {
            bindings::Moment::Before => Moment::Before,
            bindings::Moment::Continuously => Moment::Continuously,
            bindings::Moment::AfterUndoMs(ms) => Moment::AfterUndo {
                within: std::time::Duration::from_millis(u64::from(ms)),
            },
            bindings::Moment::End => Moment::End,
        })
        .collect();
    crate::hypotheses::spec::from_flow(check, moments, h.abort)
}

impl wit_workload::Host for HostApi {
    super::unchanged::workload_functions_since_v0_1_0!();

    async fn next_sample(
        &mut self,
        timeout_ms: u32,
    ) -> Result<wit_workload::Sample, wit_workload::WorkloadError> {
        self.next_workload_sample(timeout_ms)
            .await
            .map(|(sample, t_ms)| sample_to_wit(&sample, t_ms))
            .map_err(workload_error_to_wit)
    }
}

super::unchanged::other_interfaces_since_v0_1_0!();

super::unchanged::kept_since_v0_2_0!();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_the_wit_package_line() {
        let wit = include_str!("../../../../wit/v0.3.0/flow.wit");
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
