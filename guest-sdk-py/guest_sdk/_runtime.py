"""The exported flow's one value and its chapters' actions, kept from the
description so `enter` needs no index table. Plain Python: tested without a
host (guest-sdk-py/tests)."""

from __future__ import annotations

import traceback
from typing import List, Optional, Type

from . import _wit
from .errors import Failed, Interrupted
from .info import Action, FlowInfo, FlowInfoRecord


class Runtime:
    def __init__(self, flow_class: Type) -> None:
        self.flow_class = flow_class
        self.flow = None
        #: Filled by the first `describe` (or the first `enter`, should a
        #: host skip `describe`): the description is built once.
        self.actions: Optional[List[Optional[Action]]] = None

    def _describe(self) -> FlowInfo:
        if self.flow is None:
            self.flow = self.flow_class()
        info = self.flow.describe()
        if not isinstance(info, FlowInfo):
            raise TypeError(
                f"{self.flow_class.__name__}.describe() returned {type(info).__name__}, not a FlowInfo"
            )
        self.actions = list(info.actions)
        return info

    def describe(self) -> FlowInfoRecord:
        return self._describe().record

    def enter(self, index: int) -> Optional[str]:
        """Runs chapter `index`'s action: `None` when it completed (or the
        presenter interrupted it), else the sentence the host shows."""
        if self.actions is None:
            self._describe()
        actions = self.actions or []
        if not 0 <= index < len(actions):
            return f"no chapter {index}: the flow has {len(actions)} chapters"
        action = actions[index]
        if action is None:
            return None
        try:
            action()
        except Interrupted:
            return None
        except Failed as failed:
            return failed.message
        except Exception as bug:  # a bug in the flow: the show goes on
            _log_traceback(bug)
            return f"the flow raised {type(bug).__name__}: {bug}"
        return None


def _log_traceback(bug: BaseException) -> None:
    text = "".join(traceback.format_exception(type(bug), bug, bug.__traceback__))
    try:
        _wit.log("error", text)
    except Exception:
        print(text)


_EXPORTED: Optional[Runtime] = None


def export(flow_class: Type) -> None:
    global _EXPORTED
    if _EXPORTED is not None and _EXPORTED.flow_class is not flow_class:
        raise RuntimeError(
            f"export_flow({flow_class.__name__}): {_EXPORTED.flow_class.__name__} is exported already; "
            "a component exports one flow"
        )
    _EXPORTED = Runtime(flow_class)


def exported() -> Optional[Runtime]:
    return _EXPORTED
