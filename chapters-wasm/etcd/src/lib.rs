//! The etcd demo: lose a follower (nothing visible happens), lose the leader
//! (an election), lose a second member (no quorum, writes stop), recover;
//! then slow the leader down (every write waits, p99 rises) and cut it off
//! from both followers (a minority of one: an election on the other side, and
//! it cannot commit).
//!
//! Who leads is read from etcd itself, through its v3 JSON gateway, never
//! guessed (`members.rs`). Latency is the host's, from the load tool's own
//! samples (`latency.rs`). This file is the talk: the chapters, in order.

mod api;
mod latency;
mod members;

use guest_sdk::prelude::*;
use guest_sdk::workload::{Baseline, measure_baseline, ops};
use members::{
    ELECTION_TIMEOUT, Leadership, MEMBERS, POLL, leadership, leadership_where, member_url,
    running_members, settled_leadership, wait_until_all_agree, without,
};
use std::cell::Cell;
use std::time::{Duration, Instant};

const ETCD_SERVICES: &str = "etcd*";
const BASELINE_TIMEOUT: Duration = Duration::from_secs(120);
const DEGRADE_TIMEOUT: Duration = Duration::from_secs(30);
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a started member gets until Docker reports it running.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Long enough for several one-second samples after a kill.
const OBSERVE: Duration = Duration::from_secs(4);
/// The slow-leader chapter's delay on every packet the leader sends.
const SLOW_DELAY: Duration = Duration::from_millis(200);
/// Network faults get a safety net (`undo_after`): should the chapter be
/// skipped mid-fault, the host removes it after this. The chapters undo
/// their faults themselves well within it.
const SAFETY_NET: Duration = Duration::from_secs(60);

#[derive(Default)]
struct EtcdDemo {
    baseline: Option<Baseline>,
    /// Members killed and not started again yet.
    victims: Vec<Node>,
    election_secs: Option<f64>,
    quorum_lost_ops: Option<f64>,
    recovery_secs: Option<f64>,
    /// p99 (ms) before, during and after the slow leader.
    slow_leader_p99: Option<(f64, f64, f64)>,
    /// Seconds from isolating the leader to a new leader on the majority side.
    minority_election_secs: Option<f64>,
}

