//! The wasmtime side: one engine, one linker, and the sandbox each flow runs in.
//!
//! This is the only module that touches the generated bindings of `wit/`
//! (one module per released version under [`wit`]); the rest of the host
//! sees the model's [`FlowInfo`] and [`FlowInstance`].

use api::HostApi;
use sandbox::{GuestOutput, Sandbox};
pub mod api;
pub mod cache;
pub mod compile;
mod flow_log;
pub mod lift;
pub mod outbox;
mod sandbox;
pub mod shape_check;
pub mod watchdog;
pub mod wit;

use crate::model::{Capabilities, Chapter, FlowInfo};
use anyhow::{Context, Result, anyhow};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{CallHook, Config, Engine, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use watchdog::{Overrun, Watchdog};

pub use wit::ApiVersion;

const WIT_PACKAGE: &str = "demo:flow";

/// How often the engine's epoch advances; the granularity of compute checks.
const EPOCH_TICK: Duration = Duration::from_millis(20);
/// After the presenter quits, a flow still running (computing or calling
/// the host) is trapped this soon.
pub const QUIT_GRACE: Duration = Duration::from_millis(250);
/// After the presenter moves on (SPACE, ←), the chapter's waits return at
/// once as interrupted and every call after that is refused as interrupted;
/// a flow still running this long after is trapped, so the next chapter
/// starts whatever the flow is doing.
pub const SKIP_GRACE: Duration = Duration::from_millis(500);

/// Linear memory a flow gets when it states no need: plenty for a Rust flow.
pub const DEFAULT_MEMORY_MIB: usize = 64;

/// Limits every flow runs under.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The presenter's ceiling (`--max-memory-mib`): the most a flow may
    /// ask for with `memory-mib`, and what `describe` runs under.
    pub max_memory_bytes: usize,
    /// What a flow that states no need gets (capped by the ceiling).
    pub default_memory_bytes: usize,
    /// Longest a flow may keep the host busy (computing, or calling imports
    /// that return at once) without waiting; see [`watchdog`].
    pub compute_budget: Duration,
}

impl Limits {
    /// The limits one flow runs under once its need is known: its
    /// `memory-mib` (or the default), never above the ceiling. `describe`
    /// refuses a flow that asks for more, so the clamp never bites a flow
    /// that runs.
    pub fn for_flow(&self, caps: &crate::model::Capabilities) -> Limits {
        let need = memory_need(caps.memory_mib, self).unwrap_or(self.max_memory_bytes);
        Limits {
            max_memory_bytes: need,
            default_memory_bytes: need,
            ..self.clone()
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_memory_bytes: 256 << 20,
            default_memory_bytes: DEFAULT_MEMORY_MIB << 20,
            compute_budget: Duration::from_secs(2),
        }
    }
}

/// Which of wasmtime's compilers turns a flow into native code.
///
/// Flows are narration and control logic waiting on the host: how fast
/// their code runs never shows, how long a new flow takes to compile does
/// (the presenter waits for it, and a Python flow is tens of MB). Winch, the
/// baseline compiler, compiles in one pass: measured here 3× faster than
/// unoptimised Cranelift (BENCHMARKS.md, "Compiler"), with the same
/// sandbox (bounds checks, fuel-free epoch interruption, the same traps).
/// `--compiler cranelift` (or `CHAOS_DEMO_COMPILER`) keeps the optimising one
/// reachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Compiler {
    #[default]
    Winch,
    Cranelift,
}

impl Compiler {
    fn configure(self, config: &mut Config) {
        match self {
            Compiler::Winch => {
                config.strategy(wasmtime::Strategy::Winch);
            }
            Compiler::Cranelift => {
                config.strategy(wasmtime::Strategy::Cranelift);
                // Unoptimised output is still sandboxed the same way.
                config.cranelift_opt_level(wasmtime::OptLevel::None);
            }
        }
    }
}

/// How the `host` binary's runtime compiles and keeps flows: the CLI builds
/// it once from its flags (and their environment fallbacks); nothing below
/// reads the environment.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub compiler: Compiler,
    /// Where compiled flows are kept; `None` compiles every time.
    pub cache: Option<cache::ModuleCache>,
    /// The bounds of the compile child.
    pub compile: compile::CompileLimits,
}

