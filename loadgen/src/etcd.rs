//! The etcd workload: puts through the v3 JSON gateway (`POST /v3/kv/put`),
//! and the readiness check.

use std::fmt;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::http::{self, Connection, Endpoint};
use crate::stats::Recorder;

const PUT_PATH: &str = "/v3/kv/put";

/// Standard base64 with padding (what the gateway expects for bytes fields).
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> shift & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Why a put failed.
#[derive(Debug)]
pub enum PutError {
    Http(http::Error),
    /// etcd (or its gateway) answered with an error.
    Rejected {
        status: u16,
        message: String,
    },
}

impl fmt::Display for PutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Http(e) => write!(f, "{e}"),
            PutError::Rejected { status, message } => write!(f, "HTTP {status}: {message}"),
        }
    }
}

/// Timeouts of one request.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub request: Duration,
    pub connect: Duration,
}

/// One put; `Ok` only for a 200 answer carrying a response header and no error.
pub fn put(
    conn: &mut Connection,
    endpoint: &Endpoint,
    key_b64: &str,
    value_b64: &str,
    timeouts: Timeouts,
) -> Result<(), PutError> {
    let body = format!(r#"{{"key":"{key_b64}","value":"{value_b64}"}}"#);
    let resp = conn
        .post_json(
            endpoint,
            PUT_PATH,
            &body,
            timeouts.request,
            timeouts.connect,
        )
        .map_err(PutError::Http)?;
    check_response(resp.status, &resp.body).map(|_| ())
}

/// A successful call answers 200 with `{"header":{…}, …}` (returned); errors
/// carry `error` or `message` (grpc-gateway), sometimes with status 200 on
/// older gateways.
pub fn check_response(status: u16, body: &[u8]) -> Result<serde_json::Value, PutError> {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let error = json.as_ref().and_then(|v| {
        v.get("error")
            .or_else(|| v.get("message"))
            .and_then(|m| m.as_str())
            .map(str::to_string)
    });
    let has_header = json.as_ref().is_some_and(|v| v.get("header").is_some());
    match (status, error) {
        (200, None) if has_header => Ok(json.unwrap_or_default()),
        (_, Some(message)) => Err(PutError::Rejected { status, message }),
        _ => Err(PutError::Rejected {
            status,
            message: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        }),
    }
}

/// A small xorshift generator: keys need spread, not cryptography.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// Settings of a load run.
#[derive(Debug, Clone)]
pub struct Workload {
    pub endpoints: Vec<Endpoint>,
    pub threads: usize,
    pub timeouts: Timeouts,
    pub keys: u64,
    pub value_size: usize,
    pub key_prefix: String,
    /// First and longest skip of an endpoint after a failure.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

/// Starts the worker threads; they stop when `stop` is set (each within one
/// request timeout) and record every put into `recorder`.
pub fn spawn_workers(
    workload: &Workload,
    recorder: &Arc<Recorder>,
    stop: &Arc<AtomicBool>,
) -> std::io::Result<Vec<thread::JoinHandle<()>>> {
    let (workload, recorder, stop) = (workload.clone(), recorder.clone(), stop.clone());
    let threads = workload.threads;
    spawn_named(threads, move |id| worker(id, &workload, &recorder, &stop))
}

/// `threads` threads named `worker-ID`, each running `work(ID)`.
pub fn spawn_named(
    threads: usize,
    work: impl Fn(usize) + Send + Sync + 'static,
) -> std::io::Result<Vec<thread::JoinHandle<()>>> {
    let work = Arc::new(work);
    (0..threads)
        .map(|id| {
            let work = Arc::clone(&work);
            thread::Builder::new()
                .name(format!("worker-{id}"))
                .spawn(move || work(id))
        })
        .collect()
}

/// Which endpoints a worker should skip for now. A failed endpoint is
/// skipped for a backoff that starts at `base` and doubles on every further
/// failure up to `max`; one success clears it. So a dead or frozen member
/// costs one failed request per backoff period instead of one per round,
/// whether it refuses connections or lets requests time out, and a member
/// that comes back is retried within `max`.
#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    state: Vec<Option<(Instant, Duration)>>,
}

impl Backoff {
    pub fn new(endpoints: usize, base: Duration, max: Duration) -> Self {
        Self {
            base: base.min(max),
            max,
            state: vec![None; endpoints],
        }
    }

    /// The first endpoint from `start` on (wrapping) that may be tried now.
    pub fn next_ready(&self, start: usize, now: Instant) -> Option<usize> {
        let n = self.state.len();
        (0..n)
            .map(|k| (start + k) % n)
            .find(|&j| self.state[j].is_none_or(|(until, _)| until <= now))
    }

    /// The endpoint to try now, the first from `start` on that is not
    /// backing off. When every one is, sleeps towards the first retry (1 to
    /// 50 ms) and says `None`, so the worker looks at its stop flag again.
    pub fn ready_or_wait(&self, start: usize) -> Option<usize> {
        let now = Instant::now();
        let ready = self.next_ready(start, now);
        if ready.is_none() {
            let wait = self
                .earliest_retry()
                .map_or(Duration::ZERO, |t| t.saturating_duration_since(now));
            thread::sleep(wait.clamp(Duration::from_millis(1), Duration::from_millis(50)));
        }
        ready
    }

    /// What one request to `endpoint` came to.
    pub fn outcome(&mut self, endpoint: usize, ok: bool) {
        if ok {
            self.succeeded(endpoint);
        } else {
            self.failed(endpoint, Instant::now());
        }
    }

    /// When the earliest skipped endpoint may be tried again.
    pub fn earliest_retry(&self) -> Option<Instant> {
        self.state.iter().flatten().map(|(until, _)| *until).min()
    }

    pub fn succeeded(&mut self, endpoint: usize) {
        self.state[endpoint] = None;
    }

    pub fn failed(&mut self, endpoint: usize, now: Instant) {
        let delay = match self.state[endpoint] {
            Some((_, last)) => (last * 2).min(self.max),
            None => self.base,
        };
        self.state[endpoint] = Some((now + delay, delay));
    }
}

fn worker(id: usize, w: &Workload, recorder: &Recorder, stop: &AtomicBool) {
    let n = w.endpoints.len();
    let mut conns: Vec<Connection> = (0..n).map(|_| Connection::default()).collect();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ (id as u64 + 1).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    let mut rng = Rng::new(seed);
    let value: Vec<u8> = (0..w.value_size)
        .map(|_| b'a' + (rng.next() % 26) as u8)
        .collect();
    let value_b64 = base64(&value);
    let mut backoff = Backoff::new(n, w.backoff_base, w.backoff_max);
    // Workers start on different endpoints, then each loops over all of them.
    let mut next = id % n;
    while !stop.load(Ordering::Relaxed) {
        let Some(i) = backoff.ready_or_wait(next) else {
            continue;
        };
        let key = format!("{}{:010}", w.key_prefix, rng.next() % w.keys.max(1));
        let key_b64 = base64(key.as_bytes());
        let start = Instant::now();
        let result = put(
            &mut conns[i],
            &w.endpoints[i],
            &key_b64,
            &value_b64,
            w.timeouts,
        );
        let micros = u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX);
        recorder.record(id, result.is_ok(), micros);
        backoff.outcome(i, result.is_ok());
        next = (i + 1) % n;
    }
}

