//! The flow task: the one owner of the flow's wasm store. The app sends it
//! chapters to enter; it reports when each returns. A flow that crashes is
//! started afresh for the next chapter, so the show can go on.

use crate::capability::Grants;
use crate::events::{Event, RunId};
use crate::runtime::api::{HostApi, HostContext};
use crate::runtime::{FlowInfo, FlowInstance, FlowModule, Limits};
use anyhow::{Result, anyhow};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

#[derive(Debug)]
pub enum Command {
    Enter {
        index: u32,
        run: RunId,
        cancel: CancellationToken,
    },
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
    module: std::sync::Arc<FlowModule>,
    info: FlowInfo,
    grants: Grants,
    ctx: HostContext,
    limits: Limits,
) -> (mpsc::UnboundedSender<Command>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handle = tokio::spawn(async move {
        let mut instance: Option<FlowInstance> = None;
        while let Some(Command::Enter { index, run, cancel }) = rx.recv().await {
            if instance.is_none() {
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
            current.api_mut().begin_run(run, cancel);
            let title = info
                .chapters
                .get(index as usize)
                .map(|c| c.title.as_str())
                .unwrap_or("?");
            let outcome = match current.enter(index).await {
                Ok(result) => result,
                Err(failure) => {
                    // The store may be mid-call in an undefined state: start afresh.
                    instance = None;
                    Err(format!(
                        "flow {} {} crashed in chapter {} \"{title}\": {failure}",
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

fn finish(ctx: &HostContext, run: RunId, index: u32, outcome: Result<(), String>) {
    let _ = ctx.events.send(Event::ChapterFinished {
        run,
        index,
        outcome,
    });
}
