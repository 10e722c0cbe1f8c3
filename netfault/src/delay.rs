//! The userspace delayer: packets that an iptables rule sends to NFQUEUE N
//! (`-j NFQUEUE --queue-num N --queue-bypass`) are held for D ± J ms each,
//! then accepted. This stands in for netem's delay on kernels without
//! sch_netem.
//!
//! One thread: a binary heap of held packets by due time, and ppoll(2) on
//! the queue's netlink socket and a signalfd with a timeout of "until the
//! next packet is due" (none when nothing is held), so an idle delayer
//! sleeps. SIGTERM/SIGINT accept every held packet at once and exit 0.
//!
//! Fail-open twice over: the queue is set fail-open (a full queue accepts
//! instead of dropping) and the rule's `--queue-bypass` accepts while no
//! delayer is bound. A delayer killed with SIGKILL loses only the packets it
//! held at that moment (the kernel drops them when the socket closes).

use crate::{Opts, emit};
use anyhow::{Context, Result, bail};
use netfault_proto::{DelayerEvent, Failure};
use nfq::{Message, Queue, Verdict};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// How many packets the kernel queues for us before fail-open accepts the
/// rest undelayed.
const QUEUE_MAXLEN: u32 = 10_000;
/// The netlink socket's receive buffer (SO_RCVBUFFORCE, we have NET_ADMIN):
/// a burst that overflows it is accepted undelayed (fail-open), not dropped.
const RCVBUF: libc::c_int = 8 << 20;
/// Messages read per wake-up before due packets are released again.
const BATCH: usize = 512;

/// Uniform jitter in [-J, +J] around D, with netem's correlation: the
/// uniform draw is C% the previous draw and (100-C)% a fresh one.
#[derive(Debug, Clone)]
pub struct Jitter {
    delay: Duration,
    jitter: Duration,
    correlation: f64,
    last: f64,
}

impl Jitter {
    /// `jitter` larger than `delay` is clamped to it: no packet is held a
    /// negative time, and the mean stays `delay`.
    pub fn new(delay: Duration, jitter: Duration, correlation_pct: u32) -> Jitter {
        Jitter {
            delay,
            jitter: jitter.min(delay),
            correlation: f64::from(correlation_pct.min(100)) / 100.0,
            last: 0.5,
        }
    }

    pub fn jitter(&self) -> Duration {
        self.jitter
    }

    /// How long to hold the next packet, given a fresh uniform draw in [0, 1).
    pub fn next(&mut self, fresh: f64) -> Duration {
        if self.jitter.is_zero() {
            return self.delay;
        }
        let u = self.correlation * self.last + (1.0 - self.correlation) * fresh;
        self.last = u;
        let offset = (2.0 * u - 1.0) * self.jitter.as_secs_f64();
        Duration::from_secs_f64((self.delay.as_secs_f64() + offset).max(0.0))
    }
}

/// splitmix64, seeded from getrandom(2): plenty for jitter.
pub struct Rng(u64);

impl Rng {
    pub fn seeded() -> Rng {
        let mut seed = [0u8; 8];
        // SAFETY: writes at most 8 bytes into `seed`.
        let n = unsafe { libc::getrandom(seed.as_mut_ptr().cast(), seed.len(), 0) };
        let mut s = u64::from_ne_bytes(seed);
        if n != 8 {
            s = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
                ^ u64::from(std::process::id());
        }
        Rng(s)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A held packet (`T` is nfq's Message; the tests use plain values).
struct Held<T> {
    due: Instant,
    seq: u64,
    msg: T,
}

impl<T> PartialEq for Held<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<T> Eq for Held<T> {}
impl<T> PartialOrd for Held<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Held<T> {
    /// Reversed: the max-heap's top is the earliest due (then the first received).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

/// SIGTERM and SIGINT, blocked and readable from a signalfd (blocked signals
/// reach us even as a container's PID 1, which ignores default-handled ones).
fn signal_fd() -> Result<libc::c_int> {
    // SAFETY: plain libc calls on a local, initialised sigset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            bail!("blocking SIGTERM/SIGINT failed");
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC);
        if fd < 0 {
            return Err(std::io::Error::last_os_error()).context("signalfd");
        }
        Ok(fd)
    }
}

/// The file descriptor of the queue's netlink socket, which `nfq` does not
/// expose: the one NETLINK_NETFILTER socket of this process (we open no other).
fn queue_fd() -> Result<libc::c_int> {
    let int_opt = |fd: libc::c_int, opt: libc::c_int| {
        let mut v: libc::c_int = -1;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `v`.
        let r =
            unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, opt, (&raw mut v).cast(), &mut len) };
        (r == 0).then_some(v)
    };
    let found: Vec<libc::c_int> = (0..4096)
        .filter(|&fd| {
            int_opt(fd, libc::SO_DOMAIN) == Some(libc::AF_NETLINK)
                && int_opt(fd, libc::SO_PROTOCOL) == Some(libc::NETLINK_NETFILTER)
        })
        .collect();
    match found[..] {
        [fd] => Ok(fd),
        _ => bail!("expected one NETLINK_NETFILTER socket, found {found:?}"),
    }
}

