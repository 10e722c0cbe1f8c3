//! Getting a pack's component: its shape checked first (`shape_check`),
//! then from the cache, or compiled by the bounded child (`compile`). Apart
//! from both so that neither needs the other's whole story.

use super::compile::{ChildCompiler, CompileFailure, compile_private};
use super::{cache, shape_check};
use wasmtime::Engine;

/// Why a pack gave no component.
#[derive(Debug)]
pub enum Refused {
    /// Its shape is over a bound (`shape_check`): nothing was compiled.
    BeforeCompiling(shape_check::Refusal),
    /// Compiling it failed or went over a bound.
    Compiling(CompileFailure),
}

/// The compiled component for `wasm`: its shape checked first, then from
/// the cache, or compiled by `child` (in this process without one: the
/// benches and unit tests, which load only their own flows).
pub fn compiled(
    engine: &Engine,
    cache: Option<&cache::ModuleCache>,
    child: Option<&ChildCompiler>,
    wasm: &[u8],
) -> Result<(wasmtime::component::Component, Option<cache::Outcome>), Refused> {
    // A hit was compiled by this engine before, within the bounds: its
    // shape is not checked again (the check is ~0.1 s of an 18 MB pack, as
    // long as the whole cached load).
    if let Some(cache) = cache
        && let Some(component) = cache.hit(engine, wasm)
    {
        return Ok((component, Some(cache::Outcome::Hit)));
    }
    shape_check::check(wasm, &shape_check::ShapeLimits::default())
        .map_err(Refused::BeforeCompiling)?;
    let in_process = |e: wasmtime::Error| {
        let text = format!("{e:#}");
        Refused::Compiling(CompileFailure::Invalid(
            text.lines().next().unwrap_or_default().to_string(),
        ))
    };
    match (cache, child) {
        (Some(cache), Some(child)) => cache
            .load_or_compile_in(engine, wasm, child)
            .map(|(c, outcome)| (c, Some(outcome)))
            .map_err(Refused::Compiling),
        (None, Some(child)) => compile_private(engine, wasm, child)
            .map(|c| (c, None))
            .map_err(Refused::Compiling),
        (Some(cache), None) => cache
            .load_or_compile(engine, wasm)
            .map(|(c, outcome)| (c, Some(outcome)))
            .map_err(in_process),
        (None, None) => wasmtime::component::Component::new(engine, wasm)
            .map(|c| (c, None))
            .map_err(in_process),
    }
}
