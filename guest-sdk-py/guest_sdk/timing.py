"""Pacing. Every wait here ends early when the presenter quits or skips the
chapter. In an action use `pause` and `count_down`: an interruption raises
`Interrupted`, which ends the chapter, so no fault follows a cancelled
countdown. `sleep` and `countdown` say the same with `False`, for loops that
decide for themselves.

Times are seconds, as Python's `time` module counts them (`pause(0.2)`).
`time.sleep` is not a wait the presenter can interrupt: use `pause`.
"""

from __future__ import annotations

from . import _wit
from .errors import Interrupted


def pause(seconds: float) -> None:
    """Waits `seconds`; raises `Interrupted` if the presenter moved on first."""
    if not sleep(seconds):
        raise Interrupted()


def count_down(seconds: int, label: str) -> None:
    """Shows `label` with a large countdown from `seconds` to 1; raises
    `Interrupted` if the presenter moved on first."""
    if not countdown(seconds, label):
        raise Interrupted()


def sleep(seconds: float) -> bool:
    """Waits `seconds`; `False` if interrupted."""
    return _wit.timing_sleep(_wit.ms(seconds))


def countdown(seconds: int, label: str) -> bool:
    """Shows `label` with a large countdown from `seconds` to 1; `False` if
    interrupted."""
    return _wit.timing_countdown(max(0, min(_wit.U32_MAX, int(seconds))), label)
