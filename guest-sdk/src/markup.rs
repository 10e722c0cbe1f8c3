//! Narration markup: `[bold]…[/]`, `[red]…[/]`, …; `[[` is a literal `[`.
//! These helpers escape their argument, so any text is safe to pass.

/// Escapes `[` so `text` is shown exactly as written.
pub fn escape(text: &str) -> String {
    text.replace('[', "[[")
}

fn tagged(tag: &str, text: &str) -> String {
    format!("[{tag}]{}[/]", escape(text))
}

pub fn bold(text: &str) -> String {
    tagged("bold", text)
}

pub fn dim(text: &str) -> String {
    tagged("dim", text)
}

pub fn red(text: &str) -> String {
    tagged("red", text)
}

pub fn green(text: &str) -> String {
    tagged("green", text)
}

pub fn yellow(text: &str) -> String {
    tagged("yellow", text)
}

pub fn blue(text: &str) -> String {
    tagged("blue", text)
}

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
