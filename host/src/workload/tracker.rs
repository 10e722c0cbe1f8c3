//! Throughput tracker: a sliding window of samples, a baseline measured from the first
//! healthy samples, and a status (no data / warming up / normal / degraded) with
//! hysteresis. Degradation is only ever measured from the samples, never simulated.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::parse::Sample;

/// What the audience sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// No sample yet, or none for `silence_timeout`.
    NoData,
    /// Collecting the warm-up and baseline samples.
    WarmingUp,
    Normal,
    Degraded,
}

/// Tracker tuning; see [`TrackerConfig::validate`] for the accepted ranges.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// Samples kept for the sparkline/history (default 30).
    pub window: usize,
    /// First samples ignored for the baseline: connection setup (default 1).
    pub warmup_samples: usize,
    /// The mean of the next N samples is the baseline (default 5).
    pub baseline_samples: usize,
    /// A sample below `degraded_fraction × baseline` means Degraded (default 0.5).
    pub degraded_fraction: f64,
    /// Back to Normal only after `recovery_samples` consecutive samples at or above
    /// `recovery_fraction × baseline` (default 0.75).
    pub recovery_fraction: f64,
    /// See `recovery_fraction` (default 3).
    pub recovery_samples: usize,
    /// No sample for this long means NoData (default 5 s).
    pub silence_timeout: Duration,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            window: 30,
            warmup_samples: 1,
            baseline_samples: 5,
            degraded_fraction: 0.5,
            recovery_fraction: 0.75,
            recovery_samples: 3,
            silence_timeout: Duration::from_secs(5),
        }
    }
}

impl TrackerConfig {
    /// Check the ranges; the error is a one-line message for the user.
    pub fn validate(&self) -> Result<(), String> {
        if self.window == 0 {
            return Err("window must be at least 1 sample (got 0)".to_owned());
        }
        if self.baseline_samples == 0 {
            return Err("baseline samples must be at least 1 (got 0)".to_owned());
        }
        if !(self.degraded_fraction > 0.0 && self.degraded_fraction <= 1.0) {
            return Err(format!(
                "degraded fraction must be between 0 and 1 (got {})",
                self.degraded_fraction
            ));
        }
        if !(self.recovery_fraction > 0.0 && self.recovery_fraction <= 1.0) {
            return Err(format!(
                "recovery fraction must be between 0 and 1 (got {})",
                self.recovery_fraction
            ));
        }
        if self.recovery_fraction < self.degraded_fraction {
            return Err(format!(
                "recovery fraction ({}) must not be below the degraded fraction ({})",
                self.recovery_fraction, self.degraded_fraction
            ));
        }
        if self.recovery_samples == 0 {
            return Err("recovery samples must be at least 1 (got 0)".to_owned());
        }
        if self.silence_timeout.is_zero() {
            return Err("silence timeout must be greater than zero".to_owned());
        }
        Ok(())
    }
}

/// A status transition, returned when it happens.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    pub from: Status,
    pub to: Status,
}

/// Tracks one workload stream's throughput.
///
/// * `NoData` until the first sample.
/// * `WarmingUp` until `warmup_samples + baseline_samples` samples were seen; the
///   baseline is then the mean of the `baseline_samples` samples after the warm-up.
///   If that mean is 0 the tracker stays `WarmingUp`, discards those samples and
///   collects the next `baseline_samples` (a zero baseline is meaningless: no fraction
///   of it can ever be "degraded"). The sample that completes the baseline leaves the
///   tracker `Normal`.
/// * Then each sample is judged on its own: one below `degraded_fraction × baseline`
///   makes it `Degraded` at once, so the audience sees a drop immediately; from
///   `Degraded`, it returns to `Normal` only after `recovery_samples` consecutive
///   samples at or above `recovery_fraction × baseline` (hysteresis: a sample in
///   between neither degrades nor counts towards recovery, and resets the streak).
/// * No sample for `silence_timeout` (checked by [`Tracker::tick`]) means `NoData`.
///   The next sample resumes with the same baseline and the same rules; a stream that
///   went silent while `Degraded` is still degraded and must recover (silence breaks a
///   recovery streak).
///
/// The baseline never changes once set: a demo's degradation is relative to the
/// healthy cluster measured at the start, and a baseline that followed the throughput
/// would slowly accept a degraded cluster as the new normal.
///
/// Non-finite or negative rates count as 0. The tracker does not panic on an invalid
/// configuration (zero sizes are treated as 1), but callers should
/// [`TrackerConfig::validate`] it first.
pub struct Tracker {
    config: TrackerConfig,
    status: Status,
    window: VecDeque<f64>,
    current: Option<Sample>,
    seen: u64,
    /// Samples still to skip before collecting the baseline.
    warmup_left: usize,
    /// Sum and number of the baseline samples collected so far.
    baseline_sum: f64,
    baseline_n: usize,
    baseline: Option<f64>,
    /// Judged degraded (kept across silence).
    degraded: bool,
    /// Consecutive samples at or above the recovery threshold while degraded.
    good_streak: usize,
    last_sample_at: Option<Instant>,
}

