//! `netfault`: the network-fault helper that the host runs in short-lived
//! containers sharing a target container's network namespace
//! (`network_mode: container:<ID>`, `cap_add: [NET_ADMIN]`).
//!
//! Every line on stdout is one JSON object, of a type of `netfault-proto`
//! (the host reads them with the same types); human messages go to stderr. Exit codes: 0 success, 1 a step or the operation
//! failed, 2 the command line or the plan was refused (nothing was run).
//!
//! Subcommands (see clusters/netfault/README.md):
//! - `run --plan JSON`, `undo --plan JSON`: tc/iptables plans (plan.rs);
//! - `delay --queue N --delay-ms D [--jitter-ms J] [--correlation-pct C]`:
//!   the userspace delayer fed by NFQUEUE (delay.rs);
//! - `probe`, `show`: what the kernel offers, what is applied (inspect.rs);
//! - `udp-echo`, `rtt`, `tcp-sink`, `tcp-rate`, `connect`, `idle`:
//!   measurement tools for tests and benches (measure.rs);
//! - `engine VERB CONTAINER [ARG]`, `on --container ID COMMAND …`: for a task on
//!   another Swarm machine, one container call to that machine's engine, or
//!   a command in one of its containers' network namespace (engine.rs).

mod delay;
mod engine;
mod exec;
mod inspect;
mod measure;
mod plan;

use anyhow::{Result, anyhow};
use netfault_proto::Failure;
use serde::Serialize;
use std::io::Write;

/// One JSON object on one line of stdout, flushed at once (the host and the
/// tests read it while the process runs, e.g. the delayer's `delaying` line).
pub fn emit(value: &impl Serialize) {
    let Ok(value) = serde_json::to_string(value) else {
        return;
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

/// An error in the command line or the plan: nothing was run, exit 2.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// What a command that failed as a whole says.
pub fn failure(error: String) -> Failure {
    Failure {
        error,
        released: None,
    }
}

pub fn refuse<T>(message: impl Into<String>) -> Result<T> {
    Err(Refused(message.into()).into())
}

const USAGE: &str = "usage: netfault <command> [options]
  run --plan JSON                  apply a plan of tc/iptables steps (stops at the first failure)
  undo --plan JSON                 run every step of an undo plan (removed/absent/failed each)
  delay --queue N --delay-ms D [--jitter-ms J] [--correlation-pct C]
                                   hold packets of NFQUEUE N for D±J ms, then accept them
  probe                            detect netem/htb/tbf/iptables/statistic/NFQUEUE (run with only lo)
  show                             qdiscs, filters and iptables rules of this network namespace
  udp-echo --port P                echo UDP datagrams until SIGTERM
  rtt --to IP:PORT --count N --interval-ms I --timeout-ms T
  tcp-sink --port P                accept TCP connections and discard what they send
  tcp-rate --to IP:PORT --seconds S
  connect --to IP:PORT --timeout-ms T
  idle                             do nothing until SIGTERM (many cheap containers)
  engine VERB CONTAINER [ARG]      one Engine API call on a container: inspect|pause|unpause|start ID, kill ID SIGNAL, stop ID SECONDS
  on --container ID COMMAND ...    run, undo, delay or show in that container's network namespace";

/// `--name value` options, each at most once, none unknown.
pub struct Opts {
    pairs: Vec<(String, String)>,
}

impl Opts {
    fn parse(args: &[String], known: &[&str]) -> Result<Opts> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return refuse(format!("unexpected argument {arg:?}"));
            };
            if !known.contains(&name) {
                return refuse(format!("unknown option --{name}"));
            }
            let Some(value) = it.next() else {
                return refuse(format!("--{name} needs a value"));
            };
            if pairs.iter().any(|(n, _)| n == name) {
                return refuse(format!("--{name} given twice"));
            }
            pairs.push((name.to_string(), value.clone()));
        }
        Ok(Opts { pairs })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn required(&self, name: &str) -> Result<&str> {
        match self.get(name) {
            Some(v) => Ok(v),
            None => refuse(format!("--{name} is required")),
        }
    }

    /// An integer option within `min..=max`; `default` when absent (None: required).
    pub fn number(&self, name: &str, min: u64, max: u64, default: Option<u64>) -> Result<u64> {
        let text = match (self.get(name), default) {
            (Some(t), _) => t,
            (None, Some(d)) => return Ok(d),
            (None, None) => return refuse(format!("--{name} is required")),
        };
        match text.parse::<u64>() {
            Ok(v) if (min..=max).contains(&v) => Ok(v),
            _ => refuse(format!(
                "--{name} must be an integer in {min}..={max}, not {text:?}"
            )),
        }
    }

    pub fn addr(&self, name: &str) -> Result<std::net::SocketAddr> {
        let text = self.required(name)?;
        match text.parse() {
            Ok(a) => Ok(a),
            Err(_) => refuse(format!("--{name} must be IP:PORT, not {text:?}")),
        }
    }
}

