//! Measurement tools for the tests and benches, run in containers of the
//! helper image on a private network (or in another container's netns).
//! Each is bounded by counts and timeouts except the two servers and `idle`,
//! which run until SIGTERM (or `docker rm -f`).

use crate::delay::Rng;
use crate::{Opts, emit};
use anyhow::{Context, Result, bail};
use serde_json::json;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

extern "C" fn exit_now(_: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(0) }
}

/// As a container's PID 1 a process ignores SIGTERM unless it handles it:
/// the servers exit 0 on SIGTERM/SIGINT so `docker stop` is quick.
fn exit_on_term() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: installs an async-signal-safe handler.
        unsafe { libc::signal(sig, exit_now as *const () as libc::sighandler_t) };
    }
}

/// Does nothing until SIGTERM: a container that costs no CPU, for benches
/// that need many of them (scripts/bench-scale.sh).
pub fn idle(_: &Opts) -> Result<i32> {
    exit_on_term();
    emit(&json!({ "idle": true }));
    loop {
        // SAFETY: pause has no preconditions; it returns after a handled
        // signal (the handlers above exit instead).
        unsafe { libc::pause() };
    }
}

pub fn udp_echo(opts: &Opts) -> Result<i32> {
    let port = opts.number("port", 1, 65535, None)? as u16;
    exit_on_term();
    let sock = UdpSocket::bind(("0.0.0.0", port)).with_context(|| format!("binding UDP {port}"))?;
    emit(&json!({ "listening": { "udp": port } }));
    let mut buf = [0u8; 2048];
    loop {
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                let _ = sock.send_to(&buf[..n], from);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // ICMP errors from earlier replies surface here; keep echoing.
            Err(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = (q * (sorted.len() - 1) as f64).round() as usize;
    Some(sorted[i.min(sorted.len() - 1)])
}

/// The `rtt` summary: `rtts` in ms of the replies that counted.
pub fn summary(sent: u64, rtts: &[f64]) -> serde_json::Value {
    let mut sorted = rtts.to_vec();
    sorted.sort_by(f64::total_cmp);
    let received = sorted.len() as u64;
    let round = |v: Option<f64>| v.map(|v| (v * 1000.0).round() / 1000.0);
    let mean = (!sorted.is_empty()).then(|| sorted.iter().sum::<f64>() / sorted.len() as f64);
    json!({
        "sent": sent,
        "received": received,
        "loss": if sent == 0 { 0.0 } else { 1.0 - received as f64 / sent as f64 },
        "median_ms": round(percentile(&sorted, 0.5)),
        "p10_ms": round(percentile(&sorted, 0.1)),
        "p90_ms": round(percentile(&sorted, 0.9)),
        "mean_ms": round(mean),
        "min_ms": round(sorted.first().copied()),
        "max_ms": round(sorted.last().copied()),
    })
}

const RTT_MAGIC: u32 = 0x6e66_7274; // "nfrt"

/// `rtt`: N numbered datagrams, one every I ms (on a fixed schedule, so a
/// late wake-up sends the backlog at once); a reply counts if it carries this
/// run's nonce, a sequence number we sent, is the first for it and comes
/// within T ms of its datagram. Waits T ms after the last datagram.
pub fn rtt(opts: &Opts) -> Result<i32> {
    let to = opts.addr("to")?;
    let count = opts.number("count", 1, 1_000_000, None)?;
    let interval = Duration::from_millis(opts.number("interval-ms", 0, 60_000, None)?);
    let timeout = Duration::from_millis(opts.number("timeout-ms", 1, 60_000, None)?);
    let bind: SocketAddr = if to.is_ipv4() {
        "0.0.0.0:0".parse()?
    } else {
        "[::]:0".parse()?
    };
    let sock = UdpSocket::bind(bind)?;
    // Connected: the kernel keeps replies from anyone else away.
    sock.connect(to)
        .with_context(|| format!("connecting a UDP socket to {to}"))?;
    sock.set_nonblocking(true)?;
    let nonce = Rng::seeded().next_u64() as u32;
    let mut sent_at: Vec<Instant> = Vec::with_capacity(count as usize);
    let mut rtts: Vec<f64> = Vec::with_capacity(count as usize);
    let mut answered = vec![false; count as usize];
    let start = Instant::now();
    let mut buf = [0u8; 64];
    loop {
        let now = Instant::now();
        // Send what is due.
        while (sent_at.len() as u64) < count && start + interval * sent_at.len() as u32 <= now {
            let seq = sent_at.len() as u64;
            let mut msg = [0u8; 32];
            msg[..4].copy_from_slice(&RTT_MAGIC.to_be_bytes());
            msg[4..8].copy_from_slice(&nonce.to_be_bytes());
            msg[8..16].copy_from_slice(&seq.to_be_bytes());
            let at = Instant::now();
            // A refused or failed send is a lost datagram, as on a real path.
            let _ = sock.send(&msg);
            sent_at.push(at);
        }
        // Read every reply waiting.
        loop {
            match sock.recv(&mut buf) {
                Ok(n) if n >= 16 => {
                    let arrived = Instant::now();
                    let magic = u32::from_be_bytes(buf[..4].try_into().expect("4 bytes"));
                    let theirs = u32::from_be_bytes(buf[4..8].try_into().expect("4 bytes"));
                    let seq = u64::from_be_bytes(buf[8..16].try_into().expect("8 bytes"));
                    if magic != RTT_MAGIC || theirs != nonce {
                        continue;
                    }
                    let Some(&at) = sent_at.get(seq as usize) else {
                        continue;
                    };
                    let rtt = arrived - at;
                    if !answered[seq as usize] && rtt <= timeout {
                        answered[seq as usize] = true;
                        rtts.push(rtt.as_secs_f64() * 1000.0);
                    }
                }
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                // ECONNREFUSED from an ICMP port unreachable: that datagram is lost.
                Err(_) => {}
            }
        }
        let all_sent = sent_at.len() as u64 == count;
        let deadline = if all_sent {
            let last = sent_at.last().copied().unwrap_or(start);
            if rtts.len() as u64 == count || Instant::now() >= last + timeout {
                break;
            }
            last + timeout
        } else {
            start + interval * sent_at.len() as u32
        };
        wait_readable(&sock, deadline.saturating_duration_since(Instant::now()));
    }
    emit(&summary(count, &rtts));
    Ok(0)
}

fn wait_readable(sock: &UdpSocket, wait: Duration) {
    use std::os::fd::AsRawFd;
    let ts = libc::timespec {
        tv_sec: wait.as_secs() as libc::time_t,
        tv_nsec: wait.subsec_nanos() as libc::c_long,
    };
    let mut fd = libc::pollfd {
        fd: sock.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd and a timespec that outlives the call.
    unsafe { libc::ppoll(&mut fd, 1, &ts, std::ptr::null()) };
}

/// At most this many connections are read at once; more are closed at once.
const SINK_CONNECTIONS: usize = 64;

pub fn tcp_sink(opts: &Opts) -> Result<i32> {
    let port = opts.number("port", 1, 65535, None)? as u16;
    exit_on_term();
    let listener =
        TcpListener::bind(("0.0.0.0", port)).with_context(|| format!("binding TCP {port}"))?;
    emit(&json!({ "listening": { "tcp": port } }));
    let open = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        if open.load(Ordering::SeqCst) >= SINK_CONNECTIONS {
            continue;
        }
        open.fetch_add(1, Ordering::SeqCst);
        let open = open.clone();
        std::thread::spawn(move || {
            // An idle sender is dropped after two minutes.
            let _ = conn.set_read_timeout(Some(Duration::from_secs(120)));
            let mut buf = vec![0u8; 64 * 1024];
            while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
            // Our FIN tells tcp-rate that everything it sent has been read.
            let _ = conn.shutdown(Shutdown::Both);
            open.fetch_sub(1, Ordering::SeqCst);
        });
    }
    Ok(0)
}

/// The sender's socket buffer: small, so little is left to drain at the end.
const RATE_SNDBUF: libc::c_int = 64 * 1024;

/// `tcp-rate`: writes as fast as it can for S seconds, then half-closes and
/// waits for the sink's FIN, which it sends only after reading everything.
/// So `bytes` is what the sink received and `seconds` runs from the first
/// write to that FIN: the rate is goodput (TCP payload) over the bottleneck,
/// not counting the few packets of slow start nor the last FIN's trip.
/// Headers are not counted: under a 1 Mbit/s qdisc that caps whole frames,
/// goodput is about 95 % of the cap.
pub fn tcp_rate(opts: &Opts) -> Result<i32> {
    let to = opts.addr("to")?;
    let seconds = opts.number("seconds", 1, 300, None)?;
    let mut conn = TcpStream::connect_timeout(&to, Duration::from_secs(5))
        .with_context(|| format!("connecting to {to}"))?;
    {
        use std::os::fd::AsRawFd;
        let size = RATE_SNDBUF;
        let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: setsockopt reads `len` bytes from `size`.
        unsafe {
            libc::setsockopt(
                conn.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_SNDBUF,
                (&raw const size).cast(),
                len,
            )
        };
    }
    conn.set_write_timeout(Some(Duration::from_millis(200)))?;
    let chunk = vec![0x5au8; 16 * 1024];
    let start = Instant::now();
    let stop = start + Duration::from_secs(seconds);
    let mut bytes: u64 = 0;
    while Instant::now() < stop {
        match conn.write(&chunk) {
            Ok(n) => bytes += n as u64,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e).context("sending"),
        }
    }
    conn.shutdown(Shutdown::Write)?;
    // Bounded: what is left in our buffer and the qdisc drains in well under
    // this even at 1 Mbit/s.
    let drain_limit = Duration::from_secs(30);
    conn.set_read_timeout(Some(drain_limit))?;
    let mut buf = [0u8; 512];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                bail!("the sink did not finish reading within {drain_limit:?}");
            }
            Err(e) => return Err(e).context("waiting for the sink to finish"),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    emit(&json!({
        "bytes": bytes,
        "seconds": (elapsed * 1000.0).round() / 1000.0,
        "kbit_per_sec": (bytes as f64 * 8.0 / 1000.0 / elapsed).round(),
    }));
    Ok(0)
}

pub fn connect(opts: &Opts) -> Result<i32> {
    let to = opts.addr("to")?;
    let timeout = Duration::from_millis(opts.number("timeout-ms", 1, 60_000, None)?);
    let result = TcpStream::connect_timeout(&to, timeout);
    emit(&json!({
        "connected": result.is_ok(),
        "error": result.err().map(|e| e.to_string()),
    }));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=11).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(6.0));
        assert_eq!(percentile(&v, 0.1), Some(2.0));
        assert_eq!(percentile(&v, 0.9), Some(10.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn summary_counts_loss() {
        let s = summary(4, &[3.0, 1.0, 2.0]);
        assert_eq!(s["received"], 3);
        assert_eq!(s["loss"], 0.25);
        assert_eq!(s["median_ms"], 2.0);
        assert_eq!(s["mean_ms"], 2.0);
        let none = summary(5, &[]);
        assert_eq!(none["loss"], 1.0);
        assert!(none["median_ms"].is_null());
    }
}