impl Flow for EtcdDemo {
    fn describe(&self) -> FlowInfo<Self> {
        let mut info = FlowInfo::new("etcd", env!("CARGO_PKG_VERSION"))
            .description(
                "Kill etcd members: a follower, the leader, then quorum; recover; then slow \
                 the leader down and cut it off from its followers.",
            )
            .chapter(
                Chapter::new("Intro")
                    .narration(
                        "[bold]etcd[/] replicates every write through [cyan]Raft[/]: the \
                         [bold]leader[/] appends it to its log and commits it once a majority \
                         of members has it.\nWith three members, two are a majority: it \
                         survives the loss of one member, not two.\n\nWatch the throughput \
                         and who leads.",
                    )
                    .key_hint("SPACE begin")
                    .notes(
                        "Set the stage: three members, one leader, [bold]majority = 2[/]. \
                         Point at the throughput graph: everything we claim is measured \
                         there or asked of etcd itself.",
                    ),
            )
            .chapter(
                Chapter::new("Cluster health")
                    .narration("Docker's view of the three members, and etcd's own: who leads.")
                    .key_hint("SPACE next")
                    .notes(
                        "Point at the leader line: the flow asked etcd \
                         ([dim]/v3/maintenance/status[/]), it did not guess. Mention the Raft \
                         term: it counts elections.",
                    )
                    .action(|_| show_cluster()),
            )
            .chapter(
                Chapter::new("Workload baseline")
                    .narration("A load generator writes through etcd's v3 API. We measure a baseline first.")
                    .key_hint("SPACE next once the baseline is measured")
                    .notes(
                        "The load generator writes through the members' client ports. Read \
                         the baseline ops/s and p99 aloud: later figures are compared against \
                         them.",
                    )
                    .action(Self::measure_baseline),
            )
            .chapter(
                fault_chapter("Lose a follower")
                    .narration(
                        "SIGKILL a [bold]follower[/]. The leader still has a majority (itself \
                         and the other follower), so it keeps committing: [green]no election, \
                         no pause[/]. Then we start the follower again.",
                    )
                    .notes(
                        "Ask the room what will happen before the countdown ends. Point at \
                         the [green]same term[/] line: no election happened.",
                    )
                    .action(Self::lose_follower),
            )
            .chapter(
                fault_chapter("Lose the leader")
                    .narration(
                        "SIGKILL the [bold]leader[/]. The followers stop hearing its heartbeats; \
                         after an election timeout (1 s here) one of them asks for votes and \
                         the two survivors elect a new leader. Writes wait for it.",
                    )
                    .notes(
                        "Point at the measured election time and the term going up by one. \
                         The dip in the graph is the writes waiting for the new leader.",
                    )
                    .action(Self::lose_leader),
            )
            .chapter(
                fault_chapter("Lose quorum")
                    .narration(
                        "SIGKILL a second member. One of three cannot form a majority: \
                         [red]no write can commit[/] and the clients time out.",
                    )
                    .notes(
                        "This is the one that hurts: the throughput falls to (nearly) zero. \
                         Stress that the last member is [bold]up[/] yet useless alone: \
                         availability needs a majority.",
                    )
                    .action(Self::lose_quorum),
            )
            .chapter(
                Chapter::new("Recovery")
                    .narration("Start both members again; they rejoin, elect a leader and catch up from its log.")
                    .key_hint("wait for recovery, then SPACE")
                    .notes(
                        "The killed members kept their Raft logs on their volumes, so they \
                         only catch up. Wait for the recovery time before moving on: the next \
                         two chapters need all three members.",
                    )
                    .blocks_advance()
                    .action(Self::recover),
            )
            .chapter(
                fault_chapter("Slow leader")
                    .narration(
                        "Now a fault that kills nothing: every packet the [bold]leader[/] sends \
                         waits [yellow]200 ms[/]. Each write needs the leader's round trip to \
                         a follower before it commits, so every write gets slower, yet the \
                         delay is well under the 1 s election timeout: [bold]nobody is \
                         elected[/]. Watch the p99.",
                    )
                    .notes(
                        "The point: [bold]slow is not down[/]. No alarm based on \
                         \"is the leader alive\" fires, yet every client waits. Read the p99 \
                         before and with the delay, then point at the same term after.",
                    )
                    .action(Self::slow_leader),
            )
            .chapter(
                fault_chapter("Minority leader")
                    .narration(
                        "Cut the [bold]leader[/] off from both followers, but not from the \
                         clients. The followers are a majority: they elect a new leader. The \
                         old one is a [red]minority of one[/]: it still answers clients but \
                         cannot commit a write. Then we heal the partition.",
                    )
                    .notes(
                        "Point at the election time, then at the write sent to the old leader \
                         that never commits: a leader without a majority is no leader. After \
                         the heal the old leader rejoins as a follower, and any entry it took \
                         alone is discarded.",
                    )
                    .action(Self::minority_leader),
            )
            .chapter(
                Chapter::new("Complete")
                    .narration("[green]Quorum restored.[/]")
                    .key_hint("Q quit")
                    .notes(
                        "Recap the figures on screen: each was measured in this run. The \
                         lesson: Raft trades availability of the minority for consistency, \
                         and latency is a fault too.",
                    )
                    .action(Self::summarise),
            )
            .grant_faults(
                ETCD_SERVICES,
                &[FaultAction::Kill, FaultAction::Network, FaultAction::Shape],
            )
            .peers([ETCD_SERVICES])
            .reads_workload()
            // What Raft promises through every chapter, judged from the load
            // tool's own history check: no acknowledged write is lost and no
            // linearizable read is stale (serializable ones from a cut-off
            // member may be; they are counted apart).
            .hypothesis(Hypothesis::no_stale_reads().continuously().at_end())
            .hypothesis(Hypothesis::no_lost_writes().at_end());
        for member in MEMBERS {
            info = info.http_probe(&member_url(member, "/v3/"));
        }
        info
    }
}

/// A chapter that injects a fault: SPACE waits until its action is done.
fn fault_chapter(title: &str) -> Chapter<EtcdDemo> {
    Chapter::new(title)
        .key_hint("wait for the fault")
        .blocks_advance()
}

fn show_cluster() -> Result<(), FlowError> {
    for node in cluster::list_nodes()? {
        say!("{:<6} {}", node.service, node.state.styled());
    }
    match leadership(&running_members()?)? {
        Some(l) => say!(
            "etcd says: {} leads (Raft term {}).",
            bold(l.leader),
            l.term
        ),
        None => say!("etcd names no leader right now."),
    }
    Ok(())
}

