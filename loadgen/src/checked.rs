//! The etcd workload whose history is checked (`history`): each worker
//! writes its own register and the set beside it in one transaction, and
//! reads any worker's register, linearizably or (a share of them)
//! serializably. After the run, a final read of every set counts the
//! acknowledged writes etcd no longer holds; then the run's keys go.
//!
//! Keys, under `PREFIX/RUN/` (RUN: the start time in ms, so runs never
//! share keys): `reg/WWWW` holds the worker's latest value; `set/WWWW/VVVVVVVVVVVV`
//! one key per value written (empty). Reads of a register touch one key,
//! whatever the run's length (etcd 3.4 walks every key of a range, so a
//! read over the set would grow with the run).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::etcd::{Backoff, PutError, Timeouts, base64, check_response};
use crate::http::{self, Connection, Endpoint};
use crate::stats::{Op, Recorder};
use loadgen::history::{History, ReadKind, WriteOutcome};

const TXN_PATH: &str = "/v3/kv/txn";
const RANGE_PATH: &str = "/v3/kv/range";
const DELETE_PATH: &str = "/v3/kv/deleterange";
/// Keys asked for per page of the final read.
const FINAL_PAGE: usize = 10_000;
/// How long the final read keeps trying the endpoints.
const FINAL_READ_FOR: Duration = Duration::from_secs(20);

/// Where one run keeps its keys.
#[derive(Debug, Clone)]
pub struct Keys {
    run: String,
}

impl Keys {
    pub fn new(prefix: &str, run_ms: u128) -> Self {
        Keys {
            run: format!("{}/{run_ms}", prefix.trim_end_matches('/')),
        }
    }

    pub fn register(&self, worker: usize) -> String {
        format!("{}/reg/{worker:04}", self.run)
    }

    fn set_prefix(&self, worker: usize) -> String {
        format!("{}/set/{worker:04}/", self.run)
    }

    pub fn set_member(&self, worker: usize, value: u64) -> String {
        format!("{}{value:012}", self.set_prefix(worker))
    }

    /// The value a set key names, if it is one of `worker`'s.
    pub fn value_of(&self, worker: usize, key: &str) -> Option<u64> {
        key.strip_prefix(&self.set_prefix(worker))?.parse().ok()
    }

    fn run_prefix(&self) -> String {
        format!("{}/", self.run)
    }
}

/// The end of the range of keys starting with `prefix` (etcd's `range_end`).
fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// The transaction that writes `value` to the register and adds it to the set.
pub fn write_body(keys: &Keys, worker: usize, value: u64) -> String {
    let put = |key: &str, value: &str| {
        format!(
            r#"{{"request_put":{{"key":"{}","value":"{}"}}}}"#,
            base64(key.as_bytes()),
            base64(value.as_bytes())
        )
    };
    format!(
        r#"{{"success":[{},{}]}}"#,
        put(&keys.register(worker), &value.to_string()),
        put(&keys.set_member(worker, value), "")
    )
}

/// What a write's failure says about its outcome: only a request that
/// never reached etcd surely did nothing.
pub fn outcome_of(result: &Result<serde_json::Value, PutError>) -> WriteOutcome {
    match result {
        Ok(_) => WriteOutcome::Acknowledged,
        Err(PutError::Http(http::Error::Connect(_))) => WriteOutcome::Failed,
        Err(_) => WriteOutcome::Unknown,
    }
}

/// The register's value in a range answer (0: never written).
pub fn register_value(answer: &serde_json::Value) -> Result<u64, String> {
    let Some(kv) = answer["kvs"].as_array().and_then(|kvs| kvs.first()) else {
        return Ok(0);
    };
    let value = kv["value"].as_str().unwrap_or("");
    let bytes = unbase64(value).ok_or_else(|| format!("value {value:?} is not base64"))?;
    String::from_utf8_lossy(&bytes).parse().map_err(|_| {
        format!(
            "register holds {:?}, not a count",
            String::from_utf8_lossy(&bytes)
        )
    })
}

/// Standard base64 back to bytes (`None`: not base64).
pub fn unbase64(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let text = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= digit(c)? << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    Some(out)
}

fn post(
    conn: &mut Connection,
    endpoint: &Endpoint,
    path: &str,
    body: &str,
    timeouts: Timeouts,
) -> Result<serde_json::Value, PutError> {
    let response = conn
        .post_json(endpoint, path, body, timeouts.request, timeouts.connect)
        .map_err(PutError::Http)?;
    check_response(response.status, &response.body)
}

