//! Probe URLs and the prefixes that grant them, parsed once.
//!
//! A flow's probe URL and the prefixes it declares are hostile text. Each is
//! parsed with the WHATWG URL parser (the one browsers use) and normalised
//! here, and the grant check ([`crate::capability::Grants::permits_probe`]),
//! the service rewrite ([`resolve`]) and the client ([`crate::probe_http`])
//! all read the one [`ProbeUrl`] value, never the string the flow wrote.
//! When three parsers read that string (a string-prefix test, a hand-written
//! split and the client's), a grant of `http://127.0.0.1:24901` passed
//! `http://127.0.0.1:24901@127.0.0.1:24902/x`, which connects to 24902.
//!
//! Normalising (prefixes and requests alike):
//! - WHATWG: scheme and host lower case, default ports dropped (http 80,
//!   https 443), `.`/`..` segments removed (also spelled `%2e`, `%2E`),
//!   `\` read as `/`, IPv4 forms made dotted (`127.1`, `0x7f.0.0.1`), tab and
//!   newline removed, IPv6 compressed (`[0:0::1]` is `[::1]`).
//! - Then here: at most [`MAX_URL_BYTES`]; only `http` and `https`; no user
//!   name or password; no raw `\` in the host or path (WHATWG reads it as
//!   `/`, RFC 3986 parsers as a character); no empty segment inside the path
//!   (`//`, which some servers merge and others keep); no path segment that
//!   any server could read as something other than what the grant check read
//!   (see [`check_segment`]); escapes in the path canonical (see
//!   [`canonical_escapes`]). A request's fragment is dropped and its query
//!   kept; a prefix with either is refused.
//!
//! The query is kept as written and not checked for the spellings refused
//! in the path: a grant names a path, servers route on the path alone, and
//! what a query means is up to the endpoint the presenter granted (with any
//! query: `/health?x=1` is under `/health`). A `..` or `%c0%ae` in a query
//! addresses nothing.
//!
//! A prefix covers a URL with the same scheme, host and port whose path is
//! the prefix's path or below it on a segment boundary: `/v3/kv` covers
//! `/v3/kv` and `/v3/kv/range`, not `/v3/kvx`; `/v3/` covers `/v3/anything`;
//! `/` covers the whole origin.
//!
//! Service URLs: a flow cannot know which host port the presenter published
//! a service on (the e2e tests and two side-by-side projects use other ports
//! than the demo's). So a flow writes the URL as the service sees itself
//! inside the project, e.g. `http://pd0:2379/pd/api/v1/stores`, and the host
//! rewrites `SERVICE:PORT` to the loopback address Docker published that
//! container port on. The grant is checked against the URL the flow wrote,
//! before any rewriting, so the capability the presenter reads
//! (`http probe http://pd0:2379/`) is the one enforced. A URL whose host is
//! not a service of the project is sent as written.

use crate::cluster::{Cluster, ClusterError};
use std::fmt;
use std::net::SocketAddr;
use url::{Host, Url};

/// Why a probe URL or a declared prefix is refused. Each message is one line
/// fit to show: of the flow's text it repeats at most a normalised path
/// segment, cut short, which is printable ASCII.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeUrlError {
    #[error("not a URL ({0})")]
    Malformed(#[from] url::ParseError),
    #[error("only http and https can be probed, not '{0}'")]
    Scheme(String),
    #[error("a user name or password in a probe URL is refused")]
    Userinfo,
    #[error("a probe prefix cannot have a query ('?…')")]
    PrefixQuery,
    #[error("a probe prefix cannot have a fragment ('#…')")]
    PrefixFragment,
    /// `shown` is the segment as WHATWG serialised it (printable ASCII:
    /// controls, spaces, quotes and all non-ASCII are percent-encoded),
    /// cut to [`SHOWN_SEGMENT_CHARS`].
    #[error("path segment \"{shown}\" {fault}; write the path plainly")]
    Segment { shown: String, fault: SegmentFault },
    #[error(
        "a '\\' in a probe URL's host or path is refused (WHATWG reads it as '/', other parsers as a character); write '/'"
    )]
    Backslash,
    #[error(
        "an empty path segment ('//') is refused (some servers merge it with the next, others keep it); write one '/'"
    )]
    EmptySegment,
    #[error("a probe URL is longer than {MAX_URL_BYTES} bytes")]
    TooLong,
}

/// Longer URLs are refused before parsing: servers refuse them anyway (8 KiB
/// is a common limit), and parsing and checking cost grows with the length.
pub const MAX_URL_BYTES: usize = 8 * 1024;
/// How many layers of percent-encoding a path segment may have: each layer
/// is one more decoding pass to check, and no real path needs more.
const MAX_DECODINGS: usize = 3;
/// How much of a refused segment its refusal shows.
const SHOWN_SEGMENT_CHARS: usize = 40;

/// What is wrong with a path segment: each is a spelling that some server
/// reads differently from the grant check (which reads the segment as
/// WHATWG serialised it, and its percent-decodings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SegmentFault {
    /// `..%2f`, `%2e%2e%5c`, `..;x`, `..%3fx`, `.. `, `...`.
    #[error(
        "decodes to '/', '\\' or only dots (before any ';', ':', '?' or '#'), which a server could read as leaving the path"
    )]
    Traversal,
    #[error("is percent-encoded more than {MAX_DECODINGS} times over")]
    DeepEncoding,
    /// `%u002e` (IIS), `%2`, `%zz`: servers disagree on what a `%` that
    /// starts no escape means.
    #[error(
        "has a '%' that does not start a two-hex-digit escape ('%u…' is IIS's; a literal '%' is '%25')"
    )]
    BadEscape,
    /// `%c0%ae` (an overlong '.'), `%80`, `%e2%80`, `%ed%a0%80`: lenient
    /// decoders turn these into ASCII or drop them.
    #[error(
        "has a percent-escape that is not valid UTF-8 (overlong, cut short, a lone continuation byte or a surrogate)"
    )]
    NotUtf8,
    /// `%00`, `%09`, `%0d%0a`, `%7f`, `%c2%85`: C servers end the path at
    /// NUL, others drop or trim controls.
    #[error("decodes to the control character {0}")]
    Control(CodePoint),
    /// `%252e`: a server that decodes twice reads a dot.
    #[error(
        "hides a '.' under two layers of percent-encoding, which a server decoding twice reads as a dot"
    )]
    DoubleEncodedDot,
    /// U+FF0E, U+2024, U+2215, U+00A5, U+200B, a mark on a dot: see
    /// [`plain_outside_ascii`].
    #[error(
        "holds {0}, which servers that normalise Unicode or map it to a code page can read as '.', '/', '\\' or nothing (outside ASCII a segment may hold letters, numbers and marks on them)"
    )]
    Lookalike(CodePoint),
}

/// A character as `U+XXXX`: the flow's character itself could be anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodePoint(pub char);

impl fmt::Display for CodePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "U+{:04X}", u32::from(self.0))
    }
}

/// A URL a flow asked to probe, normalised: what the grant check, the
/// service rewrite and the HTTP client read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeUrl(Url);

