"""The one module that names the generated bindings.

componentize-py generates the `wit_world` package from `wit/v0.2.0/flow.wit`
while it builds a flow (`guest-sdk-py/build.sh`), so the bindings are never
written into this repository. Everything else in the SDK calls the functions
below, which take and return the SDK's own types (`guest_sdk.types`), and
turn each WIT `result` error into the SDK's exceptions.

Outside a component (plain `python3`, e.g. a flow's unit tests) there are no
bindings: importing the SDK works, describing a flow works, and a call to
the host raises `NotInHost`. Tests replace the functions of this module to
play the host.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional

from . import errors, types

try:  # Inside a component: the bindings componentize-py generated.
    from componentize_py_types import Err as _Err
    import wit_world as _world
    from wit_world.imports import cluster as _cluster
    from wit_world.imports import log as _log
    from wit_world.imports import narration as _narration
    from wit_world.imports import probe as _probe
    from wit_world.imports import timing as _timing
    from wit_world.imports import types as _types
    from wit_world.imports import workload as _workload

    IN_HOST = True
except ImportError:  # Plain Python: no host to call.
    _Err = None
    _world = _cluster = _log = _narration = _probe = _timing = _types = _workload = None
    IN_HOST = False


class NotInHost(RuntimeError):
    """A host call made outside a component (plain Python has no host)."""


U32_MAX = 2**32 - 1


def ms(seconds: float) -> int:
    """Seconds (as Python's `time` counts) to the WIT's u32 milliseconds,
    clamped: a negative wait is none, a huge one the longest there is."""
    if seconds != seconds:  # NaN
        return 0
    return max(0, min(U32_MAX, int(round(seconds * 1000))))


def _need(module: Any) -> Any:
    if module is None:
        raise NotInHost(
            "this call needs the host: build the flow with guest-sdk-py/build.sh and run it with `host --flow`"
        )
    return module


def _call(kind: str, function: Callable[..., Any], *args: Any) -> Any:
    """Calls an import whose WIT result error is a `kind` variant, raising
    `Interrupted` or the SDK's error for that API instead of `Err`."""
    try:
        return function(*args)
    except Exception as raised:
        if _Err is not None and isinstance(raised, _Err):
            raise _error(kind, raised.value) from None
        raise


def _case(value: Any) -> tuple[str, Optional[str]]:
    """A generated variant case (`ClusterError_NotFound(value='x')`) as its
    WIT case name (`not-found`) and payload."""
    name = type(value).__name__.split("_", 1)[-1]
    kebab = "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")
    return kebab, getattr(value, "value", None)


def _error(kind: str, value: Any) -> errors.FlowError:
    case, detail = _case(value)
    if case == "interrupted":
        return errors.Interrupted()
    if kind == "cluster":
        return errors.ClusterError(case, detail)
    if kind == "workload":
        return errors.WorkloadError(case, detail)
    return errors.ProbeError(case, detail)


# --- conversions ------------------------------------------------------------


def _enum(cls: Any, value: Any) -> Any:
    """An enum member of `cls` with the same name (SDK and bindings share
    the WIT's names)."""
    return cls[value.name]


def _node(raw: Any) -> types.Node:
    return types.Node(
        service=raw.service,
        container=raw.container,
        id=raw.id,
        state=_enum(types.NodeState, raw.state),
        health=_enum(types.Health, raw.health),
    )


def _target(target: types.Target) -> Any:
    c = _need(_cluster)
    if target.kind == "service":
        return c.Target_Service(target.value)
    if target.kind == "pattern":
        return c.Target_Pattern(target.value)
    return c.Target_Id(target.value)


def _sample(raw: Any) -> Optional[types.Sample]:
    if raw is None:
        return None
    return types.Sample(
        t_ms=raw.t_ms,
        ops_per_sec=raw.ops_per_sec,
        failures_per_sec=raw.failures_per_sec,
        ops=[types.OpStat(o.name, o.count, o.avg_us, o.p99_us) for o in raw.ops],
    )


