//! A token bucket: the one rate limit behind every flood a flow can cause
//! (narration, badges, log lines, Docker and probe calls).

use std::time::{Duration, Instant};

/// Allows `burst` units at once and `per_second` units a second after that.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    pub fn new(per_second: f64, burst: f64) -> Self {
        TokenBucket {
            per_second,
            burst,
            tokens: burst,
            refilled_at: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.refilled_at = now;
    }

    /// Takes `cost` units if they are there now.
    pub fn try_take(&mut self, cost: f64, now: Instant) -> bool {
        self.refill(now);
        // A single item larger than the whole burst would never pass; it
        // passes when the bucket is full, and leaves it empty.
        let cost = cost.min(self.burst);
        if self.tokens >= cost {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }

    /// Takes one unit, and says how long the caller must wait for it first
    /// (zero when it is there now). The unit is owed either way, so callers
    /// that wait in turn are spaced out at the rate.
    pub fn take_one_after(&mut self, now: Instant) -> Duration {
        self.take_after(1.0, now)
    }

    /// Takes `cost` units, and says how long the caller must wait for them
    /// first, as [`Self::take_one_after`] does for one.
    pub fn take_after(&mut self, cost: f64, now: Instant) -> Duration {
        self.refill(now);
        self.tokens -= cost;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.per_second)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 5.0);
        let passed = (0..100).filter(|_| bucket.try_take(1.0, start)).count();
        assert_eq!(passed, 5);
        // One second later: ten more.
        let later = start + Duration::from_secs(1);
        let passed = (0..100).filter(|_| bucket.try_take(1.0, later)).count();
        assert_eq!(passed, 5, "refill is capped at the burst");
        let much_later = later + Duration::from_millis(300);
        assert_eq!(
            (0..100)
                .filter(|_| bucket.try_take(1.0, much_later))
                .count(),
            3
        );
    }

    #[test]
    fn an_item_larger_than_the_burst_passes_only_from_a_full_bucket() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1.0, 4.0);
        assert!(bucket.try_take(100.0, start));
        assert!(!bucket.try_take(1.0, start));
    }

    #[test]
    fn a_large_cost_waits_in_proportion() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1000.0, 2000.0);
        assert_eq!(bucket.take_after(1500.0, start), Duration::ZERO);
        let wait = bucket.take_after(1500.0, start);
        assert!((wait.as_secs_f64() - 1.0).abs() < 1e-9, "{wait:?}");
    }

    #[test]
    fn waiting_callers_are_spaced_at_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 2.0);
        assert_eq!(bucket.take_one_after(start), Duration::ZERO);
        assert_eq!(bucket.take_one_after(start), Duration::ZERO);
        let third = bucket.take_one_after(start);
        let fourth = bucket.take_one_after(start);
        assert!((third.as_secs_f64() - 0.1).abs() < 1e-9, "{third:?}");
        assert!((fourth.as_secs_f64() - 0.2).abs() < 1e-9, "{fourth:?}");
    }
}