impl Tracker {
    pub fn new(config: TrackerConfig) -> Self {
        Self {
            status: Status::NoData,
            window: VecDeque::with_capacity(config.window.min(1024)),
            current: None,
            seen: 0,
            warmup_left: config.warmup_samples,
            baseline_sum: 0.0,
            baseline_n: 0,
            baseline: None,
            degraded: false,
            good_streak: 0,
            last_sample_at: None,
            config,
        }
    }

    /// Record a sample received at `now`; returns the status change it caused, if any.
    pub fn push(&mut self, sample: &Sample, now: Instant) -> Option<StatusChange> {
        let value = if sample.ops_per_sec.is_finite() && sample.ops_per_sec > 0.0 {
            sample.ops_per_sec
        } else {
            0.0
        };
        self.seen += 1;
        self.current = Some(sample.clone());
        self.last_sample_at = Some(now);
        self.window.push_back(value);
        while self.window.len() > self.config.window.max(1) {
            self.window.pop_front();
        }

        match self.baseline {
            None => self.collect_baseline(value),
            Some(baseline) => self.judge(value, baseline),
        }

        let to = match (self.baseline, self.degraded) {
            (None, _) => Status::WarmingUp,
            (Some(_), false) => Status::Normal,
            (Some(_), true) => Status::Degraded,
        };
        self.set_status(to)
    }

    /// Call on a timer: turns the status to `NoData` after `silence_timeout` without
    /// a sample.
    pub fn tick(&mut self, now: Instant) -> Option<StatusChange> {
        let last = self.last_sample_at?;
        if self.status == Status::NoData
            || now.saturating_duration_since(last) < self.config.silence_timeout
        {
            return None;
        }
        self.good_streak = 0;
        self.set_status(Status::NoData)
    }

    pub fn status(&self) -> Status {
        self.status
    }

    /// The baseline rate, once measured.
    pub fn baseline(&self) -> Option<f64> {
        self.baseline
    }

    /// The latest sample.
    pub fn current(&self) -> Option<&Sample> {
        self.current.as_ref()
    }

