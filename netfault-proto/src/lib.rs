//! What the host and the `netfault` helper say to each other, as types both
//! sides compile: the helper is given a [`Plan`] (`run|undo --plan JSON`)
//! and prints one JSON object per line of stdout, each one of the types
//! below; the host reads them back with the same types. Nothing on either
//! side writes or reads these lines by hand.
//!
//! - `run`: a [`Ran`] per step, up to the first that failed;
//! - `undo`: an [`Undone`] per step, each [`Outcome`] classified;
//! - `probe`: the kernel's [`Mechanisms`];
//! - `engine CALL…` (an [`EngineCall`]): an [`EngineReply`] (read with
//!   [`engine_said`]);
//! - `delay`: [`DelayerEvent`]s (`delaying` once the queue is bound);
//! - any command that fails as a whole: a [`Failure`].

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The commands of a network fault or of its undo: each step an argv.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub steps: Vec<Vec<String>>,
}

impl Plan {
    /// The plan as the helper's `--plan` argument.
    pub fn to_arg(&self) -> String {
        // A struct of strings always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One step of `run`: it succeeded, or it failed and `stderr` says why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ran {
    pub argv: Vec<String>,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
}

/// What undoing one step found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It was there and is gone.
    Removed,
    /// It was not there (already undone, or its namespace was new).
    Absent,
    Failed,
}

/// One step of `undo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undone {
    pub argv: Vec<String>,
    pub outcome: Outcome,
    pub stderr: String,
}

/// A command that failed as a whole (refused, or stopped by an error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub error: String,
    /// The delayer's packets let through on its way out, if it was running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released: Option<u64>,
}

/// Any line of `run` or `undo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StepLine {
    Undone(Undone),
    Ran(Ran),
    Failure(Failure),
}

impl StepLine {
    /// `` `argv` failed: stderr `` for a step that failed; `None` otherwise.
    pub fn failed(&self) -> Option<String> {
        let (argv, stderr) = match self {
            StepLine::Ran(Ran {
                argv,
                ok: false,
                stderr,
            }) => (argv, stderr.as_deref().unwrap_or("")),
            StepLine::Undone(Undone {
                argv,
                outcome: Outcome::Failed,
                stderr,
            }) => (argv, stderr.as_str()),
            _ => return None,
        };
        Some(format!("`{}` failed: {}", argv.join(" "), stderr.trim()))
    }
}

/// What the kernel under the nodes offers network faults (`probe`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mechanisms {
    pub netem: bool,
    pub htb: bool,
    #[serde(default)]
    pub tbf: bool,
    /// The iptables program that works (`iptables` or `iptables-legacy`).
    pub iptables: Option<String>,
    pub statistic: bool,
    pub nfqueue: bool,
}

/// The one kind of Engine API call the helper relays for a presenter whose
/// engine is on another machine: on one container, and nothing else of the
/// engine (no image, volume, swarm or exec call). The host builds one, the
/// helper reads it back from its argv; neither writes an API path by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineCall {
    Inspect {
        container: String,
    },
    Kill {
        container: String,
        signal: String,
    },
    Stop {
        container: String,
        grace_seconds: u32,
    },
    Pause {
        container: String,
    },
    Unpause {
        container: String,
    },
    Start {
        container: String,
    },
}

/// The longest stop grace a relayed call may ask for (Docker's own limit is
/// far above; a fault's grace is seconds).
pub const MAX_GRACE_SECONDS: u32 = 3600;

