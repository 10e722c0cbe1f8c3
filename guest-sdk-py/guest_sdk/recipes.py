"""The fault and recovery steps every flow repeats, each with the narration
the audience expects. `workload.measure_baseline` is the third: the whole
"Workload baseline" chapter."""

from __future__ import annotations

from . import cluster, markup, narration, timing
from .errors import ClusterError, Interrupted
from .types import Node, NodeState

#: How long Docker gets to report a killed container exited (seconds).
EXIT_TIMEOUT = 10.0


def count_down_then_kill(target: cluster.TargetLike, signal: str, seconds: int, label: str) -> Node:
    """Counts down `seconds` under `label`, sends `signal` to `target` and
    waits until Docker reports the container exited, narrating each step:
    "Killed SERVICE.", then "Docker reports SERVICE exited." Returns the
    killed node; keep it to start it again later.

    A cancelled countdown narrates "Fault cancelled." and raises
    `Interrupted`: nothing was killed. When Docker has not reported the exit
    in time the node is still returned (the signal was sent, so the fault is
    in place and must be undone) after narrating why."""
    try:
        timing.count_down(seconds, label)
    except Interrupted:
        narration.append("Fault cancelled.")
        raise
    victim = cluster.kill(target, signal)
    narration.append(f"Killed {markup.red(victim.service)}.")
    try:
        exited = cluster.wait_for(victim.id, NodeState.EXITED, EXIT_TIMEOUT)
    except ClusterError as e:
        narration.append(f"Docker has not reported the exit yet: {markup.escape(e.message)}")
        return victim
    narration.append(f"Docker reports {markup.escape(exited.service)} {markup.red('exited')}.")
    return exited


def start_and_wait_running(target: cluster.TargetLike, timeout: float) -> Node:
    """Starts a stopped or killed container, waits up to `timeout` seconds
    until Docker reports it running, and narrates "SERVICE is running
    again." Returns the running node."""
    started = cluster.start(target)
    running = cluster.wait_for(started.id, NodeState.RUNNING, timeout)
    narration.append(f"{markup.escape(running.service)} is {markup.green('running')} again.")
    return running
