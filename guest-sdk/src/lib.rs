#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

// The generated export code names this crate by its absolute path, also from
// inside it.
extern crate self as guest_sdk;

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

/// The raw generated bindings. Flows should not need them; they are public
/// because [`export_flow!`] expands in the flow's crate, and for the one
/// component that is not a show (the benchmark in `benches/calls-flow`, whose
/// `enter(n)` takes any `n`).
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/v0.3.0",
        world: "flow",
        pub_export_macro: true,
        export_macro_name: "__export_flow_world",
        default_bindings_module: "::guest_sdk::bindings",
        runtime_path: "::guest_sdk::__wit_bindgen::rt",
    });
}

pub mod cluster;
mod error;
pub mod hypothesis;
mod info;
pub mod markup;
pub mod narration;
pub mod probe;
pub mod recipes;
pub mod timing;
pub mod workload;

pub use bindings::FaultAction;
pub use error::{Context, FlowError};
pub use hypothesis::Hypothesis;
pub use info::{Action, Chapter, FlowInfo};

/// Everything a flow usually needs, in one `use`.
pub mod prelude {
    pub use crate::cluster::{self, ClusterError, Node, NodeState, ShapeSpec, Target};
    pub use crate::markup::{Markup, bold, dim, green, red, yellow};
    pub use crate::probe::{self, ProbeError};
    pub use crate::workload::{self, NewSamples, Sample, Status, WorkloadError};
    pub use crate::{
        Action, Chapter, Context, FaultAction, Flow, FlowError, FlowInfo, Hypothesis, export_flow,
        log, markup, narration, recipes, say, timing,
    };
}

/// A demo flow: its chapters, each with what it does.
///
/// One value of the type lives for the whole show (created with `Default`),
/// so fields carry state from one chapter to the next (e.g. which node was
/// killed); every chapter's [`Action`] gets it as `&mut self`.
pub trait Flow: Default + 'static {
    /// The flow's name, its chapters with their actions, and the
    /// capabilities it needs. Called once, before any chapter; must not wait
    /// or touch the cluster. When the presenter enters chapter `i`, the
    /// action of the `i`-th [`Chapter`] added here runs.
    fn describe(&self) -> FlowInfo<Self>;
}

/// What [`export_flow!`] exports: the flow's value and its chapters'
/// actions, kept from the description so `enter` needs no index `match`.
#[doc(hidden)]
pub mod __export {
    use crate::{Action, Flow, FlowError, bindings};

    pub struct Runtime<F> {
        flow: F,
        /// Filled by the first `describe` (or the first `enter`, should a
        /// host skip `describe`): the description is built once.
        actions: Option<Vec<Option<Action<F>>>>,
    }

    impl<F: Flow> Default for Runtime<F> {
        fn default() -> Self {
            Runtime {
                flow: F::default(),
                actions: None,
            }
        }
    }

    impl<F: Flow> Runtime<F> {
        pub fn describe(&mut self) -> bindings::FlowInfo {
            let (record, actions) = self.flow.describe().into_parts();
            self.actions = Some(actions);
            record
        }

