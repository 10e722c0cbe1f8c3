"""The live workload, as the host measures it from the load tool's output.
Needs `FlowInfo.reads_workload()`. Figures are only ever measured by the
host (Java YCSB or go-ycsb lines); a flow reads them and cannot set them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from . import _wit
from .errors import Failed, WorkloadError, context, require
from .markup import Markup, bold
from .types import OpStat, Sample, Status

__all__ = [
    "current",
    "baseline",
    "status",
    "history",
    "wait_for",
    "ops",
    "Baseline",
    "measure_baseline",
    "NewSamples",
    "Sample",
    "OpStat",
    "Status",
    "WorkloadError",
]


def current() -> Optional[Sample]:
    """The latest sample, if any."""
    return _wit.workload_current()


def baseline() -> Optional[float]:
    """The measured baseline (ops/sec), once measured."""
    return _wit.workload_baseline()


def status() -> Status:
    """The tracker's verdict: no data, warming up, normal or degraded."""
    return _wit.workload_status()


def history() -> List[float]:
    """Ops/sec of the recent window, oldest first."""
    return _wit.workload_history()


def wait_for(status: Status, timeout: float) -> Optional[Sample]:
    """Waits up to `timeout` seconds until the status is `status` (returns at
    once if it already is) and returns the latest sample (`None` when waiting
    for `NO_DATA`). Raises `WorkloadError("timeout")` when the time runs out,
    `Interrupted` when the presenter moves on."""
    return _wit.workload_wait_for(status, _wit.ms(timeout))


def ops(value: float) -> str:
    """A rate for the audience, e.g. `1234 ops/s`."""
    return f"{value:.0f} ops/s"


@dataclass(frozen=True)
class Baseline:
    """The figures a flow compares everything else against."""

    #: The tracker's baseline throughput.
    ops_per_sec: float
    #: The worst p99 latency (ms) of the sample at which the baseline was
    #: read, when the load tool reports percentiles.
    p99_ms: Optional[float] = None

    def describe(self) -> Markup:
        """One line of narration, e.g. `Baseline: 1234 ops/s, p99 8.0 ms`."""
        line = "Baseline: " + bold(ops(self.ops_per_sec))
        if self.p99_ms is not None:
            line += f", p99 {self.p99_ms:.1f} ms"
        return line

    def percent(self, value: float) -> float:
        """`value` as a percentage of the baseline (0 when the baseline is 0)."""
        return 100.0 * value / self.ops_per_sec if self.ops_per_sec > 0 else 0.0


def measure_baseline(timeout: float) -> Baseline:
    """The "Workload baseline" chapter every flow has: narrates that it is
    measuring, waits up to `timeout` seconds for the tracker to call the
    workload normal (the baseline is measured then), and narrates the
    figures. Raises `Interrupted` when the presenter moved on, `Failed` with
    a sentence when no baseline came in time."""
    from . import narration

    narration.append("Measuring…")
    with context("no baseline"):
        sample = wait_for(Status.NORMAL, timeout)
    ops_per_sec = require(baseline(), "no baseline: the tracker has not measured one")
    measured = Baseline(ops_per_sec, sample.worst_p99_ms() if sample else None)
    narration.append(measured.describe())
    return measured


class NewSamples:
    """A cursor over the host's workload samples: each `next()` returns a
    sample newer than the last one it returned, waiting for it if need be.
    No index arithmetic in the flow, and no sample is read twice. The Rust
    SDK's `workload::NewSamples`.

        samples = NewSamples.from_now()
        first = samples.next()    # received after `from_now`
        second = samples.next()   # after `first`
    """

    #: How long `next` waits for a new sample by default (seconds); the host
    #: receives one about every second.
    TIMEOUT = 10.0
    #: How often it looks for one (seconds).
    POLL = 0.25

    def __init__(self, seen: Optional[int] = None, timeout: float = TIMEOUT) -> None:
        #: `t_ms` of the last sample seen; `None`: any sample is new.
        self.seen = seen
        self._timeout = timeout

    @classmethod
    def from_now(cls) -> "NewSamples":
        """Samples received after the latest one the host has now."""
        return cls.after(current())

    @classmethod
    def after(cls, sample: Optional[Sample]) -> "NewSamples":
        """Samples received after `sample` (every sample when `None`)."""
        return cls(sample.t_ms if sample is not None else None)

    def timeout(self, seconds: float) -> "NewSamples":
        """Waits at most `seconds` for each new sample instead."""
        self._timeout = seconds
        return self

    def next(self) -> Sample:
        """The next new sample. Raises `Failed` when none came within the
        timeout, `Interrupted` when the presenter moved on."""
        from .timing import poll_until

        seen = self.seen

        def newer() -> Optional[Sample]:
            sample = current()
            return sample if sample is not None and (seen is None or sample.t_ms > seen) else None

        sample = poll_until(self._timeout, self.POLL, newer)
        if sample is None:
            raise Failed(f"the workload sent no sample for {self._timeout:g} s")
        self.seen = sample.t_ms
        return sample
