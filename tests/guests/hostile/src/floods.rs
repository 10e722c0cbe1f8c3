//! Floods: each chapter makes the host spend something (memory, channel
//! slots, transcript and log bytes, CPU) as fast as a flow can ask. The host
//! must stay within its bounds whatever each chapter does; a chapter that
//! never waits must be stopped like a spinning one.

use guest_sdk::narration::Level;
use guest_sdk::prelude::*;
use std::time::Duration;

/// The chapters, in order; tests/hostile.rs names them by these titles.
pub const CHAPTERS: &[&str] = &[
    "Append flood",
    "Paced append flood",
    "Set flood",
    "Badge flood",
    "Log flood",
    "Paced log flood",
    "Output flood",
    "Cheap calls",
    "Zero sleeps",
    "Zero countdowns",
    "Docker calls",
    "Huge error",
    "Still here",
];

#[derive(Default)]
struct Floods;

impl Flow for Floods {
    fn describe(&self) -> FlowInfo {
        let mut info = FlowInfo::new("floods", "0.1.0")
            .description("Asks the host for too much, one way per chapter")
            .reads_workload();
        for title in CHAPTERS {
            info = info.chapter(Chapter::new(title).narration(&format!("Trying: {title}")));
        }
        info
    }

    fn enter(&mut self, chapter: u32) -> Result<(), String> {
        let kib = |n: usize, c: char| c.to_string().repeat(n * 1024);
        match CHAPTERS.get(chapter as usize).copied() {
            Some("Append flood") => {
                let line = kib(32, 'a');
                for _ in 0..20_000 {
                    narration::append(&line);
                }
                narration::append("append flood done");
                Ok(())
            }
            Some("Paced append flood") => {
                // Waits just long enough each time to count as resting.
                let line = kib(32, 'p');
                for _ in 0..600 {
                    narration::append(&line);
                    timing::sleep(Duration::from_millis(10));
                }
                narration::append("paced append flood done");
                Ok(())
            }
            Some("Set flood") => {
                let text = kib(64, 's');
                for _ in 0..5_000 {
                    narration::set(&text);
                }
                narration::set("set flood done");
                Ok(())
            }
            Some("Badge flood") => {
                for i in 0..100_000u32 {
                    narration::badge(&format!("badge {i}"), Level::Danger);
                }
                Ok(())
            }
            Some("Log flood") => {
                let line = kib(8, 'l');
                for _ in 0..100_000 {
                    log::info(&line);
                }
                Ok(())
            }
            Some("Paced log flood") => {
                let line = kib(8, 'q');
                for _ in 0..600 {
                    for _ in 0..20 {
                        log::warn(&line);
                    }
                    timing::sleep(Duration::from_millis(10));
                }
                Ok(())
            }
            Some("Output flood") => {
                let line = kib(8, 'o');
                for _ in 0..100_000 {
                    println!("{line}");
                    eprintln!("{line}");
                }
                Ok(())
            }
            Some("Cheap calls") => loop {
                let _ = workload::status();
            },
            Some("Zero sleeps") => loop {
                timing::sleep(Duration::ZERO);
            },
            Some("Zero countdowns") => loop {
                timing::countdown(0, "x");
            },
            Some("Docker calls") => {
                // Each call reaches Docker; the host paces them.
                for _ in 0..60 {
                    let _ = cluster::list_nodes();
                }
                Ok(())
            }
            Some("Huge error") => Err("e".repeat(10 << 20)),
            Some("Still here") => {
                narration::set("still here after every flood");
                Ok(())
            }
            _ => Err(format!("no chapter {chapter}")),
        }
    }
}

export_flow!(Floods);