        /// Runs chapter `index`'s action. An interruption is a clean
        /// return: the presenter moved on, nothing is left to show.
        pub fn enter(&mut self, index: u32) -> Result<(), String> {
            let flow = &mut self.flow;
            let actions = self
                .actions
                .get_or_insert_with(|| flow.describe().into_parts().1);
            let Some(&chapter) = actions.get(index as usize) else {
                return Err(format!(
                    "no chapter {index}: the flow has {} chapters",
                    actions.len()
                ));
            };
            let Some(action) = chapter else {
                return Ok(());
            };
            match action(flow) {
                Ok(()) | Err(FlowError::Interrupted) => Ok(()),
                Err(FlowError::Failed(message)) => Err(message),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::__export::Runtime;
    use crate::{Chapter, FaultAction, Flow, FlowError, FlowInfo};

    /// Counts which chapters ran, so a test sees dispatch and kept state.
    #[derive(Default)]
    struct Show {
        ran: Vec<&'static str>,
    }

    impl Show {
        fn kill(&mut self) -> Result<(), FlowError> {
            self.ran.push("kill");
            Ok(())
        }
    }

    impl Flow for Show {
        fn describe(&self) -> FlowInfo<Self> {
            FlowInfo::new("show", "1.2.3")
                .description("A show for the tests.")
                .chapter(
                    Chapter::new("Intro")
                        .narration("Hello")
                        .key_hint("SPACE begin")
                        .notes("Say [bold]hello[/]."),
                )
                .chapter(Chapter::new("Kill").blocks_advance().action(Self::kill))
                .chapter(Chapter::new("Skipped").action(|show| {
                    show.ran.push("skipped");
                    Err(FlowError::Interrupted)
                }))
                .chapter(Chapter::new("Broken").auto_advance().action(|show| {
                    show.ran.push("broken");
                    Err(format!("{} chapters ran before this one", show.ran.len() - 1).into())
                }))
                .grant_faults("db*", &[FaultAction::Kill, FaultAction::Pause])
                .grant_faults("db*", &[FaultAction::Network, FaultAction::Shape])
                .peers(["db*"])
                .peers(vec!["cache".to_string()])
                .reads_workload()
                .http_probe("http://db1:2379/")
                .default_workload("service:load")
        }
    }

    #[test]
    fn describe_gives_the_host_the_wit_record_as_built() {
        let info = Runtime::<Show>::default().describe();
        assert_eq!(
            (info.name.as_str(), info.version.as_str()),
            ("show", "1.2.3")
        );
        assert_eq!(info.description, "A show for the tests.");
        let titles: Vec<&str> = info.chapters.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["Intro", "Kill", "Skipped", "Broken"]);
        assert_eq!(info.chapters[0].narration, "Hello");
        assert_eq!(info.chapters[0].key_hint, "SPACE begin");
        assert_eq!(info.chapters[0].notes, "Say [bold]hello[/].");
        assert_eq!(info.chapters[1].notes, "", "no notes unless given");
        assert!(info.chapters[1].blocks_advance && !info.chapters[1].auto_advance);
        assert!(info.chapters[3].auto_advance && !info.chapters[3].blocks_advance);
        assert_eq!(info.capabilities.faults.len(), 2);
        assert_eq!(info.capabilities.faults[0].services, "db*");
        assert_eq!(
            info.capabilities.faults[0].actions,
            [FaultAction::Kill, FaultAction::Pause]
        );
        assert!(
            info.capabilities.faults[0].peers.is_empty(),
            "peers belong to the grant just before them"
        );
        assert_eq!(
            info.capabilities.faults[1].actions,
            [FaultAction::Network, FaultAction::Shape]
        );
        assert_eq!(info.capabilities.faults[1].peers, ["db*", "cache"]);
        assert!(info.capabilities.reads_workload);
        assert_eq!(info.capabilities.http_probes, ["http://db1:2379/"]);
        assert_eq!(info.default_workload.as_deref(), Some("service:load"));
    }

    #[test]
    fn enter_runs_the_action_of_that_chapter_on_the_one_flow_value() {
        let mut runtime = Runtime::<Show>::default();
        runtime.describe();
        assert_eq!(runtime.enter(0), Ok(()), "a chapter without action");
        assert_eq!(runtime.enter(1), Ok(()));
        assert_eq!(runtime.enter(2), Ok(()), "an interruption ends it cleanly");
        assert_eq!(
            runtime.enter(3),
            Err("2 chapters ran before this one".to_string()),
            "a failure is the sentence the host shows"
        );
    }

    #[test]
    #[should_panic(expected = "FlowInfo::peers needs a grant_faults before it")]
    fn peers_without_a_grant_is_a_mistake_caught_at_describe() {
        let _ = FlowInfo::<Show>::new("show", "1").peers(["db*"]);
    }

    #[test]
    fn enter_without_describe_still_finds_the_chapters() {
        let mut runtime = Runtime::<Show>::default();
        assert_eq!(
            runtime.enter(3),
            Err("0 chapters ran before this one".to_string())
        );
    }

    #[test]
    fn entering_a_chapter_the_flow_does_not_have_is_an_error() {
        let mut runtime = Runtime::<Show>::default();
        runtime.describe();
        assert_eq!(
            runtime.enter(4),
            Err("no chapter 4: the flow has 4 chapters".to_string())
        );
    }
}

/// Exports a [`Flow`] implementation as the component's `describe` and
/// `enter`: `enter(i)` runs the action of the flow's `i`-th chapter. Use it
/// once per flow crate.
#[macro_export]
macro_rules! export_flow {
    ($flow:ty) => {
        #[doc(hidden)]
        pub struct __GuestSdkExport;

        ::std::thread_local! {
            static __GUEST_SDK_FLOW: ::std::cell::RefCell<$crate::__export::Runtime<$flow>> =
                ::std::cell::RefCell::new(::std::default::Default::default());
        }

        impl $crate::bindings::Guest for __GuestSdkExport {
            fn describe() -> $crate::bindings::FlowInfo {
                __GUEST_SDK_FLOW.with(|flow| flow.borrow_mut().describe())
            }

            fn enter(index: u32) -> ::std::result::Result<(), ::std::string::String> {
                __GUEST_SDK_FLOW.with(|flow| flow.borrow_mut().enter(index))
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
