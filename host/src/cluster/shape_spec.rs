//! What a flow asks `shape` for, checked before anything is changed: every
//! number in range, every peer a plausible service name. The flow's record
//! is hostile input; only a [`ShapeSpec`] that passed [`ShapeSpec::validate`]
//! reaches a plan.

use std::fmt;

/// The most a delay or jitter may be: a minute already stops most demos.
pub const MAX_DELAY_MS: u32 = 60_000;
/// `tc`'s htb takes rates in bit/s as a u32-sized figure; 10 Gbit/s is
/// beyond any container link a demo shapes.
pub const MAX_RATE_KBIT: u32 = 10_000_000;
/// Below 8 kbit/s htb's burst arithmetic is meaningless.
pub const MIN_RATE_KBIT: u32 = 8;
/// Peers a network fault may name at once.
pub const MAX_PEERS: usize = 16;

/// Network conditions for the traffic leaving one container, as netem names
/// them. Zero shapes nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShapeSpec {
    pub delay_ms: u32,
    pub jitter_ms: u32,
    pub correlation_pct: f32,
    pub loss_pct: f32,
    pub duplicate_pct: f32,
    pub corrupt_pct: f32,
    pub reorder_pct: f32,
    /// 0: no cap.
    pub rate_kbit: u32,
    /// Service names; empty: all traffic.
    pub towards: Vec<String>,
}

impl ShapeSpec {
    /// The first thing wrong with the spec, as a sentence naming the field.
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [("delay-ms", self.delay_ms), ("jitter-ms", self.jitter_ms)] {
            if value > MAX_DELAY_MS {
                return Err(format!(
                    "{name} {value} is over the {MAX_DELAY_MS} ms limit"
                ));
            }
        }
        if self.jitter_ms > self.delay_ms {
            return Err(format!(
                "jitter-ms {} is more than delay-ms {}: a packet cannot leave before it was sent",
                self.jitter_ms, self.delay_ms
            ));
        }
        for (name, value) in self.percentages() {
            if !value.is_finite() || !(0.0..=100.0).contains(&value) {
                return Err(format!("{name} {value} is not a percentage from 0 to 100"));
            }
        }
        if self.reorder_pct > 0.0 && self.delay_ms == 0 {
            return Err(
                "reorder-pct needs a delay-ms: only delayed packets can be overtaken".into(),
            );
        }
        if self.rate_kbit != 0 && !(MIN_RATE_KBIT..=MAX_RATE_KBIT).contains(&self.rate_kbit) {
            return Err(format!(
                "rate-kbit {} is outside {MIN_RATE_KBIT}–{MAX_RATE_KBIT} (0 for no cap)",
                self.rate_kbit
            ));
        }
        validate_peers("towards", &self.towards, true)?;
        if self.shapes_nothing() {
            return Err(
                "the spec shapes nothing: set a delay, loss, duplicate, corrupt, reorder or rate"
                    .into(),
            );
        }
        Ok(())
    }

    fn percentages(&self) -> [(&'static str, f32); 5] {
        [
            ("correlation-pct", self.correlation_pct),
            ("loss-pct", self.loss_pct),
            ("duplicate-pct", self.duplicate_pct),
            ("corrupt-pct", self.corrupt_pct),
            ("reorder-pct", self.reorder_pct),
        ]
    }

    fn shapes_nothing(&self) -> bool {
        self.delay_ms == 0
            && self.loss_pct == 0.0
            && self.duplicate_pct == 0.0
            && self.corrupt_pct == 0.0
            && self.reorder_pct == 0.0
            && self.rate_kbit == 0
    }

    /// What only netem can do, by field name (empty when the rest can do it all).
    pub fn needs_netem(&self) -> Vec<&'static str> {
        [
            ("duplicate-pct", self.duplicate_pct),
            ("corrupt-pct", self.corrupt_pct),
            ("reorder-pct", self.reorder_pct),
        ]
        .into_iter()
        .filter(|(_, v)| *v > 0.0)
        .map(|(name, _)| name)
        .collect()
    }
}

/// Peer service names: bounded, each a name Compose could have given (so a
/// flow's text never reaches a rule as anything but a looked-up address).
pub fn validate_peers(field: &str, peers: &[String], may_be_empty: bool) -> Result<(), String> {
    if peers.is_empty() && !may_be_empty {
        return Err(format!("{field} is empty: name the services to cut off"));
    }
    if peers.len() > MAX_PEERS {
        return Err(format!(
            "{field} names {} services; at most {MAX_PEERS}",
            peers.len()
        ));
    }
    for peer in peers {
        let plausible = !peer.is_empty()
            && peer.len() <= 128
            && peer
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !plausible {
            return Err(format!(
                "{field}: {:?} is not a service name (letters, digits, '-', '_', '.')",
                crate::sanitize::flow_line(peer.chars().take(64).collect::<String>(), 64)
            ));
        }
    }
    Ok(())
}

