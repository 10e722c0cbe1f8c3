//! The HTTP client behind a flow's probes: one request to a [`ProbeUrl`]
//! that has already passed the grant check and the service rewrite
//! (`HostApi::probe` in `runtime/api.rs` does both, then calls [`send`]).

use crate::probe_url::ProbeUrl;
use std::time::Duration;
use tokio::sync::oneshot;

/// The longest a flow may make one probe wait, whatever it asks for. It also
/// bounds how long an abandoned request's thread outlives its chapter.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30);
/// What a timeout of 0 (or a few ms) becomes: shorter would fail every probe
/// before it could connect.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(100);
/// A longer response body fails the probe (the WIT promises at most 1 MiB).
pub const MAX_BODY_BYTES: u64 = 1 << 20;

/// A probe's timeout, held between [`MIN_TIMEOUT`] and [`MAX_TIMEOUT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout(Duration);

impl Timeout {
    /// The flow's `timeout-ms`, capped.
    pub fn from_ms(ms: u32) -> Self {
        Timeout(Duration::from_millis(u64::from(ms)).clamp(MIN_TIMEOUT, MAX_TIMEOUT))
    }

    pub fn get(self) -> Duration {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Get,
    /// `POST` with a JSON body (etcd's v3 gateway is POST-only).
    Post {
        json: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Lossy UTF-8.
    pub body: String,
}

/// Sends `request` to `target` and reads the answer. `Err` says why for the
/// flow (connection refused, DNS, timeout, body too large).
///
/// Redirects are not followed: a 3xx comes back as an ordinary response,
/// status and body, and its `Location` is never fetched. Following a hop
/// safely would mean parsing, normalising, checking against the grant and
/// rewriting every hop again; not following is simpler and leaves no hop
/// unchecked (a granted server answering `302 Location:
/// http://127.0.0.1:OTHER/` made the host fetch OTHER).
///
/// No proxy from the environment (`HTTP_PROXY`, `ALL_PROXY`) either: the
/// request goes to the address that was checked.
///
/// The blocking request runs on a detached thread of its own, not on
/// `spawn_blocking`: tokio's runtime drop waits for blocking tasks, so a
/// server that accepts and never answers held quit for the whole timeout. A
/// caller that stops waiting (the chapter cancelled, the presenter quit)
/// drops this future; the thread ends by itself within `timeout`, and its
/// answer goes nowhere.
pub async fn send(
    target: &ProbeUrl,
    request: Request,
    timeout: Timeout,
) -> Result<Response, String> {
    let uri = client_uri(target)?;
    let (answer, answered) = oneshot::channel();
    std::thread::Builder::new()
        .name("flow-probe".into())
        .spawn(move || {
            // The receiver is gone when the caller stopped waiting.
            let _ = answer.send(exchange(uri, request, timeout.get()));
        })
        .map_err(|e| format!("cannot start the probe: {e}"))?;
    answered
        .await
        .unwrap_or_else(|_| Err("the probe ended without an answer".to_string()))
}

/// `target` as the client reads it, refused unless the client's parser (the
/// `http` crate's, inside ureq) finds the host and port the grant check saw.
/// Parsers that disagree on a URL are how `host:port@other` passed a grant;
/// this leaves no room for another disagreement.
fn client_uri(target: &ProbeUrl) -> Result<ureq::http::Uri, String> {
    let uri = ureq::http::Uri::try_from(target.as_str()).map_err(|e| format!("{target}: {e}"))?;
    let port = uri.port_u16().or(match uri.scheme_str() {
        Some("http") => Some(80),
        Some("https") => Some(443),
        _ => None,
    });
    if uri.host() != Some(target.host_str()) || port != target.port() {
        return Err(format!(
            "{target}: the HTTP client reads another address in this URL"
        ));
    }
    Ok(uri)
}

fn exchange(uri: ureq::http::Uri, request: Request, timeout: Duration) -> Result<Response, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .build()
        .into();
    let response = match request {
        Request::Get => agent.get(uri).call(),
        Request::Post { json } => agent
            .post(uri)
            .header("content-type", "application/json")
            .send(json),
    };
    let mut response = response.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    Ok(Response {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Grants;
    use crate::model::Capabilities;
    use crate::runtime::api::ProbeError;
    use crate::runtime::api::{HostApi, HostContext, QuitSignal};
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::sync::mpsc;
    use std::time::Instant;
    use tokio_util::sync::CancellationToken;

    /// How long a test server waits for its one connection before giving up.
    const SERVER_PATIENCE: Duration = Duration::from_secs(5);

    fn listener() -> TcpListener {
        TcpListener::bind("127.0.0.1:0").expect("a loopback port")
    }

    /// Accepts one connection within [`SERVER_PATIENCE`].
    fn accept_one(listener: &TcpListener) -> Option<TcpStream> {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + SERVER_PATIENCE;
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    return Some(stream);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return None,
            }
        }
        None
    }

    /// Reads a request's head and its `content-length` body.
    fn read_request(stream: &mut TcpStream) -> String {
        stream.set_read_timeout(Some(SERVER_PATIENCE)).unwrap();
        let mut seen = Vec::new();
        let mut byte = [0u8; 1];
        while !seen.ends_with(b"\r\n\r\n") && seen.len() < 64 * 1024 {
            match stream.read(&mut byte) {
                Ok(1) => seen.push(byte[0]),
                _ => break,
            }
        }
        let head = String::from_utf8_lossy(&seen).into_owned();
        let length = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().to_string())
            })
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        let _ = stream.read_exact(&mut body);
        head + &String::from_utf8_lossy(&body)
    }

    /// A server that answers one request with `answer` and reports the
    /// request it read.
    fn answering(answer: String) -> (SocketAddr, mpsc::Receiver<String>) {
        let listener = listener();
        let addr = listener.local_addr().unwrap();
        let (seen, requests) = mpsc::channel();
        std::thread::spawn(move || {
            if let Some(mut stream) = accept_one(&listener) {
                let request = read_request(&mut stream);
                let _ = stream.write_all(answer.as_bytes());
                let _ = seen.send(request);
            }
        });
        (addr, requests)
    }

    fn http_answer(status: &str, headers: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    /// A server that accepts one connection and never answers. It lets go
    /// when the returned sender is dropped (or after a few seconds).
    fn silent() -> (SocketAddr, mpsc::Receiver<()>, mpsc::Sender<()>) {
        let listener = listener();
        let addr = listener.local_addr().unwrap();
        let (accepted, was_accepted) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Some(stream) = accept_one(&listener) {
                let _ = accepted.send(());
                let _ = released.recv_timeout(Duration::from_secs(10));
                drop(stream);
            }
        });
        (addr, was_accepted, release)
    }

    /// Whether anything connected to `listener` so far.
    fn was_connected(listener: &TcpListener) -> bool {
        listener.set_nonblocking(true).unwrap();
        listener.accept().is_ok()
    }

    /// The host side of a flow granted `probes`, outside any cluster.
    fn api(probes: &[String]) -> (HostApi, CancellationToken) {
        let (events, _) = tokio::sync::mpsc::unbounded_channel();
        let mut api = HostApi::new(HostContext::detached(events, QuitSignal::default()));
        api.set_grants(Grants::from_declared(&Capabilities {
            faults: vec![],
            reads_workload: false,
            http_probes: probes.to_vec(),
            memory_mib: 0,
        }));
        let cancel = CancellationToken::new();
        api.begin_run(1, cancel.clone());
        (api, cancel)
    }

    #[test]
    fn a_flow_cannot_ask_for_more_than_thirty_seconds_or_for_zero() {
        assert_eq!(Timeout::from_ms(u32::MAX).get(), MAX_TIMEOUT);
        assert_eq!(Timeout::from_ms(600_000).get(), Duration::from_secs(30));
        assert_eq!(Timeout::from_ms(0).get(), MIN_TIMEOUT);
        assert_eq!(Timeout::from_ms(1500).get(), Duration::from_millis(1500));
    }

    #[tokio::test]
    async fn a_redirect_comes_back_to_the_flow_and_is_not_followed() {
        let other = listener();
        let other_port = other.local_addr().unwrap().port();
        let (addr, requests) = answering(http_answer(
            "302 Found",
            &format!("location: http://127.0.0.1:{other_port}/secret\r\n"),
            "moved",
        ));
        let (mut api, _cancel) = api(&[format!("http://{addr}/")]);
        let response = api
            .probe(Request::Get, &format!("http://{addr}/leader"), 2000)
            .await
            .expect("the 302 is an ordinary response");
        assert_eq!(response.status, 302);
        assert_eq!(response.body, "moved");
        let request = requests.recv_timeout(SERVER_PATIENCE).unwrap();
        assert!(request.starts_with("GET /leader HTTP/1.1\r\n"), "{request}");
        assert!(!was_connected(&other), "the redirect target was fetched");
    }

    #[tokio::test]
    async fn a_granted_get_and_post_reach_the_server_as_normalised() {
        let (addr, requests) = answering(http_answer("200 OK", "", "{\"ok\":true}"));
        let (mut api, _cancel) = api(&[format!("http://{addr}/v3/")]);
        let port = addr.port();
        let response = api
            .probe(
                Request::Post {
                    json: "{\"key\":\"eA==\"}".to_string(),
                },
                &format!("HTTP://127.1:{port}/v3/a/./b/../kv/%72ange#frag"),
                2000,
            )
            .await
            .unwrap();
        assert_eq!(
            (response.status, response.body.as_str()),
            (200, "{\"ok\":true}")
        );
        let request = requests.recv_timeout(SERVER_PATIENCE).unwrap();
        assert!(
            request.starts_with("POST /v3/a/kv/range HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request
                .to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{request}"
        );
        assert!(request.ends_with("{\"key\":\"eA==\"}"), "{request}");
    }

    #[tokio::test]
    async fn refused_urls_never_open_a_connection() {
        let granted = listener();
        let other = listener();
        let (g, o) = (
            granted.local_addr().unwrap().port(),
            other.local_addr().unwrap().port(),
        );
        let (mut api, _cancel) = api(&[format!("http://127.0.0.1:{g}/allowed/")]);
        for url in [
            format!("http://127.0.0.1:{g}@127.0.0.1:{o}/allowed/x"),
            format!("http://127.0.0.1:{g}/allowed/../x"),
            format!("http://127.0.0.1:{g}/allowed/%2e%2e/x"),
            format!("http://127.0.0.1:{g}/allowed/..%2fx"),
            format!("http://127.0.0.1:{g}/allowed/%2e%2e%5cx"),
            format!("http://127.0.0.1:{g}/allowedx"),
            format!("http://127.0.0.1:{o}#@127.0.0.1:{g}/allowed/"),
            format!("http://127.0.0.1:{g}%40127.0.0.1:{o}/allowed/"),
            format!("http://[::ffff:127.0.0.1]:{g}/allowed/x"),
            format!("ftp://127.0.0.1:{g}/allowed/x"),
        ] {
            let result = api.probe(Request::Get, &url, 500).await;
            assert!(
                matches!(result, Err(ProbeError::NotPermitted(_))),
                "{url}: {result:?}"
            );
        }
        assert!(!was_connected(&granted));
        assert!(!was_connected(&other));
    }

    #[tokio::test]
    async fn a_probe_that_is_not_granted_says_why() {
        let (mut api, _cancel) = api(&["http://127.0.0.1:1/v3/".into()]);
        let Err(ProbeError::NotPermitted(why)) = api
            .probe(Request::Get, "http://u:p@127.0.0.1:1/v3/", 100)
            .await
        else {
            panic!("permitted");
        };
        assert!(why.contains("user name or password"), "{why}");
        let Err(ProbeError::NotPermitted(which)) =
            api.probe(Request::Get, "http://127.1:1/v3x", 100).await
        else {
            panic!("permitted");
        };
        assert_eq!(which, "http://127.0.0.1:1/v3x");
    }

    #[tokio::test]
    async fn a_silent_server_times_out_at_the_flows_timeout() {
        let (addr, accepted, _release) = silent();
        let started = Instant::now();
        let url = ProbeUrl::parse(&format!("http://{addr}/")).unwrap();
        let result = send(&url, Request::Get, Timeout::from_ms(300)).await;
        assert!(result.is_err(), "{result:?}");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(3),
            "{took:?}"
        );
        accepted
            .recv_timeout(SERVER_PATIENCE)
            .expect("the request was sent");
    }

    /// What held quit for 300 s: the runtime's drop waited for the blocking
    /// request. Now cancelling returns at once and the runtime drops at once,
    /// though the request (up to 30 s) is still outstanding.
    #[test]
    fn quit_never_waits_for_a_server_that_accepts_and_never_answers() {
        let (addr, accepted, _release) = silent();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (result, after_cancel) = runtime.block_on(async {
            let (mut api, cancel) = api(&[format!("http://{addr}/")]);
            let canceller = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                cancel.cancel();
                Instant::now()
            });
            let result = api
                .probe(Request::Get, &format!("http://{addr}/hang"), 30_000)
                .await;
            let returned = Instant::now();
            let cancelled_at = canceller.await.unwrap();
            (result, returned.duration_since(cancelled_at))
        });
        assert!(matches!(result, Err(ProbeError::Interrupted)), "{result:?}");
        assert!(after_cancel < Duration::from_secs(1), "{after_cancel:?}");
        accepted
            .recv_timeout(SERVER_PATIENCE)
            .expect("the request was outstanding when the chapter was cancelled");
        let dropping = Instant::now();
        drop(runtime);
        assert!(
            dropping.elapsed() < Duration::from_secs(1),
            "{:?}",
            dropping.elapsed()
        );
    }
}
