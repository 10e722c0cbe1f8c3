"""Latency figures from the host's workload samples, as the slow-leader
chapter compares them. The rules are pure, so they are tested in plain
Python; the two readers at the end take them to the host's samples. The same
as the Rust flow's `chapters-wasm/etcd/src/latency.rs`."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from guest_sdk import Failed, NewSamples, Sample, timing

#: One-second samples whose median p99 is compared, before and during.
P99_SAMPLES = 3
#: Samples without a successful operation tolerated while collecting them.
P99_SKIPS = 5
#: How long p99 gets to come back near its earlier value after `unshape`.
P99_RECOVERY_TIMEOUT = 30
#: Consecutive samples near the earlier p99 that count as "back".
P99_BACK_SAMPLES = 2

#: A p99 at most this many times the earlier one counts as "near" it…
NEAR_FACTOR = 1.5
#: …and so does one at most this many ms above it (for a small baseline p99).
NEAR_SLACK_MS = 25.0


def ok_p99_ms(sample: Sample) -> Optional[float]:
    """The highest p99 (ms) among the sample's successful operations: the
    load tool reports failed operations apart (`UPDATE-FAILED`), and their
    latency is the client's timeout, not etcd's."""
    p99s = [
        op.p99_us
        for op in sample.ops
        if op.count > 0 and not op.name.upper().endswith("-FAILED") and op.p99_us is not None
    ]
    return max(p99s) / 1000.0 if p99s else None


def median(figures: Sequence[float]) -> Optional[float]:
    """The median (the mean of the middle two for an even count)."""
    s = sorted(figures)
    n = len(s)
    if n == 0:
        return None
    if n % 2 == 1:
        return s[n // 2]
    return (s[n // 2 - 1] + s[n // 2]) / 2.0


def near(before_ms: float, now_ms: float) -> bool:
    """Whether `now_ms` is near `before_ms`: within 50 % of it, or 25 ms."""
    return now_ms <= max(before_ms * NEAR_FACTOR, before_ms + NEAR_SLACK_MS)


def list_ms(figures: Sequence[float]) -> str:
    """The figures for narration, e.g. `11.8, 12.3, 14.0 ms`."""
    return ", ".join(f"{f:.1f}" for f in figures) + " ms"


def median_p99(samples: NewSamples) -> Tuple[float, List[float]]:
    """The median p99 (ms) of the successful writes of the next
    `P99_SAMPLES` new samples that have some, and those figures."""
    figures: List[float] = []
    skipped = 0
    while len(figures) < P99_SAMPLES:
        p99 = ok_p99_ms(samples.next())
        if p99 is not None:
            figures.append(p99)
        elif skipped < P99_SKIPS:
            skipped += 1
        else:
            raise Failed(f"{P99_SKIPS + 1} workload samples without a p99 of successful operations")
    return median(figures), figures


def wait_p99_back(before_ms: float, samples: NewSamples) -> float:
    """Waits until `P99_BACK_SAMPLES` new samples in a row have a p99 near
    `before_ms`; returns the last one. Fails after `P99_RECOVERY_TIMEOUT`
    with the last figure seen."""
    streak, last = 0, None

    def back() -> Optional[float]:
        nonlocal streak, last
        p99 = ok_p99_ms(samples.next())
        streak = streak + 1 if p99 is not None and near(before_ms, p99) else 0
        last = p99 if p99 is not None else last
        return p99 if streak >= P99_BACK_SAMPLES else None

    # No pause between looks: each waits for the next sample.
    after = timing.poll_until(P99_RECOVERY_TIMEOUT, 0, back)
    if after is None:
        last_text = "none" if last is None else f"{last:.1f} ms"
        raise Failed(
            f"p99 did not come back near {before_ms:.1f} ms within {P99_RECOVERY_TIMEOUT} s (last: {last_text})"
        )
    return after
