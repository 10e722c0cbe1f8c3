"""The etcd demo, in Python: lose a follower (nothing visible happens), lose
the leader (an election), lose a second member (no quorum, writes stop),
recover; then slow the leader down (every write waits, p99 rises) and cut it
off from both followers (a minority of one: an election on the other side,
and it cannot commit).

A port of the Rust flow (chapters-wasm/etcd) with guest-sdk-py, chapter for
chapter and sentence for sentence. Who leads is read from etcd itself,
through its v3 JSON gateway, never guessed: `POST /v3/maintenance/status`
names the leader's member id and `POST /v3/cluster/member/list` maps ids to
member names, which are the Compose service names in
`clusters/etcd/docker-compose.yaml`. Latency and throughput are the host's,
from the load tool's own samples.

Build: `guest-sdk-py/build.sh chapters-wasm/etcd-py target/python/etcd-py.wasm`
(scripts/build-flows.sh does).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import etcd_api as api
import latency
from guest_sdk import (
    Chapter,
    ClusterError,
    FaultAction,
    Flow,
    FlowInfo,
    Interrupted,
    Failed,
    Node,
    NodeState,
    ProbeError,
    Sample,
    ShapeSpec,
    Status,
    Target,
    WorkloadError,
    cluster,
    context,
    export_flow,
    log,
    markup,
    narration,
    probe,
    recipes,
    require,
    timing,
    workload,
)
from guest_sdk.workload import Baseline, measure_baseline, ops

VERSION = "0.1.0"
ETCD_SERVICES = "etcd*"
MEMBERS = ("etcd1", "etcd2", "etcd3")
# Times in seconds.
BASELINE_TIMEOUT = 120
DEGRADE_TIMEOUT = 30
RECOVERY_TIMEOUT = 120
#: How long a started member gets until Docker reports it running.
START_TIMEOUT = 30
#: Long enough for several one-second samples after a kill.
OBSERVE = 4
#: Election timeout is 1 s in the compose file; allow for several rounds.
ELECTION_TIMEOUT = 15
PROBE_TIMEOUT = 1.5
#: How often the flow asks etcd again while it waits for something.
POLL = 0.2
#: The slow-leader chapter's delay on every packet the leader sends, in ms.
SLOW_DELAY_MS = 200
#: Network faults get a duration (`undo_after`): should the chapter be
#: skipped mid-fault, the host removes it after this.
SAFETY_NET = 60
#: One-second samples whose median p99 is compared, before and during.
P99_SAMPLES = 3
#: Samples without a successful operation tolerated while collecting them.
P99_SKIPS = 5
#: How long to wait for the host's next workload sample.
SAMPLE_TIMEOUT = 10
#: How often to look for a new workload sample.
SAMPLE_POLL = 0.25
#: How long p99 gets to come back near its earlier value after `unshape`.
P99_RECOVERY_TIMEOUT = 30
#: Consecutive samples near the earlier p99 that count as "back".
P99_BACK_SAMPLES = 2
#: A write sent to the isolated leader waits at most this long.
MINORITY_WRITE_TIMEOUT = 3
#: The key that write tries to set, apart from the load tool's keys.
MINORITY_WRITE_KEY = "chaos-demo/written-to-the-minority"
#: How long the healed cluster gets until all three members name one leader.
REJOIN_TIMEOUT = 30
#: The linear memory this flow states (`memory-mib`). Measured on these
#: machines: the component starts at 12.7 MiB (13 303 808 bytes: the
#: pre-initialised interpreter and heap), and the whole ten-chapter show on
#: the real cluster completes within a 13 MiB limit (12 MiB fails at start).
#: 32 MiB leaves room for what a run can add (probe bodies up to 1 MiB each,
#: their parsing, heap fragmentation), and is half the host's default.
MEMORY_MIB = 32


def member_url(service: str, path: str) -> str:
    """The probe URL of a member. The host maps `etcdN:2379` to the port the
    presenter published it on, so this works for any `ETCDn_PORT`."""
    return f"http://{service}:2379{path}"


@dataclass
class Leadership:
    """What one member says about leadership."""

    leader: str
    term: int


def ask(service: str, path: str) -> Optional[str]:
    """A member's answer to `path` (a POST of `{}`), or `None` when it cannot
    be reached: a member that does not answer is a finding, not an error.
    Only an interruption propagates."""
    try:
        return probe.http_post(member_url(service, path), "{}", PROBE_TIMEOUT).body
    except ProbeError as e:
        log.debug(f"{service}{path}: {e.message}")
        return None


def member_status(service: str) -> Optional[api.Status]:
    """A member's status, or `None` when it does not answer or answers no status."""
    body = ask(service, "/v3/maintenance/status")
    try:
        return api.parse_status(body) if body is not None else None
    except api.BadAnswer:
        return None


