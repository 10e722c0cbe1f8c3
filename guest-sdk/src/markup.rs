//! Narration markup, built safely: a [`Markup`] is plain text (escaped) and
//! styled spans, so inserting an error text or a node name can never change
//! the markup around it.
//!
//! ```
//! use guest_sdk::markup::{self, Markup, bold, red};
//! let node = "etcd[1]";
//! let line = bold(node) + " was killed: " + red("exit 137") + ".";
//! assert_eq!(line.as_str(), "[bold]etcd[[1][/] was killed: [red]exit 137[/].");
//! // A plain `String` is plain text, whatever it holds:
//! assert_eq!(Markup::from("[red]x[/]").as_str(), "[[red]x[[/]");
//! // Markup written by the flow's author, as is, only by name:
//! assert_eq!(Markup::raw("[green]Quorum restored.[/]").as_str(), "[green]Quorum restored.[/]");
//! ```
//!
//! [`markup!`](crate::markup!) and [`say!`](crate::say!) build the same
//! from a format string: the string and every value formatted into it are
//! plain text, and only `Markup` arguments (spans) style anything:
//!
//! ```
//! use guest_sdk::markup::{bold, red};
//! use guest_sdk::markup;
//! let (node, secs, why) = ("etcd1", 1.25, "[red]refused[/]");
//! let line = markup!("{} was elected {secs:.1} s later [{}] ({why}).", bold(node), red("!"));
//! assert_eq!(
//!     line.as_str(),
//!     "[bold]etcd1[/] was elected 1.2 s later [[[red]![/]] ([[red]refused[[/])."
//! );
//! ```
//!
//! The host's markup: `[bold]…[/]`, `[dim]…[/]`, `[red]…[/]`, `[green]…[/]`,
//! `[yellow]…[/]`, `[blue]…[/]`, `[cyan]…[/]`; tags nest; `[[` is a literal
//! `[`. `Markup` deliberately has no `Display`: `format!` would turn it into
//! a `String`, and a `String` is plain text, so the tags would be shown.
//! Join pieces with `+` (plain parts may come from `format!`).

use std::fmt;
use std::ops::{Add, AddAssign};

/// Narration: escaped plain text and styled spans. Anything that is
/// `Display` converts into it as plain text; only [`Markup::raw`] takes
/// markup as written.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Markup(String);

impl Markup {
    /// Nothing yet.
    pub fn new() -> Self {
        Markup(String::new())
    }

    /// `text` shown exactly as written.
    pub fn text(text: impl fmt::Display) -> Self {
        let text = text.to_string();
        if text.contains('[') {
            Markup(escape_str(&text))
        } else {
            Markup(text)
        }
    }

    /// Markup taken as written: tags in it style the text. Only for markup
    /// the flow's author wrote; never for text from a node, an error or a
    /// probe (use [`Markup::text`] or `+` for those).
    pub fn raw(markup: impl Into<String>) -> Self {
        Markup(markup.into())
    }

    /// The markup, as the host receives it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The markup, as the host receives it.
    pub fn into_string(self) -> String {
        self.0
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `piece` (plain text is escaped).
    pub fn push(&mut self, piece: impl Into<Markup>) {
        self.0.push_str(&piece.into().0);
    }

    /// `pieces` with `separator` between them.
    pub fn join<I, P>(pieces: I, separator: &str) -> Markup
    where
        I: IntoIterator<Item = P>,
        P: Into<Markup>,
    {
        let mut out = Markup::new();
        for (i, piece) in pieces.into_iter().enumerate() {
            if i > 0 {
                out.push(separator);
            }
            out.push(piece);
        }
        out
    }
}

impl fmt::Debug for Markup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Markup({:?})", self.0)
    }
}

/// Anything shown as text is plain text: escaped.
impl<T: fmt::Display> From<T> for Markup {
    fn from(text: T) -> Self {
        Markup::text(text)
    }
}