/// The engine and linker, built once per process.
pub struct Runtime {
    engine: Engine,
    linker: Linker<StoreData>,
    compiler: Compiler,
    ticker_stop: Arc<AtomicBool>,
    cache: Option<cache::ModuleCache>,
    /// Compiles packs in a bounded child process (`compile.rs`); `None`
    /// compiles in this process.
    child: Option<compile::ChildCompiler>,
}

impl Runtime {
    /// The `host` binary's runtime: keeps compiled flows in the user's cache
    /// directory and compiles in a bounded child process (a re-exec of this
    /// binary: only `host` itself may call this).
    pub fn new(options: &Options) -> Result<Self> {
        let mut runtime = Self::with(options.compiler, options.cache.clone())?;
        runtime.child = Some(
            compile::ChildCompiler::current_exe(runtime.compiler, options.compile.clone())
                .context("finding the host binary to compile flows with")?,
        );
        Ok(runtime)
    }

    /// A runtime that compiles every flow it loads (`None`) or caches them in
    /// the given place, compiling in this process (benches and tests, with
    /// their own flows; the shape check still applies).
    pub fn with_cache(cache: Option<cache::ModuleCache>) -> Result<Self> {
        Self::with(Compiler::default(), cache)
    }

    fn with(compiler: Compiler, cache: Option<cache::ModuleCache>) -> Result<Self> {
        let config = compile::engine_config(compiler);
        let engine = Engine::new(&config)
            .map_err(anyhow::Error::from)
            .context("starting the wasm engine")?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(anyhow::Error::from)
            .context("linking WASI")?;
        wit::add_to_linker(&mut linker)
            .map_err(anyhow::Error::from)
            .context("linking the demo:flow API")?;

        // The epoch only advances; a detached thread is the documented way
        // (wasmtime's examples/epochs.rs) and costs one wake-up per tick.
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let weak_engine = engine.weak();
        let stop = ticker_stop.clone();
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak_engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .context("starting the epoch ticker")?;

        Ok(Runtime {
            engine,
            linker,
            ticker_stop,
            cache,
            child: None,
            compiler,
        })
    }

