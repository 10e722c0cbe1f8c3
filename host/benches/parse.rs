//! Parse throughput on a 1,000,000-line generated log of each format (Java YCSB
//! status lines, go-ycsb periodic lines). The logs are also written to
//! `target/bench-parse/` so `scripts/bench-parse.sh` can time the seed's Python
//! regex on exactly the same input.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use host::workload::parse::{Parsed, Parser};
use std::hint::black_box;
use std::path::PathBuf;

const LINES: usize = 1_000_000;

/// xorshift64*: deterministic, so every run parses the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Java YCSB 0.17 status lines (`-s`, HdrHistogram brackets), one per second.
fn java_log() -> Vec<String> {
    let mut rng = Rng(0x5eed_0001);
    let mut total: u64 = 0;
    (0..LINES)
        .map(|i| {
            let secs = i as u64 + 1;
            let rate = 30_000 + rng.below(10_000);
            total += rate;
            let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
            let bracket = |rng: &mut Rng, name: &str| {
                let avg = 300 + rng.below(400);
                format!(
                    "[{name}: Count={}, Max={}, Min={}, Avg={}.{:02}, 90={}, 99={}, 99.9={}, 99.99={}]",
                    rate / 2,
                    avg * 50,
                    100 + rng.below(60),
                    avg,
                    rng.below(100),
                    avg + 200,
                    avg * 6,
                    avg * 25,
                    avg * 80
                )
            };
            let read = bracket(&mut rng, "READ");
            let update = bracket(&mut rng, "UPDATE");
            format!(
                "2024-01-01 {h:02}:{m:02}:{s:02}:{:03} {secs} sec: {total} operations; {rate}.{:02} current ops/sec; est completion in 1 minutes {read} {update} ",
                rng.below(1000),
                rng.below(100),
            )
        })
        .collect()
}

/// go-ycsb periodic reports, newer format (TOTAL and 50th/90th/95th columns): three
/// lines per report.
fn go_log() -> Vec<String> {
    let mut rng = Rng(0x5eed_0002);
    let (mut reads, mut updates) = (0u64, 0u64);
    let mut lines = Vec::with_capacity(LINES);
    let mut report = 0u64;
    while lines.len() < LINES {
        report += 1;
        let takes = report as f64;
        reads += 15_000 + rng.below(5_000);
        updates += 15_000 + rng.below(5_000);
        for (name, count) in [
            ("READ", reads),
            ("TOTAL", reads + updates),
            ("UPDATE", updates),
        ] {
            if lines.len() == LINES {
                break;
            }
            let avg = 200 + rng.below(100);
            lines.push(format!(
                "{name:<6} - Takes(s): {takes:.1}, Count: {count}, OPS: {:.1}, Avg(us): {avg}, Min(us): {}, Max(us): {}, 50th(us): {}, 90th(us): {}, 95th(us): {}, 99th(us): {}, 99.9th(us): {}, 99.99th(us): {}",
                count as f64 / takes,
                100 + rng.below(50),
                avg * 10,
                avg,
                avg + 50,
                avg + 80,
                avg + 160,
                avg * 3,
                avg * 4
            ));
        }
    }
    lines
}

fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("bench-parse")
}

fn parse_all(lines: &[String]) -> usize {
    let mut parser = Parser::new();
    let mut samples = 0;
    for line in lines {
        if let Some(Parsed::Sample(s)) = parser.feed(line) {
            samples += 1;
            black_box(s);
        }
    }
    while let Some(p) = parser.flush() {
        samples += 1;
        black_box(p);
    }
    samples
}

fn bench(c: &mut Criterion) {
    let dir = out_dir();
    std::fs::create_dir_all(&dir).expect("creating target/bench-parse");
    let mut group = c.benchmark_group("parse");
    // One iteration is a million lines; a few of them give a stable figure.
    group.sample_size(10);
    group.throughput(Throughput::Elements(LINES as u64));
    for (name, lines, expected_samples) in [
        ("ycsb", java_log(), LINES),
        ("go-ycsb", go_log(), LINES.div_ceil(3)),
    ] {
        std::fs::write(dir.join(format!("{name}.log")), lines.join("\n") + "\n")
            .expect("writing the generated log");
        // A parser that silently drops lines would look fast: check first.
        assert_eq!(parse_all(&lines), expected_samples, "{name}");
        group.bench_function(name, |b| b.iter(|| parse_all(black_box(&lines))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