/// A declared probe prefix, normalised: what a probe grant is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbePrefix(Url);

impl ProbeUrl {
    pub fn parse(raw: &str) -> Result<Self, ProbeUrlError> {
        let mut url = normalised(raw)?;
        // The fragment never reaches a server; dropping it keeps
        // `#@other-host` out of every later reading.
        url.set_fragment(None);
        Ok(ProbeUrl(url))
    }

    /// The normalised URL, as the client sends it.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host as serialised (`127.0.0.1`, `[::1]`, `pd0`).
    pub fn host_str(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    /// The port, explicit or the scheme's default.
    pub fn port(&self) -> Option<u16> {
        self.0.port_or_known_default()
    }

    /// The Compose service this URL could name: a single-label host name
    /// (no dots, not `localhost`) and the port.
    pub fn service(&self) -> Option<(&str, u16)> {
        let Some(Host::Domain(name)) = self.0.host() else {
            return None;
        };
        let plain = name != "localhost"
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        plain.then_some((name, self.port()?))
    }

    /// The same path and query sent to `address` instead.
    fn at(&self, address: SocketAddr) -> Option<ProbeUrl> {
        let mut url = self.0.clone();
        url.set_ip_host(address.ip()).ok()?;
        url.set_port(Some(address.port())).ok()?;
        Some(ProbeUrl(url))
    }
}

impl ProbePrefix {
    pub fn parse(raw: &str) -> Result<Self, ProbeUrlError> {
        let url = normalised(raw)?;
        if url.query().is_some() {
            return Err(ProbeUrlError::PrefixQuery);
        }
        if url.fragment().is_some() {
            return Err(ProbeUrlError::PrefixFragment);
        }
        Ok(ProbePrefix(url))
    }

    /// Whether this grant lets a flow probe `url`.
    pub fn permits(&self, url: &ProbeUrl) -> bool {
        same_origin(&self.0, &url.0) && path_under(self.0.path(), url.0.path())
    }

    /// Whether every URL `narrower` permits, this permits too.
    pub fn covers(&self, narrower: &ProbePrefix) -> bool {
        same_origin(&self.0, &narrower.0) && path_under(self.0.path(), narrower.0.path())
    }
}

impl fmt::Display for ProbeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// The normalised form is safe to print: WHATWG serialises to ASCII with
/// controls and spaces percent-encoded.
impl fmt::Display for ProbePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

fn normalised(raw: &str) -> Result<Url, ProbeUrlError> {
    if raw.len() > MAX_URL_BYTES {
        return Err(ProbeUrlError::TooLong);
    }
    let mut url = Url::parse(raw)?;
    if !matches!(url.scheme(), "http" | "https") {
        // A parsed scheme is ASCII letters, digits, `+-.`: safe to show, but
        // the flow chooses its length.
        return Err(ProbeUrlError::Scheme(
            url.scheme().chars().take(16).collect(),
        ));
    }
    // WHATWG drops an empty `@` (`http://@h/` is `http://h/`); anything
    // left is a name or password, and `host:port@other` hides the real host.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ProbeUrlError::Userinfo);
    }
    // WHATWG turns a `\` before the query into `/` and keeps the ones in
    // the query and fragment as they are, so any `\` the raw text has more
    // of was in the host or path. Counted rather than found by splitting
    // the raw text ourselves: one parser reads the URL.
    let backslashes = |text: Option<&str>| text.map_or(0, |t| t.matches('\\').count());
    if raw.matches('\\').count() > backslashes(url.query()) + backslashes(url.fragment()) {
        return Err(ProbeUrlError::Backslash);
    }
    let path = url.path();
    // The first segment is the empty one before the leading `/`, the last
    // is empty when the path ends in `/` (`/v3/` is the directory).
    let inner = path.split('/').skip(1);
    let count = inner.clone().count();
    if inner.take(count.saturating_sub(1)).any(str::is_empty) {
        return Err(ProbeUrlError::EmptySegment);
    }
    let segments = path
        .split('/')
        .map(|segment| {
            check_segment(segment).map_err(|fault| ProbeUrlError::Segment {
                shown: shown_segment(segment),
                fault,
            })?;
            Ok(canonical_escapes(segment))
        })
        .collect::<Result<Vec<_>, ProbeUrlError>>()?;
    url.set_path(&segments.join("/"));
    Ok(url)
}

/// A serialised segment is printable ASCII (WHATWG percent-encodes the
/// rest); cut, as the flow chooses its length.
fn shown_segment(segment: &str) -> String {
    let mut shown: String = segment.chars().take(SHOWN_SEGMENT_CHARS).collect();
    if shown.len() < segment.len() {
        shown.push('…');
    }
    shown
}

/// Refuses a path segment that some server could read as something else
/// than the grant check does. WHATWG has removed `.` and `..` and their
/// `%2e` spellings, but sends the rest as written, and servers differ in
/// what they make of it:
/// - a server that decodes twice reads `%252e%252e` as `..`; so the segment
///   is decoded until nothing changes (at most [`MAX_DECODINGS`] times) and
///   every stage is checked, and a dot under two layers is refused outright;
/// - `..%2f`, `..%5c`: a server that decodes before splitting reads a step
///   out of the path;
/// - `..;x` (Tomcat strips `;` parameters), `..:x` (NTFS streams), `..%3fx`
///   and `..%23x` (a server that decodes and re-parses cuts at `?` and `#`),
///   `.. ` and `...` (Windows trims trailing dots and spaces): a head of
///   only dots and spaces is refused;
/// - `%u002e` (IIS), `%2`, `%zz`: a `%` that starts no escape;
/// - `%c0%ae`, `%e0%80%ae` (overlong '.'), `%80`, `%e2%80`, `%ed%a0%80`:
///   escapes that are not UTF-8, which lenient decoders turn into ASCII;
/// - `%00` (C servers end the path there), `%09`, `%0d`, `%7f`, C1: controls
///   that servers drop, trim or cut at;
/// - U+FF0E, U+2024, U+FE52, U+FF0F, U+2215, U+2044, U+00A5, U+200B, a
///   combining mark on a dot: see [`plain_outside_ascii`].
///
/// Left alone deliberately: case (`/ALLOWED` is another path to the grant
/// and to a case-sensitive server; a case-insensitive one reads a path the
/// grant check refused, never one it permitted elsewhere), Windows device
/// names and 8.3 short names (another name, not another directory).
fn check_segment(segment: &str) -> Result<(), SegmentFault> {
    let mut stage = std::borrow::Cow::Borrowed(segment);
    for layer in 0..=MAX_DECODINGS {
        if leaves_the_path(&stage) {
            return Err(SegmentFault::Traversal);
        }
        let bytes = stage.as_bytes();
        for (i, _) in stage.match_indices('%') {
            let hex = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_hexdigit);
            let iis = bytes
                .get(i + 1)
                .is_some_and(|b| b.eq_ignore_ascii_case(&b'u'));
            // As written, every `%` must start an escape; after a decoding a
            // lone `%` is a literal one (`50%25` is `50%`), but `%u` is still
            // IIS's escape to a server that decodes twice.
            if iis || (layer == 0 && !(hex(i + 1) && hex(i + 2))) {
                return Err(SegmentFault::BadEscape);
            }
        }
        let decoded = percent_encoding::percent_decode(bytes).collect::<Vec<u8>>();
        let decoded = String::from_utf8(decoded).map_err(|_| SegmentFault::NotUtf8)?;
        if decoded == *stage {
            return Ok(());
        }
        if layer > 0 && decoded.matches('.').count() > stage.matches('.').count() {
            return Err(SegmentFault::DoubleEncodedDot);
        }
        let mut previous = None;
        for c in decoded.chars() {
            if c.is_control() {
                return Err(SegmentFault::Control(CodePoint(c)));
            }
            if !c.is_ascii() && !plain_outside_ascii(c, previous) {
                return Err(SegmentFault::Lookalike(CodePoint(c)));
            }
            previous = Some(c);
        }
        stage = decoded.into();
    }
    // `%252525…` loses one layer per pass: unbounded, checking it would be
    // quadratic in the flow's text.
    Err(SegmentFault::DeepEncoding)
}

