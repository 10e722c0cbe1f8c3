//! The busy clock: how long a flow has kept the host busy since it last
//! waited.
//!
//! Counting only guest compute is not enough: every import call used to
//! restart the clock, so `loop { workload::status(); }` ran for ever, each
//! call a few microseconds of host work. Here the clock counts the guest's
//! compute *and* the time spent in host calls that return at once; only a
//! real wait the flow asked for (sleep, countdown, wait-for, lasting at least
//! [`REST`]) sets it back to zero. A call that reaches Docker or a probe
//! server counts too, all but the time it really spent waiting on that
//! server: lifting its arguments, checking them, and waiting its turn at the
//! rate limit are the flow's time. Only the server's time neither counts nor
//! rests, so a loop of such calls that are refused at once, or that hand the
//! host megabytes to copy, is stopped like any other spin.
//!
//! The store's call hook tells the clock when each host call starts and ends
//! (wasmtime brackets every host function, WASI's included); the epoch
//! callback and the hook ask it for a verdict.

use std::time::{Duration, Instant};

/// A wait shorter than this is not a rest: `loop { sleep(0) }` is a spin.
pub const REST: Duration = Duration::from_millis(10);

/// What a host call was, as far as the busy clock is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallKind {
    /// Returns at once (narration, log, workload figures, WASI): its time
    /// is the flow's.
    #[default]
    Immediate,
    /// Reached Docker or a probe server, and waited `external` on it: that
    /// time is the host's I/O; the rest of the call is the flow's.
    Io { external: Duration },
    /// A wait the flow asked for: `sleep`, `countdown`, a `wait-for`.
    Wait,
}

/// Which budget a flow overran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overrun {
    /// Mostly computing without calling the host.
    Compute,
    /// Mostly calling the host, never waiting.
    Calls,
}

#[derive(Debug, Clone)]
pub struct Watchdog {
    budget: Duration,
    /// Guest compute since the last rest, up to `stretch_started`.
    computed: Duration,
    /// Time in immediate host calls since the last rest.
    in_calls: Duration,
    /// When the guest last got control (from the host or a fresh call).
    stretch_started: Instant,
    /// Set while a host call is under way: when the outermost one began.
    in_host_since: Option<Instant>,
    /// How many host calls are under way. More than one when a host call
    /// runs guest code (lowering a result calls the guest's `cabi_realloc`)
    /// that calls the host again (`memory.grow` is such a call): the inner
    /// ones are part of the outer call.
    host_depth: u32,
}

impl Watchdog {
    pub fn new(budget: Duration) -> Self {
        Watchdog {
            budget,
            computed: Duration::ZERO,
            in_calls: Duration::ZERO,
            stretch_started: Instant::now(),
            in_host_since: None,
            host_depth: 0,
        }
    }

    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// The host calls into the flow (`describe`, `enter`): a fresh budget.
    ///
    /// Not so for a call into the guest made from inside a host call: the
    /// host lowering a result with a string or list into the guest calls the
    /// guest's allocator (`cabi_realloc`). That is part of the host call, and
    /// resetting there let every call that returns text (an error, a node)
    /// start the clock afresh.
    pub fn calling_guest(&mut self, now: Instant) {
        if self.host_depth > 0 {
            return;
        }
        self.computed = Duration::ZERO;
        self.in_calls = Duration::ZERO;
        self.stretch_started = now;
        self.in_host_since = None;
    }

    pub fn entering_host(&mut self, now: Instant) {
        self.host_depth += 1;
        if self.host_depth > 1 {
            return;
        }
        self.computed += now.saturating_duration_since(self.stretch_started);
        self.in_host_since = Some(now);
    }

    /// A host call returns; when it is the outermost one, `kind` says what
    /// it was (asked only then: an inner call must not take the outer
    /// call's kind).
    pub fn returning_from_host(&mut self, kind: impl FnOnce() -> CallKind, now: Instant) {
        self.host_depth = self.host_depth.saturating_sub(1);
        if self.host_depth > 0 {
            return;
        }
        let kind = kind();
        let took = self
            .in_host_since
            .take()
            .map(|since| now.saturating_duration_since(since))
            .unwrap_or_default();
        match kind {
            CallKind::Wait if took >= REST => {
                self.computed = Duration::ZERO;
                self.in_calls = Duration::ZERO;
            }
            CallKind::Io { external } => self.in_calls += took.saturating_sub(external),
            CallKind::Immediate | CallKind::Wait => self.in_calls += took,
        }
        self.stretch_started = now;
    }

