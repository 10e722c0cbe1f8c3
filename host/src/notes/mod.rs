//! Speaker notes on a second terminal: the show publishes what the presenter
//! needs (`view`), a socket in the state directory serves it to every
//! `host notes` attached (`server`), and `host notes` draws it and sends
//! SPACE and ← back as the main screen's keys (`client`).
//!
//! The show never waits on a client: it replaces the latest view in a watch
//! channel, and each client's task sends what it can; a client that stops
//! reading, detaches or crashes only ends its own task.

pub mod client;
pub mod server;
pub mod view;

use std::path::{Path, PathBuf};

/// Where the show of `project` listens for `host notes`.
pub fn socket_path(state_dir: &Path, project: &str) -> PathBuf {
    state_dir.join(format!("notes-{project}.sock"))
}
