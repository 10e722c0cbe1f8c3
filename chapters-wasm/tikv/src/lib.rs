//! The TiKV demo: kill a random TiKV store under a live YCSB workload and
//! watch Raft recover, with the figures the clients saw and what PD says.

mod pd;

use guest_sdk::prelude::*;
use guest_sdk::workload::{Baseline, measure_baseline, ops};
use std::time::{Duration, Instant};

const TIKV_SERVICES: &str = "tikv*";
/// PD's API as the presenter's compose file names it; the host maps `pd0:2379`
/// to the port Docker published.
const PD_API: &str = "http://pd0:2379/pd/api/v1/";
const BASELINE_TIMEOUT: Duration = Duration::from_secs(180);
const DETECTION_TIMEOUT: Duration = Duration::from_secs(60);
/// PD calls a silent store Disconnected after ~20 s of missed heartbeats.
const PD_DISCONNECT_WAIT: Duration = Duration::from_secs(40);
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(180);
/// How long the started store gets until Docker reports it running.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Default)]
struct TikvDemo {
    baseline: Option<Baseline>,
    victim: Option<Node>,
    killed_at: Option<Instant>,
    /// Seconds from the kill to the first degraded sample.
    dip_after: Option<f64>,
    /// The lowest one-second throughput seen after the kill.
    trough: Option<f64>,
    p99_during_ms: Option<f64>,
    p99_after_ms: Option<f64>,
    /// Seconds from the kill to throughput back to normal.
    recovered_after: Option<f64>,
}

impl Flow for TikvDemo {
    fn describe(&self) -> FlowInfo<Self> {
        FlowInfo::new("tikv", env!("CARGO_PKG_VERSION"))
            .description("Kill a random TiKV store under a live YCSB workload and watch it recover.")
            .chapter(
                Chapter::new("Intro")
                    .narration(
                        "[bold]TiKV[/] splits the keyspace into [cyan]regions[/]; each region is a \
                         [cyan]Raft group[/] of three replicas, one per store. One replica \
                         leads and takes the reads and writes.\nA region stays available while \
                         a majority (2 of 3) of its replicas answer.\n\nWe will kill one store \
                         [bold]for real[/] while go-ycsb runs. Watch three things: the \
                         throughput dip, the p99 latency, and how long until it is back.",
                    )
                    .key_hint("SPACE begin")
                    .notes(
                        "Explain regions and Raft groups with the three-store picture in mind. \
                         Name the three things to watch: [bold]dip, p99, time to recover[/].",
                    ),
            )
            .chapter(
                Chapter::new("Cluster health")
                    .narration(
                        "Docker's view (one PD, three TiKV stores, one load generator) and PD's: \
                         the state of each store and how many region leaders it holds.",
                    )
                    .key_hint("SPACE next")
                    .notes(
                        "Point at PD's leader counts: leaders are spread over the stores, so \
                         killing one store hits only the regions it leads.",
                    )
                    .action(|_| show_cluster()),
            )
            .chapter(
                Chapter::new("Workload baseline")
                    .narration("go-ycsb runs workload A (50% reads, 50% updates). We measure a baseline before we break anything.")
                    .key_hint("SPACE next once the baseline is measured")
                    .notes(
                        "Read the baseline ops/s and p99 aloud: the dip and the recovery are \
                         measured against them.",
                    )
                    .action(Self::measure_baseline),
            )
            .chapter(
                Chapter::new("Fault injection")
                    .narration(
                        "Now we [red]SIGKILL[/] one TiKV store, chosen at random. No graceful \
                         shutdown: its region leaders vanish mid-request.",
                    )
                    .key_hint("wait for the fault")
                    .notes(
                        "A real SIGKILL through Docker, no graceful shutdown. Point at the \
                         node turning red in the cluster panel.",
                    )
                    .blocks_advance()
                    .action(Self::inject_fault),
            )
            .chapter(
                Chapter::new("Detection")
                    .narration(
                        "Regions whose leader lived on the dead store answer nothing until the \
                         other two replicas miss enough heartbeats to call an election \
                         (about 10 s with TiKV's defaults) and elect a new leader. Regions led \
                         elsewhere carry on: the dip is partial.\n[bold]Watch the throughput \
                         and the p99.[/] Then PD's verdict.",
                    )
                    .key_hint("SPACE restart the store")
                    .notes(
                        "Point at the graph: the dip is [bold]partial[/], only the regions led \
                         by the dead store stall until their elections. Then PD's verdict: \
                         [yellow]Disconnected[/] is not Down, so no replica is moved yet.",
                    )
                    .action(Self::detect),
            )
            .chapter(
                Chapter::new("Recovery")
                    .narration(
                        "We start the store again. Its replicas rejoin their Raft groups as \
                         followers and catch up from the leaders' logs; PD then moves some \
                         leaders back to balance the load.",
                    )
                    .key_hint("wait for recovery")
                    .notes(
                        "The store rejoins as a follower of every region and catches up from \
                         the leaders' logs (or a snapshot if it fell too far behind). Mention \
                         that PD rebalances leaders afterwards.",
                    )
                    .blocks_advance()
                    .auto_advance()
                    .action(Self::recover),
            )
            .chapter(
                Chapter::new("Complete")
                    .narration("[green]The cluster is whole again.[/] What the clients saw:")
                    .key_hint("Q quit")
                    .notes(
                        "Recap the measured figures: baseline, dip, p99 before, during and \
                         after, and the time to normal. Every one came from go-ycsb's own \
                         output in this run.",
                    )
                    .action(Self::summarise),
            )
            .grant_faults(TIKV_SERVICES, &[FaultAction::Kill])
            .reads_workload()
            .http_probe(PD_API)
            .default_workload("service:go-ycsb")
    }
}

