//! Per-interval latency samples: each worker records into its own slot (so
//! workers never contend with each other), the reporter drains all slots once
//! per interval.

use std::sync::Mutex;

/// Which kind of operation a latency is of (YCSB's operation names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Update,
    Read,
}

/// Latencies (microseconds) recorded since the last drain.
#[derive(Debug, Default)]
pub struct Interval {
    /// Updates (puts, or a checked write's transaction).
    pub ok: Vec<u32>,
    pub failed: Vec<u32>,
    /// Reads of the checked workload.
    pub read_ok: Vec<u32>,
    pub read_failed: Vec<u32>,
}

impl Interval {
    fn append(&mut self, other: &mut Interval) {
        self.ok.append(&mut other.ok);
        self.failed.append(&mut other.failed);
        self.read_ok.append(&mut other.read_ok);
        self.read_failed.append(&mut other.read_failed);
    }

    /// The latencies of `op`: those that succeeded, those that failed.
    pub fn of(&mut self, op: Op) -> (&mut Vec<u32>, &mut Vec<u32>) {
        match op {
            Op::Update => (&mut self.ok, &mut self.failed),
            Op::Read => (&mut self.read_ok, &mut self.read_failed),
        }
    }
}

pub struct Recorder {
    slots: Vec<Mutex<Interval>>,
}

impl Recorder {
    pub fn new(workers: usize) -> Self {
        Self {
            slots: (0..workers)
                .map(|_| Mutex::new(Interval::default()))
                .collect(),
        }
    }

    pub fn record(&self, worker: usize, ok: bool, micros: u32) {
        self.record_op(worker, Op::Update, ok, micros);
    }

    pub fn record_op(&self, worker: usize, op: Op, ok: bool, micros: u32) {
        let mut slot = self.slots[worker].lock().unwrap_or_else(|p| p.into_inner());
        let (succeeded, failed) = slot.of(op);
        if ok {
            succeeded.push(micros);
        } else {
            failed.push(micros);
        }
    }

    /// Everything recorded since the previous drain.
    pub fn drain(&self) -> Interval {
        let mut all = Interval::default();
        for slot in &self.slots {
            let mut taken = std::mem::take(&mut *slot.lock().unwrap_or_else(|p| p.into_inner()));
            all.append(&mut taken);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_collects_every_worker_once() {
        let r = Recorder::new(3);
        r.record(0, true, 10);
        r.record(2, true, 30);
        r.record(1, false, 500);
        let mut first = r.drain();
        first.ok.sort_unstable();
        assert_eq!((first.ok, first.failed), (vec![10, 30], vec![500]));
        let second = r.drain();
        assert!(second.ok.is_empty() && second.failed.is_empty());
    }
}
