//! `probe`: what this kernel offers, each tried for real on `lo` (run it in a
//! container with `network_mode: none`, where lo is all there is).
//! `show`: the qdiscs, filters and iptables rules in force, for checks made
//! outside the host's ledger.

use crate::exec::{self, STEP_LIMIT};
use crate::plan::devices;
use crate::{Opts, delay, emit};
use anyhow::Result;
use serde_json::{Map, Value, json};

/// The NFQUEUE number and UDP port the probe's rules name (any unused ones).
const PROBE_QUEUE: u16 = 7430;
const PROBE_PORT: &str = "7431";

fn ok(argv: &[&str]) -> bool {
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let ran = exec::run(&argv, STEP_LIMIT);
    if !ran.ok {
        eprintln!(
            "netfault probe: {} failed: {}",
            argv.join(" "),
            exec::first_lines(&ran.stderr)
        );
    }
    ran.ok
}

/// Adds a qdisc as lo's root and removes it again.
fn qdisc(kind: &[&str]) -> bool {
    let mut add = vec!["tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:"];
    add.extend_from_slice(kind);
    let works = ok(&add);
    if works {
        ok(&["tc", "qdisc", "del", "dev", "lo", "root"]);
    }
    works
}

/// Adds an OUTPUT rule for lo's probe port with `tail` and deletes it again.
fn rule(iptables: &str, tail: &[&str]) -> bool {
    let head = [
        iptables, "-w", "-A", "OUTPUT", "-o", "lo", "-p", "udp", "--dport", PROBE_PORT,
    ];
    let add: Vec<&str> = head.iter().chain(tail).copied().collect();
    let works = ok(&add);
    if works {
        let mut del = add.clone();
        del[2] = "-D";
        ok(&del);
    }
    works
}

pub fn probe(_: &Opts) -> Result<i32> {
    let netem = qdisc(&["netem", "delay", "1ms"]);
    let htb = qdisc(&["htb"]);
    let tbf = qdisc(&["tbf", "rate", "1mbit", "burst", "32kbit", "latency", "50ms"]);
    let iptables = ["iptables", "iptables-legacy"]
        .into_iter()
        .find(|prog| rule(prog, &["-j", "ACCEPT"]));
    let (statistic, nfqueue) = match iptables {
        Some(prog) => {
            let statistic = rule(
                prog,
                &[
                    "-m",
                    "statistic",
                    "--mode",
                    "random",
                    "--probability",
                    "0.5",
                    "-j",
                    "ACCEPT",
                ],
            );
            let queue = PROBE_QUEUE.to_string();
            let target = rule(
                prog,
                &["-j", "NFQUEUE", "--queue-num", &queue, "--queue-bypass"],
            );
            let bound = match delay::bind(PROBE_QUEUE) {
                Ok(mut q) => {
                    let _ = q.unbind(PROBE_QUEUE);
                    true
                }
                Err(e) => {
                    eprintln!("netfault probe: {e:#}");
                    false
                }
            };
            (statistic, target && bound)
        }
        None => (false, false),
    };
    emit(&netfault_proto::Mechanisms {
        netem,
        htb,
        tbf,
        iptables: iptables.map(str::to_string),
        statistic,
        nfqueue,
    });
    Ok(0)
}

fn output(argv: &[&str]) -> Option<String> {
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let ran = exec::run(&argv, STEP_LIMIT);
    ran.ok.then_some(ran.stdout)
}

pub fn show(_: &Opts) -> Result<i32> {
    let mut devs = Map::new();
    for dev in devices() {
        let show = |what: &str| {
            output(&["tc", what, "show", "dev", &dev]).map_or(Value::Null, Value::String)
        };
        devs.insert(
            dev.clone(),
            json!({ "qdisc": show("qdisc"), "filter": show("filter") }),
        );
    }
    emit(&json!({
        "devs": devs,
        "iptables": output(&["iptables", "-w", "-S"]),
        "iptables_legacy": output(&["iptables-legacy", "-w", "-S"]),
    }));
    Ok(0)
}
