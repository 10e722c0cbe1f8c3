//! Steady-state hypotheses: what the presenter (and, through API 0.3.0, a
//! flow) says the system keeps doing while faults happen, when to check it,
//! and whether a breach stops the show's faults (an abort condition).
//!
//! `spec` reads one from the command line; `checker` judges them against
//! what the workload, its verdict counts and the cluster report, at the
//! moments each names. Host-owned types: the WIT's, once a flow declares
//! hypotheses, are mapped to these in `runtime/`.

pub mod checker;
pub mod spec;

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What a hypothesis checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Check {
    /// Throughput at least `fraction` of the baseline.
    ThroughputAtLeast { fraction: f64 },
    /// The slowest operation's p99 at most `ms`.
    P99AtMost { ms: f64 },
    /// No acknowledged write lost (the load tool's verdict).
    NoLostWrites,
    /// No stale linearizable read (the load tool's verdict).
    NoStaleReads,
    /// Every node of the cluster running.
    AllRunning,
}

/// When a hypothesis is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "at")]
pub enum Moment {
    /// Once, just before the first fault.
    Before,
    /// At every sample, from the first fault to the end.
    Continuously,
    /// After each time every fault is undone, met at least once within
    /// `within`.
    AfterUndo {
        #[serde(serialize_with = "as_ms", deserialize_with = "from_ms")]
        within: Duration,
    },
    /// Once, when the show ends.
    End,
}

fn as_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

fn from_ms<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_millis)
}

/// Who set a hypothesis: a flow may add its own but never weaken or remove
/// the presenter's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    Presenter,
    Flow,
}

/// One steady-state hypothesis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hypothesis {
    /// How it is shown: the presenter's text, normalised.
    pub name: String,
    pub check: Check,
    pub moments: Vec<Moment>,
    /// A breach stops the running chapter and restores every fault.
    pub abort: bool,
    pub origin: Origin,
}

/// The most hypotheses one show may have.
pub const MAX_HYPOTHESES: usize = 32;

/// The default recovery time of `after-undo`.
pub const DEFAULT_RECOVERY: Duration = Duration::from_secs(30);
