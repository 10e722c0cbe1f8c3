//! The sanitiser (host/src/sanitize.rs) on any text: it never panics, and
//! what it returns holds no C0 or C1 control but a newline (none at all for
//! a line), no ESC, no bidi override or isolate, and is bounded: only a tab
//! grows (to four spaces), and `flow_text` cuts to `max` bytes before that.
#![no_main]

use arbitrary::Arbitrary;
use host::sanitize::{display_line, display_text, flow_line, flow_text, truncated};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    text: String,
    max: u16,
}

/// What the sanitiser never lets through.
fn forbidden(c: char, newline_ok: bool) -> bool {
    (c.is_control() && !(newline_ok && c == '\n'))
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn check(out: &str, newline_ok: bool, what: &str, input: &str) {
    if let Some(c) = out.chars().find(|&c| forbidden(c, newline_ok)) {
        panic!(
            "{what} let U+{:04X} through: {input:?} -> {out:?}",
            u32::from(c)
        );
    }
}

fuzz_target!(|input: Input| {
    let text = input.text.as_str();
    let max = usize::from(input.max);
    let tabs = |s: &str| s.matches('\t').count();

    let shown = display_text(text);
    check(&shown, true, "display_text", text);
    assert!(
        shown.len() <= text.len() + 3 * tabs(text),
        "display_text grew: {text:?}"
    );
    // Clean text is a fixed point: the sanitiser can be applied twice.
    assert_eq!(
        display_text(&shown),
        shown,
        "display_text not idempotent: {text:?}"
    );

    let line = display_line(text);
    check(&line, false, "display_line", text);
    assert!(
        line.len() <= text.len() + 3 * tabs(text),
        "display_line grew: {text:?}"
    );
    assert_eq!(
        display_line(&line),
        line,
        "display_line not idempotent: {text:?}"
    );

    let cut = truncated(input.text.clone(), max);
    if text.len() <= max {
        assert_eq!(cut, text, "truncated text that fit: {text:?} {max}");
    } else {
        assert!(
            cut.len() <= max + '…'.len_utf8() && cut.ends_with('…'),
            "truncated: {text:?} {max} -> {cut:?}"
        );
        assert!(
            text.starts_with(cut.trim_end_matches('…')),
            "truncated changed text: {text:?}"
        );
    }

    // Cut to `max` first, so what a tab adds is bounded by `max` too.
    let bound = 4 * (max + '…'.len_utf8());
    let kept = flow_text(input.text.clone(), max);
    check(&kept, true, "flow_text", text);
    assert!(
        kept.len() <= bound,
        "flow_text: {} bytes from {text:?} {max}",
        kept.len()
    );
    let kept = flow_line(input.text.clone(), max);
    check(&kept, false, "flow_line", text);
    assert!(kept.len() <= bound, "flow_line: {} bytes", kept.len());
});
