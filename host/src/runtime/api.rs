//! The host side of `demo:flow`, in the host's own types: what each import
//! does, whatever API version the flow was built for (each version's module
//! in `wit/` converts its arguments and results). Every call that could
//! touch Docker, the workload or the network is checked by [`Grants`]
//! first; every call that waits returns early when the chapter is cancelled.

use super::flow_log::{FlowLog, Source};
use super::outbox::{NarrationOp, Outbox};
use super::watchdog::CallKind;
use crate::capability::{Grants, Need};
use crate::cluster::{
    self as docker_cluster, Action, Cluster, ClusterError, ContainerAction, NetworkAction, Node,
    NodeState, Target,
};
use crate::events::{Event, Level, RunId};
use crate::model::FaultAction;
use crate::probe_http::{Request, Response};
use crate::rate::TokenBucket;
use crate::sanitize::{flow_line, flow_text, truncated};
use crate::workload::WorkloadView;
use crate::workload::parse::Sample;
use crate::workload::tracker::Status;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Why a workload call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadError {
    /// The flow was not granted `reads-workload`.
    NotPermitted,
    Timeout,
    Interrupted,
}

/// Why a probe failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeError {
    NotPermitted(String),
    Unreachable(String),
    Interrupted,
}

/// A workload sample and when it was received (ms since the show started).
pub type TimedSample = (Sample, u64);

/// Narration longer than this is cut: it is for an audience, not a log.
const MAX_NARRATION_BYTES: usize = 64 * 1024;
const MAX_LOG_BYTES: usize = 8 * 1024;
/// Calls that reach Docker or a probe server, a second per flow (after a
/// burst of the same number): a loop of them waits its turn instead of
/// hammering the engine.
const IO_CALLS_PER_SECOND: f64 = 20.0;

/// The presenter's "quit": cancels every wait and tells the compute watchdog
/// when it happened.
#[derive(Clone, Default)]
pub struct QuitSignal {
    token: CancellationToken,
    at: Arc<OnceLock<Instant>>,
}

impl QuitSignal {
    pub fn trigger(&self) {
        let _ = self.at.set(Instant::now());
        self.token.cancel();
    }

    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    pub fn requested_at(&self) -> Option<Instant> {
        self.at.get().copied()
    }
}

/// Shared handles every flow instance's API needs.
#[derive(Clone)]
pub struct HostContext {
    /// `None` while only describing a flow (`host inspect`): no cluster call
    /// can reach Docker then.
    pub cluster: Option<Arc<Cluster>>,
    pub workload: watch::Receiver<WorkloadView>,
    pub events: mpsc::UnboundedSender<Event>,
    pub quit: QuitSignal,
}

impl HostContext {
    /// A context that reaches no cluster and sees a workload that never
    /// changes: for describing a flow (`host inspect`, a reload check, benches).
    pub fn detached(events: mpsc::UnboundedSender<Event>, quit: QuitSignal) -> Self {
        let (_, no_workload) = watch::channel(WorkloadView::empty());
        HostContext {
            cluster: None,
            workload: no_workload,
            events,
            quit,
        }
    }
}

/// The state behind one flow instance's imports.
pub struct HostApi {
    ctx: HostContext,
    grants: Grants,
    run: RunId,
    /// Cancelled when the presenter skips this chapter or quits.
    cancel: CancellationToken,
    /// What the call under way was, for the busy clock (read by the
    /// store's call hook when the call returns).
    call_kind: CallKind,
    /// Narration and badges, rate-limited on their way to the app.
    outbox: Outbox,
    /// Set when the instance is made; until then `log` goes nowhere.
    log: Option<FlowLog>,
    /// Paces the calls that reach Docker or a probe server.
    io_calls: TokenBucket,
}

impl HostApi {
    pub fn new(ctx: HostContext) -> Self {
        let cancel = ctx.quit.token().child_token();
        let outbox = Outbox::new(ctx.events.clone());
        HostApi {
            ctx,
            grants: Grants::default(),
            run: 0,
            cancel,
            call_kind: CallKind::default(),
            outbox,
            log: None,
            io_calls: TokenBucket::new(IO_CALLS_PER_SECOND, IO_CALLS_PER_SECOND),
        }
    }

