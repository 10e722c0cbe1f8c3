//! The shape-spec validator (host/src/cluster/netfault/spec.rs) on any
//! record a flow could send: it never panics; a spec it accepts is within
//! the documented bounds; its refusal and the presenter's reading of an
//! accepted spec are one printable line.
#![no_main]

use arbitrary::Arbitrary;
use host::cluster::shape_spec::{
    MAX_DELAY_MS, MAX_PEERS, MAX_RATE_KBIT, MIN_RATE_KBIT, ShapeSpec, validate_peers,
};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    delay_ms: u32,
    jitter_ms: u32,
    /// Small values are where the rules meet (0, 1, 100, the limits); raw
    /// u32s would almost never land there.
    small: [u8; 3],
    correlation_pct: f32,
    loss_pct: f32,
    duplicate_pct: f32,
    corrupt_pct: f32,
    reorder_pct: f32,
    rate_kbit: u32,
    towards: Vec<String>,
    may_be_empty: bool,
}

fn printable_line(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

fuzz_target!(|input: Input| {
    let pick = |raw: u32, small: u8, limit: u32| match small % 4 {
        0 => raw,
        1 => u32::from(small),
        2 => limit.wrapping_add(u32::from(small % 3)).wrapping_sub(1),
        _ => 0,
    };
    let spec = ShapeSpec {
        delay_ms: pick(input.delay_ms, input.small[0], MAX_DELAY_MS),
        jitter_ms: pick(input.jitter_ms, input.small[1], MAX_DELAY_MS),
        correlation_pct: input.correlation_pct,
        loss_pct: input.loss_pct,
        duplicate_pct: input.duplicate_pct,
        corrupt_pct: input.corrupt_pct,
        reorder_pct: input.reorder_pct,
        rate_kbit: pick(input.rate_kbit, input.small[2], MAX_RATE_KBIT),
        towards: input.towards,
    };
    let _ = spec.needs_netem();
    match spec.validate() {
        Ok(()) => {
            assert!(spec.delay_ms <= MAX_DELAY_MS, "{spec:?}");
            assert!(spec.jitter_ms <= spec.delay_ms, "{spec:?}");
            for pct in [
                spec.correlation_pct,
                spec.loss_pct,
                spec.duplicate_pct,
                spec.corrupt_pct,
                spec.reorder_pct,
            ] {
                assert!(pct.is_finite() && (0.0..=100.0).contains(&pct), "{spec:?}");
            }
            assert!(spec.reorder_pct == 0.0 || spec.delay_ms > 0, "{spec:?}");
            assert!(
                spec.rate_kbit == 0 || (MIN_RATE_KBIT..=MAX_RATE_KBIT).contains(&spec.rate_kbit),
                "{spec:?}"
            );
            assert!(spec.towards.len() <= MAX_PEERS, "{spec:?}");
            for peer in &spec.towards {
                assert!(
                    !peer.is_empty()
                        && peer.len() <= 128
                        && peer
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
                    "{spec:?}"
                );
            }
            let shapes = spec.delay_ms > 0
                || spec.loss_pct > 0.0
                || spec.duplicate_pct > 0.0
                || spec.corrupt_pct > 0.0
                || spec.reorder_pct > 0.0
                || spec.rate_kbit > 0;
            assert!(shapes, "accepted a spec that shapes nothing: {spec:?}");
            let said = spec.to_string();
            assert!(!said.is_empty() && printable_line(&said), "{said:?}");
        }
        Err(why) => assert!(printable_line(&why) && why.len() < 1024, "{why:?}"),
    }
    if let Err(why) = validate_peers("towards", &spec.towards, input.may_be_empty) {
        assert!(printable_line(&why) && why.len() < 1024, "{why:?}");
    }
});
