//! One show, start to finish: load the flow, connect the cluster and the
//! workload, run the event loop (terminal or headless), and restore every
//! fault on the way out, however the show ends.

use crate::app::{App, Effect, Input, Phase};
use crate::cluster::ledger::Ledger;
use crate::cluster::{Cluster, ServiceLogs, leftovers};
use crate::events::Event;
use crate::flow;
use crate::runtime::api::{HostContext, QuitSignal};
use crate::runtime::{Limits, Runtime};
use crate::term::Screen;
use crate::transcript::Transcript;
use crate::workload::tracker::TrackerConfig;
use crate::workload::{self, LogFrames, LogSource, SourceSpec};
use anyhow::{Context, Result};
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// How long the flow task gets to end after quit before it is aborted and
/// the faults are restored anyway. The flow task itself abandons a chapter
/// well before this (`flow::ABANDON_AFTER_QUIT`); this is the backstop.
const FLOW_UNWIND_LIMIT: Duration = Duration::from_secs(1);
/// Redraw cadence for the clock, times in state and the fault flash when
/// nothing else changes; every event and key redraws at once.
const UI_TICK: Duration = Duration::from_millis(500);

pub struct ShowOptions {
    pub flow: PathBuf,
    pub headless: bool,
    pub keys: Option<KeyScript>,
    pub transcript: Option<PathBuf>,
    /// The Compose project or Swarm stack the show acts on.
    pub scope: crate::cluster::Scope,
    /// How its backend runs helpers (`--netfault-image`, `--swarm-helpers`).
    pub engine: crate::cluster::EngineOptions,
    /// The presenter's steady-state hypotheses (`--hypothesis`).
    pub hypotheses: Vec<crate::hypotheses::Hypothesis>,
    pub workload: Option<SourceSpec>,
    pub tracker: TrackerConfig,
    pub limits: Limits,
    pub state_dir: PathBuf,
    /// Reload the flow when its file changes (`--watch`).
    pub watch: bool,
    /// Restore what an earlier, killed run left outstanding before the show.
    pub restore_leftovers: bool,
    /// `--yes` / `--allow`: the presenter's answer when the pack is not trusted yet.
    pub consent: crate::trust::CliConsent,
    /// Record the terminal session as an asciicast v2 file.
    pub record: Option<PathBuf>,
    /// `--talk-time`: what the notes screen's timer counts against.
    pub talk_time: Option<Duration>,
    /// How flows are compiled and kept.
    pub runtime: crate::runtime::Options,
    /// The help key panics the show (the restore-after-panic test).
    pub debug_panic_on_help: bool,
}