def member_list(service: str) -> Optional[List[api.Member]]:
    """The member list as `service` sees it."""
    body = ask(service, "/v3/cluster/member/list")
    try:
        return api.parse_members(body) if body is not None else None
    except api.BadAnswer:
        return None


def any_member_list(running: Sequence[str]) -> Optional[List[api.Member]]:
    """The member list from the first of `running` that gives it."""
    for service in running:
        members = member_list(service)
        if members is not None:
            return members
    return None


def leadership(running: Sequence[str]) -> Optional[Leadership]:
    """Asks the running members, in turn, who leads. `None` when none names a
    leader it can map to a member (no quorum, or none answers)."""
    for service in running:
        status = member_status(service)
        if status is None:
            continue
        members = member_list(service)
        if members is None:
            continue
        leader = api.leader_name(status, members)
        if leader is not None:
            return Leadership(leader, status.raft_term)
    return None


def settled_leadership(running: Sequence[str]) -> Optional[Leadership]:
    """`leadership`, asked again for up to `ELECTION_TIMEOUT` while no member
    names a leader: a member started a moment ago (the chapter before
    restarts one) may not answer yet, or not know the leader yet."""
    started = time.monotonic()
    while True:
        found = leadership(running)
        if found is not None or time.monotonic() - started > ELECTION_TIMEOUT:
            return found
        timing.pause(POLL)


def running_members() -> List[str]:
    return [
        n.service
        for n in cluster.list_nodes()
        if n.state == NodeState.RUNNING and n.service in MEMBERS
    ]


def show_cluster() -> None:
    for node in cluster.list_nodes():
        state = str(node.state)
        state = markup.green(state) if node.state == NodeState.RUNNING else markup.red(state)
        narration.append(f"{markup.escape(node.service):<6} {state}")
    l = leadership(running_members())
    if l is not None:
        narration.append(f"etcd says: {markup.bold(l.leader)} leads (Raft term {l.term}).")
    else:
        narration.append("etcd names no leader right now.")


def throughput_now() -> Tuple[float, Status]:
    """The current throughput and the tracker's verdict."""
    sample = workload.current()
    return (sample.ops_per_sec if sample else 0.0, workload.status())


def new_leader(followers: Sequence[str], old: str, members: Sequence[api.Member]) -> Optional[Leadership]:
    """The first of `followers` that names a leader other than `old`."""
    for follower in followers:
        status = member_status(follower)
        if status is None:
            continue
        leader = api.leader_name(status, members)
        if leader is not None and leader != old:
            return Leadership(leader, status.raft_term)
    return None


def wait_until_all_agree(members: Sequence[api.Member]) -> Tuple[str, int]:
    """Polls every member until all answer and name the same leader; returns
    its name and term. Fails after `REJOIN_TIMEOUT` saying what each said."""
    started = time.monotonic()
    while True:
        statuses = [member_status(m) for m in MEMBERS]
        agreed = api.agreed_leader(statuses)
        if agreed is not None:
            member = next((m for m in members if m.id == agreed[0]), None)
            if member is not None:
                return member.name, agreed[1]
        if time.monotonic() - started > REJOIN_TIMEOUT:
            said = []
            for service, status in zip(MEMBERS, statuses):
                if status is None:
                    said.append(f"{service} does not answer")
                elif status.leader == 0:
                    said.append(f"{service} names no leader")
                else:
                    named = next((m.name for m in members if m.id == status.leader), f"{status.leader:x}")
                    said.append(f"{service} names {named}")
            raise Failed(
                f"{REJOIN_TIMEOUT} s after the heal the members do not agree on a leader: {', '.join(said)}"
            )
        timing.pause(0.5)


