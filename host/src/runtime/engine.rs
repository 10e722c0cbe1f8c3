//! The engine, its linker and epoch ticker, built once per process, and
//! loading a pack: reading, bounded compiling (`compile`), finding the API
//! version it speaks, linking it into a [`FlowModule`].

use super::*;
use anyhow::{Context, Result, anyhow};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

const WIT_PACKAGE: &str = "demo:flow";

/// How often the engine's epoch advances; the granularity of compute checks.
const EPOCH_TICK: Duration = Duration::from_millis(20);
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
    pub(super) fn configure(self, config: &mut Config) {
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
        let compiled = pack::compiled(
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
            Err(pack::Refused::BeforeCompiling(why)) => {
                return Err(anyhow!("{display}: refused before compiling: {why}"));
            }
            Err(pack::Refused::Compiling(compile::CompileFailure::Bound(why))) => {
                return Err(anyhow!("{display}: refused while compiling: {why}"));
            }
            Err(pack::Refused::Compiling(compile::CompileFailure::Trouble(why))) => {
                return Err(anyhow!("{display}: cannot compile the flow: {why}"));
            }
            Err(pack::Refused::Compiling(compile::CompileFailure::Invalid(why))) => {
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
    pub(super) pre: wit::FlowPre,
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
