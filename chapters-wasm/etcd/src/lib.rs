//! The etcd demo: lose a follower (nothing visible happens), lose the leader
//! (an election), lose a second member (no quorum, writes stop), recover;
//! then slow the leader down (every write waits, p99 rises) and cut it off
//! from both followers (a minority of one: an election on the other side, and
//! it cannot commit).
//!
//! Who leads is read from etcd itself, through its v3 JSON gateway, never
//! guessed: `POST /v3/maintenance/status` names the leader's member id and
//! `POST /v3/cluster/member/list` maps ids to member names, which are the
//! Compose service names in `clusters/etcd/docker-compose.yaml`. Latency is
//! the host's, from the load tool's own samples.

mod api;
mod latency;

use guest_sdk::prelude::*;
use guest_sdk::workload::{Baseline, measure_baseline, ops};
use std::time::{Duration, Instant};

const ETCD_SERVICES: &str = "etcd*";
const MEMBERS: [&str; 3] = ["etcd1", "etcd2", "etcd3"];
const BASELINE_TIMEOUT: Duration = Duration::from_secs(120);
const DEGRADE_TIMEOUT: Duration = Duration::from_secs(30);
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a started member gets until Docker reports it running.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Long enough for several one-second samples after a kill.
const OBSERVE: Duration = Duration::from_secs(4);
/// Election timeout is 1 s in the compose file; allow for several rounds.
const ELECTION_TIMEOUT: Duration = Duration::from_secs(15);
const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);
/// How often the flow asks etcd again while it waits for something.
const POLL: Duration = Duration::from_millis(200);
/// The slow-leader chapter's delay on every packet the leader sends.
const SLOW_DELAY: Duration = Duration::from_millis(200);
/// Network faults get a duration (`undo_after`): should the chapter be
/// skipped mid-fault, the host removes it after this. The chapters undo
/// their faults themselves well within it.
const SAFETY_NET: Duration = Duration::from_secs(60);
/// One-second samples whose median p99 is compared, before and during.
const P99_SAMPLES: usize = 3;
/// Samples without a successful operation tolerated while collecting them.
const P99_SKIPS: usize = 5;
/// How long to wait for the host's next workload sample.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often to look for a new workload sample.
const SAMPLE_POLL: Duration = Duration::from_millis(250);
/// How long p99 gets to come back near its earlier value after `unshape`.
const P99_RECOVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// Consecutive samples near the earlier p99 that count as "back".
const P99_BACK_SAMPLES: usize = 2;
/// A write sent to the isolated leader waits at most this long.
const MINORITY_WRITE_TIMEOUT: Duration = Duration::from_secs(3);
/// The key that write tries to set, apart from the load tool's keys.
const MINORITY_WRITE_KEY: &str = "chaos-demo/written-to-the-minority";
/// How long the healed cluster gets until all three members name one leader.
const REJOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The probe URL of a member. The host maps `etcdN:2379` to the port the
/// presenter published it on, so this works for any `ETCDn_PORT`.
fn member_url(service: &str, path: &str) -> String {
    format!("http://{service}:2379{path}")
}

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
                Chapter::new("Lose a follower")
                    .narration(
                        "SIGKILL a [bold]follower[/]. The leader still has a majority (itself \
                         and the other follower), so it keeps committing: [green]no election, \
                         no pause[/]. Then we start the follower again.",
                    )
                    .key_hint("wait for the fault")
                    .notes(
                        "Ask the room what will happen before the countdown ends. Point at \
                         the [green]same term[/] line: no election happened.",
                    )
                    .blocks_advance()
                    .action(Self::lose_follower),
            )
            .chapter(
                Chapter::new("Lose the leader")
                    .narration(
                        "SIGKILL the [bold]leader[/]. The followers stop hearing its heartbeats; \
                         after an election timeout (1 s here) one of them asks for votes and \
                         the two survivors elect a new leader. Writes wait for it.",
                    )
                    .key_hint("wait for the fault")
                    .notes(
                        "Point at the measured election time and the term going up by one. \
                         The dip in the graph is the writes waiting for the new leader.",
                    )
                    .blocks_advance()
                    .action(Self::lose_leader),
            )
            .chapter(
                Chapter::new("Lose quorum")
                    .narration(
                        "SIGKILL a second member. One of three cannot form a majority: \
                         [red]no write can commit[/] and the clients time out.",
                    )
                    .key_hint("wait for the fault")
                    .notes(
                        "This is the one that hurts: the throughput falls to (nearly) zero. \
                         Stress that the last member is [bold]up[/] yet useless alone: \
                         availability needs a majority.",
                    )
                    .blocks_advance()
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
                Chapter::new("Slow leader")
                    .narration(
                        "Now a fault that kills nothing: every packet the [bold]leader[/] sends \
                         waits [yellow]200 ms[/]. Each write needs the leader's round trip to \
                         a follower before it commits, so every write gets slower, yet the \
                         delay is well under the 1 s election timeout: [bold]nobody is \
                         elected[/]. Watch the p99.",
                    )
                    .key_hint("wait for the fault")
                    .notes(
                        "The point: [bold]slow is not down[/]. No alarm based on \
                         \"is the leader alive\" fires, yet every client waits. Read the p99 \
                         before and with the delay, then point at the same term after.",
                    )
                    .blocks_advance()
                    .action(Self::slow_leader),
            )
            .chapter(
                Chapter::new("Minority leader")
                    .narration(
                        "Cut the [bold]leader[/] off from both followers, but not from the \
                         clients. The followers are a majority: they elect a new leader. The \
                         old one is a [red]minority of one[/]: it still answers clients but \
                         cannot commit a write. Then we heal the partition.",
                    )
                    .key_hint("wait for the fault")
                    .notes(
                        "Point at the election time, then at the write sent to the old leader \
                         that never commits: a leader without a majority is no leader. After \
                         the heal the old leader rejoins as a follower, and any entry it took \
                         alone is discarded.",
                    )
                    .blocks_advance()
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
            .reads_workload();
        for member in MEMBERS {
            info = info.http_probe(&member_url(member, "/v3/"));
        }
        info
    }
}

