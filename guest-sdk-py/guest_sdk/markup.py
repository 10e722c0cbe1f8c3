"""Narration markup: `[bold]…[/]`, `[dim]…[/]`, `[red]…[/]`, `[green]…[/]`,
`[yellow]…[/]`, `[blue]…[/]`, `[cyan]…[/]`; tags nest; `[[` is a literal
`[`. These helpers escape their argument, so any text is safe to pass."""

from __future__ import annotations

#: The tags the host's renderer knows (wit/v0.2.0/flow.wit, `narration`).
TAGS = ("bold", "dim", "red", "green", "yellow", "blue", "cyan")


def escape(text: object) -> str:
    """`text` shown exactly as written: every `[` doubled."""
    return str(text).replace("[", "[[")


def tagged(tag: str, text: object) -> str:
    """`text`, escaped, inside `[tag]…[/]`. `tag` must be one of `TAGS`."""
    if tag not in TAGS:
        raise ValueError(f"unknown markup tag {tag!r}; the host knows {', '.join(TAGS)}")
    return f"[{tag}]{escape(text)}[/]"


def bold(text: object) -> str:
    """`text` in bold, escaped."""
    return tagged("bold", text)


def dim(text: object) -> str:
    """`text` dimmed, escaped."""
    return tagged("dim", text)


def red(text: object) -> str:
    """`text` in red, escaped."""
    return tagged("red", text)


def green(text: object) -> str:
    """`text` in green, escaped."""
    return tagged("green", text)


def yellow(text: object) -> str:
    """`text` in yellow, escaped."""
    return tagged("yellow", text)


def blue(text: object) -> str:
    """`text` in blue, escaped."""
    return tagged("blue", text)


def cyan(text: object) -> str:
    """`text` in cyan, escaped."""
    return tagged("cyan", text)