/// Who leads now, against `before`: the same leader in the same term is
/// the chapter's point (`same`); `none` when nobody names a leader.
fn say_who_leads_now(before: &Leadership, now: Option<Leadership>, same: &str, none: &str) {
    let Some(Leadership { leader, term }) = now else {
        return say!("{none}");
    };
    let (was, then) = (&before.leader, before.term);
    if (&leader, term) == (was, then) {
        say!("{leader} still leads, same term {term}: {same}");
    } else {
        say!("Now {leader} leads, term {term} (was {was} in term {then}).");
    }
}

impl EtcdDemo {
    /// Counts down and kills `target`; the victim is remembered for the
    /// recovery chapter.
    fn kill(&mut self, target: &Target, label: &str) -> Result<Node, FlowError> {
        let victim = recipes::count_down_then_kill(target, "SIGKILL", 3, label)?;
        self.victims.push(victim.clone());
        Ok(victim)
    }

    fn percent(&self, value: f64) -> String {
        match self.baseline {
            Some(b) => format!(" ({:.0}% of baseline)", b.percent(value)),
            None => String::new(),
        }
    }

    /// `1234 ops/s (80% of baseline) (normal)`: the throughput now.
    fn throughput_now(&self) -> Result<String, FlowError> {
        let current = workload::current()?.map_or(0.0, |s| s.ops_per_sec);
        let (status, percent) = (workload::status()?, self.percent(current));
        Ok(format!("{}{percent} ({status})", ops(current)))
    }

    fn measure_baseline(&mut self) -> Result<(), FlowError> {
        self.baseline = Some(measure_baseline(BASELINE_TIMEOUT)?);
        Ok(())
    }

    fn lose_follower(&mut self) -> Result<(), FlowError> {
        let running = running_members()?;
        let no_leader = "etcd names no leader, so no follower can be told apart";
        let before = settled_leadership(&running, no_leader)?;
        let followers = without(&running, &before.leader);
        let follower = followers.first().context("no running follower to kill")?;
        say!("{} leads; {follower} is a follower.", before.leader);
        let victim = self.kill(&Target::service(follower), "Killing a follower in")?;
        timing::pause(OBSERVE)?;
        say!("Throughput {}.", self.throughput_now()?);
        let now = leadership(&without(&running, follower))?;
        let same = "losing a follower needs no election.";
        say_who_leads_now(&before, now, same, "The survivors name no leader.");
        recipes::start_and_wait_running(&victim.target(), START_TIMEOUT)?;
        self.victims.retain(|v| v.id != victim.id);
        say!("It catches up from the leader's log.");
        Ok(())
    }

    fn lose_leader(&mut self) -> Result<(), FlowError> {
        let running = running_members()?;
        let before = settled_leadership(&running, "etcd names no leader to kill")?;
        say!("{} leads (term {}).", bold(&before.leader), before.term);
        let victim = self.kill(&Target::service(&before.leader), "Killing the leader in")?;
        let killed_at = Instant::now();
        let survivors = without(&running, &victim.service);
        let elected = || leadership_where(&survivors, |l| l.leader != before.leader);
        let elected = timing::poll_until(ELECTION_TIMEOUT, POLL, elected)?;
        match elected {
            Some(after) => {
                let secs = killed_at.elapsed().as_secs_f64();
                self.election_secs = Some(secs);
                let (from, to) = (before.term, after.term);
                say!(
                    "{} was elected leader {secs:.1} s after the kill (term {from} → {to}).",
                    green(&after.leader)
                );
            }
            None => say!("No new leader within {} s.", ELECTION_TIMEOUT.as_secs()),
        }
        timing::pause(OBSERVE)?;
        say!("Two members left: throughput {}.", self.throughput_now()?);
        Ok(())
    }

    fn lose_quorum(&mut self) -> Result<(), FlowError> {
        let second = Target::pattern(ETCD_SERVICES);
        self.kill(&second, "Killing a second member in")?;
        let started = Instant::now();
        let sample = workload::wait_for(Status::Degraded, DEGRADE_TIMEOUT)
            .context("the workload did not degrade")?;
        let current = sample.map_or(0.0, |s| s.ops_per_sec);
        self.quorum_lost_ops = Some(current);
        let (percent, secs) = (self.percent(current), started.elapsed().as_secs_f64());
        say!(
            "Quorum lost: throughput {}{percent}, seen {secs:.1} s after the kill.",
            red(ops(current))
        );
        match leadership(&running_members()?)? {
            Some(l) => say!(
                "The last member still names {} as leader, but nothing can commit.",
                l.leader
            ),
            None => say!("The last member names no leader: it cannot win a vote alone."),
        }
        Ok(())
    }