/// PD's store list, or a sentence saying why it is not available.
fn pd_stores() -> Result<Vec<pd::Store>, FlowError> {
    let url = format!("{PD_API}stores");
    let response = probe::http_get(&url, PROBE_TIMEOUT)?;
    if response.status != 200 {
        return Err(format!("PD answered HTTP {}", response.status).into());
    }
    Ok(pd::parse_stores(&response.body)?)
}

/// PD's store list, or `None` once the audience was told why PD cannot say:
/// its view is a bonus, so only an interruption ends the chapter.
fn pd_stores_or_say_why() -> Result<Option<Vec<pd::Store>>, FlowError> {
    match pd_stores() {
        Ok(stores) => Ok(Some(stores)),
        Err(FlowError::Interrupted) => Err(FlowError::Interrupted),
        Err(why) => {
            narration::append(format!("PD's store view is unavailable: {why}"));
            Ok(None)
        }
    }
}

fn narrate_stores(stores: &[pd::Store]) {
    for store in stores {
        let state = match store.state.as_str() {
            "Up" => markup::green(&store.state),
            "Disconnected" => markup::yellow(&store.state),
            _ => markup::red(&store.state),
        };
        narration::append(
            format!("PD: store {} ({}) ", store.id, store.service())
                + state
                + format!(
                    ", {} leaders / {} regions",
                    store.leader_count, store.region_count
                ),
        );
    }
}

fn show_cluster() -> Result<(), FlowError> {
    for node in cluster::list_nodes()? {
        narration::append(format!("{:<8} ", node.service) + node.state.styled());
    }
    if let Some(stores) = pd_stores_or_say_why()? {
        narrate_stores(&stores);
    }
    Ok(())
}

/// The lowest throughput of the recent window (it covers the kill).
fn trough() -> Option<f64> {
    workload::history().ok()?.into_iter().reduce(f64::min)
}

impl TikvDemo {
    fn percent(&self, value: f64) -> String {
        match self.baseline {
            Some(b) => format!(" ({:.0}% of the baseline)", b.percent(value)),
            None => String::new(),
        }
    }

    fn measure_baseline(&mut self) -> Result<(), FlowError> {
        self.baseline = Some(measure_baseline(BASELINE_TIMEOUT)?);
        Ok(())
    }

    fn inject_fault(&mut self) -> Result<(), FlowError> {
        let victim = recipes::count_down_then_kill(
            &Target::pattern(TIKV_SERVICES),
            "SIGKILL",
            3,
            "Injecting fault in",
        )?;
        // Docker reports a SIGKILLed store exited at once, so this is the
        // moment of the kill.
        self.killed_at = Some(Instant::now());
        self.victim = Some(victim);
        Ok(())
    }

