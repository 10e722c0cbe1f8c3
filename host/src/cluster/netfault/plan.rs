//! From a network fault to the exact commands that make it and undo it, as
//! argv lists the helper runs in the target's namespace (`netfault run` /
//! `netfault undo`, no shell). Pure: the same fault, addresses and kernel
//! give the same plan, so the undo written to the ledger before the fault is
//! made is the one that removes it.
//!
//! Which mechanism does what, chosen by what the kernel has (detected once
//! per run by `netfault probe`):
//! - isolation and random loss: iptables (`DROP`, the `statistic` match) in
//!   chains of our own, `DEMO-ISOLATE` and `DEMO-SHAPE`;
//! - bandwidth: an `htb` root qdisc, handle `1:`, class `1:1`;
//! - delay, jitter, duplication, corruption, reordering: a `netem` qdisc
//!   (handle `10:`) under that class where the kernel has netem; without it,
//!   delay and jitter go through a userspace delayer fed by `NFQUEUE` on the
//!   way in (chain `DEMO-DELAY`; `--queue-bypass`: if the delayer dies,
//!   packets pass undelayed) and the rest is refused before anything changes.

use crate::cluster::shape_spec::ShapeSpec;
use std::net::Ipv4Addr;

/// The NFQUEUE number the delayer binds in the target's namespace (each
/// namespace has its own queues).
pub const DELAY_QUEUE: u16 = 7430;
pub const SHAPE_CHAIN: &str = "DEMO-SHAPE";
pub const DELAY_CHAIN: &str = "DEMO-DELAY";
pub const ISOLATE_CHAIN: &str = "DEMO-ISOLATE";

/// What the Docker host's kernel offers, as `netfault probe` found it.
pub use netfault_proto::Mechanisms;

/// The userspace delayer kept running for a shape (no netem here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delayer {
    pub delay_ms: u32,
    pub jitter_ms: u32,
    pub correlation_pct: u32,
}

impl Delayer {
    /// The delayer's arguments to `netfault` (the helper's entrypoint).
    pub fn argv(&self) -> Vec<String> {
        [
            "delay".to_string(),
            "--queue".into(),
            DELAY_QUEUE.to_string(),
            "--delay-ms".into(),
            self.delay_ms.to_string(),
            "--jitter-ms".into(),
            self.jitter_ms.to_string(),
            "--correlation-pct".into(),
            self.correlation_pct.to_string(),
        ]
        .into()
    }
}

/// The commands of one network fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub apply: Vec<Vec<String>>,
    pub undo: Vec<Vec<String>>,
    pub delayer: Option<Delayer>,
}

fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

fn joined(command: &[&str], rule: &[&str]) -> Vec<String> {
    command.iter().chain(rule).map(|p| p.to_string()).collect()
}

/// The iptables program, or why there is none.
fn iptables(mech: &Mechanisms) -> Result<&str, String> {
    mech.iptables.as_deref().ok_or_else(|| {
        "neither iptables (nft) nor iptables-legacy works on this Docker host".into()
    })
}

/// A chain of our own holding `rules`, jumped to first from `hook` for
/// every interface but loopback; its undo deletes the jump, each rule and
/// the chain, exactly.
fn chain(
    ipt: &str,
    name: &str,
    [hook, interface]: [&str; 2],
    rules: &[Vec<String>],
    apply: &mut Vec<Vec<String>>,
    undo: &mut Vec<Vec<String>>,
) {
    apply.push(argv(&[ipt, "-w", "-N", name]));
    apply.push(argv(&[
        ipt, "-w", "-I", hook, "1", "!", interface, "lo", "-j", name,
    ]));
    undo.push(argv(&[
        ipt, "-w", "-D", hook, "!", interface, "lo", "-j", name,
    ]));
    for rule in rules {
        apply.push(joined(
            &[ipt, "-w", "-A", name],
            &rule.iter().map(String::as_str).collect::<Vec<_>>(),
        ));
        undo.push(joined(
            &[ipt, "-w", "-D", name],
            &rule.iter().map(String::as_str).collect::<Vec<_>>(),
        ));
    }
    undo.push(argv(&[ipt, "-w", "-X", name]));
}

