//! Narration markup (defined in `wit/v0.1.0/flow.wit`): `[bold]…[/]`, `[red]…[/]`, …;
//! `[[` is a literal `[`; unknown tags are shown as written.
//!
//! Markup comes from a flow, so both renderings sanitise it before parsing:
//! an escape sequence holds `[` and may hold a tag, and parsing first would
//! split it into runs whose pieces no longer read as one sequence.

use crate::sanitize;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

fn tag_style(tag: &str) -> Option<Style> {
    let style = Style::default();
    Some(match tag {
        "bold" => style.add_modifier(Modifier::BOLD),
        "dim" => style.add_modifier(Modifier::DIM),
        "red" => style.fg(Color::Red),
        "green" => style.fg(Color::Green),
        "yellow" => style.fg(Color::Yellow),
        "blue" => style.fg(Color::Blue),
        "cyan" => style.fg(Color::Cyan),
        _ => return None,
    })
}

/// Splits one line of markup into styled runs.
fn runs(markup: &str) -> Vec<(String, Style)> {
    let mut out: Vec<(String, Style)> = Vec::new();
    let mut stack = vec![Style::default()];
    let mut text = String::new();
    let mut rest = markup;
    let flush = |text: &mut String, out: &mut Vec<(String, Style)>, style: Style| {
        if !text.is_empty() {
            out.push((std::mem::take(text), style));
        }
    };
    while let Some(pos) = rest.find('[') {
        text.push_str(&rest[..pos]);
        rest = &rest[pos..];
        let current = *stack.last().unwrap_or(&Style::default());
        if let Some(after) = rest.strip_prefix("[[") {
            text.push('[');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("[/]") {
            flush(&mut text, &mut out, current);
            if stack.len() > 1 {
                stack.pop();
            }
            rest = after;
        } else if let Some((tag, after)) = rest[1..].split_once(']')
            && let Some(style) = tag_style(tag)
        {
            flush(&mut text, &mut out, current);
            stack.push(current.patch(style));
            rest = after;
        } else {
            text.push('[');
            rest = &rest[1..];
        }
    }
    text.push_str(rest);
    let current = *stack.last().unwrap_or(&Style::default());
    flush(&mut text, &mut out, current);
    out
}

/// One line of markup as a ratatui line.
pub fn to_line(markup: &str) -> Line<'static> {
    Line::from(
        runs(&sanitize::display_line(markup))
            .into_iter()
            .map(|(text, style)| Span::styled(text, style))
            .collect::<Vec<_>>(),
    )
}

/// The text without tags, for the transcript and logs.
pub fn plain(markup: &str) -> String {
    sanitize::display_text(markup)
        .lines()
        .map(|line| runs(line).into_iter().map(|(t, _)| t).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_style_and_nest() {
        let r = runs("a [bold]b [red]c[/] d[/] e");
        let texts: Vec<&str> = r.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(texts, ["a ", "b ", "c", " d", " e"]);
        assert!(r[2].1.add_modifier.contains(Modifier::BOLD));
        assert_eq!(r[2].1.fg, Some(Color::Red));
        assert_eq!(r[3].1.fg, None);
    }

    #[test]
    fn escapes_and_unknown_tags_are_shown_as_written() {
        assert_eq!(
            plain("[[x] [blink]y[/] [unclosed"),
            "[x] [blink]y [unclosed"
        );
        assert_eq!(plain("[/][/]z"), "z");
    }

    #[test]
    fn escape_sequences_in_markup_are_gone_and_tags_still_apply() {
        let line = to_line("[red]evil\x1b]2;PWNED\x07[/] \x1b[1mend");
        let texts: Vec<&str> = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(texts, ["evil", " end"]);
        assert_eq!(line.spans[0].style.fg, Some(Color::Red));
        assert_eq!(plain("a\u{9b}31m[bold]b[/]\r\nc"), "ab\nc");
    }
}
