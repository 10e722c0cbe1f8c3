//! The flow task: the one owner of the flow's wasm store. The app sends it
//! chapters to enter; it reports when each returns. A flow that crashes is
//! started afresh for the next chapter, so the show can go on.
//!
//! With `--watch`, [`watch`] reloads the flow file when it changes and the
//! task swaps to the new module between chapters.

use crate::capability::Grants;
use crate::events::{Event, RunId};
use crate::model::FlowInfo;
use crate::runtime::api::{HostApi, HostContext, QuitSignal};
use crate::runtime::{FlowInstance, FlowModule, Limits, Runtime};
use crate::sanitize::flow_line;
use anyhow::{Result, anyhow};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What the show asks of the flow task.
pub enum FlowRequest {
    /// Run chapter `index`'s action as run `run`, until `cancel`.
    Enter {
        index: u32,
        run: RunId,
        cancel: CancellationToken,
    },
    /// Use this module from the next chapter on; a chapter already running
    /// finishes on the old one.
    Reload {
        module: Arc<FlowModule>,
        info: FlowInfo,
    },
}

impl std::fmt::Debug for FlowRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlowRequest::Enter { index, run, .. } => f
                .debug_struct("Enter")
                .field("index", index)
                .field("run", run)
                .finish_non_exhaustive(),
            FlowRequest::Reload { module, info } => f
                .debug_struct("Reload")
                .field("module", &module.name)
                .field("flow", &info.name)
                .finish_non_exhaustive(),
        }
    }
}

/// Asks the flow to describe itself, in an instance used for nothing else.
pub async fn describe(module: &FlowModule, ctx: HostContext, limits: &Limits) -> Result<FlowInfo> {
    let mut instance = module.instantiate(HostApi::new(ctx), limits).await?;
    let info = instance
        .describe()
        .await
        .map_err(|failure| anyhow!("{}: describe() {failure}", module.name))?;
    if info.chapters.is_empty() {
        anyhow::bail!(
            "{} ({} {}) declares no chapters; a flow needs at least one",
            module.name,
            info.name,
            info.version
        );
    }
    Ok(info)
}

/// Runs chapters until the command channel closes.
/// The instance is created on the first chapter (and again after a crash).
pub fn spawn(
    mut module: Arc<FlowModule>,
    mut info: FlowInfo,
    grants: Grants,
    ctx: HostContext,
    limits: Limits,
) -> (mpsc::UnboundedSender<FlowRequest>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handle = tokio::spawn(async move {
        let mut instance: Option<FlowInstance> = None;
        while let Some(command) = rx.recv().await {
            let (index, run, cancel) = match command {
                FlowRequest::Enter { index, run, cancel } => (index, run, cancel),
                FlowRequest::Reload {
                    module: fresh,
                    info: fresh_info,
                } => {
                    // The presenter's grants stay as they were: a reloaded
                    // flow asking for more gets `not-permitted`, never a
                    // silent escalation.
                    module = fresh;
                    info = fresh_info;
                    // The old instance's state belongs to the old code.
                    instance = None;
                    continue;
                }
            };
            if instance.is_none() {
                // Within the memory the flow asked for (or the default).
                let limits = limits.for_flow(&info.capabilities);
                match module.instantiate(HostApi::new(ctx.clone()), &limits).await {
                    Ok(mut fresh) => {
                        fresh.api_mut().set_grants(grants.clone());
                        instance = Some(fresh);
                    }
                    Err(e) => {
                        finish(&ctx, run, index, Err(format!("{e:#}")));
                        continue;
                    }
                }
            }
            let Some(current) = instance.as_mut() else {
                continue;
            };
            current.api_mut().begin_run(run, cancel.clone());
            let title = info
                .chapters
                .get(index as usize)
                .map(|c| c.title.as_str())
                .unwrap_or("?");
            // Neither quit nor the next chapter waits on a flow: one stuck in
            // a host call the presenter cannot interrupt (a WASI sleep) is
            // abandoned.
            let returned = tokio::select! {
                returned = current.enter(index) => Ok(returned),
                _ = abandon_after_quit(&ctx.quit) => Err(Abandoned::Quit),
                _ = abandon_after_skip(&cancel) => Err(Abandoned::Skip),
            };
            current.api_mut().flush_narration();
            let outcome = match returned {
                Ok(Ok(result)) => result.map_err(|message| flow_line(message, MAX_ERROR_BYTES)),
                Ok(Err(failure)) => {
                    // The store may be mid-call in an undefined state: start afresh.
                    instance = None;
                    Err(flow_line(
                        format!(
                            "flow {} {} crashed in chapter {} \"{title}\": {failure}",
                            info.name,
                            info.version,
                            index + 1
                        ),
                        MAX_ERROR_BYTES,
                    ))
                }
                Err(abandoned) => {
                    instance = None;
                    let after = match abandoned {
                        Abandoned::Quit => "the presenter quit",
                        Abandoned::Skip => "the presenter moved on",
                    };
                    Err(format!(
                        "flow {} {} did not return from chapter {} \"{title}\" after {after}; abandoned",
                        info.name,
                        info.version,
                        index + 1
                    ))
                }
            };
            if let Err(message) = &outcome {
                tracing::warn!("chapter {} failed: {message}", index + 1);
            }
            finish(&ctx, run, index, outcome);
        }
    });
    (tx, handle)
}

