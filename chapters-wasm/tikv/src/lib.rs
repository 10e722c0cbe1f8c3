//! The TiKV demo: kill a random TiKV store under load and watch Raft recover.

use guest_sdk::prelude::*;
use std::time::{Duration, Instant};

const TIKV_SERVICES: &str = "tikv*";
const BASELINE_TIMEOUT: Duration = Duration::from_secs(180);
const DETECTION_TIMEOUT: Duration = Duration::from_secs(60);
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(180);

#[derive(Default)]
struct TikvDemo {
    baseline: Option<f64>,
    victim: Option<Node>,
    killed_at: Option<Instant>,
}

impl Flow for TikvDemo {
    fn describe(&self) -> FlowInfo {
        FlowInfo::new("tikv", env!("CARGO_PKG_VERSION"))
            .description("Kill a random TiKV store under a live YCSB workload and watch it recover.")
            .chapter(
                Chapter::new("Intro")
                    .narration(
                        "[bold]TiKV[/] keeps every region in a [cyan]Raft group[/] of three replicas, \
                         one per store.\nA region stays writable while a majority (2 of 3) of its \
                         replicas answer.\n\nIn this demo we kill one store [bold]for real[/] while \
                         a YCSB workload runs, and measure what the clients see.",
                    )
                    .key_hint("SPACE begin"),
            )
            .chapter(
                Chapter::new("Cluster health")
                    .narration("Docker's view of the cluster: one PD, three TiKV stores, one load generator.")
                    .key_hint("SPACE next"),
            )
            .chapter(
                Chapter::new("Workload baseline")
                    .narration("go-ycsb is reading and writing. We measure a baseline before we break anything.")
                    .key_hint("SPACE next once the baseline is measured"),
            )
            .chapter(
                Chapter::new("Fault injection")
                    .narration("Now we [red]SIGKILL[/] one TiKV store, chosen at random. No graceful shutdown.")
                    .key_hint("wait for the fault")
                    .blocks_advance(),
            )
            .chapter(
                Chapter::new("Detection")
                    .narration(
                        "Regions whose leader lived on the dead store stop answering until the \
                         survivors notice the missing heartbeats and elect new leaders.\n\
                         [bold]Watch the throughput.[/]",
                    )
                    .key_hint("SPACE restart the store"),
            )
            .chapter(
                Chapter::new("Recovery")
                    .narration("We start the store again. It rejoins its Raft groups and catches up from the leaders' logs.")
                    .key_hint("wait for recovery")
                    .blocks_advance()
                    .auto_advance(),
            )
            .chapter(
                Chapter::new("Complete")
                    .narration("[green]The cluster is whole again.[/]")
                    .key_hint("Q quit"),
            )
            .grant_faults(TIKV_SERVICES, &[FaultAction::Kill])
            .reads_workload()
            .default_workload("service:go-ycsb")
    }

    fn enter(&mut self, chapter: u32) -> Result<(), String> {
        match chapter {
            1 => show_nodes(),
            2 => self.measure_baseline(),
            3 => self.inject_fault(),
            4 => self.detect(),
            5 => self.recover(),
            6 => self.summarise(),
            _ => Ok(()),
        }
    }
}

fn show_nodes() -> Result<(), String> {
    let nodes = cluster::list_nodes().map_err(|e| e.message())?;
    for node in &nodes {
        let state = match node.state {
            NodeState::Running => markup::green(&node.state.to_string()),
            _ => markup::red(&node.state.to_string()),
        };
        narration::append(&format!("{:<8} {state}", node.service));
    }
    Ok(())
}

fn ops(value: f64) -> String {
    format!("{value:.0} ops/s")
}

impl TikvDemo {
    fn measure_baseline(&mut self) -> Result<(), String> {
        narration::append("Measuring…");
        match workload::wait_for(Status::Normal, BASELINE_TIMEOUT) {
            Ok(_) => {
                let baseline = workload::baseline().map_err(|e| e.message())?;
                self.baseline = baseline;
                if let Some(baseline) = baseline {
                    narration::append(&format!("Baseline: {}", markup::bold(&ops(baseline))));
                }
                Ok(())
            }
            Err(workload::WorkloadError::Interrupted) => Ok(()),
            Err(e) => Err(format!("no baseline: {}", e.message())),
        }
    }