impl EngineCall {
    /// The helper's argv for the call: `engine VERB CONTAINER [ARG]`.
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec!["engine".to_string(), self.verb().to_string()];
        argv.push(self.container().to_string());
        match self {
            EngineCall::Kill { signal, .. } => argv.push(signal.clone()),
            EngineCall::Stop { grace_seconds, .. } => argv.push(grace_seconds.to_string()),
            _ => {}
        }
        argv
    }

    /// The call `engine`'s arguments name (what follows `engine`), checked:
    /// a container id or name, a signal name, a bounded grace.
    pub fn from_args(args: &[String]) -> Result<Self, String> {
        let usage = "engine takes inspect|pause|unpause|start CONTAINER, kill CONTAINER SIGNAL or stop CONTAINER SECONDS";
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let container = |id: &str| checked_container(id).map(str::to_string);
        Ok(match args.as_slice() {
            ["inspect", id] => EngineCall::Inspect {
                container: container(id)?,
            },
            ["pause", id] => EngineCall::Pause {
                container: container(id)?,
            },
            ["unpause", id] => EngineCall::Unpause {
                container: container(id)?,
            },
            ["start", id] => EngineCall::Start {
                container: container(id)?,
            },
            ["kill", id, signal] => EngineCall::Kill {
                container: container(id)?,
                signal: checked_signal(signal)?.to_string(),
            },
            ["stop", id, seconds] => EngineCall::Stop {
                container: container(id)?,
                grace_seconds: seconds
                    .parse()
                    .ok()
                    .filter(|s| *s <= MAX_GRACE_SECONDS)
                    .ok_or_else(|| {
                        format!(
                            "{seconds:?} is not a stop grace (0 to {MAX_GRACE_SECONDS} seconds)"
                        )
                    })?,
            },
            _ => return Err(format!("{args:?}: {usage}")),
        })
    }

    /// The HTTP method and Engine API path of the call.
    pub fn request(&self) -> (&'static str, String) {
        let id = self.container();
        match self {
            EngineCall::Inspect { .. } => ("GET", format!("/containers/{id}/json")),
            EngineCall::Kill { signal, .. } => {
                ("POST", format!("/containers/{id}/kill?signal={signal}"))
            }
            EngineCall::Stop { grace_seconds, .. } => {
                ("POST", format!("/containers/{id}/stop?t={grace_seconds}"))
            }
            _ => ("POST", format!("/containers/{id}/{}", self.verb())),
        }
    }

    /// The container the call is on.
    pub fn container(&self) -> &str {
        match self {
            EngineCall::Inspect { container }
            | EngineCall::Kill { container, .. }
            | EngineCall::Stop { container, .. }
            | EngineCall::Pause { container }
            | EngineCall::Unpause { container }
            | EngineCall::Start { container } => container,
        }
    }

    fn verb(&self) -> &'static str {
        match self {
            EngineCall::Inspect { .. } => "inspect",
            EngineCall::Kill { .. } => "kill",
            EngineCall::Stop { .. } => "stop",
            EngineCall::Pause { .. } => "pause",
            EngineCall::Unpause { .. } => "unpause",
            EngineCall::Start { .. } => "start",
        }
    }
}

/// A container id or name as the Engine API takes it in a path: nothing
/// that could leave the `/containers/ID/` segment or start a query.
pub fn checked_container(id: &str) -> Result<&str, String> {
    let valid = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        Ok(id)
    } else {
        Err(format!("{id:?} is not a container id or name"))
    }
}

/// A signal name as the engine takes it (`SIGKILL`, `SIGRTMIN+3`, `9`).
fn checked_signal(signal: &str) -> Result<&str, String> {
    let valid = !signal.is_empty()
        && signal.len() <= 16
        && signal
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-');
    if valid {
        Ok(signal)
    } else {
        Err(format!("{signal:?} is not a signal name"))
    }
}

/// The part of the engine's container inspection the helper reads to find
/// a container's network namespace.
#[derive(Debug, Deserialize)]
pub struct ContainerProcess {
    #[serde(rename = "State")]
    pub state: ProcessState,
}

#[derive(Debug, Deserialize)]
pub struct ProcessState {
    /// 0 when the container does not run.
    #[serde(rename = "Pid", default)]
    pub pid: i64,
}

/// The engine's answer to one relayed [`EngineCall`]: its status and its
/// body, passed through whole (the Engine API's JSON, or a JSON string where
/// the engine sent something else).
#[derive(Debug, Serialize, Deserialize)]
pub struct EngineReply {
    pub status: u16,
    pub body: Box<RawValue>,
}

