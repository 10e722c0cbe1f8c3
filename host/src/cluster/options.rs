//! How the Docker backends run their helpers: options the CLI reads once
//! (flags with environment fallbacks) and hands to the backend it makes.

/// The image scripts/build-netfault-image.sh builds; `--netfault-image`
/// names another that carries the same `netfault` binary.
pub const DEFAULT_NETFAULT_IMAGE: &str = "demo-netfault:0.1.0";

/// How the Docker backends make what they cannot make through the Engine
/// API alone. The CLI reads it once (flags with environment fallbacks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
    /// The image network faults run their helper from.
    pub netfault_image: String,
    /// Where a Swarm task's container calls run.
    pub swarm_helpers: HelperPlacement,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            netfault_image: DEFAULT_NETFAULT_IMAGE.to_string(),
            swarm_helpers: HelperPlacement::default(),
        }
    }
}

/// Where a Swarm task's container calls run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum HelperPlacement {
    /// Through this engine when the task is on its machine, through a
    /// helper service on the task's machine otherwise.
    #[default]
    Remote,
    /// Always through a helper service, even on this machine: a one-machine
    /// swarm (CI) then exercises the path a multi-machine one takes.
    Always,
}