    /// Loads and checks a flow file. Errors are one line naming the file and
    /// what to do.
    pub fn load(&self, path: &Path) -> Result<FlowModule> {
        let display = path.display();
        let bytes = compile::read_pack(path).map_err(|e| {
            anyhow!("cannot read flow {display}: {e} (pass the path of a .wasm file)")
        })?;
        check_wasm_kind(&bytes).map_err(|why| anyhow!("{display} {why}"))?;
        let compiled = compile::compiled(
            &self.engine,
            self.cache.as_ref(),
            self.child.as_ref(),
            &bytes,
        );
        let component = match compiled {
            Ok((component, outcome)) => {
                tracing::debug!("{}: {outcome:?}", path.display());
                component
            }
            Err(compile::Refused::BeforeCompiling(why)) => {
                return Err(anyhow!("{display}: refused before compiling: {why}"));
            }
            Err(compile::Refused::Compiling(compile::CompileFailure::Bound(why))) => {
                return Err(anyhow!("{display}: refused while compiling: {why}"));
            }
            Err(compile::Refused::Compiling(compile::CompileFailure::Trouble(why))) => {
                return Err(anyhow!("{display}: cannot compile the flow: {why}"));
            }
            Err(compile::Refused::Compiling(compile::CompileFailure::Invalid(why))) => {
                return Err(anyhow!(
                    "{display} is not a valid wasm component: {why} (rebuild it with `cargo build --target wasm32-wasip2`)"
                ));
            }
        };
        let imported = imported_api_version(&self.engine, &component);
        let version = match imported.as_deref() {
            Some(text) => {
                Some(ApiVersion::for_imported(text).map_err(|m| anyhow!("{display} {m}"))?)
            }
            None => None,
        };
        let pre = self.linker.instantiate_pre(&component).map_err(|e| match version {
            Some(v) => anyhow!(
                "{display} does not fit this host ({v}): {} (rebuild it against this host's guest-sdk)",
                first_line(&e)
            ),
            None => anyhow!(
                "{display} is not a demo flow: it does not import the demo:flow API and needs {} (build it with guest-sdk)",
                first_line(&e)
            ),
        })?;
        let not_a_flow = |e: &wasmtime::Error| {
            anyhow!(
                "{display} is not a demo flow: it does not export the flow world's describe and enter ({}); build it with guest_sdk::export_flow!",
                first_line(e)
            )
        };
        let (api, pre) = match version {
            Some(v) => (v, wit::FlowPre::new(v, pre).map_err(|e| not_a_flow(&e))?),
            // It calls nothing of the API: the newest world whose exports
            // it has is the one it speaks.
            None => {
                let mut last_error = None;
                let mut found = None;
                for v in ApiVersion::ALL.into_iter().rev() {
                    match wit::FlowPre::new(v, pre.clone()) {
                        Ok(typed) => {
                            found = Some((v, typed));
                            break;
                        }
                        Err(e) => last_error = Some(e),
                    }
                }
                match (found, last_error) {
                    (Some(found), _) => found,
                    (None, Some(e)) => return Err(not_a_flow(&e)),
                    (None, None) => unreachable!("ApiVersion::ALL is not empty"),
                }
            }
        };
        Ok(FlowModule {
            name: display.to_string(),
            sha256: crate::trust::pack_hash(&bytes),
            pre,
            api,
            imports_api: version.is_some(),
        })
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// A core module and random bytes fail with different advice than a component.
fn check_wasm_kind(bytes: &[u8]) -> std::result::Result<(), String> {
    if bytes.len() < 8 || &bytes[0..4] != b"\0asm" {
        return Err(
            "is not a WebAssembly file (build a flow with `cargo build --target wasm32-wasip2`)"
                .into(),
        );
    }
    // Bytes 4..8 are the version and layer: layer 0 is a core module, 1 a component.
    if bytes[6] == 0 && bytes[7] == 0 {
        return Err("is a core wasm module, not a component (build it for wasm32-wasip2, not wasm32-unknown-unknown or wasip1)".into());
    }
    Ok(())
}

fn first_line(error: &impl std::fmt::Display) -> String {
    let text = format!("{error:#}");
    text.lines().next().unwrap_or_default().to_string()
}

/// The version of `demo:flow` the component imports, if it imports it.
fn imported_api_version(engine: &Engine, component: &Component) -> Option<String> {
    let ty = component.component_type();
    ty.imports(engine).find_map(|(name, _)| {
        let rest = name.strip_prefix(WIT_PACKAGE)?;
        let (_, version) = rest.split_once('@')?;
        Some(version.to_string())
    })
}

/// A compiled, linked flow, ready to instantiate.
pub struct FlowModule {
    pub name: String,
    /// The API version the flow was built for (for one that imports nothing
    /// of the API, the newest whose exports it has).
    pub api: ApiVersion,
    /// Whether the component imports `demo:flow` at all.
    pub imports_api: bool,
    /// Of the file's bytes: the key of the presenter's trust decision.
    pub sha256: String,
    pre: wit::FlowPre,
}

impl FlowModule {
    /// The API line `host inspect` prints.
    pub fn api_description(&self) -> String {
        if self.imports_api {
            self.api.to_string()
        } else {
            format!(
                "{} (inferred from its exports: it imports nothing of the API)",
                self.api
            )
        }
    }
}

/// What a store holds: WASI (sandboxed), limits, and the demo API's state.
pub struct StoreData {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    pub api: HostApi,
    stderr: GuestOutput,
    watchdog: Watchdog,
}

impl StoreData {
    /// Traps the flow when the presenter quit more than [`QUIT_GRACE`] ago,
    /// moved on from its chapter more than [`SKIP_GRACE`] ago, or it overran
    /// its busy budget.
    fn check_watchdog(&mut self) -> wasmtime::Result<()> {
        let now = std::time::Instant::now();
        if let Some(since) = self.api.quit_requested_at()
            && now.saturating_duration_since(since) > QUIT_GRACE
        {
            return Err(wasmtime::Error::new(GuestFailure::Interrupted));
        }
        if let Some(since) = self.api.cancelled_since(now)
            && now.saturating_duration_since(since) > SKIP_GRACE
        {
            return Err(wasmtime::Error::new(GuestFailure::Skipped(SKIP_GRACE)));
        }
        match self.watchdog.verdict(now) {
            None => Ok(()),
            Some(Overrun::Compute) => Err(wasmtime::Error::new(GuestFailure::ComputeBudget(
                self.watchdog.budget(),
            ))),
            Some(Overrun::Calls) => Err(wasmtime::Error::new(GuestFailure::CallBudget(
                self.watchdog.budget(),
            ))),
        }
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// One running instance of a flow, with its own store.
pub struct FlowInstance {
    store: Store<StoreData>,
    flow: wit::FlowExports,
    limits: Limits,
    /// The memory limit in force: the ceiling until `describe`, then the
    /// flow's need.
    memory_bytes: usize,
}

/// Why a call into the flow failed.
#[derive(Debug, thiserror::Error)]
pub enum GuestFailure {
    #[error("computed for more than {0:?} without returning to the host")]
    ComputeBudget(Duration),
    #[error(
        "kept calling the host for more than {0:?} without waiting (pace a loop with timing.sleep; std::thread::sleep is not a wait the presenter can interrupt)"
    )]
    CallBudget(Duration),
    #[error("stopped because the presenter quit")]
    Interrupted,
    #[error(
        "kept running {0:?} after the presenter moved on; stopped (a flow returns when a wait reports it was interrupted)"
    )]
    Skipped(Duration),
    #[error("crashed: {trap}{stderr}")]
    Trap { trap: String, stderr: String },
    /// It returned something the host will not take (too many chapters…).
    #[error("{0}")]
    Refused(String),
}

