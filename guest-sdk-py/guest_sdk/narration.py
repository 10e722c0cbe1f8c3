"""What the audience reads. Text is narration markup (see `guest_sdk.markup`)."""

from __future__ import annotations

from . import _wit
from .types import Level

__all__ = ["set", "append", "badge", "clear_badge", "Level"]


def set(markup: str) -> None:  # noqa: A001 - the WIT's name
    """Replaces the narration panel's text."""
    _wit.narration_set(markup)


def append(markup: str) -> None:
    """Adds one line under the narration."""
    _wit.narration_append(markup)


def badge(text: str, level: Level = Level.INFO) -> None:
    """Shows a short badge in the header; `clear_badge()` removes it."""
    _wit.narration_badge(text, level)


def clear_badge() -> None:
    """Removes the header badge."""
    _wit.narration_badge("", Level.INFO)
