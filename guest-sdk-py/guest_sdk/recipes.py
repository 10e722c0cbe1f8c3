"""The fault and recovery steps every flow repeats, each with the narration
the audience expects: count down or cancel (`count_down_to_fault`), kill
(`count_down_then_kill`) and start again (`start_and_wait_running`), and a
fault that lasts as long as a block of the chapter (`scoped_fault`).
`workload.measure_baseline` is the whole "Workload baseline" chapter. The
same as the Rust SDK's `recipes`."""

from __future__ import annotations

from typing import Any, Callable, Optional

from . import cluster, log, narration, timing
from .errors import ClusterError, Failed, Interrupted
from .markup import dim, green, red
from .types import Node, NodeState

#: How long Docker gets to report a killed container exited (seconds).
EXIT_TIMEOUT = 10.0


def count_down_to_fault(seconds: int, label: str) -> None:
    """Counts down `seconds` under `label` before a fault. A cancelled
    countdown narrates "Fault cancelled." and raises `Interrupted`, so
    nothing after it runs and no fault follows."""
    try:
        timing.count_down(seconds, label)
    except Interrupted:
        narration.append("Fault cancelled.")
        raise


def count_down_then_kill(target: cluster.TargetLike, signal: str, seconds: int, label: str) -> Node:
    """Counts down `seconds` under `label`, sends `signal` to `target` and
    waits until Docker reports the container exited, narrating each step:
    "Killed SERVICE.", then "Docker reports SERVICE exited." Returns the
    killed node; keep it to start it again later.

    A cancelled countdown narrates "Fault cancelled." and raises
    `Interrupted`: nothing was killed. When Docker has not reported the exit
    in time the node is still returned (the signal was sent, so the fault is
    in place and must be undone) after narrating why."""
    count_down_to_fault(seconds, label)
    victim = cluster.kill(target, signal)
    narration.append("Killed " + red(victim.service) + ".")
    try:
        exited = cluster.wait_for(victim.id, NodeState.EXITED, EXIT_TIMEOUT)
    except ClusterError as e:
        narration.append(f"Docker has not reported the exit yet: {e.message}")
        return victim
    narration.append(f"Docker reports {exited.service} " + red("exited") + ".")
    return exited


def start_and_wait_running(target: cluster.TargetLike, timeout: float) -> Node:
    """Starts a stopped or killed container, waits up to `timeout` seconds
    until Docker reports it running, and narrates "SERVICE is running
    again." Returns the running node."""
    started = cluster.start(target)
    running = cluster.wait_for(started.id, NodeState.RUNNING, timeout)
    narration.append(f"{running.service} is " + green("running") + " again.")
    return running


def safety_net(node: Node, after: float) -> None:
    """Asks the host to undo every fault on `node` after `after` seconds,
    whatever the flow is doing then (should the chapter be skipped
    mid-fault), and narrates it, dimmed. A refusal is narrated, not raised:
    the host still undoes every fault when the show ends. Only an
    interruption propagates."""
    try:
        cluster.undo_after(node, after)
    except ClusterError as e:
        narration.append(dim(f"(No safety net: {e.message}. The host still undoes it when the show ends.)"))
        return
    narration.append(dim(f"(Safety net: the host undoes it in {after:g} s whatever happens.)"))


class scoped_fault:  # noqa: N801 - used as `with recipes.scoped_fault(…)`, like contextlib's
    """A fault that lasts as long as a `with` block:

        with recipes.scoped_fault(lambda: cluster.shape(leader, spec), 60, undo) as slowed:
            p99 = measure()

    `apply()` makes the fault (and narrates it) and returns the faulted
    node; `safety_net` asks the host to undo it after `safety` seconds
    should the chapter be cut short; the block runs; `undo(node)` undoes it
    (and narrates that) whatever the block did, an exception or an
    interruption included. When `undo` fails, that failure is raised
    instead (the fault is still in place; the host undoes it when the show
    ends), and the block's failure goes to the log. The Rust SDK's
    `recipes::scoped_fault`."""

    def __init__(self, apply: Callable[[], Node], safety: float, undo: Callable[[Node], Any]) -> None:
        self._apply = apply
        self._safety = safety
        self._undo = undo
        self.node: Optional[Node] = None

    def __enter__(self) -> Node:
        self.node = self._apply()
        try:
            safety_net(self.node, self._safety)
        except BaseException as e:
            self.__exit__(type(e), e, e.__traceback__)
            raise
        return self.node

    def __exit__(self, kind: Any, error: Optional[BaseException], tb: Any) -> bool:
        node = self.node
        assert node is not None
        try:
            self._undo(node)
        except Interrupted:
            raise
        except Failed as failed:
            if isinstance(error, Failed):
                log.warn(f"before the undo failed: {error.message}")
            raise Failed(
                f"could not undo the fault on {node.service} (the host undoes it when the show ends): "
                f"{failed.message}"
            ) from failed
        return False