/// What one checked worker needs.
pub struct Checked {
    pub keys: Keys,
    pub history: Arc<History>,
    /// Out of 100 reads, how many are serializable.
    pub serializable_pct: u8,
}

/// One worker: write its register, then read a register, round after
/// round, each on the next endpoint that is not backing off.
pub fn worker(
    id: usize,
    w: &crate::etcd::Workload,
    checked: &Checked,
    recorder: &Recorder,
    stop: &AtomicBool,
) {
    let n = w.endpoints.len();
    let mut conns: Vec<Connection> = (0..n).map(|_| Connection::default()).collect();
    let mut backoff = Backoff::new(n, w.backoff_base, w.backoff_max);
    let mut rng = crate::etcd::Rng::new(id as u64 + 1);
    let mut next = id % n;
    let mut write_turn = true;
    while !stop.load(Ordering::Relaxed) {
        let Some(i) = backoff.ready_or_wait(next) else {
            continue;
        };
        let started = Instant::now();
        let ok = if write_turn {
            let value = checked.history.begin_write(id);
            let body = write_body(&checked.keys, id, value);
            let result = post(&mut conns[i], &w.endpoints[i], TXN_PATH, &body, w.timeouts);
            let outcome = outcome_of(&result);
            checked.history.end_write(id, value, outcome);
            let micros = micros_since(started);
            recorder.record_op(
                id,
                Op::Update,
                outcome == WriteOutcome::Acknowledged,
                micros,
            );
            outcome == WriteOutcome::Acknowledged
        } else {
            let register = (rng.next() % checked.history.registers() as u64) as usize;
            let kind = if (rng.next() % 100) < u64::from(checked.serializable_pct) {
                ReadKind::Serializable
            } else {
                ReadKind::Linearizable
            };
            let read = checked.history.begin_read(register, kind);
            let body = format!(
                r#"{{"key":"{}","serializable":{}}}"#,
                base64(checked.keys.register(register).as_bytes()),
                kind == ReadKind::Serializable
            );
            let result = post(
                &mut conns[i],
                &w.endpoints[i],
                RANGE_PATH,
                &body,
                w.timeouts,
            )
            .and_then(|answer| {
                register_value(&answer).map_err(|message| PutError::Rejected {
                    status: 200,
                    message,
                })
            });
            if let Ok(value) = result {
                checked.history.end_read(read, value);
            }
            recorder.record_op(id, Op::Read, result.is_ok(), micros_since(started));
            result.is_ok()
        };
        backoff.outcome(i, ok);
        write_turn = !write_turn;
        next = (i + 1) % n;
    }
}

fn micros_since(started: Instant) -> u32 {
    u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX)
}

/// Starts the checked workers.
pub fn spawn_workers(
    workload: &crate::etcd::Workload,
    checked: &Arc<Checked>,
    recorder: &Arc<Recorder>,
    stop: &Arc<AtomicBool>,
) -> std::io::Result<Vec<thread::JoinHandle<()>>> {
    let (workload, checked) = (workload.clone(), checked.clone());
    let (recorder, stop) = (recorder.clone(), stop.clone());
    crate::etcd::spawn_named(workload.threads, move |id| {
        worker(id, &workload, &checked, &recorder, &stop)
    })
}

/// Every value in `worker`'s set, read page by page from one endpoint.
fn read_set(
    conn: &mut Connection,
    endpoint: &Endpoint,
    keys: &Keys,
    worker: usize,
    timeouts: Timeouts,
) -> Result<Vec<u64>, PutError> {
    let prefix = keys.set_prefix(worker);
    let end = base64(&prefix_end(&prefix));
    let mut from = prefix.as_bytes().to_vec();
    let mut values = Vec::new();
    loop {
        let body = format!(
            r#"{{"key":"{}","range_end":"{end}","keys_only":true,"limit":{FINAL_PAGE}}}"#,
            base64(&from)
        );
        let answer = post(conn, endpoint, RANGE_PATH, &body, timeouts)?;
        let kvs = answer["kvs"].as_array().cloned().unwrap_or_default();
        let mut last = None;
        for kv in &kvs {
            let key = kv["key"].as_str().and_then(unbase64).unwrap_or_default();
            let key = String::from_utf8_lossy(&key).into_owned();
            if let Some(value) = keys.value_of(worker, &key) {
                values.push(value);
            }
            last = Some(key);
        }
        match last {
            Some(key) if answer["more"].as_bool() == Some(true) => {
                from = key.into_bytes();
                from.push(0);
            }
            _ => return Ok(values),
        }
    }
}