/// Opens and binds NFQUEUE `queue`: metadata only (we never read payloads),
/// fail-open, a long queue, a large socket buffer, non-blocking.
pub fn bind(queue: u16) -> Result<Queue> {
    let mut q = Queue::open().context("opening an NFQUEUE netlink socket")?;
    q.bind(queue).with_context(|| {
        format!(
            "binding NFQUEUE {queue} (is nfnetlink_queue there? NET_ADMIN? another delayer on it?)"
        )
    })?;
    q.set_copy_range(queue, 0)
        .context("setting the copy range")?;
    q.set_fail_open(queue, true).context("setting fail-open")?;
    q.set_queue_max_len(queue, QUEUE_MAXLEN)
        .context("setting the queue length")?;
    q.set_nonblocking(true);
    Ok(q)
}

fn set_rcvbuf(fd: libc::c_int) {
    let size = RCVBUF;
    let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: setsockopt reads `len` bytes from `size`.
        let r =
            unsafe { libc::setsockopt(fd, libc::SOL_SOCKET, opt, (&raw const size).cast(), len) };
        if r == 0 {
            return;
        }
    }
}

fn accept(q: &mut Queue, mut msg: Message, errors: &mut u64) {
    msg.set_verdict(Verdict::Accept);
    if let Err(e) = q.verdict(msg) {
        *errors += 1;
        if *errors <= 5 {
            eprintln!("netfault delay: verdict failed: {e}");
        }
    }
}

