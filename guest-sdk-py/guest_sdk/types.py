"""The API's values as the SDK hands them to a flow: plain dataclasses and
enums with the WIT's names (`NodeState.RUNNING` is `node-state.running`).
They do not depend on the generated bindings, so a flow's own code and tests
can use them in plain Python too."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, List, Optional

if TYPE_CHECKING:
    from .markup import Markup


class Level(Enum):
    """How prominent a badge is; the host picks the colour."""

    INFO = 0
    SUCCESS = 1
    WARNING = 2
    DANGER = 3


class FaultAction(Enum):
    """An action a flow may ask to perform on a service's containers."""

    KILL = 0
    STOP = 1
    RESTART = 2
    PAUSE = 3
    #: Network partitions: `partition`, `isolate` and `heal`.
    NETWORK = 4
    #: Traffic shaping: `shape` and `unshape`.
    SHAPE = 5


class NodeState(Enum):
    """Docker's state of a container."""

    CREATED = 0
    RUNNING = 1
    PAUSED = 2
    RESTARTING = 3
    REMOVING = 4
    EXITED = 5
    DEAD = 6

    def __str__(self) -> str:
        return self.name.lower()

    def styled(self) -> "Markup":
        """The state for the audience: green when running, red otherwise."""
        from .markup import green, red

        return green(self) if self is NodeState.RUNNING else red(self)


class Health(Enum):
    """Docker's health-check verdict, where the service defines one."""

    NONE = 0
    STARTING = 1
    HEALTHY = 2
    UNHEALTHY = 3

    def __str__(self) -> str:
        return self.name.lower()


class Status(Enum):
    """The workload tracker's verdict."""

    NO_DATA = 0
    WARMING_UP = 1
    NORMAL = 2
    DEGRADED = 3

    def __str__(self) -> str:
        return self.name.lower().replace("_", " ")


@dataclass(frozen=True)
class Target:
    """Which container an action is for. Build one with `Target.service`,
    `Target.pattern` or `Target.id`, or from a node: `node.target()`."""

    kind: str
    value: str

    @staticmethod
    def service(name: str) -> "Target":
        """The container of a Compose service, e.g. `"etcd1"`."""
        return Target("service", name)

    @staticmethod
    def pattern(glob: str) -> "Target":
        """A random applicable container of the services matching a glob,
        e.g. `"tikv*"` (service names only)."""
        return Target("pattern", glob)

    @staticmethod
    def id(id_or_name: str) -> "Target":
        """A container id (or a unique prefix of 6+ characters) or name."""
        return Target("id", id_or_name)


@dataclass
class Node:
    """One container of the project."""

    #: Compose service name (from the label, never parsed from the name).
    service: str
    #: Container name, as `docker ps` shows it.
    container: str
    #: Full container id.
    id: str
    state: NodeState
    health: Health

    def target(self) -> Target:
        """This node as a target for a later call."""
        return Target.id(self.id)


@dataclass
class OpStat:
    """One operation type's figures within a sample."""

    #: As the tool names it: `READ`, `UPDATE`, `INSERT`, …
    name: str
    count: int
    #: Mean latency in microseconds, when the tool reports it.
    avg_us: Optional[float] = None
    #: 99th percentile latency in microseconds, when the tool reports it.
    p99_us: Optional[float] = None


@dataclass
class Sample:
    """One report of the load tool, as the host received it."""

    #: When the host received it, in ms since the host started the flow.
    t_ms: int
    #: Current rate of successful operations.
    ops_per_sec: float
    #: Current rate of failed operations.
    failures_per_sec: float = 0.0
    ops: List[OpStat] = field(default_factory=list)

    def worst_p99_ms(self) -> Optional[float]:
        """The highest p99 latency among the sample's operations, in ms."""
        p99s = [op.p99_us for op in self.ops if op.p99_us is not None]
        return max(p99s) / 1000.0 if p99s else None


@dataclass
class Response:
    """What a probe's server answered."""

    status: int
    #: The body as text (lossy UTF-8), at most 1 MiB.
    body: str