impl EngineReply {
    /// A reply with `body` as the engine sent it: kept as JSON when it is
    /// JSON, else as a JSON string.
    pub fn new(status: u16, body: String) -> Self {
        // Compacted, so that the reply stays on its one line.
        let compact = match serde_json::from_str::<serde_json::Value>(&body) {
            Ok(json) => json.to_string(),
            Err(_) => serde_json::Value::String(body).to_string(),
        };
        EngineReply {
            status,
            body: RawValue::from_string(compact).unwrap_or_else(|_| null()),
        }
    }

    /// The body as `T` (an Engine API type).
    pub fn body_as<'a, T: Deserialize<'a>>(&'a self) -> serde_json::Result<T> {
        serde_json::from_str(self.body.get())
    }

    /// The engine's own message, where it refused the call.
    pub fn message(&self) -> String {
        #[derive(Deserialize)]
        struct Refusal {
            message: String,
        }
        self.body_as::<Refusal>()
            .map(|r| r.message)
            .unwrap_or_else(|_| self.body.get().to_string())
    }
}

fn null() -> Box<RawValue> {
    // `null` is JSON.
    RawValue::from_string("null".into()).unwrap_or_else(|_| unreachable!())
}

/// The last line of an `engine` stdout that is a reply or a failure (read
/// one type after the other: a raw body cannot go through an untagged enum).
pub fn engine_said(stdout: &str) -> Option<Result<EngineReply, Failure>> {
    stdout.lines().rev().find_map(|line| {
        let line = line.trim();
        if let Ok(reply) = serde_json::from_str::<EngineReply>(line) {
            return Some(Ok(reply));
        }
        serde_json::from_str::<Failure>(line).ok().map(Err)
    })
}

/// What the delayer says while it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DelayerEvent {
    /// Its queue is bound: packets are delayed from now on.
    Delaying {
        queue: u16,
        delay_ms: u64,
        jitter_ms: u64,
    },
    /// Stopped (SIGTERM), every held packet let through.
    Stopped {
        queue: u16,
        delayed: u64,
        released: u64,
    },
}

/// Any line of `delay`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DelayerLine {
    Event(DelayerEvent),
    Failure(Failure),
}