    fn recover(&mut self) -> Result<(), FlowError> {
        let started = Instant::now();
        for victim in std::mem::take(&mut self.victims) {
            recipes::start_and_wait_running(&victim.target(), START_TIMEOUT)?;
        }
        let sample = workload::wait_for(Status::Normal, RECOVERY_TIMEOUT)
            .context("throughput has not recovered")?;
        let current = sample.map_or(0.0, |s| s.ops_per_sec);
        let secs = started.elapsed().as_secs_f64();
        self.recovery_secs = Some(secs);
        say!(
            "Writes are back: {} after {secs:.1} s.",
            green(ops(current))
        );
        if let Some(l) = leadership(&running_members()?)? {
            say!("{} leads, term {}.", l.leader, l.term);
        }
        Ok(())
    }

    fn slow_leader(&mut self) -> Result<(), FlowError> {
        let no_leader = "etcd names no leader to slow down";
        let before = settled_leadership(&running_members()?, no_leader)?;
        let (leader, term) = (&before.leader, before.term);
        say!("{} leads (term {term}). Measuring p99 first…", bold(leader));
        let mut samples = NewSamples::from_now()?;
        let (before_ms, figures) =
            latency::median_p99(&mut samples).context("no p99 to compare with")?;
        let (figures, p99) = (latency::list_ms(&figures), format!("{before_ms:.1} ms"));
        say!("p99 before: {} (median of {figures}).", bold(p99));
        recipes::count_down_to_fault(3, "Slowing the leader in")?;
        let spec = ShapeSpec::new().delay(SLOW_DELAY);
        let mut unshaped_at = Instant::now();
        let during_ms = recipes::scoped_fault(
            || {
                let slowed = cluster::shape(&Target::service(leader), &spec)
                    .context(&format!("could not slow {leader} down"))?;
                let (what, service) = (spec.describe(), &slowed.service);
                say!(
                    "{} is slowed: {what} on every packet it sends.",
                    yellow(service)
                );
                Ok(slowed)
            },
            SAFETY_NET,
            |slowed| {
                cluster::unshape(&slowed.target())?;
                unshaped_at = Instant::now();
                say!("Removed the delay from {}.", slowed.service);
                Ok(())
            },
            |_| {
                let during = self.measure_slowed(before_ms, &mut samples);
                if let Err(FlowError::Failed(why)) = &during {
                    say!("Could not measure the slowdown: {why}");
                }
                during
            },
        )?;
        say!("Waiting for p99 to come back near {before_ms:.1} ms…");
        let after_ms = latency::wait_p99_back(before_ms, &mut samples)?;
        let secs = unshaped_at.elapsed().as_secs_f64();
        say!(
            "p99 is back to {} {secs:.1} s after the delay was removed (before {before_ms:.1} \
             ms, with the delay {during_ms:.1} ms).",
            green(format!("{after_ms:.1} ms"))
        );
        self.slow_leader_p99 = Some((before_ms, during_ms, after_ms));
        let now = leadership(&running_members()?)?;
        let same = "a slow leader is still the leader.";
        say_who_leads_now(&before, now, same, "etcd names no leader right now.");
        Ok(())
    }

    /// p99 while the leader is slowed, narrated against `before_ms`.
    fn measure_slowed(&self, before_ms: f64, samples: &mut NewSamples) -> Result<f64, FlowError> {
        samples.next()?; // The first sample after the delay may cover time before it.
        let (during_ms, figures) = latency::median_p99(samples)?;
        let figures = latency::list_ms(&figures);
        let mut line = markup!(
            "p99 with the delay: {} (median of {figures}), was {before_ms:.1} ms",
            red(format!("{during_ms:.1} ms"))
        );
        if let Some(sample) = workload::current()? {
            let current = sample.ops_per_sec;
            line += format!("; throughput {}{}", ops(current), self.percent(current));
            if sample.failures_per_sec > 0.0 {
                line += format!(", {:.0} failed/s", sample.failures_per_sec);
            }
        }
        narration::append(line + ".");
        if latency::near(before_ms, during_ms) {
            say!(
                "p99 did not rise measurably: the delay does not seem to take effect on this \
                  host."
            );
        }
        Ok(during_ms)
    }