    /// `ops_per_sec` of the window's samples, oldest first.
    pub fn history(&self) -> impl Iterator<Item = f64> + '_ {
        self.window.iter().copied()
    }

    /// Samples pushed since creation.
    pub fn samples_seen(&self) -> u64 {
        self.seen
    }

    fn collect_baseline(&mut self, value: f64) {
        if self.warmup_left > 0 {
            self.warmup_left -= 1;
            return;
        }
        self.baseline_sum += value;
        self.baseline_n += 1;
        if self.baseline_n < self.config.baseline_samples.max(1) {
            return;
        }
        let mean = self.baseline_sum / self.baseline_n as f64;
        if mean > 0.0 && mean.is_finite() {
            self.baseline = Some(mean);
        } else {
            // Nothing ran yet: start over with the next samples.
            self.baseline_sum = 0.0;
            self.baseline_n = 0;
        }
    }

    fn judge(&mut self, value: f64, baseline: f64) {
        if value < self.config.degraded_fraction * baseline {
            self.degraded = true;
            self.good_streak = 0;
        } else if self.degraded {
            if value >= self.config.recovery_fraction * baseline {
                self.good_streak += 1;
                if self.good_streak >= self.config.recovery_samples.max(1) {
                    self.degraded = false;
                    self.good_streak = 0;
                }
            } else {
                self.good_streak = 0;
            }
        }
    }

    fn set_status(&mut self, to: Status) -> Option<StatusChange> {
        let from = std::mem::replace(&mut self.status, to);
        (from != to).then_some(StatusChange { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::Format;
    use super::*;

    fn sample(ops: f64) -> Sample {
        Sample {
            format: Format::Ycsb,
            elapsed_s: None,
            ops_per_sec: ops,
            failures_per_sec: 0.0,
            ops: Vec::new(),
        }
    }

    /// Pushes samples one second apart starting at `t0`, returning the changes.
    struct Feeder {
        tracker: Tracker,
        t0: Instant,
        t: Duration,
    }

    impl Feeder {
        fn new(config: TrackerConfig) -> Self {
            Self {
                tracker: Tracker::new(config),
                t0: Instant::now(),
                t: Duration::ZERO,
            }
        }

        fn now(&self) -> Instant {
            self.t0 + self.t
        }

        fn push(&mut self, ops: f64) -> Option<StatusChange> {
            self.t += Duration::from_secs(1);
            let now = self.now();
            self.tracker.push(&sample(ops), now)
        }

        fn push_all(&mut self, values: &[f64]) -> Vec<StatusChange> {
            values.iter().filter_map(|&v| self.push(v)).collect()
        }

        fn wait(&mut self, d: Duration) -> Option<StatusChange> {
            self.t += d;
            let now = self.now();
            self.tracker.tick(now)
        }

        fn status(&self) -> Status {
            self.tracker.status()
        }
    }

    /// Default config, already past warm-up with a baseline of 100.
    fn normal_at_100() -> Feeder {
        let mut f = Feeder::new(TrackerConfig::default());
        f.push_all(&[3.0, 100.0, 100.0, 100.0, 100.0, 100.0]);
        assert_eq!(f.status(), Status::Normal);
        assert_eq!(f.tracker.baseline(), Some(100.0));
        f
    }

    fn change(from: Status, to: Status) -> StatusChange {
        StatusChange { from, to }
    }

    #[test]
    fn default_config_is_valid_and_as_documented() {
        let c = TrackerConfig::default();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(
            (
                c.window,
                c.warmup_samples,
                c.baseline_samples,
                c.recovery_samples
            ),
            (30, 1, 5, 3)
        );
        assert_eq!((c.degraded_fraction, c.recovery_fraction), (0.5, 0.75));
        assert_eq!(c.silence_timeout, Duration::from_secs(5));
    }

    #[test]
    fn validate_rejects_out_of_range_values_with_one_line_messages() {
        let bad = [
            TrackerConfig {
                degraded_fraction: 1.5,
                ..Default::default()
            },
            TrackerConfig {
                degraded_fraction: 0.0,
                ..Default::default()
            },
            TrackerConfig {
                degraded_fraction: f64::NAN,
                ..Default::default()
            },
            TrackerConfig {
                recovery_fraction: -1.0,
                ..Default::default()
            },
            TrackerConfig {
                recovery_fraction: 0.4,
                ..Default::default()
            },
            TrackerConfig {
                window: 0,
                ..Default::default()
            },
            TrackerConfig {
                baseline_samples: 0,
                ..Default::default()
            },
            TrackerConfig {
                recovery_samples: 0,
                ..Default::default()
            },
            TrackerConfig {
                silence_timeout: Duration::ZERO,
                ..Default::default()
            },
        ];
        for config in bad {
            let err = config.validate().expect_err("invalid");
            assert!(!err.contains('\n') && !err.is_empty(), "{err}");
        }
        assert_eq!(
            TrackerConfig {
                degraded_fraction: 1.5,
                recovery_fraction: 1.0,
                ..Default::default()
            }
            .validate(),
            Err("degraded fraction must be between 0 and 1 (got 1.5)".to_owned())
        );
        let zero_warmup = TrackerConfig {
            warmup_samples: 0,
            ..Default::default()
        };
        assert_eq!(zero_warmup.validate(), Ok(()));
    }

    #[test]
    fn no_data_until_the_first_sample() {
        let mut f = Feeder::new(TrackerConfig::default());
        assert_eq!(f.status(), Status::NoData);
        assert_eq!(f.wait(Duration::from_secs(60)), None);
        assert_eq!(f.status(), Status::NoData);
        assert_eq!(f.tracker.current(), None);
        assert_eq!(f.tracker.samples_seen(), 0);
        assert_eq!(
            f.push(10.0),
            Some(change(Status::NoData, Status::WarmingUp))
        );
    }

    #[test]
    fn warming_up_until_warmup_plus_baseline_samples() {
        let mut f = Feeder::new(TrackerConfig::default());
        for _ in 0..5 {
            f.push(100.0);
            assert_eq!(f.status(), Status::WarmingUp);
            assert_eq!(f.tracker.baseline(), None);
        }
        assert_eq!(
            f.push(100.0),
            Some(change(Status::WarmingUp, Status::Normal))
        );
        assert_eq!(f.tracker.samples_seen(), 6);
    }

    #[test]
    fn baseline_is_mean_of_samples_after_warmup() {
        let mut f = Feeder::new(TrackerConfig::default());
        // The warm-up sample (connection setup) is ignored.
        f.push_all(&[5000.0, 90.0, 110.0, 100.0, 95.0, 105.0]);
        assert_eq!(f.tracker.baseline(), Some(100.0));
        assert_eq!(f.status(), Status::Normal);
    }

    #[test]
    fn zero_baseline_keeps_warming_up() {
        let mut f = Feeder::new(TrackerConfig::default());
        f.push_all(&[0.0; 6]);
        assert_eq!(f.status(), Status::WarmingUp);
        assert_eq!(f.tracker.baseline(), None);
        f.push_all(&[0.0; 20]);
        assert_eq!(f.status(), Status::WarmingUp);
        // The zero batch is discarded; the next full batch is the baseline.
        f.push_all(&[200.0; 4]);
        assert_eq!(f.status(), Status::WarmingUp);
        assert_eq!(
            f.push(200.0),
            Some(change(Status::WarmingUp, Status::Normal))
        );
        assert_eq!(f.tracker.baseline(), Some(200.0));
    }

    #[test]
    fn one_slow_sample_marks_degraded_at_once() {
        let mut f = normal_at_100();
        assert_eq!(f.push(49.9), Some(change(Status::Normal, Status::Degraded)));
    }

    #[test]
    fn sample_at_the_degraded_threshold_is_not_degraded() {
        let mut f = normal_at_100();
        assert_eq!(f.push(50.0), None);
        assert_eq!(f.status(), Status::Normal);
    }

    #[test]
    fn dip_between_thresholds_stays_normal() {
        let mut f = normal_at_100();
        assert!(f.push_all(&[60.0, 70.0, 55.0]).is_empty());
        assert_eq!(f.status(), Status::Normal);
    }

    #[test]
    fn recovery_needs_consecutive_good_samples() {
        let mut f = normal_at_100();
        f.push(10.0);
        assert_eq!(f.push(80.0), None);
        assert_eq!(f.push(80.0), None);
        assert_eq!(f.status(), Status::Degraded);
        assert_eq!(f.push(75.0), Some(change(Status::Degraded, Status::Normal)));
    }

    #[test]
    fn sample_between_thresholds_resets_the_recovery_streak() {
        let mut f = normal_at_100();
        f.push(10.0);
        assert!(f.push_all(&[90.0, 90.0, 60.0, 90.0, 90.0]).is_empty());
        assert_eq!(f.status(), Status::Degraded);
        assert_eq!(f.push(90.0), Some(change(Status::Degraded, Status::Normal)));
    }

    #[test]
    fn slow_sample_during_recovery_stays_degraded_and_restarts_the_streak() {
        let mut f = normal_at_100();
        f.push(10.0);
        assert!(f.push_all(&[90.0, 90.0, 20.0, 90.0, 90.0]).is_empty());
        assert_eq!(f.status(), Status::Degraded);
        assert_eq!(f.push(90.0), Some(change(Status::Degraded, Status::Normal)));
    }

    #[test]
    fn baseline_never_changes_once_set() {
        let mut f = normal_at_100();
        f.push_all(&[1000.0; 40]);
        assert_eq!(f.tracker.baseline(), Some(100.0));
        f.push_all(&[10.0; 40]);
        assert_eq!(f.tracker.baseline(), Some(100.0));
        assert_eq!(f.status(), Status::Degraded);
    }

    #[test]
    fn silence_turns_no_data_after_timeout() {
        let mut f = normal_at_100();
        assert_eq!(f.wait(Duration::from_millis(4999)), None);
        assert_eq!(f.status(), Status::Normal);
        assert_eq!(
            f.wait(Duration::from_millis(1)),
            Some(change(Status::Normal, Status::NoData))
        );
        assert_eq!(f.wait(Duration::from_secs(10)), None, "reported once");
    }

    #[test]
    fn tick_with_a_clock_before_the_last_sample_is_harmless() {
        let mut f = normal_at_100();
        let earlier = f.t0;
        assert_eq!(f.tracker.tick(earlier), None);
        assert_eq!(f.status(), Status::Normal);
    }

    #[test]
    fn after_silence_a_good_sample_resumes_normal_with_the_same_baseline() {
        let mut f = normal_at_100();
        f.wait(Duration::from_secs(6));
        assert_eq!(f.push(100.0), Some(change(Status::NoData, Status::Normal)));
        assert_eq!(f.tracker.baseline(), Some(100.0));
    }

    #[test]
    fn after_silence_a_slow_sample_is_degraded() {
        let mut f = normal_at_100();
        f.wait(Duration::from_secs(6));
        assert_eq!(f.push(10.0), Some(change(Status::NoData, Status::Degraded)));
    }

    #[test]
    fn silence_does_not_clear_degraded() {
        let mut f = normal_at_100();
        f.push_all(&[10.0, 90.0, 90.0]);
        f.wait(Duration::from_secs(6));
        assert_eq!(f.status(), Status::NoData);
        // The streak was broken by the silence: three fresh good samples are needed.
        assert_eq!(f.push(90.0), Some(change(Status::NoData, Status::Degraded)));
        assert_eq!(f.push(90.0), None);
        assert_eq!(f.push(90.0), Some(change(Status::Degraded, Status::Normal)));
    }

    #[test]
    fn silence_during_warm_up_resumes_warming_up() {
        let mut f = Feeder::new(TrackerConfig::default());
        f.push_all(&[100.0, 100.0]);
        f.wait(Duration::from_secs(6));
        assert_eq!(f.status(), Status::NoData);
        assert_eq!(
            f.push(100.0),
            Some(change(Status::NoData, Status::WarmingUp))
        );
        f.push_all(&[100.0; 3]);
        assert_eq!(f.status(), Status::Normal);
    }

    #[test]
    fn history_keeps_the_window_oldest_first() {
        let config = TrackerConfig {
            window: 3,
            ..Default::default()
        };
        let mut f = Feeder::new(config);
        f.push_all(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(f.tracker.history().collect::<Vec<_>>(), [3.0, 4.0, 5.0]);
        assert_eq!(f.tracker.samples_seen(), 5);
        assert_eq!(f.tracker.current().map(|s| s.ops_per_sec), Some(5.0));
    }

    #[test]
    fn non_finite_or_negative_rates_count_as_zero() {
        let mut f = normal_at_100();
        assert_eq!(
            f.push(f64::NAN),
            Some(change(Status::Normal, Status::Degraded))
        );
        f.push_all(&[f64::INFINITY, -5.0]);
        let last: Vec<f64> = f.tracker.history().skip(6).collect();
        assert_eq!(last, [0.0, 0.0, 0.0]);
    }

    #[test]
    fn custom_thresholds_are_honoured() {
        let config = TrackerConfig {
            warmup_samples: 0,
            baseline_samples: 2,
            degraded_fraction: 0.9,
            recovery_fraction: 1.0,
            recovery_samples: 1,
            ..Default::default()
        };
        let mut f = Feeder::new(config);
        f.push_all(&[100.0, 100.0]);
        assert_eq!(f.status(), Status::Normal);
        assert_eq!(f.push(89.0), Some(change(Status::Normal, Status::Degraded)));
        assert_eq!(f.push(99.0), None);
        assert_eq!(
            f.push(100.0),
            Some(change(Status::Degraded, Status::Normal))
        );
    }

    #[test]
    fn invalid_config_does_not_panic() {
        let config = TrackerConfig {
            window: 0,
            baseline_samples: 0,
            recovery_samples: 0,
            degraded_fraction: f64::NAN,
            recovery_fraction: f64::NAN,
            silence_timeout: Duration::ZERO,
            ..Default::default()
        };
        let mut f = Feeder::new(config);
        f.push_all(&[1.0, 2.0, 0.0, 5.0]);
        f.wait(Duration::ZERO);
        assert!(f.tracker.history().count() <= 1);
    }

    #[test]
    fn status_serializes_in_kebab_case() {
        assert_eq!(
            serde_json::to_string(&Status::NoData).unwrap(),
            "\"no-data\""
        );
        assert_eq!(
            serde_json::to_string(&Status::WarmingUp).unwrap(),
            "\"warming-up\""
        );
    }
}