fn dispatch(args: &[String]) -> Result<i32> {
    // The image's entrypoint is netfault itself; a container command that
    // names the program again (`["netfault", "probe"]`, as the host gives it)
    // works the same as `["probe"]`.
    let args = match args.split_first() {
        Some((first, rest)) if first == "netfault" => rest,
        _ => args,
    };
    let Some((command, rest)) = args.split_first() else {
        return refuse("no command given");
    };
    let opts = |known: &[&str]| Opts::parse(rest, known);
    match command.as_str() {
        "run" => plan::run(opts(&["plan"])?.required("plan")?),
        "undo" => plan::undo(opts(&["plan"])?.required("plan")?),
        "delay" => delay::main(&opts(&[
            "queue",
            "delay-ms",
            "jitter-ms",
            "correlation-pct",
        ])?),
        "probe" => inspect::probe(&opts(&[])?),
        "show" => inspect::show(&opts(&[])?),
        "udp-echo" => measure::udp_echo(&opts(&["port"])?),
        "rtt" => measure::rtt(&opts(&["to", "count", "interval-ms", "timeout-ms"])?),
        "tcp-sink" => measure::tcp_sink(&opts(&["port"])?),
        "tcp-rate" => measure::tcp_rate(&opts(&["to", "seconds"])?),
        "connect" => measure::connect(&opts(&["to", "timeout-ms"])?),
        "idle" => measure::idle(&opts(&[])?),
        "engine" => engine::call(rest),
        "on" => engine::on(rest, dispatch),
        "-h" | "--help" | "help" => {
            eprintln!("{USAGE}");
            Ok(0)
        }
        other => {
            eprintln!("{USAGE}");
            refuse(format!("unknown command {other:?}"))
        }
    }
}

fn main() {
    let args: Vec<String> = match std::env::args_os()
        .skip(1)
        .map(|a| {
            a.into_string()
                .map_err(|a| anyhow!("argument {a:?} is not UTF-8"))
        })
        .collect::<Result<_>>()
    {
        Ok(a) => a,
        Err(e) => {
            emit(&failure(e.to_string()));
            std::process::exit(2);
        }
    };
    let code = match dispatch(&args) {
        Ok(code) => code,
        Err(e) => {
            let refused = e.downcast_ref::<Refused>().is_some();
            emit(&failure(format!("{e:#}")));
            eprintln!("netfault: {e:#}");
            if refused {
                eprintln!("(netfault --help lists the commands)");
                2
            } else {
                1
            }
        }
    };
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_leading_program_name_is_skipped() {
        assert_eq!(dispatch(&args(&["netfault", "--help"])).unwrap(), 0);
        assert_eq!(dispatch(&args(&["--help"])).unwrap(), 0);
        let refused = |v: &[&str]| {
            dispatch(&args(v))
                .unwrap_err()
                .downcast::<Refused>()
                .is_ok()
        };
        assert!(refused(&["netfault"]));
        assert!(refused(&["netfault", "netfault", "probe"]));
        assert!(refused(&["run"]));
        assert!(refused(&["run", "--plan", "{}", "--plan", "{}"]));
        assert!(refused(&["delay", "--queue", "70000", "--delay-ms", "1"]));
        assert!(refused(&[
            "rtt",
            "--to",
            "nowhere",
            "--count",
            "1",
            "--interval-ms",
            "1",
            "--timeout-ms",
            "1"
        ]));
    }
}
