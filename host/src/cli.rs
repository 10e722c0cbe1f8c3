//! Command-line surface. Everything a presenter types is declared here.

use crate::workload::tracker::TrackerConfig;
use clap::{Args, Parser};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "host",
    version,
    about = "Present a live chaos-engineering demo whose chapters run as a sandboxed wasm flow",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub subcommand: Option<Subcommand>,

    #[command(flatten)]
    pub run: RunArgs,
}

/// `host SUBCOMMAND`; without one, `host` presents a flow.
#[derive(Debug, clap::Subcommand)]
pub enum Subcommand {
    /// Print a flow's name, API version, chapters and requested capabilities.
    Inspect {
        /// The flow's .wasm file.
        file: PathBuf,

        /// Whose trust file says what is granted (default: as for a run).
        #[arg(long, env = "CHAOS_DEMO_STATE_DIR")]
        state_dir: Option<PathBuf>,

        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Restore every fault a previous run left outstanding (after the host was killed).
    Recover {
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Speaker notes on a second terminal: attach to the running show of the
    /// project and see the chapter's notes, the next chapter, the talk timer
    /// and what the flow is doing; SPACE and ← drive the show, q leaves this
    /// screen only.
    Notes {
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Create a flow NAME from the built-in template; build it with
    /// `cargo build --release` (Rust) or `./build.sh` (Python) in the new
    /// directory.
    NewFlow {
        /// Flow name: lowercase letters, digits, '-' and '_'.
        name: String,
        /// Where to create the NAME directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The SDK to build on: the guest-sdk crate, or guest-sdk-py with
        /// `--lang python` (default: the one in the source tree this host
        /// was built from).
        #[arg(long)]
        sdk: Option<PathBuf>,
        /// Glob of the Compose services the flow may kill.
        #[arg(long, default_value = "db*")]
        services: String,
        /// The flow's language: a Rust crate or a Python app (built with
        /// componentize-py into NAME.wasm).
        #[arg(long, value_enum, default_value_t = crate::new_flow::Lang::Rust)]
        lang: crate::new_flow::Lang,
    },
    /// Work with load-tool output.
    Workload {
        #[command(subcommand)]
        command: WorkloadCommand,
    },
    /// Turn a show's transcript into one self-contained HTML page
    /// (throughput, p99 and verdict counts over time with each fault's
    /// window shaded, the key figures, the hypotheses, any stop, and the
    /// timeline), or into a Chaos Toolkit journal.
    Report {
        /// The transcript (`--transcript FILE` of a show, or a headless run's stdout).
        transcript: PathBuf,
        /// Where to write it (default: beside the transcript, as NAME.html,
        /// or NAME.journal.json for a journal).
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
        /// `html` (a page) or `chaostoolkit` (a Chaos Toolkit journal).
        #[arg(long, value_enum, default_value_t = crate::report::Format::Html)]
        format: crate::report::Format,
    },
    /// Not for people: the bounded child process a flow is compiled in
    /// (runtime/compile.rs); reads the component on stdin, writes the
    /// compiled artifact to stdout.
    #[command(name = "__compile", hide = true)]
    Compile {
        /// `winch` or `cranelift`, as the parent's engine.
        compiler: String,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum WorkloadCommand {
    /// Print every sample the parser extracts from a Java YCSB or go-ycsb log,
    /// one per line: check a tool's output before the show.
    Parse {
        /// The log to read ("-" or nothing: stdin).
        file: Option<PathBuf>,
        /// One JSON object per sample (and per end of run).
        #[arg(long)]
        json: bool,
    },
}

/// Which orchestrator runs the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// A Compose project's containers on this Docker engine.
    Compose,
    /// A Docker Swarm stack's tasks (give --stack).
    Swarm,
}

#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// Where the cluster runs: a Compose project or a Swarm stack.
    #[arg(long, value_enum, default_value_t = BackendKind::Compose)]
    pub backend: BackendKind,

    /// The Swarm stack to act on (`docker stack deploy … NAME`); with
    /// --backend swarm.
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,

    /// Compose project to act on (default: the project of the compose file in
    /// the current directory).
    #[arg(
        long,
        short = 'p',
        env = "COMPOSE_PROJECT_NAME",
        conflicts_with = "stack"
    )]
    pub project: Option<String>,

    /// Compose file whose project to use when --project is not given.
    #[arg(long, short = 'f', default_value = "docker-compose.yaml")]
    pub compose_file: PathBuf,

    /// Where the fault ledger lives (default: $XDG_STATE_HOME/chaos-demo or
    /// ~/.local/state/chaos-demo).
    #[arg(long, env = "CHAOS_DEMO_STATE_DIR")]
    pub state_dir: Option<PathBuf>,

    #[command(flatten)]
    pub engine: EngineArgs,
}

/// How the Docker backends run their helpers.
#[derive(Debug, Args)]
pub struct EngineArgs {
    /// The image network faults run their helper from (built by
    /// scripts/build-netfault-image.sh).
    #[arg(long, env = "DEMO_NETFAULT_IMAGE", value_name = "IMAGE",
          default_value = crate::cluster::options::DEFAULT_NETFAULT_IMAGE)]
    pub netfault_image: String,

    /// Where a Swarm task's container calls run: `remote` only for a task on
    /// another machine, `always` through a helper service (tests a
    /// multi-machine swarm on one machine).
    #[arg(long, value_enum, env = "CHAOS_DEMO_SWARM_HELPERS", default_value_t)]
    pub swarm_helpers: crate::cluster::HelperPlacement,
}

