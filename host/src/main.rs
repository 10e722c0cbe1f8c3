//! `host`: present a live chaos-engineering demo whose chapters run as a
//! sandboxed WebAssembly flow.

use anyhow::{Context, Result};
use clap::Parser;
use cli::{BackendKind, Cli, ProjectArgs, RunArgs, Subcommand, WorkloadCommand};
use host::sanitize::display_line;
use host::{cli, cluster, flow, logfile, new_flow, runtime, show, trust, workload};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `println!` for this binary's plain commands; see [`say`].
macro_rules! say {
    () => {
        say(format_args!(""))
    };
    ($($arg:tt)*) => {
        say(format_args!($($arg)*))
    };
}

fn main() -> ExitCode {
    host::term::mark_main_started();
    let cli = Cli::parse();
    // The compile child starts no async runtime: only the compiler's threads.
    if let Some(Subcommand::Compile { compiler }) = &cli.subcommand {
        return runtime::compile::child_main(compiler);
    }
    let tokio = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = tokio.block_on(dispatch(cli));
    // Quit never waits on a flow: whatever a flow left running (a probe on
    // a thread, a blocking task) is abandoned, not joined. Everything that
    // matters (restore, ledger, transcript) finished inside `dispatch`.
    tokio.shutdown_background();
    match outcome {
        Ok(code) => code,
        Err(e) => {
            // A flow's error message is part of the chain; it stays one line.
            eprintln!("error: {}", display_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.subcommand {
        Some(Subcommand::Inspect {
            file,
            state_dir: dir,
            runtime,
        }) => inspect(&file, &state_dir(dir.as_deref()), &runtime.options()).await,
        Some(Subcommand::Notes { project }) => {
            let (scope, _, state_dir) = project_and_state(&project)?;
            host::notes::client::attach(
                &host::notes::socket_path(&state_dir, &scope.key()),
                &scope.describe(),
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Subcommand::Recover { project }) => {
            let (scope, engine, state_dir) = project_and_state(&project)?;
            init_logging(&state_dir.join("host.log"))?;
            let failed = show::recover(&scope, &engine, &state_dir).await?;
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Some(Subcommand::NewFlow {
            name,
            dir,
            sdk,
            services,
            lang,
        }) => create_flow(name, dir, sdk, services, lang),
        Some(Subcommand::Workload {
            command: WorkloadCommand::Parse { file, json },
        }) => workload_parse(file.as_deref(), json),
        Some(Subcommand::Report {
            transcript,
            output,
            format,
        }) => report(&transcript, output, format),
        Some(Subcommand::Compile { compiler }) => Ok(runtime::compile::child_main(&compiler)),
        None => present(cli.run).await,
    }
}

fn state_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    let base =
        host::cli::user_dir("XDG_STATE_HOME", ".local/state").unwrap_or_else(std::env::temp_dir);
    base.join("chaos-demo")
}

/// What the show acts on, how it reaches it, and where it keeps its state.
fn project_and_state(
    args: &ProjectArgs,
) -> Result<(cluster::Scope, cluster::EngineOptions, PathBuf)> {
    let scope = match (args.backend, args.stack.as_deref()) {
        (BackendKind::Compose, None) => cluster::Scope::Compose {
            project: cluster::project::resolve(args.project.as_deref(), &args.compose_file)?,
        },
        (BackendKind::Compose, Some(_)) => {
            anyhow::bail!("--stack names a swarm stack: add --backend swarm")
        }
        (BackendKind::Swarm, Some(stack)) => cluster::Scope::Swarm {
            stack: cluster::project::stack_name(stack)?,
        },
        (BackendKind::Swarm, None) => {
            anyhow::bail!(
                "--backend swarm needs --stack NAME (the name given to `docker stack deploy`)"
            )
        }
    };
    let engine = args.engine.options()?;
    Ok((scope, engine, state_dir(args.state_dir.as_deref())))
}

fn init_logging(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the log directory {}", dir.display()))?;
    }
    let file = logfile::RotatingLog::open(path).with_context(|| {
        format!(
            "cannot open the log file {} (pass --log FILE)",
            path.display()
        )
    })?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("HOST_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,wasmtime=warn,cranelift=warn")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .init();
    Ok(())
}

async fn present(args: RunArgs) -> Result<ExitCode> {
    let flow = args.flow.clone().context("--flow FILE is required")?;
    let (scope, engine, state_dir) = project_and_state(&args.project)?;
    let tracker = workload::tracker::TrackerConfig {
        window: args.window,
        baseline_samples: args.baseline_samples,
        degraded_fraction: args.degraded_below,
        ..Default::default()
    };
    tracker.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let keys = args.keys.as_deref().map(str::parse).transpose()?;
    let mut specs = args.hypotheses.clone();
    if let Some(file) = &args.hypotheses_file {
        specs.extend(host::hypotheses::spec::read_file(file).map_err(anyhow::Error::msg)?);
    }
    let hypotheses = host::hypotheses::spec::parse_all(&specs).map_err(anyhow::Error::msg)?;
    let workload = args.workload.as_deref().map(str::parse).transpose()?;
    if args.dry_run {
        let limits = runtime::Limits {
            max_memory_bytes: args.max_memory_mib.saturating_mul(1 << 20),
            ..Default::default()
        };
        let place = (&scope, &engine, state_dir.as_path());
        let options = args.runtime.options();
        return dry_run(&flow, place, workload, hypotheses, &options, &limits).await;
    }
    let log = args
        .log
        .clone()
        .unwrap_or_else(|| state_dir.join("host.log"));
    init_logging(&log)?;
    let options = show::ShowOptions {
        flow,
        headless: args.headless,
        keys,
        transcript: args.transcript,
        scope,
        engine,
        workload,
        tracker,
        limits: runtime::Limits {
            max_memory_bytes: args.max_memory_mib.saturating_mul(1 << 20),
            ..Default::default()
        },
        state_dir,
        watch: args.watch,
        restore_leftovers: args.restore_leftovers,
        consent: host::trust::CliConsent {
            yes: args.yes,
            allow: args.allow,
        },
        record: args.record,
        talk_time: args.talk_time,
        hypotheses,
        runtime: args.runtime.options(),
        debug_panic_on_help: args.debug_panic_on_help,
    };
    // The show runs in its own task so that a panic anywhere in it still
    // ends with the cluster restored from the ledger.
    let scope = options.scope.clone();
    let engine = options.engine.clone();
    let state = options.state_dir.clone();
    match tokio::spawn(show::run(options)).await {
        Ok(result) => result.map(|_| ExitCode::SUCCESS),
        Err(join_error) => {
            host::term::restore();
            tracing::error!("the host panicked: {join_error}");
            // A panic message can quote flow text.
            eprintln!(
                "error: the host crashed ({}); restoring the cluster",
                display_line(&join_error.to_string())
            );
            show::recover(&scope, &engine, &state).await?;
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `--dry-run`: the plan, resolved against the cluster, changing nothing.
async fn dry_run(
    file: &Path,
    (scope, engine, state_dir): (&cluster::Scope, &cluster::EngineOptions, &Path),
    workload: Option<workload::SourceSpec>,
    mut hypotheses: Vec<host::hypotheses::Hypothesis>,
    options: &runtime::Options,
    limits: &runtime::Limits,
) -> Result<ExitCode> {
    let rt = runtime::Runtime::new(options)?;
    let module = rt.load(file)?;
    let (events, _) = tokio::sync::mpsc::unbounded_channel();
    let ctx = runtime::api::HostContext::detached(events, Default::default());
    let info = flow::describe(&module, ctx, limits).await?;
    hypotheses.extend(info.hypotheses.iter().cloned());
    let source = match (workload, &info.default_workload) {
        (Some(spec), _) => Some((spec, "--workload")),
        (None, Some(default)) => Some((
            workload::SourceSpec::from_flow(default)?,
            "the flow's default",
        )),
        (None, None) => None,
    };
    // Read only: the ledger is read, never written; nothing is watched, and
    // nothing is logged to the state directory.
    let ledger = cluster::ledger::Ledger::open(state_dir, &scope.key())?;
    let outstanding = ledger.outstanding().len();
    let cluster =
        cluster::Cluster::connect_to(cluster::backend_for(scope, engine), ledger, |_| {}).await;
    let lines = host::dry_run::plan_on(
        &info,
        &cluster,
        source.as_ref().map(|(spec, from)| (spec, *from)),
        &hypotheses,
    )
    .await
    .map_err(|why| anyhow::anyhow!("cannot list {}: {why}", scope.describe()))?;
    say!(
        "dry run of {} {} ({}), changing nothing:",
        info.name,
        info.version,
        module.api_description()
    );
    for line in &lines {
        let mark = if line.problem { "problem:" } else { "ok:     " };
        print_line(&format!("  {mark} {}", line.text));
    }
    if outstanding > 0 {
        print_line(&format!(
            "  note:    {outstanding} fault(s) an earlier run left are outstanding (`host recover {}`)",
            scope.recover_args()
        ));
    }
    let problems = lines.iter().filter(|l| l.problem).count();
    if problems == 0 {
        say!("dry run: every target, peer, probe and hypothesis resolved");
        Ok(ExitCode::SUCCESS)
    } else {
        say!("dry run: {problems} problem(s); nothing was changed");
        Ok(ExitCode::FAILURE)
    }
}

fn workload_parse(file: Option<&Path>, json: bool) -> Result<ExitCode> {
    let found = workload::log_report::parse_log(file, json, &mut std::io::stdout().lock())?;
    if found == 0 {
        eprintln!("no Java YCSB or go-ycsb sample found");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn report(
    transcript: &Path,
    output: Option<PathBuf>,
    format: host::report::Format,
) -> Result<ExitCode> {
    let output = output.unwrap_or_else(|| host::report::default_output(transcript, format));
    let written = host::report::write(transcript, &output, format)?;
    say!("wrote {} ({})", written.path.display(), written.summary);
    Ok(ExitCode::SUCCESS)
}

/// Prints a line of `host inspect` that holds text from the flow: sanitised,
/// and one line whatever newlines the flow put in it.
fn print_line(line: &str) {
    say!("{}", display_line(line));
}

/// Writes a line to stdout, and leaves quietly when stdout is gone (`host
/// inspect pack.wasm | head`): these commands hold no fault and no
/// terminal state, so there is nothing to restore, and `println!` would panic.
fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{line}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

async fn inspect(file: &Path, state_dir: &Path, options: &runtime::Options) -> Result<ExitCode> {
    let rt = runtime::Runtime::new(options)?;
    let module = rt.load(file)?;
    let (events, _) = tokio::sync::mpsc::unbounded_channel();
    let ctx = runtime::api::HostContext::detached(events, Default::default());
    let info = flow::describe(&module, ctx, &runtime::Limits::default()).await?;
    print_line(&format!("flow:        {} {}", info.name, info.version));
    say!("api:         {}", module.api_description());
    let memory = runtime::Limits::default().for_flow(&info.capabilities);
    say!(
        "memory:      {} MiB{}",
        memory.max_memory_bytes >> 20,
        if info.capabilities.memory_mib == 0 {
            " (the default)"
        } else {
            " (declared)"
        }
    );
    if !info.description.is_empty() {
        print_line(&format!("description: {}", info.description));
    }
    if let Some(source) = &info.default_workload {
        print_line(&format!("workload:    {source} (default)"));
    }
    say!("chapters:");
    for (i, chapter) in info.chapters.iter().enumerate() {
        let mut flags = Vec::new();
        if chapter.blocks_advance {
            flags.push("blocks-advance");
        }
        if chapter.auto_advance {
            flags.push("auto-advance");
        }
        if !chapter.notes.is_empty() {
            flags.push("notes");
        }
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!("  [{}]", flags.join(", "))
        };
        print_line(&format!("  {}. {}{flags}", i + 1, chapter.title));
    }
    if !info.hypotheses.is_empty() {
        say!("hypotheses:");
        for h in &info.hypotheses {
            let abort = if h.abort { "  [abort condition]" } else { "" };
            print_line(&format!("  {}{abort}", h.name));
        }
    }
    // Each item on its own line with the presenter's decision, so what a
    // run will enforce is visible before it runs.
    let asked = trust::requested(&info.capabilities);
    let store = trust::TrustStore::open(state_dir)?;
    let decision = store.decision(&module.sha256);
    say!("sha256:      {}", module.sha256);
    say!("capabilities:");
    for item in &asked {
        let status = match decision {
            Some(d) if d.granted.contains(item) => "granted",
            Some(d) if d.refused.contains(item) => "refused",
            _ => "not granted yet",
        };
        let what = match item {
            trust::Item::Fault { action, services } => {
                format!("fault {} on services '{services}'", action)
            }
            trust::Item::Peers { services, peers } => {
                format!("network faults of '{services}' may name services '{peers}'")
            }
            trust::Item::Workload => "read the workload".to_string(),
            trust::Item::Probe(prefix) => format!("http probe {prefix}"),
        };
        print_line(&format!("  {what}  [{item}: {status}]"));
    }
    if asked.is_empty() {
        say!("  none");
    }
    Ok(ExitCode::SUCCESS)
}

fn create_flow(
    name: String,
    dir: PathBuf,
    sdk: Option<PathBuf>,
    services: String,
    lang: new_flow::Lang,
) -> Result<ExitCode> {
    let sdk = sdk
        .or_else(|| new_flow::default_sdk_for(lang))
        .with_context(|| match lang {
            new_flow::Lang::Rust => {
                "this host was not built from a checkout with guest-sdk; pass --sdk PATH to guest-sdk"
            }
            new_flow::Lang::Python => {
                "this host was not built from a checkout with guest-sdk-py; pass --sdk PATH to guest-sdk-py"
            }
        })?;
    let generated = new_flow::generate(&new_flow::NewFlow {
        name,
        dir,
        sdk,
        services,
        lang,
    })?;
    let root = generated.root.display();
    say!("created {root}");
    say!();
    say!("  cd {root}");
    say!("  {}", generated.build);
    say!("  host inspect {}", generated.wasm.display());
    say!(
        "  host --flow {} --project YOUR_PROJECT",
        generated.wasm.display()
    );
    Ok(ExitCode::SUCCESS)
}
