//! A flow's diagnostics on their way to the host log: `log::log` calls and
//! the lines it writes to stdout and stderr. Rate-limited, so a flow logging
//! in a loop cannot fill the presenter's disk; what was held back is counted
//! and reported in one line ("suppressed N lines") as soon as the rate allows,
//! and when the flow instance goes away.

use crate::rate::TokenBucket;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Lines a second after a burst of [`LINE_BURST`].
const LINES_PER_SECOND: f64 = 50.0;
const LINE_BURST: f64 = 500.0;
/// Bytes a second after a burst of [`BYTE_BURST`].
const BYTES_PER_SECOND: f64 = 64.0 * 1024.0;
const BYTE_BURST: f64 = 1024.0 * 1024.0;

/// One flow instance's log, shared by its `log` import and its stdout and
/// stderr streams.
#[derive(Clone)]
pub struct FlowLog {
    gate: Arc<Mutex<Gate>>,
}

struct Gate {
    flow: String,
    lines: TokenBucket,
    bytes: TokenBucket,
    /// Held back since the last "suppressed N lines" report.
    suppressed: u64,
    /// Held back in all, reported or not (what a test can count on: a slow
    /// loop lets a line through now and then, which reports and resets
    /// `suppressed`).
    held_back: u64,
}

/// Where a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Log(tracing::Level),
    Stdout,
    Stderr,
}

impl FlowLog {
    pub fn new(flow: &str) -> Self {
        FlowLog {
            gate: Arc::new(Mutex::new(Gate {
                flow: flow.to_string(),
                lines: TokenBucket::new(LINES_PER_SECOND, LINE_BURST),
                bytes: TokenBucket::new(BYTES_PER_SECOND, BYTE_BURST),
                suppressed: 0,
                held_back: 0,
            })),
        }
    }

    /// Logs `line` unless the flow is over its rate; returns whether it was
    /// written.
    pub fn line(&self, source: Source, line: &str) -> bool {
        let mut gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        // Both budgets are checked before either is spent only as far as
        // the line count goes: a held-back line costs no bytes.
        if !gate.lines.try_take(1.0, now) || !gate.bytes.try_take(line.len() as f64, now) {
            gate.suppressed += 1;
            gate.held_back += 1;
            return false;
        }
        if gate.suppressed > 0 {
            gate.report_suppressed();
        }
        // One line, and nothing a terminal `tail`ing the log would act on.
        emit(&gate.flow, source, &crate::sanitize::display_line(line));
        true
    }

    #[cfg(test)]
    fn suppressed(&self) -> u64 {
        self.gate.lock().unwrap().suppressed
    }

    #[cfg(test)]
    fn held_back(&self) -> u64 {
        self.gate.lock().unwrap().held_back
    }
}

impl Gate {
    fn report_suppressed(&mut self) {
        tracing::warn!(
            target: "flow",
            flow = %self.flow,
            "suppressed {} lines from the flow (it logged faster than {LINES_PER_SECOND} lines or {} KiB a second)",
            self.suppressed,
            BYTES_PER_SECOND as u64 / 1024
        );
        self.suppressed = 0;
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        if self.suppressed > 0 {
            self.report_suppressed();
        }
    }
}

fn emit(flow: &str, source: Source, line: &str) {
    match source {
        Source::Stdout => tracing::info!(target: "flow", flow, stream = "stdout", "{line}"),
        Source::Stderr => tracing::info!(target: "flow", flow, stream = "stderr", "{line}"),
        Source::Log(level) => match level {
            tracing::Level::TRACE => tracing::trace!(target: "flow", flow, "{line}"),
            tracing::Level::DEBUG => tracing::debug!(target: "flow", flow, "{line}"),
            tracing::Level::INFO => tracing::info!(target: "flow", flow, "{line}"),
            tracing::Level::WARN => tracing::warn!(target: "flow", flow, "{line}"),
            tracing::Level::ERROR => tracing::error!(target: "flow", flow, "{line}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_flood_is_cut_to_the_rate_and_counted() {
        let log = FlowLog::new("flood");
        let line = "z".repeat(8 * 1024);
        let written = (0..100_000)
            .filter(|_| log.line(Source::Log(tracing::Level::INFO), &line))
            .count();
        // The byte burst (1 MiB) is 128 lines of 8 KiB, plus what refills
        // while the loop runs.
        assert!(written < 400, "{written} of 100,000 lines written");
        assert_eq!(log.held_back(), 100_000 - written as u64);
        assert!(log.suppressed() <= log.held_back());
    }

    #[test]
    fn short_lines_within_the_rate_all_pass() {
        let log = FlowLog::new("quiet");
        assert!((0..100).all(|i| log.line(Source::Stdout, &format!("line {i}"))));
        assert_eq!(log.suppressed(), 0);
    }
}