/// Drops traffic between the target and `peers` both ways: a chain of our
/// own, jumped to first from INPUT and OUTPUT.
pub fn isolate(peers: &[Ipv4Addr], mech: &Mechanisms) -> Result<Plan, String> {
    let rules: Vec<Vec<String>> = peers
        .iter()
        .flat_map(|peer| {
            let peer = format!("{peer}/32");
            ["-s", "-d"].map(|direction| argv(&[direction, &peer, "-j", "DROP"]))
        })
        .collect();
    isolation(&rules, mech)
}

/// Drops every packet of the target's but loopback's, both ways: a
/// partition made in the namespace. Loopback is told by its source
/// address, so one chain serves INPUT and OUTPUT (`-i`/`-o` would not).
pub fn cut_off(mech: &Mechanisms) -> Result<Plan, String> {
    isolation(&[argv(&["!", "-s", "127.0.0.0/8", "-j", "DROP"])], mech)
}

/// The isolation chain with `rules`, jumped to first from INPUT and
/// OUTPUT; undone rule by rule, then the chain.
fn isolation(rules: &[Vec<String>], mech: &Mechanisms) -> Result<Plan, String> {
    let ipt = iptables(mech)?;
    let mut apply = vec![argv(&[ipt, "-w", "-N", ISOLATE_CHAIN])];
    let mut undo = Vec::new();
    for hook in ["INPUT", "OUTPUT"] {
        apply.push(argv(&[ipt, "-w", "-I", hook, "1", "-j", ISOLATE_CHAIN]));
        undo.push(argv(&[ipt, "-w", "-D", hook, "-j", ISOLATE_CHAIN]));
    }
    for rule in rules {
        let rule: Vec<&str> = rule.iter().map(String::as_str).collect();
        apply.push(joined(&[ipt, "-w", "-A", ISOLATE_CHAIN], &rule));
        undo.push(joined(&[ipt, "-w", "-D", ISOLATE_CHAIN], &rule));
    }
    undo.push(argv(&[ipt, "-w", "-X", ISOLATE_CHAIN]));
    Ok(Plan {
        apply,
        undo,
        delayer: None,
    })
}

