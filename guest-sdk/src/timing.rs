//! Pacing. Both calls return `false` when the presenter quit or skipped the
//! chapter: return from `enter` then, and do not inject the fault.

use crate::bindings::demo::flow::timing as raw;
use std::time::Duration;

/// Waits `duration`; `false` if interrupted.
pub fn sleep(duration: Duration) -> bool {
    raw::sleep(clamp_ms(duration))
}

/// Shows `label` with a large countdown from `seconds` to 1; `false` if
/// interrupted.
pub fn countdown(seconds: u32, label: &str) -> bool {
    raw::countdown(seconds, label)
}

pub(crate) fn clamp_ms(duration: Duration) -> u32 {
    u32::try_from(duration.as_millis()).unwrap_or(u32::MAX)
}
