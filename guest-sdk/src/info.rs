//! Builders for the flow's description, so `describe` reads like the show,
//! each chapter next to what it does.

use crate::FlowError;
use crate::bindings::{self, Capabilities, FaultAction, FaultGrant};

/// What a chapter does when the presenter enters it: a method of the flow
/// (`Self::kill_follower`) or a closure that captures nothing.
pub type Action<F> = fn(&mut F) -> Result<(), FlowError>;

/// The flow's name, chapters (each with its action) and the capabilities it
/// needs. `F` is the flow type the actions run on.
pub struct FlowInfo<F> {
    record: bindings::FlowInfo,
    actions: Vec<Option<Action<F>>>,
}

/// One step of the show: what the audience reads, the presenter's hint, and
/// the action that runs once the narration is on screen.
pub struct Chapter<F> {
    record: bindings::Chapter,
    action: Option<Action<F>>,
}

impl<F> FlowInfo<F> {
    /// A flow with no chapters and no capabilities yet.
    pub fn new(name: &str, version: &str) -> Self {
        FlowInfo {
            record: bindings::FlowInfo {
                name: name.to_string(),
                version: version.to_string(),
                description: String::new(),
                chapters: Vec::new(),
                capabilities: Capabilities {
                    faults: Vec::new(),
                    reads_workload: false,
                    http_probes: Vec::new(),
                    memory_mib: 0,
                },
                default_workload: None,
                hypotheses: Vec::new(),
            },
            actions: Vec::new(),
        }
    }

    /// One sentence shown by `host inspect`.
    pub fn description(mut self, text: &str) -> Self {
        self.record.description = text.to_string();
        self
    }

    /// Appends a chapter; chapters run in the order they are added.
    pub fn chapter(mut self, chapter: Chapter<F>) -> Self {
        self.record.chapters.push(chapter.record);
        self.actions.push(chapter.action);
        self
    }

    /// Asks for `actions` on the services whose name matches `services` (a glob).
    /// Follow it with [`peers`](Self::peers) to name the services that
    /// `isolate` may cut these from and that `shape` may limit itself to.
    pub fn grant_faults(mut self, services: &str, actions: &[FaultAction]) -> Self {
        self.record.capabilities.faults.push(FaultGrant {
            services: services.to_string(),
            actions: actions.to_vec(),
            peers: Vec::new(),
        });
        self
    }

    /// The peers of the grant added just before (by
    /// [`grant_faults`](Self::grant_faults)): globs over the services that
    /// `cluster::isolate` may cut its services from and that a
    /// `ShapeSpec::towards` may name. The presenter sees them on the consent
    /// screen. Without peers a grant allows no `isolate`, and `shape` only
    /// of all traffic. Adds to the globs given earlier.
    ///
    /// ```
    /// use guest_sdk::{FaultAction, FlowInfo};
    ///
    /// # struct Demo;
    /// let info = FlowInfo::<Demo>::new("demo", "0.1.0")
    ///     .grant_faults("etcd*", &[FaultAction::Network, FaultAction::Shape])
    ///     .peers(["etcd*"]) // etcd1 may be isolated from etcd2, …
    ///     .grant_faults("client", &[FaultAction::Kill]); // no peers
    /// ```
    ///
    /// # Panics
    ///
    /// When no grant was added before: there is no grant to give peers to.
    pub fn peers<I, S>(mut self, globs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let Some(grant) = self.record.capabilities.faults.last_mut() else {
            panic!("FlowInfo::peers needs a grant_faults before it");
        };
        grant
            .peers
            .extend(globs.into_iter().map(|g| g.as_ref().to_string()));
        self
    }

    /// Asks to read the workload figures.
    pub fn reads_workload(mut self) -> Self {
        self.record.capabilities.reads_workload = true;
        self
    }

    /// Asks to send HTTP probes to URLs starting with `url_prefix`.
    pub fn http_probe(mut self, url_prefix: &str) -> Self {
        self.record
            .capabilities
            .http_probes
            .push(url_prefix.to_string());
        self
    }

    /// The workload source the host uses when the presenter names none, e.g.
    /// `"service:go-ycsb"`.
    pub fn default_workload(mut self, source: &str) -> Self {
        self.record.default_workload = Some(source.to_string());
        self
    }

    /// States the linear memory the flow needs, in MiB, when the host's
    /// 64 MiB default is not enough (a Rust flow rarely needs this). The
    /// host grants it up to the presenter's `--max-memory-mib` and refuses
    /// the flow, before it runs, if it asks for more. Past its need a flow
    /// traps, as one past the default does.
    ///
    /// ```
    /// use guest_sdk::FlowInfo;
    ///
    /// # struct Demo;
    /// let info = FlowInfo::<Demo>::new("big-tables", "0.1.0").memory_mib(128);
    /// ```
    pub fn memory_mib(mut self, mib: u32) -> Self {
        self.record.capabilities.memory_mib = mib;
        self
    }

    /// A steady-state hypothesis the host judges as the show goes (see
    /// [`crate::hypothesis`]).
    pub fn hypothesis(mut self, hypothesis: crate::Hypothesis) -> Self {
        self.record.hypotheses.push(hypothesis.into_record());
        self
    }

    /// The record the host reads (`describe()` of the WIT) and the chapters'
    /// actions, index for index.
    pub(crate) fn into_parts(self) -> (bindings::FlowInfo, Vec<Option<Action<F>>>) {
        (self.record, self.actions)
    }
}

/// The description as the WIT's `flow-info` record, without the actions.
impl<F> From<FlowInfo<F>> for bindings::FlowInfo {
    fn from(info: FlowInfo<F>) -> Self {
        info.record
    }
}

impl<F> Chapter<F> {
    /// A chapter with this title, no narration, no hint, no notes, neither
    /// flag, and no action (entering it only shows its narration).
    pub fn new(title: &str) -> Self {
        Chapter {
            record: bindings::Chapter {
                title: title.to_string(),
                narration: String::new(),
                key_hint: String::new(),
                auto_advance: false,
                blocks_advance: false,
                notes: String::new(),
            },
            action: None,
        }
    }

    /// Narration markup shown when the chapter is entered (see [`crate::markup`]).
    pub fn narration(mut self, markup: &str) -> Self {
        self.record.narration = markup.to_string();
        self
    }

    /// The footer hint, e.g. `"SPACE inject the fault"`.
    pub fn key_hint(mut self, hint: &str) -> Self {
        self.record.key_hint = hint.to_string();
        self
    }

    /// Speaker notes for the presenter only (narration markup, see
    /// [`crate::markup`]): what to say, what to point at. Never shown to the
    /// audience.
    pub fn notes(mut self, markup: &str) -> Self {
        self.record.notes = markup.to_string();
        self
    }

    /// Moves to the next chapter by itself once the action succeeds.
    pub fn auto_advance(mut self) -> Self {
        self.record.auto_advance = true;
        self
    }

    /// Ignores "next" while the action runs.
    pub fn blocks_advance(mut self) -> Self {
        self.record.blocks_advance = true;
        self
    }

    /// What the chapter does once its narration is on screen. `Err` shows
    /// the message to the audience; [`FlowError::Interrupted`] ends the
    /// chapter quietly.
    pub fn action(mut self, action: Action<F>) -> Self {
        self.action = Some(action);
        self
    }
}