/// What one member says about leadership.
struct Leadership {
    leader: String,
    term: u64,
}

/// A member's answer to `path` (a POST of `{}`), or `None` when it cannot
/// be reached: a member that does not answer is a finding, not an error.
/// Only an interruption is an error.
fn ask(service: &str, path: &str) -> Result<Option<String>, FlowError> {
    match probe::http_post(&member_url(service, path), "{}", PROBE_TIMEOUT) {
        Ok(response) => Ok(Some(response.body)),
        Err(ProbeError::Interrupted) => Err(FlowError::Interrupted),
        Err(e) => {
            log::debug(&format!("{service}{path}: {}", e.message()));
            Ok(None)
        }
    }
}

/// A member's status, or `None` when it does not answer or answers no status.
fn member_status(service: &str) -> Result<Option<api::Status>, FlowError> {
    Ok(ask(service, "/v3/maintenance/status")?.and_then(|body| api::parse_status(&body).ok()))
}

/// The member list as `service` sees it.
fn member_list(service: &str) -> Result<Option<Vec<api::Member>>, FlowError> {
    Ok(ask(service, "/v3/cluster/member/list")?.and_then(|body| api::parse_members(&body).ok()))
}

/// The member list from the first of `running` that gives it.
fn any_member_list(running: &[String]) -> Result<Option<Vec<api::Member>>, FlowError> {
    for service in running {
        if let Some(members) = member_list(service)? {
            return Ok(Some(members));
        }
    }
    Ok(None)
}

/// Asks the running members, in turn, who leads. `None` when none names a
/// leader it can map to a member (no quorum, or none answers).
fn leadership(running: &[String]) -> Result<Option<Leadership>, FlowError> {
    for service in running {
        let Some(status) = member_status(service)? else {
            continue;
        };
        let Some(members) = member_list(service)? else {
            continue;
        };
        if let Some(leader) = api::leader_name(&status, &members) {
            return Ok(Some(Leadership {
                leader,
                term: status.raft_term,
            }));
        }
    }
    Ok(None)
}

fn running_members() -> Result<Vec<String>, FlowError> {
    Ok(cluster::list_nodes()?
        .into_iter()
        .filter(|n| n.state == NodeState::Running && MEMBERS.contains(&n.service.as_str()))
        .map(|n| n.service)
        .collect())
}