/// A headless key script: keys, each sent once the running chapter finished,
/// and pauses after which the next key is sent at once.
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptStep {
    Key(Input),
    Pause(Duration),
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeyScript(pub Vec<ScriptStep>);

impl std::str::FromStr for KeyScript {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        let steps = text
            .split_whitespace()
            .map(|token| {
                let key = match crate::keys::input_named(token) {
                    Some(input) => input,
                    None => {
                        let other = token.to_ascii_lowercase();
                        let pause = other
                            .strip_suffix("ms")
                            .and_then(|n| n.parse().ok().map(Duration::from_millis))
                            .or_else(|| {
                                other
                                    .strip_suffix('s')
                                    .and_then(|n| n.parse().ok().map(Duration::from_secs_f64))
                            });
                        return pause.map(ScriptStep::Pause).ok_or_else(|| {
                            anyhow::anyhow!(
                                "unknown key '{token}' in --keys: use {} or a pause like 500ms",
                                crate::keys::script_words()
                            )
                        });
                    }
                };
                Ok(ScriptStep::Key(key))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(KeyScript(steps))
    }
}

/// What the headless script needs to know to pace itself.
#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    inputs_handled: u64,
    idle: bool,
    at_last: bool,
}

pub async fn run(options: ShowOptions) -> Result<ShowEnd> {
    let started = Instant::now();
    let runtime = Arc::new(Runtime::new(&options.runtime)?);
    let module = Arc::new(load_saying_so(&runtime, &options.flow)?);
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let quit = QuitSignal::default();

    // Describe in a throwaway instance that cannot reach the cluster.
    let describe_ctx = HostContext::detached(events_tx.clone(), quit.clone());
    let info = flow::describe(&module, describe_ctx, &options.limits).await?;
    tracing::info!(
        "flow {} {} ({} chapters)",
        info.name,
        info.version,
        info.chapters.len()
    );

    // Before anything is connected: a refused pack touches nothing.
    let grants = crate::consent::obtain(
        &options.state_dir,
        &crate::consent::Pack {
            file: &options.flow,
            sha256: &module.sha256,
            info: &info,
        },
        &options.consent,
        if options.headless {
            crate::consent::Asker::Flags
        } else {
            crate::consent::Asker::Terminal
        },
    )
    .await?;

    let source = match (&options.workload, &info.default_workload) {
        (Some(spec), _) => Some(spec.clone()),
        (None, Some(default)) => Some(SourceSpec::from_flow(default)?),
        (None, None) => None,
    };

    let ledger = Ledger::open(&options.state_dir, &options.scope.key())?;
    // Each source reports its own events; they are wrapped here, into the
    // one queue the app reads, in the order they happened.
    let cluster_events = events_tx.clone();
    let backend = crate::cluster::backend_for(&options.scope, &options.engine);
    let cluster = Cluster::connect_to(backend, ledger, move |event| {
        let _ = cluster_events.send(Event::Cluster(event));
    })
    .await;
    let shutdown = CancellationToken::new();
    cluster.spawn_watcher(shutdown.clone());

    let mut transcript = match (&options.transcript, options.headless) {
        (Some(path), _) => Some(Transcript::new(
            Box::new(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create the transcript {}", path.display()))?,
            ),
            started,
        )),
        (None, true) => Some(Transcript::new(Box::new(std::io::stdout()), started)),
        (None, false) => None,
    };

    // A previous host that was killed may have left faults behind.
    let policy = leftovers::Policy::for_run(options.restore_leftovers, options.headless);
    leftovers::offer(&cluster, policy).await;

    let workload_events = events_tx.clone();
    // A command source is asked to end its run after the show, so a load
    // tool's final read is heard before the show's last word.
    let workload_finish = CancellationToken::new();
    let reads_a_command = matches!(source, Some(workload::SourceSpec::Command(_)));
    let workload = workload::spawn(
        source,
        options.tracker.clone(),
        Arc::new(cluster.service_logs()),
        move |event| {
            let _ = workload_events.send(Event::Workload(event));
        },
        started,
        (workload_finish.clone(), shutdown.clone()),
    );
    let ctx = HostContext {
        cluster: Some(cluster.clone()),
        workload,
        events: events_tx.clone(),
        quit: quit.clone(),
    };
    // Without --watch the sender stays here, so nothing ever arrives.
    let (_no_reloads, mut reloads) = mpsc::unbounded_channel::<flow::Reloaded>();
    if options.watch {
        let describe_ctx = HostContext::detached(events_tx.clone(), quit.clone());
        reloads = flow::watch(
            options.flow.clone(),
            runtime.clone(),
            describe_ctx,
            options.limits.clone(),
            shutdown.clone(),
        );
    }
    let (flow_tx, flow_handle) =
        flow::spawn(module, info.clone(), grants, ctx, options.limits.clone());
    let mut flow_tx = Some(flow_tx);
    let mut flow_handle = Some(flow_handle);

    let (input_tx, mut input_rx) = mpsc::unbounded_channel::<Input>();
    let notes_inputs = input_tx.clone();
    let (resize_tx, mut resize_rx) = mpsc::unbounded_channel::<(u16, u16)>();
    let (progress_tx, progress_rx) = watch::channel(Progress::default());
    let mut screen = if options.headless {
        tokio::spawn(run_script(options.keys.clone(), progress_rx, input_tx));
        None
    } else {
        let screen = Screen::open(options.record.as_deref())?;
        tokio::spawn(read_keys(input_tx, resize_tx, shutdown.clone()));
        Some(screen)
    };

    let mut app = App::new(info, started);
    // `host notes` attaches here; its keys arrive as the main screen's do.
    let (notes_tx, notes_rx) =
        watch::channel(crate::notes::view::NotesView::of(&app, options.talk_time));
    let _notes_server = match crate::notes::server::spawn(
        &crate::notes::socket_path(&options.state_dir, &options.scope.key()),
        notes_rx,
        notes_inputs,
        shutdown.clone(),
    ) {
        Ok(server) => server,
        Err(e) => {
            // The show goes on without a second screen.
            tracing::warn!("speaker notes unavailable: {e:#}");
            None
        }
    };
    let mut frame_log = crate::term::FrameLog::default();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut tick = tokio::time::interval(UI_TICK);
    let mut end = ShowEnd::Quit;
    let mut shown_chapter = None;
    // The presenter's first; a flow's are added, never in their place.
    let mut hypotheses = options.hypotheses.clone();
    hypotheses.extend(app.flow.hypotheses.iter().cloned());
    app.set_hypotheses(hypotheses);
    let mut judgements_written = 0;
    let mut effects = app.start();

    loop {
        for effect in effects.drain(..) {
            match effect {
                Effect::Flow(request) => {
                    // A new chapter after a stop may make faults again.
                    if matches!(request, flow::FlowRequest::Enter { .. }) {
                        cluster.resume();
                    }
                    if let Some(tx) = &flow_tx {
                        let _ = tx.send(request);
                    }
                }
                Effect::StopFaults {
                    reason,
                    breached_at_ms,
                } => {
                    let cluster = cluster.clone();
                    let events = events_tx.clone();
                    tokio::spawn(async move {
                        let outcomes = cluster.stop_faults().await;
                        let failed = outcomes.iter().filter(|o| !o.ok).count();
                        let _ = events.send(Event::FaultsStopped {
                            reason,
                            breached_at_ms,
                            restored_at_ms: started.elapsed().as_millis() as u64,
                            restored: outcomes.len() - failed,
                            failed,
                        });
                    });
                }
                Effect::Quit => {
                    quit.trigger();
                    if let Some(t) = transcript.as_mut() {
                        t.quit(end.reason());
                    }
                    // Closing the channel lets the flow task end once the
                    // cancelled chapter has unwound.
                    flow_tx = None;
                    let handle = flow_handle.take();
                    let cluster = cluster.clone();
                    let events = events_tx.clone();
                    tokio::spawn(async move {
                        if let Some(mut handle) = handle
                            && tokio::time::timeout(FLOW_UNWIND_LIMIT, &mut handle)
                                .await
                                .is_err()
                        {
                            tracing::warn!(
                                "the flow task did not end {FLOW_UNWIND_LIMIT:?} after quit; aborted"
                            );
                            handle.abort();
                        }
                        cluster.restore_all().await;
                        let _ = events.send(Event::RestoreFinished);
                    });
                }
            }
        }
        if let Some(t) = transcript.as_mut() {
            t.judgements(app.hypotheses.judged(), &mut judgements_written);
        }
        if shown_chapter != Some(app.chapter) {
            shown_chapter = Some(app.chapter);
            if let Some(t) = transcript.as_mut() {
                t.chapter(&app);
            }
        }
        let notes = crate::notes::view::NotesView::of(&app, options.talk_time);
        notes_tx.send_if_modified(|shown| {
            let changed = notes.differs_beyond_the_clock(shown);
            *shown = notes;
            changed
        });
        progress_tx.send_replace(Progress {
            inputs_handled: app.inputs_handled,
            idle: !app.is_running() && app.phase == Phase::Presenting,
            at_last: app.at_last_chapter(),
        });
        if app.phase == Phase::Done {
            break;
        }
        let drawn = screen.as_mut().map(|s| s.draw(&app));
        if let Some(Ok(())) = drawn {
            frame_log.drawn(&app);
        }
        if let Some(Err(e)) = drawn {
            // The terminal is gone (closed window, broken pipe): carry on
            // without it so the faults are still undone.
            tracing::error!("drawing failed, continuing without a screen: {e:#}");
            screen = None;
            if app.phase == Phase::Presenting {
                end = ShowEnd::Signal("terminal lost");
                effects = app.quit();
                continue;
            }
        }

        tokio::select! {
            Some(event) = events_rx.recv() => {
                if let Some(t) = transcript.as_mut() {
                    t.record(&event);
                }
                effects = app.on_event(event);
            }
            Some(input) = input_rx.recv() => {
                // A debug hook for the restore-after-panic test: `?` panics.
                if input == Input::Help && options.debug_panic_on_help {
                    panic!("--debug-panic-on-help is set and `?` was pressed");
                }
                if input == Input::Quit && app.phase == Phase::Presenting {
                    end = if app.at_last_chapter() && !app.is_running() {
                        ShowEnd::Completed
                    } else {
                        ShowEnd::Quit
                    };
                }
                effects = app.on_input(input);
            }
            Some(reloaded) = reloads.recv() => match reloaded {
                Ok((module, info)) => {
                    tracing::info!("reloaded {} {} ({} chapters)", info.name, info.version, info.chapters.len());
                    if let Some(tx) = &flow_tx {
                        let _ = tx.send(flow::FlowRequest::Reload { module, info: info.clone() });
                    }
                    app.replace_flow(info);
                    shown_chapter = None;
                }
                Err(why) => {
                    tracing::warn!("reload failed: {why}");
                    app.notice = Some(format!("Reload failed, keeping the running flow: {why}"));
                }
            },
            _ = sigterm.recv() => { end = ShowEnd::Signal("SIGTERM"); effects = app.quit(); }
            _ = sighup.recv() => { end = ShowEnd::Signal("SIGHUP"); effects = app.quit(); }
            _ = sigint.recv() => { end = ShowEnd::Signal("SIGINT"); effects = app.quit(); }
            Some((width, height)) = resize_rx.recv() => {
                if let Some(s) = screen.as_mut() {
                    s.resized(width, height);
                }
            }
            _ = tick.tick() => { effects = app.tick(); }
        }
    }

    // The cluster is restored; the load tool ends its run (its final read
    // confirms, or not, every acknowledged write), then the hypotheses
    // are judged at the end, on that.
    workload_finish.cancel();
    if reads_a_command {
        let deadline = tokio::time::Instant::now() + workload::FINISH_LIMIT;
        loop {
            tokio::select! {
                Some(event) = events_rx.recv() => {
                    if let Some(t) = transcript.as_mut() {
                        t.record(&event);
                    }
                    let finished =
                        matches!(event, Event::Workload(workload::WorkloadEvent::Finished));
                    let _ = app.on_event(event);
                    if finished {
                        break;
                    }
                }
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
    }
    app.end_hypotheses();
    if let Some(t) = transcript.as_mut() {
        t.judgements(app.hypotheses.judged(), &mut judgements_written);
    }
    shutdown.cancel();
    drop(screen);
    let outstanding = cluster.outstanding_faults().len();
    if let Some(t) = transcript.as_mut() {
        t.done(end.reason(), outstanding);
    }
    if outstanding > 0 {
        anyhow::bail!(
            "{outstanding} fault(s) could not be undone; run `host recover {}` once Docker is reachable",
            options.scope.recover_args()
        );
    }
    Ok(end)
}

/// The workload follows a `service:` source's logs through the cluster's
/// handle; neither module knows the other.
impl LogSource for ServiceLogs {
    fn attach<'a>(
        &'a self,
        service: &'a str,
        since: Option<i32>,
    ) -> futures::future::BoxFuture<'a, Option<LogFrames>> {
        Box::pin(async move {
            match self.follow(service, since).await {
                Ok(frames) => frames.map(|frames| {
                    frames
                        .map(|frame| workload::LogFrame {
                            stream: match frame.stream {
                                crate::cluster::LogStream::Stdout => workload::Stream::Stdout,
                                crate::cluster::LogStream::Stderr => workload::Stream::Stderr,
                            },
                            bytes: frame.bytes,
                        })
                        .boxed()
                }),
                Err(e) => {
                    tracing::debug!("cannot follow the logs of {service}: {e}");
                    None
                }
            }
        })
    }

    fn scope(&self) -> String {
        match self.backend_scope() {
            crate::cluster::Scope::Compose { project } => format!("project '{project}'"),
            crate::cluster::Scope::Swarm { stack } => format!("stack '{stack}'"),
        }
    }
}

/// How a show ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShowEnd {
    Completed,
    Quit,
    Signal(&'static str),
}

impl ShowEnd {
    pub fn reason(&self) -> &'static str {
        match self {
            ShowEnd::Completed => "completed",
            ShowEnd::Quit => "quit",
            ShowEnd::Signal(name) => name,
        }
    }
}

