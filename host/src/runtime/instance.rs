//! One running flow: its store (WASI sandbox, memory limits, the demo API's
//! state, the busy clock's hooks), calls into `describe` and `enter`, and
//! what a failed call means ([`GuestFailure`]).

use super::api::HostApi;
use super::description::kept_info;
use super::limits::{memory_need, store_limits};
use super::sandbox::{GuestOutput, Sandbox};
use super::watchdog::{Overrun, Watchdog};
use super::*;
use crate::model::FlowInfo;
use anyhow::{Result, anyhow};
use std::time::Duration;
use wasmtime::component::ResourceTable;
use wasmtime::{CallHook, Store, StoreLimits, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// After the presenter quits, a flow still running (computing or calling
/// the host) is trapped this soon.
pub const QUIT_GRACE: Duration = Duration::from_millis(250);
/// After the presenter moves on (SPACE, ←), the chapter's waits return at
/// once as interrupted and every call after that is refused as interrupted;
/// a flow still running this long after is trapped, so the next chapter
/// starts whatever the flow is doing.
pub const SKIP_GRACE: Duration = Duration::from_millis(500);

/// What a store holds: WASI (sandboxed), limits, and the demo API's state.
pub struct StoreData {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    pub api: HostApi,
    stderr: GuestOutput,
    watchdog: Watchdog,
}

impl StoreData {
    /// Traps the flow when the presenter quit more than [`QUIT_GRACE`] ago,
    /// moved on from its chapter more than [`SKIP_GRACE`] ago, or it overran
    /// its busy budget.
    fn check_watchdog(&mut self) -> wasmtime::Result<()> {
        let now = std::time::Instant::now();
        if let Some(since) = self.api.quit_requested_at()
            && now.saturating_duration_since(since) > QUIT_GRACE
        {
            return Err(wasmtime::Error::new(GuestFailure::Interrupted));
        }
        if let Some(since) = self.api.cancelled_since(now)
            && now.saturating_duration_since(since) > SKIP_GRACE
        {
            return Err(wasmtime::Error::new(GuestFailure::Skipped(SKIP_GRACE)));
        }
        match self.watchdog.verdict(now) {
            None => Ok(()),
            Some(Overrun::Compute) => Err(wasmtime::Error::new(GuestFailure::ComputeBudget(
                self.watchdog.budget(),
            ))),
            Some(Overrun::Calls) => Err(wasmtime::Error::new(GuestFailure::CallBudget(
                self.watchdog.budget(),
            ))),
        }
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// One running instance of a flow, with its own store.
pub struct FlowInstance {
    store: Store<StoreData>,
    flow: wit::FlowExports,
    limits: Limits,
    /// The memory limit in force: the ceiling until `describe`, then the
    /// flow's need.
    memory_bytes: usize,
}

impl FlowModule {
    pub async fn instantiate(&self, api: HostApi, limits: &Limits) -> Result<FlowInstance> {
        let log = flow_log::FlowLog::new(&self.name);
        let sandbox = Sandbox::new(&log);
        let stderr = sandbox.stderr.clone();
        let mut api = api;
        api.attach_log(log);
        let data = StoreData {
            wasi: sandbox.wasi,
            table: ResourceTable::new(),
            // `describe` runs under the presenter's ceiling; the flow's own
            // need (or the default) replaces it once it is known.
            limits: store_limits(limits.max_memory_bytes),
            api,
            stderr,
            watchdog: Watchdog::new(limits.compute_budget),
        };
        let mut store = Store::new(self.pre.engine(), data);
        store.limiter(|data| &mut data.limits);
        // Every host call, WASI's included, passes here on the way in and out.
        store.call_hook(|mut ctx, hook| {
            let now = std::time::Instant::now();
            let data = ctx.data_mut();
            match hook {
                CallHook::CallingWasm => {
                    data.watchdog.calling_guest(now);
                    Ok(())
                }
                CallHook::ReturningFromWasm => Ok(()),
                CallHook::CallingHost => {
                    data.watchdog.entering_host(now);
                    Ok(())
                }
                CallHook::ReturningFromHost => {
                    let StoreData { watchdog, api, .. } = data;
                    watchdog.returning_from_host(|| api.take_call_kind(), now);
                    data.check_watchdog()
                }
            }
        });
        // Every string and list element a call lifts counts, once per use.
        store.set_hostcall_fuel(lift::PER_CALL_BYTES);
        store.epoch_deadline_callback(|mut ctx| {
            ctx.data_mut().check_watchdog()?;
            Ok(UpdateDeadline::Yield(1))
        });
        store.set_epoch_deadline(1);
        let flow = self
            .pre
            .instantiate(&mut store)
            .await
            .map_err(|e| anyhow!("{}: cannot start the flow: {}", self.name, first_line(&e)))?;
        Ok(FlowInstance {
            store,
            flow,
            limits: limits.clone(),
            memory_bytes: limits.max_memory_bytes,
        })
    }
}

impl FlowInstance {
    /// The flow's self-description; from now on it runs within the memory
    /// it asked for (or the default), refused when that is over the ceiling.
    pub async fn describe(&mut self) -> Result<FlowInfo, GuestFailure> {
        self.store.set_hostcall_fuel(lift::DESCRIBE_BYTES);
        let result = self.flow.describe(&mut self.store).await;
        self.store.set_hostcall_fuel(lift::PER_CALL_BYTES);
        // What lifting and checking the description allocated goes back
        // before the consent screen: it is the flow's, not the presenter's.
        let result = result.map(kept_info);
        lift::give_back_memory();
        let info = match result {
            Ok(info) => info,
            Err(e) if lift::over_budget(&e) => {
                return Err(GuestFailure::Refused(format!(
                    "returned more than {} MiB of text (every string counted each time it appears); keep each chapter's narration under 64 KiB",
                    lift::DESCRIBE_BYTES >> 20
                )));
            }
            Err(e) => return Err(self.failure(e)),
        }?;
        let need = memory_need(info.capabilities.memory_mib, &self.limits)?;
        self.store.data_mut().limits = store_limits(need);
        self.memory_bytes = need;
        Ok(info)
    }

    /// The linear memory the flow may use now (after `describe`, its need).
    pub fn memory_limit_bytes(&self) -> usize {
        self.memory_bytes
    }

    pub async fn enter(&mut self, index: u32) -> Result<Result<(), String>, GuestFailure> {
        let result = self.flow.enter(&mut self.store, index).await;
        let result = result.map_err(|e| self.failure(e));
        lift::give_back_memory();
        result
    }

    pub fn api_mut(&mut self) -> &mut HostApi {
        &mut self.store.data_mut().api
    }

    fn failure(&mut self, error: wasmtime::Error) -> GuestFailure {
        if let Some(failure) = error.downcast_ref::<GuestFailure>() {
            return match failure {
                GuestFailure::ComputeBudget(d) => GuestFailure::ComputeBudget(*d),
                GuestFailure::CallBudget(d) => GuestFailure::CallBudget(*d),
                GuestFailure::Skipped(d) => GuestFailure::Skipped(*d),
                _ => GuestFailure::Interrupted,
            };
        }
        if lift::over_budget(&error) {
            return GuestFailure::Trap {
                trap: format!(
                    "handed the host more than {} MiB in one call (every string and list element counts, however it is shared in memory)",
                    lift::PER_CALL_BYTES >> 20
                ),
                stderr: String::new(),
            };
        }
        let trap = match error.downcast_ref::<wasmtime::Trap>() {
            Some(trap) => trap.to_string(),
            // The outer message is only "error while executing at wasm
            // backtrace"; the root cause says what happened.
            None => {
                let cause = first_line(&error.root_cause());
                if cause.contains("growing memory") {
                    format!(
                        "exceeded its memory limit of {} MiB ({cause}; a flow that needs more declares memory-mib, up to --max-memory-mib)",
                        self.memory_bytes >> 20
                    )
                } else {
                    cause
                }
            }
        };
        let tail = self.store.data().stderr.tail();
        let stderr = if tail.trim().is_empty() {
            String::new()
        } else {
            format!(" — stderr: {}", tail.trim())
        };
        GuestFailure::Trap { trap, stderr }
    }
}