def flow_info(info: types.FlowInfoRecord) -> Any:
    """The SDK's description as the WIT's `flow-info` record."""
    w = _need(_world)
    caps = info.capabilities
    return w.FlowInfo(
        name=info.name,
        version=info.version,
        description=info.description,
        chapters=[
            w.Chapter(
                title=c.title,
                narration=c.narration,
                key_hint=c.key_hint,
                auto_advance=c.auto_advance,
                blocks_advance=c.blocks_advance,
                notes=c.notes,
            )
            for c in info.chapters
        ],
        capabilities=w.Capabilities(
            faults=[
                w.FaultGrant(
                    services=g.services,
                    actions=[_enum(w.FaultAction, a) for a in g.actions],
                    peers=list(g.peers),
                )
                for g in caps.faults
            ],
            reads_workload=caps.reads_workload,
            http_probes=list(caps.http_probes),
            memory_mib=caps.memory_mib,
        ),
        default_workload=info.default_workload,
    )


def chapter_failed(message: str) -> BaseException:
    """What `enter` raises for the WIT's `err(message)`."""
    if _Err is None:
        return errors.Failed(message)
    return _Err(message)


# --- narration, timing, log ----------------------------------------------------


def narration_set(markup: str) -> None:
    _need(_narration).set(markup)


def narration_append(markup: str) -> None:
    _need(_narration).append(markup)


def narration_badge(text: str, level: types.Level) -> None:
    _need(_narration).badge(text, _enum(_need(_types).Level, level))


def timing_sleep(ms_: int) -> bool:
    return _need(_timing).sleep(ms_)


def timing_countdown(seconds: int, label: str) -> bool:
    return _need(_timing).countdown(seconds, label)


def log(level: str, message: str) -> None:
    lg = _need(_log)
    lg.log(lg.LogLevel[level.upper()], message)


# --- workload -------------------------------------------------------------------


def workload_current() -> Optional[types.Sample]:
    return _sample(_call("workload", _need(_workload).current))


def workload_baseline() -> Optional[float]:
    return _call("workload", _need(_workload).baseline)


def workload_status() -> types.Status:
    return _enum(types.Status, _call("workload", _need(_workload).current_status))


def workload_history() -> List[float]:
    return list(_call("workload", _need(_workload).history))


def workload_wait_for(status: types.Status, timeout_ms: int) -> Optional[types.Sample]:
    w = _need(_workload)
    return _sample(_call("workload", w.wait_for, _enum(w.Status, status), timeout_ms))


# --- cluster --------------------------------------------------------------------


def cluster_list_nodes() -> List[types.Node]:
    return [_node(n) for n in _call("cluster", _need(_cluster).list_nodes)]


def cluster_act(action: str, target: types.Target, *args: Any) -> types.Node:
    """`kill`, `stop`, `start`, `restart`, `pause`, `unpause`, `partition`,
    `heal`, `unshape` on one target (with the action's extra arguments)."""
    function = getattr(_need(_cluster), action)
    return _node(_call("cluster", function, _target(target), *args))


def cluster_wait_for(id_: str, state: types.NodeState, timeout_ms: int) -> types.Node:
    c = _need(_cluster)
    return _node(_call("cluster", c.wait_for, id_, _enum(c.NodeState, state), timeout_ms))


def cluster_isolate(target: types.Target, from_services: List[str]) -> types.Node:
    return _node(_call("cluster", _need(_cluster).isolate, _target(target), from_services))


def cluster_shape(target: types.Target, spec: Any) -> types.Node:
    c = _need(_cluster)
    raw = c.ShapeSpec(
        delay_ms=spec.delay_ms,
        jitter_ms=spec.jitter_ms,
        correlation_pct=float(spec.correlation_pct),
        loss_pct=float(spec.loss_pct),
        duplicate_pct=float(spec.duplicate_pct),
        corrupt_pct=float(spec.corrupt_pct),
        reorder_pct=float(spec.reorder_pct),
        rate_kbit=spec.rate_kbit,
        towards=list(spec.towards),
    )
    return _node(_call("cluster", c.shape, _target(target), raw))


def cluster_undo_after(target: types.Target, ms_: int) -> List[types.Node]:
    return [_node(n) for n in _call("cluster", _need(_cluster).undo_after, _target(target), ms_)]


# --- probe ----------------------------------------------------------------------


def probe_get(url: str, timeout_ms: int) -> types.Response:
    raw = _call("probe", _need(_probe).http_get, url, timeout_ms)
    return types.Response(status=raw.status, body=raw.body)


def probe_post(url: str, body: str, timeout_ms: int) -> types.Response:
    raw = _call("probe", _need(_probe).http_post, url, body, timeout_ms)
    return types.Response(status=raw.status, body=raw.body)