    fn minority_leader(&mut self) -> Result<(), FlowError> {
        let running = running_members()?;
        let before = settled_leadership(&running, "etcd names no leader to isolate")?;
        let (leader, term) = (&before.leader, before.term);
        let followers = members::running_followers(leader, &running)?;
        let members = members::any_member_list(&running)?.context("etcd gives no member list")?;
        let (a, b) = (&followers[0], &followers[1]);
        say!("{} leads (term {term}); {a} and {b} follow.", bold(leader));
        recipes::count_down_to_fault(3, "Isolating the leader in")?;
        let isolated_at = Cell::new(Instant::now());
        let mut healed_at = None;
        let watched = recipes::scoped_fault(
            || {
                let isolated = cluster::isolate(&Target::service(leader), &followers)
                    .context(&format!("could not isolate {leader}"))?;
                isolated_at.set(Instant::now());
                say!("{} is cut off from {a} and {b}.", red(&isolated.service));
                Ok(isolated)
            },
            SAFETY_NET,
            |isolated| {
                cluster::heal(&isolated.target())?;
                healed_at = Some(Instant::now());
                say!("Healed: {} hears {a} and {b} again.", isolated.service);
                Ok(())
            },
            |_| {
                let watched = self.watch_minority(&before, &followers, &members, isolated_at.get());
                if let Err(FlowError::Failed(why)) = &watched {
                    say!("{}", red(why));
                }
                watched
            },
        );
        // Not healed (cut short, or refused): the safety net and the end of
        // the show heal it; nothing to wait for.
        let Some(healed_at) = healed_at else {
            return watched;
        };
        let (leader, term) = wait_until_all_agree(&members)?;
        let secs = healed_at.elapsed().as_secs_f64();
        say!(
            "All three members answer and name one leader again: {} (term {term}), {secs:.1} s \
             after the heal.",
            green(&leader)
        );
        watched
    }

    /// While the leader is isolated: times the election on the majority
    /// side, reads what the old leader thinks, and tries a write through it.
    fn watch_minority(
        &mut self,
        before: &Leadership,
        followers: &[String],
        members: &[api::Member],
        isolated_at: Instant,
    ) -> Result<(), FlowError> {
        let old = &before.leader;
        let (a, b) = (&followers[0], &followers[1]);
        let mut failure = None;
        let elected = || leadership_where(followers, |l| l.leader != *old);
        match timing::poll_until(ELECTION_TIMEOUT, POLL, elected)? {
            Some(new) => {
                let secs = isolated_at.elapsed().as_secs_f64();
                self.minority_election_secs = Some(secs);
                let (from, to) = (before.term, new.term);
                say!(
                    "The majority side has a new leader, {}, {secs:.1} s after the isolation \
                     (term {from} → {to}).",
                    green(&new.leader)
                );
            }
            None => {
                let secs = ELECTION_TIMEOUT.as_secs();
                let why = format!("{a} and {b} named no new leader within {secs} s");
                say!("{why}.");
                failure = Some(why);
            }
        }
        say!("{}", members::what_the_old_leader_says(old, members)?);

        let (said, refused) = members::write_through(old)?;
        narration::append(said);
        failure.or(refused).map_or(Ok(()), |why| Err(why.into()))
    }

    fn summarise(&mut self) -> Result<(), FlowError> {
        if let Some(b) = self.baseline {
            narration::append(b.describe());
        }
        if let Some(secs) = self.election_secs {
            say!("Leader election: {secs:.1} s.");
        }
        if let Some(current) = self.quorum_lost_ops {
            say!("Without quorum: {}{}.", ops(current), self.percent(current));
        }
        if let Some(secs) = self.recovery_secs {
            say!("Recovered {secs:.1} s after the restart.");
        }
        if let Some((before, during, after)) = self.slow_leader_p99 {
            let delay = SLOW_DELAY.as_millis();
            say!(
                "Slow leader ({delay} ms delay): p99 {before:.1} ms → {during:.1} ms → \
                  {after:.1} ms."
            );
        }
        if let Some(secs) = self.minority_election_secs {
            say!("Leader cut off: the majority had a new leader after {secs:.1} s.");
        }
        Ok(())
    }
}

export_flow!(EtcdDemo);