/// The longest chapter error the host keeps (a flow's `err` string).
const MAX_ERROR_BYTES: usize = 2048;
/// After quit, a flow that has not returned is dropped this soon (the
/// watchdog traps one that runs at `runtime::QUIT_GRACE`; this catches one that
/// sits in a host call).
const ABANDON_AFTER_QUIT: Duration = Duration::from_millis(600);

/// After the presenter moves on, a flow that has not returned is dropped
/// this soon: a flow that runs is trapped at `runtime::SKIP_GRACE`; this
/// catches one that sits in a host call, a little later.
const ABANDON_AFTER_SKIP: Duration =
    crate::runtime::SKIP_GRACE.saturating_add(Duration::from_millis(350));

/// Why a chapter's call was dropped before it returned.
enum Abandoned {
    Quit,
    Skip,
}

async fn abandon_after_skip(cancel: &CancellationToken) {
    cancel.cancelled().await;
    tokio::time::sleep(ABANDON_AFTER_SKIP).await;
}

async fn abandon_after_quit(quit: &QuitSignal) {
    quit.token().cancelled().await;
    let waited = quit
        .requested_at()
        .map(|at| at.elapsed())
        .unwrap_or_default();
    tokio::time::sleep(ABANDON_AFTER_QUIT.saturating_sub(waited)).await;
}

fn finish(ctx: &HostContext, run: RunId, index: u32, outcome: Result<(), String>) {
    let _ = ctx.events.send(Event::ChapterFinished {
        run,
        index,
        outcome,
    });
}

/// A changed flow file, loaded and described; or why it could not be, in one
/// line for the presenter.
pub type Reloaded = Result<(Arc<FlowModule>, FlowInfo), String>;

/// How often `--watch` looks at the file. Polling needs no platform watcher
/// and a build takes seconds anyway.
const WATCH_POLL: Duration = Duration::from_millis(300);

/// What identifies one version of the file without reading it.
fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Watches `path` and sends each new version, loaded and described in an
/// instance that cannot reach the cluster. A version is loaded once it has
/// been unchanged for one poll, so a file still being written is not read
/// half-way; a broken version is reported once, and the show keeps the last
/// good one.
pub fn watch(
    path: PathBuf,
    runtime: Arc<Runtime>,
    describe_ctx: HostContext,
    limits: Limits,
    shutdown: CancellationToken,
) -> mpsc::UnboundedReceiver<Reloaded> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut loaded = stamp(&path);
        let mut previous = loaded;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(WATCH_POLL) => {}
            }
            let now = stamp(&path);
            let settled = now.is_some() && now == previous && now != loaded;
            previous = now;
            if !settled {
                continue;
            }
            loaded = now;
            let (file, rt) = (path.clone(), runtime.clone());
            let compiled = tokio::task::spawn_blocking(move || rt.load(&file))
                .await
                .map_err(|e| format!("loading {} stopped: {e}", path.display()))
                .and_then(|r| r.map_err(|e| format!("{e:#}")));
            let reloaded = match compiled {
                Ok(module) => describe(&module, describe_ctx.clone(), &limits)
                    .await
                    .map(|info| (Arc::new(module), info))
                    .map_err(|e| format!("{e:#}")),
                Err(why) => Err(why),
            };
            if tx.send(reloaded).is_err() {
                return;
            }
        }
    });
    rx
}
