//! The flow tests/faults.rs drives: one chapter per fault kind on the etcd test
//! cluster (services etcd1..etcd3), so a test picks a scenario by how many
//! chapters its key script walks through. The chapters leave their faults
//! outstanding on purpose: undoing them is the host's job under test.

use guest_sdk::prelude::*;
use std::time::Duration;

const SERVICES: &str = "etcd*";
const STATE_TIMEOUT: Duration = Duration::from_secs(60);
const SOAK_CYCLES: u32 = 50;
/// Long enough for the test to read the host's memory at a soak marker.
const MARKER_HOLD: Duration = Duration::from_secs(2);
const UNDO_AFTER: Duration = Duration::from_millis(1500);

#[derive(Default)]
struct Faults;

/// The chapters, in order; tests/faults.rs counts on these indices.
const CHAPTERS: [&str; 10] = [
    "Intro",
    "Break: kill etcd1, stop etcd2, pause etcd3",
    "Trap",
    "Undo everything by hand",
    "Pause etcd3",
    "Unpause etcd3",
    "Partition etcd1",
    "Heal etcd1",
    "Kill etcd2 for 1.5s",
    "Soak: 50 kill/start cycles",
];

impl Flow for Faults {
    fn describe(&self) -> FlowInfo {
        let mut info = FlowInfo::new("faults", env!("CARGO_PKG_VERSION"))
            .description("Every fault kind the host offers, for the fault tests.");
        for title in CHAPTERS {
            info = info.chapter(Chapter::new(title).narration(title));
        }
        info.grant_faults(
            SERVICES,
            &[
                FaultAction::Kill,
                FaultAction::Stop,
                FaultAction::Pause,
                FaultAction::Restart,
                FaultAction::Network,
            ],
        )
    }

    fn enter(&mut self, chapter: u32) -> Result<(), String> {
        match chapter {
            1 => {
                let killed = cluster::kill(&Target::service("etcd1"), "SIGKILL").map_err(msg)?;
                let stopped = cluster::stop(&Target::service("etcd2"), Duration::from_secs(1))
                    .map_err(msg)?;
                let paused = cluster::pause(&Target::service("etcd3")).map_err(msg)?;
                wait(&killed, NodeState::Exited)?;
                wait(&stopped, NodeState::Exited)?;
                wait(&paused, NodeState::Paused)?;
                narration::append("broken");
                Ok(())
            }
            2 => panic!("a deliberate trap, with faults outstanding"),
            3 => {
                for service in ["etcd1", "etcd2"] {
                    let node = cluster::start(&Target::service(service)).map_err(msg)?;
                    wait(&node, NodeState::Running)?;
                }
                let node = cluster::unpause(&Target::service("etcd3")).map_err(msg)?;
                wait(&node, NodeState::Running)?;
                Ok(())
            }
            4 => {
                let node = cluster::pause(&Target::service("etcd3")).map_err(msg)?;
                wait(&node, NodeState::Paused).map(drop)
            }
            5 => {
                let node = cluster::unpause(&Target::service("etcd3")).map_err(msg)?;
                wait(&node, NodeState::Running).map(drop)
            }
            6 => cluster::partition(&Target::service("etcd1"))
                .map(drop)
                .map_err(msg),
            7 => cluster::heal(&Target::service("etcd1"))
                .map(drop)
                .map_err(msg),
            8 => {
                let node = cluster::kill(&Target::service("etcd2"), "SIGKILL").map_err(msg)?;
                wait(&node, NodeState::Exited)?;
                cluster::undo_after(&node.target(), UNDO_AFTER).map_err(msg)?;
                // The host, not this flow, brings it back.
                wait(&node, NodeState::Running)?;
                narration::append("undone by the host");
                Ok(())
            }
            9 => soak(),
            _ => Ok(()),
        }
    }
}

/// Kills a random member and starts it again, `SOAK_CYCLES` times. Markers in
/// the narration let the test read the host's memory after the first and the
/// last cycle.
fn soak() -> Result<(), String> {
    for cycle in 1..=SOAK_CYCLES {
        let node = cluster::kill(&Target::pattern(SERVICES), "SIGKILL").map_err(msg)?;
        wait(&node, NodeState::Exited)?;
        let node = cluster::start(&node.target()).map_err(msg)?;
        wait(&node, NodeState::Running)?;
        if cycle == 1 || cycle == SOAK_CYCLES {
            narration::append(&format!("soak cycle {cycle} done"));
            if !timing::sleep(MARKER_HOLD) {
                return Ok(());
            }
        }
    }
    Ok(())
}

fn wait(node: &Node, state: NodeState) -> Result<Node, String> {
    cluster::wait_for(&node.id, state, STATE_TIMEOUT).map_err(msg)
}

fn msg(error: ClusterError) -> String {
    error.message()
}

export_flow!(Faults);
