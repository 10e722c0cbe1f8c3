//! The probe URL parser and grant check (host/src/probe_url.rs) on any text
//! a flow or the presenter could write. It never panics, and a URL a prefix
//! permits:
//! - re-parses to itself (what is sent is what was checked), and is still
//!   permitted by the prefix re-parsed from its own listing;
//! - reads, to the HTTP client's own URI parser, as the granted host, port
//!   and path;
//! - holds none of the refused spellings at any decoding (no `%u`, no `%`
//!   that starts no escape, nothing that is not UTF-8, no control, no
//!   Unicode dot or slash lookalike);
//! - stays under the prefix however a lenient server reads it: decoded up
//!   to three times, NFKC-normalised, stripped of marks and ignorables,
//!   lookalikes mapped to ASCII, `\` read as `/`, `;`/`:`/`?`/`#` cutting a
//!   segment, trailing dots and spaces trimmed, empty segments merged, and
//!   then `..` resolved.
#![no_main]

use arbitrary::Arbitrary;
use host::probe_url::{ProbePrefix, ProbeUrl, listed_covers, listed_prefix};
use icu_normalizer::{ComposingNormalizerBorrowed, DecomposingNormalizerBorrowed};
use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory};
use icu_properties::{CodePointMapData, CodePointSetData};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    mode: u8,
    prefix: String,
    tail: String,
}

const ORIGIN: &str = "http://127.0.0.1:2379";

/// Characters some server maps to ASCII (code page best fit, Shift-JIS
/// and EUC-KR backslashes), and what it maps them to.
const BEST_FIT: &[(char, &str)] = &[
    ('\u{ff0e}', "."),
    ('\u{2024}', "."),
    ('\u{2025}', ".."),
    ('\u{2026}', "..."),
    ('\u{fe52}', "."),
    ('\u{3002}', "."),
    ('\u{ff61}', "."),
    ('\u{00b7}', "."),
    ('\u{ff0f}', "/"),
    ('\u{2215}', "/"),
    ('\u{2044}', "/"),
    ('\u{29f8}', "/"),
    ('\u{ff3c}', "\\"),
    ('\u{fe68}', "\\"),
    ('\u{2216}', "\\"),
    ('\u{29f5}', "\\"),
    ('\u{00a5}', "\\"),
    ('\u{20a9}', "\\"),
    ('\u{ff1b}', ";"),
    ('\u{ff1a}', ":"),
    ('\u{00a0}', " "),
    ('\u{3000}', " "),
];

fn nfkc(s: &str) -> String {
    ComposingNormalizerBorrowed::new_nfkc()
        .normalize(s)
        .into_owned()
}

/// NFKD, then without marks and default-ignorables: a server that strips
/// diacritics and invisible characters.
fn stripped(s: &str) -> String {
    let gc = CodePointMapData::<GeneralCategory>::new();
    let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
    DecomposingNormalizerBorrowed::new_nfkd()
        .normalize(s)
        .chars()
        .filter(|&c| {
            !ignorable.contains(c)
                && !matches!(
                    gc.get(c),
                    GeneralCategory::NonspacingMark
                        | GeneralCategory::SpacingMark
                        | GeneralCategory::EnclosingMark
                )
        })
        .collect()
}

fn best_fit(s: &str) -> String {
    s.chars()
        .map(|c| match BEST_FIT.iter().find(|(from, _)| *from == c) {
            Some((_, to)) => (*to).to_string(),
            None => c.to_string(),
        })
        .collect()
}

/// The path's decodings, as written and up to three times over, each
/// checked for the refused spellings on the way.
fn decodings(path: &str, raw: &str) -> Vec<String> {
    let mut stages = vec![path.to_string()];
    for layer in 0..3 {
        let stage = stages.last().cloned().unwrap_or_default();
        let bytes = stage.as_bytes();
        for (i, _) in stage.match_indices('%') {
            let next = bytes.get(i + 1).copied().unwrap_or(0);
            assert!(!next.eq_ignore_ascii_case(&b'u'), "%u accepted: {raw:?}");
            if layer == 0 {
                let hex = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_hexdigit);
                assert!(hex(i + 1) && hex(i + 2), "a bare % accepted: {raw:?}");
            }
        }
        let decoded = percent_encoding::percent_decode(bytes).collect::<Vec<u8>>();
        let decoded = String::from_utf8(decoded)
            .unwrap_or_else(|_| panic!("a path that decodes to non-UTF-8 accepted: {raw:?}"));
        for c in decoded.chars() {
            assert!(!c.is_control(), "a control accepted: {raw:?}");
            assert!(
                !BEST_FIT.iter().any(|(from, _)| *from == c),
                "lookalike U+{:04X} accepted: {raw:?}",
                u32::from(c)
            );
        }
        if decoded == stage {
            break;
        }
        stages.push(decoded);
    }
    stages
}

