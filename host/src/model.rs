//! The host's own picture of a flow: what it is, its chapters, and what it
//! asks to be allowed. Every API version's bindings convert into these types
//! in one place (`runtime/wit/since_v*.rs`); nothing outside `runtime/` names
//! a generated type, so a new WIT version touches the runtime alone.

use std::fmt;

/// A flow's self-description, as the host keeps it (sanitised and bounded
/// by the runtime when it is read).
#[derive(Debug, Clone, PartialEq)]
pub struct FlowInfo {
    pub name: String,
    pub version: String,
    pub description: String,
    pub chapters: Vec<Chapter>,
    pub capabilities: Capabilities,
    /// The workload source to use when the presenter names none.
    pub default_workload: Option<String>,
    /// The flow's steady-state hypotheses (API 0.3.0 on), added to the
    /// presenter's.
    pub hypotheses: Vec<crate::hypotheses::Hypothesis>,
}

/// One step of the demo.
#[derive(Debug, Clone, PartialEq)]
pub struct Chapter {
    pub title: String,
    /// Narration markup shown when the chapter is entered.
    pub narration: String,
    /// Footer hint for the presenter.
    pub key_hint: String,
    /// Move on by itself once the chapter's action returned `ok`.
    pub auto_advance: bool,
    /// Ignore "next" while the action runs.
    pub blocks_advance: bool,
    /// Speaker notes (markup) for the presenter only; empty for none (and
    /// always for a 0.1.0 flow, whose API has no notes).
    pub notes: String,
}

/// What a flow asks to be allowed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Capabilities {
    pub faults: Vec<FaultGrant>,
    pub reads_workload: bool,
    /// URL prefixes, as the flow wrote them (parsed by the grant check).
    pub http_probes: Vec<String>,
    /// Linear memory the flow needs, in MiB; 0: the default (see
    /// `runtime::Limits::for_flow`).
    pub memory_mib: u32,
}

/// Some fault actions on the services a glob matches.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultGrant {
    /// Glob over compose service names, e.g. `tikv*`.
    pub services: String,
    pub actions: Vec<FaultAction>,
    /// Globs over the services that `isolate` may cut these services from
    /// and that `shape` may limit itself towards (0.2.0; empty before).
    pub peers: Vec<String>,
}

/// An action a flow may ask to perform on a service's containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultAction {
    Kill,
    Stop,
    Restart,
    Pause,
    /// Network partitions: `partition`, `isolate` and `heal`.
    Network,
    /// Traffic shaping: `shape` and `unshape`.
    Shape,
}

impl FaultAction {
    pub const ALL: [FaultAction; 6] = [
        FaultAction::Kill,
        FaultAction::Stop,
        FaultAction::Restart,
        FaultAction::Pause,
        FaultAction::Network,
        FaultAction::Shape,
    ];

    /// The name presenters read and write (`--allow kill:etcd*`).
    pub fn name(self) -> &'static str {
        match self {
            FaultAction::Kill => "kill",
            FaultAction::Stop => "stop",
            FaultAction::Restart => "restart",
            FaultAction::Pause => "pause",
            FaultAction::Network => "network",
            FaultAction::Shape => "shape",
        }
    }
}

impl fmt::Display for FaultAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An action name that is none of [`FaultAction::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown action '{0}' (use kill, stop, restart, pause, network or shape)")]
pub struct UnknownAction(pub String);

impl std::str::FromStr for FaultAction {
    type Err = UnknownAction;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        FaultAction::ALL
            .into_iter()
            .find(|action| action.name() == name)
            .ok_or_else(|| UnknownAction(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_reads_back_from_its_name() {
        for action in FaultAction::ALL {
            assert_eq!(action.name().parse::<FaultAction>(), Ok(action));
            assert_eq!(action.to_string(), action.name());
        }
        let err = "explode".parse::<FaultAction>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown action 'explode' (use kill, stop, restart, pause, network or shape)"
        );
        assert!(
            "Kill".parse::<FaultAction>().is_err(),
            "names are lowercase"
        );
    }
}