/// The most chapters and capability items a flow may declare.
const MAX_CHAPTERS: usize = 256;
const MAX_DECLARED_ITEMS: usize = 64;

/// A flow's self-description as the host keeps it: every string without
/// controls or escape sequences and cut to a size that fits where it is
/// shown, lists bounded. Probe prefixes are left as written (they are URLs,
/// parsed and refused when malformed by the grant check), only bounded.
/// The memory a flow runs within: what it declared (0: the default, never
/// more than the ceiling), or a refusal naming both figures.
fn memory_need(declared_mib: u32, limits: &Limits) -> Result<usize, GuestFailure> {
    if declared_mib == 0 {
        return Ok(limits.default_memory_bytes.min(limits.max_memory_bytes));
    }
    let need = (declared_mib as usize).saturating_mul(1 << 20);
    if need > limits.max_memory_bytes {
        return Err(GuestFailure::Refused(format!(
            "describe() asks for {declared_mib} MiB of memory; this presenter allows at most {} MiB (raise it with --max-memory-mib if you trust the flow)",
            limits.max_memory_bytes >> 20
        )));
    }
    Ok(need)
}

fn kept_info(info: FlowInfo) -> Result<FlowInfo, GuestFailure> {
    use crate::sanitize::{flow_line, truncated};
    let too_many = |what: &str, n: usize, max: usize| {
        GuestFailure::Refused(format!(
            "describe() declares {n} {what}; a flow may declare at most {max}"
        ))
    };
    if info.chapters.len() > MAX_CHAPTERS {
        return Err(too_many("chapters", info.chapters.len(), MAX_CHAPTERS));
    }
    let caps = &info.capabilities;
    if caps.faults.len() > MAX_DECLARED_ITEMS {
        return Err(too_many(
            "fault grants",
            caps.faults.len(),
            MAX_DECLARED_ITEMS,
        ));
    }
    if caps.http_probes.len() > MAX_DECLARED_ITEMS {
        return Err(too_many(
            "probe prefixes",
            caps.http_probes.len(),
            MAX_DECLARED_ITEMS,
        ));
    }
    let text = |t: String, max: usize| match crate::sanitize::display_text(&truncated(t, max)) {
        std::borrow::Cow::Borrowed(b) => b.to_string(),
        std::borrow::Cow::Owned(o) => o,
    };
    Ok(FlowInfo {
        name: flow_line(info.name, 64),
        version: flow_line(info.version, 32),
        description: text(info.description, 2048),
        chapters: info
            .chapters
            .into_iter()
            .map(|c| Chapter {
                title: flow_line(c.title, 120),
                narration: text(c.narration, 64 * 1024),
                key_hint: flow_line(c.key_hint, 120),
                notes: text(c.notes, 16 * 1024),
                ..c
            })
            .collect(),
        capabilities: Capabilities {
            faults: info
                .capabilities
                .faults
                .into_iter()
                .map(|mut grant| {
                    grant.services = flow_line(grant.services, 128);
                    grant.actions.sort();
                    grant.actions.dedup();
                    grant.peers.truncate(MAX_DECLARED_ITEMS);
                    grant.peers = grant.peers.into_iter().map(|p| flow_line(p, 128)).collect();
                    grant.peers.sort();
                    grant.peers.dedup();
                    grant
                })
                .collect(),
            reads_workload: info.capabilities.reads_workload,
            http_probes: info
                .capabilities
                .http_probes
                .into_iter()
                .map(|p| truncated(p, 2048))
                .collect(),
            memory_mib: info.capabilities.memory_mib,
        },
        default_workload: info.default_workload.map(|w| truncated(w, 1024)),
    })
}