def latest_sample_t() -> Optional[int]:
    """When the host received its latest workload sample, if any: later reads
    wait for samples after it."""
    sample = workload.current()
    return sample.t_ms if sample else None


def next_sample(after: Optional[int]) -> Sample:
    """Waits for a sample the host received after `after`."""
    started = time.monotonic()
    while True:
        sample = workload.current()
        if sample is not None and (after is None or sample.t_ms > after):
            return sample
        if time.monotonic() - started > SAMPLE_TIMEOUT:
            raise Failed(f"the workload sent no sample for {SAMPLE_TIMEOUT} s")
        timing.pause(SAMPLE_POLL)


class Seen:
    """The `t_ms` of the last sample read, so each read waits for a newer one."""

    def __init__(self, t: Optional[int]) -> None:
        self.t = t


def next_p99s(n: int, seen: Seen) -> List[float]:
    """The p99 (ms) of the successful writes in each of the next `n` samples
    after `seen` that have some, oldest first; `seen` moves on."""
    figures: List[float] = []
    skipped = 0
    while len(figures) < n:
        sample = next_sample(seen.t)
        seen.t = sample.t_ms
        p99 = latency.ok_p99_ms(sample)
        if p99 is not None:
            figures.append(p99)
        elif skipped < P99_SKIPS:
            skipped += 1
        else:
            raise Failed(f"{P99_SKIPS + 1} workload samples without a p99 of successful operations")
    return figures


def median_ms(figures: Sequence[float]) -> float:
    return require(latency.median(figures), "no p99 figures")


def wait_p99_back(before_ms: float, seen: Seen) -> float:
    """Waits until `P99_BACK_SAMPLES` samples in a row have a p99 near
    `before_ms`; returns the last one. Fails after `P99_RECOVERY_TIMEOUT`
    with the last figure seen."""
    started = time.monotonic()
    streak = 0
    last: Optional[float] = None
    while True:
        sample = next_sample(seen.t)
        seen.t = sample.t_ms
        p99 = latency.ok_p99_ms(sample)
        if p99 is not None and latency.near(before_ms, p99):
            streak += 1
            if streak >= P99_BACK_SAMPLES:
                return p99
        elif p99 is not None:
            streak = 0
            last = p99
        else:
            streak = 0
        if time.monotonic() - started > P99_RECOVERY_TIMEOUT:
            last_text = "none" if last is None else f"{last:.1f} ms"
            raise Failed(
                f"p99 did not come back near {before_ms:.1f} ms within {P99_RECOVERY_TIMEOUT} s (last: {last_text})"
            )