/// Reads the presenter's keys from the terminal, and passes on resizes so
/// the screen is redrawn at once.
async fn read_keys(
    inputs: mpsc::UnboundedSender<Input>,
    resizes: mpsc::UnboundedSender<(u16, u16)>,
    shutdown: CancellationToken,
) {
    let mut stream = EventStream::new();
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            event = stream.next() => event,
        };
        let key = match event {
            None => return,
            Some(Ok(TermEvent::Key(key))) => key,
            Some(Ok(TermEvent::Resize(width, height))) => {
                let _ = resizes.send((width, height));
                continue;
            }
            Some(_) => continue,
        };
        if key.kind != KeyEventKind::Press {
            continue;
        }
        let Some(input) = crate::keys::input_for(&key) else {
            continue;
        };
        if inputs.send(input).is_err() {
            return;
        }
    }
}

/// Plays a key script, or without one advances through every chapter and quits.
async fn run_script(
    script: Option<KeyScript>,
    mut progress: watch::Receiver<Progress>,
    inputs: mpsc::UnboundedSender<Input>,
) {
    let mut sent = 0u64;
    let wait_idle = |progress: &mut watch::Receiver<Progress>, sent: u64| {
        let mut progress = progress.clone();
        async move {
            let _ = progress
                .wait_for(|p| p.inputs_handled >= sent && p.idle)
                .await;
            *progress.borrow()
        }
    };
    match script {
        Some(KeyScript(steps)) => {
            let mut after_pause = false;
            for step in steps {
                match step {
                    ScriptStep::Pause(duration) => {
                        tokio::time::sleep(duration).await;
                        after_pause = true;
                    }
                    ScriptStep::Key(key) => {
                        if !after_pause {
                            wait_idle(&mut progress, sent).await;
                        }
                        after_pause = false;
                        sent += 1;
                        if inputs.send(key).is_err() {
                            return;
                        }
                    }
                }
            }
        }
        None => loop {
            let state = wait_idle(&mut progress, sent).await;
            let key = if state.at_last {
                Input::Quit
            } else {
                Input::Next
            };
            sent += 1;
            if inputs.send(key).is_err() || key == Input::Quit {
                return;
            }
        },
    }
}

