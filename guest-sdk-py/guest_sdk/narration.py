"""What the audience reads: a `Markup` (see `guest_sdk.markup`). Plain text
of any kind (a `str`, an f-string, a number) is shown as written; styled
spans come from `markup.bold(…)` and friends, joined with `+`."""

from __future__ import annotations

from . import _wit
from .markup import format as _format
from .markup import of as _markup
from .types import Level

__all__ = ["set", "append", "say", "badge", "clear_badge", "Level"]


def set(text: object) -> None:  # noqa: A001 - the WIT's name
    """Replaces the narration panel's text (Markup, or plain text)."""
    _wit.narration_set(_markup(text).as_str())


def append(line: object) -> None:
    """Adds one line (Markup, or plain text) under the narration."""
    _wit.narration_append(_markup(line).as_str())


def say(template: str, *args: object, **kwargs: object) -> None:
    """Appends one line built as `markup.format` builds it:
    `say("{} leads (term {}).", bold(leader), term)`. The Rust SDK's `say!`."""
    append(_format(template, *args, **kwargs))


def badge(text: str, level: Level = Level.INFO) -> None:
    """Shows a short badge (plain text) in the header; `clear_badge()` removes it."""
    _wit.narration_badge(text, level)


def clear_badge() -> None:
    """Removes the header badge."""
    _wit.narration_badge("", Level.INFO)
