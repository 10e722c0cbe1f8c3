//! `prom:URL#QUERY`: poll a Prometheus instant query every second, for clusters
//! whose load tool prints nothing the host can read (TiKV's request rate, say).

use super::parse::{Format, Sample};
use super::{Feed, Report, WorkloadEvent};
use serde_json::Value;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const POLL_EVERY: Duration = Duration::from_secs(1);
/// Longer than one poll would pile requests up behind a hung server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// Where and what to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromSpec {
    /// Base URL of the Prometheus server, e.g. `http://127.0.0.1:9090`.
    pub url: String,
    /// The PromQL expression; must give an instant vector or a scalar.
    pub query: String,
}

impl std::str::FromStr for PromSpec {
    type Err = anyhow::Error;

    /// `URL#QUERY`: a URL has no use for a fragment, so the first `#` splits.
    fn from_str(text: &str) -> anyhow::Result<Self> {
        let usage = "use prom:http://HOST:PORT#QUERY";
        let (url, query) = text
            .split_once('#')
            .ok_or_else(|| anyhow::anyhow!("no query in 'prom:{text}': {usage}"))?;
        let (url, query) = (url.trim().trim_end_matches('/'), query.trim());
        if !url.starts_with("http://") {
            anyhow::bail!("'{url}' is not an http:// URL: {usage}");
        }
        if query.is_empty() {
            anyhow::bail!("empty query in 'prom:{text}': {usage}");
        }
        Ok(PromSpec {
            url: url.to_owned(),
            query: query.to_owned(),
        })
    }
}

impl PromSpec {
    fn endpoint(&self) -> String {
        format!("{}/api/v1/query", self.url)
    }
}

/// The value of an instant query's JSON answer: the sum over a vector's series
/// (an empty vector is 0: no series reported any operation), or a scalar.
/// Anything else is a one-line reason.
pub fn value_of(body: &str) -> Result<f64, String> {
    let json: Value =
        serde_json::from_str(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    if json["status"] != "success" {
        let kind = json["errorType"].as_str().unwrap_or("error");
        let error = json["error"].as_str().unwrap_or("no message");
        return Err(format!("{kind}: {error}"));
    }
    let data = &json["data"];
    let number = |v: &Value| -> Result<f64, String> {
        // Prometheus sends sample values as strings: [timestamp, "value"].
        let text = v[1]
            .as_str()
            .ok_or_else(|| format!("malformed sample {v}"))?;
        text.parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| format!("the query gave '{text}', not a number"))
    };
    match data["resultType"].as_str() {
        Some("vector") => data["result"]
            .as_array()
            .ok_or_else(|| "malformed vector result".to_owned())?
            .iter()
            .map(|series| number(&series["value"]))
            .sum(),
        Some("scalar") => number(&data["result"]),
        other => Err(format!(
            "the query gives a {}, not an instant vector or scalar",
            other.unwrap_or("nothing")
        )),
    }
}

/// One request; blocking, so it runs on the blocking pool.
fn query_once(agent: &ureq::Agent, spec: &PromSpec) -> Result<f64, String> {
    let endpoint = spec.endpoint();
    let mut response = agent
        .get(&endpoint)
        .query("query", &spec.query)
        .call()
        .map_err(|e| format!("cannot query {endpoint}: {e}"))?;
    let status = response.status();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("cannot read the answer of {endpoint}: {e}"))?;
    value_of(&body).map_err(|e| {
        if status.is_success() {
            e
        } else {
            format!("HTTP {status} from {endpoint}: {e}")
        }
    })
}

