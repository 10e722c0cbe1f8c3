"""The etcd demo, in Python: lose a follower (nothing visible happens), lose
the leader (an election), lose a second member (no quorum, writes stop),
recover; then slow the leader down (every write waits, p99 rises) and cut it
off from both followers (a minority of one: an election on the other side,
and it cannot commit).

A port of the Rust flow (chapters-wasm/etcd) with guest-sdk-py, chapter for
chapter and sentence for sentence. Who leads is read from etcd itself,
through its v3 JSON gateway, never guessed (`members.py`). Latency and
throughput are the host's, from the load tool's own samples (`latency.py`).
This file is the talk: the chapters, in order.

Build: `guest-sdk-py/build.sh chapters-wasm/etcd-py target/python/etcd-py.wasm`
(scripts/build-flows.sh does).
"""

from __future__ import annotations

import time
from typing import List, Optional, Sequence, Tuple

import etcd_api as api
import latency
from guest_sdk import (
    Chapter,
    Failed,
    FaultAction,
    Flow,
    FlowInfo,
    NewSamples,
    Node,
    ShapeSpec,
    Status,
    Target,
    bold,
    cluster,
    context,
    export_flow,
    green,
    markup,
    narration,
    recipes,
    red,
    say,
    timing,
    workload,
    yellow,
)
from guest_sdk.workload import Baseline, measure_baseline, ops
from members import (
    ELECTION_TIMEOUT,
    MEMBERS,
    POLL,
    Leadership,
    any_member_list,
    leadership,
    member_url,
    running_followers,
    running_members,
    settled_leadership,
    wait_until_all_agree,
    what_the_old_leader_says,
    write_through,
)

VERSION = "0.1.0"
ETCD_SERVICES = "etcd*"
# Times in seconds.
BASELINE_TIMEOUT = 120
DEGRADE_TIMEOUT = 30
RECOVERY_TIMEOUT = 120
#: How long a started member gets until Docker reports it running.
START_TIMEOUT = 30
#: Long enough for several one-second samples after a kill.
OBSERVE = 4
#: The slow-leader chapter's delay on every packet the leader sends, in ms.
SLOW_DELAY_MS = 200
#: Network faults get a safety net (`undo_after`): should the chapter be
#: skipped mid-fault, the host removes it after this. The chapters undo
#: their faults themselves well within it.
SAFETY_NET = 60
#: The linear memory this flow states (`memory-mib`). Measured on these
#: machines: the component starts at 12.7 MiB (13 303 808 bytes: the
#: pre-initialised interpreter and heap), and the whole ten-chapter show on
#: the real cluster completes within a 13 MiB limit (12 MiB fails at start).
#: 32 MiB leaves room for what a run can add (probe bodies up to 1 MiB each,
#: their parsing, heap fragmentation), and is half the host's default.
MEMORY_MIB = 32


def fault_chapter(title: str) -> Chapter:
    """A chapter that injects a fault: SPACE waits until its action is done."""
    return Chapter(title).key_hint("wait for the fault").blocks_advance()


def show_cluster() -> None:
    for node in cluster.list_nodes():
        say("{:<6} {}", node.service, node.state.styled())
    l = leadership(running_members())
    if l is not None:
        say("etcd says: {} leads (Raft term {}).", bold(l.leader), l.term)
    else:
        say("etcd names no leader right now.")


