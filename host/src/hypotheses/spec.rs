//! A hypothesis as the presenter writes it (`--hypothesis SPEC`):
//!
//! ```text
//! CHECK[@MOMENT,MOMENT…][!abort]
//! CHECK:  throughput>=0.5*baseline | throughput>=50% | p99<=200ms | p99<=1.5s
//!         | no-lost-writes | no-stale-reads | all-running
//! MOMENT: before | continuously | after-undo[:30s] | end
//! ```
//!
//! Without moments: `before,after-undo:30s,end`. `!abort` makes it an
//! abort condition, checked continuously as well. Every number is checked
//! here: a NaN, a negative, a huge one or an unknown word is a one-line
//! error naming what was wrong.

use super::{Check, DEFAULT_RECOVERY, Hypothesis, MAX_HYPOTHESES, Moment, Origin};
use std::time::Duration;

/// The longest recovery time `after-undo` accepts.
const MAX_RECOVERY: Duration = Duration::from_secs(3600);
/// The longest spec read (a real one is ~40 bytes).
const MAX_SPEC: usize = 200;

const FORMS: &str = "throughput>=0.5*baseline, throughput>=50%, p99<=200ms, no-lost-writes, no-stale-reads or all-running, then optionally @before,continuously,after-undo:30s,end and !abort";

impl std::str::FromStr for Hypothesis {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        parse(text, Origin::Presenter)
    }
}

/// Reads one hypothesis, set by `origin`.
pub fn parse(text: &str, origin: Origin) -> Result<Hypothesis, String> {
    let shown: String = text.chars().take(60).filter(|c| !c.is_control()).collect();
    if text.len() > MAX_SPEC {
        return Err(format!(
            "hypothesis '{shown}…' is longer than {MAX_SPEC} bytes"
        ));
    }
    if text.chars().any(|c| c.is_control()) {
        return Err(format!("hypothesis '{shown}' contains control characters"));
    }
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (rest, abort) = match compact.strip_suffix("!abort") {
        Some(rest) => (rest, true),
        None => (compact.as_str(), false),
    };
    let (check_text, moments_text) = match rest.split_once('@') {
        Some((check, moments)) => (check, Some(moments)),
        None => (rest, None),
    };
    let check = parse_check(check_text)
        .map_err(|why| format!("hypothesis '{shown}': {why} (write {FORMS})"))?;
    let moments = match moments_text {
        Some(list) => list
            .split(',')
            .map(parse_moment)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|why| format!("hypothesis '{shown}': {why} (write {FORMS})"))?,
        None => Vec::new(),
    };
    let mut moments = completed(moments, abort);
    moments.dedup();
    Ok(Hypothesis {
        name: compact,
        check,
        moments,
        abort,
        origin,
    })
}

/// Whether a hypothesis (a flow's, made from typed values rather than
/// read from text) is within the bounds the text form enforces; says which
/// it is not.
pub fn check_bounds(h: &Hypothesis) -> Result<(), String> {
    match h.check {
        Check::ThroughputAtLeast { fraction } if !(fraction > 0.0 && fraction <= 10.0) => {
            return Err(format!(
                "asks for a throughput of {fraction} × baseline (between 0 and 10)"
            ));
        }
        Check::P99AtMost { ms } if !(ms > 0.0 && ms <= 600_000.0) => {
            return Err(format!("bounds p99 at {ms} ms (between 0 and 600000)"));
        }
        _ => {}
    }
    if h.moments.len() > 8 {
        return Err(format!("names {} moments (at most 8)", h.moments.len()));
    }
    for moment in &h.moments {
        if let Moment::AfterUndo { within } = moment
            && (within.is_zero() || *within > MAX_RECOVERY)
        {
            return Err(format!(
                "gives a recovery time of {} ms (between 0 and {} ms)",
                within.as_millis(),
                MAX_RECOVERY.as_millis()
            ));
        }
    }
    Ok(())
}

/// The moments as given, or the default ones (before, after each undo
/// within [`DEFAULT_RECOVERY`], end) when none is; an abort condition is
/// checked continuously as well. Written once for the presenter's text and
/// a flow's typed hypotheses.
fn completed(mut moments: Vec<Moment>, abort: bool) -> Vec<Moment> {
    if moments.is_empty() {
        moments = vec![
            Moment::Before,
            Moment::AfterUndo {
                within: DEFAULT_RECOVERY,
            },
            Moment::End,
        ];
    }
    if abort && !moments.contains(&Moment::Continuously) {
        moments.push(Moment::Continuously);
    }
    moments
}