    pub(super) fn attach_log(&mut self, log: FlowLog) {
        self.log = Some(log);
    }

    /// What the call that just returned was (then back to the default).
    pub(super) fn take_call_kind(&mut self) -> CallKind {
        std::mem::take(&mut self.call_kind)
    }

    /// Sends the narration a flood held back: the chapter has ended.
    pub fn flush_narration(&self) {
        self.outbox.flush();
    }

    /// Marks the call under way as a wait the flow asked for, and runs it.
    async fn waiting<T>(&mut self, wait: impl std::future::Future<Output = T>) -> T {
        self.call_kind = CallKind::Wait;
        wait.await
    }

    /// Marks the call under way as I/O for the flow (Docker, a probe), and
    /// waits for its turn at [`IO_CALLS_PER_SECOND`]. `Err` when the chapter
    /// was cancelled while waiting.
    async fn io_turn(&mut self) -> Result<(), ()> {
        self.call_kind = CallKind::Io;
        let wait = self.io_calls.take_one_after(Instant::now());
        if wait.is_zero() {
            return Ok(());
        }
        tokio::select! {
            _ = self.cancel.cancelled() => Err(()),
            _ = tokio::time::sleep(wait) => Ok(()),
        }
    }

    /// Applies what the flow declared (and the presenter granted).
    pub fn set_grants(&mut self, grants: Grants) {
        self.grants = grants;
    }

    /// Calls made from now on belong to chapter run `run`.
    pub fn begin_run(&mut self, run: RunId, cancel: CancellationToken) {
        self.run = run;
        self.cancel = cancel;
        self.outbox.begin_run(run);
    }

    pub fn quit_requested_at(&self) -> Option<Instant> {
        self.ctx.quit.requested_at()
    }

    fn send(&self, event: Event) {
        let _ = self.ctx.events.send(event);
    }

    // What the audience reads.

    pub fn set_narration(&mut self, markup: String) {
        let markup = flow_text(markup, MAX_NARRATION_BYTES);
        self.outbox.narration(NarrationOp::Set(markup));
    }

    pub fn append_narration(&mut self, markup: String) {
        let markup = flow_text(markup, MAX_NARRATION_BYTES);
        self.outbox.narration(NarrationOp::Append(markup));
    }

    pub fn show_badge(&mut self, text: String, level: Level) {
        self.outbox.badge(flow_line(text, 64), level);
    }

    // Pacing.

    /// Waits `ms`; `false` when the chapter was cancelled first.
    pub async fn wait_ms(&mut self, ms: u32) -> bool {
        let cancel = self.cancel.clone();
        self.waiting(async move {
            tokio::select! {
                _ = cancel.cancelled() => false,
                _ = tokio::time::sleep(Duration::from_millis(u64::from(ms))) => true,
            }
        })
        .await
    }

    /// Shows a countdown from `seconds`, one a second; `false` when the
    /// chapter was cancelled first.
    pub async fn count_down(&mut self, seconds: u32, label: String) -> bool {
        self.call_kind = CallKind::Wait;
        // Nothing to show: no event, so a loop of these cannot flood the
        // app (it is then a loop of cheap calls, which the watchdog stops).
        if self.cancel.is_cancelled() {
            return false;
        }
        if seconds == 0 {
            return true;
        }
        let label = flow_line(label, 200);
        let mut completed = true;
        for remaining in (1..=seconds).rev() {
            self.send(Event::Countdown {
                run: self.run,
                remaining,
                label: label.clone(),
            });
            let tick = tokio::time::sleep(Duration::from_secs(1));
            tokio::select! {
                _ = self.cancel.cancelled() => { completed = false; break; }
                _ = tick => {}
            }
        }
        self.send(Event::Countdown {
            run: self.run,
            remaining: 0,
            label,
        });
        completed
    }

