//! The etcd demo: lose one member and keep quorum, lose a second and lose it.

use guest_sdk::prelude::*;
use std::time::{Duration, Instant};

const ETCD_SERVICES: &str = "etcd*";
const BASELINE_TIMEOUT: Duration = Duration::from_secs(120);
const DEGRADE_TIMEOUT: Duration = Duration::from_secs(30);
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(120);
/// Long enough for several one-second samples after the first kill.
const OBSERVE_QUORUM: Duration = Duration::from_secs(4);

#[derive(Default)]
struct EtcdDemo {
    baseline: Option<f64>,
    victims: Vec<Node>,
}

impl Flow for EtcdDemo {
    fn describe(&self) -> FlowInfo {
        FlowInfo::new("etcd", env!("CARGO_PKG_VERSION"))
            .description("Kill etcd members one by one: quorum kept, quorum lost, quorum restored.")
            .chapter(
                Chapter::new("Intro")
                    .narration(
                        "[bold]etcd[/] replicates every write through [cyan]Raft[/] to a majority of \
                         its members.\nWith three members it survives the loss of one, not two.",
                    )
                    .key_hint("SPACE begin"),
            )
            .chapter(Chapter::new("Cluster health").narration("Docker's view of the three members.").key_hint("SPACE next"))
            .chapter(
                Chapter::new("Workload baseline")
                    .narration("A load generator writes through etcd's v3 API. We measure a baseline first.")
                    .key_hint("SPACE next once the baseline is measured"),
            )
            .chapter(
                Chapter::new("Lose one member")
                    .narration("SIGKILL one member. Two of three remain: [green]a majority[/].")
                    .key_hint("wait for the fault")
                    .blocks_advance(),
            )
            .chapter(
                Chapter::new("Lose quorum")
                    .narration("SIGKILL a second member. One of three cannot form a majority: [red]writes stop[/].")
                    .key_hint("wait for the fault")
                    .blocks_advance(),
            )
            .chapter(
                Chapter::new("Recovery")
                    .narration("Start both members again; they rejoin and catch up from the leader.")
                    .key_hint("wait for recovery")
                    .blocks_advance()
                    .auto_advance(),
            )
            .chapter(Chapter::new("Complete").narration("[green]Quorum restored.[/]").key_hint("Q quit"))
            .grant_faults(ETCD_SERVICES, &[FaultAction::Kill])
            .reads_workload()
    }

    fn enter(&mut self, chapter: u32) -> Result<(), String> {
        match chapter {
            1 => show_nodes(),
            2 => self.measure_baseline(),
            3 => match self.kill_one("Killing a member in")? {
                true => self.observe_quorum(),
                false => Ok(()),
            },
            4 => match self.kill_one("Killing a second member in")? {
                true => self.expect_degraded(),
                false => Ok(()),
            },
            5 => self.recover(),
            _ => Ok(()),
        }
    }
}

fn ops(value: f64) -> String {
    format!("{value:.0} ops/s")
}

fn show_nodes() -> Result<(), String> {
    for node in cluster::list_nodes().map_err(|e| e.message())? {
        let state = node.state.to_string();
        let state = if node.state == NodeState::Running {
            markup::green(&state)
        } else {
            markup::red(&state)
        };
        narration::append(&format!("{:<6} {state}", node.service));
    }
    Ok(())
}

impl EtcdDemo {
    fn measure_baseline(&mut self) -> Result<(), String> {
        narration::append("Measuring…");
        match workload::wait_for(Status::Normal, BASELINE_TIMEOUT) {
            Ok(_) => {
                self.baseline = workload::baseline().map_err(|e| e.message())?;
                if let Some(baseline) = self.baseline {
                    narration::append(&format!("Baseline: {}", markup::bold(&ops(baseline))));
                }
                Ok(())
            }
            Err(workload::WorkloadError::Interrupted) => Ok(()),
            Err(e) => Err(format!("no baseline: {}", e.message())),
        }
    }

    /// Counts down, kills a random running member, and waits until Docker
    /// reports it exited. `Ok(false)` when the presenter cancelled.
    fn kill_one(&mut self, label: &str) -> Result<bool, String> {
        if !timing::countdown(3, label) {
            narration::append("Fault cancelled.");
            return Ok(false);
        }
        let victim =
            cluster::kill(&Target::pattern(ETCD_SERVICES), "SIGKILL").map_err(|e| e.message())?;
        narration::append(&format!("Killed {}.", markup::red(&victim.service)));
        let seen = cluster::wait_for(&victim.id, NodeState::Exited, Duration::from_secs(10));
        self.victims.push(victim);
        seen.map_err(|e| format!("Docker did not report the exit: {}", e.message()))?;
        Ok(true)
    }

    fn observe_quorum(&mut self) -> Result<(), String> {
        if !timing::sleep(OBSERVE_QUORUM) {
            return Ok(());
        }
        let current = workload::current()
            .map_err(|e| e.message())?
            .map(|s| s.ops_per_sec)
            .unwrap_or(0.0);
        let status = workload::status().map_err(|e| e.message())?;
        narration::append(&format!(
            "Two members left: throughput {} ({status}).",
            ops(current)
        ));
        Ok(())
    }

    fn expect_degraded(&mut self) -> Result<(), String> {
        let started = Instant::now();
        match workload::wait_for(Status::Degraded, DEGRADE_TIMEOUT) {
            Ok(sample) => {
                let current = sample.map(|s| s.ops_per_sec).unwrap_or(0.0);
                let share = self
                    .baseline
                    .filter(|b| *b > 0.0)
                    .map(|b| 100.0 * current / b)
                    .unwrap_or(0.0);
                narration::append(&format!(
                    "Quorum lost: throughput {} ({share:.0}% of baseline), seen {:.1} s after the kill.",
                    markup::red(&ops(current)),
                    started.elapsed().as_secs_f64()
                ));
                Ok(())
            }
            Err(workload::WorkloadError::Interrupted) => Ok(()),
            Err(e) => Err(format!("the workload did not degrade: {}", e.message())),
        }
    }

    fn recover(&mut self) -> Result<(), String> {
        let started = Instant::now();
        for victim in &self.victims {
            cluster::start(&victim.target()).map_err(|e| e.message())?;
        }
        for victim in self.victims.drain(..) {
            cluster::wait_for(&victim.id, NodeState::Running, Duration::from_secs(30))
                .map_err(|e| e.message())?;
            narration::append(&format!(
                "{} is {}.",
                victim.service,
                markup::green("running")
            ));
        }
        match workload::wait_for(Status::Normal, RECOVERY_TIMEOUT) {
            Ok(sample) => {
                let current = sample.map(|s| s.ops_per_sec).unwrap_or(0.0);
                narration::append(&format!(
                    "Writes are back: {} after {:.1} s.",
                    markup::green(&ops(current)),
                    started.elapsed().as_secs_f64()
                ));
                Ok(())
            }
            Err(workload::WorkloadError::Interrupted) => Ok(()),
            Err(e) => Err(format!("throughput has not recovered: {}", e.message())),
        }
    }
}

export_flow!(EtcdDemo);
