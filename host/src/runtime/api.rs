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
/// Bytes of strings a flow may hand the host a second (after a burst of
/// twice as many), whatever call carries them: every byte is copied out of
/// the guest, so a loop of large arguments waits its turn, and the wait is
/// the flow's busy time (see `watchdog`). One call is capped on its own by
/// `lift::PER_CALL_BYTES` before anything is copied.
const LIFTED_BYTES_PER_SECOND: f64 = (4 << 20) as f64;
/// Longest target (service, pattern or container id) a flow may name.
const MAX_TARGET_BYTES: usize = 256;
/// Longest signal name.
const MAX_SIGNAL_BYTES: usize = 32;
/// Longest probe URL (browsers and servers commonly stop at 8 KiB).
const MAX_PROBE_URL_BYTES: usize = 8 * 1024;

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
    /// Paces the bytes the flow hands the host.
    lifted_bytes: TokenBucket,
    /// When the busy clock first saw this run's chapter cancelled (skipped
    /// or quit); the flow then has `runtime::SKIP_GRACE` to return.
    cancel_seen_at: Option<Instant>,
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
            lifted_bytes: TokenBucket::new(LIFTED_BYTES_PER_SECOND, 2.0 * LIFTED_BYTES_PER_SECOND),
            cancel_seen_at: None,
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
    /// was cancelled while waiting. The wait is the flow's busy time: only
    /// what [`Self::on_server`] measures is not.
    async fn io_turn(&mut self) -> Result<(), ()> {
        self.call_kind = CallKind::Io {
            external: Duration::ZERO,
        };
        let wait = self.io_calls.take_one_after(Instant::now());
        if self.sleep_unless_cancelled(wait).await {
            Ok(())
        } else {
            Err(())
        }
    }

    /// Sleeps `duration`, or less when the chapter is cancelled first;
    /// `true` when it slept it all.
    async fn sleep_unless_cancelled(&self, duration: Duration) -> bool {
        if duration.is_zero() {
            return !self.cancel.is_cancelled();
        }
        tokio::select! {
            _ = self.cancel.cancelled() => false,
            _ = tokio::time::sleep(duration) => true,
        }
    }

    /// Runs `server`, the part of an I/O call that waits on Docker or a
    /// probe server, and books its time as the host's, not the flow's.
    /// Cancelling the chapter drops it and gives `interrupted`: quit and
    /// skip never wait on a server.
    async fn on_server<T>(
        &mut self,
        server: impl std::future::Future<Output = T>,
        interrupted: T,
    ) -> T {
        let started = Instant::now();
        let result = tokio::select! {
            _ = self.cancel.cancelled() => interrupted,
            result = server => result,
        };
        if let CallKind::Io { external } = &mut self.call_kind {
            *external += started.elapsed();
        }
        result
    }

    /// Books `bytes` of the flow's strings against [`LIFTED_BYTES_PER_SECOND`],
    /// waiting for them when the flow is over its rate. wasmtime has already
    /// copied them (within `lift::PER_CALL_BYTES`); the wait keeps a loop of
    /// large calls from copying faster than the rate, and it counts as busy.
    async fn lifted(&mut self, bytes: usize) {
        let wait = self.lifted_bytes.take_after(bytes as f64, Instant::now());
        self.sleep_unless_cancelled(wait).await;
    }

    /// When this run's chapter was first seen cancelled (`None` while it
    /// runs on); the first call after the cancel records it.
    pub(super) fn cancelled_since(&mut self, now: Instant) -> Option<Instant> {
        if self.cancel_seen_at.is_none() && self.cancel.is_cancelled() {
            self.cancel_seen_at = Some(now);
        }
        self.cancel_seen_at
    }

    /// Applies what the flow declared (and the presenter granted).
    pub fn set_grants(&mut self, grants: Grants) {
        self.grants = grants;
    }

    /// Calls made from now on belong to chapter run `run`.
    pub fn begin_run(&mut self, run: RunId, cancel: CancellationToken) {
        self.run = run;
        self.cancel = cancel;
        self.cancel_seen_at = None;
        self.outbox.begin_run(run);
    }

    pub fn quit_requested_at(&self) -> Option<Instant> {
        self.ctx.quit.requested_at()
    }

    fn send(&self, event: Event) {
        let _ = self.ctx.events.send(event);
    }

    // What the audience reads.

    pub async fn set_narration(&mut self, markup: String) {
        self.lifted(markup.len()).await;
        let markup = flow_text(markup, MAX_NARRATION_BYTES);
        self.outbox.narration(NarrationOp::Set(markup));
    }

    pub async fn append_narration(&mut self, markup: String) {
        self.lifted(markup.len()).await;
        let markup = flow_text(markup, MAX_NARRATION_BYTES);
        self.outbox.narration(NarrationOp::Append(markup));
    }

    pub async fn show_badge(&mut self, text: String, level: Level) {
        self.lifted(text.len()).await;
        self.outbox.badge(flow_line(text, 64), level);
    }

    // Pacing.

    /// Waits `ms`; `false` when the chapter was cancelled first.
    pub async fn wait_ms(&mut self, ms: u32) -> bool {
        self.call_kind = CallKind::Wait;
        self.sleep_unless_cancelled(Duration::from_millis(u64::from(ms)))
            .await
    }

    /// Shows a countdown from `seconds`, one a second; `false` when the
    /// chapter was cancelled first.
    pub async fn count_down(&mut self, seconds: u32, label: String) -> bool {
        self.lifted(label.len()).await;
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
        self.wait_on_workload(timeout_ms, |view| {
            (view.status == wanted).then(|| view.current.clone().map(|s| (s, view.t_ms)))
        })
        .await
    }

    /// Waits for the next sample the tracker takes after this call.
    pub async fn next_workload_sample(
        &mut self,
        timeout_ms: u32,
    ) -> Result<TimedSample, WorkloadError> {
        let seen = self.ctx.workload.borrow().samples_seen;
        self.wait_on_workload(timeout_ms, |view| {
            let sample = view.current.as_ref().filter(|_| view.samples_seen > seen)?;
            Some((sample.clone(), view.t_ms))
        })
        .await
    }

    /// Waits until `ready` finds what it looks for in the workload's view
    /// (looked at now, then at each change), for at most `timeout_ms`, or
    /// until the chapter is cancelled.
    async fn wait_on_workload<T>(
        &mut self,
        timeout_ms: u32,
        mut ready: impl FnMut(&crate::workload::WorkloadView) -> Option<T>,
    ) -> Result<T, WorkloadError> {
        self.workload_permitted()?;
        self.call_kind = CallKind::Wait;
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        let mut view = self.ctx.workload.clone();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(found) = ready(&view.borrow_and_update()) {
                return Ok(found);
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
        self.on_server(cluster.refresh(), Err(ClusterError::Interrupted))
            .await
    }

    /// `kill` with the flow's spelling of a signal: only signals that end a
    /// process get through (see `cluster::signal`).
    pub async fn kill_with(&mut self, target: Target, signal: &str) -> Result<Node, ClusterError> {
        self.lifted(signal.len()).await;
        if signal.len() > MAX_SIGNAL_BYTES {
            return Err(ClusterError::Invalid(format!(
                "a signal name of {} bytes; name a signal like SIGKILL",
                signal.len()
            )));
        }
        let signal = signal.parse::<docker_cluster::KillSignal>()?;
        self.act(target, ContainerAction::Kill { signal }.into())
            .await
    }

    /// Performs `action` on the container `target` picks, if the grants
    /// allow it on that container's service (and every peer a network
    /// fault names is among that grant's peers).
    pub async fn act(&mut self, target: Target, action: Action) -> Result<Node, ClusterError> {
        self.lifted(target_bytes(&target) + action_bytes(&action))
            .await;
        // The cheap checks first, before anything is copied again or Docker
        // is asked: the target's length and the action's shape (peers
        // bounded, each a plausible service name).
        check_target(&target)?;
        check_action(&action)?;
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
        // The fault runs to its end in its own task even when the chapter
        // is cancelled meanwhile: dropped half-way, its engine call could
        // land after the undo that stopping or quitting makes.
        let landing = tokio::spawn(async move { cluster.act(&target, action, &permitted).await });
        self.on_server(
            async {
                landing.await.unwrap_or_else(|e| {
                    Err(ClusterError::Failed(format!(
                        "the fault's task failed: {e}"
                    )))
                })
            },
            Err(ClusterError::Interrupted),
        )
        .await
    }

    pub async fn wait_for_node(
        &mut self,
        id: &str,
        state: NodeState,
        timeout_ms: u32,
    ) -> Result<Node, ClusterError> {
        self.lifted(id.len()).await;
        check_target_text(id)?;
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
        self.lifted(target_bytes(&target)).await;
        check_target(&target)?;
        let grants = self.grants.clone();
        let permitted = move |node: &Node| grants.permits(Need::Undo, &node.service);
        let cluster = self.cluster()?;
        let after = Duration::from_millis(u64::from(ms));
        self.io_turn()
            .await
            .map_err(|_| ClusterError::Interrupted)?;
        self.on_server(
            cluster.undo_after(&target, after, &permitted),
            Err(ClusterError::Interrupted),
        )
        .await
    }

    // Probes.

    pub async fn probe(
        &mut self,
        request: Request,
        url: &str,
        timeout_ms: u32,
    ) -> Result<Response, ProbeError> {
        let body = match &request {
            Request::Post { json } => json.len(),
            Request::Get => 0,
        };
        self.lifted(url.len() + body).await;
        // Before parsing, and so before any error could echo it back.
        if url.len() > MAX_PROBE_URL_BYTES {
            return Err(ProbeError::NotPermitted(format!(
                "a probe URL of {} bytes; at most {MAX_PROBE_URL_BYTES}",
                url.len()
            )));
        }
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
        self.on_server(exchange, Err(ProbeError::Interrupted)).await
    }

    // The author's log.

    pub async fn log_line(&mut self, level: tracing::Level, message: String) {
        self.lifted(message.len()).await;
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

/// The bytes of text a target carries.
fn target_bytes(target: &Target) -> usize {
    match target {
        Target::Service(s) | Target::Pattern(s) | Target::Id(s) => s.len(),
    }
}

/// The bytes of text an action carries (the peers a network fault names).
fn action_bytes(action: &Action) -> usize {
    peers_of(action).iter().map(String::len).sum()
}

fn check_target_text(text: &str) -> Result<(), ClusterError> {
    if text.len() > MAX_TARGET_BYTES {
        return Err(ClusterError::Invalid(format!(
            "a target of {} bytes; name a service, a pattern or a container id of at most {MAX_TARGET_BYTES}",
            text.len()
        )));
    }
    Ok(())
}

fn check_target(target: &Target) -> Result<(), ClusterError> {
    match target {
        Target::Service(s) | Target::Pattern(s) | Target::Id(s) => check_target_text(s),
    }
}

/// A network fault's shape (its peer list bounded, each a service name; a
/// shape's figures in range), checked before the action is copied or any
/// grant is looked up.
fn check_action(action: &Action) -> Result<(), ClusterError> {
    use crate::cluster::shape_spec as spec;
    match action {
        Action::Network(NetworkAction::Isolate { from }) => {
            spec::validate_peers("from-services", from, false).map_err(ClusterError::Invalid)
        }
        Action::Network(NetworkAction::Shape(shape)) => {
            shape.validate().map_err(ClusterError::Invalid)
        }
        Action::Container(ContainerAction::Stop { grace_seconds })
            if *grace_seconds > ContainerAction::MAX_STOP_GRACE_SECONDS =>
        {
            Err(ClusterError::Invalid(format!(
                "a stop grace of {grace_seconds} s is longer than {} s: stop with a shorter grace",
                ContainerAction::MAX_STOP_GRACE_SECONDS
            )))
        }
        _ => Ok(()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_grace_beyond_the_bound_is_refused_before_docker_is_asked() {
        let stop = |grace_seconds| Action::Container(ContainerAction::Stop { grace_seconds });
        assert!(check_action(&stop(0)).is_ok());
        assert!(check_action(&stop(ContainerAction::MAX_STOP_GRACE_SECONDS)).is_ok());
        for grace in [ContainerAction::MAX_STOP_GRACE_SECONDS + 1, u32::MAX] {
            match check_action(&stop(grace)) {
                Err(ClusterError::Invalid(message)) => {
                    assert!(message.contains(&grace.to_string()), "{message}")
                }
                other => panic!("{grace}: {other:?}"),
            }
        }
    }
}
