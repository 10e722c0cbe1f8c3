"""Narration markup, built safely: a `Markup` is plain text (escaped) and
styled spans, so inserting an error text or a node name can never change the
markup around it. The same as the Rust SDK's `markup` module.

    line = bold(node) + f" was killed after {secs:.1} s: " + red(why) + "."
    line = markup.format("{} was killed after {:.1} s: {}.", bold(node), secs, red(why))

Plain text of any kind (a `str`, an f-string, a number, an error's message)
is shown exactly as written; only spans (`bold`, `dim`, `red`, `green`,
`yellow`, `blue`, `cyan`, which nest) style anything. Markup written as
markup, tags and all, is taken only by name: `Markup.raw("[green]Done.[/]")`.

A `Markup` refuses to be formatted into a `str` (`f"{bold(x)}"` raises
`TypeError`): the `str` would be plain text again and show the tags. Join
pieces with `+`, `Markup.join` or `format`.

The host's markup: `[bold]…[/]`, `[dim]…[/]`, `[red]…[/]`, `[green]…[/]`,
`[yellow]…[/]`, `[blue]…[/]`, `[cyan]…[/]`; tags nest; `[[` is a literal `[`.
"""

from __future__ import annotations

import string
from typing import Any, Iterable

#: The tags the host's renderer knows (wit/v0.2.0/flow.wit, `narration`).
TAGS = ("bold", "dim", "red", "green", "yellow", "blue", "cyan")

_NOT_TEXT = (
    "a Markup cannot be formatted into a str (the str would be plain text and show its tags): "
    "join it with +, Markup.join or markup.format"
)


def _escaped(text: str) -> str:
    return text.replace("[", "[[")


class Markup:
    """Narration: escaped plain text and styled spans. `Markup()` is empty;
    anything else becomes plain text through `Markup.text`, and markup as
    written only through `Markup.raw`."""

    __slots__ = ("_markup",)

    def __init__(self) -> None:
        self._markup = ""

    @classmethod
    def text(cls, text: object) -> "Markup":
        """`text` (any value, as `str()` writes it) shown exactly as written."""
        if isinstance(text, Markup):
            raise TypeError("Markup.text takes plain text; this is Markup already")
        return cls._of(_escaped(str(text)))

    @classmethod
    def raw(cls, markup: str) -> "Markup":
        """Markup taken as written: tags in it style the text. Only for
        markup the flow's author wrote; never for text from a node, an error
        or a probe (use `Markup.text` or `+` for those)."""
        return cls._of(str(markup))

    @classmethod
    def _of(cls, markup: str) -> "Markup":
        made = cls()
        made._markup = markup
        return made

    @classmethod
    def join(cls, pieces: Iterable[object], separator: str) -> "Markup":
        """`pieces` (Markup or plain text) with `separator` between them."""
        out = cls()
        for i, piece in enumerate(pieces):
            if i:
                out += separator
            out += piece
        return out

    def as_str(self) -> str:
        """The markup, as the host receives it."""
        return self._markup

    def __add__(self, other: object) -> "Markup":
        return Markup._of(self._markup + of(other)._markup)

    def __radd__(self, other: object) -> "Markup":
        return Markup._of(of(other)._markup + self._markup)

    def __bool__(self) -> bool:
        return bool(self._markup)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Markup) and other._markup == self._markup

    def __hash__(self) -> int:
        return hash(self._markup)

    def __repr__(self) -> str:
        return f"Markup({self._markup!r})"

    def __str__(self) -> str:
        raise TypeError(_NOT_TEXT)

    def __format__(self, spec: str) -> str:
        raise TypeError(_NOT_TEXT)


def of(piece: object) -> Markup:
    """`piece` as Markup: a Markup as is, anything else as plain text."""
    return piece if isinstance(piece, Markup) else Markup.text(piece)


def escape(text: object) -> Markup:
    """`text` as plain text (every `[` doubled): the same as `Markup.text`."""
    return Markup.text(text)


class _Formatter(string.Formatter):
    """`str.format`'s parsing, with every literal and plain value escaped
    and Markup arguments inserted as is."""

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> Markup:  # type: ignore[override]
        out = Markup()
        auto = 0
        for literal, field, spec, conversion in self.parse(format_string):
            out += literal
            if field is None:
                continue
            if field == "":
                field, auto = str(auto), auto + 1
            value, _ = self.get_field(field, args, kwargs)
            if isinstance(value, Markup):
                out += value
            else:
                value = self.convert_field(value, conversion)
                out += self.format_field(value, self.vformat(spec or "", args, kwargs).as_str())
        return out


def format(template: str, *args: object, **kwargs: object) -> Markup:  # noqa: A001 - str.format's name
    """A Markup from a `str.format` template: the template and every value
    formatted into it are plain text, shown as written; a Markup argument
    (`bold(x)`, `red(y)`, …) is inserted as is, so only the flow's own spans
    style anything. The Rust SDK's `markup!`."""
    return _Formatter().vformat(template, args, kwargs)


def tagged(tag: str, text: object) -> Markup:
    """`text` inside `[tag]…[/]`: escaped unless it is Markup already (so
    spans nest). `tag` must be one of `TAGS`."""
    if tag not in TAGS:
        raise ValueError(f"unknown markup tag {tag!r}; the host knows {', '.join(TAGS)}")
    return Markup._of(f"[{tag}]{of(text)._markup}[/]")


def bold(text: object) -> Markup:
    """`text` in bold."""
    return tagged("bold", text)


def dim(text: object) -> Markup:
    """`text` dimmed."""
    return tagged("dim", text)


def red(text: object) -> Markup:
    """`text` in red."""
    return tagged("red", text)


def green(text: object) -> Markup:
    """`text` in green."""
    return tagged("green", text)


def yellow(text: object) -> Markup:
    """`text` in yellow."""
    return tagged("yellow", text)


def blue(text: object) -> Markup:
    """`text` in blue."""
    return tagged("blue", text)


def cyan(text: object) -> Markup:
    """`text` in cyan."""
    return tagged("cyan", text)
