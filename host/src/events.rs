//! Everything that changes the presenter's state arrives as one of these,
//! from the flow task, the cluster and the workload (each source's own
//! events, wrapped where the show joins the sources). The app loop is their
//! only consumer; the transcript records them as they arrive.

use crate::cluster::ClusterEvent;
use crate::workload::WorkloadEvent;

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
    Cluster(ClusterEvent),
    Workload(WorkloadEvent),
    /// The show's final restore is over: every outstanding fault has been
    /// handled (the show says so, not the cluster, whose other restores, of
    /// an earlier run's leftovers or a flow's `undo-after`, end nothing).
    RestoreFinished,
    /// The show's faults were stopped (an abort condition or the
    /// presenter's X) and every outstanding one was undone.
    FaultsStopped {
        reason: String,
        /// When the breaching sample (or the key) came, and when the last
        /// undo finished, in ms since the host started.
        breached_at_ms: u64,
        restored_at_ms: u64,
        restored: usize,
        failed: usize,
    },
}
