//! `host workload parse [FILE|-] [--json]`: run the parser over a log and print
//! every sample it extracts, so a presenter can check their load tool's output
//! before a show rather than during it.

use super::parse::{OpStat, Parsed, Parser, Sample};
use anyhow::{Context, Result};
use serde_json::json;
use std::io::{BufRead, Write};
use std::path::Path;

/// Reads `file` (stdin for `None` or `-`), writes one line per sample or end of
/// run to `out`. Returns how many things were recognised, so the caller can
/// tell the user when the input held nothing the panel would show.
pub fn parse_log(file: Option<&Path>, json: bool, out: &mut dyn Write) -> Result<u64> {
    match file {
        Some(path) if path != Path::new("-") => {
            let f = std::fs::File::open(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            parse_reader(std::io::BufReader::new(f), json, out)
                .with_context(|| format!("cannot read {}", path.display()))
        }
        _ => parse_reader(std::io::stdin().lock(), json, out).context("cannot read stdin"),
    }
}

fn parse_reader(mut input: impl BufRead, json: bool, out: &mut dyn Write) -> Result<u64> {
    let mut parser = Parser::new();
    let mut found = 0;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        // Logs captured from terminals can hold stray bytes; they are noise to the
        // parser, not a reason to give up on the file.
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        if let Some(parsed) = parser.feed(line) {
            write_parsed(&parsed, json, out)?;
            found += 1;
        }
    }
    while let Some(parsed) = parser.flush() {
        write_parsed(&parsed, json, out)?;
        found += 1;
    }
    out.flush()?;
    Ok(found)
}

fn write_parsed(parsed: &Parsed, json: bool, out: &mut dyn Write) -> std::io::Result<()> {
    if json {
        let value = match parsed {
            Parsed::Sample(sample) => {
                let mut value = json!(sample);
                value["kind"] = json!("sample");
                value
            }
            Parsed::EndOfRun {
                throughput,
                runtime_ms,
            } => json!({
                "kind": "end-of-run",
                "throughput": throughput,
                "runtime_ms": runtime_ms,
            }),
            Parsed::Verdict(v) => json!({
                "kind": "verdict",
                "acknowledged": v.acknowledged,
                "failed": v.failed,
                "unknown": v.unknown,
                "reads": v.reads,
                "stale": v.stale,
                "stale_serializable": v.stale_serializable,
                "lost": v.lost,
                "final": v.final_read,
            }),
            Parsed::BadVerdict(why) => json!({"kind": "bad-verdict", "message": why}),
        };
        writeln!(out, "{value}")
    } else {
        writeln!(out, "{}", describe(parsed))
    }
}

/// The human-readable line for one result.
pub fn describe(parsed: &Parsed) -> String {
    match parsed {
        Parsed::Sample(sample) => describe_sample(sample),
        Parsed::EndOfRun {
            throughput,
            runtime_ms,
        } => {
            let throughput = throughput.map_or("?".to_owned(), |t| format!("{t:.2}"));
            let runtime = runtime_ms.map_or(String::new(), |ms| format!(" runtime={ms}ms"));
            format!("end-of-run overall={throughput} ops/s{runtime}")
        }
        Parsed::Verdict(v) => format!(
            "verdict  acknowledged={} lost={} stale={} stale-serializable={} unknown={} final={}",
            v.acknowledged,
            v.lost,
            v.stale,
            v.stale_serializable,
            v.unknown,
            if v.final_read { "yes" } else { "no" }
        ),
        Parsed::BadVerdict(why) => format!("bad-verdict {why}"),
    }
}

fn describe_sample(s: &Sample) -> String {
    let format = serde_json::to_value(s.format)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let elapsed = s.elapsed_s.map_or("?".to_owned(), |e| format!("{e}s"));
    let mut line = format!(
        "{format:<8} t={elapsed:<7} ops/s={:<10.2} failures/s={:.2}",
        s.ops_per_sec, s.failures_per_sec
    );
    for op in &s.ops {
        line.push_str("  ");
        line.push_str(&describe_op(op));
    }
    line
}

fn describe_op(op: &OpStat) -> String {
    let mut text = format!("{} n={}", op.name, op.count);
    if let Some(avg) = op.avg_us {
        text.push_str(&format!(" avg={avg}us"));
    }
    if let Some(p99) = op.p99_us {
        text.push_str(&format!(" p99={p99}us"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, json: bool) -> (u64, String) {
        let mut out = Vec::new();
        let n = parse_reader(text.as_bytes(), json, &mut out).unwrap();
        (n, String::from_utf8(out).unwrap())
    }

    #[test]
    fn text_output_has_one_line_per_sample_with_op_detail() {
        let (n, out) = run(
            "noise\n2024-01-01 00:00:10:000 10 sec: 5000 operations; 500 current ops/sec; [READ: Count=10, Avg=5, 99=9]\n[OVERALL], RunTime(ms), 10\n[OVERALL], Throughput(ops/sec), 7.5\n",
            false,
        );
        assert_eq!(n, 2);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(lines[0].starts_with("ycsb "), "{out}");
        assert!(lines[0].contains("ops/s=500.00"), "{out}");
        assert!(lines[0].contains("READ n=10 avg=5us p99=9us"), "{out}");
        assert_eq!(lines[1], "end-of-run overall=7.50 ops/s runtime=10ms");
    }

    #[test]
    fn json_output_is_one_object_per_result() {
        let (n, out) = run(
            "READ   - Takes(s): 2.0, Count: 100, OPS: 50.0, Avg(us): 3, 99th(us): 7\nREAD_ERROR - Takes(s): 2.0, Count: 10, OPS: 5.0\n[OVERALL], Throughput(ops/sec), 5\n",
            true,
        );
        assert_eq!(n, 2);
        let values: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(values[0]["kind"], "sample");
        assert_eq!(values[0]["format"], "go-ycsb");
        assert_eq!(values[0]["ops_per_sec"], 50.0);
        assert_eq!(values[0]["failures_per_sec"], 5.0);
        assert_eq!(values[0]["ops"][0]["name"], "READ");
        assert_eq!(values[0]["ops"][0]["p99_us"], 7.0);
        assert_eq!(values[0]["ops"][1]["failed"], true);
        assert_eq!(values[1]["kind"], "end-of-run");
        assert_eq!(values[1]["throughput"], 5.0);
    }

    #[test]
    fn invalid_utf8_is_noise_not_an_error() {
        let mut input = b"\xff\xfe garbage\n".to_vec();
        input.extend_from_slice(b"x 10 sec: 5 operations; 5 current ops/sec; \n");
        let mut out = Vec::new();
        assert_eq!(parse_reader(&input[..], false, &mut out).unwrap(), 1);
    }

    #[test]
    fn missing_file_is_a_one_line_error() {
        let err = parse_log(
            Some(Path::new("/nonexistent/run.log")),
            false,
            &mut Vec::new(),
        )
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.starts_with("cannot read /nonexistent/run.log"),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");
    }
}