/// A flow's hypothesis, named as the presenter would write it.
pub fn from_flow(check: Check, moments: Vec<Moment>, abort: bool) -> Hypothesis {
    let mut moments = completed(moments, abort);
    moments.truncate(9);
    let check_text = match &check {
        Check::ThroughputAtLeast { fraction } => format!("throughput>={fraction}*baseline"),
        Check::P99AtMost { ms } => format!("p99<={ms}ms"),
        Check::NoLostWrites => "no-lost-writes".into(),
        Check::NoStaleReads => "no-stale-reads".into(),
        Check::AllRunning => "all-running".into(),
    };
    let moment_text: Vec<String> = moments
        .iter()
        .map(|m| match m {
            Moment::Before => "before".into(),
            Moment::Continuously => "continuously".into(),
            Moment::AfterUndo { within } => format!("after-undo:{}ms", within.as_millis()),
            Moment::End => "end".into(),
        })
        .collect();
    let name = format!(
        "{check_text}@{}{}",
        moment_text.join(","),
        if abort { "!abort" } else { "" }
    );
    Hypothesis {
        name,
        check,
        moments,
        abort,
        origin: Origin::Flow,
    }
}

/// The most a hypotheses file may hold.
const MAX_FILE: u64 = 64 * 1024;

/// The specs of a hypotheses file: one per line, `#` starts a comment.
pub fn read_file(path: &std::path::Path) -> Result<Vec<String>, String> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read the hypotheses file {shown}: {e}"))?
        .len();
    if size > MAX_FILE {
        return Err(format!(
            "the hypotheses file {shown} is {size} bytes; at most {MAX_FILE}"
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the hypotheses file {shown}: {e}"))?;
    Ok(specs_of(&text))
}

/// The specs of a hypotheses file's text.
fn specs_of(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect()
}

/// Reads the presenter's list, bounded.
pub fn parse_all(texts: &[String]) -> Result<Vec<Hypothesis>, String> {
    if texts.len() > MAX_HYPOTHESES {
        return Err(format!(
            "{} hypotheses given; at most {MAX_HYPOTHESES}",
            texts.len()
        ));
    }
    texts.iter().map(|t| t.parse()).collect()
}

fn parse_check(text: &str) -> Result<Check, String> {
    match text {
        "no-lost-writes" => return Ok(Check::NoLostWrites),
        "no-stale-reads" => return Ok(Check::NoStaleReads),
        "all-running" => return Ok(Check::AllRunning),
        _ => {}
    }
    if let Some(bound) = text.strip_prefix("throughput>=") {
        let fraction = if let Some(pct) = bound.strip_suffix('%') {
            number(pct, "a percentage")? / 100.0
        } else if let Some(f) = bound.strip_suffix("*baseline") {
            number(f, "a fraction of the baseline")?
        } else {
            return Err(format!(
                "'{bound}' is not a share of the baseline (0.5*baseline or 50%)"
            ));
        };
        if !(fraction > 0.0 && fraction <= 10.0) {
            return Err(format!(
                "a throughput of {fraction} × baseline is not between 0 and 10 × baseline"
            ));
        }
        return Ok(Check::ThroughputAtLeast { fraction });
    }
    if let Some(bound) = text.strip_prefix("p99<=") {
        let ms = if let Some(ms) = bound.strip_suffix("ms") {
            number(ms, "milliseconds")?
        } else if let Some(s) = bound.strip_suffix('s') {
            number(s, "seconds")? * 1000.0
        } else {
            return Err(format!("'{bound}' has no unit (ms or s)"));
        };
        if !(ms > 0.0 && ms <= 600_000.0) {
            return Err(format!(
                "a p99 bound of {ms} ms is not between 0 and 10 minutes"
            ));
        }
        return Ok(Check::P99AtMost { ms });
    }
    Err(format!("'{text}' is not a check this host knows"))
}

fn number(text: &str, what: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not {what}"))?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(format!("'{text}' is not {what}"))
    }
}

fn parse_moment(text: &str) -> Result<Moment, String> {
    Ok(match text {
        "before" => Moment::Before,
        "continuously" => Moment::Continuously,
        "end" => Moment::End,
        "after-undo" => Moment::AfterUndo {
            within: DEFAULT_RECOVERY,
        },
        _ => {
            let Some(time) = text.strip_prefix("after-undo:") else {
                return Err(format!("'{text}' is not a moment"));
            };
            let within = humantime::parse_duration(time)
                .map_err(|e| format!("'{time}' is not a duration like 30s or 1500ms ({e})"))?;
            if within.is_zero() || within > MAX_RECOVERY {
                return Err(format!(
                    "a recovery time of {time} is not between 0 and {} s",
                    MAX_RECOVERY.as_secs()
                ));
            }
            Moment::AfterUndo { within }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hypotheses_file_holds_one_spec_a_line_with_comments() {
        let text = "# what we promise\nno-lost-writes\n\n  p99<=200ms!abort  # the SLO\n";
        assert_eq!(specs_of(text), ["no-lost-writes", "p99<=200ms!abort"]);
        assert!(parse_all(&specs_of(text)).is_ok());
        let missing = read_file(std::path::Path::new("/nonexistent/h.txt")).unwrap_err();
        assert!(missing.starts_with("cannot read the hypotheses file /nonexistent/h.txt"));
    }

    #[test]
    fn the_forms_a_presenter_writes_are_read() {
        let h: Hypothesis = "p99 <= 200ms !abort".parse().unwrap();
        assert_eq!(h.check, Check::P99AtMost { ms: 200.0 });
        assert!(h.abort);
        assert!(h.moments.contains(&Moment::Continuously));
        assert_eq!(h.name, "p99<=200ms!abort");

        let h: Hypothesis = "throughput>=50%@before,after-undo:20s,end".parse().unwrap();
        assert_eq!(h.check, Check::ThroughputAtLeast { fraction: 0.5 });
        assert_eq!(
            h.moments,
            [
                Moment::Before,
                Moment::AfterUndo {
                    within: Duration::from_secs(20)
                },
                Moment::End
            ]
        );
        assert!(!h.abort);

        let h: Hypothesis = "throughput>=0.8*baseline".parse().unwrap();
        assert_eq!(h.check, Check::ThroughputAtLeast { fraction: 0.8 });
        assert_eq!(h.moments.len(), 3);
        for (text, check) in [
            ("no-lost-writes", Check::NoLostWrites),
            ("no-stale-reads@continuously", Check::NoStaleReads),
            ("all-running@end", Check::AllRunning),
            ("p99<=1.5s", Check::P99AtMost { ms: 1500.0 }),
        ] {
            assert_eq!(text.parse::<Hypothesis>().unwrap().check, check, "{text}");
        }
    }

    #[test]
    fn a_flows_hypotheses_are_named_as_written_and_bounded_alike() {
        let h = from_flow(Check::P99AtMost { ms: 200.0 }, vec![], true);
        assert_eq!(
            h.name,
            "p99<=200ms@before,after-undo:30000ms,end,continuously!abort"
        );
        assert_eq!(h.origin, Origin::Flow);
        assert!(check_bounds(&h).is_ok());
        // The name reads back as the same hypothesis.
        let back = parse(&h.name, Origin::Flow).unwrap();
        assert_eq!(
            (back.check, back.moments, back.abort),
            (h.check, h.moments, h.abort)
        );
        for bad in [
            from_flow(Check::P99AtMost { ms: f64::NAN }, vec![], false),
            from_flow(Check::P99AtMost { ms: -1.0 }, vec![], false),
            from_flow(
                Check::ThroughputAtLeast {
                    fraction: f64::INFINITY,
                },
                vec![],
                false,
            ),
            from_flow(Check::ThroughputAtLeast { fraction: 1e300 }, vec![], false),
            from_flow(
                Check::AllRunning,
                vec![Moment::AfterUndo {
                    within: Duration::ZERO,
                }],
                false,
            ),
            from_flow(
                Check::AllRunning,
                vec![Moment::AfterUndo {
                    within: Duration::from_secs(86_400),
                }],
                false,
            ),
        ] {
            let why = check_bounds(&bad).unwrap_err();
            assert_eq!(why.lines().count(), 1, "{why}");
        }
    }

    #[test]
    fn absurd_hypotheses_are_one_line_errors_that_say_what_was_wrong() {
        for (text, says) in [
            ("p99<=NaNms", "not milliseconds"),
            ("p99<=-5ms", "between 0"),
            ("p99<=1e300ms", "between 0"),
            ("p99<=5", "no unit"),
            ("throughput>=inf%", "not a percentage"),
            ("throughput>=0*baseline", "between 0 and 10"),
            ("throughput>=5000%", "between 0 and 10"),
            ("throughput>=lots", "share of the baseline"),
            ("uptime>=99%", "not a check"),
            ("no-lost-writes@sometimes", "not a moment"),
            ("no-lost-writes@after-undo:-1s", "not a duration"),
            ("no-lost-writes@after-undo:5h", "between 0 and 3600"),
            ("no-lost-writes@after-undo:90m", "between 0 and 3600"),
            ("no-lost-writes@after-undo:1e30s", "not a duration"),
            (
                "no-lost-writes@after-undo:99999999999999999999s",
                "not a duration",
            ),
        ] {
            let err = text.parse::<Hypothesis>().unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
        let long = format!("p99<=1ms{}", " ".repeat(300));
        assert!(
            long.parse::<Hypothesis>()
                .unwrap_err()
                .contains("longer than")
        );
        let control = "p99<=\u{1b}[2J1ms".parse::<Hypothesis>().unwrap_err();
        assert!(control.contains("control characters"), "{control}");
        assert!(!control.contains('\u{1b}'), "{control}");
        let many: Vec<String> = (0..=MAX_HYPOTHESES).map(|_| "all-running".into()).collect();
        assert!(parse_all(&many).unwrap_err().contains("at most"));
    }
}
