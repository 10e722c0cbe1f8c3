//! Benchmark flow: `enter(n)` calls `workload::status()` `n` times, so the
//! host can time the guest→host round trip of a trivial import as
//! (t(n) − t(0)) / n.

use guest_sdk::prelude::*;

#[derive(Default)]
struct Calls;

impl Flow for Calls {
    fn describe(&self) -> FlowInfo {
        FlowInfo::new("calls", env!("CARGO_PKG_VERSION"))
            .description("Benchmark: chapter N makes N trivial host calls.")
            .chapter(Chapter::new("Calls").narration("Calls the host."))
            .reads_workload()
    }

    fn enter(&mut self, index: u32) -> Result<(), String> {
        for _ in 0..index {
            workload::status().map_err(|e| e.message())?;
        }
        Ok(())
    }
}

export_flow!(Calls);