/// Shapes the traffic leaving the target (towards `peers` only, when given),
/// or says which part this kernel cannot do. `spec` was validated.
pub fn shape(spec: &ShapeSpec, peers: &[Ipv4Addr], mech: &Mechanisms) -> Result<Plan, String> {
    let needs_netem = spec.needs_netem();
    if !needs_netem.is_empty() && !mech.netem {
        return Err(format!(
            "{} needs the kernel's sch_netem, which this Docker host lacks (delay, jitter, loss and rate work without it)",
            needs_netem.join(", ")
        ));
    }
    let delay_by_netem = spec.delay_ms > 0 && mech.netem;
    let delay_by_queue = spec.delay_ms > 0 && !mech.netem;
    if delay_by_queue && !mech.nfqueue {
        return Err(
            "delay needs the kernel's sch_netem or NFQUEUE (nfnetlink_queue), and this Docker host has neither"
                .into(),
        );
    }
    if spec.loss_pct > 0.0 && !mech.statistic {
        return Err("loss needs iptables' statistic match, which this Docker host lacks".into());
    }
    let uses_netem = delay_by_netem || !needs_netem.is_empty();
    if spec.rate_kbit > 0 && !mech.htb {
        return Err("rate needs the kernel's htb qdisc, which this Docker host lacks".into());
    }
    let uses_qdisc = uses_netem || spec.rate_kbit > 0;
    let uses_iptables = spec.loss_pct > 0.0 || delay_by_queue;

    let destinations: Vec<Option<String>> = if peers.is_empty() {
        vec![None]
    } else {
        peers.iter().map(|p| Some(format!("{p}/32"))).collect()
    };
    let mut apply = Vec::new();
    let mut undo = Vec::new();

    if uses_qdisc {
        // All traffic: everything to class 1:1. Towards peers: only what a
        // u32 filter sends there; the rest leaves unshaped (htb sends
        // unclassified packets directly when `default` names no class).
        let default = if peers.is_empty() { "1" } else { "0" };
        apply.push(argv(&[
            "tc", "qdisc", "add", "dev", "{dev}", "root", "handle", "1:", "htb", "default", default,
        ]));
        let rate = if spec.rate_kbit > 0 {
            format!("{}kbit", spec.rate_kbit)
        } else {
            "10gbit".to_string()
        };
        apply.push(argv(&[
            "tc", "class", "add", "dev", "{dev}", "parent", "1:", "classid", "1:1", "htb", "rate",
            &rate, "ceil", &rate,
        ]));
        if uses_netem {
            let mut netem = argv(&[
                "tc", "qdisc", "add", "dev", "{dev}", "parent", "1:1", "handle", "10:", "netem",
            ]);
            if delay_by_netem {
                netem.extend(["delay".to_string(), format!("{}ms", spec.delay_ms)]);
                if spec.jitter_ms > 0 {
                    netem.push(format!("{}ms", spec.jitter_ms));
                    if spec.correlation_pct > 0.0 {
                        netem.push(format!("{}%", spec.correlation_pct));
                    }
                }
            }
            for (name, value) in [
                ("duplicate", spec.duplicate_pct),
                ("corrupt", spec.corrupt_pct),
                ("reorder", spec.reorder_pct),
            ] {
                if value > 0.0 {
                    netem.extend([name.to_string(), format!("{value}%")]);
                }
            }
            apply.push(netem);
        }
        for destination in destinations.iter().flatten() {
            apply.push(argv(&[
                "tc",
                "filter",
                "add",
                "dev",
                "{dev}",
                "parent",
                "1:",
                "protocol",
                "ip",
                "prio",
                "1",
                "u32",
                "match",
                "ip",
                "dst",
                destination,
                "flowid",
                "1:1",
            ]));
        }
        // The root qdisc takes its classes, netem and filters with it.
        undo.push(argv(&[
            "tc", "qdisc", "del", "dev", "{dev}", "root", "handle", "1:",
        ]));
    }

    if uses_iptables {
        let ipt = iptables(mech)?;
        // Loss on the way out, like netem. Loopback stays as it is: the
        // container's own processes (and Docker's DNS on 127.0.0.11) talk
        // over it.
        if spec.loss_pct > 0.0 {
            let probability = format!("{:.4}", spec.loss_pct / 100.0);
            let random = [
                "-m",
                "statistic",
                "--mode",
                "random",
                "--probability",
                &probability,
                "-j",
                "DROP",
            ];
            let rules: Vec<Vec<String>> = destinations
                .iter()
                .map(|d| match d {
                    Some(d) => joined(&["-d", d], &random),
                    None => joined(&[], &random),
                })
                .collect();
            chain(
                ipt,
                SHAPE_CHAIN,
                ["OUTPUT", "-o"],
                &rules,
                &mut apply,
                &mut undo,
            );
        }
        // The delay on the way *in*: a packet a userspace queue holds on
        // the way out still counts against its socket's send budget, which
        // throttled the target's own TCP to ~120 kbit/s at 200 ms (measured);
        // held on arrival, the round trip grows the same and TCP keeps its
        // window.
        if delay_by_queue {
            let queue = DELAY_QUEUE.to_string();
            let to_queue = [
                "-j",
                "NFQUEUE",
                "--queue-num",
                queue.as_str(),
                "--queue-bypass",
            ];
            let rules: Vec<Vec<String>> = destinations
                .iter()
                .map(|d| match d {
                    Some(d) => joined(&["-s", d], &to_queue),
                    None => joined(&[], &to_queue),
                })
                .collect();
            chain(
                ipt,
                DELAY_CHAIN,
                ["INPUT", "-i"],
                &rules,
                &mut apply,
                &mut undo,
            );
        }
    }

    Ok(Plan {
        apply,
        undo,
        delayer: delay_by_queue.then(|| Delayer {
            delay_ms: spec.delay_ms,
            jitter_ms: spec.jitter_ms,
            correlation_pct: spec.correlation_pct.round() as u32,
        }),
    })
}

