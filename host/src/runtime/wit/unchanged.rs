//! What every `demo:flow` version since 0.1.0 has unchanged, written once.
//!
//! Each version's `bindgen!` generates its own types (0.x minor versions are
//! different packages), so identical interfaces still need one `impl` per
//! version. These macros expand the same host side inside each
//! `since_v0_X_Y` module, where the names they use (`wit_cluster`,
//! `narration`, `error_to_wit`, …) are that version's. A version that
//! changes an interface writes it out in its own module instead.

/// The interfaces 0.1.0 defined and 0.2.0 kept as they were (`types`,
/// `narration`, `timing`, `workload`, `probe`, `log`), and the conversions
/// of the types they share with `cluster`. 0.3.0 writes `workload` itself
/// (see `other_interfaces_since_v0_1_0`).
macro_rules! unchanged_interfaces_since_v0_1_0 {
    () => {
        impl wit_workload::Host for HostApi {
            super::unchanged::workload_functions_since_v0_1_0!();
        }

        super::unchanged::other_interfaces_since_v0_1_0!();
    };
}

/// The workload functions of every version since 0.1.0.
macro_rules! workload_functions_since_v0_1_0 {
    () => {
        async fn current(
            &mut self,
        ) -> Result<Option<wit_workload::Sample>, wit_workload::WorkloadError> {
            self.workload_sample()
                .map(|s| s.map(|(sample, t_ms)| sample_to_wit(&sample, t_ms)))
                .map_err(workload_error_to_wit)
        }

        async fn baseline(&mut self) -> Result<Option<f64>, wit_workload::WorkloadError> {
            self.workload_baseline().map_err(workload_error_to_wit)
        }

        async fn current_status(
            &mut self,
        ) -> Result<wit_workload::Status, wit_workload::WorkloadError> {
            self.workload_status()
                .map(status_to_wit)
                .map_err(workload_error_to_wit)
        }

        async fn history(&mut self) -> Result<Vec<f64>, wit_workload::WorkloadError> {
            self.workload_history().map_err(workload_error_to_wit)
        }

        async fn wait_for(
            &mut self,
            status: wit_workload::Status,
            timeout_ms: u32,
        ) -> Result<Option<wit_workload::Sample>, wit_workload::WorkloadError> {
            self.wait_for_workload(status_from_wit(status), timeout_ms)
                .await
                .map(|s| s.map(|(sample, t_ms)| sample_to_wit(&sample, t_ms)))
                .map_err(workload_error_to_wit)
        }
    };
}

