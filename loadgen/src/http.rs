//! A deliberately small HTTP/1.1 client over `std::net`, for JSON POSTs to
//! etcd's gateway on plain `http://` endpoints.
//!
//! What matters for a load generator that watches nodes die: every request
//! has one deadline (connect, write and every read are bounded by what is left
//! of it); a refused connection fails at once; a peer that accepts and then
//! closes (Docker's userland proxy in front of a dead container) fails at the
//! first read; connections are kept alive and reused, and a request on a
//! reused connection that dies before any response byte is retried once on a
//! fresh connection (a put of the same key and value is harmless to repeat).
//! Host names are resolved on every new connection, so a container that comes
//! back with a new address is found again.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// An `http://host:port` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// As given, for messages.
    pub url: String,
    pub host: String,
    pub port: u16,
    ip: Option<IpAddr>,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("endpoint {url:?}: only http:// URLs are supported"))?;
        let authority = rest.trim_end_matches('/');
        if authority.contains('/') {
            return Err(format!(
                "endpoint {url:?}: expected http://HOST:PORT without a path"
            ));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && !h.ends_with(':') => (h, p),
            _ => {
                return Err(format!(
                    "endpoint {url:?}: expected http://HOST:PORT (the port is required)"
                ));
            }
        };
        let port: u16 = port
            .parse()
            .map_err(|_| format!("endpoint {url:?}: invalid port {port:?}"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let ip = host.parse().ok();
        Ok(Self {
            url: url.trim_end_matches('/').to_string(),
            host,
            port,
            ip,
        })
    }

    fn host_header(&self) -> String {
        match self.ip {
            Some(IpAddr::V6(_)) => format!("[{}]:{}", self.host, self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }

    fn addrs(&self) -> io::Result<Vec<SocketAddr>> {
        match self.ip {
            Some(ip) => Ok(vec![SocketAddr::new(ip, self.port)]),
            None => Ok((self.host.as_str(), self.port).to_socket_addrs()?.collect()),
        }
    }
}

/// Why a request failed.
#[derive(Debug)]
pub enum Error {
    /// Name resolution or TCP connect failed (refused, unreachable, …).
    Connect(io::Error),
    /// The deadline passed.
    Timeout,
    /// The connection broke or the peer spoke something other than HTTP.
    Io(io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect(e) => write!(f, "connect: {e}"),
            Error::Timeout => write!(f, "timed out"),
            Error::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                write!(f, "connection closed before a complete response")
            }
            Error::Io(e) => write!(f, "{e}"),
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl Error {
    fn from_io(e: io::Error) -> Self {
        if is_timeout(&e) {
            Error::Timeout
        } else {
            Error::Io(e)
        }
    }
}

/// A complete response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// A TCP stream whose reads are bounded by a deadline.
struct DeadlineStream {
    stream: TcpStream,
    deadline: Instant,
}

impl DeadlineStream {
    fn remaining(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"))
        } else {
            Ok(left)
        }
    }
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.remaining()?;
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}

/// One kept-alive connection (or none yet) to one endpoint.
#[derive(Default)]
pub struct Connection {
    conn: Option<BufReader<DeadlineStream>>,
}

impl Connection {
    /// POSTs a JSON body to `path`, all within `timeout` (the connect attempt
    /// is further bounded by `connect_timeout`).
    pub fn post_json(
        &mut self,
        endpoint: &Endpoint,
        path: &str,
        body: &str,
        timeout: Duration,
        connect_timeout: Duration,
    ) -> Result<Response, Error> {
        let deadline = Instant::now() + timeout;
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            endpoint.host_header(),
            body.len()
        );
        if let Some(mut conn) = self.conn.take() {
            conn.get_mut().deadline = deadline;
            match exchange(&mut conn, request.as_bytes()) {
                Ok((response, keep_alive)) => {
                    if keep_alive {
                        self.conn = Some(conn);
                    }
                    return Ok(response);
                }
                // A stale kept-alive connection: try once more on a new one.
                Err(Exchange::BeforeResponse(_)) if Instant::now() < deadline => {}
                Err(Exchange::BeforeResponse(e)) | Err(Exchange::During(e)) => {
                    return Err(Error::from_io(e));
                }
            }
        }
        let mut conn = connect(endpoint, deadline, connect_timeout)?;
        match exchange(&mut conn, request.as_bytes()) {
            Ok((response, keep_alive)) => {
                if keep_alive {
                    self.conn = Some(conn);
                }
                Ok(response)
            }
            Err(Exchange::BeforeResponse(e)) | Err(Exchange::During(e)) => Err(Error::from_io(e)),
        }
    }
}

fn connect(
    endpoint: &Endpoint,
    deadline: Instant,
    connect_timeout: Duration,
) -> Result<BufReader<DeadlineStream>, Error> {
    let addrs = endpoint.addrs().map_err(Error::Connect)?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "name resolved to no address");
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout);
        }
        match TcpStream::connect_timeout(&addr, left.min(connect_timeout)) {
            Ok(stream) => {
                stream.set_nodelay(true).map_err(Error::Connect)?;
                return Ok(BufReader::with_capacity(
                    8 * 1024,
                    DeadlineStream { stream, deadline },
                ));
            }
            Err(e) if is_timeout(&e) => {
                last = io::Error::new(io::ErrorKind::TimedOut, "connect timed out")
            }
            Err(e) => last = e,
        }
    }
    Err(Error::Connect(last))
}