/// The lines of `stdout` that read as `T`, in order; others are skipped.
pub fn lines<'a, T: Deserialize<'a>>(stdout: &'a str) -> impl Iterator<Item = T> + 'a {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str(line.trim()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_call_goes_through_argv_unchanged() {
        let id = "demo_etcd1.1.xyz";
        for call in [
            EngineCall::Inspect {
                container: id.into(),
            },
            EngineCall::Kill {
                container: id.into(),
                signal: "SIGKILL".into(),
            },
            EngineCall::Stop {
                container: id.into(),
                grace_seconds: 1,
            },
            EngineCall::Pause {
                container: id.into(),
            },
            EngineCall::Unpause {
                container: id.into(),
            },
            EngineCall::Start {
                container: id.into(),
            },
        ] {
            let argv = call.argv();
            assert_eq!(argv[0], "engine");
            assert_eq!(EngineCall::from_args(&argv[1..]), Ok(call.clone()));
        }
        let kill = EngineCall::Kill {
            container: "abc".into(),
            signal: "SIGTERM".into(),
        };
        assert_eq!(
            kill.request(),
            ("POST", "/containers/abc/kill?signal=SIGTERM".into())
        );
        let inspect = EngineCall::Inspect {
            container: "abc".into(),
        };
        assert_eq!(inspect.request(), ("GET", "/containers/abc/json".into()));
    }

    #[test]
    fn nothing_but_a_container_call_reads_as_one() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for bad in [
            &["GET", "/containers/abc/json"][..],
            &["delete", "abc"],
            &["exec", "abc"],
            &["inspect", "../images/x"],
            &["inspect", ".."],
            &["inspect", "a/b"],
            &["inspect", "abc?all=1"],
            &["inspect", ""],
            &["kill", "abc", "$(x)"],
            &["kill", "abc", "SIGKILL&t=1"],
            &["kill", "abc"],
            &["stop", "abc", "-1"],
            &["stop", "abc", "99999999"],
            &["pause", "abc", "extra"],
            &[],
        ] {
            assert!(EngineCall::from_args(&args(bad)).is_err(), "{bad:?}");
        }
        let long = "a".repeat(129);
        assert!(EngineCall::from_args(&args(&["inspect", &long])).is_err());
    }

    #[test]
    fn a_container_process_is_read_from_an_inspection() {
        let running: ContainerProcess =
            serde_json::from_str(r#"{"Id":"x","State":{"Status":"running","Pid":4242}}"#).unwrap();
        assert_eq!(running.state.pid, 4242);
        let stopped: ContainerProcess = serde_json::from_str(r#"{"State":{}}"#).unwrap();
        assert_eq!(stopped.state.pid, 0);
    }

    #[test]
    fn lines_read_back_as_they_were_written() {
        let written = [
            StepLine::Ran(Ran {
                argv: vec!["tc".into(), "qdisc".into()],
                ok: true,
                stderr: None,
            }),
            StepLine::Ran(Ran {
                argv: vec!["iptables".into()],
                ok: false,
                stderr: Some("busy".into()),
            }),
            StepLine::Undone(Undone {
                argv: vec!["iptables".into(), "-D".into()],
                outcome: Outcome::Absent,
                stderr: "Bad rule".into(),
            }),
            StepLine::Failure(Failure {
                error: "plan refused".into(),
                released: None,
            }),
        ];
        let stdout: String = written
            .iter()
            .map(|l| serde_json::to_string(l).unwrap() + "\n")
            .collect();
        let read: Vec<StepLine> = lines(&stdout).collect();
        assert_eq!(read, written);
        assert_eq!(read[0].failed(), None);
        assert_eq!(read[1].failed().as_deref(), Some("`iptables` failed: busy"));
        assert_eq!(read[2].failed(), None);
    }

    #[test]
    fn the_wire_format_is_the_one_the_helper_always_printed() {
        let ran = r#"{"argv":["tc"],"ok":true}"#;
        assert!(matches!(serde_json::from_str(ran), Ok(StepLine::Ran(_))));
        let undone = r#"{"argv":["tc"],"outcome":"removed","stderr":""}"#;
        assert!(matches!(
            serde_json::from_str(undone),
            Ok(StepLine::Undone(Undone {
                outcome: Outcome::Removed,
                ..
            }))
        ));
        let delaying = r#"{"delaying":{"queue":7,"delay_ms":100,"jitter_ms":0}}"#;
        assert!(matches!(
            serde_json::from_str(delaying),
            Ok(DelayerLine::Event(DelayerEvent::Delaying { queue: 7, .. }))
        ));
        let error = r#"{"error":"no queue","released":3}"#;
        assert!(matches!(
            serde_json::from_str(error),
            Ok(DelayerLine::Failure(Failure {
                released: Some(3),
                ..
            }))
        ));
        assert_eq!(
            serde_json::to_string(&Plan {
                steps: vec![vec!["tc".into()]]
            })
            .unwrap(),
            r#"{"steps":[["tc"]]}"#
        );
        assert!(serde_json::from_str::<Plan>(r#"{"steps":[],"more":1}"#).is_err());
    }

    #[test]
    fn an_engine_reply_keeps_its_body_whole() {
        let reply = EngineReply::new(404, "{\"message\":\n \"No such container: c1\"}\n".into());
        let line = serde_json::to_string(&reply).unwrap();
        assert_eq!(
            line,
            r#"{"status":404,"body":{"message":"No such container: c1"}}"#
        );
        let read = engine_said(&format!("{line}\n")).unwrap().unwrap();
        assert_eq!(read.status, 404);
        assert_eq!(read.message(), "No such container: c1");
        let odd = EngineReply::new(500, "not json".into());
        assert_eq!(odd.body.get(), r#""not json""#);
        assert_eq!(odd.message(), r#""not json""#);
        let failure = engine_said("{\"error\":\"cannot reach\"}\n").unwrap();
        assert!(matches!(failure, Err(Failure { error, .. }) if error == "cannot reach"));
        assert!(engine_said("not json\n").is_none());
    }
}
