//! What the load generator's benches and tests reach without running it:
//! the history check (`history`). Everything else is the binary's.

pub mod history;
