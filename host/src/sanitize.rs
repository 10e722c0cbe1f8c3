//! The one sanitiser for text a flow supplies, applied wherever text reaches
//! a terminal or a file a person reads (dashboard, `host inspect`, error
//! lines, host.log).
//!
//! A terminal acts on control characters and escape sequences: a flow name
//! holding `ESC ] 2 ; … BEL` retitles the presenter's window, `ESC ] 52`
//! writes the clipboard. Dropping only the ESC byte (as ratatui's buffer
//! does) leaves the rest of the sequence on screen as junk, so whole
//! sequences are removed, parsed the way a VT500-style terminal parses them:
//!
//! - CSI (`ESC [` or U+009B): parameter and intermediate bytes up to a final
//!   byte 0x40–0x7E.
//! - Strings (OSC `ESC ]`/U+009D, DCS `ESC P`/U+0090, SOS `ESC X`/U+0098,
//!   PM `ESC ^`/U+009E, APC `ESC _`/U+009F): everything up to BEL or ST
//!   (`ESC \` or U+009C). Unterminated, they run to the end of the text, as
//!   a terminal would swallow it.
//! - Other escapes: `ESC`, intermediates 0x20–0x2F, one final 0x30–0x7E
//!   (`ESC c`, `ESC (B`, `ESC 7`).
//!
//! Outside sequences every C0 control but newline is removed (CR too, so
//! `\r\n` becomes `\n`), as are DEL and the C1 controls. A tab becomes four
//! spaces: where its next tab stop falls depends on where the text is drawn
//! (a table cell, a wrapped paragraph), which is not known here. Unicode
//! bidirectional overrides and isolates are removed so that a name cannot
//! display reversed on a consent screen.

use std::borrow::Cow;

/// What a tab becomes.
const TAB: &str = "    ";

const ESC: char = '\u{1b}';
const BEL: char = '\u{07}';
/// CAN and SUB cancel a sequence in progress.
const CAN: char = '\u{18}';
const SUB: char = '\u{1a}';
const DEL: char = '\u{7f}';
/// The 8-bit String Terminator.
const ST: char = '\u{9c}';

/// Multi-line text, safe to print: no control character but `\n`, no escape
/// sequence, no bidi control. Borrows when nothing had to change.
pub fn display_text(text: &str) -> Cow<'_, str> {
    clean(text, Breaks::Keep)
}

/// [`display_text`] for a one-line context (a header, a table cell, an error
/// line): each run of line breaks becomes a single space.
pub fn display_line(text: &str) -> Cow<'_, str> {
    clean(text, Breaks::Space)
}

#[derive(Clone, Copy, PartialEq)]
enum Breaks {
    Keep,
    Space,
}

/// Unicode's explicit embeddings, overrides (U+202A–U+202E) and isolates
/// (U+2066–U+2069): they reorder the text that follows them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn is_kept(c: char, breaks: Breaks) -> bool {
    !(c.is_control() || is_bidi_control(c)) || (c == '\n' && breaks == Breaks::Keep)
}

fn clean(text: &str, breaks: Breaks) -> Cow<'_, str> {
    // Flow text is almost always clean; this scan is the whole cost then.
    let Some(first) = text.find(|c| !is_kept(c, breaks)) else {
        return Cow::Borrowed(text);
    };
    let mut out = Output {
        text: String::with_capacity(text.len()),
        breaks,
        after_break: false,
    };
    out.push_str(&text[..first]);
    let mut chars = text[first..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ESC => match chars.peek() {
                Some('[') => {
                    chars.next();
                    skip_sequence(&mut chars, &mut out, CSI_BODY, CSI_FINAL);
                }
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    chars.next();
                    skip_string(&mut chars);
                }
                _ => skip_sequence(&mut chars, &mut out, ESCAPE_BODY, ESCAPE_FINAL),
            },
            '\u{9b}' => skip_sequence(&mut chars, &mut out, CSI_BODY, CSI_FINAL),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            _ => out.push_outside_sequence(c),
        }
    }
    Cow::Owned(out.text)
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;
type CharRange = std::ops::RangeInclusive<char>;

