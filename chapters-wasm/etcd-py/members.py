"""What the etcd members say, asked through their v3 JSON gateway:
`POST /v3/maintenance/status` names the leader's member id and `POST
/v3/cluster/member/list` maps ids to member names, which are the Compose
service names in `clusters/etcd/docker-compose.yaml`. A member that does not
answer is a finding, not an error: only an interruption is one. The same as
the Rust flow's `chapters-wasm/etcd/src/members.rs`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import etcd_api as api
from guest_sdk import Failed, Markup, NodeState, ProbeError, cluster, log, markup, probe, red, timing

MEMBERS = ("etcd1", "etcd2", "etcd3")
PROBE_TIMEOUT = 1.5
#: Election timeout is 1 s in the compose file; allow for several rounds.
ELECTION_TIMEOUT = 15
#: How often the flow asks etcd again while it waits for something.
POLL = 0.2
#: A write sent to the isolated leader waits at most this long.
MINORITY_WRITE_TIMEOUT = 3
#: The key that write tries to set, apart from the load tool's keys.
MINORITY_WRITE_KEY = "chaos-demo/written-to-the-minority"
#: How long the healed cluster gets until all three members name one leader.
REJOIN_TIMEOUT = 30


def member_url(service: str, path: str) -> str:
    """The probe URL of a member. The host maps `etcdN:2379` to the port the
    presenter published it on, so this works for any `ETCDn_PORT`."""
    return f"http://{service}:2379{path}"


@dataclass
class Leadership:
    """What one member says about leadership."""

    leader: str
    term: int


def _ask(service: str, path: str, parse: Callable):
    """A member's answer to `path` (a POST of `{}`), parsed; `None` when it
    cannot be reached or answers something else."""
    try:
        return parse(probe.http_post(member_url(service, path), "{}", PROBE_TIMEOUT).body)
    except ProbeError as e:
        log.debug(f"{service}{path}: {e.message}")
    except api.BadAnswer:
        pass
    return None


def member_status(service: str) -> Optional[api.Status]:
    return _ask(service, "/v3/maintenance/status", api.parse_status)


def member_list(service: str) -> Optional[List[api.Member]]:
    return _ask(service, "/v3/cluster/member/list", api.parse_members)


def any_member_list(running: Sequence[str]) -> Optional[List[api.Member]]:
    """The member list from the first of `running` that gives it."""
    return next((m for m in map(member_list, running) if m is not None), None)


def leadership(
    asked: Sequence[str], wanted: Callable[[Leadership], bool] = lambda _: True
) -> Optional[Leadership]:
    """The first answer of `asked` (in turn) that names a leader (`wanted`).
    `None` when none does (no quorum, or none answers)."""
    for service in asked:
        status = member_status(service)
        members = member_list(service) if status is not None else None
        leader = api.leader_name(status, members) if members is not None else None
        found = Leadership(leader, status.raft_term) if leader is not None else None
        if found is not None and wanted(found):
            return found
    return None


def settled_leadership(running: Sequence[str], what: str) -> Leadership:
    """`leadership`, asked again while no member names a leader: a member
    started a moment ago (the chapter before restarts one) may not answer
    yet, or not know the leader yet. Raises `Failed(what)` if none names one."""
    found = timing.poll_until(ELECTION_TIMEOUT, POLL, lambda: leadership(running))
    if found is None:
        raise Failed(what)
    return found


def wait_until_all_agree(members: Sequence[api.Member]) -> Tuple[str, int]:
    """Polls every member until all answer and name the same leader; returns
    its name and term. Fails after `REJOIN_TIMEOUT` saying what each said."""
    said: List[Optional[api.Status]] = []

    def agreed() -> Optional[Tuple[str, int]]:
        said[:] = [member_status(m) for m in MEMBERS]
        leader = api.agreed_leader(said)
        name = api.member_name(members, leader[0]) if leader else None
        return (name, leader[1]) if name is not None else None

    found = timing.poll_until(REJOIN_TIMEOUT, 0.5, agreed)
    if found is not None:
        return found
    each = [
        f"{service} does not answer"
        if s is None
        else f"{service} names no leader"
        if s.leader == 0
        else f"{service} names {api.member_name(members, s.leader) or f'{s.leader:x}'}"
        for service, s in zip(MEMBERS, said)
    ]
    raise Failed(f"{REJOIN_TIMEOUT} s after the heal the members do not agree on a leader: {', '.join(each)}")


def running_members() -> List[str]:
    """The services of the etcd members Docker reports running."""
    return [n.service for n in cluster.list_nodes() if n.state == NodeState.RUNNING and n.service in MEMBERS]


def running_followers(leader: str, running: Sequence[str]) -> List[str]:
    """The two members that follow `leader`, each running: a majority that
    can outvote it. Raises `Failed` saying why not."""
    if leader not in MEMBERS:
        raise Failed(f"etcd names {leader} as leader, not one of {list(MEMBERS)}")
    followers = [m for m in MEMBERS if m != leader]
    down = next((f for f in followers if f not in running), None)
    if down is not None:
        raise Failed(f"both followers must be running to outvote the leader; {down} is not")
    return followers


def what_the_old_leader_says(old: str, members: Sequence[api.Member]) -> str:
    """What the isolated old leader says about leadership, for the audience."""
    s = member_status(old)
    if s is None:
        return f"{old} does not answer its status."
    if s.leader == s.member_id:
        return f"{old} still answers clients, and still believes it leads (term {s.raft_term})."
    if s.leader == 0:
        return (
            f"{old} still answers clients but names no leader any more (term {s.raft_term}): "
            "it cannot hear a majority."
        )
    named = api.leader_name(s, members) or f"member {s.leader:x}"
    return f"{old} still answers clients and names {named} as leader (term {s.raft_term})."


def write_through(old: str) -> Tuple[Markup, Optional[str]]:
    """Sends a write to `old` (cut off from the majority) and says what came
    of it, with the failure when it shows the isolation did not hold or the
    write could not be sent."""
    body = api.put_body(MINORITY_WRITE_KEY, f"written through {old} while it was cut off")
    sent_at = time.monotonic()
    try:
        response = probe.http_post(member_url(old, "/v3/kv/put"), body, MINORITY_WRITE_TIMEOUT)
    except ProbeError as e:
        secs = time.monotonic() - sent_at
        if e.kind != "unreachable":
            why = f"could not send a write to {old}: {e.message}"
            return Markup.text(f"{why}."), why
        return markup.format(
            "A write sent to {} itself: {} after {:.1f} s ({}). Without a majority it cannot commit.",
            old, red("no commit"), secs, e.detail or "",
        ), None
    secs = time.monotonic() - sent_at
    outcome = api.parse_put(response.status, response.body)
    if isinstance(outcome, api.Committed):
        why = f"{old} committed a write while cut off (revision {outcome.revision}): the isolation did not hold"
        return red(f"{why}."), why
    return markup.format(
        "A write sent to {} itself: {} after {:.1f} s (HTTP {}: {}).",
        old, red("refused"), secs, response.status, outcome.message,
    ), None