fn show_cluster() -> Result<(), FlowError> {
    for node in cluster::list_nodes()? {
        let state = node.state.to_string();
        let state = if node.state == NodeState::Running {
            markup::green(&state)
        } else {
            markup::red(&state)
        };
        narration::append(&format!("{:<6} {state}", node.service));
    }
    match leadership(&running_members()?)? {
        Some(l) => narration::append(&format!(
            "etcd says: {} leads (Raft term {}).",
            markup::bold(&l.leader),
            l.term
        )),
        None => narration::append("etcd names no leader right now."),
    }
    Ok(())
}

/// The current throughput and the tracker's verdict.
fn throughput_now() -> Result<(f64, Status), FlowError> {
    let current = workload::current()?.map_or(0.0, |s| s.ops_per_sec);
    Ok((current, workload::status()?))
}

/// The first of `followers` that names a leader other than `old`.
fn new_leader(
    followers: &[String],
    old: &str,
    members: &[api::Member],
) -> Result<Option<Leadership>, FlowError> {
    for follower in followers {
        if let Some(status) = member_status(follower)?
            && let Some(leader) = api::leader_name(&status, members)
            && leader != old
        {
            return Ok(Some(Leadership {
                leader,
                term: status.raft_term,
            }));
        }
    }
    Ok(None)
}

/// Polls every member until all answer and name the same leader; returns
/// its name and term. Fails after [`REJOIN_TIMEOUT`] saying what each said.
fn wait_until_all_agree(members: &[api::Member]) -> Result<(String, u64), FlowError> {
    let started = Instant::now();
    loop {
        let mut statuses = Vec::new();
        for member in MEMBERS {
            statuses.push(member_status(member)?);
        }
        if let Some((id, term)) = api::agreed_leader(&statuses)
            && let Some(member) = members.iter().find(|m| m.id == id)
        {
            return Ok((member.name.clone(), term));
        }
        if started.elapsed() > REJOIN_TIMEOUT {
            let said: Vec<String> = MEMBERS
                .iter()
                .zip(&statuses)
                .map(|(service, status)| match status {
                    None => format!("{service} does not answer"),
                    Some(s) if s.leader == 0 => format!("{service} names no leader"),
                    Some(s) => format!(
                        "{service} names {}",
                        members
                            .iter()
                            .find(|m| m.id == s.leader)
                            .map_or_else(|| format!("{:x}", s.leader), |m| m.name.clone())
                    ),
                })
                .collect();
            return Err(format!(
                "{} s after the heal the members do not agree on a leader: {}",
                REJOIN_TIMEOUT.as_secs(),
                said.join(", ")
            )
            .into());
        }
        timing::pause(Duration::from_millis(500))?;
    }
}

/// When the host received its latest workload sample, if any: later reads
/// wait for samples after it.
fn latest_sample_t() -> Result<Option<u64>, FlowError> {
    Ok(workload::current()?.map(|s| s.t_ms))
}

/// Waits for a sample the host received after `after`.
fn next_sample(after: Option<u64>) -> Result<Sample, FlowError> {
    let started = Instant::now();
    loop {
        if let Some(sample) = workload::current()?
            && after.is_none_or(|t| sample.t_ms > t)
        {
            return Ok(sample);
        }
        if started.elapsed() > SAMPLE_TIMEOUT {
            return Err(format!(
                "the workload sent no sample for {} s",
                SAMPLE_TIMEOUT.as_secs()
            )
            .into());
        }
        timing::pause(SAMPLE_POLL)?;
    }
}

/// The p99 (ms) of the successful writes in each of the next `n` samples
/// after `seen` that have some, oldest first; `seen` moves on.
fn next_p99s(n: usize, seen: &mut Option<u64>) -> Result<Vec<f64>, FlowError> {
    let mut figures = Vec::with_capacity(n);
    let mut skipped = 0;
    while figures.len() < n {
        let sample = next_sample(*seen)?;
        *seen = Some(sample.t_ms);
        match latency::ok_p99_ms(&sample) {
            Some(p99) => figures.push(p99),
            None if skipped < P99_SKIPS => skipped += 1,
            None => {
                return Err(format!(
                    "{} workload samples without a p99 of successful operations",
                    P99_SKIPS + 1
                )
                .into());
            }
        }
    }
    Ok(figures)
}

fn median_ms(figures: &[f64]) -> Result<f64, FlowError> {
    latency::median(figures).context("no p99 figures")
}