/// Every interface but `workload`, unchanged since 0.1.0.
macro_rules! other_interfaces_since_v0_1_0 {
    () => {
        impl types::Host for HostApi {}

        impl narration::Host for HostApi {
            async fn set(&mut self, markup: String) {
                self.set_narration(markup).await;
            }

            async fn append(&mut self, markup: String) {
                self.append_narration(markup).await;
            }

            async fn badge(&mut self, text: String, level: types::Level) {
                let level = match level {
                    types::Level::Info => Level::Info,
                    types::Level::Success => Level::Success,
                    types::Level::Warning => Level::Warning,
                    types::Level::Danger => Level::Danger,
                };
                self.show_badge(text, level).await;
            }
        }

        impl timing::Host for HostApi {
            async fn sleep(&mut self, ms: u32) -> bool {
                self.wait_ms(ms).await
            }

            async fn countdown(&mut self, seconds: u32, label: String) -> bool {
                self.count_down(seconds, label).await
            }
        }

        impl wit_probe::Host for HostApi {
            async fn http_get(
                &mut self,
                url: String,
                timeout_ms: u32,
            ) -> Result<wit_probe::Response, wit_probe::ProbeError> {
                self.probe(Request::Get, &url, timeout_ms)
                    .await
                    .map(|r| wit_probe::Response {
                        status: r.status,
                        body: r.body,
                    })
                    .map_err(probe_error_to_wit)
            }

            async fn http_post(
                &mut self,
                url: String,
                json_body: String,
                timeout_ms: u32,
            ) -> Result<wit_probe::Response, wit_probe::ProbeError> {
                self.probe(Request::Post { json: json_body }, &url, timeout_ms)
                    .await
                    .map(|r| wit_probe::Response {
                        status: r.status,
                        body: r.body,
                    })
                    .map_err(probe_error_to_wit)
            }
        }

        impl wit_log::Host for HostApi {
            async fn log(&mut self, level: wit_log::LogLevel, message: String) {
                let level = match level {
                    wit_log::LogLevel::Trace => tracing::Level::TRACE,
                    wit_log::LogLevel::Debug => tracing::Level::DEBUG,
                    wit_log::LogLevel::Info => tracing::Level::INFO,
                    wit_log::LogLevel::Warn => tracing::Level::WARN,
                    wit_log::LogLevel::Error => tracing::Level::ERROR,
                };
                self.log_line(level, message).await;
            }
        }

        fn target_from_wit(target: wit_cluster::Target) -> Target {
            match target {
                wit_cluster::Target::Service(s) => Target::Service(s),
                wit_cluster::Target::Pattern(p) => Target::Pattern(p),
                wit_cluster::Target::Id(i) => Target::Id(i),
            }
        }

        fn node_to_wit(node: Node) -> wit_cluster::Node {
            wit_cluster::Node {
                service: node.service,
                container: node.container,
                id: node.id,
                state: state_to_wit(node.state),
                health: match node.health {
                    Health::None => wit_cluster::Health::None,
                    Health::Starting => wit_cluster::Health::Starting,
                    Health::Healthy => wit_cluster::Health::Healthy,
                    Health::Unhealthy => wit_cluster::Health::Unhealthy,
                },
            }
        }

        fn state_to_wit(state: NodeState) -> wit_cluster::NodeState {
            match state {
                NodeState::Created => wit_cluster::NodeState::Created,
                NodeState::Running => wit_cluster::NodeState::Running,
                NodeState::Paused => wit_cluster::NodeState::Paused,
                NodeState::Restarting => wit_cluster::NodeState::Restarting,
                NodeState::Removing => wit_cluster::NodeState::Removing,
                NodeState::Exited => wit_cluster::NodeState::Exited,
                NodeState::Dead => wit_cluster::NodeState::Dead,
            }
        }

        fn state_from_wit(state: wit_cluster::NodeState) -> NodeState {
            match state {
                wit_cluster::NodeState::Created => NodeState::Created,
                wit_cluster::NodeState::Running => NodeState::Running,
                wit_cluster::NodeState::Paused => NodeState::Paused,
                wit_cluster::NodeState::Restarting => NodeState::Restarting,
                wit_cluster::NodeState::Removing => NodeState::Removing,
                wit_cluster::NodeState::Exited => NodeState::Exited,
                wit_cluster::NodeState::Dead => NodeState::Dead,
            }
        }

        fn workload_error_to_wit(error: WorkloadError) -> wit_workload::WorkloadError {
            match error {
                WorkloadError::NotPermitted => wit_workload::WorkloadError::NotPermitted,
                WorkloadError::Timeout => wit_workload::WorkloadError::Timeout,
                WorkloadError::Interrupted => wit_workload::WorkloadError::Interrupted,
            }
        }

        fn probe_error_to_wit(error: ProbeError) -> wit_probe::ProbeError {
            match error {
                ProbeError::NotPermitted(m) => wit_probe::ProbeError::NotPermitted(m),
                ProbeError::Unreachable(m) => wit_probe::ProbeError::Unreachable(m),
                ProbeError::Interrupted => wit_probe::ProbeError::Interrupted,
            }
        }

        fn status_to_wit(status: Status) -> wit_workload::Status {
            match status {
                Status::NoData => wit_workload::Status::NoData,
                Status::WarmingUp => wit_workload::Status::WarmingUp,
                Status::Normal => wit_workload::Status::Normal,
                Status::Degraded => wit_workload::Status::Degraded,
            }
        }

        fn status_from_wit(status: wit_workload::Status) -> Status {
            match status {
                wit_workload::Status::NoData => Status::NoData,
                wit_workload::Status::WarmingUp => Status::WarmingUp,
                wit_workload::Status::Normal => Status::Normal,
                wit_workload::Status::Degraded => Status::Degraded,
            }
        }

        fn sample_to_wit(sample: &Sample, t_ms: u64) -> wit_workload::Sample {
            wit_workload::Sample {
                t_ms,
                ops_per_sec: sample.ops_per_sec,
                failures_per_sec: sample.failures_per_sec,
                ops: sample
                    .ops
                    .iter()
                    .map(|op| wit_workload::OpStat {
                        name: op.name.clone(),
                        count: op.count,
                        avg_us: op.avg_us,
                        p99_us: op.p99_us,
                    })
                    .collect(),
            }
        }
    };
}

