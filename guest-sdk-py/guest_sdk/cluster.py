"""The containers of the presenter's Compose project. Faults need a grant
in `describe` (`FlowInfo.grant_faults`); anything else raises
`ClusterError("not-permitted")` before reaching Docker.

Network faults: `partition` cuts a container off from everyone, `isolate`
only from some services, `heal` undoes both; `shape` delays, drops or
throttles what a container sends (a `ShapeSpec`), `unshape` undoes it.

Every function takes a `Target` (`Target.service("etcd1")`,
`Target.pattern("etcd*")`, `Target.id(…)`) or a `Node` (its container).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, List, Union

from . import _wit
from .errors import ClusterError
from .types import Health, Node, NodeState, Target

__all__ = [
    "list_nodes",
    "kill",
    "stop",
    "start",
    "restart",
    "pause",
    "unpause",
    "wait_for",
    "partition",
    "heal",
    "isolate",
    "shape",
    "unshape",
    "undo_after",
    "ShapeSpec",
    "Target",
    "Node",
    "NodeState",
    "Health",
    "ClusterError",
]

TargetLike = Union[Target, Node]


def _target(target: TargetLike) -> Target:
    if isinstance(target, Node):
        return target.target()
    if isinstance(target, Target):
        return target
    raise TypeError(
        f"a cluster target is a Target (Target.service('etcd1'), …) or a Node, not {type(target).__name__}"
    )


def list_nodes() -> List[Node]:
    """Every container of the project, in every state, sorted by service
    then name."""
    return _wit.cluster_list_nodes()


def kill(target: TargetLike, signal: str = "SIGKILL") -> Node:
    """Sends `signal` to a running container: `"SIGKILL"`, `"SIGTERM"`,
    `"SIGINT"`, `"SIGQUIT"`, `"SIGHUP"` or `"SIGABRT"`. The host records the
    fault and starts the container again when the demo ends, if the flow has
    not. To freeze a container use `pause`."""
    return _wit.cluster_act("kill", _target(target), signal)


def stop(target: TargetLike, grace_seconds: int = 10) -> Node:
    """Stops a container: SIGTERM, then SIGKILL after `grace_seconds`."""
    return _wit.cluster_act("stop", _target(target), max(0, min(_wit.U32_MAX, int(grace_seconds))))


def start(target: TargetLike) -> Node:
    """Starts a stopped container (undoes `kill` and `stop`)."""
    return _wit.cluster_act("start", _target(target))


def restart(target: TargetLike) -> Node:
    """Restarts a container."""
    return _wit.cluster_act("restart", _target(target))


def pause(target: TargetLike) -> Node:
    """Freezes every process of a running container."""
    return _wit.cluster_act("pause", _target(target))


def unpause(target: TargetLike) -> Node:
    """Undoes `pause`."""
    return _wit.cluster_act("unpause", _target(target))


def wait_for(node: Union[str, Node], state: NodeState, timeout: float) -> Node:
    """Waits up to `timeout` seconds until Docker reports the container (a
    `Node`, or an id or name) in `state`, and returns it. Raises
    `ClusterError("timeout")` or `Interrupted`."""
    id_ = node.id if isinstance(node, Node) else node
    return _wit.cluster_wait_for(id_, state, _wit.ms(timeout))


def partition(target: TargetLike) -> Node:
    """Cuts a running container off from the rest of the project (needs
    `FaultAction.NETWORK`). The host heals it when the demo ends."""
    return _wit.cluster_act("partition", _target(target))


def heal(target: TargetLike) -> Node:
    """Undoes `partition` and `isolate`."""
    return _wit.cluster_act("heal", _target(target))


def isolate(target: TargetLike, from_services: Iterable[str]) -> Node:
    """A partial partition (needs `FaultAction.NETWORK`; each of
    `from_services` must match the grant's `peers`): traffic between the
    target and those services' containers is dropped both ways, while the
    target still reaches every other container. `heal` undoes it."""
    return _wit.cluster_isolate(_target(target), [str(s) for s in from_services])


def shape(target: TargetLike, spec: "ShapeSpec") -> Node:
    """Shapes the traffic leaving a running container (needs
    `FaultAction.SHAPE`; services in `spec.towards` must match the grant's
    `peers`). One shape per container at a time: `unshape` first to change
    it. Raises `ClusterError("invalid")` for a spec out of range and
    `ClusterError("unsupported")` for one this kernel cannot apply, both
    before anything is changed."""
    return _wit.cluster_shape(_target(target), spec)


def unshape(target: TargetLike) -> Node:
    """Undoes `shape`."""
    return _wit.cluster_act("unshape", _target(target))


def undo_after(target: TargetLike, seconds: float) -> List[Node]:
    """Undoes every fault now outstanding on the containers `target`
    matches once `seconds` have passed, whatever the flow is doing then."""
    return _wit.cluster_undo_after(_target(target), _wit.ms(seconds))


@dataclass
class ShapeSpec:
    """Network conditions for `shape`, as Linux's netem names them; a field
    left at zero shapes nothing. Every part applies to packets *leaving* the
    target:

        ShapeSpec(delay_ms=200, jitter_ms=20, loss_pct=5, towards=["etcd2"])

    The host checks the ranges and refuses a spec out of range (`invalid`)
    before changing anything. Duplication, corruption and reordering need
    the Docker host's `sch_netem` (else `unsupported`)."""

    #: Added delay per packet, 0–60 000 ms.
    delay_ms: int = 0
    #: ± this many ms of random variation (at most `delay_ms`).
    jitter_ms: int = 0
    #: How much each packet's jitter follows the previous one's, 0–100 %.
    correlation_pct: float = 0.0
    #: Packets dropped at random, 0–100 %.
    loss_pct: float = 0.0
    #: Packets sent twice, 0–100 % (netem).
    duplicate_pct: float = 0.0
    #: Packets with a flipped bit, 0–100 % (netem).
    corrupt_pct: float = 0.0
    #: Packets sent ahead of the delayed ones, 0–100 %; needs a delay (netem).
    reorder_pct: float = 0.0
    #: Bandwidth cap in kbit/s (0: none; otherwise 8–10 000 000).
    rate_kbit: int = 0
    #: Only traffic towards these services (exact names); empty: all.
    towards: List[str] = field(default_factory=list)

    def describe(self) -> str:
        """A short description for the audience, e.g. `200 ms delay, 5% loss`
        (`nothing` when nothing is shaped)."""
        parts = []
        if self.delay_ms > 0:
            if self.jitter_ms > 0:
                parts.append(f"{self.delay_ms} ms ± {self.jitter_ms} ms delay")
            else:
                parts.append(f"{self.delay_ms} ms delay")
        for pct, what in (
            (self.loss_pct, "loss"),
            (self.duplicate_pct, "duplication"),
            (self.corrupt_pct, "corruption"),
            (self.reorder_pct, "reordering"),
        ):
            if pct > 0:
                parts.append(f"{pct:g}% {what}")
        if self.rate_kbit > 0:
            parts.append(f"{self.rate_kbit} kbit/s cap")
        text = ", ".join(parts) or "nothing"
        if self.towards:
            text += " towards " + ", ".join(self.towards)
        return text
