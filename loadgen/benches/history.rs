//! What checking the history costs: per 10 000 operations (half writes, half
//! reads, as the checked workload makes them), and for an hour-long history
//! at 1 000 writes a second (3.6 M writes): the bits it keeps and the final
//! check. A bench script, not criterion: each figure is the median of 5.
//!
//!   cargo bench -p loadgen --bench history
//!
//! Prints `BENCH` lines (BENCHMARKS.md, "Verdicts").

use loadgen::history::{History, ReadKind, WriteOutcome};
use std::time::{Duration, Instant};

const WORKERS: usize = 8;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// `ops` operations spread over the workers: a write, then a read.
fn run(history: &History, ops: usize) {
    for i in 0..ops / 2 {
        let worker = i % WORKERS;
        let value = history.begin_write(worker);
        history.end_write(worker, value, WriteOutcome::Acknowledged);
        let read = history.begin_read((i * 7) % WORKERS, ReadKind::Linearizable);
        let seen = value.saturating_sub(1);
        std::hint::black_box(history.end_read(read, seen));
    }
}

fn main() {
    let per_10k = median(
        (0..5)
            .map(|_| {
                let history = History::new(WORKERS);
                let started = Instant::now();
                run(&history, 10_000);
                started.elapsed()
            })
            .collect(),
    );
    println!(
        "BENCH history check: {:.2} ms per 10 000 operations ({:.0} ns each)",
        per_10k.as_secs_f64() * 1e3,
        per_10k.as_secs_f64() * 1e9 / 10_000.0
    );

    let hour_writes = 3_600_000usize;
    let history = History::new(WORKERS);
    let started = Instant::now();
    run(&history, hour_writes * 2);
    let recorded = started.elapsed();
    let per_worker = (hour_writes / WORKERS) as u64;
    let finals: Vec<Duration> = (0..5)
        .map(|_| {
            let started = Instant::now();
            // The store holds everything but one value per worker.
            let lost = history.final_check(|_| (1..per_worker).collect());
            assert_eq!(lost, WORKERS as u64);
            started.elapsed()
        })
        .collect();
    println!(
        "BENCH history hour: 3.6 M writes and 3.6 M reads checked in {:.2} s; the acknowledged set is {} KiB; final check {:.0} ms",
        recorded.as_secs_f64(),
        hour_writes / 8 / 1024,
        median(finals).as_secs_f64() * 1e3
    );
}
