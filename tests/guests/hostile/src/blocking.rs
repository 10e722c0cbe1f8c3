//! Chapters that never return on their own and ignore being interrupted,
//! each stuck in a different way. The presenter quits in the middle of one;
//! the host must give the terminal back, restore and exit promptly whatever
//! the chapter is doing.

use guest_sdk::prelude::*;
use std::time::Duration;

/// A test server that accepts and never answers (tests/hostile.rs).
const HANGING_SERVER: &str = "http://127.0.0.1:24840/";

/// The chapters, in order; tests/hostile.rs enters them by index.
pub const CHAPTERS: &[&str] = &[
    "Ready",
    "Hanging probe",
    "WASI sleep",
    "Cheap calls after quit",
    "Compute after quit",
    "Docker wait",
    "Endless countdown",
    "Docker calls",
];

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

impl Flow for Blocking {
    fn describe(&self) -> FlowInfo {
        let mut info = FlowInfo::new("blocking", "0.1.0")
            .description("Never returns from a chapter, in several ways")
            .grant_faults("etcd1", &[FaultAction::Kill])
            .http_probe(HANGING_SERVER)
            .reads_workload();
        for title in CHAPTERS {
            info = info.chapter(Chapter::new(title).narration(&format!("Stuck: {title}")));
        }
        info
    }

    fn enter(&mut self, chapter: u32) -> Result<(), String> {
        // Each chapter arms itself after a moment: skipped before then, it
        // returns, so a test can pass through the earlier ones to the one
        // it wants stuck.
        if chapter > 0 && !timing::sleep(ARMING) {
            return Ok(());
        }
        match CHAPTERS.get(chapter as usize).copied() {
            Some("Ready") => Ok(()),
            Some("Hanging probe") => loop {
                // Interrupted or not, ask again.
                let _ = probe::http_get(&format!("{HANGING_SERVER}hang"), FOREVER);
            },
            Some("WASI sleep") => {
                // Not the API's interruptible sleep: WASI's own clock.
                std::thread::sleep(FOREVER);
                Ok(())
            }
            Some("Cheap calls after quit") => loop {
                if !timing::sleep(FOREVER) {
                    let _ = workload::status();
                }
            },
            Some("Compute after quit") => loop {
                if !timing::sleep(FOREVER) {
                    spin_for(Duration::from_millis(100));
                }
            },
            Some("Docker wait") => loop {
                if let Ok(nodes) = cluster::list_nodes()
                    && let Some(node) = nodes.first()
                {
                    let _ = cluster::wait_for(&node.id, NodeState::Dead, FOREVER);
                }
            },
            Some("Endless countdown") => loop {
                timing::countdown(u32::MAX, "never");
            },
            Some("Docker calls") => loop {
                let _ = cluster::list_nodes();
            },
            _ => Err(format!("no chapter {chapter}")),
        }
    }
}

export_flow!(Blocking);