/// A CSI's parameter and intermediate bytes, and its final byte.
const CSI_BODY: CharRange = ' '..='?';
const CSI_FINAL: CharRange = '@'..='~';
/// Any other escape's intermediate bytes, and its final byte.
const ESCAPE_BODY: CharRange = ' '..='/';
const ESCAPE_FINAL: CharRange = '0'..='~';

struct Output {
    text: String,
    breaks: Breaks,
    /// The last thing written was a line break turned into a space.
    after_break: bool,
}

impl Output {
    fn push_str(&mut self, clean: &str) {
        if !clean.is_empty() {
            self.text.push_str(clean);
            self.after_break = false;
        }
    }

    /// A character that is not part of any sequence.
    fn push_outside_sequence(&mut self, c: char) {
        match c {
            '\n' if self.breaks == Breaks::Space && !self.after_break => {
                self.text.push(' ');
                self.after_break = true;
            }
            '\n' if self.breaks == Breaks::Space => {}
            '\t' => self.push_str(TAB),
            c if is_kept(c, self.breaks) => {
                self.text.push(c);
                self.after_break = false;
            }
            _ => {}
        }
    }
}

/// After the introducer of a CSI or a short escape: its body, up to and
/// including the final byte.
fn skip_sequence(chars: &mut Chars<'_>, out: &mut Output, body: CharRange, finals: CharRange) {
    while let Some(&c) = chars.peek() {
        if finals.contains(&c) {
            chars.next();
            return;
        }
        if body.contains(&c) || c == DEL {
            chars.next();
        } else if c == CAN || c == SUB {
            chars.next();
            return;
        } else if c.is_ascii_control() && c != ESC {
            // A terminal performs a C0 control met inside a sequence (a line
            // feed still moves the cursor) and carries on with the sequence.
            chars.next();
            out.push_outside_sequence(c);
        } else {
            // ESC, a C1 control or text: the sequence is abandoned there and
            // `c` is handled as if none had started.
            return;
        }
    }
}

/// After an OSC, DCS, SOS, PM or APC introducer: up to BEL or ST. An ESC
/// ends the string too (a terminal abandons it there) and is handled from
/// the top, where `ESC \` goes as a short escape.
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(&c) = chars.peek() {
        if c == ESC {
            return;
        }
        chars.next();
        if c == BEL || c == ST {
            return;
        }
    }
}

/// Flow-supplied text as the host keeps it: without controls or escape
/// sequences (see `sanitize`), cut to `max` bytes (and a `…` when cut).
pub fn flow_text(text: String, max: usize) -> String {
    kept(text, max, display_text)
}

/// [`flow_text`] for one-line places (badges, labels, log lines).
pub fn flow_line(text: String, max: usize) -> String {
    kept(text, max, display_line)
}

/// Cut, cleaned, and cut again: the first cut bounds the cleaning's work,
/// the second what cleaning added (a tab becomes four spaces, so 64 tabs
/// cut at 64 bytes came out as 256; found by the `sanitize` fuzz target).
fn kept(text: String, max: usize, clean: fn(&str) -> Cow<'_, str>) -> String {
    let text = truncated(text, max);
    let text = match clean(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(clean) => clean,
    };
    truncated(text, max)
}