    // The workload.

    fn workload_permitted(&self) -> Result<(), WorkloadError> {
        if self.grants.reads_workload() {
            Ok(())
        } else {
            Err(WorkloadError::NotPermitted)
        }
    }

    pub fn workload_sample(&self) -> Result<Option<TimedSample>, WorkloadError> {
        self.workload_permitted()?;
        let view = self.ctx.workload.borrow();
        Ok(view.current.clone().map(|sample| (sample, view.t_ms)))
    }

    pub fn workload_baseline(&self) -> Result<Option<f64>, WorkloadError> {
        self.workload_permitted()?;
        Ok(self.ctx.workload.borrow().baseline)
    }

    pub fn workload_status(&self) -> Result<Status, WorkloadError> {
        self.workload_permitted()?;
        Ok(self.ctx.workload.borrow().status)
    }

    pub fn workload_history(&self) -> Result<Vec<f64>, WorkloadError> {
        self.workload_permitted()?;
        Ok(self.ctx.workload.borrow().history.clone())
    }

    /// Waits until the tracker's status is `wanted`, then returns the latest
    /// sample (`None` when waiting for no-data).
    pub async fn wait_for_workload(
        &mut self,
        wanted: Status,
        timeout_ms: u32,
    ) -> Result<Option<TimedSample>, WorkloadError> {
        self.workload_permitted()?;
        self.call_kind = CallKind::Wait;
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        let mut view = self.ctx.workload.clone();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            {
                let current = view.borrow_and_update();
                if current.status == wanted {
                    return Ok(current.current.clone().map(|s| (s, current.t_ms)));
                }
            }
            tokio::select! {
                _ = self.cancel.cancelled() => return Err(WorkloadError::Interrupted),
                _ = tokio::time::sleep_until(deadline) => return Err(WorkloadError::Timeout),
                changed = view.changed() => if changed.is_err() {
                    // The tracker is gone (the host is shutting down).
                    return Err(WorkloadError::Interrupted);
                },
            }
        }
    }

    // The cluster.

    fn cluster(&self) -> Result<Arc<Cluster>, ClusterError> {
        self.ctx.cluster.clone().ok_or_else(|| {
            ClusterError::NotPermitted(
                "the cluster is not available while the flow is being described".into(),
            )
        })
    }

    pub async fn nodes(&mut self) -> Result<Vec<Node>, ClusterError> {
        let cluster = self.cluster()?;
        self.io_turn()
            .await
            .map_err(|_| ClusterError::Interrupted)?;
        tokio::select! {
            _ = self.cancel.cancelled() => Err(ClusterError::Interrupted),
            nodes = cluster.refresh() => nodes,
        }
    }

    /// `kill` with the flow's spelling of a signal: only signals that end a
    /// process get through (see `cluster::signal`).
    pub async fn kill_with(&mut self, target: Target, signal: &str) -> Result<Node, ClusterError> {
        let signal = signal.parse::<docker_cluster::KillSignal>()?;
        self.act(target, ContainerAction::Kill { signal }.into())
            .await
    }

    /// Performs `action` on the container `target` picks, if the grants
    /// allow it on that container's service (and every peer a network
    /// fault names is among that grant's peers).
    pub async fn act(&mut self, target: Target, action: Action) -> Result<Node, ClusterError> {
        let need = need_of(&action);
        let peers = peers_of(&action).to_vec();
        let grants = self.grants.clone();
        let permitted = move |node: &Node| {
            grants.permits(need, &node.service)
                && peers
                    .iter()
                    .all(|peer| grants.permits_peer(&node.service, peer))
        };
        let cluster = self.cluster()?;
        self.io_turn()
            .await
            .map_err(|_| ClusterError::Interrupted)?;
        tokio::select! {
            _ = self.cancel.cancelled() => Err(ClusterError::Interrupted),
            result = cluster.act(&target, action, &permitted) => result,
        }
    }

    pub async fn wait_for_node(
        &mut self,
        id: &str,
        state: NodeState,
        timeout_ms: u32,
    ) -> Result<Node, ClusterError> {
        let cluster = self.cluster()?;
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        let cancel = self.cancel.clone();
        self.waiting(cluster.wait_for(id, state, timeout, &cancel))
            .await
    }

    /// Undoes, `ms` from now, every fault outstanding on the containers
    /// `target` matches.
    pub async fn schedule_undo(
        &mut self,
        target: Target,
        ms: u32,
    ) -> Result<Vec<Node>, ClusterError> {
        let grants = self.grants.clone();
        let permitted = move |node: &Node| grants.permits(Need::Undo, &node.service);
        let cluster = self.cluster()?;
        let after = Duration::from_millis(u64::from(ms));
        self.io_turn()
            .await
            .map_err(|_| ClusterError::Interrupted)?;
        tokio::select! {
            _ = self.cancel.cancelled() => Err(ClusterError::Interrupted),
            result = cluster.undo_after(&target, after, &permitted) => result,
        }
    }

    // Probes.

    pub async fn probe(
        &mut self,
        request: Request,
        url: &str,
        timeout_ms: u32,
    ) -> Result<Response, ProbeError> {
        // Parsed once: the grant check, the service rewrite and the client
        // all read this value, never the flow's string.
        let target = match crate::probe_url::ProbeUrl::parse(url) {
            Ok(target) if self.grants.permits_probe(&target) => target,
            Ok(target) => return Err(ProbeError::NotPermitted(target.to_string())),
            Err(why) => return Err(ProbeError::NotPermitted(why.to_string())),
        };
        self.io_turn().await.map_err(|_| ProbeError::Interrupted)?;
        let timeout = crate::probe_http::Timeout::from_ms(timeout_ms);
        let cluster = self.ctx.cluster.clone();
        let exchange = async move {
            // Checked as written above; only then mapped to the published port.
            let target = match cluster {
                Some(cluster) => crate::probe_url::resolve(&cluster, target)
                    .await
                    .map_err(ProbeError::Unreachable)?,
                None => target,
            };
            crate::probe_http::send(&target, request, timeout)
                .await
                .map_err(ProbeError::Unreachable)
        };
        // Cancelling drops the Docker lookup and the request alike: quit
        // never waits on a probe.
        tokio::select! {
            _ = self.cancel.cancelled() => Err(ProbeError::Interrupted),
            result = exchange => result,
        }
    }

    // The author's log.

    pub fn log_line(&mut self, level: tracing::Level, message: String) {
        if let Some(flow_log) = &self.log {
            // One call is one log line (the log sanitises it, newlines
            // included, so a message cannot forge others).
            flow_log.line(Source::Log(level), &truncated(message, MAX_LOG_BYTES));
        }
    }
}

/// What the grants must allow for `action`: undoing a fault (start,
/// unpause, heal) needs any fault grant on the service.
fn need_of(action: &Action) -> Need {
    match action {
        Action::Container(ContainerAction::Kill { .. }) => Need::Fault(FaultAction::Kill),
        Action::Container(ContainerAction::Stop { .. }) => Need::Fault(FaultAction::Stop),
        Action::Container(ContainerAction::Restart) => Need::Fault(FaultAction::Restart),
        Action::Container(ContainerAction::Pause) => Need::Fault(FaultAction::Pause),
        Action::Network(NetworkAction::Partition | NetworkAction::Isolate { .. }) => {
            Need::Fault(FaultAction::Network)
        }
        Action::Network(NetworkAction::Shape(_)) => Need::Fault(FaultAction::Shape),
        Action::Container(ContainerAction::Start | ContainerAction::Unpause)
        | Action::Network(NetworkAction::Heal | NetworkAction::Unshape) => Need::Undo,
    }
}

/// The services a network fault names besides its target.
fn peers_of(action: &Action) -> &[String] {
    match action {
        Action::Network(NetworkAction::Isolate { from }) => from,
        Action::Network(NetworkAction::Shape(spec)) => &spec.towards,
        _ => &[],
    }
}