/// As the presenter reads it: `delay 200ms ±20ms, loss 5%, towards etcd2`.
impl fmt::Display for ShapeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.delay_ms > 0 {
            let mut delay = format!("delay {}ms", self.delay_ms);
            if self.jitter_ms > 0 {
                delay.push_str(&format!(" ±{}ms", self.jitter_ms));
                if self.correlation_pct > 0.0 {
                    delay.push_str(&format!(" ({}% correlated)", self.correlation_pct));
                }
            }
            parts.push(delay);
        }
        for (name, value) in [
            ("loss", self.loss_pct),
            ("duplicate", self.duplicate_pct),
            ("corrupt", self.corrupt_pct),
            ("reorder", self.reorder_pct),
        ] {
            if value > 0.0 {
                parts.push(format!("{name} {value}%"));
            }
        }
        if self.rate_kbit > 0 {
            parts.push(format!("rate {}kbit", self.rate_kbit));
        }
        if !self.towards.is_empty() {
            parts.push(format!("towards {}", self.towards.join(", ")));
        }
        f.write_str(&parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delay(ms: u32) -> ShapeSpec {
        ShapeSpec {
            delay_ms: ms,
            ..Default::default()
        }
    }

    #[test]
    fn a_plain_delay_is_valid_and_reads_as_the_presenter_says_it() {
        let spec = ShapeSpec {
            jitter_ms: 20,
            loss_pct: 5.0,
            towards: vec!["etcd2".into()],
            ..delay(200)
        };
        assert_eq!(spec.validate(), Ok(()));
        assert_eq!(
            spec.to_string(),
            "delay 200ms ±20ms, loss 5%, towards etcd2"
        );
    }

    #[test]
    fn every_field_out_of_range_is_named() {
        let cases: Vec<(ShapeSpec, &str)> = vec![
            (delay(60_001), "delay-ms 60001"),
            (
                ShapeSpec {
                    jitter_ms: 300,
                    ..delay(200)
                },
                "jitter-ms 300 is more than delay-ms",
            ),
            (
                ShapeSpec {
                    loss_pct: -1.0,
                    ..delay(1)
                },
                "loss-pct -1",
            ),
            (
                ShapeSpec {
                    loss_pct: f32::NAN,
                    ..delay(1)
                },
                "loss-pct NaN",
            ),
            (
                ShapeSpec {
                    duplicate_pct: f32::INFINITY,
                    ..delay(1)
                },
                "duplicate-pct inf",
            ),
            (
                ShapeSpec {
                    corrupt_pct: 100.5,
                    ..delay(1)
                },
                "corrupt-pct 100.5",
            ),
            (
                ShapeSpec {
                    correlation_pct: 101.0,
                    ..delay(1)
                },
                "correlation-pct 101",
            ),
            (
                ShapeSpec {
                    reorder_pct: 10.0,
                    ..Default::default()
                },
                "reorder-pct needs a delay-ms",
            ),
            (
                ShapeSpec {
                    rate_kbit: 7,
                    ..Default::default()
                },
                "rate-kbit 7",
            ),
            (
                ShapeSpec {
                    rate_kbit: u32::MAX,
                    ..Default::default()
                },
                "rate-kbit 4294967295",
            ),
            (ShapeSpec::default(), "shapes nothing"),
            (
                ShapeSpec {
                    towards: vec!["etcd2; rm -rf /".into()],
                    ..delay(1)
                },
                "is not a service name",
            ),
            (
                ShapeSpec {
                    towards: vec![String::new()],
                    ..delay(1)
                },
                "is not a service name",
            ),
            (
                ShapeSpec {
                    towards: vec!["-j ACCEPT".into()],
                    ..delay(1)
                },
                "is not a service name",
            ),
            (
                ShapeSpec {
                    towards: vec!["e".into(); 17],
                    ..delay(1)
                },
                "at most 16",
            ),
        ];
        for (spec, expected) in cases {
            let err = spec.validate().expect_err(expected);
            assert!(err.contains(expected), "{err:?} should say {expected:?}");
        }
    }

    #[test]
    fn only_duplication_corruption_and_reordering_need_netem() {
        assert!(
            ShapeSpec {
                loss_pct: 1.0,
                rate_kbit: 100,
                jitter_ms: 5,
                ..delay(50)
            }
            .needs_netem()
            .is_empty()
        );
        let spec = ShapeSpec {
            corrupt_pct: 1.0,
            reorder_pct: 2.0,
            ..delay(50)
        };
        assert_eq!(spec.needs_netem(), ["corrupt-pct", "reorder-pct"]);
    }

    #[test]
    fn isolate_needs_at_least_one_peer() {
        assert!(
            validate_peers("from-services", &[], false)
                .unwrap_err()
                .contains("empty")
        );
        assert_eq!(
            validate_peers("from-services", &["etcd2".into()], false),
            Ok(())
        );
    }
}
