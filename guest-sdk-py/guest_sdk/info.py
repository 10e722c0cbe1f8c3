"""Builders for the flow's description, so `describe` reads like the show,
each chapter next to what it does:

    FlowInfo("demo", "0.1.0")
        .chapter(Chapter("Intro").narration("Three nodes under load."))
        .chapter(Chapter("Kill a node").blocks_advance().action(self.kill_a_node))
        .grant_faults("db*", [FaultAction.KILL])
        .reads_workload()
        .memory_mib(48)

Every setter also exists as a keyword argument of the constructor
(`Chapter("Intro", narration="…", key_hint="SPACE begin")`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, List, Optional

from .types import FaultAction

#: What a chapter does when the presenter enters it: any callable without
#: arguments, usually a bound method of the flow (`self.kill_a_node`).
Action = Callable[[], None]

#: The most memory a flow may state; the presenter's ceiling
#: (`--max-memory-mib`, 256 by default) is usually far lower.
MAX_MEMORY_MIB = 2**32 - 1


@dataclass
class ChapterRecord:
    """A chapter as the WIT's `chapter` record."""

    title: str
    narration: str = ""
    key_hint: str = ""
    auto_advance: bool = False
    blocks_advance: bool = False
    notes: str = ""


@dataclass
class FaultGrant:
    """Permission to perform `actions` on the services matching `services`."""

    services: str
    actions: List[FaultAction]
    peers: List[str] = field(default_factory=list)


@dataclass
class Capabilities:
    faults: List[FaultGrant] = field(default_factory=list)
    reads_workload: bool = False
    http_probes: List[str] = field(default_factory=list)
    #: 0: the host's default (64 MiB).
    memory_mib: int = 0


@dataclass
class FlowInfoRecord:
    """The description as the WIT's `flow-info` record."""

    name: str
    version: str
    description: str = ""
    chapters: List[ChapterRecord] = field(default_factory=list)
    capabilities: Capabilities = field(default_factory=Capabilities)
    default_workload: Optional[str] = None


class Chapter:
    """One step of the show: what the audience reads, the presenter's hint,
    and the action that runs once the narration is on screen."""

    def __init__(
        self,
        title: str,
        *,
        narration: str = "",
        key_hint: str = "",
        notes: str = "",
        auto_advance: bool = False,
        blocks_advance: bool = False,
        action: Optional[Action] = None,
    ) -> None:
        self.record = ChapterRecord(
            title=title,
            narration=narration,
            key_hint=key_hint,
            auto_advance=auto_advance,
            blocks_advance=blocks_advance,
            notes=notes,
        )
        self._action: Optional[Action] = None
        if action is not None:
            self.action(action)

    def narration(self, markup: str) -> "Chapter":
        """Narration markup shown when the chapter is entered."""
        self.record.narration = markup
        return self

    def key_hint(self, hint: str) -> "Chapter":
        """The footer hint, e.g. `"SPACE inject the fault"`."""
        self.record.key_hint = hint
        return self

    def notes(self, markup: str) -> "Chapter":
        """Speaker notes (markup) for the presenter only: what to say, what
        to point at. Never shown to the audience."""
        self.record.notes = markup
        return self

    def auto_advance(self) -> "Chapter":
        """Moves to the next chapter by itself once the action succeeds."""
        self.record.auto_advance = True
        return self

    def blocks_advance(self) -> "Chapter":
        """Ignores "next" while the action runs (a fault in flight must finish)."""
        self.record.blocks_advance = True
        return self

    def action(self, action: Action) -> "Chapter":
        """What the chapter does once its narration is on screen: a callable
        without arguments, usually a bound method (`self.kill_a_node`). It
        returns normally, or raises `Failed` (the sentence is shown to the
        audience) or `Interrupted` (the chapter ends quietly)."""
        if not callable(action):
            raise TypeError(f"Chapter {self.record.title!r}: an action must be callable")
        self._action = action
        return self

    @property
    def run(self) -> Optional[Action]:
        """The chapter's action, if it has one."""
        return self._action


class FlowInfo:
    """The flow's name, chapters (each with its action) and the capabilities
    it needs."""

    def __init__(
        self,
        name: str,
        version: str,
        *,
        description: str = "",
        default_workload: Optional[str] = None,
    ) -> None:
        self.record = FlowInfoRecord(
            name=name,
            version=version,
            description=description,
            default_workload=default_workload,
        )
        self.actions: List[Optional[Action]] = []

    def description(self, text: str) -> "FlowInfo":
        """One sentence shown by `host inspect`."""
        self.record.description = text
        return self

    def chapter(self, chapter: Chapter) -> "FlowInfo":
        """Appends a chapter; chapters run in the order they are added."""
        if not isinstance(chapter, Chapter):
            raise TypeError("FlowInfo.chapter takes a Chapter")
        self.record.chapters.append(chapter.record)
        self.actions.append(chapter.run)
        return self

    def grant_faults(self, services: str, actions: Iterable[FaultAction]) -> "FlowInfo":
        """Asks for `actions` on the services whose name matches `services`
        (a glob). Follow it with `peers` to name the services that `isolate`
        may cut these from and that `shape` may limit itself to."""
        actions = list(actions)
        for action in actions:
            if not isinstance(action, FaultAction):
                raise TypeError(f"grant_faults takes FaultAction values, not {action!r}")
        self.record.capabilities.faults.append(FaultGrant(services, actions))
        return self

    def peers(self, globs: Iterable[str]) -> "FlowInfo":
        """The peers of the grant added just before: globs over the services
        that `cluster.isolate` may cut its services from and that a
        `ShapeSpec.towards` may name. Adds to the globs given earlier."""
        if isinstance(globs, str):
            globs = [globs]
        if not self.record.capabilities.faults:
            raise ValueError("FlowInfo.peers needs a grant_faults before it")
        self.record.capabilities.faults[-1].peers.extend(str(g) for g in globs)
        return self

    def reads_workload(self) -> "FlowInfo":
        """Asks to read the workload figures."""
        self.record.capabilities.reads_workload = True
        return self

    def http_probe(self, url_prefix: str) -> "FlowInfo":
        """Asks to send HTTP probes to URLs starting with `url_prefix`."""
        self.record.capabilities.http_probes.append(url_prefix)
        return self

    def default_workload(self, source: str) -> "FlowInfo":
        """The workload source when the presenter names none: `"service:NAME"`."""
        self.record.default_workload = source
        return self

    def memory_mib(self, mib: int) -> "FlowInfo":
        """The linear memory the flow needs, in MiB (0: the host's default of
        64 MiB). A Python flow carries an interpreter and needs more than a
        Rust one: measure yours and state it with a margin. The host grants
        it up to the presenter's ceiling (`--max-memory-mib`, 256 by
        default) and refuses a flow that asks for more; past its need a flow
        traps."""
        mib = int(mib)
        if not 0 <= mib <= MAX_MEMORY_MIB:
            raise ValueError(f"memory_mib {mib} is out of range")
        self.record.capabilities.memory_mib = mib
        return self
