"""What a built flow exports: the WIT world's `describe` and `enter`.

`guest-sdk-py/build.sh` makes the component's entry module import the
author's module (which ends with `export_flow(TheFlow)`) and then this
module's `WitWorld`, the class componentize-py exports. The author never
names it."""

from __future__ import annotations

from . import _wit
from ._runtime import exported

if exported() is None:
    raise ImportError(
        "the flow's module exported no flow: end it with `export_flow(YourFlow)` "
        "(YourFlow a subclass of guest_sdk.Flow)"
    )

_Base = _wit._world.WitWorld if _wit._world is not None else object


class WitWorld(_Base):  # type: ignore[misc, valid-type]
    def describe(self):  # -> wit_world.FlowInfo
        return _wit.flow_info(exported().describe())

    def enter(self, index: int) -> None:
        message = exported().enter(index)
        if message is not None:
            raise _wit.chapter_failed(message)
