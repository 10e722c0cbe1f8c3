//! What the load tool's `[VERDICT]` lines say over the show: the latest
//! counts, and when each kind of anomaly was first seen. Counts come only
//! from the workload source's own output (see `verdict-line`), never from a
//! flow.

use serde::Serialize;
pub use verdict_line::Verdict;

/// A kind of broken promise, each announced once, at its first sighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Anomaly {
    /// A linearizable read older than an acknowledged write.
    StaleRead,
    /// A read allowed to lag (serializable) that did.
    StaleSerializableRead,
    /// An acknowledged write the final read did not find.
    LostWrite,
}

impl Anomaly {
    pub fn describe(self) -> &'static str {
        match self {
            Anomaly::StaleRead => "stale read: a linearizable read missed an acknowledged write",
            Anomaly::StaleSerializableRead => {
                "stale serializable read: a member answered from an old copy"
            }
            Anomaly::LostWrite => "lost write: an acknowledged write is gone",
        }
    }
}

/// The verdict so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Verdicts {
    pub latest: Verdict,
    /// When (ms since the host started) each anomaly was first seen.
    pub first_stale_ms: Option<u64>,
    pub first_stale_serializable_ms: Option<u64>,
    pub first_lost_ms: Option<u64>,
}

impl Verdicts {
    /// Takes the tool's latest counts, seen at `t_ms`; returns the kinds of
    /// anomaly seen for the first time.
    pub fn update(&mut self, verdict: Verdict, t_ms: u64) -> Vec<Anomaly> {
        let mut first = Vec::new();
        for (count, seen, kind) in [
            (verdict.stale, &mut self.first_stale_ms, Anomaly::StaleRead),
            (
                verdict.stale_serializable,
                &mut self.first_stale_serializable_ms,
                Anomaly::StaleSerializableRead,
            ),
            (verdict.lost, &mut self.first_lost_ms, Anomaly::LostWrite),
        ] {
            if count > 0 && seen.is_none() {
                *seen = Some(t_ms);
                first.push(kind);
            }
        }
        self.latest = verdict;
        first
    }

    /// Whether the store broke a promise it makes (stale linearizable
    /// reads, lost writes): what turns the counts red.
    pub fn broken(&self) -> bool {
        self.latest.anomalies() > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_anomaly_is_announced_once_at_its_first_sighting() {
        let mut v = Verdicts::default();
        let counts = |stale, stale_serializable, lost| Verdict {
            acknowledged: 10,
            stale,
            stale_serializable,
            lost,
            ..Default::default()
        };
        assert!(v.update(counts(0, 0, 0), 1_000).is_empty());
        assert!(!v.broken());
        assert_eq!(
            v.update(counts(0, 3, 0), 2_000),
            [Anomaly::StaleSerializableRead]
        );
        // Serializable reads may lag: that is no broken promise.
        assert!(!v.broken());
        assert!(v.update(counts(0, 9, 0), 3_000).is_empty());
        assert_eq!(
            v.update(counts(1, 9, 4), 4_000),
            [Anomaly::StaleRead, Anomaly::LostWrite]
        );
        assert!(v.broken());
        assert_eq!(
            (
                v.first_stale_ms,
                v.first_stale_serializable_ms,
                v.first_lost_ms
            ),
            (Some(4_000), Some(2_000), Some(4_000))
        );
        assert_eq!(v.latest.lost, 4);
    }
}
