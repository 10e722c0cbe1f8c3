//! Lifting: each chapter makes the host copy more out of the flow's memory
//! than the flow holds, or keeps it copying, or ignores the presenter moving
//! on. The host must refuse a call that carries too much before copying it,
//! pace the bytes of many calls, count every call on the busy clock, and
//! start the next chapter within the skip grace whatever this one does.

use guest_sdk::bindings::demo::flow::{cluster as raw, log as raw_log, probe as raw_probe};
use guest_sdk::prelude::*;
use std::mem::ManuallyDrop;
use std::time::Duration;

/// `n` strings that all point at the same bytes of `text`: the guest holds
/// one copy, and the canonical ABI lifts each element on its own.
fn aliases(text: &'static str, n: usize) -> ManuallyDrop<Vec<String>> {
    let strings = (0..n)
        .map(|_| {
            // SAFETY: never dropped (ManuallyDrop around the whole vector),
            // never written to; only read by the host call's lowering.
            unsafe { String::from_raw_parts(text.as_ptr() as *mut u8, text.len(), text.len()) }
        })
        .collect();
    ManuallyDrop::new(strings)
}

/// A string of `n` bytes that lives as long as the instance.
fn leaked(n: usize, c: char) -> &'static str {
    Box::leak(c.to_string().repeat(n).into_boxed_str())
}

fn etcd1() -> raw::Target {
    raw::Target::Service("etcd1".into())
}

fn outcome(result: Result<raw::Node, raw::ClusterError>) -> String {
    match result {
        Ok(node) => format!("LEAKED: acted on {}", node.container),
        Err(e) => format!("{e:?}"),
    }
}

fn shape_towards(towards: Vec<String>) -> ManuallyDrop<raw::ShapeSpec> {
    ManuallyDrop::new(raw::ShapeSpec {
        delay_ms: 100,
        jitter_ms: 0,
        correlation_pct: 0.0,
        loss_pct: 0.0,
        duplicate_pct: 0.0,
        corrupt_pct: 0.0,
        reorder_pct: 0.0,
        rate_kbit: 0,
        towards,
    })
}

const CHAPTERS: &[(&str, Action<Lifting>)] = &[
    ("Aliased peers", |_| {
        // 50 000 × 1 MiB from one MiB of guest memory.
        let peers = aliases(leaked(1 << 20, 'p'), 50_000);
        Err(outcome(raw::isolate(&etcd1(), &peers)).into())
    }),
    ("Aliased towards", |_| {
        // The same, inside a record.
        let towards = aliases(leaked(1 << 20, 't'), 50_000);
        let spec = shape_towards(ManuallyDrop::into_inner(towards));
        Err(outcome(raw::shape(&etcd1(), &spec)).into())
    }),
    ("Many tiny peers", |_| {
        // Within the per-call bytes, far over the peers a fault may name.
        let peers = aliases("a", 80_000);
        Err(outcome(raw::isolate(&etcd1(), &peers)).into())
    }),
    ("Lifting flood", |_| {
        // Just under the per-call budget each time, as fast as it goes.
        let peers = aliases(leaked(128 << 10, 'f'), 15);
        for _ in 0..1_000_000 {
            let _ = raw::isolate(&etcd1(), &peers);
        }
        Err("LEAKED: the lifting flood ran to its end".into())
    }),
    ("Probe flood", |_| {
        let url = format!("http://127.0.0.1:1/{}", leaked(3 << 19, 'u'));
        for _ in 0..1_000_000 {
            let _ = raw_probe::http_get(&url, 1);
        }
        Err("LEAKED: the probe flood ran to its end".into())
    }),
    ("Log flood", |_| {
        let line = leaked(3 << 19, 'l');
        for _ in 0..1_000_000 {
            raw_log::log(raw_log::LogLevel::Info, line);
        }
        Err("LEAKED: the log flood ran to its end".into())
    }),
    ("Ignores skip", |_| {
        narration::set("ignoring the presenter");
        // Waits politely until the presenter moves on, then keeps going
        // as if nothing happened: every sleep now returns at once.
        loop {
            timing::sleep(Duration::from_millis(20));
        }
    }),
    ("Ignores skip in WASI", |_| {
        narration::set("skip-2 started");
        while timing::sleep(Duration::from_millis(20)) {}
        // A wait the presenter cannot interrupt.
        std::thread::sleep(Duration::from_secs(60));
        Err("LEAKED: slept through".into())
    }),
    ("Still here", |_| {
        narration::set("still here after lifting");
        Ok(())
    }),
];

#[derive(Default)]
struct Lifting;

impl Flow for Lifting {
    fn describe(&self) -> FlowInfo<Self> {
        let info = FlowInfo::new("lifting", "0.1.0")
            .description("Makes the host copy too much, one way per chapter");
        crate::one_chapter_each(info, "Trying", CHAPTERS)
    }
}

export_flow!(Lifting);