impl EngineArgs {
    /// The options, with an image name checked for what Docker accepts.
    pub fn options(&self) -> anyhow::Result<crate::cluster::EngineOptions> {
        let image = self.netfault_image.trim();
        if image.is_empty() || image.chars().any(|c| c.is_whitespace() || c.is_control()) {
            anyhow::bail!(
                "--netfault-image {:?} is not an image name (for example {})",
                self.netfault_image,
                crate::cluster::options::DEFAULT_NETFAULT_IMAGE
            );
        }
        Ok(crate::cluster::EngineOptions {
            netfault_image: image.to_string(),
            swarm_helpers: self.swarm_helpers,
        })
    }
}

/// How flows are compiled and kept. Each flag falls back to its environment
/// variable; nothing deeper in the host reads the environment.
#[derive(Debug, Args)]
pub struct RuntimeArgs {
    /// The compiler that turns a flow into native code: winch compiles fast
    /// (a Python flow in a few seconds), cranelift optimises.
    #[arg(long, value_enum, env = "CHAOS_DEMO_COMPILER", default_value_t)]
    pub compiler: crate::runtime::Compiler,

    /// Where compiled flows are kept (default: $XDG_CACHE_HOME/chaos-demo/compiled
    /// or ~/.cache/chaos-demo/compiled).
    /// An empty value turns the cache off.
    #[arg(long, env = "CHAOS_DEMO_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<std::ffi::OsString>,

    /// Compile every flow afresh, keeping nothing.
    #[arg(long)]
    pub no_cache: bool,

    /// The most memory compiling one flow may take, in MiB (raise it for a
    /// trusted flow that needs more).
    #[arg(
        long,
        env = "CHAOS_DEMO_COMPILE_MEMORY_MIB",
        default_value_t = crate::runtime::compile::DEFAULT_COMPILE_MEMORY_MIB,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub compile_memory_mib: u64,

    /// The longest compiling one flow may take, in seconds.
    #[arg(
        long,
        env = "CHAOS_DEMO_COMPILE_SECONDS",
        default_value_t = crate::runtime::compile::DEFAULT_COMPILE_SECONDS,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub compile_seconds: u64,
}

impl RuntimeArgs {
    /// The runtime's options. An empty `CHAOS_DEMO_CACHE_DIR` turns the
    /// cache off, as `--no-cache` does.
    pub fn options(&self) -> crate::runtime::Options {
        use crate::runtime::cache::ModuleCache;
        let cache = match &self.cache_dir {
            _ if self.no_cache => None,
            Some(dir) if dir.as_os_str().is_empty() => None,
            Some(dir) => Some(ModuleCache::at(dir)),
            None => user_dir("XDG_CACHE_HOME", ".cache").map(|home| ModuleCache::under(&home)),
        };
        crate::runtime::Options {
            compiler: self.compiler,
            cache,
            compile: crate::runtime::compile::CompileLimits::with(
                self.compile_memory_mib,
                self.compile_seconds,
            ),
        }
    }
}

