//! What a flow can make the host copy out of its memory.
//!
//! Every string and list a flow passes to the host (or returns from
//! `describe` and `enter`) is copied out of the guest's linear memory when
//! the call is lifted, before any host code sees it. The guest's memory
//! bounds one string, but not a list: each element of a `list<string>` may
//! point at the same megabyte, and each is copied on its own. wasmtime's
//! "hostcall fuel" counts the bytes of every string and list element as it
//! lifts them and refuses the call once they exceed the store's budget,
//! before copying the rest; this module holds our budgets and names the
//! refusal. The per-second rate over many calls is `api::HostApi::lifted`'s.

/// Most bytes one call into the host may carry, counting every string and
/// every list element as often as it appears. The largest argument the API
/// keeps is a probe's JSON body (`probe_http::MAX_BODY_BYTES`, 1 MiB);
/// narration keeps 64 KiB. Twice the largest leaves room without letting a
/// list of aliases multiply it.
pub const PER_CALL_BYTES: usize = 2 << 20;

/// Most bytes `describe()` may return. What the host keeps of a description
/// is at most 256 chapters of 64 KiB narration, 16 KiB notes and two short
/// lines (about 20.5 MiB); this is that plus room. It is also the fixed
/// margin over the flow's memory that describing a flow may cost the host.
pub const DESCRIBE_BYTES: usize = 24 << 20;

/// Whether `error` is wasmtime refusing to lift more than the budget.
///
/// wasmtime's error type for this is private; its message is its only
/// public face, and `tests/lifting.rs` checks it against the real engine.
pub fn over_budget(error: &wasmtime::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.to_string().contains("fuel allocated for hostcalls"))
}

/// Hands memory freed after a flow's calls back to the system: glibc keeps
/// freed heap pages for reuse, and a flow that had the host copy hundreds
/// of megabytes would otherwise leave the presenter holding them. Called
/// when a flow goes idle (after `describe`, after each chapter).
pub fn give_back_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages to the kernel; it takes no
    // pointers and is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
