//! Floods: each chapter makes the host spend something (memory, channel
//! slots, transcript and log bytes, CPU) as fast as a flow can ask. The host
//! must stay within its bounds whatever each chapter does; a chapter that
//! never waits must be stopped like a spinning one.

use guest_sdk::narration::Level;
use guest_sdk::prelude::*;
use std::time::Duration;

fn kib(n: usize, c: char) -> String {
    c.to_string().repeat(n * 1024)
}

/// The chapters, in order; tests/hostile.rs names them by these titles.
const CHAPTERS: &[(&str, Action<Floods>)] = &[
    ("Append flood", |_| {
        let line = kib(32, 'a');
        for _ in 0..20_000 {
            narration::append(&line);
        }
        narration::append("append flood done");
        Ok(())
    }),
    ("Paced append flood", |_| {
        // Waits just long enough each time to count as resting.
        let line = kib(32, 'p');
        for _ in 0..600 {
            narration::append(&line);
            timing::sleep(Duration::from_millis(10));
        }
        narration::append("paced append flood done");
        Ok(())
    }),
    ("Set flood", |_| {
        let text = kib(64, 's');
        for _ in 0..5_000 {
            narration::set(&text);
        }
        narration::set("set flood done");
        Ok(())
    }),
    ("Badge flood", |_| {
        for i in 0..100_000u32 {
            narration::badge(&format!("badge {i}"), Level::Danger);
        }
        Ok(())
    }),
    ("Log flood", |_| {
        let line = kib(8, 'l');
        for _ in 0..100_000 {
            log::info(&line);
        }
        Ok(())
    }),
    ("Paced log flood", |_| {
        let line = kib(8, 'q');
        for _ in 0..600 {
            for _ in 0..20 {
                log::warn(&line);
            }
            timing::sleep(Duration::from_millis(10));
        }
        Ok(())
    }),
    ("Output flood", |_| {
        let line = kib(8, 'o');
        for _ in 0..100_000 {
            println!("{line}");
            eprintln!("{line}");
        }
        Ok(())
    }),
    ("Cheap calls", |_| {
        loop {
            let _ = workload::status();
        }
    }),
    ("Zero sleeps", |_| {
        loop {
            timing::sleep(Duration::ZERO);
        }
    }),
    ("Zero countdowns", |_| {
        loop {
            timing::countdown(0, "x");
        }
    }),
    ("Docker calls", |_| {
        // Each call reaches Docker; the host paces them.
        for _ in 0..60 {
            let _ = cluster::list_nodes();
        }
        Ok(())
    }),
    ("Huge error", |_| Err("e".repeat(10 << 20).into())),
    ("Still here", |_| {
        narration::set("still here after every flood");
        Ok(())
    }),
];

#[derive(Default)]
struct Floods;

impl Flow for Floods {
    fn describe(&self) -> FlowInfo<Self> {
        let info = FlowInfo::new("floods", "0.1.0")
            .description("Asks the host for too much, one way per chapter")
            .reads_workload();
        crate::one_chapter_each(info, "Trying", CHAPTERS)
    }
}

export_flow!(Floods);
