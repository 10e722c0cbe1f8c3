//! In-process costs of running a flow: compiling or loading tikv.wasm
//! (without and with the on-disk cache), instantiating it from its
//! `InstancePre`, a `describe()` call, and the guest→host round trip of a
//! trivial import.
//!
//! Needs the release flows: `scripts/build-flows.sh` (or `scripts/bench.sh`,
//! which builds them). Run: `cargo bench -p host --bench runtime`.

use criterion::{Criterion, criterion_group, criterion_main};
use host::capability::Grants;
use host::runtime::api::{HostApi, HostContext};
use host::runtime::cache::ModuleCache;
use host::runtime::{FlowModule, Limits, Runtime};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn flow_path(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join(format!("wasm32-wasip2/release/{name}.wasm"));
    if !path.exists() {
        eprintln!(
            "error: {} is missing; build the flows first with scripts/bench.sh or \
             `cargo build --release --target wasm32-wasip2 -p tikv-flow -p calls-flow`",
            path.display()
        );
        std::process::exit(2);
    }
    path
}

fn context() -> HostContext {
    let (events, _) = tokio::sync::mpsc::unbounded_channel();
    HostContext::detached(events, Default::default())
}

fn load(c: &mut Criterion) {
    let tikv = flow_path("tikv");
    let mut group = c.benchmark_group("load tikv.wasm");
    group.sample_size(10);
    let uncached = Runtime::with_cache(None).unwrap();
    group.bench_function("cold (Cranelift compile)", |b| {
        b.iter(|| uncached.load(&tikv).unwrap())
    });
    let dir = std::env::temp_dir().join(format!("chaos-demo-bench-cache-{}", std::process::id()));
    let cached = Runtime::with_cache(Some(ModuleCache::at(&dir))).unwrap();
    cached.load(&tikv).unwrap();
    group.sample_size(50);
    group.bench_function("cached (deserialize)", |b| {
        b.iter(|| cached.load(&tikv).unwrap())
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn instance(c: &mut Criterion) {
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let runtime = Runtime::with_cache(None).unwrap();
    let module = runtime.load(&flow_path("tikv")).unwrap();
    let limits = Limits::default();
    c.bench_function("instantiate tikv.wasm (InstancePre)", |b| {
        b.iter(|| {
            tokio
                .block_on(module.instantiate(HostApi::new(context()), &limits))
                .unwrap()
        })
    });
    let mut flow = tokio
        .block_on(module.instantiate(HostApi::new(context()), &limits))
        .unwrap();
    c.bench_function("describe() of tikv.wasm", |b| {
        b.iter(|| tokio.block_on(flow.describe()).unwrap())
    });
}

/// enter(n) makes n imports; the cost of one is the slope over n.
fn import_round_trip(c: &mut Criterion) {
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let runtime = Runtime::with_cache(None).unwrap();
    let module: FlowModule = runtime.load(&flow_path("calls")).unwrap();
    let limits = Limits::default();
    let mut flow = tokio
        .block_on(module.instantiate(HostApi::new(context()), &limits))
        .unwrap();
    let info = tokio.block_on(flow.describe()).unwrap();
    flow.api_mut()
        .set_grants(Grants::from_declared(&info.capabilities));
    let mut enter = |n: u32| -> Duration {
        let start = Instant::now();
        tokio
            .block_on(flow.enter(n))
            .expect("the guest runs")
            .expect("the import is granted");
        start.elapsed()
    };
    // One enter() call's fixed cost, subtracted from every measurement.
    let fixed = (0..200).map(|_| enter(0)).min().unwrap();
    c.bench_function(
        "guest→host trivial import (workload.current-status)",
        |b| {
            b.iter_custom(|iters| {
                let calls = iters.min(u32::MAX as u64) as u32;
                enter(calls).saturating_sub(fixed) * (iters / calls as u64).max(1) as u32
            })
        },
    );
    c.bench_function("host→guest enter() call, empty chapter", |b| {
        b.iter(|| enter(0))
    });
}

criterion_group!(benches, load, instance, import_round_trip);
criterion_main!(benches);
