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
const CHAPTERS: [(&str, Option<Action<Faults>>); 10] = [
    ("Intro", None),
    (
        "Break: isolate and shape etcd3, kill etcd1, stop etcd2, pause etcd3",
        Some(|_| break_everything()),
    ),
    (
        "Trap",
        Some(|_| panic!("a deliberate trap, with faults outstanding")),
    ),
    ("Undo everything by hand", Some(|_| undo_by_hand())),
    (
        "Pause etcd3",
        Some(|_| {
            wait(
                &cluster::pause(&Target::service("etcd3"))?,
                NodeState::Paused,
            )
            .map(drop)
        }),
    ),
    (
        "Unpause etcd3",
        Some(|_| {
            wait(
                &cluster::unpause(&Target::service("etcd3"))?,
                NodeState::Running,
            )
            .map(drop)
        }),
    ),
    (
        "Partition etcd1",
        Some(|_| Ok(cluster::partition(&Target::service("etcd1")).map(drop)?)),
    ),
    (
        "Heal etcd1",
        Some(|_| Ok(cluster::heal(&Target::service("etcd1")).map(drop)?)),
    ),
    ("Kill etcd2 for 1.5s", Some(|_| kill_for_a_while())),
    ("Soak: 50 kill/start cycles", Some(|_| soak())),
];

impl Flow for Faults {
    fn describe(&self) -> FlowInfo<Self> {
        let mut info = FlowInfo::new("faults", env!("CARGO_PKG_VERSION"))
            .description("Every fault kind the host offers, for the fault tests.");
        for (title, action) in CHAPTERS {
            let chapter = Chapter::new(title).narration(title);
            info = info.chapter(match action {
                Some(action) => chapter.action(action),
                None => chapter,
            });
        }
        info.grant_faults(
            SERVICES,
            &[
                FaultAction::Kill,
                FaultAction::Stop,
                FaultAction::Pause,
                FaultAction::Restart,
                FaultAction::Network,
                FaultAction::Shape,
            ],
        )
        .peers([SERVICES])
    }
}

fn break_everything() -> Result<(), FlowError> {
    // The network faults first, while every member runs and has an address;
    // the paused etcd3 keeps its namespace, so its rules stay for the host
    // to remove.
    cluster::isolate(&Target::service("etcd3"), &["etcd1"])?;
    let spec = ShapeSpec::new()
        .delay(Duration::from_millis(100))
        .jitter(Duration::from_millis(10))
        .loss_pct(5.0);
    cluster::shape(&Target::service("etcd3"), &spec)?;
    let killed = cluster::kill(&Target::service("etcd1"), "SIGKILL")?;
    let stopped = cluster::stop(&Target::service("etcd2"), Duration::from_secs(1))?;
    let paused = cluster::pause(&Target::service("etcd3"))?;
    wait(&killed, NodeState::Exited)?;
    wait(&stopped, NodeState::Exited)?;
    wait(&paused, NodeState::Paused)?;
    narration::append("broken");
    Ok(())
}

fn undo_by_hand() -> Result<(), FlowError> {
    for service in ["etcd1", "etcd2"] {
        let node = cluster::start(&Target::service(service))?;
        wait(&node, NodeState::Running)?;
    }
    let node = cluster::unpause(&Target::service("etcd3"))?;
    wait(&node, NodeState::Running)?;
    cluster::unshape(&Target::service("etcd3"))?;
    cluster::heal(&Target::service("etcd3"))?;
    Ok(())
}

fn kill_for_a_while() -> Result<(), FlowError> {
    let node = cluster::kill(&Target::service("etcd2"), "SIGKILL")?;
    wait(&node, NodeState::Exited)?;
    cluster::undo_after(&node.target(), UNDO_AFTER)?;
    // The host, not this flow, brings it back.
    wait(&node, NodeState::Running)?;
    narration::append("undone by the host");
    Ok(())
}

/// Kills a random member and starts it again, `SOAK_CYCLES` times. Markers in
/// the narration let the test read the host's memory after the first and the
/// last cycle.
fn soak() -> Result<(), FlowError> {
    for cycle in 1..=SOAK_CYCLES {
        let node = cluster::kill(&Target::pattern(SERVICES), "SIGKILL")?;
        wait(&node, NodeState::Exited)?;
        let node = cluster::start(&node.target())?;
        wait(&node, NodeState::Running)?;
        if cycle == 1 || cycle == SOAK_CYCLES {
            narration::append(format!("soak cycle {cycle} done"));
            timing::pause(MARKER_HOLD)?;
        }
    }
    Ok(())
}

fn wait(node: &Node, state: NodeState) -> Result<Node, FlowError> {
    Ok(cluster::wait_for(&node.id, state, STATE_TIMEOUT)?)
}

export_flow!(Faults);
