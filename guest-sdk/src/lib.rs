//! Write the chapters of a live chaos-engineering demo as a WebAssembly component.
//!
//! A flow is a type implementing [`Flow`], exported with [`export_flow!`], built
//! as a `cdylib` for `wasm32-wasip2`. The presenter runs it with
//! `host --flow my_flow.wasm`. The contract it speaks is `wit/v0.1.0/flow.wit`
//! (package `demo:flow`); this crate is the only place that touches the
//! generated bindings, so a flow never needs them.
//!
//! ```no_run
//! use guest_sdk::prelude::*;
//!
//! #[derive(Default)]
//! struct Demo {
//!     victim: Option<Node>,
//! }
//!
//! impl Flow for Demo {
//!     fn describe(&self) -> FlowInfo {
//!         FlowInfo::new("demo", "0.1.0")
//!             .chapter(Chapter::new("Intro").narration("A three-node cluster under load."))
//!             .chapter(
//!                 Chapter::new("Kill a node")
//!                     .narration("Watch the throughput.")
//!                     .blocks_advance(),
//!             )
//!             .grant_faults("db*", &[FaultAction::Kill])
//!             .reads_workload()
//!     }
//!
//!     fn enter(&mut self, chapter: u32) -> Result<(), String> {
//!         if chapter == 1 {
//!             if !timing::countdown(3, "Injecting fault in") {
//!                 return Ok(()); // the presenter skipped or quit
//!             }
//!             let node = cluster::kill(&Target::pattern("db*"), "SIGKILL")
//!                 .map_err(|e| e.message())?;
//!             narration::append(&format!("Killed {}", markup::red(&node.container)));
//!             self.victim = Some(node);
//!         }
//!         Ok(())
//!     }
//! }
//!
//! export_flow!(Demo);
//! ```

#![warn(missing_docs)]

// The generated export code names this crate by its absolute path, also from
// inside it.
extern crate self as guest_sdk;

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

/// The raw generated bindings. Flows should not need them; they are public only
/// because [`export_flow!`] expands in the flow's crate.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/v0.1.0",
        world: "flow",
        pub_export_macro: true,
        export_macro_name: "__export_flow_world",
        default_bindings_module: "::guest_sdk::bindings",
        runtime_path: "::guest_sdk::__wit_bindgen::rt",
    });
}

pub mod cluster;
mod info;
pub mod markup;
pub mod narration;
pub mod probe;
pub mod timing;
pub mod workload;

pub use bindings::{Capabilities, Chapter, FaultAction, FaultGrant, FlowInfo};

/// Everything a flow usually needs, in one `use`.
pub mod prelude {
    pub use crate::cluster::{self, ClusterError, Node, NodeState, Target};
    pub use crate::workload::{self, Sample, Status};
    pub use crate::{
        Chapter, FaultAction, Flow, FlowInfo, export_flow, log, markup, narration, probe, timing,
    };
}

/// A demo flow: its description and its chapters' actions.
///
/// One value of the type lives for the whole show (created with `Default`), so
/// fields carry state from one chapter to the next (e.g. which node was killed).
pub trait Flow: Default + 'static {
    /// The flow's name, chapters and the capabilities it needs. Called once,
    /// before any chapter; must not wait or touch the cluster.
    fn describe(&self) -> FlowInfo;

    /// Runs chapter `chapter`'s action (0-based). Its narration is already on
    /// screen. `Err` shows the message to the audience; the show goes on.
    fn enter(&mut self, chapter: u32) -> Result<(), String>;
}

/// Exports a [`Flow`] implementation as the component's `describe` and `enter`.
/// Use it once per flow crate.
#[macro_export]
macro_rules! export_flow {
    ($flow:ty) => {
        #[doc(hidden)]
        pub struct __GuestSdkExport;

        ::std::thread_local! {
            static __GUEST_SDK_FLOW: ::std::cell::RefCell<$flow> =
                ::std::cell::RefCell::new(<$flow as ::std::default::Default>::default());
        }

        impl $crate::bindings::Guest for __GuestSdkExport {
            fn describe() -> $crate::FlowInfo {
                __GUEST_SDK_FLOW.with(|flow| $crate::Flow::describe(&*flow.borrow()))
            }

            fn enter(index: u32) -> ::std::result::Result<(), ::std::string::String> {
                __GUEST_SDK_FLOW.with(|flow| $crate::Flow::enter(&mut *flow.borrow_mut(), index))
            }
        }

        $crate::bindings::__export_flow_world!(__GuestSdkExport);
    };
}

/// Messages for the flow's author, written to the host's log file (never to
/// the audience's screen).
pub mod log {
    use crate::bindings::demo::flow::log::{LogLevel, log};

    /// Detail for debugging the flow.
    pub fn debug(message: &str) {
        log(LogLevel::Debug, message);
    }

    /// Something worth knowing when reading the log after a show.
    pub fn info(message: &str) {
        log(LogLevel::Info, message);
    }

    /// Something went wrong but the flow carries on.
    pub fn warn(message: &str) {
        log(LogLevel::Warn, message);
    }

    /// Something failed.
    pub fn error(message: &str) {
        log(LogLevel::Error, message);
    }
}