    /// Whether the flow has been busy longer than its budget, and how.
    pub fn verdict(&self, now: Instant) -> Option<Overrun> {
        let computing = match self.in_host_since {
            Some(_) => self.computed,
            None => self.computed + now.saturating_duration_since(self.stretch_started),
        };
        if computing + self.in_calls <= self.budget {
            return None;
        }
        Some(if self.in_calls > computing {
            Overrun::Calls
        } else {
            Overrun::Compute
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Duration = Duration::from_secs(2);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Simulates `calls` host calls of `each` host time with `gap` guest
    /// compute between them, all of kind `kind`.
    fn run(kind: CallKind, calls: u32, each: Duration, gap: Duration) -> Option<Overrun> {
        let mut now = Instant::now();
        let mut dog = Watchdog::new(BUDGET);
        dog.calling_guest(now);
        for _ in 0..calls {
            now += gap;
            dog.entering_host(now);
            now += each;
            dog.returning_from_host(|| kind, now);
            if let Some(overrun) = dog.verdict(now) {
                return Some(overrun);
            }
        }
        None
    }

    #[test]
    fn a_loop_of_cheap_calls_is_stopped_like_a_spin() {
        // loop { workload::status(); }: 5 µs in the host, 1 µs in the guest.
        let verdict = run(
            CallKind::Immediate,
            1_000_000,
            Duration::from_micros(5),
            Duration::from_micros(1),
        );
        assert_eq!(verdict, Some(Overrun::Calls));
    }

    #[test]
    fn pure_compute_is_reported_as_compute() {
        let mut now = Instant::now();
        let mut dog = Watchdog::new(BUDGET);
        dog.calling_guest(now);
        now += ms(1999);
        assert_eq!(dog.verdict(now), None);
        now += ms(2);
        assert_eq!(dog.verdict(now), Some(Overrun::Compute));
    }

    #[test]
    fn waits_that_really_wait_rest_the_clock() {
        // A poller: sleep(50) and a little work, for a long time.
        assert_eq!(run(CallKind::Wait, 10_000, ms(50), ms(1)), None);
    }

    #[test]
    fn zero_length_waits_do_not_rest_the_clock() {
        // loop { sleep(0) } is a spin through the host.
        let verdict = run(
            CallKind::Wait,
            10_000_000,
            Duration::from_micros(20),
            Duration::from_micros(1),
        );
        assert_eq!(verdict, Some(Overrun::Calls));
    }

    #[test]
    fn docker_and_probe_time_is_not_the_flows() {
        // A stop with a 10 s grace period, then more calls: not busy.
        let waited_all = |d| CallKind::Io { external: d };
        assert_eq!(
            run(
                waited_all(Duration::from_secs(10)),
                3,
                Duration::from_secs(10),
                ms(1)
            ),
            None
        );
        // But a guest that computes between I/O calls still has a budget.
        assert_eq!(
            run(waited_all(ms(5)), 100, ms(5), ms(100)),
            Some(Overrun::Compute)
        );
    }

    #[test]
    fn io_calls_that_do_not_really_wait_count_like_any_other() {
        // `isolate` refused at once, or handed megabytes to copy: 20 ms of
        // host time each, none of it spent on Docker.
        let refused = CallKind::Io {
            external: Duration::ZERO,
        };
        assert_eq!(run(refused, 1000, ms(20), ms(0)), Some(Overrun::Calls));
        // Waiting its turn at the rate limit (45 ms) is the flow's time too,
        // even when Docker then answers in 5 ms.
        let paced = CallKind::Io { external: ms(5) };
        assert_eq!(run(paced, 1000, ms(50), ms(0)), Some(Overrun::Calls));
    }

    #[test]
    fn time_inside_the_current_host_call_is_not_compute() {
        let mut now = Instant::now();
        let mut dog = Watchdog::new(BUDGET);
        dog.calling_guest(now);
        now += ms(10);
        dog.entering_host(now);
        now += Duration::from_secs(60);
        assert_eq!(
            dog.verdict(now),
            None,
            "a call under way is judged on return"
        );
    }

    #[test]
    fn lowering_a_result_into_the_guest_is_no_fresh_start() {
        // Each call returns an error string: the host calls the guest's
        // allocator inside the call.
        let mut now = Instant::now();
        let mut dog = Watchdog::new(BUDGET);
        dog.calling_guest(now);
        let mut verdict = None;
        for _ in 0..1000 {
            dog.entering_host(now);
            now += ms(5);
            dog.calling_guest(now); // cabi_realloc
            dog.entering_host(now); // which grows its memory
            now += Duration::from_micros(10);
            dog.returning_from_host(|| panic!("an inner call took the kind"), now);
            dog.returning_from_host(|| CallKind::Immediate, now);
            verdict = verdict.or(dog.verdict(now));
        }
        assert_eq!(verdict, Some(Overrun::Calls));
    }

    #[test]
    fn a_wait_whose_result_is_lowered_into_the_guest_still_rests() {
        // workload.wait-for: 5 s of waiting, then a sample with strings.
        let mut now = Instant::now();
        let mut dog = Watchdog::new(BUDGET);
        dog.calling_guest(now);
        for _ in 0..10 {
            now += ms(1500);
            dog.entering_host(now);
            now += Duration::from_secs(5);
            dog.calling_guest(now);
            dog.entering_host(now);
            dog.returning_from_host(|| CallKind::Immediate, now);
            dog.returning_from_host(|| CallKind::Wait, now);
            assert_eq!(dog.verdict(now), None);
        }
    }

    #[test]
    fn a_fresh_call_into_the_guest_gets_a_fresh_budget() {
        let mut now = Instant::now();
        let mut dog = Watchdog::new(BUDGET);
        dog.calling_guest(now);
        now += ms(1900);
        dog.calling_guest(now);
        now += ms(1900);
        assert_eq!(dog.verdict(now), None);
    }
}
