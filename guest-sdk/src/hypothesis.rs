//! Steady-state hypotheses a flow declares in its description: what the
//! system keeps doing while the flow's faults happen. The host judges them
//! at the moments they name, beside the presenter's own (which a flow can
//! never weaken or remove), shows each result and records it.
//!
//! ```
//! use guest_sdk::prelude::*;
//! use std::time::Duration;
//!
//! # #[derive(Default)] struct Demo;
//! let info = FlowInfo::<Demo>::new("demo", "0.1.0")
//!     .hypothesis(Hypothesis::no_lost_writes())
//!     .hypothesis(Hypothesis::throughput_at_least(0.8).after_undo(Duration::from_secs(20)))
//!     .hypothesis(Hypothesis::p99_at_most_ms(500.0).continuously().abort());
//! ```

use crate::bindings::{Check, Hypothesis as Record, Moment};
use std::time::Duration;

/// One hypothesis. Without a moment it is checked before the first fault,
/// within 30 s of each undo, and at the end.
#[derive(Debug, Clone)]
pub struct Hypothesis {
    record: Record,
}

impl Hypothesis {
    fn of(check: Check) -> Self {
        Hypothesis {
            record: Record {
                check,
                moments: Vec::new(),
                abort: false,
            },
        }
    }

    /// Throughput at least `fraction` of the baseline (0.8: 80 %).
    pub fn throughput_at_least(fraction: f64) -> Self {
        Self::of(Check::ThroughputAtLeast(fraction))
    }

    /// The slowest operation's p99 at most `ms`.
    pub fn p99_at_most_ms(ms: f64) -> Self {
        Self::of(Check::P99AtMostMs(ms))
    }

    /// No acknowledged write lost (the load tool's own history check).
    pub fn no_lost_writes() -> Self {
        Self::of(Check::NoLostWrites)
    }

    /// No stale linearizable read (the load tool's own history check).
    pub fn no_stale_reads() -> Self {
        Self::of(Check::NoStaleReads)
    }

    /// Every node of the cluster running.
    pub fn all_running() -> Self {
        Self::of(Check::AllRunning)
    }

    /// Checked once, just before the first fault.
    pub fn before(mut self) -> Self {
        self.record.moments.push(Moment::Before);
        self
    }

    /// Checked at every sample.
    pub fn continuously(mut self) -> Self {
        self.record.moments.push(Moment::Continuously);
        self
    }

    /// Met at least once within `recovery` after every fault is undone.
    pub fn after_undo(mut self, recovery: Duration) -> Self {
        let ms = u32::try_from(recovery.as_millis()).unwrap_or(u32::MAX);
        self.record.moments.push(Moment::AfterUndoMs(ms));
        self
    }

    /// Checked once, when the show ends.
    pub fn at_end(mut self) -> Self {
        self.record.moments.push(Moment::End);
        self
    }

    /// An abort condition: a breach stops the running chapter and undoes
    /// every fault (the show goes on).
    pub fn abort(mut self) -> Self {
        self.record.abort = true;
        self
    }

    pub(crate) fn into_record(self) -> Record {
        self.record
    }
}