/// A kernel like CI's and this machine's: no netem (so a delay needs the
/// delayer), everything else there. The one fixture the rule tests share.
#[cfg(test)]
pub(crate) fn kernel_without_netem() -> Mechanisms {
    Mechanisms {
        netem: false,
        htb: true,
        tbf: true,
        iptables: Some("iptables".into()),
        statistic: true,
        nfqueue: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine's kernel: no netem, the rest there.
    fn here() -> Mechanisms {
        kernel_without_netem()
    }

    fn with_netem() -> Mechanisms {
        Mechanisms {
            netem: true,
            ..here()
        }
    }

    fn lines(steps: &[Vec<String>]) -> Vec<String> {
        steps.iter().map(|s| s.join(" ")).collect()
    }

    fn delay(ms: u32) -> ShapeSpec {
        ShapeSpec {
            delay_ms: ms,
            ..Default::default()
        }
    }

    #[test]
    fn without_netem_a_delay_goes_through_the_fail_open_queue_and_its_delayer() {
        let plan = shape(
            &ShapeSpec {
                jitter_ms: 20,
                ..delay(200)
            },
            &[],
            &here(),
        )
        .unwrap();
        assert_eq!(
            lines(&plan.apply),
            [
                "iptables -w -N DEMO-DELAY",
                "iptables -w -I INPUT 1 ! -i lo -j DEMO-DELAY",
                "iptables -w -A DEMO-DELAY -j NFQUEUE --queue-num 7430 --queue-bypass",
            ]
        );
        assert_eq!(
            lines(&plan.undo),
            [
                "iptables -w -D INPUT ! -i lo -j DEMO-DELAY",
                "iptables -w -D DEMO-DELAY -j NFQUEUE --queue-num 7430 --queue-bypass",
                "iptables -w -X DEMO-DELAY",
            ]
        );
        assert_eq!(
            plan.delayer.unwrap().argv().join(" "),
            "delay --queue 7430 --delay-ms 200 --jitter-ms 20 --correlation-pct 0"
        );
    }

    #[test]
    fn a_cut_off_drops_all_but_loopback_both_ways_and_undoes_in_reverse() {
        let plan = cut_off(&here()).unwrap();
        assert_eq!(
            lines(&plan.apply),
            [
                "iptables -w -N DEMO-ISOLATE",
                "iptables -w -I INPUT 1 -j DEMO-ISOLATE",
                "iptables -w -I OUTPUT 1 -j DEMO-ISOLATE",
                "iptables -w -A DEMO-ISOLATE ! -s 127.0.0.0/8 -j DROP",
            ]
        );
        assert_eq!(
            lines(&plan.undo),
            [
                "iptables -w -D INPUT -j DEMO-ISOLATE",
                "iptables -w -D OUTPUT -j DEMO-ISOLATE",
                "iptables -w -D DEMO-ISOLATE ! -s 127.0.0.0/8 -j DROP",
                "iptables -w -X DEMO-ISOLATE",
            ]
        );
        assert!(plan.delayer.is_none());
    }

    #[test]
    fn with_netem_the_delay_is_a_netem_qdisc_under_htb_and_no_delayer_runs() {
        let spec = ShapeSpec {
            jitter_ms: 10,
            correlation_pct: 25.0,
            duplicate_pct: 1.0,
            ..delay(100)
        };
        let plan = shape(&spec, &[], &with_netem()).unwrap();
        assert_eq!(
            lines(&plan.apply),
            [
                "tc qdisc add dev {dev} root handle 1: htb default 1",
                "tc class add dev {dev} parent 1: classid 1:1 htb rate 10gbit ceil 10gbit",
                "tc qdisc add dev {dev} parent 1:1 handle 10: netem delay 100ms 10ms 25% duplicate 1%",
            ]
        );
        assert_eq!(lines(&plan.undo), ["tc qdisc del dev {dev} root handle 1:"]);
        assert!(plan.delayer.is_none());
    }

    #[test]
    fn towards_peers_only_their_addresses_are_shaped() {
        let peers = ["172.18.0.3".parse().unwrap(), "172.18.0.4".parse().unwrap()];
        let spec = ShapeSpec {
            loss_pct: 30.0,
            rate_kbit: 1000,
            ..Default::default()
        };
        let plan = shape(&spec, &peers, &here()).unwrap();
        assert_eq!(
            lines(&plan.apply),
            [
                "tc qdisc add dev {dev} root handle 1: htb default 0",
                "tc class add dev {dev} parent 1: classid 1:1 htb rate 1000kbit ceil 1000kbit",
                "tc filter add dev {dev} parent 1: protocol ip prio 1 u32 match ip dst 172.18.0.3/32 flowid 1:1",
                "tc filter add dev {dev} parent 1: protocol ip prio 1 u32 match ip dst 172.18.0.4/32 flowid 1:1",
                "iptables -w -N DEMO-SHAPE",
                "iptables -w -I OUTPUT 1 ! -o lo -j DEMO-SHAPE",
                "iptables -w -A DEMO-SHAPE -d 172.18.0.3/32 -m statistic --mode random --probability 0.3000 -j DROP",
                "iptables -w -A DEMO-SHAPE -d 172.18.0.4/32 -m statistic --mode random --probability 0.3000 -j DROP",
            ]
        );
        assert_eq!(
            plan.undo[0].join(" "),
            "tc qdisc del dev {dev} root handle 1:"
        );
        assert!(plan.delayer.is_none());
    }

    #[test]
    fn what_the_kernel_cannot_do_is_refused_with_what_is_missing() {
        let corrupt = ShapeSpec {
            corrupt_pct: 1.0,
            ..delay(10)
        };
        let err = shape(&corrupt, &[], &here()).unwrap_err();
        assert!(
            err.starts_with("corrupt-pct needs the kernel's sch_netem"),
            "{err}"
        );
        let no_queue = Mechanisms {
            nfqueue: false,
            ..here()
        };
        assert!(
            shape(&delay(10), &[], &no_queue)
                .unwrap_err()
                .contains("NFQUEUE")
        );
        let no_htb = Mechanisms {
            htb: false,
            ..here()
        };
        let rate = ShapeSpec {
            rate_kbit: 100,
            ..Default::default()
        };
        assert!(shape(&rate, &[], &no_htb).unwrap_err().contains("htb"));
        let no_iptables = Mechanisms {
            iptables: None,
            ..here()
        };
        assert!(isolate(&["10.0.0.2".parse().unwrap()], &no_iptables).is_err());
    }

    #[test]
    fn isolation_drops_both_ways_and_its_undo_removes_exactly_what_it_added() {
        let plan = isolate(
            &["172.18.0.3".parse().unwrap()],
            &Mechanisms {
                iptables: Some("iptables-legacy".into()),
                ..here()
            },
        )
        .unwrap();
        assert_eq!(
            lines(&plan.apply),
            [
                "iptables-legacy -w -N DEMO-ISOLATE",
                "iptables-legacy -w -I INPUT 1 -j DEMO-ISOLATE",
                "iptables-legacy -w -I OUTPUT 1 -j DEMO-ISOLATE",
                "iptables-legacy -w -A DEMO-ISOLATE -s 172.18.0.3/32 -j DROP",
                "iptables-legacy -w -A DEMO-ISOLATE -d 172.18.0.3/32 -j DROP",
            ]
        );
        assert_eq!(
            lines(&plan.undo),
            [
                "iptables-legacy -w -D INPUT -j DEMO-ISOLATE",
                "iptables-legacy -w -D OUTPUT -j DEMO-ISOLATE",
                "iptables-legacy -w -D DEMO-ISOLATE -s 172.18.0.3/32 -j DROP",
                "iptables-legacy -w -D DEMO-ISOLATE -d 172.18.0.3/32 -j DROP",
                "iptables-legacy -w -X DEMO-ISOLATE",
            ]
        );
    }
}
