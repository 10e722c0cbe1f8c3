//! The `[VERDICT]` line: what a load tool that checks its own history
//! reports, about once a second, beside its throughput lines (Java YCSB's
//! and go-ycsb's). The host reads these counts only from the workload
//! source the presenter chose; a flow's narration cannot make one.
//!
//! The format, one line, cumulative counts since the tool started:
//!
//! ```text
//! [LABEL ][VERDICT] acknowledged=N failed=N unknown=N reads=N stale=N stale-serializable=N lost=N final=yes|no
//! ```
//!
//! - `acknowledged`: writes the store acknowledged;
//! - `failed`: writes that never reached it; `unknown`: writes that may or
//!   may not have been applied (a timeout, an error after sending);
//! - `reads`: reads answered; `stale`: linearizable reads no linearizable
//!   order explains (older than a write acknowledged before the read
//!   began, or a value never written); `stale-serializable`: the same, of
//!   reads that were allowed to lag (etcd's serializable reads);
//! - `lost`: acknowledged writes a final read did not find; `final=yes`
//!   once that read ran (until then `lost` is 0 and means "not checked").
//!
//! Fields may come in any order and unknown fields are ignored (a newer
//! tool may report more); `acknowledged`, `lost`, `stale` and `unknown` are
//! required, the others default to 0 (`final` to `no`).

use std::fmt;
use std::str::FromStr;

/// The tag that marks a verdict line.
pub const TAG: &str = "[VERDICT]";

/// The counts of one `[VERDICT]` line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    pub acknowledged: u64,
    pub failed: u64,
    pub unknown: u64,
    pub reads: u64,
    pub stale: u64,
    pub stale_serializable: u64,
    pub lost: u64,
    #[serde(rename = "final")]
    pub final_read: bool,
}

impl Verdict {
    /// Whether anything the store promised was broken: a stale
    /// linearizable read or a lost acknowledged write. (Stale serializable
    /// reads are allowed; unknown outcomes are not anomalies.)
    pub fn anomalies(&self) -> u64 {
        self.stale.saturating_add(self.lost)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{TAG} acknowledged={} failed={} unknown={} reads={} stale={} stale-serializable={} lost={} final={}",
            self.acknowledged,
            self.failed,
            self.unknown,
            self.reads,
            self.stale,
            self.stale_serializable,
            self.lost,
            if self.final_read { "yes" } else { "no" }
        )
    }
}

/// Why a line that carries the tag is not a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// No `[VERDICT]` tag: not a verdict line at all.
    NotAVerdict,
    /// The tag is there, the counts are not right.
    Malformed(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::NotAVerdict => write!(f, "not a {TAG} line"),
            ParseError::Malformed(why) => write!(f, "a {TAG} line {why}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// The longest line read as a verdict (a real one is ~120 bytes).
const MAX_LINE: usize = 1024;

impl FromStr for Verdict {
    type Err = ParseError;

    fn from_str(line: &str) -> Result<Self, ParseError> {
        let Some(at) = line.find(TAG) else {
            return Err(ParseError::NotAVerdict);
        };
        if line.len() > MAX_LINE {
            return Err(ParseError::Malformed(format!(
                "is {} bytes long (at most {MAX_LINE})",
                line.len()
            )));
        }
        let mut verdict = Verdict::default();
        let mut required = [
            ("acknowledged", false),
            ("lost", false),
            ("stale", false),
            ("unknown", false),
        ];
        for field in line[at + TAG.len()..].split_whitespace() {
            let Some((name, value)) = field.split_once('=') else {
                return Err(ParseError::Malformed(format!(
                    "has {field:?} where NAME=VALUE belongs"
                )));
            };
            let count = || {
                value.parse::<u64>().map_err(|_| {
                    ParseError::Malformed(format!("gives {name} as {value:?}, not a count"))
                })
            };
            match name {
                "acknowledged" => verdict.acknowledged = count()?,
                "failed" => verdict.failed = count()?,
                "unknown" => verdict.unknown = count()?,
                "reads" => verdict.reads = count()?,
                "stale" => verdict.stale = count()?,
                "stale-serializable" => verdict.stale_serializable = count()?,
                "lost" => verdict.lost = count()?,
                "final" => {
                    verdict.final_read = match value {
                        "yes" => true,
                        "no" => false,
                        _ => {
                            return Err(ParseError::Malformed(format!(
                                "gives final as {value:?}, not yes or no"
                            )));
                        }
                    }
                }
                _ => {}
            }
            if let Some(seen) = required.iter_mut().find(|(n, _)| *n == name) {
                seen.1 = true;
            }
        }
        if let Some((missing, _)) = required.iter().find(|(_, seen)| !seen) {
            return Err(ParseError::Malformed(format!("has no {missing}=")));
        }
        Ok(verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_reads_back_what_it_wrote() {
        let v = Verdict {
            acknowledged: 10,
            failed: 1,
            unknown: 2,
            reads: 30,
            stale: 0,
            stale_serializable: 4,
            lost: 3,
            final_read: true,
        };
        let line = v.to_string();
        assert_eq!(
            line,
            "[VERDICT] acknowledged=10 failed=1 unknown=2 reads=30 stale=0 stale-serializable=4 lost=3 final=yes"
        );
        assert_eq!(line.parse(), Ok(v));
        assert_eq!(v.anomalies(), 3);
    }

    #[test]
    fn a_label_order_and_unknown_fields_are_tolerated() {
        let v: Verdict = "etcd [VERDICT] unknown=1 lost=0 future=7 stale=2 acknowledged=5"
            .parse()
            .unwrap();
        assert_eq!(
            (v.acknowledged, v.stale, v.unknown, v.final_read),
            (5, 2, 1, false)
        );
    }

    #[test]
    fn bad_verdict_lines_say_what_is_wrong() {
        assert_eq!(
            "2026-12-07 10 sec: 5 operations".parse::<Verdict>(),
            Err(ParseError::NotAVerdict)
        );
        for (line, says) in [
            ("[VERDICT] acknowledged=1 lost=0 stale=0", "has no unknown="),
            (
                "[VERDICT] acknowledged=-1 lost=0 stale=0 unknown=0",
                "not a count",
            ),
            (
                "[VERDICT] acknowledged=NaN lost=0 stale=0 unknown=0",
                "not a count",
            ),
            (
                "[VERDICT] acknowledged=99999999999999999999 lost=0 stale=0 unknown=0",
                "not a count",
            ),
            (
                "[VERDICT] acknowledged lost=0 stale=0 unknown=0",
                "NAME=VALUE",
            ),
            (
                "[VERDICT] acknowledged=1 lost=0 stale=0 unknown=0 final=maybe",
                "yes or no",
            ),
        ] {
            match line.parse::<Verdict>() {
                Err(ParseError::Malformed(why)) => assert!(why.contains(says), "{line}: {why}"),
                other => panic!("{line}: {other:?}"),
            }
        }
        let long = format!(
            "[VERDICT] acknowledged=1 lost=0 stale=0 unknown=0 {}",
            "x=1 ".repeat(400)
        );
        assert!(matches!(
            long.parse::<Verdict>(),
            Err(ParseError::Malformed(_))
        ));
    }
}