/// An XDG base directory: `$VAR`, else `~/FALLBACK`.
pub fn user_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback)))
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The flow (.wasm component) to present.
    #[arg(long, required = true)]
    pub flow: Option<PathBuf>,

    /// Run without a terminal UI and write a JSON-lines transcript.
    #[arg(long)]
    pub headless: bool,

    /// Headless key script, e.g. "space space q". Each key waits until the
    /// running chapter finished; a duration token ("1500ms", "2s") waits that
    /// long and sends the next key without waiting. Without --keys, headless
    /// mode advances by itself and quits after the last chapter.
    #[arg(long, requires = "headless")]
    pub keys: Option<String>,

    /// Reload the flow whenever its file changes (after a rebuild), staying
    /// on the current chapter.
    #[arg(long)]
    pub watch: bool,

    /// Write the transcript here (headless default: stdout).
    #[arg(long)]
    pub transcript: Option<PathBuf>,

    #[command(flatten)]
    pub project: ProjectArgs,

    #[command(flatten)]
    pub runtime: RuntimeArgs,

    /// For the restore-after-panic test: the help key panics the show.
    #[arg(
        long,
        hide = true,
        env = "CHAOS_DEMO_DEBUG_PANIC",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub debug_panic_on_help: bool,

    /// A steady-state hypothesis, judged at the moments it names and shown,
    /// recorded and reported: `CHECK[@MOMENT,…][!abort]`, with CHECK one of
    /// `throughput>=0.5*baseline` (or `50%`), `p99<=200ms`,
    /// `no-lost-writes`, `no-stale-reads`, `all-running` and MOMENT one of
    /// `before`, `continuously`, `after-undo[:30s]`, `end` (default: before,
    /// after-undo:30s, end). `!abort` stops the chapter and undoes every
    /// fault when it is breached. Repeatable.
    #[arg(long = "hypothesis", value_name = "SPEC")]
    pub hypotheses: Vec<String>,

    /// More hypotheses, one SPEC per line (`#` starts a comment), after
    /// those given with --hypothesis.
    #[arg(long, value_name = "FILE")]
    pub hypotheses_file: Option<PathBuf>,

    /// Print what the show would touch (every service, peer and probe the
    /// flow's grants name, the workload source, each hypothesis), resolved
    /// against the cluster, and change nothing: no consent, no fault, no
    /// workload. Exits 1 if something cannot be resolved.
    #[arg(long)]
    pub dry_run: bool,

    /// The talk's length, e.g. "20m" or "1h 15m": `host notes` shows the
    /// elapsed time against it, red once it is over.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub talk_time: Option<std::time::Duration>,

    /// Workload source: "cmd:COMMAND" (its stdout and stderr),
    /// "service:NAME" (that compose service's container logs),
    /// "prom:URL#QUERY" (a Prometheus query polled every second) or
    /// "file:PATH[@SPEED]" (a recorded log replayed as a rehearsal). Default:
    /// the flow's own default, if it names one.
    #[arg(long)]
    pub workload: Option<String>,

    /// Samples kept in the workload window (sparkline and history).
    #[arg(long, default_value_t = TrackerConfig::default().window)]
    pub window: usize,

    /// Samples averaged into the baseline (after one warm-up sample).
    #[arg(long, default_value_t = TrackerConfig::default().baseline_samples)]
    pub baseline_samples: usize,

    /// The workload is degraded below this fraction of the baseline.
    #[arg(long, default_value_t = TrackerConfig::default().degraded_fraction)]
    pub degraded_below: f64,

    /// Host log file (the flow's log and its stdout/stderr go here too).
    /// Default: host.log in the state directory.
    #[arg(long)]
    pub log: Option<PathBuf>,

    /// Restore the faults an earlier, killed run left outstanding before the
    /// show starts, without asking (a terminal is asked; headless runs only
    /// say what is outstanding).
    #[arg(long)]
    pub restore_leftovers: bool,

    /// Record the show as an asciicast v2 file (replay with any asciinema player).
    #[arg(long, value_name = "FILE.cast", conflicts_with = "headless")]
    pub record: Option<PathBuf>,

    /// The most linear memory a flow may ask for (its `memory-mib`), in
    /// MiB. A flow that states no need gets 64 MiB (or this, if lower); one
    /// that asks for more than this is refused before it runs.
    #[arg(long, default_value_t = crate::runtime::Limits::default().max_memory_bytes >> 20)]
    pub max_memory_mib: usize,

    /// Grant everything the flow asks for (and remember it for this file).
    #[arg(long)]
    pub yes: bool,

    /// Grant one capability the flow asks for, e.g. `kill:etcd*`, `workload`,
    /// `probe:http://127.0.0.1:2379/` (repeatable; remembered for this file).
    /// What the flow asks for and is not allowed is refused.
    #[arg(long, value_name = "SPEC", conflicts_with = "yes")]
    pub allow: Vec<crate::trust::Item>,
}
