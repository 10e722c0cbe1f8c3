//! Benchmark flow: `enter(n)` calls `workload::status()` `n` times, so the
//! host can time the guest→host round trip of a trivial import as
//! (t(n) − t(0)) / n.
//!
//! Not a show: host/benches/runtime.rs enters any index `n`, while a `Flow`'s
//! chapters are a fixed list whose actions take no index. So this exports the
//! world's `describe` and `enter` itself, through the SDK's bindings, instead
//! of `export_flow!`.

use guest_sdk::bindings::{self, Guest};
use guest_sdk::prelude::*;

struct Calls;

impl Guest for Calls {
    fn describe() -> bindings::FlowInfo {
        FlowInfo::<Calls>::new("calls", env!("CARGO_PKG_VERSION"))
            .description("Benchmark: chapter N makes N trivial host calls.")
            .chapter(Chapter::new("Calls").narration("Calls the host."))
            .reads_workload()
            .into()
    }

    fn enter(calls: u32) -> Result<(), String> {
        for _ in 0..calls {
            workload::status().map_err(|e| e.message())?;
        }
        Ok(())
    }
}

bindings::__export_flow_world!(Calls);