impl From<&Markup> for Markup {
    fn from(markup: &Markup) -> Self {
        markup.clone()
    }
}

impl<P: Into<Markup>> Add<P> for Markup {
    type Output = Markup;

    fn add(mut self, piece: P) -> Markup {
        self.push(piece);
        self
    }
}

impl<P: Into<Markup>> AddAssign<P> for Markup {
    fn add_assign(&mut self, piece: P) {
        self.push(piece);
    }
}

/// `"plain " + bold(x)`: the plain part escaped.
impl Add<Markup> for &str {
    type Output = Markup;

    fn add(self, markup: Markup) -> Markup {
        Markup::text(self) + markup
    }
}

/// `format!(…) + bold(x)`: the plain part escaped.
impl Add<Markup> for String {
    type Output = Markup;

    fn add(self, markup: Markup) -> Markup {
        Markup::text(self) + markup
    }
}

/// The output of [`markup!`](crate::markup!): what the format string and
/// plain arguments write arrives through `fmt::Write` and is escaped; a
/// `Markup` argument is appended as is, in its place.
#[doc(hidden)]
#[derive(Default)]
pub struct __Out(std::cell::RefCell<String>);

impl __Out {
    pub fn into_markup(self) -> Markup {
        Markup(self.0.into_inner())
    }
}

impl fmt::Write for &__Out {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut out = self.0.borrow_mut();
        for c in text.chars() {
            out.push(c);
            if c == '[' {
                out.push('[');
            }
        }
        Ok(())
    }
}

/// One argument of [`markup!`](crate::markup!), formatted in its place.
#[doc(hidden)]
pub struct __Arg<'a, T: ?Sized>(pub &'a T, pub &'a __Out);

