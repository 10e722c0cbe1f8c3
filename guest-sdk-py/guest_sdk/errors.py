"""The errors of a chapter's action.

Every SDK call that can fail raises a `FlowError`:

- `Interrupted` when the presenter skipped the chapter or quit while the
  call waited (any API: timing, workload, cluster, probe). Let it
  propagate: the SDK ends the chapter quietly, nothing is shown, and no
  fault follows a cancelled countdown. It is never a `ClusterError`,
  `WorkloadError` or `ProbeError`, so `except ClusterError:` does not
  swallow it.
- `ClusterError`, `WorkloadError`, `ProbeError`: the API's other error
  cases, each with its WIT case name in `kind` (`"not-found"`,
  `"timeout"`, …) and the host's detail, if any, in `detail`. They are
  `Failed`, so an action that lets one out shows its `message` to the
  audience and the show goes on.
- `Failed("sentence")`: raise it yourself for a failure in the audience's
  words.

`context("no baseline")` prefixes what failed; `require(value, "no leader")`
turns a `None` into a `Failed`.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Optional, TypeVar

T = TypeVar("T")


class FlowError(Exception):
    """Why a chapter's action stopped before its end."""

    @property
    def message(self) -> str:
        """A sentence for the audience."""
        return str(self)


class Interrupted(FlowError):
    """The presenter skipped the chapter or quit while the action waited.
    The chapter ends quietly: nothing is shown and no fault follows."""

    def __init__(self) -> None:
        super().__init__("interrupted by the presenter")


class Failed(FlowError):
    """The action cannot complete; the sentence is shown to the audience and
    the show goes on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class _ApiError(Failed):
    #: The WIT case names of this API's errors (interrupted is `Interrupted`).
    KINDS: tuple = ()

    def __init__(self, kind: str, detail: Optional[str] = None) -> None:
        self.kind = kind
        self.detail = detail
        super().__init__(self._sentence())

    def _sentence(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.kind!r}, {self.detail!r})"


class ClusterError(_ApiError):
    """A `cluster` call failed. `kind` is one of `KINDS`; `detail` is the
    host's message (`None` for `timeout`)."""

    KINDS = (
        "not-found",
        "not-permitted",
        "docker-unavailable",
        "failed",
        "timeout",
        "invalid",
        "unsupported",
    )

    def _sentence(self) -> str:
        d = self.detail or ""
        return {
            "not-found": f"not found: {d}",
            "not-permitted": f"not permitted: {d}",
            "docker-unavailable": f"Docker is unavailable: {d}",
            "failed": f"Docker refused: {d}",
            "timeout": "timed out",
            "invalid": f"invalid request: {d}",
            "unsupported": f"not supported on this Docker host: {d}",
        }.get(self.kind, f"{self.kind}: {d}")


class WorkloadError(_ApiError):
    """A `workload` call failed: `kind` is `"not-permitted"` (the flow did
    not declare `reads_workload`) or `"timeout"`."""

    KINDS = ("not-permitted", "timeout")

    def _sentence(self) -> str:
        return {
            "not-permitted": "reading the workload was not granted (declare reads_workload)",
            "timeout": "timed out waiting for the workload",
        }.get(self.kind, self.kind)


class ProbeError(_ApiError):
    """A probe failed: `kind` is `"not-permitted"` (the URL is outside every
    declared prefix) or `"unreachable"` (refused, DNS, TLS, timeout)."""

    KINDS = ("not-permitted", "unreachable")

    def _sentence(self) -> str:
        d = self.detail or ""
        return {
            "not-permitted": f"probe not permitted: {d}",
            "unreachable": f"unreachable: {d}",
        }.get(self.kind, f"{self.kind}: {d}")


@contextlib.contextmanager
def context(what: str) -> Iterator[None]:
    """Says what failed, in the audience's words, on the way out:

        with context("the workload did not degrade"):
            workload.wait_for(Status.DEGRADED, 30)

    fails with "the workload did not degrade: timed out waiting for the
    workload". An interruption stays an interruption; other exceptions
    (bugs) pass unchanged."""
    try:
        yield
    except Interrupted:
        raise
    except Failed as failed:
        raise Failed(f"{what}: {failed.message}") from failed


def require(value: Optional[T], what: str) -> T:
    """`value`, or `Failed(what)` when it is `None`:

        leader = require(find_leader(), "etcd names no leader")
    """
    if value is None:
        raise Failed(what)
    return value