/// `cluster`'s functions as 0.1.0 defined them, for inside a version's
/// `impl wit_cluster::Host`. The version supplies `error_to_wit` (its error
/// variant may have grown) and `act_on`.
macro_rules! cluster_functions_since_v0_1_0 {
    () => {
        async fn list_nodes(&mut self) -> ClusterResult<Vec<wit_cluster::Node>> {
            let nodes = self.nodes().await.map_err(error_to_wit)?;
            Ok(nodes.into_iter().map(node_to_wit).collect())
        }

        async fn kill(
            &mut self,
            target: wit_cluster::Target,
            signal: String,
        ) -> ClusterResult<wit_cluster::Node> {
            let node = self.kill_with(target_from_wit(target), &signal).await;
            node.map(node_to_wit).map_err(error_to_wit)
        }

        async fn stop(
            &mut self,
            target: wit_cluster::Target,
            grace_seconds: u32,
        ) -> ClusterResult<wit_cluster::Node> {
            act_on(self, target, ContainerAction::Stop { grace_seconds }).await
        }

        async fn start(&mut self, target: wit_cluster::Target) -> ClusterResult<wit_cluster::Node> {
            act_on(self, target, ContainerAction::Start).await
        }

        async fn restart(
            &mut self,
            target: wit_cluster::Target,
        ) -> ClusterResult<wit_cluster::Node> {
            act_on(self, target, ContainerAction::Restart).await
        }

        async fn pause(&mut self, target: wit_cluster::Target) -> ClusterResult<wit_cluster::Node> {
            act_on(self, target, ContainerAction::Pause).await
        }

        async fn unpause(
            &mut self,
            target: wit_cluster::Target,
        ) -> ClusterResult<wit_cluster::Node> {
            act_on(self, target, ContainerAction::Unpause).await
        }

        async fn wait_for(
            &mut self,
            id: String,
            state: wit_cluster::NodeState,
            timeout_ms: u32,
        ) -> ClusterResult<wit_cluster::Node> {
            let node = self
                .wait_for_node(&id, state_from_wit(state), timeout_ms)
                .await;
            node.map(node_to_wit).map_err(error_to_wit)
        }

        async fn partition(
            &mut self,
            target: wit_cluster::Target,
        ) -> ClusterResult<wit_cluster::Node> {
            act_on(self, target, NetworkAction::Partition).await
        }

        async fn heal(&mut self, target: wit_cluster::Target) -> ClusterResult<wit_cluster::Node> {
            act_on(self, target, NetworkAction::Heal).await
        }

        async fn undo_after(
            &mut self,
            target: wit_cluster::Target,
            ms: u32,
        ) -> ClusterResult<Vec<wit_cluster::Node>> {
            let nodes = self
                .schedule_undo(target_from_wit(target), ms)
                .await
                .map_err(error_to_wit)?;
            Ok(nodes.into_iter().map(node_to_wit).collect())
        }
    };
}

/// The world's own functions and `act_on`, the same in every version so far:
/// adding the imports to the linker, calling `describe` and `enter`, and
/// making a cluster action with this version's conversions.
macro_rules! world_functions_since_v0_1_0 {
    () => {
        pub type FlowPre = bindings::FlowPre<StoreData>;
        pub type Flow = bindings::Flow;

        /// Adds this version's imports to the host's one linker. 0.x minor
        /// versions are different packages to wasmtime, so every version's
        /// imports sit side by side in it.
        pub fn add_to_linker(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
            bindings::Flow::add_to_linker::<StoreData, HasSelf<HostApi>>(linker, |data| {
                &mut data.api
            })
        }

        /// Calls the flow's `describe` and converts what it returns.
        pub async fn describe(
            flow: &Flow,
            store: &mut wasmtime::Store<StoreData>,
        ) -> wasmtime::Result<FlowInfo> {
            Ok(flow.call_describe(store).await?.into())
        }

        /// Calls the flow's `enter(index)`.
        pub async fn enter(
            flow: &Flow,
            store: &mut wasmtime::Store<StoreData>,
            index: u32,
        ) -> wasmtime::Result<Result<(), String>> {
            flow.call_enter(store, index).await
        }

        async fn act_on(
            api: &mut HostApi,
            target: wit_cluster::Target,
            action: impl Into<Action>,
        ) -> Result<wit_cluster::Node, wit_cluster::ClusterError> {
            let node = api.act(target_from_wit(target), action.into()).await;
            node.map(node_to_wit).map_err(error_to_wit)
        }
    };
}