/// Polls until shutdown. Failures are reported once per distinct reason and the
/// polling goes on: a Prometheus restart must not end the show's workload.
pub(super) async fn run(
    spec: PromSpec,
    feed: mpsc::Sender<Feed>,
    report: Report,
    shutdown: CancellationToken,
) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(REQUEST_TIMEOUT))
        // Prometheus explains a bad query in the body of a 400/422.
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut tick = tokio::time::interval(POLL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_error: Option<String> = None;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let (agent, request) = (agent.clone(), spec.clone());
        let result = tokio::task::spawn_blocking(move || query_once(&agent, &request))
            .await
            .unwrap_or_else(|e| Err(format!("the query task failed: {e}")));
        match result {
            Ok(value) => {
                if last_error.take().is_some() {
                    tracing::info!("the Prometheus query answers again");
                }
                let sample = Sample {
                    format: Format::Prometheus,
                    elapsed_s: None,
                    ops_per_sec: value.max(0.0),
                    failures_per_sec: 0.0,
                    ops: Vec::new(),
                };
                if feed.send(Feed::Sample(sample)).await.is_err() {
                    return;
                }
            }
            Err(reason) => {
                tracing::warn!("workload query: {reason}");
                if last_error.as_deref() != Some(reason.as_str()) {
                    report(WorkloadEvent::SourceFailed(reason.clone()));
                    last_error = Some(reason);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    const VECTOR: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"tikv0"},"value":[1700000000.1,"1200.5"]},{"metric":{"instance":"tikv1"},"value":[1700000000.1,"800"]}]}}"#;
    const EMPTY: &str = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    const ERROR: &str = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected end of input"}"#;

    #[test]
    fn spec_splits_url_and_query() {
        let spec: PromSpec = "http://127.0.0.1:9090/#sum(rate(x[30s])) # note"
            .parse()
            .unwrap();
        assert_eq!(spec.url, "http://127.0.0.1:9090");
        assert_eq!(spec.query, "sum(rate(x[30s])) # note");
        assert_eq!(spec.endpoint(), "http://127.0.0.1:9090/api/v1/query");
        for bad in ["http://x:9090", "http://x:9090#", "https://x#up", "x#up"] {
            assert!(bad.parse::<PromSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_give_a_sum_zero_or_a_reason() {
        assert_eq!(value_of(VECTOR), Ok(2000.5));
        assert_eq!(value_of(EMPTY), Ok(0.0));
        assert_eq!(
            value_of(r#"{"status":"success","data":{"resultType":"scalar","result":[1,"7"]}}"#),
            Ok(7.0)
        );
        let err = value_of(ERROR).unwrap_err();
        assert!(err.starts_with("bad_data: invalid parameter"), "{err}");
        assert!(value_of("<html>").unwrap_err().contains("not JSON"));
        assert!(
            value_of(r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#)
                .unwrap_err()
                .contains("matrix")
        );
        assert!(
            value_of(r#"{"status":"success","data":{"resultType":"vector","result":[{"value":[1,"NaN"]}]}}"#)
                .unwrap_err()
                .contains("NaN")
        );
    }

    /// A real HTTP server on 127.0.0.1 that answers each request with the next
    /// canned (status, body) and records the request lines it got.
    fn serve(answers: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for (status, body) in answers {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                let mut reader = BufReader::new(stream);
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                // Skip the headers up to the blank line.
                loop {
                    let mut header = String::new();
                    match reader.read_line(&mut header) {
                        Ok(n) if n > 2 => continue,
                        _ => break,
                    }
                }
                log.lock().unwrap().push(request_line.trim_end().to_owned());
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, seen)
    }

    #[tokio::test]
    async fn polls_a_real_server_and_survives_errors() {
        let (url, seen) = serve(vec![
            (200, VECTOR),
            (400, ERROR),
            (200, EMPTY),
            (200, VECTOR),
        ]);
        let spec: PromSpec =
            format!("{url}#sum(rate(tikv_storage_engine_async_request_total[30s]))")
                .parse()
                .unwrap();
        let (feed_tx, mut feed_rx) = mpsc::channel(8);
        let (report, mut events_rx) = crate::workload::reported();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(spec, feed_tx, report, shutdown.clone()));

        let mut values = Vec::new();
        while values.len() < 3 {
            match feed_rx.recv().await {
                Some(Feed::Sample(s)) => {
                    assert_eq!(s.format, Format::Prometheus);
                    values.push(s.ops_per_sec);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(
            values,
            [2000.5, 0.0, 2000.5],
            "the error did not stop polling"
        );
        let Some(WorkloadEvent::SourceFailed(reason)) = events_rx.recv().await else {
            panic!("the bad query is reported");
        };
        assert!(reason.starts_with("HTTP 400"), "{reason}");
        assert!(reason.contains("bad_data: invalid parameter"), "{reason}");

        shutdown.cancel();
        task.await.unwrap();
        let seen = seen.lock().unwrap();
        assert!(seen[0].starts_with("GET /api/v1/query?query="), "{seen:?}");
        assert!(
            seen[0].contains("tikv_storage_engine_async_request_total"),
            "{seen:?}"
        );
    }

    #[tokio::test]
    async fn unreachable_server_is_reported_not_fatal() {
        // A port just freed: nothing listens there.
        let url = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let spec: PromSpec = format!("{url}#up").parse().unwrap();
        let (feed_tx, _feed_rx) = mpsc::channel(8);
        let (report, mut events_rx) = crate::workload::reported();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(spec, feed_tx, report, shutdown.clone()));
        let Some(WorkloadEvent::SourceFailed(reason)) = events_rx.recv().await else {
            panic!("the failure is reported");
        };
        assert!(reason.starts_with("cannot query"), "{reason}");
        assert!(!task.is_finished(), "the source keeps polling");
        shutdown.cancel();
        task.await.unwrap();
    }
}
