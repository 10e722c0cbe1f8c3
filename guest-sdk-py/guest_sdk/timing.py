"""Pacing. Every wait here ends early when the presenter quits or skips the
chapter. In an action use `pause`, `count_down` and `poll_until`: an
interruption raises `Interrupted`, which ends the chapter, so no fault
follows a cancelled countdown. `sleep` and `countdown` say the same with
`False`, for loops that decide for themselves.

Times are seconds, as Python's `time` module counts them (`pause(0.2)`).
`time.sleep` is not a wait the presenter can interrupt: use `pause`.
"""

from __future__ import annotations

import time
from typing import Callable, Optional, TypeVar

from . import _wit
from .errors import Interrupted

T = TypeVar("T")


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


def poll_until(timeout: float, interval: float, check: Callable[[], Optional[T]]) -> Optional[T]:
    """Calls `check` until it returns something other than `None`, every
    `interval` seconds, for at most `timeout` seconds: its value as soon as
    it has one, `None` when the time ran out (after one last look at the
    deadline). What `check` raises propagates; `Interrupted` when the
    presenter moved on during a wait.

        exited = timing.poll_until(10, 0.2, lambda: find_exited(cluster.list_nodes()))
    """
    started = time.monotonic()
    while True:
        value = check()
        if value is not None:
            return value
        spent = time.monotonic() - started
        if spent >= timeout:
            return None
        pause(min(interval, timeout - spent))
