//! The etcd demo: lose a follower (nothing visible happens), lose the leader
//! (an election), lose a second member (no quorum, writes stop), recover.
//!
//! Who leads is read from etcd itself, through its v3 JSON gateway, never
//! guessed: `POST /v3/maintenance/status` names the leader's member id and
//! `POST /v3/cluster/member/list` maps ids to member names, which are the
//! Compose service names in `clusters/etcd/docker-compose.yaml`.

mod api;

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
}

impl Flow for EtcdDemo {
    fn describe(&self) -> FlowInfo<Self> {
        let mut info = FlowInfo::new("etcd", env!("CARGO_PKG_VERSION"))
            .description("Kill etcd members: a follower, the leader, then quorum; and recover.")
            .chapter(
                Chapter::new("Intro")
                    .narration(
                        "[bold]etcd[/] replicates every write through [cyan]Raft[/]: the \
                         [bold]leader[/] appends it to its log and commits it once a majority \
                         of members has it.\nWith three members, two are a majority: it \
                         survives the loss of one member, not two.\n\nWatch the throughput \
                         and who leads.",
                    )
                    .key_hint("SPACE begin"),
            )
            .chapter(
                Chapter::new("Cluster health")
                    .narration("Docker's view of the three members, and etcd's own: who leads.")
                    .key_hint("SPACE next")
                    .action(|_| show_cluster()),
            )
            .chapter(
                Chapter::new("Workload baseline")
                    .narration("A load generator writes through etcd's v3 API. We measure a baseline first.")
                    .key_hint("SPACE next once the baseline is measured")
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
                    .blocks_advance()
                    .action(Self::lose_quorum),
            )
            .chapter(
                Chapter::new("Recovery")
                    .narration("Start both members again; they rejoin, elect a leader and catch up from its log.")
                    .key_hint("wait for recovery")
                    .blocks_advance()
                    .auto_advance()
                    .action(Self::recover),
            )
            .chapter(
                Chapter::new("Complete")
                    .narration("[green]Quorum restored.[/]")
                    .key_hint("Q quit")
                    .action(Self::summarise),
            )
            .grant_faults(ETCD_SERVICES, &[FaultAction::Kill])
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

/// Asks the running members, in turn, who leads. `None` when none names a
/// leader it can map to a member (no quorum, or none answers).
fn leadership(running: &[String]) -> Option<Leadership> {
    for service in running {
        let Ok(status) = probe::http_post(
            &member_url(service, "/v3/maintenance/status"),
            "{}",
            PROBE_TIMEOUT,
        ) else {
            continue;
        };
        let Ok(status) = api::parse_status(&status.body) else {
            continue;
        };
        let Ok(members) = probe::http_post(
            &member_url(service, "/v3/cluster/member/list"),
            "{}",
            PROBE_TIMEOUT,
        ) else {
            continue;
        };
        let Ok(members) = api::parse_members(&members.body) else {
            continue;
        };
        if let Some(leader) = api::leader_name(&status, &members) {
            return Some(Leadership {
                leader,
                term: status.raft_term,
            });
        }
    }
    None
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
    match leadership(&running_members()?) {
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
        let before = leadership(&running)
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
        match leadership(&survivors) {
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
        let before = leadership(&running).context("etcd names no leader to kill")?;
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
            match leadership(&survivors) {
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
        match leadership(&running_members()?) {
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
        if let Some(l) = leadership(&running_members()?) {
            narration::append(&format!("{} leads, term {}.", l.leader, l.term));
        }
        Ok(())
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
        Ok(())
    }
}

export_flow!(EtcdDemo);
