//! The history of the load's operations, checked as it is made.
//!
//! Each worker owns one register that only it writes, with the values 1, 2,
//! 3, … in order; every write also adds its value to the worker's set (etcd:
//! a key per value, in the same transaction), so that a final read can tell
//! which acknowledged writes the store still holds. Reads go to any
//! worker's register. The check is linear in the history and needs no
//! search: with one writer and increasing values, a read that began after
//! the write of `lo` was acknowledged and ended before the write of `hi + 1`
//! was sent must return a value in `lo..=hi`. Anything else is a read no
//! linearizable order explains (counted as stale: it returned an older
//! value than one the store had acknowledged, or one never written).
//!
//! A write that got no answer (a timeout) is pending for ever: etcd may
//! still commit it later, after the worker's newer writes were
//! acknowledged, and the register then holds its older value. A read that
//! returns the value of such a write is explained; one that returns an
//! older value whose write was acknowledged is not.
//!
//! Why not a general linearizability checker (stateright's, porcupine's):
//! with arbitrary writers that search is exponential in the worst case and
//! an hour-long show has millions of operations; single-writer registers
//! with increasing values make every read checkable on its own, at once,
//! with two atomics. Lost writes need the set: a register keeps only the
//! newest value, so a write the store lost and a later write replaced would
//! be invisible in it.
//!
//! An outcome is unknown when the request may have been applied (a timeout,
//! a broken connection, an error from the store after it was sent); only a
//! request that never reached the store (connect refused) is a failure.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
pub use verdict_line::Verdict;

/// What became of one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Acknowledged,
    /// Never reached the store.
    Failed,
    /// May or may not have been applied.
    Unknown,
}

/// How a read was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadKind {
    /// Through the leader's quorum (etcd's default): must be linearizable.
    Linearizable,
    /// From whichever member answered, without asking the quorum (etcd's
    /// `serializable`): allowed to lag; counted apart.
    Serializable,
}

/// One worker's register.
#[derive(Default)]
struct Register {
    /// The highest value whose write was sent.
    invoked: AtomicU64,
    /// The highest value whose write was acknowledged.
    acknowledged: AtomicU64,
    /// Which values were acknowledged, one bit each (value `v` is bit `v`):
    /// 450 KB for an hour at 1 000 writes a second.
    acknowledged_bits: Mutex<Vec<u64>>,
    /// Which values were sent without an answer (timeout, error after
    /// sending): such a write may still take effect at any later time,
    /// after newer ones, so a read may legitimately return it.
    unknown_bits: Mutex<Vec<u64>>,
}

/// Sets bit `value` of `bits`.
fn set_bit(bits: &Mutex<Vec<u64>>, value: u64) {
    let mut bits = bits.lock().unwrap_or_else(|p| p.into_inner());
    let word = usize::try_from(value / 64).unwrap_or(usize::MAX);
    if bits.len() <= word {
        bits.resize(word + 1, 0);
    }
    bits[word] |= 1 << (value % 64);
}

/// Whether bit `value` of `bits` is set.
fn has_bit(bits: &Mutex<Vec<u64>>, value: u64) -> bool {
    let bits = bits.lock().unwrap_or_else(|p| p.into_inner());
    usize::try_from(value / 64)
        .ok()
        .and_then(|word| bits.get(word))
        .is_some_and(|word| word & (1 << (value % 64)) != 0)
}

/// A read in flight: the register and the lowest value it may return.
#[derive(Debug, Clone, Copy)]
pub struct PendingRead {
    register: usize,
    lowest: u64,
    kind: ReadKind,
}

/// Every worker's register and the running counts. Shared by the workers
/// (each writes its own register) and the reporter.
pub struct History {
    registers: Vec<Register>,
    acknowledged: AtomicU64,
    failed: AtomicU64,
    unknown: AtomicU64,
    reads: AtomicU64,
    stale: AtomicU64,
    stale_serializable: AtomicU64,
    /// Set once, by the final read.
    lost: Mutex<Option<u64>>,
}

