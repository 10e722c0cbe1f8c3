"""etcd's v3 JSON gateway, as far as the flow reads it. Pure parsing, so it
is tested in plain Python (`python3 -m unittest discover chapters-wasm/etcd-py/tests`).

The gateway encodes 64-bit integers as JSON strings (`"leader": "1234…"`)
and omits fields at their zero value. The same rules as the Rust flow's
`chapters-wasm/etcd/src/api.rs`.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple


@dataclass(frozen=True)
class Status:
    """`POST /v3/maintenance/status` with `{}`: who answered and whom it follows."""

    member_id: int
    #: 0 when the member knows no leader (no quorum).
    leader: int
    raft_term: int


@dataclass(frozen=True)
class Member:
    """One member from `POST /v3/cluster/member/list`."""

    id: int
    #: `--name`; in this demo's compose file it is also the service name.
    name: str


class BadAnswer(ValueError):
    """etcd answered something the flow cannot read."""


def _uint(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _json(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as e:
        raise BadAnswer(f"etcd answered something that is not JSON: {e}") from None


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def parse_status(body: str) -> Status:
    v = _json(body)
    member_id = _uint(_get(v, "header", "member_id"))
    if member_id is None:
        raise BadAnswer("etcd's status has no header.member_id")
    return Status(
        member_id=member_id,
        leader=_uint(_get(v, "leader")) or 0,
        raft_term=_uint(_get(v, "raftTerm")) or 0,
    )


def parse_members(body: str) -> List[Member]:
    members = _get(_json(body), "members")
    if not isinstance(members, list):
        raise BadAnswer("etcd's member list has no members")
    out = []
    for m in members:
        member_id = _uint(_get(m, "ID"))
        if member_id is None:
            raise BadAnswer("a member has no ID")
        name = _get(m, "name")
        out.append(Member(member_id, name if isinstance(name, str) else ""))
    return out


def member_name(members: Sequence[Member], id_: int) -> Optional[str]:
    """The name of the member with `id_`."""
    return next((m.name for m in members if m.id == id_), None)


def leader_name(status: Status, members: Sequence[Member]) -> Optional[str]:
    """The leader's name, if the status names a leader that is in the list."""
    return member_name(members, status.leader) if status.leader != 0 else None


def agreed_leader(statuses: Sequence[Optional[Status]]) -> Optional[Tuple[int, int]]:
    """The leader every member names, with its own term, when every member
    answered and all name the same leader (which answered too)."""
    if not statuses or any(s is None for s in statuses):
        return None
    leader = statuses[0].leader
    if leader == 0 or any(s.leader != leader for s in statuses):
        return None
    own = next((s for s in statuses if s.member_id == leader), None)
    return (leader, own.raft_term) if own else None


def b64(data: bytes) -> str:
    """Standard base64 with padding: the gateway's encoding of bytes fields."""
    return base64.b64encode(data).decode("ascii")


def put_body(key: str, value: str) -> str:
    """The body of `POST /v3/kv/put` for this key and value."""
    return json.dumps(
        {"key": b64(key.encode()), "value": b64(value.encode())}, separators=(",", ":")
    )


@dataclass(frozen=True)
class Committed:
    revision: int


@dataclass(frozen=True)
class Refused:
    message: str


def parse_put(status: int, body: str):
    """What `POST /v3/kv/put` answered: `Committed` (200 with a response
    header and no error) or `Refused` with etcd's message (or the start of
    the body)."""
    try:
        v = json.loads(body)
    except ValueError:
        v = None
    error = None
    if isinstance(v, dict):
        for key in ("error", "message"):
            if isinstance(v.get(key), str):
                error = v[key]
                break
    header = v.get("header") if isinstance(v, dict) else None
    if status == 200 and error is None and header is not None:
        return Committed(_uint(_get(header, "revision")) or 0)
    if error is not None:
        return Refused(error)
    return Refused(body[:120])