    fn detect(&mut self) -> Result<(), FlowError> {
        match workload::wait_for(Status::Degraded, DETECTION_TIMEOUT) {
            Ok(sample) => {
                let current = sample.as_ref().map_or(0.0, |s| s.ops_per_sec);
                self.dip_after = self.killed_at.map(|at| at.elapsed().as_secs_f64());
                self.p99_during_ms = sample.as_ref().and_then(|s| s.worst_p99_ms());
                let mut line =
                    "Throughput fell to " + markup::red(ops(current)) + self.percent(current);
                if let Some(p99) = self.p99_during_ms {
                    line += format!(", p99 {p99:.0} ms");
                }
                if let Some(after) = self.dip_after {
                    line += format!(", {after:.1} s after the kill");
                }
                narration::append(line + ".");
            }
            Err(WorkloadError::Timeout) => {
                let current = workload::current()
                    .ok()
                    .flatten()
                    .map_or(0.0, |s| s.ops_per_sec);
                narration::append(format!(
                    "The cluster absorbed the loss: throughput stayed at {} (never below half of the baseline).",
                    ops(current)
                ));
            }
            Err(e) => return Err(e.into()),
        }
        self.watch_pd()
    }

    /// Polls PD until it stops calling the victim Up, and says what PD says.
    fn watch_pd(&mut self) -> Result<(), FlowError> {
        let Some(victim) = self.victim.clone() else {
            return Ok(());
        };
        narration::append("Asking PD about the dead store…");
        let started = Instant::now();
        loop {
            let Some(stores) = pd_stores_or_say_why()? else {
                return Ok(());
            };
            let dead = stores.iter().find(|s| s.service() == victim.service);
            if let Some(store) = dead.filter(|s| s.state != "Up") {
                let since = self
                    .killed_at
                    .map(|at| format!(" {:.0} s after the kill", at.elapsed().as_secs_f64()))
                    .unwrap_or_default();
                narrate_stores(&stores);
                narration::append(
                    format!("PD calls store {} ", store.id)
                        + markup::yellow(&store.state)
                        + format!("{since}: {}.", store.meaning()),
                );
                if store.state == "Disconnected" {
                    narration::append(
                        "It would call it Down only after max-store-down-time (30 min by default) \
                         and only then re-create its replicas on other stores. With three \
                         stores there is nowhere else to put a third replica: the regions run \
                         on two.",
                    );
                }
                break;
            }
            if started.elapsed() > PD_DISCONNECT_WAIT {
                let state = dead.map_or("not listed", |s| s.state.as_str());
                narration::append(format!(
                    "After {} s PD still reports {}: {state}.",
                    PD_DISCONNECT_WAIT.as_secs(),
                    victim.service
                ));
                break;
            }
            timing::pause(Duration::from_secs(2))?;
        }
        if let Some(low) = trough() {
            self.trough = Some(low);
            narration::append(format!(
                "Lowest one-second throughput so far: {}{}.",
                ops(low),
                self.percent(low)
            ));
        }
        Ok(())
    }

    fn recover(&mut self) -> Result<(), FlowError> {
        let Some(victim) = self.victim.take() else {
            narration::append("No store was killed; nothing to restart.");
            return Ok(());
        };
        let started = Instant::now();
        recipes::start_and_wait_running(&victim.target(), START_TIMEOUT)?;
        let sample = workload::wait_for(Status::Normal, RECOVERY_TIMEOUT)
            .context("throughput has not recovered")?;
        let current = sample.as_ref().map_or(0.0, |s| s.ops_per_sec);
        self.p99_after_ms = sample.as_ref().and_then(|s| s.worst_p99_ms());
        self.recovered_after = self.killed_at.map(|at| at.elapsed().as_secs_f64());
        narration::append(
            "Throughput is back to "
                + markup::green(ops(current))
                + format!(
                    " {:.1} s after the restart.",
                    started.elapsed().as_secs_f64()
                ),
        );
        if let Some(stores) = pd_stores_or_say_why()? {
            narrate_stores(&stores);
        }
        Ok(())
    }

    fn summarise(&mut self) -> Result<(), FlowError> {
        let ms = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.0} ms"));
        let secs = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.1} s"));
        if let Some(b) = self.baseline {
            narration::append(b.describe());
        }
        if let Some(low) = self.trough {
            narration::append(format!("Dip: {}{}", ops(low), self.percent(low)));
        }
        narration::append(format!(
            "p99: before {}, during {}, after {}",
            ms(self.baseline.and_then(|b| b.p99_ms)),
            ms(self.p99_during_ms),
            ms(self.p99_after_ms)
        ));
        narration::append(format!(
            "Degraded after {}; back to normal {} after the kill.",
            secs(self.dip_after),
            secs(self.recovered_after)
        ));
        Ok(())
    }
}

export_flow!(TikvDemo);
