//! Builders for the flow's description, so `describe` reads like the show.

use crate::bindings::{Capabilities, Chapter, FaultAction, FaultGrant, FlowInfo};

impl FlowInfo {
    /// A flow with no chapters and no capabilities yet.
    pub fn new(name: &str, version: &str) -> Self {
        FlowInfo {
            name: name.to_string(),
            version: version.to_string(),
            description: String::new(),
            chapters: Vec::new(),
            capabilities: Capabilities {
                faults: Vec::new(),
                reads_workload: false,
                http_probes: Vec::new(),
            },
            default_workload: None,
        }
    }

    /// One sentence shown by `host inspect`.
    pub fn description(mut self, text: &str) -> Self {
        self.description = text.to_string();
        self
    }

    /// Appends a chapter; chapters run in the order they are added.
    pub fn chapter(mut self, chapter: Chapter) -> Self {
        self.chapters.push(chapter);
        self
    }

    /// Asks for `actions` on the services whose name matches `services` (a glob).
    pub fn grant_faults(mut self, services: &str, actions: &[FaultAction]) -> Self {
        self.capabilities.faults.push(FaultGrant {
            services: services.to_string(),
            actions: actions.to_vec(),
        });
        self
    }

    /// Asks to read the workload figures.
    pub fn reads_workload(mut self) -> Self {
        self.capabilities.reads_workload = true;
        self
    }

    /// Asks to send HTTP probes to URLs starting with `url_prefix`.
    pub fn http_probe(mut self, url_prefix: &str) -> Self {
        self.capabilities.http_probes.push(url_prefix.to_string());
        self
    }

    /// The workload source the host uses when the presenter names none, e.g.
    /// `"service:go-ycsb"`.
    pub fn default_workload(mut self, source: &str) -> Self {
        self.default_workload = Some(source.to_string());
        self
    }
}

impl Chapter {
    /// A chapter with this title, no narration, no hint, and neither flag.
    pub fn new(title: &str) -> Self {
        Chapter {
            title: title.to_string(),
            narration: String::new(),
            key_hint: String::new(),
            auto_advance: false,
            blocks_advance: false,
        }
    }

    /// Narration markup shown when the chapter is entered (see [`crate::markup`]).
    pub fn narration(mut self, markup: &str) -> Self {
        self.narration = markup.to_string();
        self
    }

    /// The footer hint, e.g. `"SPACE inject the fault"`.
    pub fn key_hint(mut self, hint: &str) -> Self {
        self.key_hint = hint.to_string();
        self
    }

    /// Moves to the next chapter by itself once the action succeeds.
    pub fn auto_advance(mut self) -> Self {
        self.auto_advance = true;
        self
    }

    /// Ignores "next" while the action runs.
    pub fn blocks_advance(mut self) -> Self {
        self.blocks_advance = true;
        self
    }
}