/// How an argument of [`markup!`](crate::markup!) is written: anything
/// `Display` as plain text (with its width, precision, …), a `Markup` as is.
#[doc(hidden)]
pub trait __Piece {
    fn write(&self, out: &__Out, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<T: fmt::Display + ?Sized> __Piece for T {
    fn write(&self, _: &__Out, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl __Piece for Markup {
    fn write(&self, out: &__Out, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        out.0.borrow_mut().push_str(&self.0);
        Ok(())
    }
}

impl __Piece for &Markup {
    fn write(&self, out: &__Out, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (*self).write(out, f)
    }
}

impl<T: __Piece + ?Sized> fmt::Display for __Arg<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write(self.1, f)
    }
}

/// A [`Markup`](crate::markup::Markup) from a format string, as `format!`
/// takes it: the string and every value formatted into it (positional or
/// captured, `{secs:.1}`) are plain text, shown as written; a `Markup`
/// argument (`bold(x)`, `red(y)`, …) is inserted as is, so only the flow's
/// own spans style anything.
#[macro_export]
macro_rules! markup {
    ($format:literal $(, $arg:expr)* $(,)?) => {{
        let out = $crate::markup::__Out::default();
        // Writing into a String-backed buffer cannot fail.
        let _ = ::std::fmt::Write::write_fmt(
            &mut &out,
            ::std::format_args!($format $(, $crate::markup::__Arg(&$arg, &out))*),
        );
        out.into_markup()
    }};
}

/// Appends one line of narration built as [`markup!`](crate::markup!) builds
/// it: `say!("{} leads (term {term}).", bold(&leader))`.
#[macro_export]
macro_rules! say {
    ($($markup:tt)*) => {
        $crate::narration::append($crate::markup!($($markup)*))
    };
}

fn escape_str(text: &str) -> String {
    text.replace('[', "[[")
}

/// `text` as plain text (every `[` doubled), the same as [`Markup::text`].
pub fn escape(text: &str) -> Markup {
    Markup::text(text)
}

/// `inner` inside `[tag]…[/]`; `inner` is escaped unless it is a `Markup`
/// already (so spans nest: `bold(red(x))`).
fn tagged(tag: &str, inner: impl Into<Markup>) -> Markup {
    Markup(format!("[{tag}]{}[/]", inner.into().0))
}

/// `text` in bold.
pub fn bold(text: impl Into<Markup>) -> Markup {
    tagged("bold", text)
}

/// `text` dimmed.
pub fn dim(text: impl Into<Markup>) -> Markup {
    tagged("dim", text)
}

/// `text` in red.
pub fn red(text: impl Into<Markup>) -> Markup {
    tagged("red", text)
}

/// `text` in green.
pub fn green(text: impl Into<Markup>) -> Markup {
    tagged("green", text)
}

/// `text` in yellow.
pub fn yellow(text: impl Into<Markup>) -> Markup {
    tagged("yellow", text)
}

/// `text` in blue.
pub fn blue(text: impl Into<Markup>) -> Markup {
    tagged("blue", text)
}

/// `text` in cyan.
pub fn cyan(text: impl Into<Markup>) -> Markup {
    tagged("cyan", text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_escape_brackets_in_user_text() {
        assert_eq!(red("[x]").as_str(), "[red][[x][/]");
        assert_eq!(bold("ok").as_str(), "[bold]ok[/]");
        assert_eq!(bold(String::from("a[b")).as_str(), "[bold]a[[b[/]");
    }

    #[test]
    fn plain_text_of_any_kind_is_escaped_and_markup_is_kept() {
        let error = "refused: [red]boom[/]".to_string();
        let line = "Failed: " + red("no commit") + " (" + &error + ").";
        assert_eq!(
            line.as_str(),
            "Failed: [red]no commit[/] (refused: [[red]boom[[/]).",
            "the error text cannot open a tag"
        );
        let term: u64 = 7;
        assert_eq!(
            (bold("etcd1") + format!(" leads (term {term}).")).as_str(),
            "[bold]etcd1[/] leads (term 7)."
        );
        assert_eq!(Markup::from("a [b]").as_str(), "a [[b]");
        assert_eq!(escape("[").as_str(), "[[");
    }

    #[test]
    fn spans_nest_without_escaping_markup_twice() {
        assert_eq!(bold(red("x")).as_str(), "[bold][red]x[/][/]");
        let mut m = Markup::new();
        m += green("up");
        m += &Markup::raw(" [dim]…[/]");
        assert_eq!(m.as_str(), "[green]up[/] [dim]…[/]");
    }

    #[test]
    fn raw_markup_only_by_name() {
        assert_eq!(Markup::raw("[bold]x[/]").as_str(), "[bold]x[/]");
        assert_eq!(Markup::text("[bold]x[/]").as_str(), "[[bold]x[[/]");
    }

    #[test]
    fn the_format_macro_escapes_everything_but_markup_arguments() {
        let (old, secs, why) = ("etcd1", 2.345, String::from("[red]x[/]"));
        let leader = bold("etcd2");
        assert_eq!(
            crate::markup!(
                "{old} [{}] {secs:.1} s: {why} {:>5}|{}",
                &leader,
                42,
                red(why.as_str())
            )
            .as_str(),
            "etcd1 [[[bold]etcd2[/]] 2.3 s: [[red]x[[/]    42|[red][[red]x[[/][/]"
        );
        assert_eq!(crate::markup!("plain").as_str(), "plain");
        assert_eq!(
            crate::markup!("{}", Markup::raw("[dim]…[/]")).as_str(),
            "[dim]…[/]"
        );
    }

    #[test]
    fn join_puts_plain_separators_between_pieces() {
        let names = ["etcd1", "etc[d]2"];
        assert_eq!(
            Markup::join(names.iter().map(|n| bold(*n)), ", ").as_str(),
            "[bold]etcd1[/], [bold]etc[[d]2[/]"
        );
        assert!(Markup::join(Vec::<Markup>::new(), ", ").is_empty());
    }
}