def say_who_leads_now(before: Leadership, now: Optional[Leadership], same: str, none: str) -> None:
    """Who leads now, against `before`: the same leader in the same term is
    the chapter's point (`same`); `none` when nobody names a leader."""
    if now is not None and (now.leader, now.term) == (before.leader, before.term):
        narration.append(f"{now.leader} still leads, same term {now.term}: {same}")
    elif now is not None:
        narration.append(f"Now {now.leader} leads, term {now.term} (was {before.leader} in term {before.term}).")
    else:
        narration.append(none)


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
                fault_chapter("Lose a follower")
                .narration(
                    "SIGKILL a [bold]follower[/]. The leader still has a majority (itself "
                    "and the other follower), so it keeps committing: [green]no election, "
                    "no pause[/]. Then we start the follower again."
                )
                .notes(
                    "Ask the room what will happen before the countdown ends. Point at "
                    "the [green]same term[/] line: no election happened."
                )
                .action(self.lose_follower)
            )
            .chapter(
                fault_chapter("Lose the leader")
                .narration(
                    "SIGKILL the [bold]leader[/]. The followers stop hearing its heartbeats; "
                    "after an election timeout (1 s here) one of them asks for votes and "
                    "the two survivors elect a new leader. Writes wait for it."
                )
                .notes(
                    "Point at the measured election time and the term going up by one. "
                    "The dip in the graph is the writes waiting for the new leader."
                )
                .action(self.lose_leader)
            )
            .chapter(
                fault_chapter("Lose quorum")
                .narration(
                    "SIGKILL a second member. One of three cannot form a majority: "
                    "[red]no write can commit[/] and the clients time out."
                )
                .notes(
                    "This is the one that hurts: the throughput falls to (nearly) zero. "
                    "Stress that the last member is [bold]up[/] yet useless alone: "
                    "availability needs a majority."
                )
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
                fault_chapter("Slow leader")
                .narration(
                    "Now a fault that kills nothing: every packet the [bold]leader[/] sends "
                    "waits [yellow]200 ms[/]. Each write needs the leader's round trip to "
                    "a follower before it commits, so every write gets slower, yet the "
                    "delay is well under the 1 s election timeout: [bold]nobody is "
                    "elected[/]. Watch the p99."
                )
                .notes(
                    "The point: [bold]slow is not down[/]. No alarm based on "
                    '"is the leader alive" fires, yet every client waits. Read the p99 '
                    "before and with the delay, then point at the same term after."
                )
                .action(self.slow_leader)
            )
            .chapter(
                fault_chapter("Minority leader")
                .narration(
                    "Cut the [bold]leader[/] off from both followers, but not from the "
                    "clients. The followers are a majority: they elect a new leader. The "
                    "old one is a [red]minority of one[/]: it still answers clients but "
                    "cannot commit a write. Then we heal the partition."
                )
                .notes(
                    "Point at the election time, then at the write sent to the old leader "
                    "that never commits: a leader without a majority is no leader. After "
                    "the heal the old leader rejoins as a follower, and any entry it took "
                    "alone is discarded."
                )
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
        return f" ({self.baseline.percent(value):.0f}% of baseline)" if self.baseline else ""

    def throughput_now(self) -> str:
        """`1234 ops/s (80% of baseline) (normal)`: the throughput now."""
        sample = workload.current()
        current = sample.ops_per_sec if sample else 0.0
        return f"{ops(current)}{self.percent(current)} ({workload.status()})"

    # --- chapters ----------------------------------------------------------------

    def measure_baseline(self) -> None:
        self.baseline = measure_baseline(BASELINE_TIMEOUT)

    def lose_follower(self) -> None:
        running = running_members()
        before = settled_leadership(running, "etcd names no leader, so no follower can be told apart")
        follower = next((s for s in running if s != before.leader), None)
        if follower is None:
            raise Failed("no running follower to kill")
        say("{} leads; {} is a follower.", before.leader, follower)
        victim = self.kill(Target.service(follower), "Killing a follower in")
        timing.pause(OBSERVE)
        say("Throughput {}.", self.throughput_now())
        now = leadership([s for s in running if s != follower])
        say_who_leads_now(before, now, "losing a follower needs no election.", "The survivors name no leader.")
        recipes.start_and_wait_running(victim, START_TIMEOUT)
        self.victims = [v for v in self.victims if v.id != victim.id]
        say("It catches up from the leader's log.")

    def lose_leader(self) -> None:
        running = running_members()
        before = settled_leadership(running, "etcd names no leader to kill")
        say("{} leads (term {}).", bold(before.leader), before.term)
        victim = self.kill(Target.service(before.leader), "Killing the leader in")
        killed_at = time.monotonic()
        survivors = [s for s in running if s != victim.service]
        elected = timing.poll_until(
            ELECTION_TIMEOUT, POLL, lambda: leadership(survivors, lambda l: l.leader != before.leader)
        )
        if elected is not None:
            self.election_secs = secs = time.monotonic() - killed_at
            say(
                "{} was elected leader {:.1f} s after the kill (term {} → {}).",
                green(elected.leader), secs, before.term, elected.term,
            )
        else:
            say("No new leader within {} s.", ELECTION_TIMEOUT)
        timing.pause(OBSERVE)
        say("Two members left: throughput {}.", self.throughput_now())

    def lose_quorum(self) -> None:
        self.kill(Target.pattern(ETCD_SERVICES), "Killing a second member in")
        started = time.monotonic()
        with context("the workload did not degrade"):
            sample = workload.wait_for(Status.DEGRADED, DEGRADE_TIMEOUT)
        self.quorum_lost_ops = current = sample.ops_per_sec if sample else 0.0
        say(
            "Quorum lost: throughput {}{}, seen {:.1f} s after the kill.",
            red(ops(current)), self.percent(current), time.monotonic() - started,
        )
        l = leadership(running_members())
        if l is not None:
            say("The last member still names {} as leader, but nothing can commit.", l.leader)
        else:
            say("The last member names no leader: it cannot win a vote alone.")

    def recover(self) -> None:
        started = time.monotonic()
        victims, self.victims = self.victims, []
        for victim in victims:
            recipes.start_and_wait_running(victim, START_TIMEOUT)
        with context("throughput has not recovered"):
            sample = workload.wait_for(Status.NORMAL, RECOVERY_TIMEOUT)
        current = sample.ops_per_sec if sample else 0.0
        self.recovery_secs = secs = time.monotonic() - started
        say("Writes are back: {} after {:.1f} s.", green(ops(current)), secs)
        l = leadership(running_members())
        if l is not None:
            say("{} leads, term {}.", l.leader, l.term)

    def slow_leader(self) -> None:
        before = settled_leadership(running_members(), "etcd names no leader to slow down")
        say("{} leads (term {}). Measuring p99 first…", bold(before.leader), before.term)
        samples = NewSamples.from_now()
        with context("no p99 to compare with"):
            before_ms, figures = latency.median_p99(samples)
        say("p99 before: {} (median of {}).", bold(f"{before_ms:.1f} ms"), latency.list_ms(figures))
        recipes.count_down_to_fault(3, "Slowing the leader in")
        spec = ShapeSpec(delay_ms=SLOW_DELAY_MS)
        unshaped_at = time.monotonic()

        def slow() -> Node:
            with context(f"could not slow {before.leader} down"):
                slowed = cluster.shape(Target.service(before.leader), spec)
            say("{} is slowed: {} on every packet it sends.", yellow(slowed.service), spec.describe())
            return slowed

        def unshape(slowed: Node) -> None:
            nonlocal unshaped_at
            cluster.unshape(slowed)
            unshaped_at = time.monotonic()
            say("Removed the delay from {}.", slowed.service)

        with recipes.scoped_fault(slow, SAFETY_NET, unshape):
            try:
                during_ms = self.measure_slowed(before_ms, samples)
            except Failed as why:
                say("Could not measure the slowdown: {}", why.message)
                raise
        say("Waiting for p99 to come back near {:.1f} ms…", before_ms)
        after_ms = latency.wait_p99_back(before_ms, samples)
        say(
            "p99 is back to {} {:.1f} s after the delay was removed (before {:.1f} ms, with the delay {:.1f} ms).",
            green(f"{after_ms:.1f} ms"), time.monotonic() - unshaped_at, before_ms, during_ms,
        )
        self.slow_leader_p99 = (before_ms, during_ms, after_ms)
        now = leadership(running_members())
        say_who_leads_now(before, now, "a slow leader is still the leader.", "etcd names no leader right now.")

    def measure_slowed(self, before_ms: float, samples: NewSamples) -> float:
        """p99 while the leader is slowed, narrated against `before_ms`."""
        samples.next()  # The first sample after the delay may cover time before it.
        during_ms, figures = latency.median_p99(samples)
        line = markup.format(
            "p99 with the delay: {} (median of {}), was {:.1f} ms",
            red(f"{during_ms:.1f} ms"), latency.list_ms(figures), before_ms,
        )
        sample = workload.current()
        if sample is not None:
            line += f"; throughput {ops(sample.ops_per_sec)}{self.percent(sample.ops_per_sec)}"
            if sample.failures_per_sec > 0:
                line += f", {sample.failures_per_sec:.0f} failed/s"
        narration.append(line + ".")
        if latency.near(before_ms, during_ms):
            say("p99 did not rise measurably: the delay does not seem to take effect on this host.")
        return during_ms

    def minority_leader(self) -> None:
        running = running_members()
        before = settled_leadership(running, "etcd names no leader to isolate")
        followers = running_followers(before.leader, running)
        members = any_member_list(running)
        if members is None:
            raise Failed("etcd gives no member list")
        a, b = followers
        say("{} leads (term {}); {} and {} follow.", bold(before.leader), before.term, a, b)
        recipes.count_down_to_fault(3, "Isolating the leader in")
        isolated_at = time.monotonic()
        healed_at: Optional[float] = None

        def isolate() -> Node:
            nonlocal isolated_at
            with context(f"could not isolate {before.leader}"):
                isolated = cluster.isolate(Target.service(before.leader), followers)
            isolated_at = time.monotonic()
            say("{} is cut off from {} and {}.", red(isolated.service), a, b)
            return isolated

        def heal(isolated: Node) -> None:
            nonlocal healed_at
            cluster.heal(isolated)
            healed_at = time.monotonic()
            say("Healed: {} hears {} and {} again.", isolated.service, a, b)

        # A finding is narrated, the partition healed, the rejoin awaited,
        # then the finding raised. Not healed (cut short, or refused): the
        # safety net and the end of the show heal it; nothing to wait for.
        watched: Optional[Failed] = None
        try:
            with recipes.scoped_fault(isolate, SAFETY_NET, heal):
                try:
                    self.watch_minority(before, followers, members, isolated_at)
                except Failed as why:
                    narration.append(red(why.message))
                    raise
        except Failed as why:
            if healed_at is None:
                raise
            watched = why
        leader, term = wait_until_all_agree(members)
        say(
            "All three members answer and name one leader again: {} (term {}), {:.1f} s after the heal.",
            green(leader), term, time.monotonic() - healed_at,
        )
        if watched is not None:
            raise watched

    def watch_minority(
        self, before: Leadership, followers: Sequence[str], members: Sequence[api.Member], isolated_at: float
    ) -> None:
        """While the leader is isolated: times the election on the majority
        side, reads what the old leader thinks, and tries a write through it."""
        old = before.leader
        a, b = followers
        failure: Optional[str] = None
        new_leader = lambda: leadership(followers, lambda l: l.leader != old)  # noqa: E731
        elected = timing.poll_until(ELECTION_TIMEOUT, POLL, new_leader)
        if elected is not None:
            self.minority_election_secs = secs = time.monotonic() - isolated_at
            say(
                "The majority side has a new leader, {}, {:.1f} s after the isolation (term {} → {}).",
                green(elected.leader), secs, before.term, elected.term,
            )
        else:
            failure = f"{a} and {b} named no new leader within {ELECTION_TIMEOUT} s"
            say("{}.", failure)
        narration.append(what_the_old_leader_says(old, members))
        said, refused = write_through(old)
        narration.append(said)
        failure = failure or refused
        if failure is not None:
            raise Failed(failure)

    def summarise(self) -> None:
        if self.baseline is not None:
            narration.append(self.baseline.describe())
        if self.election_secs is not None:
            say("Leader election: {:.1f} s.", self.election_secs)
        if self.quorum_lost_ops is not None:
            say("Without quorum: {}{}.", ops(self.quorum_lost_ops), self.percent(self.quorum_lost_ops))
        if self.recovery_secs is not None:
            say("Recovered {:.1f} s after the restart.", self.recovery_secs)
        if self.slow_leader_p99 is not None:
            before, during, after = self.slow_leader_p99
            narration.append(
                f"Slow leader ({SLOW_DELAY_MS} ms delay): p99 {before:.1f} ms → {during:.1f} ms → {after:.1f} ms."
            )
        if self.minority_election_secs is not None:
            say("Leader cut off: the majority had a new leader after {:.1f} s.", self.minority_election_secs)


export_flow(EtcdDemo)
