//! Pacing. Every wait here ends early when the presenter quits or skips the
//! chapter. In an action use [`pause`], [`count_down`] and [`poll_until`]
//! with `?`: an interruption then ends the chapter, and no fault follows a
//! cancelled countdown. [`sleep`] and [`countdown`] say the same with
//! `false`.

use crate::FlowError;
use crate::bindings::demo::flow::timing as raw;
use std::time::{Duration, Instant};

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

/// Asks `check` until it returns `Some`, every `interval`, for at most
/// `timeout`: `Ok(Some(value))` as soon as it has one, `Ok(None)` when the
/// time ran out (after one last look at the deadline), `Err` when `check`
/// fails or the presenter moved on during a wait.
///
/// ```no_run
/// # use guest_sdk::prelude::*;
/// # use std::time::Duration;
/// # fn chapter() -> Result<(), FlowError> {
/// let exited = timing::poll_until(Duration::from_secs(10), Duration::from_millis(200), || {
///     Ok(cluster::list_nodes()?.into_iter().find(|n| n.state == NodeState::Exited))
/// })?;
/// # Ok(()) }
/// ```
pub fn poll_until<T>(
    timeout: Duration,
    interval: Duration,
    check: impl FnMut() -> Result<Option<T>, FlowError>,
) -> Result<Option<T>, FlowError> {
    let started = Instant::now();
    poll_with(timeout, interval, check, || started.elapsed(), sleep)
}

/// [`poll_until`] with its clock and its wait given, so it is tested
/// without a host.
pub(crate) fn poll_with<T>(
    timeout: Duration,
    interval: Duration,
    mut check: impl FnMut() -> Result<Option<T>, FlowError>,
    mut elapsed: impl FnMut() -> Duration,
    mut wait: impl FnMut(Duration) -> bool,
) -> Result<Option<T>, FlowError> {
    loop {
        if let Some(value) = check()? {
            return Ok(Some(value));
        }
        let spent = elapsed();
        if spent >= timeout {
            return Ok(None);
        }
        completed(wait(interval.min(timeout - spent)))?;
    }
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::cell::Cell;

    /// A clock that only moves when waited on (and by `tick` per check).
    pub struct FakeClock {
        pub now: Cell<Duration>,
        pub waits: Cell<u32>,
        /// The wait after which the presenter moves on, if any.
        pub interrupt_at: Option<u32>,
    }

    impl FakeClock {
        pub fn new(interrupt_at: Option<u32>) -> Self {
            FakeClock {
                now: Cell::new(Duration::ZERO),
                waits: Cell::new(0),
                interrupt_at,
            }
        }

        pub fn wait(&self, d: Duration) -> bool {
            self.waits.set(self.waits.get() + 1);
            self.now.set(self.now.get() + d);
            self.interrupt_at != Some(self.waits.get())
        }
    }

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn poll_returns_the_first_value_without_waiting_more() {
        let clock = FakeClock::new(None);
        let mut asked = 0;
        let got = poll_with(
            10 * S,
            S,
            || {
                asked += 1;
                Ok((asked == 3).then_some("leader"))
            },
            || clock.now.get(),
            |d| clock.wait(d),
        );
        assert_eq!(got, Ok(Some("leader")));
        assert_eq!((asked, clock.waits.get()), (3, 2));
    }

    #[test]
    fn poll_gives_up_at_the_deadline_after_a_last_look() {
        let clock = FakeClock::new(None);
        let mut asked = 0;
        let got: Result<Option<()>, _> = poll_with(
            Duration::from_millis(2500),
            S,
            || {
                asked += 1;
                Ok(None)
            },
            || clock.now.get(),
            |d| clock.wait(d),
        );
        assert_eq!(got, Ok(None));
        // At 0, 1, 2 and (a shortened last wait) 2.5 s.
        assert_eq!(asked, 4);
        assert_eq!(clock.now.get(), Duration::from_millis(2500));
    }

    #[test]
    fn an_interrupted_wait_ends_the_poll_as_interrupted() {
        let clock = FakeClock::new(Some(2));
        let got: Result<Option<()>, _> = poll_with(
            10 * S,
            S,
            || Ok(None),
            || clock.now.get(),
            |d| clock.wait(d),
        );
        assert_eq!(got, Err(FlowError::Interrupted));
        assert_eq!(clock.waits.get(), 2);
    }

    #[test]
    fn a_failing_check_ends_the_poll_with_its_error() {
        let clock = FakeClock::new(None);
        let got: Result<Option<()>, _> = poll_with(
            10 * S,
            S,
            || Err("etcd said no".into()),
            || clock.now.get(),
            |d| clock.wait(d),
        );
        assert_eq!(got, Err(FlowError::Failed("etcd said no".into())));
        assert_eq!(clock.waits.get(), 0);
    }
}
