//! What the parser tests share: the fixtures (real tools' output, kept in
//! `tests/fixtures/workload/`), helpers that feed a parser, and generators of
//! lines that are nearly one of the formats.

use super::{Parsed, Parser, Sample};
use proptest::prelude::*;

/// Real load-tool output kept in the repository (`tests/fixtures/workload/README.md`).
pub(super) fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/workload")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub(super) fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// Feed all lines, then flush until empty; collect everything produced.
pub(super) fn run(parser: &mut Parser, text: &str) -> Vec<Parsed> {
    let mut out: Vec<Parsed> = text.lines().filter_map(|l| parser.feed(l)).collect();
    while let Some(p) = parser.flush() {
        out.push(p);
    }
    out
}

pub(super) fn samples(text: &str) -> Vec<Sample> {
    run(&mut Parser::new(), text)
        .into_iter()
        .filter_map(|p| match p {
            Parsed::Sample(s) => Some(s),
            _ => None,
        })
        .collect()
}

pub(super) fn one_sample(line: &str) -> Sample {
    let mut parser = Parser::new();
    match parser.feed(line) {
        Some(Parsed::Sample(s)) => s,
        other => panic!("expected a sample from {line:?}, got {other:?}"),
    }
}
/// Pieces of both formats, recombined into near-misses.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            " sec: ",
            " operations;",
            " operations; ",
            " current ops/sec;",
            " current ops/sec",
            "[",
            "]",
            "READ",
            "-FAILED",
            ": ",
            "Count=",
            ", ",
            "Avg=",
            "99=",
            "=",
            " AverageLatency(us)=",
            " AverageLatency(",
            ")=",
            "[OVERALL],",
            " RunTime(ms), ",
            " Throughput(ops/sec), ",
            " - ",
            "Takes(s): ",
            "Count: ",
            "OPS: ",
            "Avg(us): ",
            "99th(us): ",
            "TOTAL",
            "_ERROR",
            "NaN",
            "∞",
            "-",
            ",",
            ".",
            "\r",
            " ",
            "\t",
            "é",
            "Infinity",
            "inf",
            "+Inf",
            "1e308",
            "1e-320",
            "-0",
            "E7",
        ])
        .prop_map(str::to_owned),
        "[0-9]{1,30}",
        "[0-9]{1,5}[.,][0-9]{1,5}",
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
    ]
}

pub(super) fn near_miss_line() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..24).prop_map(|v| v.concat())
}

pub(super) fn go_like_line() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["READ", "TOTAL", "UPDATE_ERROR", "A", "ZZ", ""]),
        prop::collection::vec(
            (
                prop::sample::select(vec!["Takes(s)", "Count", "OPS", "Avg(us)", "99th(us)", "X"]),
                prop_oneof![
                    any::<u64>().prop_map(|n| n.to_string()),
                    any::<f64>().prop_map(|n| n.to_string()),
                    "[0-9]{1,3}\\.[0-9]",
                    "[-+a-zA-Z0-9.]{0,8}",
                ],
            ),
            0..7,
        ),
    )
        .prop_map(|(name, fields)| {
            let fields: Vec<String> = fields
                .into_iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            format!("{name:<6} - {}", fields.join(", "))
        })
}

pub(super) fn java_like_line() -> impl Strategy<Value = String> {
    (
        ".{0,10}",
        "[0-9]{1,25}",
        "[0-9]{1,25}",
        prop::option::of(prop_oneof![
            "[0-9]{1,20}([.,][0-9]{1,3})?",
            Just("NaN".to_owned()),
            "-[0-9]{1,4}"
        ]),
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "READ",
                    "READ-FAILED",
                    "CLEANUP",
                    "Intended-UPDATE",
                    "",
                ]),
                "[0-9]{1,22}",
                "[0-9.,a-zN]{0,8}",
            ),
            0..4,
        ),
    )
        .prop_map(|(label, secs, total, current, brackets)| {
            let mut line = format!("{label} {secs} sec: {total} operations; ");
            if let Some(c) = current {
                line.push_str(&format!("{c} current ops/sec; "));
            }
            for (name, count, avg) in brackets {
                line.push_str(&format!("[{name}: Count={count}, Avg={avg}, 99={avg}] "));
            }
            line
        })
}