/// Waits until [`P99_BACK_SAMPLES`] samples in a row have a p99 near
/// `before_ms`; returns the last one. Fails after [`P99_RECOVERY_TIMEOUT`]
/// with the last figure seen.
fn wait_p99_back(before_ms: f64, seen: &mut Option<u64>) -> Result<f64, FlowError> {
    let started = Instant::now();
    let mut streak = 0;
    let mut last = None;
    loop {
        let sample = next_sample(*seen)?;
        *seen = Some(sample.t_ms);
        match latency::ok_p99_ms(&sample) {
            Some(p99) if latency::near(before_ms, p99) => {
                streak += 1;
                if streak >= P99_BACK_SAMPLES {
                    return Ok(p99);
                }
            }
            Some(p99) => {
                streak = 0;
                last = Some(p99);
            }
            None => streak = 0,
        }
        if started.elapsed() > P99_RECOVERY_TIMEOUT {
            let last = last.map_or("none".to_string(), |ms| format!("{ms:.1} ms"));
            return Err(format!(
                "p99 did not come back near {before_ms:.1} ms within {} s (last: {last})",
                P99_RECOVERY_TIMEOUT.as_secs()
            )
            .into());
        }
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

    fn measure_baseline(&mut self) -> Result<(), FlowError> {
        self.baseline = Some(measure_baseline(BASELINE_TIMEOUT)?);
        Ok(())
    }

    fn percent(&self, value: f64) -> String {
        match self.baseline {
            Some(b) => format!(" ({:.0}% of baseline)", b.percent(value)),
            None => String::new(),
        }
    }

    fn lose_follower(&mut self) -> Result<(), FlowError> {
        let running = running_members()?;
        let before = leadership(&running)?
            .context("etcd names no leader, so no follower can be told apart")?;
        let follower = running
            .iter()
            .find(|s| **s != before.leader)
            .cloned()
            .context("no running follower to kill")?;
        narration::append(&format!(
            "{} leads; {} is a follower.",
            before.leader, follower
        ));
        let victim = self.kill(&Target::service(&follower), "Killing a follower in")?;
        timing::pause(OBSERVE)?;
        let (current, status) = throughput_now()?;
        narration::append(&format!(
            "Throughput {}{} ({status}).",
            ops(current),
            self.percent(current)
        ));
        let survivors: Vec<String> = running.into_iter().filter(|s| *s != follower).collect();
        match leadership(&survivors)? {
            Some(after) if after.leader == before.leader && after.term == before.term => {
                narration::append(&format!(
                    "{} still leads, same term {}: losing a follower needs no election.",
                    after.leader, after.term
                ))
            }
            Some(after) => narration::append(&format!(
                "Now {} leads, term {} (was {} in term {}).",
                after.leader, after.term, before.leader, before.term
            )),
            None => narration::append("The survivors name no leader."),
        }
        recipes::start_and_wait_running(&victim.target(), START_TIMEOUT)?;
        self.victims.retain(|v| v.id != victim.id);
        narration::append("It catches up from the leader's log.");
        Ok(())
    }

    fn lose_leader(&mut self) -> Result<(), FlowError> {
        let running = running_members()?;
        let before = leadership(&running)?.context("etcd names no leader to kill")?;
        narration::append(&format!(
            "{} leads (term {}).",
            markup::bold(&before.leader),
            before.term
        ));
        let victim = self.kill(&Target::service(&before.leader), "Killing the leader in")?;
        let killed_at = Instant::now();
        let survivors: Vec<String> = running
            .into_iter()
            .filter(|s| *s != victim.service)
            .collect();
        let elected = loop {
            match leadership(&survivors)? {
                Some(l) if l.leader != before.leader => break Some(l),
                _ if killed_at.elapsed() > ELECTION_TIMEOUT => break None,
                _ => timing::pause(Duration::from_millis(200))?,
            }
        };
        match elected {
            Some(after) => {
                let secs = killed_at.elapsed().as_secs_f64();
                self.election_secs = Some(secs);
                narration::append(&format!(
                    "{} was elected leader {secs:.1} s after the kill (term {} → {}).",
                    markup::green(&after.leader),
                    before.term,
                    after.term
                ));
            }
            None => narration::append(&format!(
                "No new leader within {} s.",
                ELECTION_TIMEOUT.as_secs()
            )),
        }
        timing::pause(OBSERVE)?;
        let (current, status) = throughput_now()?;
        narration::append(&format!(
            "Two members left: throughput {}{} ({status}).",
            ops(current),
            self.percent(current)
        ));
        Ok(())
    }

    fn lose_quorum(&mut self) -> Result<(), FlowError> {
        self.kill(
            &Target::pattern(ETCD_SERVICES),
            "Killing a second member in",
        )?;
        let started = Instant::now();
        let sample = workload::wait_for(Status::Degraded, DEGRADE_TIMEOUT)
            .context("the workload did not degrade")?;
        let current = sample.map_or(0.0, |s| s.ops_per_sec);
        self.quorum_lost_ops = Some(current);
        narration::append(&format!(
            "Quorum lost: throughput {}{}, seen {:.1} s after the kill.",
            markup::red(&ops(current)),
            self.percent(current),
            started.elapsed().as_secs_f64()
        ));
        match leadership(&running_members()?)? {
            Some(l) => narration::append(&format!(
                "The last member still names {} as leader, but nothing can commit.",
                l.leader
            )),
            None => {
                narration::append("The last member names no leader: it cannot win a vote alone.")
            }
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
        narration::append(&format!(
            "Writes are back: {} after {secs:.1} s.",
            markup::green(&ops(current)),
        ));
        if let Some(l) = leadership(&running_members()?)? {
            narration::append(&format!("{} leads, term {}.", l.leader, l.term));
        }
        Ok(())
    }

    /// Asks the host to undo `node`'s network fault after [`SAFETY_NET`]
    /// whatever happens (the chapter undoes it itself long before). A
    /// refusal is narrated, not fatal: the host still undoes every fault
    /// when the show ends.
    fn safety_net(node: &Node) -> Result<(), FlowError> {
        match cluster::undo_after(&node.target(), SAFETY_NET) {
            Ok(_) => {
                narration::append(&markup::dim(&format!(
                    "(Safety net: the host undoes it in {} s whatever happens.)",
                    SAFETY_NET.as_secs()
                )));
                Ok(())
            }
            Err(ClusterError::Interrupted) => Err(FlowError::Interrupted),
            Err(e) => {
                narration::append(&markup::dim(&format!(
                    "(No safety net: {}. The host still undoes it when the show ends.)",
                    e.message()
                )));
                Ok(())
            }
        }
    }

    fn slow_leader(&mut self) -> Result<(), FlowError> {
        let running = running_members()?;
        let before = leadership(&running)?.context("etcd names no leader to slow down")?;
        narration::append(&format!(
            "{} leads (term {}). Measuring p99 first…",
            markup::bold(&before.leader),
            before.term
        ));
        let mut seen = latest_sample_t()?;
        let p99_before = next_p99s(P99_SAMPLES, &mut seen).context("no p99 to compare with")?;
        let before_ms = median_ms(&p99_before)?;
        narration::append(&format!(
            "p99 before: {} (median of {}).",
            markup::bold(&format!("{before_ms:.1} ms")),
            latency::list_ms(&p99_before)
        ));
        if let Err(cancelled) = timing::count_down(3, "Slowing the leader in") {
            narration::append("Fault cancelled.");
            return Err(cancelled);
        }
        let spec = ShapeSpec::new().delay(SLOW_DELAY);
        let slowed = cluster::shape(&Target::service(&before.leader), &spec)
            .context(&format!("could not slow {} down", before.leader))?;
        narration::append(&format!(
            "{} is slowed: {} on every packet it sends.",
            markup::yellow(&slowed.service),
            spec.describe()
        ));
        Self::safety_net(&slowed)?;

        let during = self.measure_slowed(before_ms, &mut seen);
        if let Err(FlowError::Interrupted) = during {
            // The safety net and the end of the show undo the delay.
            return Err(FlowError::Interrupted);
        }
        if let Err(why) = &during {
            narration::append(&format!(
                "Could not measure the slowdown: {}",
                markup::escape(&why.message())
            ));
        }
        let unshaped = cluster::unshape(&slowed.target()).context(&format!(
            "could not remove the delay from {} (the host removes it when the show ends)",
            slowed.service
        ))?;
        let unshaped_at = Instant::now();
        narration::append(&format!("Removed the delay from {}.", unshaped.service));
        let during_ms = during?;
        narration::append(&format!(
            "Waiting for p99 to come back near {before_ms:.1} ms…"
        ));

        let after_ms = wait_p99_back(before_ms, &mut seen)?;
        narration::append(&format!(
            "p99 is back to {} {:.1} s after the delay was removed (before {before_ms:.1} ms, \
             with the delay {during_ms:.1} ms).",
            markup::green(&format!("{after_ms:.1} ms")),
            unshaped_at.elapsed().as_secs_f64()
        ));
        self.slow_leader_p99 = Some((before_ms, during_ms, after_ms));
        match leadership(&running_members()?)? {
            Some(after) if after.leader == before.leader && after.term == before.term => {
                narration::append(&format!(
                    "{} still leads, same term {}: a slow leader is still the leader.",
                    after.leader, after.term
                ))
            }
            Some(after) => narration::append(&format!(
                "Now {} leads, term {} (was {} in term {}).",
                after.leader, after.term, before.leader, before.term
            )),
            None => narration::append("etcd names no leader right now."),
        }
        Ok(())
    }

    /// p99 while the leader is slowed, narrated against `before_ms`.
    fn measure_slowed(&self, before_ms: f64, seen: &mut Option<u64>) -> Result<f64, FlowError> {
        // The first sample after the delay may cover time before it.
        *seen = Some(next_sample(*seen)?.t_ms);
        let p99_during = next_p99s(P99_SAMPLES, seen)?;
        let during_ms = median_ms(&p99_during)?;
        let mut line = format!(
            "p99 with the delay: {} (median of {}), was {before_ms:.1} ms",
            markup::red(&format!("{during_ms:.1} ms")),
            latency::list_ms(&p99_during)
        );
        if let Some(sample) = workload::current()? {
            line.push_str(&format!(
                "; throughput {}{}",
                ops(sample.ops_per_sec),
                self.percent(sample.ops_per_sec)
            ));
            if sample.failures_per_sec > 0.0 {
                line.push_str(&format!(", {:.0} failed/s", sample.failures_per_sec));
            }
        }
        narration::append(&format!("{line}."));
        if latency::near(before_ms, during_ms) {
            narration::append(
                "p99 did not rise measurably: the delay does not seem to take effect on this \
                 host.",
            );
        }
        Ok(during_ms)
    }

    fn minority_leader(&mut self) -> Result<(), FlowError> {
        let running = running_members()?;
        let before = leadership(&running)?.context("etcd names no leader to isolate")?;
        if !MEMBERS.contains(&before.leader.as_str()) {
            return Err(format!(
                "etcd names {} as leader, not one of {MEMBERS:?}",
                before.leader
            )
            .into());
        }
        let followers: Vec<String> = MEMBERS
            .iter()
            .filter(|m| **m != before.leader)
            .map(|m| m.to_string())
            .collect();
        if let Some(down) = followers.iter().find(|f| !running.contains(f)) {
            return Err(format!(
                "both followers must be running to outvote the leader; {down} is not"
            )
            .into());
        }
        let members = any_member_list(&running)?.context("etcd gives no member list")?;
        narration::append(&format!(
            "{} leads (term {}); {} and {} follow.",
            markup::bold(&before.leader),
            before.term,
            followers[0],
            followers[1]
        ));
        if let Err(cancelled) = timing::count_down(3, "Isolating the leader in") {
            narration::append("Fault cancelled.");
            return Err(cancelled);
        }
        let isolated = cluster::isolate(&Target::service(&before.leader), &followers)
            .context(&format!("could not isolate {}", before.leader))?;
        let isolated_at = Instant::now();
        narration::append(&format!(
            "{} is cut off from {} and {}.",
            markup::red(&isolated.service),
            followers[0],
            followers[1]
        ));
        Self::safety_net(&isolated)?;

        let watched = self.watch_minority(&before, &followers, &members, isolated_at);
        if let Err(FlowError::Interrupted) = watched {
            // The safety net and the end of the show heal it.
            return Err(FlowError::Interrupted);
        }
        if let Err(why) = &watched {
            narration::append(&markup::red(&why.message()));
        }
        let healed = cluster::heal(&isolated.target()).context(&format!(
            "could not heal {} (the host heals it when the show ends)",
            isolated.service
        ))?;
        let healed_at = Instant::now();
        narration::append(&format!(
            "Healed: {} hears {} and {} again.",
            healed.service, followers[0], followers[1]
        ));
        let (leader, term) = wait_until_all_agree(&members)?;
        narration::append(&format!(
            "All three members answer and name one leader again: {} (term {}), {:.1} s after \
             the heal.",
            markup::green(&leader),
            term,
            healed_at.elapsed().as_secs_f64()
        ));
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
        let elected = loop {
            if let Some(new) = new_leader(followers, old, members)? {
                break Some(new);
            }
            if isolated_at.elapsed() > ELECTION_TIMEOUT {
                break None;
            }
            timing::pause(POLL)?;
        };
        let mut failure: Option<String> = None;
        match elected {
            Some(new) => {
                let secs = isolated_at.elapsed().as_secs_f64();
                self.minority_election_secs = Some(secs);
                narration::append(&format!(
                    "The majority side has a new leader, {}, {secs:.1} s after the isolation \
                     (term {} → {}).",
                    markup::green(&new.leader),
                    before.term,
                    new.term
                ));
            }
            None => {
                let why = format!(
                    "{} and {} named no new leader within {} s",
                    followers[0],
                    followers[1],
                    ELECTION_TIMEOUT.as_secs()
                );
                narration::append(&format!("{why}."));
                failure = Some(why);
            }
        }

        match member_status(old)? {
            Some(status) if status.leader == status.member_id => narration::append(&format!(
                "{old} still answers clients, and still believes it leads (term {}).",
                status.raft_term
            )),
            Some(status) if status.leader == 0 => narration::append(&format!(
                "{old} still answers clients but names no leader any more (term {}): it cannot \
                 hear a majority.",
                status.raft_term
            )),
            Some(status) => {
                let named = api::leader_name(&status, members)
                    .unwrap_or_else(|| format!("member {:x}", status.leader));
                narration::append(&format!(
                    "{old} still answers clients and names {named} as leader (term {}).",
                    status.raft_term
                ))
            }
            None => narration::append(&format!("{old} does not answer its status.")),
        }

        let value = format!("written through {old} while it was cut off");
        let sent_at = Instant::now();
        let answer = probe::http_post(
            &member_url(old, "/v3/kv/put"),
            &api::put_body(MINORITY_WRITE_KEY, &value),
            MINORITY_WRITE_TIMEOUT,
        );
        let secs = sent_at.elapsed().as_secs_f64();
        match answer {
            Err(ProbeError::Interrupted) => return Err(FlowError::Interrupted),
            Err(ProbeError::Unreachable(why)) => narration::append(&format!(
                "A write sent to {old} itself: {} after {secs:.1} s ({}). Without a \
                 majority it cannot commit.",
                markup::red("no commit"),
                markup::escape(&why)
            )),
            Err(e @ ProbeError::NotPermitted(_)) => {
                let why = format!("could not send a write to {old}: {}", e.message());
                narration::append(&format!("{}.", markup::escape(&why)));
                failure.get_or_insert(why);
            }
            Ok(response) => match api::parse_put(response.status, &response.body) {
                api::PutOutcome::Committed { revision } => {
                    let why = format!(
                        "{old} committed a write while cut off (revision {revision}): the \
                         isolation did not hold"
                    );
                    narration::append(&markup::red(&format!("{why}.")));
                    failure.get_or_insert(why);
                }
                api::PutOutcome::Refused(message) => narration::append(&format!(
                    "A write sent to {old} itself: {} after {secs:.1} s (HTTP {}: {}).",
                    markup::red("refused"),
                    response.status,
                    markup::escape(&message)
                )),
            },
        }
        match failure {
            Some(why) => Err(why.into()),
            None => Ok(()),
        }
    }

    fn summarise(&mut self) -> Result<(), FlowError> {
        if let Some(b) = self.baseline {
            narration::append(&b.describe());
        }
        if let Some(secs) = self.election_secs {
            narration::append(&format!("Leader election: {secs:.1} s."));
        }
        if let Some(current) = self.quorum_lost_ops {
            narration::append(&format!(
                "Without quorum: {}{}.",
                ops(current),
                self.percent(current)
            ));
        }
        if let Some(secs) = self.recovery_secs {
            narration::append(&format!("Recovered {secs:.1} s after the restart."));
        }
        if let Some((before, during, after)) = self.slow_leader_p99 {
            narration::append(&format!(
                "Slow leader ({} ms delay): p99 {before:.1} ms → {during:.1} ms → {after:.1} ms.",
                SLOW_DELAY.as_millis()
            ));
        }
        if let Some(secs) = self.minority_election_secs {
            narration::append(&format!(
                "Leader cut off: the majority had a new leader after {secs:.1} s."
            ));
        }
        Ok(())
    }
}

export_flow!(EtcdDemo);