pub fn main(opts: &Opts) -> Result<i32> {
    let queue = opts.number("queue", 0, 65535, None)? as u16;
    let delay_ms = opts.number("delay-ms", 0, 60_000, None)?;
    let jitter_ms = opts.number("jitter-ms", 0, 60_000, Some(0))?;
    let correlation = opts.number("correlation-pct", 0, 100, Some(0))? as u32;
    let mut jitter = Jitter::new(
        Duration::from_millis(delay_ms),
        Duration::from_millis(jitter_ms),
        correlation,
    );
    let sigfd = signal_fd()?;
    let mut q = match bind(queue) {
        Ok(q) => q,
        Err(e) => {
            let message = format!("{e:#}");
            eprintln!("netfault delay: {message}");
            emit(&crate::failure(message));
            return Ok(1);
        }
    };
    let qfd = queue_fd()?;
    set_rcvbuf(qfd);
    if jitter.jitter().as_millis() as u64 != jitter_ms {
        eprintln!("netfault delay: jitter {jitter_ms} ms clamped to the delay, {delay_ms} ms");
    }
    emit(&DelayerEvent::Delaying {
        queue,
        delay_ms,
        jitter_ms: jitter.jitter().as_millis() as u64,
    });
    eprintln!("netfault delay: holding packets of NFQUEUE {queue} for {delay_ms} ms");

    let mut rng = Rng::seeded();
    let mut heap: BinaryHeap<Held<Message>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut errors = 0u64;
    let mut recv_errors = 0u32;
    loop {
        let now = Instant::now();
        while heap.peek().is_some_and(|h| h.due <= now) {
            let held = heap.pop().expect("peeked");
            accept(&mut q, held.msg, &mut errors);
        }
        let timeout = heap.peek().map(|h| {
            let wait = h.due.saturating_duration_since(now);
            libc::timespec {
                tv_sec: wait.as_secs() as libc::time_t,
                tv_nsec: wait.subsec_nanos() as libc::c_long,
            }
        });
        let mut fds = [
            libc::pollfd {
                fd: qfd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: sigfd,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: `fds` is a valid array of 2 pollfds; the timeout outlives the call.
        let n = unsafe {
            libc::ppoll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                timeout.as_ref().map_or(std::ptr::null(), |t| t as *const _),
                std::ptr::null(),
            )
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e).context("ppoll");
        }
        if fds[1].revents != 0 {
            break;
        }
        if fds[0].revents == 0 {
            continue;
        }
        for _ in 0..BATCH {
            match q.recv() {
                Ok(msg) => {
                    recv_errors = 0;
                    seq += 1;
                    let fresh = rng.next_f64();
                    heap.push(Held {
                        due: Instant::now() + jitter.next(fresh),
                        seq,
                        msg,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    // E.g. ENOENT for a verdict on a packet the kernel dropped
                    // (its device went away). A socket that keeps failing
                    // would make ppoll spin: give up after many in a row.
                    recv_errors += 1;
                    if recv_errors <= 5 {
                        eprintln!("netfault delay: receiving from the queue: {e}");
                    }
                    if recv_errors > 10_000 {
                        let held = heap.len();
                        while let Some(h) = heap.pop() {
                            accept(&mut q, h.msg, &mut errors);
                        }
                        emit(&Failure {
                            error: format!("the queue keeps failing: {e}"),
                            released: Some(held as u64),
                        });
                        return Ok(1);
                    }
                    break;
                }
            }
        }
    }
    // SIGTERM/SIGINT: everything held goes now, in due order, then whatever
    // is already waiting in the socket (the kernel drops what is still queued
    // to us when the socket closes).
    let held = heap.len();
    while let Some(h) = heap.pop() {
        accept(&mut q, h.msg, &mut errors);
    }
    let mut waiting = 0;
    while let Ok(msg) = q.recv() {
        accept(&mut q, msg, &mut errors);
        waiting += 1;
        if waiting >= QUEUE_MAXLEN {
            break;
        }
    }
    emit(&DelayerEvent::Stopped {
        queue,
        delayed: seq,
        released: (held + waiting as usize) as u64,
    });
    eprintln!("netfault delay: stopped; released {held} held packets");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn no_jitter_is_the_delay() {
        let mut j = Jitter::new(200 * MS, Duration::ZERO, 0);
        assert_eq!(j.next(0.0), 200 * MS);
        assert_eq!(j.next(0.99), 200 * MS);
    }

    #[test]
    fn jitter_is_uniform_around_the_delay() {
        let mut j = Jitter::new(100 * MS, 20 * MS, 0);
        assert_eq!(j.next(0.0), 80 * MS);
        assert_eq!(j.next(0.5), 100 * MS);
        let top = j.next(1.0 - f64::EPSILON);
        assert!(top > 119 * MS && top <= 120 * MS, "{top:?}");
        let mut rng = Rng(7);
        let samples: Vec<Duration> = (0..20_000).map(|_| j.next(rng.next_f64())).collect();
        assert!(samples.iter().all(|d| (80 * MS..=120 * MS).contains(d)));
        let mean = samples.iter().map(Duration::as_secs_f64).sum::<f64>() / samples.len() as f64;
        assert!((mean - 0.100).abs() < 0.001, "mean {mean}");
    }

    #[test]
    fn jitter_larger_than_the_delay_is_clamped() {
        let mut j = Jitter::new(10 * MS, 50 * MS, 0);
        assert_eq!(j.jitter(), 10 * MS);
        assert_eq!(j.next(0.0), Duration::ZERO);
        assert!(j.next(1.0 - f64::EPSILON) <= 20 * MS);
        let mut z = Jitter::new(Duration::ZERO, 5 * MS, 0);
        assert_eq!(z.next(0.0), Duration::ZERO);
        assert_eq!(z.next(0.9), Duration::ZERO);
    }

    #[test]
    fn correlation_mixes_in_the_previous_draw() {
        let mut j = Jitter::new(100 * MS, 100 * MS, 75);
        // last starts at 0.5: 0.75*0.5 + 0.25*1.0 = 0.625 → 100 + 25 ms.
        let d = j.next(1.0);
        assert!((d.as_secs_f64() - 0.125).abs() < 1e-9, "{d:?}");
        // 0.75*0.625 + 0.25*0.0 = 0.46875 → 100 - 6.25 ms.
        let d = j.next(0.0);
        assert!((d.as_secs_f64() - 0.09375).abs() < 1e-9, "{d:?}");
        // Fully correlated: never moves from the first value.
        let mut still = Jitter::new(100 * MS, 100 * MS, 100);
        assert_eq!(still.next(0.9), 100 * MS);
        assert_eq!(still.next(0.1), 100 * MS);
    }

    #[test]
    fn heap_releases_earliest_due_then_first_received() {
        let t = Instant::now();
        let mut heap = BinaryHeap::new();
        for (due, seq, msg) in [(5, 1, 'a'), (1, 3, 'c'), (1, 2, 'b'), (9, 4, 'd')] {
            heap.push(Held {
                due: t + due * MS,
                seq,
                msg,
            });
        }
        let order: String = std::iter::from_fn(|| heap.pop().map(|h| h.msg)).collect();
        assert_eq!(order, "bcad");
    }

    #[test]
    fn rng_is_uniform_enough() {
        let mut r = Rng(42);
        let mean = (0..100_000).map(|_| r.next_f64()).sum::<f64>() / 100_000.0;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
    }
}
