//! The wasmtime side: one engine, one linker, and the sandbox each flow runs in.
//!
//! This is the only module that touches the generated bindings of `wit/`
//! (one module per released version under [`wit`]); the rest of the host
//! sees the model's [`crate::model::FlowInfo`] and [`FlowInstance`]. Each
//! concern in its own file: `engine` (the engine, linker, epoch ticker and
//! loading a pack), `instance` (a store and the calls into it), `limits`,
//! `description` (what the host keeps of `describe()`), `lift`, `watchdog`,
//! `sandbox`, `compile` and `shape_check`, `cache`, `api` (the imports, in
//! host types) and `wit` (one module per released API version).

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

mod description;
mod engine;
mod failure;
mod instance;
mod limits;
mod pack;

pub use engine::{Compiler, FlowModule, Options, Runtime};
pub use failure::GuestFailure;
pub use instance::{FlowInstance, QUIT_GRACE, SKIP_GRACE, StoreData};
pub use limits::{DEFAULT_MEMORY_MIB, Limits};

pub use wit::ApiVersion;

fn first_line(error: &impl std::fmt::Display) -> String {
    let text = format!("{error:#}");
    text.lines().next().unwrap_or_default().to_string()
}
