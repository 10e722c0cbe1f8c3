//! Chapters that never return on their own and ignore being interrupted,
//! each stuck in a different way. The presenter quits in the middle of one;
//! the host must give the terminal back, restore and exit promptly whatever
//! the chapter is doing.

use guest_sdk::prelude::*;
use std::time::Duration;

/// A test server that accepts and never answers (tests/hostile.rs).
const HANGING_SERVER: &str = "http://127.0.0.1:24840/";

const ARMING: Duration = Duration::from_millis(300);
const FOREVER: Duration = Duration::from_secs(100 * 24 * 3600);

#[derive(Default)]
struct Blocking;

fn spin_for(duration: Duration) {
    let start = std::time::Instant::now();
    let mut x = 0u64;
    while start.elapsed() < duration {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

/// Each chapter arms itself after a moment: skipped before then, it
/// returns, so a test can pass through the earlier ones to the one it wants
/// stuck.
fn arm() -> Result<(), FlowError> {
    timing::pause(ARMING)
}

/// The chapters, in order; tests/hostile.rs enters them by index.
const CHAPTERS: &[(&str, Action<Blocking>)] = &[
    ("Ready", |_| Ok(())),
    ("Hanging probe", |_| {
        arm()?;
        loop {
            // Interrupted or not, ask again.
            let _ = probe::http_get(&format!("{HANGING_SERVER}hang"), FOREVER);
        }
    }),
    ("WASI sleep", |_| {
        arm()?;
        // Not the API's interruptible sleep: WASI's own clock.
        std::thread::sleep(FOREVER);
        Ok(())
    }),
    ("Cheap calls after quit", |_| {
        arm()?;
        loop {
            if !timing::sleep(FOREVER) {
                let _ = workload::status();
            }
        }
    }),
    ("Compute after quit", |_| {
        arm()?;
        loop {
            if !timing::sleep(FOREVER) {
                spin_for(Duration::from_millis(100));
            }
        }
    }),
    ("Docker wait", |_| {
        arm()?;
        loop {
            if let Ok(nodes) = cluster::list_nodes()
                && let Some(node) = nodes.first()
            {
                let _ = cluster::wait_for(&node.id, NodeState::Dead, FOREVER);
            }
        }
    }),
    ("Endless countdown", |_| {
        arm()?;
        loop {
            timing::countdown(u32::MAX, "never");
        }
    }),
    ("Docker calls", |_| {
        arm()?;
        loop {
            let _ = cluster::list_nodes();
        }
    }),
];

impl Flow for Blocking {
    fn describe(&self) -> FlowInfo<Self> {
        let info = FlowInfo::new("blocking", "0.1.0")
            .description("Never returns from a chapter, in several ways")
            .grant_faults("etcd1", &[FaultAction::Kill])
            .http_probe(HANGING_SERVER)
            .reads_workload();
        crate::one_chapter_each(info, "Stuck", CHAPTERS)
    }
}

export_flow!(Blocking);