/// Loads the flow; when that takes long enough to notice (a new or rebuilt
/// pack compiling: seconds for an 18 MB Python flow, against ~0.1 s from the
/// cache), says so on the presenter's terminal instead of showing nothing.
fn load_saying_so(runtime: &Runtime, path: &std::path::Path) -> Result<crate::runtime::FlowModule> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return runtime.load(path);
    }
    let (loaded_tx, loaded_rx) = std::sync::mpsc::channel::<()>();
    let name = path.display().to_string();
    let notice = std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            loaded_rx.recv_timeout(Duration::from_millis(400))
        {
            eprintln!("compiling {name} (new or rebuilt; the next start reads it from the cache)…");
        }
    });
    let loaded = runtime.load(path);
    let _ = loaded_tx.send(());
    let _ = notice.join();
    loaded
}

/// Restores what the ledger of `scope` says is outstanding (after a host
/// was killed, or panicked). Prints one line per fault.
pub async fn recover(
    scope: &crate::cluster::Scope,
    engine: &crate::cluster::EngineOptions,
    state_dir: &std::path::Path,
) -> Result<usize> {
    let ledger = Ledger::open(state_dir, &scope.key())?;
    let nothing_outstanding = ledger.outstanding().is_empty();
    // Nothing shows the cluster's events here: each outcome is printed below.
    let cluster =
        Cluster::connect_to(crate::cluster::backend_for(scope, engine), ledger, |_| {}).await;
    if nothing_outstanding {
        // A host killed between a fault's steps can leave a network-fault
        // helper that no ledger entry names; it goes too.
        cluster.sweep_helpers().await;
        println!("nothing to restore for {}", scope.describe());
        return Ok(0);
    }
    let outcomes = cluster.restore_all().await;
    for outcome in &outcomes {
        println!(
            "{} {} ({}): {}",
            if outcome.ok { "restored" } else { "FAILED" },
            outcome.service,
            outcome.container,
            outcome.detail
        );
    }
    Ok(outcomes.iter().filter(|o| !o.ok).count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_scripts_parse_keys_and_pauses() {
        let script: KeyScript = "space ENTER 1500ms q 2s ?".parse().unwrap();
        assert_eq!(
            script.0,
            vec![
                ScriptStep::Key(Input::Next),
                ScriptStep::Key(Input::Next),
                ScriptStep::Pause(Duration::from_millis(1500)),
                ScriptStep::Key(Input::Quit),
                ScriptStep::Pause(Duration::from_secs(2)),
                ScriptStep::Key(Input::Help),
            ]
        );
        let err = "space jump".parse::<KeyScript>().unwrap_err().to_string();
        assert!(err.contains("unknown key 'jump'"), "{err}");
    }
}
