//! What a flow can reach outside the demo API: nothing. WASI is configured
//! with no preopened directories, no environment, no arguments, no sockets and
//! no name lookup; stdout and stderr go to the host log, never the terminal.

use super::flow_log::{FlowLog, Source};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};

/// How much of a flow's stderr is kept for error messages (its panic message).
const STDERR_TAIL_BYTES: usize = 2048;
/// A line longer than this is logged in pieces.
const MAX_LINE_BYTES: usize = 8192;

pub struct Sandbox {
    pub wasi: WasiCtx,
    pub stderr: GuestOutput,
}

impl Sandbox {
    pub fn new(log: &FlowLog) -> Self {
        let stdout = GuestOutput::new(log.clone(), Source::Stdout);
        let stderr = GuestOutput::new(log.clone(), Source::Stderr);
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout)
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Sandbox { wasi, stderr }
    }
}

/// A flow's stdout or stderr: each line goes to the host log (within the
/// flow's log rate); the last few KiB are kept so a crash report can quote
/// the panic message.
#[derive(Clone)]
pub struct GuestOutput {
    inner: Arc<Mutex<OutputState>>,
}

struct OutputState {
    log: FlowLog,
    source: Source,
    line: Vec<u8>,
    tail: Vec<u8>,
}

impl GuestOutput {
    fn new(log: FlowLog, source: Source) -> Self {
        GuestOutput {
            inner: Arc::new(Mutex::new(OutputState {
                log,
                source,
                line: Vec::new(),
                tail: Vec::new(),
            })),
        }
    }

    /// The last bytes written, as text.
    pub fn tail(&self) -> String {
        let state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut text = state.tail.clone();
        text.extend_from_slice(&state.line);
        String::from_utf8_lossy(&text).into_owned()
    }

    fn write(&self, bytes: &[u8]) {
        let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for &byte in bytes {
            if byte == b'\n' || state.line.len() >= MAX_LINE_BYTES {
                state.emit_line();
            }
            if byte != b'\n' {
                state.line.push(byte);
            }
        }
    }
}

impl OutputState {
    fn emit_line(&mut self) {
        let line = String::from_utf8_lossy(&self.line).into_owned();
        self.log.line(self.source, &line);
        self.tail.extend_from_slice(&self.line);
        self.tail.push(b'\n');
        if self.tail.len() > STDERR_TAIL_BYTES {
            let cut = self.tail.len() - STDERR_TAIL_BYTES;
            self.tail.drain(..cut);
        }
        self.line.clear();
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_keeps_the_tail_for_crash_reports() {
        let out = GuestOutput::new(FlowLog::new("t"), Source::Stderr);
        out.write(b"first line\npanicked at src/lib.rs:3: boom\n");
        assert!(out.tail().contains("panicked at src/lib.rs:3: boom"));
        out.write(&vec![b'x'; 3 * STDERR_TAIL_BYTES]);
        out.write(b"\nlast\n");
        let tail = out.tail();
        assert!(tail.len() <= STDERR_TAIL_BYTES + MAX_LINE_BYTES);
        assert!(tail.ends_with("last\n"));
    }
}
