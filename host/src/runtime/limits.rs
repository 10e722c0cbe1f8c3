//! The memory and compute a flow runs within.

use super::failure::GuestFailure;
use std::time::Duration;
use wasmtime::{StoreLimits, StoreLimitsBuilder};

/// Linear memory a flow gets when it states no need: plenty for a Rust flow.
pub const DEFAULT_MEMORY_MIB: usize = 64;

/// Limits every flow runs under.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The presenter's ceiling (`--max-memory-mib`): the most a flow may
    /// ask for with `memory-mib`, and what `describe` runs under.
    pub max_memory_bytes: usize,
    /// What a flow that states no need gets (capped by the ceiling).
    pub default_memory_bytes: usize,
    /// Longest a flow may keep the host busy (computing, or calling imports
    /// that return at once) without waiting; see [`watchdog`].
    pub compute_budget: Duration,
}

impl Limits {
    /// The limits one flow runs under once its need is known: its
    /// `memory-mib` (or the default), never above the ceiling. `describe`
    /// refuses a flow that asks for more, so the clamp never bites a flow
    /// that runs.
    pub fn for_flow(&self, caps: &crate::model::Capabilities) -> Limits {
        let need = memory_need(caps.memory_mib, self).unwrap_or(self.max_memory_bytes);
        Limits {
            max_memory_bytes: need,
            default_memory_bytes: need,
            ..self.clone()
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_memory_bytes: 256 << 20,
            default_memory_bytes: DEFAULT_MEMORY_MIB << 20,
            compute_budget: Duration::from_secs(2),
        }
    }
}

/// The memory a flow runs within: what it declared (0: the default, never
/// more than the ceiling), or a refusal naming both figures.
pub(super) fn memory_need(declared_mib: u32, limits: &Limits) -> Result<usize, GuestFailure> {
    if declared_mib == 0 {
        return Ok(limits.default_memory_bytes.min(limits.max_memory_bytes));
    }
    let need = (declared_mib as usize).saturating_mul(1 << 20);
    if need > limits.max_memory_bytes {
        return Err(GuestFailure::Refused(format!(
            "describe() asks for {declared_mib} MiB of memory; this presenter allows at most {} MiB (raise it with --max-memory-mib if you trust the flow)",
            limits.max_memory_bytes >> 20
        )));
    }
    Ok(need)
}

pub(super) fn store_limits(memory_bytes: usize) -> StoreLimits {
    StoreLimitsBuilder::new()
        .memory_size(memory_bytes)
        .table_elements(100_000)
        .instances(64)
        .tables(64)
        .memories(16)
        .trap_on_grow_failure(true)
        .build()
}

#[cfg(test)]
mod memory_tests {
    use super::*;
    use crate::model::Capabilities;

    fn needing(mib: u32) -> Capabilities {
        Capabilities {
            memory_mib: mib,
            ..Default::default()
        }
    }

    #[test]
    fn a_flow_gets_what_it_asks_for_within_the_ceiling_and_the_default_otherwise() {
        let limits = Limits::default();
        let mib = |caps: &Capabilities| limits.for_flow(caps).max_memory_bytes >> 20;
        assert_eq!(mib(&needing(0)), 64, "no need stated: the default");
        assert_eq!(mib(&needing(160)), 160);
        assert_eq!(mib(&needing(256)), 256);
        let low_ceiling = Limits {
            max_memory_bytes: 32 << 20,
            ..Limits::default()
        };
        assert_eq!(
            low_ceiling.for_flow(&needing(0)).max_memory_bytes >> 20,
            32,
            "a presenter's lower ceiling caps the default too"
        );
    }

    #[test]
    fn a_flow_asking_for_more_than_the_ceiling_is_refused_naming_both() {
        let refused = memory_need(300, &Limits::default())
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("asks for 300 MiB") && refused.contains("at most 256 MiB"),
            "{refused}"
        );
        assert!(memory_need(u32::MAX, &Limits::default()).is_err());
    }
}