/// The result of one readiness round.
pub struct ProbeReport {
    pub failures: Vec<(String, String)>,
}

/// Puts one key through every endpoint, in parallel.
pub fn probe_once(endpoints: &[Endpoint], timeouts: Timeouts) -> ProbeReport {
    let results = Mutex::new(Vec::new());
    thread::scope(|s| {
        for ep in endpoints {
            let results = &results;
            s.spawn(move || {
                let mut conn = Connection::default();
                let r = put(
                    &mut conn,
                    ep,
                    &base64(b"loadgen/probe"),
                    &base64(ep.url.as_bytes()),
                    timeouts,
                );
                if let Err(e) = r {
                    results
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((ep.url.clone(), e.to_string()));
                }
            });
        }
    });
    let mut failures = results.into_inner().unwrap_or_else(|p| p.into_inner());
    failures.sort();
    ProbeReport { failures }
}

/// Waits until every endpoint answers a put, for at most `wait` (a single
/// round when zero). Prints the verdict; returns whether all answered.
pub fn check(endpoints: &[Endpoint], timeouts: Timeouts, wait: Duration) -> bool {
    let start = Instant::now();
    let mut rounds = 0u32;
    loop {
        rounds += 1;
        let report = probe_once(endpoints, timeouts);
        if report.failures.is_empty() {
            println!(
                "ok: all {} etcd endpoints answered a put ({} round{}, {} ms)",
                endpoints.len(),
                rounds,
                if rounds == 1 { "" } else { "s" },
                start.elapsed().as_millis()
            );
            return true;
        }
        if start.elapsed() + Duration::from_millis(250) >= wait {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "loadgen: {} of {} etcd endpoints did not answer a put after {} ms:",
                report.failures.len(),
                endpoints.len(),
                start.elapsed().as_millis()
            );
            for (url, e) in &report.failures {
                let _ = writeln!(err, "  {url}: {e}");
            }
            return false;
        }
        thread::sleep(Duration::from_millis(250));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert_eq!(base64(b"bar"), "YmFy");
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn put_responses_are_judged_by_status_header_and_error() {
        let ok = br#"{"header":{"cluster_id":"1","member_id":"2","revision":"3","raft_term":"2"}}"#;
        assert!(check_response(200, ok).is_ok());
        let timed_out = br#"{"error":"etcdserver: request timed out","code":14,"message":"etcdserver: request timed out"}"#;
        let e = check_response(503, timed_out).unwrap_err();
        assert_eq!(e.to_string(), "HTTP 503: etcdserver: request timed out");
        assert!(check_response(200, br#"{"error":"etcdserver: no leader"}"#).is_err());
        assert!(check_response(200, b"not json").is_err());
        assert!(check_response(404, b"404 page not found").is_err());
    }

    #[test]
    fn a_failed_endpoint_is_skipped_with_a_doubling_backoff() {
        let base = Duration::from_millis(250);
        let max = Duration::from_secs(1);
        let t0 = Instant::now();
        let mut b = Backoff::new(3, base, max);
        assert_eq!(b.next_ready(1, t0), Some(1));
        b.failed(1, t0);
        assert_eq!(b.next_ready(1, t0), Some(2));
        assert_eq!(b.next_ready(1, t0 + base), Some(1));
        // Doubling, capped at max.
        b.failed(1, t0);
        assert_eq!(b.earliest_retry(), Some(t0 + 2 * base));
        b.failed(1, t0);
        b.failed(1, t0);
        assert_eq!(b.earliest_retry(), Some(t0 + max));
        // All failed: nothing ready until the earliest retry.
        b.failed(0, t0);
        b.failed(2, t0);
        assert_eq!(b.next_ready(0, t0), None);
        assert_eq!(b.earliest_retry(), Some(t0 + base));
        assert_eq!(b.next_ready(1, t0 + base), Some(2));
        // A success clears the backoff.
        b.succeeded(1);
        assert_eq!(b.next_ready(1, t0), Some(1));
    }

    #[test]
    fn rng_spreads_keys() {
        let mut r = Rng::new(1);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            seen.insert(r.next() % 100);
        }
        assert!(seen.len() > 90);
    }
}
