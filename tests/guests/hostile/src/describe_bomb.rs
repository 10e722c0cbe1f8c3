//! A `describe()` that returns far more than the flow holds: two thousand
//! chapters whose titles and narration all point at the same megabyte, from
//! a flow that states the most memory a presenter allows by default and
//! fills most of it first. The host must refuse it before the consent
//! screen, within the stated memory plus its fixed margin.

use guest_sdk::bindings::{self as b, Guest};
use std::mem::ManuallyDrop;

/// What the flow states it needs, and how much of it it fills.
const MEMORY_MIB: u32 = 256;
const FILLED_MIB: usize = 192;

/// A `String` that points at `text` without owning it.
fn alias(text: &'static str) -> String {
    // SAFETY: the host lifts the description before the guest's
    // post-return could free anything, and refuses it; the instance is
    // never used again.
    ManuallyDrop::into_inner(ManuallyDrop::new(unsafe {
        String::from_raw_parts(text.as_ptr() as *mut u8, text.len(), text.len())
    }))
}

struct Bomb;

impl Guest for Bomb {
    fn describe() -> b::FlowInfo {
        let filled: &'static mut [u8] = Box::leak(vec![0xAB; FILLED_MIB << 20].into_boxed_slice());
        std::hint::black_box(&filled);
        let text: &'static str = Box::leak("d".repeat(1 << 20).into_boxed_str());
        let chapters = (0..2000)
            .map(|_| b::Chapter {
                title: alias(text),
                narration: alias(text),
                key_hint: String::new(),
                auto_advance: false,
                blocks_advance: false,
                notes: String::new(),
            })
            .collect();
        b::FlowInfo {
            name: "describe-bomb".into(),
            version: "0.1.0".into(),
            description: "Returns more than it holds".into(),
            chapters,
            capabilities: b::Capabilities {
                faults: Vec::new(),
                reads_workload: false,
                http_probes: Vec::new(),
                memory_mib: MEMORY_MIB,
            },
            default_workload: None,
            hypotheses: Vec::new(),
        }
    }

    fn enter(_: u32) -> Result<(), String> {
        Ok(())
    }
}

b::__export_flow_world!(Bomb);
