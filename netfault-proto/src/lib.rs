//! What the host and the `netfault` helper say to each other, as types both
//! sides compile: the helper is given a [`Plan`] (`run|undo --plan JSON`)
//! and prints one JSON object per line of stdout, each one of the types
//! below; the host reads them back with the same types. Nothing on either
//! side writes or reads these lines by hand.
//!
//! - `run`: a [`Ran`] per step, up to the first that failed;
//! - `undo`: an [`Undone`] per step, each [`Outcome`] classified;
//! - `probe`: the kernel's [`Mechanisms`];
//! - `engine METHOD PATH`: an [`EngineReply`] (read with [`engine_said`]);
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

/// The engine's answer to one `engine METHOD PATH` call: its status and its
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