/// Every way a lenient server could read the path: by decoding, each way
/// of normalising it.
fn readings(path: &str, raw: &str) -> Vec<[String; 6]> {
    decodings(path, raw)
        .into_iter()
        .map(|s| {
            let n = nfkc(&s);
            let st = stripped(&s);
            [best_fit(&st), best_fit(&n), n, st, best_fit(&s), s]
        })
        .collect()
}

/// The directories a lenient server resolves a reading to.
fn resolved(reading: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    for segment in reading.split(['/', '\\']) {
        let head = segment
            .split([';', ':', '?', '#'])
            .next()
            .unwrap_or_default();
        let trimmed = head.trim_end_matches(['.', ' ']);
        if trimmed.is_empty() && head.contains('.') {
            // `.` is resolved by WHATWG before anything is sent; any other
            // run of dots counts as the worst a server makes of it.
            stack.pop();
        } else if !trimmed.is_empty() {
            stack.push(trimmed.to_string());
        }
    }
    stack
}

fn check_permitted(prefix: &ProbePrefix, url: &ProbeUrl, raw: &str) {
    let sent = url.as_str();
    assert_eq!(
        ProbeUrl::parse(sent).as_ref(),
        Ok(url),
        "not a fixed point: {raw:?}"
    );
    let listed = prefix.to_string();
    let again = ProbePrefix::parse(&listed).expect("a prefix's listing re-parses");
    assert_eq!(&again, prefix);
    assert!(again.permits(url), "{raw:?}");

    let prefix_path = listed
        .strip_prefix("http://")
        .or_else(|| listed.strip_prefix("https://"))
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .expect("a prefix has a path");
    let uri = http::Uri::try_from(sent).expect("the client parses what is sent");
    assert_eq!(
        uri.host().map(|h| h.trim_matches(['[', ']'])),
        Some(url.host_str().trim_matches(['[', ']'])),
        "{raw:?}"
    );
    assert_eq!(
        uri.port_u16()
            .or(Some(if uri.scheme_str() == Some("https") {
                443
            } else {
                80
            })),
        url.port(),
        "{raw:?}"
    );
    let path = uri.path();
    assert!(
        path.starts_with(prefix_path),
        "{raw:?}: {path} not under {prefix_path}"
    );

    // The prefix read the same way (the same server reads both), at the
    // same depth of decoding or, when it has fewer layers, its last.
    let granted_readings = readings(prefix_path, raw);
    for (layer, ways) in readings(path, raw).iter().enumerate() {
        let granted_ways = &granted_readings[layer.min(granted_readings.len() - 1)];
        for (under, over) in ways.iter().zip(granted_ways) {
            let (mine, granted) = (resolved(under), resolved(over));
            assert!(
                mine.starts_with(&granted),
                "{raw:?}: a lenient reading {under:?} resolves to {mine:?}, outside {granted:?}"
            );
        }
    }
}

fuzz_target!(|input: Input| {
    let (prefix, url) = match input.mode % 4 {
        0 => (
            format!("{ORIGIN}/allowed/"),
            format!("{ORIGIN}/allowed/{}", input.tail),
        ),
        1 => (
            format!("{ORIGIN}/allowed"),
            format!("{ORIGIN}/allowed{}", input.tail),
        ),
        2 => (format!("{ORIGIN}/"), format!("http://{}", input.tail)),
        _ => (input.prefix, input.tail),
    };
    let listed = listed_prefix(&prefix);
    assert!(!listed.chars().any(char::is_control), "{listed:?}");
    let _ = listed_covers(&prefix, &url);
    let Ok(granted) = ProbePrefix::parse(&prefix) else {
        return;
    };
    let Ok(parsed) = ProbeUrl::parse(&url) else {
        return;
    };
    if granted.permits(&parsed) {
        check_permitted(&granted, &parsed, &url);
    }
    // A wider prefix permits all a narrower one does.
    if let Ok(narrower) = ProbePrefix::parse(&url) {
        if granted.covers(&narrower) && narrower.permits(&parsed) {
            assert!(granted.permits(&parsed), "{prefix:?} covers {url:?}");
        }
    }
});