impl FlowModule {
    pub async fn instantiate(&self, api: HostApi, limits: &Limits) -> Result<FlowInstance> {
        let log = flow_log::FlowLog::new(&self.name);
        let sandbox = Sandbox::new(&log);
        let stderr = sandbox.stderr.clone();
        let mut api = api;
        api.attach_log(log);
        let data = StoreData {
            wasi: sandbox.wasi,
            table: ResourceTable::new(),
            // `describe` runs under the presenter's ceiling; the flow's own
            // need (or the default) replaces it once it is known.
            limits: store_limits(limits.max_memory_bytes),
            api,
            stderr,
            watchdog: Watchdog::new(limits.compute_budget),
        };
        let mut store = Store::new(self.pre.engine(), data);
        store.limiter(|data| &mut data.limits);
        // Every host call, WASI's included, passes here on the way in and out.
        store.call_hook(|mut ctx, hook| {
            let now = std::time::Instant::now();
            let data = ctx.data_mut();
            match hook {
                CallHook::CallingWasm => {
                    data.watchdog.calling_guest(now);
                    Ok(())
                }
                CallHook::ReturningFromWasm => Ok(()),
                CallHook::CallingHost => {
                    data.watchdog.entering_host(now);
                    Ok(())
                }
                CallHook::ReturningFromHost => {
                    let StoreData { watchdog, api, .. } = data;
                    watchdog.returning_from_host(|| api.take_call_kind(), now);
                    data.check_watchdog()
                }
            }
        });
        // Every string and list element a call lifts counts, once per use.
        store.set_hostcall_fuel(lift::PER_CALL_BYTES);
        store.epoch_deadline_callback(|mut ctx| {
            ctx.data_mut().check_watchdog()?;
            Ok(UpdateDeadline::Yield(1))
        });
        store.set_epoch_deadline(1);
        let flow = self
            .pre
            .instantiate(&mut store)
            .await
            .map_err(|e| anyhow!("{}: cannot start the flow: {}", self.name, first_line(&e)))?;
        Ok(FlowInstance {
            store,
            flow,
            limits: limits.clone(),
            memory_bytes: limits.max_memory_bytes,
        })
    }
}

fn store_limits(memory_bytes: usize) -> StoreLimits {
    StoreLimitsBuilder::new()
        .memory_size(memory_bytes)
        .table_elements(100_000)
        .instances(64)
        .tables(64)
        .memories(16)
        .trap_on_grow_failure(true)
        .build()
}