/// `/` or `\`, or a head of only dots and spaces before any `;` (Tomcat's
/// path parameters), `:` (an NTFS stream), `?` or `#` (where a server that
/// decodes and re-parses cuts).
fn leaves_the_path(stage: &str) -> bool {
    let head = stage.split([';', ':', '?', '#']).next().unwrap_or_default();
    let only_dots = head.contains('.') && head.chars().all(|c| c == '.' || c == ' ');
    only_dots || stage.contains(['/', '\\'])
}

/// Whether a character outside ASCII is one no server reads as ASCII
/// punctuation or as nothing. Denying the lookalikes one by one (U+FF0E,
/// U+2024, U+FE52, U+3002, U+FF61, U+FF0F, U+2215, U+2044, U+29F8, U+FF3C,
/// U+FE68, U+2216, U+00A5 and U+20A9, which Japanese and Korean code pages
/// read as `\`, …) leaves out the next one found, so this allows instead:
/// - letters and numbers (general category L and N), and marks (M) on a
///   letter, number or mark: a mark after a dot (U+0338 on `.`) is a dot to
///   a server that strips diacritics;
/// - never a default-ignorable code point (U+200B, U+00AD, U+FE0F, U+3164),
///   which NFKC_Casefold and many normalisers delete (`.\u{200b}.` is `..`);
/// - whose compatibility form (NFKC) holds only ASCII letters and digits
///   and characters allowed here (U+2488 `⒈` is `1.`, U+00BD `½` is
///   `1⁄2` with U+2044).
///
/// Punctuation, symbols, spaces, format characters and private use are
/// refused: a probe path has no need of them, and they are where the
/// lookalikes live.
fn plain_outside_ascii(c: char, previous: Option<char>) -> bool {
    use icu_normalizer::ComposingNormalizerBorrowed;
    let plain = |c: char, previous: Option<char>| {
        if c.is_ascii() {
            return c.is_ascii_alphanumeric();
        }
        let on_a_base = previous.is_some_and(|p| p.is_alphanumeric() || is_mark(p));
        (is_letter_or_number(c) || (is_mark(c) && on_a_base)) && !is_default_ignorable(c)
    };
    if !plain(c, previous) {
        return false;
    }
    let mut one = [0; 4];
    let compatible = ComposingNormalizerBorrowed::new_nfkc().normalize(c.encode_utf8(&mut one));
    let mut before = previous;
    compatible.chars().all(|d| {
        let ok = plain(d, before);
        before = Some(d);
        ok
    })
}

fn general_category(c: char) -> icu_properties::props::GeneralCategory {
    icu_properties::CodePointMapData::<icu_properties::props::GeneralCategory>::new().get(c)
}

fn is_letter_or_number(c: char) -> bool {
    use icu_properties::props::GeneralCategory as G;
    matches!(
        general_category(c),
        G::UppercaseLetter
            | G::LowercaseLetter
            | G::TitlecaseLetter
            | G::ModifierLetter
            | G::OtherLetter
            | G::DecimalNumber
            | G::LetterNumber
            | G::OtherNumber
    )
}

fn is_mark(c: char) -> bool {
    use icu_properties::props::GeneralCategory as G;
    matches!(
        general_category(c),
        G::NonspacingMark | G::SpacingMark | G::EnclosingMark
    )
}

fn is_default_ignorable(c: char) -> bool {
    icu_properties::CodePointSetData::new::<icu_properties::props::DefaultIgnorableCodePoint>()
        .contains(c)
}

/// RFC 3986's normal form of a path segment's escapes (section 6.2.2):
/// unreserved characters decoded, the hex digits of the rest upper case. So
/// `%6bv` and `kv`, `%c3%a9` and `%C3%A9` are one path to the grant check.
fn canonical_escapes(segment: &str) -> String {
    let hex = |b: Option<&u8>| b.and_then(|b| char::from(*b).to_digit(16));
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) = (hex(bytes.get(i + 1)), hex(bytes.get(i + 2)))
        {
            // Two hex digits make one byte.
            let byte = (high * 16 + low) as u8;
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                out.push(byte);
            } else {
                out.extend_from_slice(format!("%{byte:02X}").as_bytes());
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    // Only ASCII escapes were replaced by ASCII, so this is what came in
    // when it was UTF-8 (a serialised URL is ASCII).
    String::from_utf8_lossy(&out).into_owned()
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host() == b.host()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// `path` is `prefix` or below it on a segment boundary.
fn path_under(prefix: &str, path: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || prefix.ends_with('/') || rest.starts_with('/'),
        None => false,
    }
}

/// Opens how a refused prefix is listed. No URL starts with `(`, so a
/// listing read back from the trust file can never become a grant.
const REFUSED_LISTING: &str = "(refused: ";
/// How much of a refused prefix's text is shown.
const SHOWN_CHARS: usize = 80;

/// How a declared prefix is listed for the presenter (consent screen,
/// `host inspect`, the trust file): its normalised form, or, for one that
/// grants nothing, why, followed by the flow's text made safe to print.
pub fn listed_prefix(declared: &str) -> String {
    match ProbePrefix::parse(declared) {
        Ok(prefix) => prefix.to_string(),
        Err(why) => {
            let redacted = without_userinfo(declared);
            let mut shown: String = redacted.chars().take(SHOWN_CHARS).collect();
            if shown.len() < redacted.len() {
                shown.push('…');
            }
            let shown = crate::sanitize::display_line(&shown);
            format!("{REFUSED_LISTING}{why}) \"{shown}\"")
        }
    }
}

/// `text` with whatever stands before an `@` in its authority replaced by
/// `…`: a refused prefix may carry a password, and the listing is shown,
/// stored and logged. Read loosely (the text need not parse), for display
/// only.
fn without_userinfo(text: &str) -> std::borrow::Cow<'_, str> {
    let Some(start) = text.find("://").map(|i| i + 3) else {
        return text.into();
    };
    let authority_end = text[start..]
        .find(['/', '\\', '?', '#'])
        .map_or(text.len(), |i| start + i);
    match text[start..authority_end].rfind('@') {
        Some(at) => format!("{}…{}", &text[..start], &text[start + at..]).into(),
        None => text.into(),
    }
}

