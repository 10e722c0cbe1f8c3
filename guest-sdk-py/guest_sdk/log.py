"""Messages for the flow's author, written to the host's log file (never to
the audience's screen). `print` goes there too."""

from __future__ import annotations

from . import _wit


def trace(message: str) -> None:
    """Fine detail."""
    _wit.log("trace", message)


def debug(message: str) -> None:
    """Detail for debugging the flow."""
    _wit.log("debug", message)


def info(message: str) -> None:
    """Something worth knowing when reading the log after a show."""
    _wit.log("info", message)


def warn(message: str) -> None:
    """Something went wrong but the flow carries on."""
    _wit.log("warn", message)


def error(message: str) -> None:
    """Something failed."""
    _wit.log("error", message)
