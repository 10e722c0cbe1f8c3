"""Latency figures from the host's workload samples, as the slow-leader
chapter compares them. Pure, so it is tested in plain Python. The same rules
as the Rust flow's `chapters-wasm/etcd/src/latency.rs`."""

from __future__ import annotations

from typing import Optional, Sequence

from guest_sdk import Sample

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
