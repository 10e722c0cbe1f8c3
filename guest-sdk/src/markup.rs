//! Narration markup: `[bold]…[/]`, `[red]…[/]`, …; `[[` is a literal `[`.
//! These helpers escape their argument, so any text is safe to pass.

/// Escapes `[` so `text` is shown exactly as written.
pub fn escape(text: &str) -> String {
    text.replace('[', "[[")
}

fn tagged(tag: &str, text: &str) -> String {
    format!("[{tag}]{}[/]", escape(text))
}

/// `text` in bold, escaped.
pub fn bold(text: &str) -> String {
    tagged("bold", text)
}

/// `text` in dimmed, escaped.
pub fn dim(text: &str) -> String {
    tagged("dim", text)
}

/// `text` in red, escaped.
pub fn red(text: &str) -> String {
    tagged("red", text)
}

/// `text` in green, escaped.
pub fn green(text: &str) -> String {
    tagged("green", text)
}

/// `text` in yellow, escaped.
pub fn yellow(text: &str) -> String {
    tagged("yellow", text)
}

/// `text` in blue, escaped.
pub fn blue(text: &str) -> String {
    tagged("blue", text)
}

/// `text` in cyan, escaped.
pub fn cyan(text: &str) -> String {
    tagged("cyan", text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_escape_brackets_in_user_text() {
        assert_eq!(red("[x]"), "[red][[x][/]");
        assert_eq!(bold("ok"), "[bold]ok[/]");
    }
}