impl History {
    pub fn new(workers: usize) -> Self {
        History {
            registers: (0..workers).map(|_| Register::default()).collect(),
            acknowledged: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            unknown: AtomicU64::new(0),
            reads: AtomicU64::new(0),
            stale: AtomicU64::new(0),
            stale_serializable: AtomicU64::new(0),
            lost: Mutex::new(None),
        }
    }

    pub fn registers(&self) -> usize {
        self.registers.len()
    }

    /// The value worker `register`'s next write carries (only that worker
    /// calls this, one write at a time).
    pub fn begin_write(&self, register: usize) -> u64 {
        let value = self.registers[register].invoked.load(Ordering::Acquire) + 1;
        self.registers[register]
            .invoked
            .store(value, Ordering::Release);
        value
    }

    pub fn end_write(&self, register: usize, value: u64, outcome: WriteOutcome) {
        let counter = match outcome {
            WriteOutcome::Acknowledged => {
                let reg = &self.registers[register];
                set_bit(&reg.acknowledged_bits, value);
                reg.acknowledged.fetch_max(value, Ordering::AcqRel);
                &self.acknowledged
            }
            WriteOutcome::Failed => &self.failed,
            WriteOutcome::Unknown => {
                set_bit(&self.registers[register].unknown_bits, value);
                &self.unknown
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A read of `register` about to be sent.
    pub fn begin_read(&self, register: usize, kind: ReadKind) -> PendingRead {
        PendingRead {
            register,
            lowest: self.registers[register]
                .acknowledged
                .load(Ordering::Acquire),
            kind,
        }
    }

    /// The read answered `value` (0: the register was never written).
    /// Returns whether the read is explained.
    pub fn end_read(&self, read: PendingRead, value: u64) -> bool {
        let highest = self.registers[read.register]
            .invoked
            .load(Ordering::Acquire);
        self.reads.fetch_add(1, Ordering::Relaxed);
        // A write without an answer may take effect at any time after it
        // was sent, even after newer ones were acknowledged: its value is
        // then the register's, and reading it is no anomaly.
        let explained = (read.lowest..=highest).contains(&value)
            || (value < read.lowest && has_bit(&self.registers[read.register].unknown_bits, value));
        if !explained {
            let counter = match read.kind {
                ReadKind::Linearizable => &self.stale,
                ReadKind::Serializable => &self.stale_serializable,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        explained
    }

    /// The final read: `present(register)` gives the values the store holds
    /// in that register's set. Counts the acknowledged values missing.
    pub fn final_check(&self, mut present: impl FnMut(usize) -> Vec<u64>) -> u64 {
        let mut lost = 0;
        for (index, register) in self.registers.iter().enumerate() {
            let bits = register
                .acknowledged_bits
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let mut found = vec![0u64; bits.len()];
            for value in present(index) {
                if let Some(word) = found.get_mut(usize::try_from(value / 64).unwrap_or(usize::MAX))
                {
                    *word |= 1 << (value % 64);
                }
            }
            lost += bits
                .iter()
                .zip(&found)
                .map(|(acked, seen)| u64::from((acked & !seen).count_ones()))
                .sum::<u64>();
        }
        *self.lost.lock().unwrap_or_else(|p| p.into_inner()) = Some(lost);
        lost
    }

    /// The counts so far.
    pub fn verdict(&self) -> Verdict {
        let lost = *self.lost.lock().unwrap_or_else(|p| p.into_inner());
        Verdict {
            acknowledged: self.acknowledged.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            unknown: self.unknown.load(Ordering::Relaxed),
            reads: self.reads.load(Ordering::Relaxed),
            stale: self.stale.load(Ordering::Relaxed),
            stale_serializable: self.stale_serializable.load(Ordering::Relaxed),
            lost: lost.unwrap_or(0),
            final_read: lost.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_must_return_a_value_between_the_last_acknowledged_and_the_last_sent() {
        let h = History::new(2);
        let one = h.begin_write(0);
        h.end_write(0, one, WriteOutcome::Acknowledged);
        // A read that began after 1 was acknowledged: 1 is fine, 0 is stale.
        let read = h.begin_read(0, ReadKind::Linearizable);
        assert!(h.end_read(read, 1));
        let read = h.begin_read(0, ReadKind::Linearizable);
        assert!(!h.end_read(read, 0));
        // A write in flight during the read may or may not be seen.
        let read = h.begin_read(0, ReadKind::Linearizable);
        let two = h.begin_write(0);
        assert!(h.end_read(read, 2));
        let read = h.begin_read(0, ReadKind::Linearizable);
        assert!(h.end_read(read, 1));
        // A value never sent explains nothing.
        let read = h.begin_read(0, ReadKind::Linearizable);
        assert!(!h.end_read(read, 7));
        h.end_write(0, two, WriteOutcome::Unknown);
        // The other register was never written: 0 is right.
        let read = h.begin_read(1, ReadKind::Linearizable);
        assert!(h.end_read(read, 0));
        let v = h.verdict();
        assert_eq!(
            (
                v.acknowledged,
                v.unknown,
                v.reads,
                v.stale,
                v.stale_serializable
            ),
            (1, 1, 6, 2, 0)
        );
    }

    #[test]
    fn a_read_that_began_before_the_acknowledgement_may_return_the_older_value() {
        let h = History::new(1);
        let one = h.begin_write(0);
        let read = h.begin_read(0, ReadKind::Linearizable);
        h.end_write(0, one, WriteOutcome::Acknowledged);
        assert!(h.end_read(read, 0));
    }

    #[test]
    fn a_write_without_an_answer_may_land_after_newer_ones() {
        let h = History::new(1);
        let one = h.begin_write(0);
        h.end_write(0, one, WriteOutcome::Unknown);
        let two = h.begin_write(0);
        h.end_write(0, two, WriteOutcome::Acknowledged);
        // etcd committed the timed-out write 1 after write 2: legal.
        let read = h.begin_read(0, ReadKind::Linearizable);
        assert!(h.end_read(read, 1));
        // An acknowledged older value is not: its write ended before the
        // newer one was sent.
        let three = h.begin_write(0);
        h.end_write(0, three, WriteOutcome::Acknowledged);
        let read = h.begin_read(0, ReadKind::Linearizable);
        assert!(!h.end_read(read, 2));
        // Nor is a value whose write surely failed.
        let four = h.begin_write(0);
        h.end_write(0, four, WriteOutcome::Failed);
        let five = h.begin_write(0);
        h.end_write(0, five, WriteOutcome::Acknowledged);
        let read = h.begin_read(0, ReadKind::Linearizable);
        assert!(!h.end_read(read, 4));
        assert_eq!(h.verdict().stale, 2);
    }

    #[test]
    fn stale_serializable_reads_are_counted_apart() {
        let h = History::new(1);
        for _ in 0..3 {
            let v = h.begin_write(0);
            h.end_write(0, v, WriteOutcome::Acknowledged);
        }
        let read = h.begin_read(0, ReadKind::Serializable);
        assert!(!h.end_read(read, 1));
        let v = h.verdict();
        assert_eq!((v.stale, v.stale_serializable), (0, 1));
    }

    #[test]
    fn the_final_read_counts_each_acknowledged_write_it_does_not_find() {
        let h = History::new(2);
        let mut acked = Vec::new();
        for value in 1..=200 {
            let v = h.begin_write(0);
            assert_eq!(v, value);
            let outcome = match value % 10 {
                0 => WriteOutcome::Unknown,
                5 => WriteOutcome::Failed,
                _ => WriteOutcome::Acknowledged,
            };
            if outcome == WriteOutcome::Acknowledged {
                acked.push(v);
            }
            h.end_write(0, v, outcome);
        }
        assert!(!h.verdict().final_read);
        // The store lost 130..=140 (8 of them acknowledged: 130 and 140 were
        // unknown, 135 failed), and holds an unknown write (150) too.
        let lost = h.final_check(|register| match register {
            0 => (1..=200).filter(|v| !(130..=140).contains(v)).collect(),
            _ => vec![],
        });
        assert_eq!(lost, 8);
        let v = h.verdict();
        assert!(v.final_read);
        assert_eq!(
            (v.acknowledged, v.failed, v.unknown, v.lost),
            (160, 20, 20, 8)
        );
        // A value the store holds that was never written changes nothing.
        assert_eq!(h.final_check(|_| vec![1 << 40]), 160);
    }
}
