//! The host side of `demo:flow`: what each import does. Every call that could
//! touch Docker, the workload or the network is checked by [`Grants`] first;
//! every call that waits returns early when the chapter is cancelled.

use super::bindings::demo::flow::{cluster, log, narration, probe, timing, types, workload};
use super::flow_log::{FlowLog, Source};
use super::outbox::{NarrationOp, Outbox};
use super::watchdog::CallKind;
use crate::capability::{Grants, Need};
use crate::cluster::{
    self as docker_cluster, Action, Cluster, ClusterError, Node, NodeState, Target,
};
use crate::events::{Event, Level, RunId};
use crate::rate::TokenBucket;
use crate::runtime::FaultAction;
use crate::workload::WorkloadView;
use crate::workload::parse::Sample;
use crate::workload::tracker::Status;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

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

    async fn cluster_action(
        &mut self,
        target: cluster::Target,
        action: Action,
        need: Need,
    ) -> Result<cluster::Node, cluster::ClusterError> {
        let grants = self.grants.clone();
        let permitted = move |node: &Node| grants.permits(need, &node.service);
        let target = target_from_wit(target);
        let Some(cluster) = self.ctx.cluster.clone() else {
            return Err(error_to_wit(no_cluster()));
        };
        if self.io_turn().await.is_err() {
            return Err(cluster::ClusterError::Interrupted);
        }
        let result = tokio::select! {
            _ = self.cancel.cancelled() => Err(ClusterError::Interrupted),
            result = cluster.act(&target, action, &permitted) => result,
        };
        result.map(node_to_wit).map_err(error_to_wit)
    }

    fn workload_permitted(&self) -> Result<(), workload::WorkloadError> {
        if self.grants.reads_workload() {
            Ok(())
        } else {
            Err(workload::WorkloadError::NotPermitted)
        }
    }

    async fn wait_for_status(
        &mut self,
        wanted: Status,
        timeout: Duration,
    ) -> Result<Option<Sample>, workload::WorkloadError> {
        self.call_kind = CallKind::Wait;
        let mut view = self.ctx.workload.clone();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            {
                let current = view.borrow_and_update();
                if current.status == wanted {
                    return Ok(current.current.clone());
                }
            }
            tokio::select! {
                _ = self.cancel.cancelled() => return Err(workload::WorkloadError::Interrupted),
                _ = tokio::time::sleep_until(deadline) => return Err(workload::WorkloadError::Timeout),
                changed = view.changed() => if changed.is_err() {
                    // The tracker is gone (the host is shutting down).
                    return Err(workload::WorkloadError::Interrupted);
                },
            }
        }
    }

    async fn probe(
        &mut self,
        method: &'static str,
        url: String,
        body: Option<String>,
        timeout_ms: u32,
    ) -> Result<probe::Response, probe::ProbeError> {
        // Parsed once: the grant check, the service rewrite and the client
        // all read this value, never the flow's string.
        let target = match crate::probe_url::ProbeUrl::parse(&url) {
            Ok(target) if self.grants.permits_probe(&target) => target,
            Ok(target) => {
                return Err(probe::ProbeError::NotPermitted(target.to_string()));
            }
            Err(why) => return Err(probe::ProbeError::NotPermitted(why.to_string())),
        };
        if self.io_turn().await.is_err() {
            return Err(probe::ProbeError::Interrupted);
        }
        let request = match (method, body) {
            ("POST", body) => crate::probe_http::Request::Post {
                json: body.unwrap_or_default(),
            },
            _ => crate::probe_http::Request::Get,
        };
        let timeout = crate::probe_http::Timeout::from_ms(timeout_ms);
        let cluster = self.ctx.cluster.clone();
        let exchange = async move {
            // Checked as written above; only then mapped to the published port.
            let target = match cluster {
                Some(cluster) => crate::probe_url::resolve(&cluster, target)
                    .await
                    .map_err(probe::ProbeError::Unreachable)?,
                None => target,
            };
            let response = crate::probe_http::send(&target, request, timeout)
                .await
                .map_err(probe::ProbeError::Unreachable)?;
            Ok(probe::Response {
                status: response.status,
                body: response.body,
            })
        };
        // Cancelling drops the Docker lookup and the request alike: quit
        // never waits on a probe.
        let result = tokio::select! {
            _ = self.cancel.cancelled() => Err(probe::ProbeError::Interrupted),
            result = exchange => result,
        };
        result
    }
}