/// Whether `text` is what [`listed_prefix`] makes of a refused prefix.
pub fn is_refused_listing(text: &str) -> bool {
    text.starts_with(REFUSED_LISTING)
}

/// Whether the listed prefix `wider` covers the listed prefix `narrower`
/// (a presenter's `--allow probe:…` and what a flow asks for). A refused
/// listing covers nothing and is covered by nothing.
pub fn listed_covers(wider: &str, narrower: &str) -> bool {
    match (ProbePrefix::parse(wider), ProbePrefix::parse(narrower)) {
        (Ok(wider), Ok(narrower)) => wider.covers(&narrower),
        _ => false,
    }
}

/// `url` with a service's `SERVICE:PORT` replaced by the address Docker
/// published that port on; any other URL unchanged. `Err` says, for the
/// audience, why a service URL cannot be reached.
///
/// The Docker call has no deadline of its own: the caller drops this future
/// when the chapter is cancelled (`HostApi::probe` runs it and the request
/// inside one `select!` on the chapter's cancel token).
pub async fn resolve(cluster: &Cluster, url: ProbeUrl) -> Result<ProbeUrl, String> {
    let Some((service, port)) = url.service() else {
        return Ok(url);
    };
    let address = match cluster.published_address(service, port).await {
        Ok(Some(address)) => address,
        Ok(None) => {
            return Err(format!(
                "service {service} has no published port {port} (is it running, with `ports:` in the compose file?)"
            ));
        }
        // Not a service of this project: an ordinary host name.
        Err(ClusterError::NotFound(_)) => return Ok(url),
        Err(ClusterError::DockerUnavailable(_)) => {
            return Err("Docker is unavailable, so the service's address is unknown".to_string());
        }
        Err(e) => return Err(e.to_string()),
    };
    url.at(address)
        .ok_or_else(|| format!("cannot send {url} to {address}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(raw: &str) -> ProbeUrl {
        ProbeUrl::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn prefix(raw: &str) -> ProbePrefix {
        ProbePrefix::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    /// Whether a flow granted `grant` may probe `raw` (refused when `raw`
    /// does not parse).
    fn permitted(grant: &str, raw: &str) -> bool {
        ProbeUrl::parse(raw).is_ok_and(|u| prefix(grant).permits(&u))
    }

    #[test]
    fn scheme_host_case_and_default_ports_are_one_origin() {
        assert_eq!(prefix("HTTP://127.0.0.1:80/"), prefix("http://127.0.0.1/"));
        assert_eq!(
            prefix("HTTP://127.0.0.1:80/").to_string(),
            "http://127.0.0.1/"
        );
        assert_eq!(
            prefix("https://Example.COM:443").to_string(),
            "https://example.com/"
        );
        assert!(permitted("http://127.0.0.1/", "HTTP://127.0.0.1:80/x"));
        assert!(permitted("http://PD0:2379/", "http://pd0:2379/x"));
        // A bare origin is the whole origin.
        assert_eq!(
            prefix("http://127.0.0.1:24901").to_string(),
            "http://127.0.0.1:24901/"
        );
        // Another port, host or scheme is another origin.
        assert!(!permitted("http://127.0.0.1/", "http://127.0.0.1:8080/"));
        assert!(!permitted("http://127.0.0.1/", "https://127.0.0.1/"));
        assert!(!permitted(
            "http://127.0.0.1:2379/",
            "http://127.0.0.2:2379/"
        ));
        assert!(!permitted(
            "http://127.0.0.1:2379/",
            "http://127.0.0.1:23790/"
        ));
        assert!(!permitted(
            "http://127.0.0.1:2379/",
            "http://localhost:2379/"
        ));
    }

    #[test]
    fn other_spellings_of_an_ipv4_address_are_that_address() {
        let grant = "http://127.0.0.1:2379/";
        for spelling in [
            "http://127.1:2379/v3",
            "http://0x7f.0.0.1:2379/v3",
            "http://0177.0.0.1:2379/v3",
            "http://2130706433:2379/v3",
            "http://127.0.0.1.:2379/v3",
            "http://127.0.0.%31:2379/v3",
        ] {
            assert_eq!(
                url(spelling).as_str(),
                "http://127.0.0.1:2379/v3",
                "{spelling}"
            );
            assert!(permitted(grant, spelling), "{spelling}");
        }
        assert!(permitted("http://127.1:2379/", "http://127.0.0.1:2379/"));
        assert!(!permitted(grant, "http://127.2:2379/"));
    }

    #[test]
    fn ipv6_hosts_compare_as_addresses() {
        let grant = "http://[::1]:2379/";
        assert!(permitted(grant, "http://[0:0:0:0:0:0:0:1]:2379/v3"));
        assert!(permitted(grant, "http://[::0001]:2379/"));
        assert!(!permitted(grant, "http://127.0.0.1:2379/"));
        assert!(!permitted(grant, "http://[::2]:2379/"));
        // An IPv4-mapped address is another host to the grant check.
        assert!(!permitted(
            "http://127.0.0.1:2379/",
            "http://[::ffff:127.0.0.1]:2379/"
        ));
        assert_eq!(url("http://[0:0::1]:2379/x").host_str(), "[::1]");
    }

    #[test]
    fn a_user_name_or_password_is_refused_in_prefixes_and_requests() {
        for raw in [
            "http://127.0.0.1:24901@127.0.0.1:24902/x",
            "http://user@127.0.0.1:2379/",
            "http://user:secret@127.0.0.1:2379/",
            "http://:secret@127.0.0.1:2379/",
        ] {
            assert_eq!(ProbeUrl::parse(raw), Err(ProbeUrlError::Userinfo), "{raw}");
            assert_eq!(
                ProbePrefix::parse(raw),
                Err(ProbeUrlError::Userinfo),
                "{raw}"
            );
        }
        // WHATWG reads `\` as `/`, which ends the authority, where other
        // parsers read a user name: refused.
        assert_eq!(
            ProbeUrl::parse("http://127.0.0.1:2379\\@127.0.0.1:2380/"),
            Err(ProbeUrlError::Backslash)
        );
        assert!(!permitted(
            "http://127.0.0.1:24901",
            "http://127.0.0.1:24901@127.0.0.1:24902/x"
        ));
        // An empty `@` names nobody; WHATWG drops it.
        assert_eq!(
            url("http://@127.0.0.1:2379/").as_str(),
            "http://127.0.0.1:2379/"
        );
    }

    #[test]
    fn an_encoded_at_or_hash_cannot_move_the_host() {
        // `%40` in the port or host is not an `@`: malformed, refused.
        for raw in [
            "http://127.0.0.1:24901%40127.0.0.1:24902/x",
            "http://127.0.0.1%40127.0.0.1:24902/x",
        ] {
            assert!(
                matches!(ProbeUrl::parse(raw), Err(ProbeUrlError::Malformed(_))),
                "{raw}"
            );
        }
        // In the path it is only a path.
        assert!(permitted(
            "http://127.0.0.1:2379/",
            "http://127.0.0.1:2379/%40evil.com/"
        ));
        assert_eq!(url("http://127.0.0.1:2379/%40x").host_str(), "127.0.0.1");
        // After `#` nothing is authority, and the fragment is dropped.
        assert_eq!(
            url("http://127.0.0.1:2379#@127.0.0.1:24902/").as_str(),
            "http://127.0.0.1:2379/"
        );
        assert!(!permitted(
            "http://127.0.0.1:2379/",
            "http://127.0.0.1:24902#@127.0.0.1:2379/"
        ));
        assert_eq!(
            url("http://127.0.0.1:2379/v3/x#/../../y").as_str(),
            "http://127.0.0.1:2379/v3/x"
        );
    }

    #[test]
    fn dot_segments_are_removed_before_the_grant_check() {
        let grant = "http://127.0.0.1:2379/allowed/";
        for raw in [
            "http://127.0.0.1:2379/allowed/../x",
            "http://127.0.0.1:2379/allowed/%2e%2e/x",
            "http://127.0.0.1:2379/allowed/%2E%2E/x",
            "http://127.0.0.1:2379/allowed/.%2e/x",
            "http://127.0.0.1:2379/allowed/%2E./x",
            "http://127.0.0.1:2379/allowed/./../x",
        ] {
            assert_eq!(url(raw).as_str(), "http://127.0.0.1:2379/x", "{raw}");
            assert!(!permitted(grant, raw), "{raw}");
        }
        assert_eq!(
            url("http://127.0.0.1:2379/allowed/%2e/x").as_str(),
            "http://127.0.0.1:2379/allowed/x"
        );
        assert!(permitted(grant, "http://127.0.0.1:2379/allowed/./x"));
    }

    /// What is wrong with `raw` as a request and as a prefix (the same).
    fn fault(raw: &str) -> Option<SegmentFault> {
        let as_url = match ProbeUrl::parse(raw) {
            Err(ProbeUrlError::Segment { fault, .. }) => Some(fault),
            _ => None,
        };
        let as_prefix = match ProbePrefix::parse(raw) {
            Err(ProbeUrlError::Segment { fault, .. }) => Some(fault),
            _ => None,
        };
        assert_eq!(as_url, as_prefix, "{raw}");
        as_url
    }

    /// Asserts each of `tails`, after the granted `/allowed/`, is refused
    /// as a request, as a declared prefix and as a presenter's
    /// `--allow probe:…`, for `expected`.
    fn refused(tails: &[&str], expected: impl Fn(SegmentFault) -> bool) {
        for tail in tails {
            let raw = format!("http://127.0.0.1:2379/allowed/{tail}");
            let got = fault(&raw);
            assert!(got.is_some_and(&expected), "{raw}: {got:?}");
            assert!(!permitted("http://127.0.0.1:2379/allowed/", &raw), "{raw}");
            assert!(
                format!("probe:{raw}")
                    .parse::<crate::trust::Item>()
                    .is_err(),
                "{raw}"
            );
        }
    }

    #[test]
    fn segments_a_server_could_still_decode_into_traversal_are_refused() {
        refused(
            &[
                "..%2fx",
                "..%2Fx",
                "%2e%2e%2fx",
                "%2e%2e%5c",
                "..%5Cx",
                "a%2fb",
                // Decoded twice.
                "%252fx",
                // Read as `..` by servers that strip `;` parameters.
                "..;/x",
                "..;jsessionid=1/x",
                "%2e%2e;x/y",
                "..%3bx/y",
                // An NTFS stream of `..`.
                "..:x/y",
                "..%3Ax/y",
                // Cut at `?` or `#` by a server that decodes and re-parses.
                "..%3fx/y",
                "..%23x/y",
                // Trimmed to `..` by Windows.
                "..%20/x",
                ".%20./x",
                ".../x",
            ],
            |f| f == SegmentFault::Traversal,
        );
        // Dots and parameters inside a name are only a name.
        for raw in [
            "http://127.0.0.1:2379/allowed/a..b",
            "http://127.0.0.1:2379/allowed/v1.2;rev=3",
            "http://127.0.0.1:2379/allowed/.hidden",
            "http://127.0.0.1:2379/allowed/a;..",
            "http://127.0.0.1:2379/allowed/a:..",
            "http://127.0.0.1:2379/allowed/x..",
        ] {
            assert!(permitted("http://127.0.0.1:2379/allowed/", raw), "{raw}");
        }
    }

    #[test]
    fn escapes_that_are_not_utf8_are_refused() {
        refused(
            &[
                // Overlong `.`, `/` and `\` in two, three and four bytes.
                "..%c0%ae",
                "%c0%ae%c0%ae/x",
                "%C0%AE%C0%AE/x",
                "%e0%80%ae%e0%80%ae/x",
                "%f0%80%80%ae%f0%80%80%ae/x",
                "..%c0%af",
                "..%c1%9c",
                "..%e0%80%af",
                // Lone continuation bytes, cut short, beyond U+10FFFF.
                "%80",
                "..%bf",
                "%e2%80",
                "caf%c3",
                "%f4%90%80%80",
                "%ff",
                "%fe%ff",
                // Surrogates encoded in UTF-8 (CESU-8).
                "%ed%a0%80",
                "%ed%bf%bf",
                // Under a second layer.
                "%25c0%25ae%25c0%25ae/x",
            ],
            |f| f == SegmentFault::NotUtf8,
        );
        let why = ProbeUrl::parse("http://127.0.0.1:24841/allowed/..%c0%ae")
            .unwrap_err()
            .to_string();
        assert_eq!(
            why,
            "path segment \"..%c0%ae\" has a percent-escape that is not valid UTF-8 (overlong, cut short, a lone continuation byte or a surrogate); write the path plainly"
        );
    }

    #[test]
    fn a_percent_that_starts_no_escape_is_refused() {
        refused(
            &[
                // IIS's `%u`, in either case, bare or under a layer.
                "%u002e%u002e/x",
                "%U002E%U002E/x",
                "..%u2215x",
                "%uff0e%uff0e/x",
                "%25u002e%25u002e/x",
                // IIS decodes `%%32%65` to `%2e`, then to `.`.
                "%%32%65%%32%65/x",
                "%2",
                "a%",
                "%zz",
                "%%",
            ],
            |f| f == SegmentFault::BadEscape,
        );
        // A literal `%` is `%25`, which decodes to a lone `%`.
        assert!(permitted("http://h/", "http://h/50%25"));
        assert!(permitted("http://h/", "http://h/50%25off"));
    }

    #[test]
    fn encoded_controls_are_refused() {
        refused(
            &[
                "..%00",
                "..%00/x",
                "..%09",
                "..%0d",
                "..%0a",
                "a%0d%0aX-Injected:%201",
                "..%7f",
                "..%1b",
                "..%01",
                // C1: NEL and APC.
                "..%c2%85",
                "..%c2%9f",
                // Under a second layer.
                "..%2500",
                "..%2509",
                // Raw ones, which WHATWG percent-encodes (it strips them at
                // the ends of the URL, so not last).
                "..\u{0}/x",
                "a\u{1b}[31m",
                "..\u{7f}",
                "..\u{85}",
            ],
            |f| matches!(f, SegmentFault::Control(_)),
        );
        assert_eq!(
            fault("http://h/..%00"),
            Some(SegmentFault::Control(CodePoint('\0')))
        );
        assert_eq!(
            ProbeUrl::parse("http://h/..%00").unwrap_err().to_string(),
            "path segment \"..%00\" decodes to the control character U+0000; write the path plainly"
        );
    }

    #[test]
    fn dot_and_slash_lookalikes_are_refused_raw_or_encoded() {
        let lookalikes = [
            '\u{ff0e}', // fullwidth full stop
            '\u{2024}', // one dot leader
            '\u{2025}', // two dot leader (NFKC `..`)
            '\u{2026}', // horizontal ellipsis (NFKC `...`)
            '\u{fe52}', // small full stop
            '\u{3002}', // ideographic full stop
            '\u{ff61}', // halfwidth ideographic full stop
            '\u{00b7}', // middle dot
            '\u{ff0f}', // fullwidth solidus
            '\u{2215}', // division slash
            '\u{2044}', // fraction slash
            '\u{29f8}', // big solidus
            '\u{ff3c}', // fullwidth reverse solidus
            '\u{fe68}', // small reverse solidus
            '\u{2216}', // set minus
            '\u{29f5}', // reverse solidus operator
            '\u{00a5}', // yen sign: `\` in Shift-JIS
            '\u{20a9}', // won sign: `\` in EUC-KR
            '\u{ff1b}', // fullwidth semicolon
            '\u{ff1a}', // fullwidth colon
            '\u{200b}', // zero width space (default-ignorable)
            '\u{00ad}', // soft hyphen (default-ignorable)
            '\u{feff}', // byte order mark
            '\u{3164}', // hangul filler: a letter, but default-ignorable
            '\u{00a0}', // no-break space (trimmed as a space)
            '\u{3000}', // ideographic space
            '\u{202e}', // right-to-left override
            '\u{e000}', // private use
            '\u{2488}', // `⒈`: NFKC `1.`
            '\u{00bd}', // `½`: NFKC `1⁄2`
        ];
        for c in lookalikes {
            let encoded: String = c.to_string().bytes().map(|b| format!("%{b:02X}")).collect();
            let double: String = encoded.replace('%', "%25");
            for tail in [
                format!("..{c}"),
                format!("{c}{c}/x"),
                format!("..{encoded}"),
                format!("{encoded}{encoded}/x"),
                format!("a{double}b"),
            ] {
                refused(&[tail.as_str()], |f| {
                    f == SegmentFault::Lookalike(CodePoint(c))
                });
            }
        }
        // A mark on a dot is a dot to a server that strips diacritics; a
        // variation selector is also default-ignorable.
        refused(
            &[".\u{338}.\u{338}/x", "%2E%CC%B8%2E%CC%B8/x", ".\u{fe0f}./x"],
            |f| matches!(f, SegmentFault::Lookalike(_)),
        );
        assert_eq!(
            ProbeUrl::parse("http://h/allowed/%EF%BC%8E%EF%BC%8E/x")
                .unwrap_err()
                .to_string(),
            "path segment \"%EF%BC%8E%EF%BC%8E\" holds U+FF0E, which servers that normalise Unicode or map it to a code page can read as '.', '/', '\\' or nothing (outside ASCII a segment may hold letters, numbers and marks on them); write the path plainly"
        );
    }

    #[test]
    fn a_dot_under_two_layers_of_encoding_is_refused() {
        refused(
            &[
                "%252e%252e/x",
                "%252E%252E/x",
                "%252e",
                "a%252eb",
                "%25252e%25252e/x",
            ],
            |f| f == SegmentFault::DoubleEncodedDot,
        );
        // One layer is a dot as written: WHATWG resolves or keeps it.
        assert!(permitted("http://h/v3/", "http://h/v3/a%2eb"));
    }

    #[test]
    fn a_raw_backslash_in_the_host_or_path_is_refused_and_in_the_query_kept() {
        for raw in [
            "http://127.0.0.1:2379/allowed\\..\\x",
            "http://127.0.0.1:2379/allowed/a\\b",
            "http://127.0.0.1:2379\\allowed/x",
            "http://127.0.0.1:2379\\@127.0.0.1:2380/",
        ] {
            assert_eq!(ProbeUrl::parse(raw), Err(ProbeUrlError::Backslash), "{raw}");
            assert_eq!(
                ProbePrefix::parse(raw),
                Err(ProbeUrlError::Backslash),
                "{raw}"
            );
        }
        assert_eq!(
            url("http://h/x?path=C:\\tmp#a\\b").as_str(),
            "http://h/x?path=C:\\tmp"
        );
    }

    #[test]
    fn an_empty_segment_inside_the_path_is_refused() {
        for raw in [
            "http://h/allowed//x",
            "http://h//allowed/x",
            "http://h/allowed//",
            "http://h//169.254.169.254/",
        ] {
            assert_eq!(
                ProbeUrl::parse(raw),
                Err(ProbeUrlError::EmptySegment),
                "{raw}"
            );
            assert_eq!(
                ProbePrefix::parse(raw),
                Err(ProbeUrlError::EmptySegment),
                "{raw}"
            );
        }
        // The root and a trailing `/` are not empty segments.
        assert!(permitted("http://h/", "http://h/"));
        assert!(permitted("http://h/v3/", "http://h/v3/"));
        assert!(permitted("http://h/v3/", "http://h/v3/kv/"));
    }

    #[test]
    fn ordinary_urls_still_pass() {
        for (grant, raw, sent) in [
            (
                "http://h:2379/v3/",
                "http://h:2379/v3/kv/range",
                "http://h:2379/v3/kv/range",
            ),
            (
                "http://h/health",
                "http://h/health?x=1",
                "http://h/health?x=1",
            ),
            ("http://h/", "http://h/a%20b/c", "http://h/a%20b/c"),
            ("http://h/", "http://h/a b", "http://h/a%20b"),
            ("http://h/", "http://h/caf%c3%a9", "http://h/caf%C3%A9"),
            ("http://h/", "http://h/café", "http://h/caf%C3%A9"),
            // `i` and a combining diaeresis: a mark on a letter.
            ("http://h/", "http://h/nai%CC%88ve", "http://h/nai%CC%88ve"),
            (
                "http://h/",
                "http://h/日本/١٢٣",
                "http://h/%E6%97%A5%E6%9C%AC/%D9%A1%D9%A2%D9%A3",
            ),
            (
                "http://h/",
                "http://h/v1.2;rev=3/x",
                "http://h/v1.2;rev=3/x",
            ),
            (
                "http://h/",
                "http://h/%7Euser/a-b_c.d",
                "http://h/~user/a-b_c.d",
            ),
            (
                "http://h/",
                "http://h/a,b=c&d+e!$'()*@",
                "http://h/a,b=c&d+e!$'()*@",
            ),
            // The query is not the grant's business: kept as written.
            (
                "http://h/health",
                "http://h/health?p=..%c0%ae&q=%u002e&r=%00",
                "http://h/health?p=..%c0%ae&q=%u002e&r=%00",
            ),
        ] {
            assert_eq!(url(raw).as_str(), sent, "{raw}");
            assert!(permitted(grant, raw), "{raw}");
        }
    }

    #[test]
    fn long_or_deeply_encoded_urls_are_refused_before_they_cost_much() {
        let long = format!("http://127.0.0.1:2379/v3/{}", "a".repeat(MAX_URL_BYTES));
        assert_eq!(ProbeUrl::parse(&long), Err(ProbeUrlError::TooLong));
        assert_eq!(ProbePrefix::parse(&long), Err(ProbeUrlError::TooLong));
        // Three layers are checked; a fourth is refused, whatever it hides.
        assert!(permitted("http://h/v3/", "http://h/v3/%252541"));
        assert_eq!(
            fault("http://h/v3/%25252541"),
            Some(SegmentFault::DeepEncoding)
        );
        let nested = format!("http://h/v3/%{}", "25".repeat(4000));
        let started = std::time::Instant::now();
        assert_eq!(fault(&nested), Some(SegmentFault::DeepEncoding));
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
    }

    #[test]
    fn tab_and_newline_inside_a_url_are_removed_before_the_check() {
        assert_eq!(
            url("http://127.0.0.1:23\n79/").as_str(),
            "http://127.0.0.1:2379/"
        );
        assert_eq!(
            url(" http://127.0.0.1:2379/v3\t\r\n ").as_str(),
            "http://127.0.0.1:2379/v3"
        );
        assert!(!permitted(
            "http://127.0.0.1:2379/v3/",
            "http://127.0.0.1:2379/v3/\t../../x"
        ));
        assert!(!permitted(
            "http://127.0.0.1:24901/",
            "http://127.0.0.1:2490\n2/"
        ));
        // Other controls in the path are refused (WHATWG would send them
        // percent-encoded, which servers decode, then drop or cut at).
        assert_eq!(
            fault("http://127.0.0.1:2379/a\u{1b}[31m"),
            Some(SegmentFault::Control(CodePoint('\u{1b}')))
        );
    }

    #[test]
    fn prefix_paths_match_on_segment_boundaries() {
        let kv = "http://127.0.0.1:2379/v3/kv";
        assert!(permitted(kv, "http://127.0.0.1:2379/v3/kv"));
        assert!(permitted(kv, "http://127.0.0.1:2379/v3/kv/range"));
        assert!(permitted(kv, "http://127.0.0.1:2379/v3/kv?limit=1"));
        assert!(!permitted(kv, "http://127.0.0.1:2379/v3/kvx"));
        assert!(!permitted(kv, "http://127.0.0.1:2379/v3/k"));
        assert!(!permitted(kv, "http://127.0.0.1:2379/v3"));
        assert!(!permitted(kv, "http://127.0.0.1:2379/v3/kv/../lease"));

        let v3 = "http://127.0.0.1:2379/v3/";
        assert!(permitted(v3, "http://127.0.0.1:2379/v3/anything"));
        assert!(permitted(v3, "http://127.0.0.1:2379/v3/"));
        assert!(!permitted(v3, "http://127.0.0.1:2379/v3"));
        assert!(!permitted(v3, "http://127.0.0.1:2379/v3x/"));

        let root = "http://127.0.0.1:2379/";
        assert!(permitted(root, "http://127.0.0.1:2379"));
        assert!(permitted(root, "http://127.0.0.1:2379/any/thing?x=1"));
        assert!(!permitted(root, "http://127.0.0.1:2380/"));
    }

    #[test]
    fn escapes_are_compared_in_one_normal_form() {
        let kv = "http://127.0.0.1:2379/v3/kv";
        assert!(permitted(kv, "http://127.0.0.1:2379/v3/%6Bv/range"));
        assert!(permitted(kv, "http://127.0.0.1:2379/v3/%6bv"));
        assert_eq!(url("http://h/caf%c3%a9").as_str(), "http://h/caf%C3%A9");
        assert!(permitted("http://h/caf%C3%A9/", "http://h/caf%c3%a9/menu"));
        assert!(permitted("http://h/café/", "http://h/caf%c3%a9/menu"));
        // A query is kept as written (servers read `+` and `%2B` apart).
        assert_eq!(url("http://h/x?a=%2b+b").as_str(), "http://h/x?a=%2b+b");
    }

    #[test]
    fn only_http_and_https_are_probed() {
        for raw in [
            "ftp://127.0.0.1/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "data:text/plain,hi",
            "ws://127.0.0.1:2379/",
            "gopher://127.0.0.1:2379/_x",
        ] {
            assert!(
                matches!(ProbeUrl::parse(raw), Err(ProbeUrlError::Scheme(_))),
                "{raw}"
            );
        }
        for raw in [
            "",
            "127.0.0.1:2379",
            "/v3/kv",
            "http://",
            "http://h:65536/",
            "http://[::1/",
        ] {
            assert!(
                matches!(ProbeUrl::parse(raw), Err(ProbeUrlError::Malformed(_))),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn a_prefix_has_no_query_or_fragment_and_a_request_loses_its_fragment() {
        assert_eq!(
            ProbePrefix::parse("http://h/v3?x=1"),
            Err(ProbeUrlError::PrefixQuery)
        );
        assert_eq!(
            ProbePrefix::parse("http://h/v3?"),
            Err(ProbeUrlError::PrefixQuery)
        );
        assert_eq!(
            ProbePrefix::parse("http://h/v3#top"),
            Err(ProbeUrlError::PrefixFragment)
        );
        assert_eq!(
            ProbePrefix::parse("http://h/v3#"),
            Err(ProbeUrlError::PrefixFragment)
        );
        assert_eq!(url("http://h/v3?x=1#top").as_str(), "http://h/v3?x=1");
    }

    #[test]
    fn a_wider_prefix_covers_narrower_ones_on_segment_boundaries() {
        assert!(listed_covers("http://h:1/v3/", "http://h:1/v3/kv"));
        assert!(listed_covers("http://h:1/", "http://h:1/v3/"));
        assert!(listed_covers("HTTP://h:1", "http://h:1/"));
        assert!(!listed_covers("http://h:1/v3", "http://h:1/v3x/"));
        assert!(!listed_covers("http://h:1/v3/", "http://h:2/v3/"));
        assert!(!listed_covers("http://h:1/v3/kv", "http://h:1/v3/"));
        let refused = listed_prefix("http://u@h:1/");
        assert!(!listed_covers(&refused, &refused));
        assert!(!listed_covers("http://h:1/", &refused));
    }

    #[test]
    fn a_malformed_prefix_is_listed_as_refused_with_why_and_printable() {
        assert_eq!(
            listed_prefix("HTTP://127.0.0.1:2379"),
            "http://127.0.0.1:2379/"
        );
        let listed = listed_prefix("http://u:p@127.0.0.1/");
        assert_eq!(
            listed,
            "(refused: a user name or password in a probe URL is refused) \"http://…@127.0.0.1/\""
        );
        // A password is not repeated, even where the rest does not parse.
        let listed = listed_prefix("http://user:hunter2@127.0.0.1:99999/x@y");
        assert!(
            listed.ends_with("\"http://…@127.0.0.1:99999/x@y\""),
            "{listed}"
        );
        assert!(is_refused_listing(&listed));
        assert!(!is_refused_listing("http://127.0.0.1:2379/"));
        // The listing itself is never a prefix.
        assert!(ProbePrefix::parse(&listed).is_err());
        // The flow's text reaches the screen without its escape sequences
        // and cut.
        let hostile = format!("ftp://h/\u{1b}]2;owned\u{7}{}", "a".repeat(500));
        let listed = listed_prefix(&hostile);
        assert!(
            listed.starts_with("(refused: only http and https can be probed, not 'ftp')"),
            "{listed}"
        );
        assert!(!listed.chars().any(char::is_control), "{listed:?}");
        assert!(listed.len() < 200, "{listed}");
    }

    #[test]
    fn the_presenter_reads_prefixes_normalised_and_why_a_malformed_one_grants_nothing() {
        use crate::capability::Grants;
        use crate::model::Capabilities;
        use crate::trust::{CliConsent, Item, requested, to_capabilities};
        let caps = Capabilities {
            faults: vec![],
            reads_workload: false,
            http_probes: vec![
                "HTTP://127.1:2379".into(),
                "http://127.0.0.1:2379/".into(),
                "http://u@127.0.0.1:2380/".into(),
            ],
            memory_mib: 0,
        };
        let asked = requested(&caps);
        let specs: Vec<String> = asked.iter().map(Item::to_string).collect();
        let refused = "(refused: a user name or password in a probe URL is refused) \"http://…@127.0.0.1:2380/\"";
        assert_eq!(
            specs,
            [
                format!("probe:{refused}"),
                "probe:http://127.0.0.1:2379/".into()
            ]
        );
        assert_eq!(asked[0].describe(), format!("no HTTP probe: {refused}"));
        assert_eq!(
            asked[1].describe(),
            "HTTP GET/POST to URLs under http://127.0.0.1:2379/"
        );
        // The trust file reads each back as it was written.
        for item in &asked {
            assert_eq!(&item.to_string().parse::<Item>().unwrap(), item);
        }
        // Granting all of it grants only the well-formed prefix.
        let grants = Grants::from_declared(&to_capabilities(&asked));
        assert!(grants.permits_probe(&url("http://127.0.0.1:2379/x")));
        assert!(!grants.permits_probe(&url("http://127.0.0.1:2380/x")));
        // `--allow probe:…` is read as a URL too, and covers on segments.
        let allow = |spec: &str| {
            CliConsent {
                yes: false,
                allow: vec![spec.parse().unwrap()],
            }
            .decide(&asked, "t")
            .granted
        };
        assert_eq!(allow("probe:http://127.1:2379"), [asked[1].clone()]);
        assert!(allow("probe:http://127.0.0.1:2379/v3").is_empty());
        assert!(allow("probe:http://127.0.0.1:23").is_empty());
        let err = "probe:http://u@h/".parse::<Item>().unwrap_err().to_string();
        assert!(err.contains("user name or password"), "{err}");
    }

    #[test]
    fn service_urls_are_recognised_and_addresses_are_not() {
        assert_eq!(
            url("http://pd0:2379/pd/api/v1/stores").service(),
            Some(("pd0", 2379))
        );
        assert_eq!(url("http://PD0:2379/").service(), Some(("pd0", 2379)));
        assert_eq!(url("http://etcd1:2379").service(), Some(("etcd1", 2379)));
        // Normalised, `pd0` and `pd0:80` are one URL.
        assert_eq!(url("http://pd0/").service(), Some(("pd0", 80)));
        assert_eq!(url("http://127.0.0.1:2379/").service(), None);
        assert_eq!(url("http://localhost:2379/").service(), None);
        assert_eq!(url("http://example.com:80/").service(), None);
        assert_eq!(url("http://pd0.:2379/").service(), None);
        assert_eq!(url("http://[::1]:2379/").service(), None);
    }

    #[test]
    fn a_service_url_is_sent_to_the_published_address_with_its_path_and_query() {
        let written = url("http://pd0:2379/pd/api/v1/stores?state=up");
        let sent = written.at("127.0.0.1:24791".parse().unwrap()).unwrap();
        assert_eq!(
            sent.as_str(),
            "http://127.0.0.1:24791/pd/api/v1/stores?state=up"
        );
        let sent = written.at("[::1]:5".parse().unwrap()).unwrap();
        assert_eq!(sent.as_str(), "http://[::1]:5/pd/api/v1/stores?state=up");
    }

    /// Characters that have tricked URL readers: authority and path
    /// separators, escapes and their pieces, IPv6 brackets, whitespace.
    const TRICKY: &[&str] = &[
        "@",
        ":",
        "/",
        "\\",
        "?",
        "#",
        ".",
        "..",
        "%",
        "%2e",
        "%2E",
        "%2f",
        "%5c",
        "%c0%ae",
        "%u002e",
        "%00",
        "%ef%bc%8e",
        "\u{ff0e}",
        "%252e",
        "%40",
        "%25",
        ";",
        "[",
        "]",
        "\t",
        "\n",
        " ",
        "127.0.0.1",
        "24902",
        "a",
        "v3",
        "0x7f",
        "::1",
    ];

    proptest::proptest! {
        /// Whatever tricks follow a granted origin and its path, a URL the
        /// grant permits is read by the client's own parser (the `http`
        /// crate's, inside ureq) as the granted host and port, its path stays
        /// under the granted path with no segment that decodes to a step out,
        /// and normalising is a fixed point (what is sent re-reads as what
        /// was checked).
        #[test]
        fn a_permitted_url_means_the_same_to_every_reader(
            authority in proptest::collection::vec(proptest::sample::select(TRICKY), 0..6),
            path in proptest::collection::vec(proptest::sample::select(TRICKY), 0..12),
        ) {
            let grant = prefix("http://127.0.0.1:2379/v3/");
            let raw = format!("http://127.0.0.1:2379{}/v3/{}", authority.concat(), path.concat());
            let Ok(parsed) = ProbeUrl::parse(&raw) else {
                return Ok(());
            };
            proptest::prop_assert_eq!(ProbeUrl::parse(parsed.as_str()), Ok(parsed.clone()));
            if !grant.permits(&parsed) {
                return Ok(());
            }
            if let Ok(uri) = ureq::http::Uri::try_from(parsed.as_str()) {
                proptest::prop_assert_eq!(uri.host(), Some("127.0.0.1"), "{}", raw);
                proptest::prop_assert_eq!(uri.port_u16(), Some(2379), "{}", raw);
                proptest::prop_assert!(uri.path().starts_with("/v3/"), "{} -> {}", raw, uri);
                for segment in uri.path().split('/') {
                    let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
                    proptest::prop_assert!(
                        decoded != ".." && decoded != "." && !decoded.contains(['/', '\\']),
                        "{} -> {}",
                        raw,
                        uri
                    );
                }
            }
        }
    }
}
