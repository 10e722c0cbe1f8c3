//! Pacing. Every wait here ends early when the presenter quits or skips the
//! chapter. In an action use [`pause`] and [`count_down`] with `?`: an
//! interruption then ends the chapter, and no fault follows a cancelled
//! countdown. [`sleep`] and [`countdown`] say the same with `false`.

use crate::FlowError;
use crate::bindings::demo::flow::timing as raw;
use std::time::Duration;

/// Waits `duration`; `Err(Interrupted)` if the presenter moved on first.
pub fn pause(duration: Duration) -> Result<(), FlowError> {
    completed(sleep(duration))
}

/// Shows `label` with a large countdown from `seconds` to 1;
/// `Err(Interrupted)` if the presenter moved on first.
pub fn count_down(seconds: u32, label: &str) -> Result<(), FlowError> {
    completed(countdown(seconds, label))
}

/// Waits `duration`; `false` if interrupted.
pub fn sleep(duration: Duration) -> bool {
    raw::sleep(clamp_ms(duration))
}

/// Shows `label` with a large countdown from `seconds` to 1; `false` if
/// interrupted.
pub fn countdown(seconds: u32, label: &str) -> bool {
    raw::countdown(seconds, label)
}

fn completed(full_time: bool) -> Result<(), FlowError> {
    if full_time {
        Ok(())
    } else {
        Err(FlowError::Interrupted)
    }
}

pub(crate) fn clamp_ms(duration: Duration) -> u32 {
    u32::try_from(duration.as_millis()).unwrap_or(u32::MAX)
}