/// What 0.2.0 added to 0.1.0's world and `cluster` (network faults, the
/// `shape` action, a grant's `peers`, a chapter's `notes`, the `invalid`
/// and `unsupported` errors) and later versions kept as it was: the
/// conversions of the description's parts, the `cluster` host, and
/// `error_to_wit`.
macro_rules! kept_since_v0_2_0 {
    () => {
        impl From<bindings::Chapter> for Chapter {
            fn from(chapter: bindings::Chapter) -> Self {
                Chapter {
                    title: chapter.title,
                    narration: chapter.narration,
                    key_hint: chapter.key_hint,
                    auto_advance: chapter.auto_advance,
                    blocks_advance: chapter.blocks_advance,
                    notes: chapter.notes,
                }
            }
        }

        impl From<bindings::Capabilities> for Capabilities {
            fn from(caps: bindings::Capabilities) -> Self {
                Capabilities {
                    faults: caps
                        .faults
                        .into_iter()
                        .map(|grant| FaultGrant {
                            services: grant.services,
                            actions: grant.actions.into_iter().map(FaultAction::from).collect(),
                            peers: grant.peers,
                        })
                        .collect(),
                    reads_workload: caps.reads_workload,
                    http_probes: caps.http_probes,
                    memory_mib: caps.memory_mib,
                }
            }
        }

        impl From<bindings::FaultAction> for FaultAction {
            fn from(action: bindings::FaultAction) -> Self {
                match action {
                    bindings::FaultAction::Kill => FaultAction::Kill,
                    bindings::FaultAction::Stop => FaultAction::Stop,
                    bindings::FaultAction::Restart => FaultAction::Restart,
                    bindings::FaultAction::Pause => FaultAction::Pause,
                    bindings::FaultAction::Network => FaultAction::Network,
                    bindings::FaultAction::Shape => FaultAction::Shape,
                }
            }
        }

        type ClusterResult<T> = Result<T, wit_cluster::ClusterError>;

        impl wit_cluster::Host for HostApi {
            super::unchanged::cluster_functions_since_v0_1_0!();

            async fn shape(
                &mut self,
                target: wit_cluster::Target,
                spec: wit_cluster::ShapeSpec,
            ) -> ClusterResult<wit_cluster::Node> {
                act_on(self, target, NetworkAction::Shape(spec.into())).await
            }

            async fn unshape(
                &mut self,
                target: wit_cluster::Target,
            ) -> ClusterResult<wit_cluster::Node> {
                act_on(self, target, NetworkAction::Unshape).await
            }

            async fn isolate(
                &mut self,
                target: wit_cluster::Target,
                from_services: Vec<String>,
            ) -> ClusterResult<wit_cluster::Node> {
                act_on(
                    self,
                    target,
                    NetworkAction::Isolate {
                        from: from_services,
                    },
                )
                .await
            }
        }

        impl From<wit_cluster::ShapeSpec> for ShapeSpec {
            fn from(spec: wit_cluster::ShapeSpec) -> Self {
                ShapeSpec {
                    delay_ms: spec.delay_ms,
                    jitter_ms: spec.jitter_ms,
                    correlation_pct: spec.correlation_pct,
                    loss_pct: spec.loss_pct,
                    duplicate_pct: spec.duplicate_pct,
                    corrupt_pct: spec.corrupt_pct,
                    reorder_pct: spec.reorder_pct,
                    rate_kbit: spec.rate_kbit,
                    towards: spec.towards,
                }
            }
        }

        fn error_to_wit(error: cluster::ClusterError) -> wit_cluster::ClusterError {
            use cluster::ClusterError as E;
            match error {
                E::NotFound(m) => wit_cluster::ClusterError::NotFound(m),
                E::NotPermitted(m) => wit_cluster::ClusterError::NotPermitted(m),
                E::DockerUnavailable(m) => wit_cluster::ClusterError::DockerUnavailable(m),
                E::Failed(m) => wit_cluster::ClusterError::Failed(m),
                E::Timeout => wit_cluster::ClusterError::Timeout,
                E::Interrupted => wit_cluster::ClusterError::Interrupted,
                E::Invalid(m) => wit_cluster::ClusterError::Invalid(m),
                E::Unsupported(m) => wit_cluster::ClusterError::Unsupported(m),
            }
        }
    };
}

pub(super) use {
    cluster_functions_since_v0_1_0, kept_since_v0_2_0, other_interfaces_since_v0_1_0,
    unchanged_interfaces_since_v0_1_0, workload_functions_since_v0_1_0,
    world_functions_since_v0_1_0,
};