/// Cuts `text` to at most `max` bytes on a character boundary.
pub fn truncated(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_turned_into_spaces_stay_within_the_cut() {
        let tabs = "\t".repeat(64);
        let kept = flow_text(tabs.clone(), 64);
        assert!(kept.len() <= 64 + '…'.len_utf8(), "{} bytes", kept.len());
        assert!(kept.starts_with("    "));
        assert!(flow_line(tabs, 64).len() <= 64 + '…'.len_utf8());
    }

    #[test]
    fn flow_text_is_cut_on_a_character_boundary() {
        let text = "é".repeat(10);
        assert_eq!(truncated(text, 5), "éé…");
        assert_eq!(truncated("short".into(), 64), "short");
        assert_eq!(flow_line("a\u{1b}[31mb\nc".into(), 64), "ab c");
    }
    use proptest::prelude::*;

    fn has_forbidden(text: &str, breaks: Breaks) -> Option<char> {
        text.chars().find(|&c| {
            c == ESC
                || is_bidi_control(c)
                || (c.is_control() && !(c == '\n' && breaks == Breaks::Keep))
        })
    }

    #[test]
    fn text_around_an_osc_title_sequence_survives() {
        assert_eq!(display_text("evil\x1b]2;PWNED\x07 end"), "evil end");
        assert_eq!(display_text("evil\x1b]2;PWNED\x1b\\ end"), "evil end");
        assert_eq!(display_text("a\u{9d}0;t\u{9c}b"), "ab");
    }

    #[test]
    fn a_clipboard_write_is_removed_whole() {
        assert_eq!(display_line("x\x1b]52;c;cHduZWQ=\x07y"), "xy");
    }

    #[test]
    fn an_unterminated_string_swallows_the_rest_like_a_terminal() {
        assert_eq!(display_text("name\x1b]2;PWNED\nmore text"), "name");
        assert_eq!(display_text("name\u{90}q\u{9f}"), "name");
    }

    #[test]
    fn an_escape_inside_a_string_ends_it_and_starts_its_own_sequence() {
        assert_eq!(display_text("a\x1b]0;t\x1b[31mred"), "ared");
    }

    #[test]
    fn control_sequences_are_removed_whole() {
        assert_eq!(display_text("\x1b[31mred\x1b[0m plain"), "red plain");
        assert_eq!(display_text("a\x1b[?1049hb"), "ab");
        assert_eq!(display_text("a\x1b[38;2;255;0;0mb"), "ab");
        assert_eq!(display_text("a\u{9b}2Jb"), "ab");
        // A line feed inside a CSI is performed; the sequence still goes.
        assert_eq!(display_text("a\x1b[3\n1mb"), "a\nb");
        // CAN cancels the sequence; what follows is text again.
        assert_eq!(display_text("a\x1b[3\x181mb"), "a1mb");
    }

    #[test]
    fn device_control_and_private_strings_are_removed_whole() {
        for introducer in ["\x1bP", "\x1bX", "\x1b^", "\x1b_"] {
            let text = format!("a{introducer}1;2|payload\x1b\\b");
            assert_eq!(display_text(&text), "ab", "{text:?}");
        }
        for introducer in ['\u{90}', '\u{98}', '\u{9e}', '\u{9f}'] {
            let text = format!("a{introducer}payload\u{9c}b");
            assert_eq!(display_text(&text), "ab", "{text:?}");
        }
    }

    #[test]
    fn short_escapes_are_removed_whole() {
        assert_eq!(display_text("a\x1bcb"), "ab");
        assert_eq!(display_text("a\x1b(Bb"), "ab");
        assert_eq!(display_text("a\x1b7b\x1b8"), "ab");
        assert_eq!(display_text("a\x1b#8b"), "ab");
        assert_eq!(display_text("trailing\x1b"), "trailing");
        assert_eq!(display_text("a\x1b\x1b[1mb"), "ab");
    }

    #[test]
    fn controls_outside_sequences_are_removed_and_tabs_become_spaces() {
        assert_eq!(
            display_text("a\r\nb\rc\x07d\x7fe\u{85}f\u{9c}g"),
            "a\nbcdefg"
        );
        assert_eq!(display_text("k\tv"), "k    v");
        assert_eq!(display_text("\0"), "");
    }

    #[test]
    fn bidi_overrides_and_isolates_are_removed() {
        assert_eq!(display_line("safe\u{202e}exe.txt"), "safeexe.txt");
        assert_eq!(display_line("\u{2066}a\u{2069}\u{202a}b\u{202c}"), "ab");
    }

    #[test]
    fn display_line_turns_each_run_of_line_breaks_into_one_space() {
        assert_eq!(display_line("one\ntwo\r\n\r\nthree\n"), "one two three ");
        assert_eq!(display_line("a\n\x1b[0m\nb"), "a b");
        assert_eq!(display_text("one\ntwo\n"), "one\ntwo\n");
    }

    #[test]
    fn clean_text_is_borrowed_not_copied() {
        assert!(matches!(
            display_text("Lose quorum\n[bold]now[/]"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            display_line("Kill the leader ●"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(display_line("two\nlines"), Cow::Owned(_)));
    }

    /// Text built from the pieces escape sequences are made of, so the
    /// generator reaches the parser's corners rather than plain prose.
    fn hostile_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("\x1b".to_string()),
            Just("\x07".to_string()),
            Just("\x1b\\".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just(";".to_string()),
            Just("\n".to_string()),
            Just("\r".to_string()),
            Just("\t".to_string()),
            Just("\x18".to_string()),
            Just("\x7f".to_string()),
            "[0-9]{1,3}",
            "[PX^_c(#78]",
            "[\\x{80}-\\x{9f}]",
            "[\\x{202a}-\\x{202e}\\x{2066}-\\x{2069}]",
            "[\\x00-\\x1f]",
            "[a-zA-Z ]{1,6}",
            "[é●世]",
        ];
        prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    /// A complete, terminated sequence of one of the families.
    fn sequence() -> impl Strategy<Value = String> {
        let terminator = prop_oneof![Just("\x07"), Just("\x1b\\"), Just("\u{9c}")];
        prop_oneof![
            ("[\x30-\x3f]{0,6}", "[\x20-\x2f]{0,2}", "[\x40-\x7e]")
                .prop_map(|(p, i, f)| format!("\x1b[{p}{i}{f}")),
            ("[\x30-\x3f]{0,6}", "[\x40-\x7e]").prop_map(|(p, f)| format!("\u{9b}{p}{f}")),
            (
                "(\x1b[\\]PX^_]|[\u{90}\u{98}\u{9d}\u{9e}\u{9f}])",
                "[ -~é●]{0,12}",
                terminator
            )
                .prop_map(|(start, body, end)| format!("{start}{body}{end}")),
            ("[\x20-\x2f]{0,2}", "[\x30-\x7e]")
                .prop_filter("a CSI or string introducer", |(i, f)| !i.is_empty()
                    || !"[]PX^_".contains(f.as_str()))
                .prop_map(|(i, f)| format!("\x1b{i}{f}")),
        ]
    }

    /// Printable text: nothing the sanitiser may touch.
    const PRINTABLE: &str = "[^\\p{Cc}\\x{202a}-\\x{202e}\\x{2066}-\\x{2069}]{0,40}";

    proptest! {
        #[test]
        fn no_control_escape_or_bidi_char_survives(
            text in prop_oneof![hostile_text(), any::<String>()]
        ) {
            let multi = display_text(&text);
            prop_assert_eq!(has_forbidden(&multi, Breaks::Keep), None, "{:?} -> {:?}", text, multi);
            let line = display_line(&text);
            prop_assert_eq!(has_forbidden(&line, Breaks::Space), None, "{:?} -> {:?}", text, line);
            // What comes out is clean, so a second pass changes nothing.
            prop_assert_eq!(display_text(&multi), multi.as_ref());
            prop_assert_eq!(display_line(&line), line.as_ref());
        }

        #[test]
        fn printable_text_passes_unchanged(text in PRINTABLE, second in PRINTABLE) {
            prop_assert!(matches!(display_line(&text), Cow::Borrowed(t) if t == text));
            let lines = format!("{text}\n{second}");
            prop_assert!(matches!(display_text(&lines), Cow::Borrowed(t) if t == lines));
        }

        #[test]
        fn a_whole_sequence_goes_and_the_text_around_it_stays(
            before in PRINTABLE, seq in sequence(), after in PRINTABLE
        ) {
            let text = format!("{before}{seq}{after}");
            prop_assert_eq!(display_text(&text), format!("{before}{after}"), "{:?}", text);
        }
    }
}