impl FlowInstance {
    /// The flow's self-description; from now on it runs within the memory
    /// it asked for (or the default), refused when that is over the ceiling.
    pub async fn describe(&mut self) -> Result<FlowInfo, GuestFailure> {
        self.store.set_hostcall_fuel(lift::DESCRIBE_BYTES);
        let result = self.flow.describe(&mut self.store).await;
        self.store.set_hostcall_fuel(lift::PER_CALL_BYTES);
        // What lifting and checking the description allocated goes back
        // before the consent screen: it is the flow's, not the presenter's.
        let result = result.map(kept_info);
        lift::give_back_memory();
        let info = match result {
            Ok(info) => info,
            Err(e) if lift::over_budget(&e) => {
                return Err(GuestFailure::Refused(format!(
                    "returned more than {} MiB of text (every string counted each time it appears); keep each chapter's narration under 64 KiB",
                    lift::DESCRIBE_BYTES >> 20
                )));
            }
            Err(e) => return Err(self.failure(e)),
        }?;
        let need = memory_need(info.capabilities.memory_mib, &self.limits)?;
        self.store.data_mut().limits = store_limits(need);
        self.memory_bytes = need;
        Ok(info)
    }

    /// The linear memory the flow may use now (after `describe`, its need).
    pub fn memory_limit_bytes(&self) -> usize {
        self.memory_bytes
    }

    pub async fn enter(&mut self, index: u32) -> Result<Result<(), String>, GuestFailure> {
        let result = self.flow.enter(&mut self.store, index).await;
        let result = result.map_err(|e| self.failure(e));
        lift::give_back_memory();
        result
    }

    pub fn api_mut(&mut self) -> &mut HostApi {
        &mut self.store.data_mut().api
    }

    fn failure(&mut self, error: wasmtime::Error) -> GuestFailure {
        if let Some(failure) = error.downcast_ref::<GuestFailure>() {
            return match failure {
                GuestFailure::ComputeBudget(d) => GuestFailure::ComputeBudget(*d),
                GuestFailure::CallBudget(d) => GuestFailure::CallBudget(*d),
                GuestFailure::Skipped(d) => GuestFailure::Skipped(*d),
                _ => GuestFailure::Interrupted,
            };
        }
        if lift::over_budget(&error) {
            return GuestFailure::Trap {
                trap: format!(
                    "handed the host more than {} MiB in one call (every string and list element counts, however it is shared in memory)",
                    lift::PER_CALL_BYTES >> 20
                ),
                stderr: String::new(),
            };
        }
        let trap = match error.downcast_ref::<wasmtime::Trap>() {
            Some(trap) => trap.to_string(),
            // The outer message is only "error while executing at wasm
            // backtrace"; the root cause says what happened.
            None => {
                let cause = first_line(&error.root_cause());
                if cause.contains("growing memory") {
                    format!(
                        "exceeded its memory limit of {} MiB ({cause}; a flow that needs more declares memory-mib, up to --max-memory-mib)",
                        self.memory_bytes >> 20
                    )
                } else {
                    cause
                }
            }
        };
        let tail = self.store.data().stderr.tail();
        let stderr = if tail.trim().is_empty() {
            String::new()
        } else {
            format!(" — stderr: {}", tail.trim())
        };
        GuestFailure::Trap { trap, stderr }
    }
}

#[cfg(test)]
mod memory_tests {
    use super::*;
    use crate::model::Capabilities;

    fn needing(mib: u32) -> Capabilities {
        Capabilities {
            memory_mib: mib,
            ..Default::default()
        }
    }

    #[test]
    fn a_flow_gets_what_it_asks_for_within_the_ceiling_and_the_default_otherwise() {
        let limits = Limits::default();
        let mib = |caps: &Capabilities| limits.for_flow(caps).max_memory_bytes >> 20;
        assert_eq!(mib(&needing(0)), 64, "no need stated: the default");
        assert_eq!(mib(&needing(160)), 160);
        assert_eq!(mib(&needing(256)), 256);
        let low_ceiling = Limits {
            max_memory_bytes: 32 << 20,
            ..Limits::default()
        };
        assert_eq!(
            low_ceiling.for_flow(&needing(0)).max_memory_bytes >> 20,
            32,
            "a presenter's lower ceiling caps the default too"
        );
    }

    #[test]
    fn a_flow_asking_for_more_than_the_ceiling_is_refused_naming_both() {
        let refused = memory_need(300, &Limits::default())
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("asks for 300 MiB") && refused.contains("at most 256 MiB"),
            "{refused}"
        );
        assert!(memory_need(u32::MAX, &Limits::default()).is_err());
    }
}
