"""guest_sdk: write a demo flow in Python.

A flow is the chapter logic of a live chaos-engineering demo. This package
is the `demo:flow` API (wit/v0.2.0/flow.wit) for Python, with the same
shape as the Rust guest-sdk: a `Flow` class whose `describe` lists the
chapters, each with its action, and the capabilities the flow needs.

    from guest_sdk import *

    class Demo(Flow):
        def __init__(self):
            self.victim = None          # state kept from chapter to chapter

        def describe(self):
            return (
                FlowInfo("demo", "0.1.0")
                .chapter(Chapter("Intro").narration("Three nodes under load."))
                .chapter(Chapter("Kill a node").blocks_advance().action(self.kill_a_node))
                .chapter(Chapter("Recovery").action(self.recover))
                .grant_faults("db*", [FaultAction.KILL])
                .reads_workload()
                .memory_mib(48)
            )

        def kill_a_node(self):
            self.victim = recipes.count_down_then_kill(
                Target.pattern("db*"), "SIGKILL", 3, "Injecting fault in")

        def recover(self):
            if self.victim:
                recipes.start_and_wait_running(self.victim, 30)
                self.victim = None

    export_flow(Demo)

Build it with `guest-sdk-py/build.sh APP_DIR OUT.wasm`; guest-sdk/README.md
("Flows in Python") walks through every piece.
"""

from __future__ import annotations

from . import cluster, log, markup, narration, probe, recipes, timing, workload
from ._runtime import export as _export
from .cluster import ShapeSpec
from .errors import (
    ClusterError,
    Failed,
    FlowError,
    Interrupted,
    ProbeError,
    WorkloadError,
    context,
    require,
)
from .info import Action, Chapter, FlowInfo
from .markup import Markup, bold, dim, green, red, yellow
from .narration import say
from .workload import NewSamples
from .types import (
    FaultAction,
    Health,
    Level,
    Node,
    NodeState,
    OpStat,
    Response,
    Sample,
    Status,
    Target,
)

__version__ = "0.2.0"
#: The API version this SDK builds against (wit/v0.2.0).
API_VERSION = "demo:flow@0.2.0"

__all__ = [
    "Flow",
    "export_flow",
    "FlowInfo",
    "Chapter",
    "Action",
    "FaultAction",
    "FlowError",
    "Interrupted",
    "Failed",
    "ClusterError",
    "WorkloadError",
    "ProbeError",
    "context",
    "require",
    "Target",
    "Node",
    "NodeState",
    "Health",
    "Status",
    "Sample",
    "OpStat",
    "Response",
    "Level",
    "ShapeSpec",
    "Markup",
    "bold",
    "dim",
    "green",
    "red",
    "yellow",
    "say",
    "NewSamples",
    "cluster",
    "log",
    "markup",
    "narration",
    "probe",
    "recipes",
    "timing",
    "workload",
]


class Flow:
    """A demo flow: its chapters, each with what it does.

    One instance lives for the whole show (created without arguments), so
    attributes carry state from one chapter to the next (e.g. which node was
    killed); every chapter's action is usually a bound method of it."""

    def describe(self) -> FlowInfo:
        """The flow's name, its chapters with their actions, and the
        capabilities it needs. Called once, before any chapter; must not
        wait or touch the cluster. When the presenter enters chapter `i`,
        the action of the `i`-th chapter added here runs."""
        raise NotImplementedError(f"{type(self).__name__} must define describe()")


def export_flow(flow_class: type) -> type:
    """Exports `flow_class` (a `Flow` subclass) as the component's
    `describe` and `enter`: `enter(i)` runs the action of its `i`-th
    chapter. Call it once, at the end of the flow's module (or use it as a
    class decorator)."""
    if not (isinstance(flow_class, type) and issubclass(flow_class, Flow)):
        raise TypeError(f"export_flow takes a subclass of guest_sdk.Flow, not {flow_class!r}")
    _export(flow_class)
    return flow_class