enum Exchange {
    /// Failed before any byte of the response arrived.
    BeforeResponse(io::Error),
    /// Failed while reading the response.
    During(io::Error),
}

/// Writes the request and reads one response; returns whether the connection
/// may be reused.
fn exchange(
    conn: &mut BufReader<DeadlineStream>,
    request: &[u8],
) -> Result<(Response, bool), Exchange> {
    {
        let s = conn.get_mut();
        let left = s.remaining().map_err(Exchange::BeforeResponse)?;
        s.stream
            .set_write_timeout(Some(left))
            .map_err(Exchange::BeforeResponse)?;
        s.stream
            .write_all(request)
            .map_err(Exchange::BeforeResponse)?;
    }
    // The first byte decides whether the failure happened before the response.
    if conn
        .fill_buf()
        .map_err(Exchange::BeforeResponse)?
        .is_empty()
    {
        return Err(Exchange::BeforeResponse(
            io::ErrorKind::UnexpectedEof.into(),
        ));
    }
    read_response(conn).map_err(Exchange::During)
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn read_line(r: &mut impl BufRead, line: &mut String) -> io::Result<()> {
    line.clear();
    let n = r.by_ref().take(16 * 1024).read_line(line)?;
    if n == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    if !line.ends_with('\n') {
        return Err(bad("HTTP line too long"));
    }
    let trimmed = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(trimmed);
    Ok(())
}

/// Reads one HTTP/1.x response (Content-Length, chunked, or until close).
pub fn read_response(r: &mut impl BufRead) -> io::Result<(Response, bool)> {
    let mut line = String::new();
    read_line(r, &mut line)?;
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(bad(format!("not an HTTP/1.x response: {line:?}")));
    }
    let http10 = version == "HTTP/1.0";
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("bad status line: {line:?}")))?;

    let mut content_length: Option<usize> = None;
    let mut chunked = false;
    let mut keep_alive = !http10;
    loop {
        read_line(r, &mut line)?;
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad(format!("bad header line: {line:?}")));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(value.parse().map_err(|_| bad("bad Content-Length"))?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            let v = value.to_ascii_lowercase();
            if v.contains("close") {
                keep_alive = false;
            } else if v.contains("keep-alive") {
                keep_alive = true;
            }
        }
    }

    const MAX_BODY: usize = 16 * 1024 * 1024;
    let mut body = Vec::new();
    if status / 100 == 1 || status == 204 || status == 304 {
        // No body.
    } else if chunked {
        loop {
            read_line(r, &mut line)?;
            let size_hex = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_hex, 16).map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    read_line(r, &mut line)?;
                    if line.is_empty() {
                        break;
                    }
                }
                break;
            }
            if body.len() + size > MAX_BODY {
                return Err(bad("response body too large"));
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            read_line(r, &mut line)?;
        }
    } else if let Some(len) = content_length {
        if len > MAX_BODY {
            return Err(bad("response body too large"));
        }
        body.resize(len, 0);
        r.read_exact(&mut body)?;
    } else {
        r.take(MAX_BODY as u64).read_to_end(&mut body)?;
        keep_alive = false;
    }
    Ok((Response { status, body }, keep_alive))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    #[test]
    fn endpoints_need_http_and_a_port() {
        let e = Endpoint::parse("http://127.0.0.1:23791/").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.url.as_str()),
            ("127.0.0.1", 23791, "http://127.0.0.1:23791")
        );
        assert!(e.ip.is_some());
        let e = Endpoint::parse("http://etcd1:2379").unwrap();
        assert_eq!((e.host.as_str(), e.port, e.ip), ("etcd1", 2379, None));
        let e = Endpoint::parse("http://[::1]:2379").unwrap();
        assert_eq!(e.host_header(), "[::1]:2379");
        assert!(Endpoint::parse("https://a:1").is_err());
        assert!(Endpoint::parse("http://a").is_err());
        assert!(Endpoint::parse("http://a:1/v3").is_err());
        assert!(Endpoint::parse("http://a:99999").is_err());
    }

    #[test]
    fn reads_content_length_and_chunked_responses() {
        let raw =
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
        let (resp, keep) = read_response(&mut &raw[..]).unwrap();
        assert_eq!(
            (resp.status, resp.body.as_slice(), keep),
            (200, &b"{}"[..], true)
        );

        let raw = b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let (resp, keep) = read_response(&mut &raw[..]).unwrap();
        assert_eq!(
            (resp.status, resp.body.as_slice(), keep),
            (503, &b"abcde"[..], false)
        );

        assert!(read_response(&mut &b"SSH-2.0-OpenSSH\r\n"[..]).is_err());
        assert!(
            read_response(&mut &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"[..]).is_err()
        );
    }

    #[test]
    fn a_refused_connection_fails_fast() {
        // Bind then drop to get a port nobody listens on.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let ep = Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let start = Instant::now();
        let err = Connection::default()
            .post_json(
                &ep,
                "/",
                "{}",
                Duration::from_secs(5),
                Duration::from_secs(5),
            )
            .unwrap_err();
        assert!(matches!(err, Error::Connect(_)), "{err}");
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_peer_that_accepts_then_closes_fails_fast() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let ep = Endpoint::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let server = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
        });
        let start = Instant::now();
        let err = Connection::default()
            .post_json(
                &ep,
                "/",
                "{}",
                Duration::from_secs(5),
                Duration::from_secs(5),
            )
            .unwrap_err();
        server.join().unwrap();
        assert!(matches!(err, Error::Io(_)), "{err}");
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_silent_peer_times_out_at_the_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let ep = Endpoint::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let start = Instant::now();
        let err = Connection::default()
            .post_json(
                &ep,
                "/",
                "{}",
                Duration::from_millis(200),
                Duration::from_secs(5),
            )
            .unwrap_err();
        let took = start.elapsed();
        assert!(matches!(err, Error::Timeout), "{err}");
        assert!(
            took >= Duration::from_millis(190) && took < Duration::from_millis(800),
            "{took:?}"
        );
        drop(listener);
    }

    #[test]
    fn connections_are_reused_and_a_stale_one_is_replaced() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let ep = Endpoint::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let server = thread::spawn(move || {
            // First connection: answers two requests, then closes silently.
            for round in 0..2 {
                let (s, _) = listener.accept().unwrap();
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut w = s;
                let answers = if round == 0 { 2 } else { 1 };
                for _ in 0..answers {
                    let mut len = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        r.read_line(&mut line).unwrap();
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; len];
                    r.read_exact(&mut body).unwrap();
                    w.write_all(
                        format!("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n{round}").as_bytes(),
                    )
                    .unwrap();
                }
            }
        });
        let mut c = Connection::default();
        let t = Duration::from_secs(5);
        let bodies: Vec<Vec<u8>> = (0..3)
            .map(|_| c.post_json(&ep, "/", "{}", t, t).unwrap().body)
            .collect();
        server.join().unwrap();
        assert_eq!(bodies, vec![b"0".to_vec(), b"0".to_vec(), b"1".to_vec()]);
    }
}