class EtcdDemo(Flow):
    def __init__(self) -> None:
        self.baseline: Optional[Baseline] = None
        #: Members killed and not started again yet.
        self.victims: List[Node] = []
        self.election_secs: Optional[float] = None
        self.quorum_lost_ops: Optional[float] = None
        self.recovery_secs: Optional[float] = None
        #: p99 (ms) before, during and after the slow leader.
        self.slow_leader_p99: Optional[Tuple[float, float, float]] = None
        #: Seconds from isolating the leader to a new leader on the majority side.
        self.minority_election_secs: Optional[float] = None

    def describe(self) -> FlowInfo:
        info = (
            FlowInfo("etcd-py", VERSION)
            .description(
                "Kill etcd members: a follower, the leader, then quorum; recover; then slow "
                "the leader down and cut it off from its followers. (The etcd flow, in Python.)"
            )
            .chapter(
                Chapter("Intro")
                .narration(
                    "[bold]etcd[/] replicates every write through [cyan]Raft[/]: the "
                    "[bold]leader[/] appends it to its log and commits it once a majority "
                    "of members has it.\nWith three members, two are a majority: it "
                    "survives the loss of one member, not two.\n\nWatch the throughput "
                    "and who leads."
                )
                .key_hint("SPACE begin")
                .notes(
                    "Set the stage: three members, one leader, [bold]majority = 2[/]. "
                    "Point at the throughput graph: everything we claim is measured "
                    "there or asked of etcd itself."
                )
            )
            .chapter(
                Chapter("Cluster health")
                .narration("Docker's view of the three members, and etcd's own: who leads.")
                .key_hint("SPACE next")
                .notes(
                    "Point at the leader line: the flow asked etcd "
                    "([dim]/v3/maintenance/status[/]), it did not guess. Mention the Raft "
                    "term: it counts elections."
                )
                .action(show_cluster)
            )
            .chapter(
                Chapter("Workload baseline")
                .narration("A load generator writes through etcd's v3 API. We measure a baseline first.")
                .key_hint("SPACE next once the baseline is measured")
                .notes(
                    "The load generator writes through the members' client ports. Read "
                    "the baseline ops/s and p99 aloud: later figures are compared against "
                    "them."
                )
                .action(self.measure_baseline)
            )
            .chapter(
                Chapter("Lose a follower")
                .narration(
                    "SIGKILL a [bold]follower[/]. The leader still has a majority (itself "
                    "and the other follower), so it keeps committing: [green]no election, "
                    "no pause[/]. Then we start the follower again."
                )
                .key_hint("wait for the fault")
                .notes(
                    "Ask the room what will happen before the countdown ends. Point at "
                    "the [green]same term[/] line: no election happened."
                )
                .blocks_advance()
                .action(self.lose_follower)
            )
            .chapter(
                Chapter("Lose the leader")
                .narration(
                    "SIGKILL the [bold]leader[/]. The followers stop hearing its heartbeats; "
                    "after an election timeout (1 s here) one of them asks for votes and "
                    "the two survivors elect a new leader. Writes wait for it."
                )
                .key_hint("wait for the fault")
                .notes(
                    "Point at the measured election time and the term going up by one. "
                    "The dip in the graph is the writes waiting for the new leader."
                )
                .blocks_advance()
                .action(self.lose_leader)
            )
            .chapter(
                Chapter("Lose quorum")
                .narration(
                    "SIGKILL a second member. One of three cannot form a majority: "
                    "[red]no write can commit[/] and the clients time out."
                )
                .key_hint("wait for the fault")
                .notes(
                    "This is the one that hurts: the throughput falls to (nearly) zero. "
                    "Stress that the last member is [bold]up[/] yet useless alone: "
                    "availability needs a majority."
                )
                .blocks_advance()
                .action(self.lose_quorum)
            )
            .chapter(
                Chapter("Recovery")
                .narration("Start both members again; they rejoin, elect a leader and catch up from its log.")
                .key_hint("wait for recovery, then SPACE")
                .notes(
                    "The killed members kept their Raft logs on their volumes, so they "
                    "only catch up. Wait for the recovery time before moving on: the next "
                    "two chapters need all three members."
                )
                .blocks_advance()
                .action(self.recover)
            )
            .chapter(
                Chapter("Slow leader")
                .narration(
                    "Now a fault that kills nothing: every packet the [bold]leader[/] sends "
                    "waits [yellow]200 ms[/]. Each write needs the leader's round trip to "
                    "a follower before it commits, so every write gets slower, yet the "
                    "delay is well under the 1 s election timeout: [bold]nobody is "
                    "elected[/]. Watch the p99."
                )
                .key_hint("wait for the fault")
                .notes(
                    "The point: [bold]slow is not down[/]. No alarm based on "
                    '"is the leader alive" fires, yet every client waits. Read the p99 '
                    "before and with the delay, then point at the same term after."
                )
                .blocks_advance()
                .action(self.slow_leader)
            )
            .chapter(
                Chapter("Minority leader")
                .narration(
                    "Cut the [bold]leader[/] off from both followers, but not from the "
                    "clients. The followers are a majority: they elect a new leader. The "
                    "old one is a [red]minority of one[/]: it still answers clients but "
                    "cannot commit a write. Then we heal the partition."
                )
                .key_hint("wait for the fault")
                .notes(
                    "Point at the election time, then at the write sent to the old leader "
                    "that never commits: a leader without a majority is no leader. After "
                    "the heal the old leader rejoins as a follower, and any entry it took "
                    "alone is discarded."
                )
                .blocks_advance()
                .action(self.minority_leader)
            )
            .chapter(
                Chapter("Complete")
                .narration("[green]Quorum restored.[/]")
                .key_hint("Q quit")
                .notes(
                    "Recap the figures on screen: each was measured in this run. The "
                    "lesson: Raft trades availability of the minority for consistency, "
                    "and latency is a fault too."
                )
                .action(self.summarise)
            )
            .grant_faults(ETCD_SERVICES, [FaultAction.KILL, FaultAction.NETWORK, FaultAction.SHAPE])
            .peers([ETCD_SERVICES])
            .reads_workload()
            .memory_mib(MEMORY_MIB)
        )
        for member in MEMBERS:
            info.http_probe(member_url(member, "/v3/"))
        return info

    # --- helpers ---------------------------------------------------------------

    def kill(self, target: Target, label: str) -> Node:
        """Counts down and kills `target`; the victim is remembered for the
        recovery chapter."""
        victim = recipes.count_down_then_kill(target, "SIGKILL", 3, label)
        self.victims.append(victim)
        return victim

    def percent(self, value: float) -> str:
        if self.baseline is None:
            return ""
        return f" ({self.baseline.percent(value):.0f}% of baseline)"

    # --- chapters ----------------------------------------------------------------

    def measure_baseline(self) -> None:
        self.baseline = measure_baseline(BASELINE_TIMEOUT)

    def lose_follower(self) -> None:
        running = running_members()
        before = require(
            settled_leadership(running), "etcd names no leader, so no follower can be told apart"
        )
        follower = require(
            next((s for s in running if s != before.leader), None), "no running follower to kill"
        )
        narration.append(f"{before.leader} leads; {follower} is a follower.")
        victim = self.kill(Target.service(follower), "Killing a follower in")
        timing.pause(OBSERVE)
        current, status = throughput_now()
        narration.append(f"Throughput {ops(current)}{self.percent(current)} ({status}).")
        survivors = [s for s in running if s != follower]
        after = leadership(survivors)
        if after is not None and after.leader == before.leader and after.term == before.term:
            narration.append(
                f"{after.leader} still leads, same term {after.term}: losing a follower needs no election."
            )
        elif after is not None:
            narration.append(
                f"Now {after.leader} leads, term {after.term} (was {before.leader} in term {before.term})."
            )
        else:
            narration.append("The survivors name no leader.")
        recipes.start_and_wait_running(victim, START_TIMEOUT)
        self.victims = [v for v in self.victims if v.id != victim.id]
        narration.append("It catches up from the leader's log.")

    def lose_leader(self) -> None:
        running = running_members()
        before = require(settled_leadership(running), "etcd names no leader to kill")
        narration.append(f"{markup.bold(before.leader)} leads (term {before.term}).")
        victim = self.kill(Target.service(before.leader), "Killing the leader in")
        killed_at = time.monotonic()
        survivors = [s for s in running if s != victim.service]
        elected = None
        while True:
            l = leadership(survivors)
            if l is not None and l.leader != before.leader:
                elected = l
                break
            if time.monotonic() - killed_at > ELECTION_TIMEOUT:
                break
            timing.pause(POLL)
        if elected is not None:
            secs = time.monotonic() - killed_at
            self.election_secs = secs
            narration.append(
                f"{markup.green(elected.leader)} was elected leader {secs:.1f} s after the kill "
                f"(term {before.term} → {elected.term})."
            )
        else:
            narration.append(f"No new leader within {ELECTION_TIMEOUT} s.")
        timing.pause(OBSERVE)
        current, status = throughput_now()
        narration.append(f"Two members left: throughput {ops(current)}{self.percent(current)} ({status}).")

    def lose_quorum(self) -> None:
        self.kill(Target.pattern(ETCD_SERVICES), "Killing a second member in")
        started = time.monotonic()
        with context("the workload did not degrade"):
            sample = workload.wait_for(Status.DEGRADED, DEGRADE_TIMEOUT)
        current = sample.ops_per_sec if sample else 0.0
        self.quorum_lost_ops = current
        narration.append(
            f"Quorum lost: throughput {markup.red(ops(current))}{self.percent(current)}, "
            f"seen {time.monotonic() - started:.1f} s after the kill."
        )
        l = leadership(running_members())
        if l is not None:
            narration.append(f"The last member still names {l.leader} as leader, but nothing can commit.")
        else:
            narration.append("The last member names no leader: it cannot win a vote alone.")

    def recover(self) -> None:
        started = time.monotonic()
        victims, self.victims = self.victims, []
        for victim in victims:
            recipes.start_and_wait_running(victim, START_TIMEOUT)
        with context("throughput has not recovered"):
            sample = workload.wait_for(Status.NORMAL, RECOVERY_TIMEOUT)
        current = sample.ops_per_sec if sample else 0.0
        secs = time.monotonic() - started
        self.recovery_secs = secs
        narration.append(f"Writes are back: {markup.green(ops(current))} after {secs:.1f} s.")
        l = leadership(running_members())
        if l is not None:
            narration.append(f"{l.leader} leads, term {l.term}.")

    @staticmethod
    def safety_net(node: Node) -> None:
        """Asks the host to undo `node`'s network fault after `SAFETY_NET`
        whatever happens (the chapter undoes it itself long before). A
        refusal is narrated, not fatal: the host still undoes every fault
        when the show ends."""
        try:
            cluster.undo_after(node, SAFETY_NET)
        except ClusterError as e:
            narration.append(
                markup.dim(f"(No safety net: {e.message}. The host still undoes it when the show ends.)")
            )
            return
        narration.append(
            markup.dim(f"(Safety net: the host undoes it in {SAFETY_NET} s whatever happens.)")
        )

    def slow_leader(self) -> None:
        running = running_members()
        before = require(settled_leadership(running), "etcd names no leader to slow down")
        narration.append(f"{markup.bold(before.leader)} leads (term {before.term}). Measuring p99 first…")
        seen = Seen(latest_sample_t())
        with context("no p99 to compare with"):
            p99_before = next_p99s(P99_SAMPLES, seen)
        before_ms = median_ms(p99_before)
        narration.append(
            f"p99 before: {markup.bold(f'{before_ms:.1f} ms')} (median of {latency.list_ms(p99_before)})."
        )
        try:
            timing.count_down(3, "Slowing the leader in")
        except Interrupted:
            narration.append("Fault cancelled.")
            raise
        spec = ShapeSpec(delay_ms=SLOW_DELAY_MS)
        with context(f"could not slow {before.leader} down"):
            slowed = cluster.shape(Target.service(before.leader), spec)
        narration.append(f"{markup.yellow(slowed.service)} is slowed: {spec.describe()} on every packet it sends.")
        self.safety_net(slowed)

        # An interruption leaves the delay to the safety net and the end of
        # the show; a failure to measure is narrated, and the delay removed.
        during_error: Optional[Failed] = None
        during_ms = 0.0
        try:
            during_ms = self.measure_slowed(before_ms, seen)
        except Failed as why:
            during_error = why
            narration.append(f"Could not measure the slowdown: {markup.escape(why.message)}")
        with context(
            f"could not remove the delay from {slowed.service} (the host removes it when the show ends)"
        ):
            unshaped = cluster.unshape(slowed)
        unshaped_at = time.monotonic()
        narration.append(f"Removed the delay from {unshaped.service}.")
        if during_error is not None:
            raise during_error
        narration.append(f"Waiting for p99 to come back near {before_ms:.1f} ms…")

        after_ms = wait_p99_back(before_ms, seen)
        narration.append(
            f"p99 is back to {markup.green(f'{after_ms:.1f} ms')} {time.monotonic() - unshaped_at:.1f} s "
            f"after the delay was removed (before {before_ms:.1f} ms, with the delay {during_ms:.1f} ms)."
        )
        self.slow_leader_p99 = (before_ms, during_ms, after_ms)
        after = leadership(running_members())
        if after is not None and after.leader == before.leader and after.term == before.term:
            narration.append(
                f"{after.leader} still leads, same term {after.term}: a slow leader is still the leader."
            )
        elif after is not None:
            narration.append(
                f"Now {after.leader} leads, term {after.term} (was {before.leader} in term {before.term})."
            )
        else:
            narration.append("etcd names no leader right now.")

    def measure_slowed(self, before_ms: float, seen: Seen) -> float:
        """p99 while the leader is slowed, narrated against `before_ms`."""
        # The first sample after the delay may cover time before it.
        seen.t = next_sample(seen.t).t_ms
        p99_during = next_p99s(P99_SAMPLES, seen)
        during_ms = median_ms(p99_during)
        line = (
            f"p99 with the delay: {markup.red(f'{during_ms:.1f} ms')} "
            f"(median of {latency.list_ms(p99_during)}), was {before_ms:.1f} ms"
        )
        sample = workload.current()
        if sample is not None:
            line += f"; throughput {ops(sample.ops_per_sec)}{self.percent(sample.ops_per_sec)}"
            if sample.failures_per_sec > 0:
                line += f", {sample.failures_per_sec:.0f} failed/s"
        narration.append(f"{line}.")
        if latency.near(before_ms, during_ms):
            narration.append(
                "p99 did not rise measurably: the delay does not seem to take effect on this host."
            )
        return during_ms

    def minority_leader(self) -> None:
        running = running_members()
        before = require(settled_leadership(running), "etcd names no leader to isolate")
        if before.leader not in MEMBERS:
            raise Failed(f"etcd names {before.leader} as leader, not one of {list(MEMBERS)}")
        followers = [m for m in MEMBERS if m != before.leader]
        down = next((f for f in followers if f not in running), None)
        if down is not None:
            raise Failed(f"both followers must be running to outvote the leader; {down} is not")
        members = require(any_member_list(running), "etcd gives no member list")
        narration.append(
            f"{markup.bold(before.leader)} leads (term {before.term}); {followers[0]} and {followers[1]} follow."
        )
        try:
            timing.count_down(3, "Isolating the leader in")
        except Interrupted:
            narration.append("Fault cancelled.")
            raise
        with context(f"could not isolate {before.leader}"):
            isolated = cluster.isolate(Target.service(before.leader), followers)
        isolated_at = time.monotonic()
        narration.append(f"{markup.red(isolated.service)} is cut off from {followers[0]} and {followers[1]}.")
        self.safety_net(isolated)

        # An interruption leaves the heal to the safety net and the end of
        # the show; a finding is narrated, the partition healed, then failed.
        watched: Optional[Failed] = None
        try:
            self.watch_minority(before, followers, members, isolated_at)
        except Failed as why:
            watched = why
            narration.append(markup.red(why.message))
        with context(f"could not heal {isolated.service} (the host heals it when the show ends)"):
            healed = cluster.heal(isolated)
        healed_at = time.monotonic()
        narration.append(f"Healed: {healed.service} hears {followers[0]} and {followers[1]} again.")
        leader, term = wait_until_all_agree(members)
        narration.append(
            f"All three members answer and name one leader again: {markup.green(leader)} (term {term}), "
            f"{time.monotonic() - healed_at:.1f} s after the heal."
        )
        if watched is not None:
            raise watched

    def watch_minority(
        self,
        before: Leadership,
        followers: Sequence[str],
        members: Sequence[api.Member],
        isolated_at: float,
    ) -> None:
        """While the leader is isolated: times the election on the majority
        side, reads what the old leader thinks, and tries a write through it."""
        old = before.leader
        elected = None
        while True:
            elected = new_leader(followers, old, members)
            if elected is not None or time.monotonic() - isolated_at > ELECTION_TIMEOUT:
                break
            timing.pause(POLL)
        failure: Optional[str] = None
        if elected is not None:
            secs = time.monotonic() - isolated_at
            self.minority_election_secs = secs
            narration.append(
                f"The majority side has a new leader, {markup.green(elected.leader)}, {secs:.1f} s after "
                f"the isolation (term {before.term} → {elected.term})."
            )
        else:
            failure = (
                f"{followers[0]} and {followers[1]} named no new leader within {ELECTION_TIMEOUT} s"
            )
            narration.append(f"{failure}.")

        status = member_status(old)
        if status is None:
            narration.append(f"{old} does not answer its status.")
        elif status.leader == status.member_id:
            narration.append(
                f"{old} still answers clients, and still believes it leads (term {status.raft_term})."
            )
        elif status.leader == 0:
            narration.append(
                f"{old} still answers clients but names no leader any more (term {status.raft_term}): "
                "it cannot hear a majority."
            )
        else:
            named = api.leader_name(status, members) or f"member {status.leader:x}"
            narration.append(f"{old} still answers clients and names {named} as leader (term {status.raft_term}).")

        value = f"written through {old} while it was cut off"
        sent_at = time.monotonic()
        try:
            response = probe.http_post(
                member_url(old, "/v3/kv/put"),
                api.put_body(MINORITY_WRITE_KEY, value),
                MINORITY_WRITE_TIMEOUT,
            )
        except ProbeError as e:
            secs = time.monotonic() - sent_at
            if e.kind == "unreachable":
                narration.append(
                    f"A write sent to {old} itself: {markup.red('no commit')} after {secs:.1f} s "
                    f"({markup.escape(e.detail or '')}). Without a majority it cannot commit."
                )
            else:
                why = f"could not send a write to {old}: {e.message}"
                narration.append(f"{markup.escape(why)}.")
                failure = failure or why
        else:
            secs = time.monotonic() - sent_at
            outcome = api.parse_put(response.status, response.body)
            if isinstance(outcome, api.Committed):
                why = (
                    f"{old} committed a write while cut off (revision {outcome.revision}): the "
                    "isolation did not hold"
                )
                narration.append(markup.red(f"{why}."))
                failure = failure or why
            else:
                narration.append(
                    f"A write sent to {old} itself: {markup.red('refused')} after {secs:.1f} s "
                    f"(HTTP {response.status}: {markup.escape(outcome.message)})."
                )
        if failure is not None:
            raise Failed(failure)

    def summarise(self) -> None:
        if self.baseline is not None:
            narration.append(self.baseline.describe())
        if self.election_secs is not None:
            narration.append(f"Leader election: {self.election_secs:.1f} s.")
        if self.quorum_lost_ops is not None:
            narration.append(f"Without quorum: {ops(self.quorum_lost_ops)}{self.percent(self.quorum_lost_ops)}.")
        if self.recovery_secs is not None:
            narration.append(f"Recovered {self.recovery_secs:.1f} s after the restart.")
        if self.slow_leader_p99 is not None:
            before, during, after = self.slow_leader_p99
            narration.append(
                f"Slow leader ({SLOW_DELAY_MS} ms delay): p99 {before:.1f} ms → {during:.1f} ms → {after:.1f} ms."
            )
        if self.minority_election_secs is not None:
            narration.append(
                f"Leader cut off: the majority had a new leader after {self.minority_election_secs:.1f} s."
            )


export_flow(EtcdDemo)