/// The final read: every worker's set, through the first endpoint that
/// gives them all (trying for [`FINAL_READ_FOR`]). `None`: none did.
pub fn final_read(
    endpoints: &[Endpoint],
    keys: &Keys,
    workers: usize,
    timeouts: Timeouts,
) -> Option<Vec<Vec<u64>>> {
    // A page of 10 000 keys takes longer than one put.
    let timeouts = Timeouts {
        request: timeouts.request.max(Duration::from_secs(5)),
        ..timeouts
    };
    let until = Instant::now() + FINAL_READ_FOR;
    while Instant::now() < until {
        for endpoint in endpoints {
            let mut conn = Connection::default();
            let sets: Result<Vec<_>, _> = (0..workers)
                .map(|w| read_set(&mut conn, endpoint, keys, w, timeouts))
                .collect();
            if let Ok(sets) = sets {
                return Some(sets);
            }
        }
        thread::sleep(Duration::from_millis(250));
    }
    None
}

/// Removes the run's keys (best effort: a later run never reads them).
pub fn delete_run(endpoints: &[Endpoint], keys: &Keys, timeouts: Timeouts) {
    let prefix = keys.run_prefix();
    let body = format!(
        r#"{{"key":"{}","range_end":"{}"}}"#,
        base64(prefix.as_bytes()),
        base64(&prefix_end(&prefix))
    );
    for endpoint in endpoints {
        let mut conn = Connection::default();
        if post(&mut conn, endpoint, DELETE_PATH, &body, timeouts).is_ok() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_run_the_worker_and_the_value() {
        let keys = Keys::new("loadgen/history/", 1700);
        assert_eq!(keys.register(3), "loadgen/history/1700/reg/0003");
        let member = keys.set_member(3, 42);
        assert_eq!(member, "loadgen/history/1700/set/0003/000000000042");
        assert_eq!(keys.value_of(3, &member), Some(42));
        assert_eq!(keys.value_of(2, &member), None);
        assert_eq!(prefix_end("a/b/"), b"a/b0".to_vec());
        assert_eq!(prefix_end("a\u{7f}"), b"a\x80".to_vec());
    }

    #[test]
    fn a_write_is_one_transaction_of_the_register_and_the_set() {
        let keys = Keys::new("p", 1);
        let body: serde_json::Value = serde_json::from_str(&write_body(&keys, 0, 7)).unwrap();
        let puts = body["success"].as_array().unwrap();
        let key = |i: usize| {
            let b64 = puts[i]["request_put"]["key"].as_str().unwrap();
            String::from_utf8(unbase64(b64).unwrap()).unwrap()
        };
        assert_eq!(
            (key(0), key(1)),
            ("p/1/reg/0000".into(), "p/1/set/0000/000000000007".into())
        );
        let value = puts[0]["request_put"]["value"].as_str().unwrap();
        assert_eq!(unbase64(value).unwrap(), b"7");
    }

    #[test]
    fn base64_goes_both_ways() {
        for bytes in [
            &b""[..],
            b"f",
            b"fo",
            b"foo",
            b"foob",
            b"\xff\xfe\xfd",
            b"12345",
        ] {
            assert_eq!(unbase64(&base64(bytes)).as_deref(), Some(bytes));
        }
        assert_eq!(unbase64("Zm9v!"), None);
        assert_eq!(unbase64("Z"), None);
    }

    #[test]
    fn a_register_read_is_its_value_or_zero() {
        let answer = |kvs: &str| -> serde_json::Value {
            serde_json::from_str(&format!(r#"{{"header":{{}},"kvs":{kvs}}}"#)).unwrap()
        };
        assert_eq!(
            register_value(&answer(r#"[{"key":"x","value":"NDI="}]"#)),
            Ok(42)
        );
        assert_eq!(register_value(&answer("[]")), Ok(0));
        assert_eq!(register_value(&serde_json::json!({"header": {}})), Ok(0));
        assert!(register_value(&answer(r#"[{"key":"x","value":"eHl6"}]"#)).is_err());
    }

    #[test]
    fn only_a_refused_connection_is_a_sure_failure() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            outcome_of(&Err(PutError::Http(http::Error::Connect(refused)))),
            WriteOutcome::Failed
        );
        assert_eq!(
            outcome_of(&Err(PutError::Http(http::Error::Timeout))),
            WriteOutcome::Unknown
        );
        let rejected = PutError::Rejected {
            status: 503,
            message: "etcdserver: request timed out".into(),
        };
        assert_eq!(outcome_of(&Err(rejected)), WriteOutcome::Unknown);
        assert_eq!(
            outcome_of(&Ok(serde_json::json!({}))),
            WriteOutcome::Acknowledged
        );
    }
}
