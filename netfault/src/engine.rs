//! What the helper does for a presenter whose engine is on another machine:
//! as a short-lived Swarm service on the target's machine, with that
//! machine's Docker socket and /proc mounted, it makes one Engine API call
//! on a container there (`engine`), or enters a container's network
//! namespace and runs a plan, a delayer or `show` in it (`on`).
//!
//! The Engine API is spoken as HTTP/1.0 over the Unix socket: one request
//! per connection, no chunked replies, nothing else needed.

use crate::{emit, refuse};
use anyhow::{Context, Result, anyhow, bail};
use netfault_proto::{ContainerProcess, EngineCall};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// Where the service mounts the machine's Docker socket.
const SOCKET_ENV: &str = "NETFAULT_DOCKER_SOCKET";
const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// Where the service mounts the machine's /proc (a container's namespace
/// is found through its process there).
const PROC_ENV: &str = "NETFAULT_HOST_PROC";
const DEFAULT_PROC: &str = "/host/proc";
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// A container id or name, checked as a relayed call's is.
fn checked_container(id: &str) -> Result<&str> {
    netfault_proto::checked_container(id).or_else(refuse)
}

/// Sends one request to the engine; its status code and body.
fn request(method: &str, path: &str) -> Result<(u16, String)> {
    let socket = std::env::var(SOCKET_ENV).unwrap_or_else(|_| DEFAULT_SOCKET.into());
    let mut stream = UnixStream::connect(&socket)
        .with_context(|| format!("cannot reach the engine at {socket}"))?;
    stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: docker\r\nContent-Length: 0\r\n\r\n"
    )?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    let reply = String::from_utf8_lossy(&reply);
    let (head, body) = reply
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("the engine's reply has no header end"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("the engine's reply has no status: {head:?}"))?;
    Ok((status, body.to_string()))
}

/// `engine VERB CONTAINER [ARG]` (an [`EngineCall`]): the call, and
/// `{"status": …, "body": …}`; exit 1 unless the engine answered 2xx or
/// 304 (already so). Nothing but a container call reads as an `EngineCall`.
pub fn call(args: &[String]) -> Result<i32> {
    let call = EngineCall::from_args(args).or_else(refuse)?;
    let (method, path) = call.request();
    let (status, body) = request(method, &path)?;
    emit(&netfault_proto::EngineReply::new(status, body));
    Ok(if (200..300).contains(&status) || status == 304 {
        0
    } else {
        1
    })
}

/// `on --container ID COMMAND …`: enters the container's network namespace
/// (through its process in the machine's /proc), then runs COMMAND there.
pub fn on(args: &[String], dispatch: impl Fn(&[String]) -> Result<i32>) -> Result<i32> {
    let [flag, id, rest @ ..] = args else {
        return refuse("on takes --container ID COMMAND …");
    };
    if flag != "--container" || rest.is_empty() {
        return refuse("on takes --container ID COMMAND …");
    }
    if !matches!(rest[0].as_str(), "run" | "undo" | "delay" | "show") {
        return refuse(format!(
            "on runs run, undo, delay or show, not {:?}",
            rest[0]
        ));
    }
    let id = checked_container(id)?;
    let inspect = EngineCall::Inspect {
        container: id.to_string(),
    };
    let (method, path) = inspect.request();
    let (status, body) = request(method, &path)?;
    if status != 200 {
        bail!("no container {id} on this machine (the engine said {status})");
    }
    let info: ContainerProcess = serde_json::from_str(&body)
        .with_context(|| format!("the engine's description of {id} has no process state"))?;
    let pid = info.state.pid;
    if pid <= 0 {
        bail!("container {id} is not running");
    }
    let proc = std::env::var(PROC_ENV).unwrap_or_else(|_| DEFAULT_PROC.into());
    let path = format!("{proc}/{pid}/ns/net");
    let namespace = std::fs::File::open(&path).with_context(|| format!("cannot open {path}"))?;
    // SAFETY: setns on a namespace file we hold open; it changes only this
    // thread's (and its children's) network namespace, and this process is
    // single-threaded until the command below starts.
    if unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        bail!(
            "cannot enter {id}'s network namespace: {}",
            std::io::Error::last_os_error()
        );
    }
    dispatch(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_runs_only_namespace_commands() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let never = |_: &[String]| -> Result<i32> { panic!("must not run") };
        for bad in [
            &["--container", "abc"][..],
            &["--container", "abc", "engine", "inspect", "abc"],
            &["--container", "a b", "show"],
            &["--ct", "abc", "show"],
        ] {
            let refused = on(&args(bad), never).unwrap_err();
            assert!(
                refused.downcast_ref::<crate::Refused>().is_some(),
                "{bad:?}"
            );
        }
    }
}