/// Flow-supplied text as the host keeps it: without controls or escape
/// sequences (see `sanitize`), cut to `max` bytes.
fn flow_text(text: String, max: usize) -> String {
    let text = truncated(text, max);
    match crate::sanitize::display_text(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(clean) => clean,
    }
}

/// [`flow_text`] for one-line places (badges, labels, log lines).
pub fn flow_line(text: String, max: usize) -> String {
    let text = truncated(text, max);
    match crate::sanitize::display_line(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(clean) => clean,
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary.
pub fn truncated(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

impl types::Host for HostApi {}

impl narration::Host for HostApi {
    async fn set(&mut self, markup: String) {
        let markup = flow_text(markup, MAX_NARRATION_BYTES);
        self.outbox.narration(NarrationOp::Set(markup));
    }

    async fn append(&mut self, markup: String) {
        let markup = flow_text(markup, MAX_NARRATION_BYTES);
        self.outbox.narration(NarrationOp::Append(markup));
    }

    async fn badge(&mut self, text: String, level: types::Level) {
        let level = match level {
            types::Level::Info => Level::Info,
            types::Level::Success => Level::Success,
            types::Level::Warning => Level::Warning,
            types::Level::Danger => Level::Danger,
        };
        let text = flow_line(text, 64);
        self.outbox.badge(text, level);
    }
}

impl timing::Host for HostApi {
    async fn sleep(&mut self, ms: u32) -> bool {
        let cancel = self.cancel.clone();
        self.waiting(async move {
            tokio::select! {
                _ = cancel.cancelled() => false,
                _ = tokio::time::sleep(Duration::from_millis(u64::from(ms))) => true,
            }
        })
        .await
    }

    async fn countdown(&mut self, seconds: u32, label: String) -> bool {
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
}

impl workload::Host for HostApi {
    async fn current(&mut self) -> Result<Option<workload::Sample>, workload::WorkloadError> {
        self.workload_permitted().map(|_| {
            let view = self.ctx.workload.borrow();
            view.current.as_ref().map(|s| sample_to_wit(s, view.t_ms))
        })
    }

    async fn baseline(&mut self) -> Result<Option<f64>, workload::WorkloadError> {
        self.workload_permitted()
            .map(|_| self.ctx.workload.borrow().baseline)
    }

    async fn current_status(&mut self) -> Result<workload::Status, workload::WorkloadError> {
        self.workload_permitted()
            .map(|_| status_to_wit(self.ctx.workload.borrow().status))
    }

    async fn history(&mut self) -> Result<Vec<f64>, workload::WorkloadError> {
        self.workload_permitted()
            .map(|_| self.ctx.workload.borrow().history.clone())
    }

    async fn wait_for(
        &mut self,
        status: workload::Status,
        timeout_ms: u32,
    ) -> Result<Option<workload::Sample>, workload::WorkloadError> {
        self.workload_permitted()?;
        let wanted = status_from_wit(status);
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        let result = self.wait_for_status(wanted, timeout).await;
        let t_ms = self.ctx.workload.borrow().t_ms;
        result.map(|sample| sample.map(|s| sample_to_wit(&s, t_ms)))
    }
}

impl cluster::Host for HostApi {
    async fn list_nodes(&mut self) -> Result<Vec<cluster::Node>, cluster::ClusterError> {
        let Some(cluster) = self.ctx.cluster.clone() else {
            return Err(error_to_wit(no_cluster()));
        };
        if self.io_turn().await.is_err() {
            return Err(cluster::ClusterError::Interrupted);
        }
        let result = tokio::select! {
            _ = self.cancel.cancelled() => Err(ClusterError::Interrupted),
            nodes = cluster.refresh() => nodes,
        };
        result
            .map(|nodes| nodes.into_iter().map(node_to_wit).collect())
            .map_err(error_to_wit)
    }

    async fn kill(
        &mut self,
        target: cluster::Target,
        signal: String,
    ) -> Result<cluster::Node, cluster::ClusterError> {
        let signal = match signal.parse::<docker_cluster::KillSignal>() {
            Ok(signal) => signal,
            Err(refused) => return Err(error_to_wit(refused)),
        };
        let action = Action::Kill { signal };
        self.cluster_action(target, action, Need::Fault(FaultAction::Kill))
            .await
    }

    async fn stop(
        &mut self,
        target: cluster::Target,
        grace_seconds: u32,
    ) -> Result<cluster::Node, cluster::ClusterError> {
        let action = Action::Stop { grace_seconds };
        self.cluster_action(target, action, Need::Fault(FaultAction::Stop))
            .await
    }

    async fn start(
        &mut self,
        target: cluster::Target,
    ) -> Result<cluster::Node, cluster::ClusterError> {
        self.cluster_action(target, Action::Start, Need::Undo).await
    }

    async fn restart(
        &mut self,
        target: cluster::Target,
    ) -> Result<cluster::Node, cluster::ClusterError> {
        self.cluster_action(target, Action::Restart, Need::Fault(FaultAction::Restart))
            .await
    }

    async fn pause(
        &mut self,
        target: cluster::Target,
    ) -> Result<cluster::Node, cluster::ClusterError> {
        self.cluster_action(target, Action::Pause, Need::Fault(FaultAction::Pause))
            .await
    }

    async fn unpause(
        &mut self,
        target: cluster::Target,
    ) -> Result<cluster::Node, cluster::ClusterError> {
        self.cluster_action(target, Action::Unpause, Need::Undo)
            .await
    }

    async fn wait_for(
        &mut self,
        id: String,
        state: cluster::NodeState,
        timeout_ms: u32,
    ) -> Result<cluster::Node, cluster::ClusterError> {
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        let Some(cluster) = self.ctx.cluster.clone() else {
            return Err(error_to_wit(no_cluster()));
        };
        let cancel = self.cancel.clone();
        let result = self
            .waiting(cluster.wait_for(&id, state_from_wit(state), timeout, &cancel))
            .await;
        result.map(node_to_wit).map_err(error_to_wit)
    }

    async fn partition(
        &mut self,
        target: cluster::Target,
    ) -> Result<cluster::Node, cluster::ClusterError> {
        let need = Need::Fault(FaultAction::Network);
        self.cluster_action(target, Action::Disconnect, need).await
    }

    async fn heal(
        &mut self,
        target: cluster::Target,
    ) -> Result<cluster::Node, cluster::ClusterError> {
        self.cluster_action(target, Action::Reconnect, Need::Undo)
            .await
    }

    async fn undo_after(
        &mut self,
        target: cluster::Target,
        ms: u32,
    ) -> Result<Vec<cluster::Node>, cluster::ClusterError> {
        let grants = self.grants.clone();
        let permitted = move |node: &Node| grants.permits(Need::Undo, &node.service);
        let target = target_from_wit(target);
        let Some(cluster) = self.ctx.cluster.clone() else {
            return Err(error_to_wit(no_cluster()));
        };
        let after = Duration::from_millis(u64::from(ms));
        if self.io_turn().await.is_err() {
            return Err(cluster::ClusterError::Interrupted);
        }
        let result = tokio::select! {
            _ = self.cancel.cancelled() => Err(ClusterError::Interrupted),
            result = cluster.undo_after(&target, after, &permitted) => result,
        };
        result
            .map(|nodes| nodes.into_iter().map(node_to_wit).collect())
            .map_err(error_to_wit)
    }
}

impl probe::Host for HostApi {
    async fn http_get(
        &mut self,
        url: String,
        timeout_ms: u32,
    ) -> Result<probe::Response, probe::ProbeError> {
        self.probe("GET", url, None, timeout_ms).await
    }

    async fn http_post(
        &mut self,
        url: String,
        json_body: String,
        timeout_ms: u32,
    ) -> Result<probe::Response, probe::ProbeError> {
        self.probe("POST", url, Some(json_body), timeout_ms).await
    }
}

impl log::Host for HostApi {
    async fn log(&mut self, level: log::LogLevel, message: String) {
        let Some(flow_log) = &self.log else {
            return;
        };
        let level = match level {
            log::LogLevel::Trace => tracing::Level::TRACE,
            log::LogLevel::Debug => tracing::Level::DEBUG,
            log::LogLevel::Info => tracing::Level::INFO,
            log::LogLevel::Warn => tracing::Level::WARN,
            log::LogLevel::Error => tracing::Level::ERROR,
        };
        // One call is one log line (the log sanitises it, newlines included,
        // so a message cannot forge others).
        flow_log.line(Source::Log(level), &truncated(message, MAX_LOG_BYTES));
    }
}

fn no_cluster() -> ClusterError {
    ClusterError::NotPermitted(
        "the cluster is not available while the flow is being described".into(),
    )
}

fn target_from_wit(target: cluster::Target) -> Target {
    match target {
        cluster::Target::Service(s) => Target::Service(s),
        cluster::Target::Pattern(p) => Target::Pattern(p),
        cluster::Target::Id(i) => Target::Id(i),
    }
}

fn node_to_wit(node: Node) -> cluster::Node {
    cluster::Node {
        service: node.service,
        container: node.container,
        id: node.id,
        state: state_to_wit(node.state),
        health: match node.health {
            docker_cluster::Health::None => cluster::Health::None,
            docker_cluster::Health::Starting => cluster::Health::Starting,
            docker_cluster::Health::Healthy => cluster::Health::Healthy,
            docker_cluster::Health::Unhealthy => cluster::Health::Unhealthy,
        },
    }
}

fn state_to_wit(state: NodeState) -> cluster::NodeState {
    match state {
        NodeState::Created => cluster::NodeState::Created,
        NodeState::Running => cluster::NodeState::Running,
        NodeState::Paused => cluster::NodeState::Paused,
        NodeState::Restarting => cluster::NodeState::Restarting,
        NodeState::Removing => cluster::NodeState::Removing,
        NodeState::Exited => cluster::NodeState::Exited,
        NodeState::Dead => cluster::NodeState::Dead,
    }
}

fn state_from_wit(state: cluster::NodeState) -> NodeState {
    match state {
        cluster::NodeState::Created => NodeState::Created,
        cluster::NodeState::Running => NodeState::Running,
        cluster::NodeState::Paused => NodeState::Paused,
        cluster::NodeState::Restarting => NodeState::Restarting,
        cluster::NodeState::Removing => NodeState::Removing,
        cluster::NodeState::Exited => NodeState::Exited,
        cluster::NodeState::Dead => NodeState::Dead,
    }
}

fn error_to_wit(error: ClusterError) -> cluster::ClusterError {
    match error {
        ClusterError::NotFound(m) => cluster::ClusterError::NotFound(m),
        ClusterError::NotPermitted(m) => cluster::ClusterError::NotPermitted(m),
        ClusterError::DockerUnavailable(m) => cluster::ClusterError::DockerUnavailable(m),
        ClusterError::Failed(m) => cluster::ClusterError::Failed(m),
        ClusterError::Timeout => cluster::ClusterError::Timeout,
        ClusterError::Interrupted => cluster::ClusterError::Interrupted,
    }
}

fn status_to_wit(status: Status) -> workload::Status {
    match status {
        Status::NoData => workload::Status::NoData,
        Status::WarmingUp => workload::Status::WarmingUp,
        Status::Normal => workload::Status::Normal,
        Status::Degraded => workload::Status::Degraded,
    }
}

fn status_from_wit(status: workload::Status) -> Status {
    match status {
        workload::Status::NoData => Status::NoData,
        workload::Status::WarmingUp => Status::WarmingUp,
        workload::Status::Normal => Status::Normal,
        workload::Status::Degraded => Status::Degraded,
    }
}

fn sample_to_wit(sample: &Sample, t_ms: u64) -> workload::Sample {
    workload::Sample {
        t_ms,
        ops_per_sec: sample.ops_per_sec,
        failures_per_sec: sample.failures_per_sec,
        ops: sample
            .ops
            .iter()
            .map(|op| workload::OpStat {
                name: op.name.clone(),
                count: op.count,
                avg_us: op.avg_us,
                p99_us: op.p99_us,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narration_is_cut_on_a_character_boundary() {
        let text = "é".repeat(10);
        let cut = truncated(text, 5);
        assert_eq!(cut, "éé…");
        assert_eq!(truncated("short".into(), 64), "short");
    }
}
