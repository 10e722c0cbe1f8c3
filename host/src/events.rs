//! Everything that changes the presenter's state arrives as one of these,
//! from the flow task, the cluster watcher and the workload tracker. The app
//! loop is their only consumer; the transcript records them as they arrive.

use crate::cluster::{Fault, Node, RestoreOutcome};
use crate::workload::WorkloadView;
use crate::workload::tracker::Status;

/// Identifies one run of one chapter, so late narration from a chapter the
/// presenter skipped is not shown under the next one.
pub type RunId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Success,
    Warning,
    Danger,
}

#[derive(Debug, Clone)]
pub enum Event {
    /// The flow replaced the narration (markup).
    NarrationSet {
        run: RunId,
        markup: String,
    },
    /// The flow added a narration line (markup).
    NarrationAppend {
        run: RunId,
        markup: String,
    },
    Badge {
        run: RunId,
        text: String,
        level: Level,
    },
    /// A countdown shows `remaining` (0 when it completed).
    Countdown {
        run: RunId,
        remaining: u32,
        label: String,
    },
    /// The chapter's action returned.
    ChapterFinished {
        run: RunId,
        index: u32,
        outcome: Result<(), String>,
    },
    /// The host performed a fault for the flow.
    Fault(Fault),
    /// The cluster's containers as Docker reports them (after any change).
    Nodes(Vec<Node>),
    /// Docker could not be reached (or is reachable again: `None`).
    DockerUnavailable(Option<String>),
    /// A new workload sample was measured.
    Workload(WorkloadView),
    WorkloadStatus {
        from: Status,
        to: Status,
    },
    /// The workload source itself failed (command exited, not found…).
    WorkloadSourceError(String),
    /// One fault was undone while the demo ended.
    Restored(RestoreOutcome),
    /// Every outstanding fault has been handled.
    RestoreFinished,
}