    fn inject_fault(&mut self) -> Result<(), String> {
        if !timing::countdown(3, "Injecting fault in") {
            narration::append("Fault cancelled.");
            return Ok(());
        }
        let victim =
            cluster::kill(&Target::pattern(TIKV_SERVICES), "SIGKILL").map_err(|e| e.message())?;
        self.killed_at = Some(Instant::now());
        narration::append(&format!(
            "Killed {} ({}).",
            markup::red(&victim.service),
            victim.container
        ));
        let seen = cluster::wait_for(&victim.id, NodeState::Exited, Duration::from_secs(10));
        self.victim = Some(victim);
        match seen {
            Ok(node) => narration::append(&format!(
                "Docker reports {} {}.",
                node.service,
                markup::red("exited")
            )),
            Err(e) => narration::append(&format!(
                "Docker has not reported the exit yet: {}",
                e.message()
            )),
        }
        Ok(())
    }

    fn detect(&mut self) -> Result<(), String> {
        match workload::wait_for(Status::Degraded, DETECTION_TIMEOUT) {
            Ok(sample) => {
                let current = sample.as_ref().map(|s| s.ops_per_sec).unwrap_or(0.0);
                let mut line = format!("Throughput fell to {}", markup::red(&ops(current)));
                if let Some(baseline) = self.baseline.filter(|b| *b > 0.0) {
                    line.push_str(&format!(
                        " ({:.0}% of the {} baseline)",
                        100.0 * current / baseline,
                        ops(baseline)
                    ));
                }
                if let Some(p99) = sample.as_ref().and_then(|s| s.worst_p99_ms()) {
                    line.push_str(&format!(", p99 {p99:.0} ms"));
                }
                if let Some(at) = self.killed_at {
                    line.push_str(&format!(
                        ", {:.1} s after the kill",
                        at.elapsed().as_secs_f64()
                    ));
                }
                narration::append(&format!("{line}."));
                Ok(())
            }
            Err(workload::WorkloadError::Timeout) => {
                let current = workload::current()
                    .ok()
                    .flatten()
                    .map(|s| s.ops_per_sec)
                    .unwrap_or(0.0);
                narration::append(&format!(
                    "The cluster absorbed the loss: throughput stayed at {} (not below half of the baseline).",
                    ops(current)
                ));
                Ok(())
            }
            Err(workload::WorkloadError::Interrupted) => Ok(()),
            Err(e) => Err(e.message()),
        }
    }

    fn recover(&mut self) -> Result<(), String> {
        let Some(victim) = self.victim.take() else {
            narration::append("No store was killed; nothing to restart.");
            return Ok(());
        };
        let started = Instant::now();
        cluster::start(&victim.target()).map_err(|e| e.message())?;
        cluster::wait_for(&victim.id, NodeState::Running, Duration::from_secs(30))
            .map_err(|e| e.message())?;
        narration::append(&format!(
            "{} is {}.",
            victim.service,
            markup::green("running")
        ));
        match workload::wait_for(Status::Normal, RECOVERY_TIMEOUT) {
            Ok(sample) => {
                let current = sample.map(|s| s.ops_per_sec).unwrap_or(0.0);
                narration::append(&format!(
                    "Throughput is back to {} after {:.1} s.",
                    markup::green(&ops(current)),
                    started.elapsed().as_secs_f64()
                ));
                Ok(())
            }
            Err(workload::WorkloadError::Interrupted) => Ok(()),
            Err(e) => Err(format!("throughput has not recovered: {}", e.message())),
        }
    }

    fn summarise(&mut self) -> Result<(), String> {
        if let (Some(baseline), Ok(Some(sample))) = (self.baseline, workload::current()) {
            narration::append(&format!(
                "Baseline {}, now {}.",
                ops(baseline),
                ops(sample.ops_per_sec)
            ));
        }
        Ok(())
    }
}

export_flow!(TikvDemo);
