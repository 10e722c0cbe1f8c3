//! The show's side: a Unix socket only its own user can use, one task per
//! attached `host notes`, each sending the latest view and reading the
//! presenter's keys. Nothing here can hold the show up.

use super::view::{NotesCommand, NotesView};
use crate::app::Input;
use anyhow::{Context, Result};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// More than a presenter has screens; a runaway attacher gets refused.
const MAX_CLIENTS: usize = 8;
/// A client that takes longer to accept one view is dropped.
const WRITE_LIMIT: Duration = Duration::from_secs(2);
/// A command is a word; a longer line is not a notes client.
const MAX_LINE: usize = 64;

/// The listening socket; removed when the show ends.
pub struct NotesServer {
    path: PathBuf,
}

impl Drop for NotesServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Listens at `path` for `host notes`. `Ok(None)` when another live show
/// already listens there (two shows of one project): that show keeps it.
pub fn spawn(
    path: &Path,
    views: watch::Receiver<NotesView>,
    inputs: mpsc::UnboundedSender<Input>,
    shutdown: CancellationToken,
) -> Result<Option<NotesServer>> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            tracing::warn!(
                "another show already serves notes at {}; this one does not",
                path.display()
            );
            return Ok(None);
        }
        // A socket left by a show that was killed.
        let _ = std::fs::remove_file(path);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let listener = UnixListener::bind(path)
        .with_context(|| format!("cannot listen for notes at {}", path.display()))?;
    // Only this user may connect (checked again per connection below).
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let owner = std::fs::metadata(path)?.uid();
    let clients = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((stream, _)) = accepted else {
                continue;
            };
            let same_user = stream.peer_cred().is_ok_and(|cred| cred.uid() == owner);
            if !same_user || clients.load(Ordering::Relaxed) >= MAX_CLIENTS {
                continue;
            }
            clients.fetch_add(1, Ordering::Relaxed);
            let clients = clients.clone();
            let views = views.clone();
            let inputs = inputs.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                serve(stream, views, inputs, shutdown).await;
                clients.fetch_sub(1, Ordering::Relaxed);
            });
        }
    });
    Ok(Some(NotesServer {
        path: path.to_path_buf(),
    }))
}

/// One client: views out, keys in, until either side ends.
async fn serve(
    stream: UnixStream,
    mut views: watch::Receiver<NotesView>,
    inputs: mpsc::UnboundedSender<Input>,
    shutdown: CancellationToken,
) {
    let (mut reader, mut writer) = stream.into_split();
    let keys = async move {
        let mut pending = Vec::new();
        let mut chunk = [0u8; 256];
        loop {
            let n = match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            pending.extend_from_slice(&chunk[..n]);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let Ok(command) = serde_json::from_slice::<NotesCommand>(&line) else {
                    continue;
                };
                let input = command.input();
                if inputs.send(input).is_err() {
                    return;
                }
            }
            if pending.len() > MAX_LINE {
                return;
            }
        }
    };
    let sends = async move {
        loop {
            let view = views.borrow_and_update().clone();
            let Ok(mut line) = serde_json::to_vec(&view) else {
                return;
            };
            line.push(b'\n');
            match tokio::time::timeout(WRITE_LIMIT, writer.write_all(&line)).await {
                Ok(Ok(())) => {}
                _ => return,
            }
            if view.ended || views.changed().await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = keys => {}
        _ = sends => {}
        _ = shutdown.cancelled() => {}
    }
}
