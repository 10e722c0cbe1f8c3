//! The network-fault helper image for real: containers of demo-netfault on a
//! private Docker network, faults applied by helpers in a target's network
//! namespace the way the host runs them, and their effect measured.
//!
//! Each test makes its own internal network and removes it with every
//! container it started, also on panic (e2e::netfault::Lab).

use e2e::netfault::{HELPER_LIMIT, Lab, last_json};
use serde_json::{Value, json};
use std::time::Duration;

const QUEUE: &str = "7430";
const ECHO_PORT: &str = "7000";

fn echo_target(lab: &Lab) -> (String, String) {
    let target = lab.start(
        "target",
        None,
        &["udp-echo", "--port", ECHO_PORT],
        "listening",
    );
    let to = format!("{}:{ECHO_PORT}", lab.ip(&target));
    (target, to)
}

/// Sends the target's outgoing packets (not lo's) to the delayer's queue.
fn nfqueue_rule(op: &str) -> Value {
    json!({ "steps": [[
        "iptables", "-w", op, "OUTPUT", "!", "-o", "lo",
        "-j", "NFQUEUE", "--queue-num", QUEUE, "--queue-bypass",
    ]] })
}

fn start_delayer(lab: &Lab, target: &str, delay_ms: u32) -> String {
    let delay = delay_ms.to_string();
    let delayer = lab.start(
        "delayer",
        Some(target),
        &["delay", "--queue", QUEUE, "--delay-ms", &delay],
        "delaying",
    );
    let line: Value =
        serde_json::from_str(&lab.wait_for_log(&delayer, "delaying", Duration::from_secs(5)))
            .unwrap();
    assert_eq!(line["delaying"]["queue"], 7430);
    assert_eq!(line["delaying"]["delay_ms"], delay_ms);
    delayer
}

fn ms(summary: &Value, key: &str) -> f64 {
    summary[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {summary}"))
}

fn outcomes(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l["outcome"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[test]
fn delay_is_real_and_undo_restores_the_baseline() {
    let lab = Lab::new("delay");
    let (target, to) = echo_target(&lab);
    let baseline = lab.rtt(&to, 20, 10, 1000);
    assert_eq!(baseline["received"], 20);
    assert!(ms(&baseline, "median_ms") < 20.0, "baseline {baseline}");

    let delayer = start_delayer(&lab, &target, 200);
    let (code, lines) = lab.plan(&target, "run", &nfqueue_rule("-A"));
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["ok"], true);

    let delayed = lab.rtt(&to, 30, 20, 2000);
    assert_eq!(delayed["received"], 30, "{delayed}");
    let median = ms(&delayed, "median_ms");
    assert!(
        (160.0..=240.0).contains(&median),
        "median {median} ms, asked 200: {delayed}"
    );

    let (code, lines) = lab.plan(&target, "undo", &nfqueue_rule("-D"));
    assert_eq!(code, 0);
    assert_eq!(outcomes(&lines), ["removed"]);
    // SIGTERM: held packets go at once, exit 0.
    assert_eq!(
        lab.stop(&delayer, 5),
        0,
        "delayer logs: {}",
        lab.logs(&delayer)
    );
    assert!(lab.logs(&delayer).contains("\"stopped\""));

    let after = lab.rtt(&to, 20, 10, 1000);
    assert_eq!(after["received"], 20);
    assert!(ms(&after, "median_ms") < 20.0, "after undo {after}");
    let shown = lab.show(&target);
    let rules = shown["iptables"].as_str().expect("iptables -S");
    assert!(!rules.contains("NFQUEUE"), "{rules}");
    assert!(shown["devs"]["eth0"].is_object(), "{shown}");

    let (code, lines) = lab.plan(&target, "undo", &nfqueue_rule("-D"));
    assert_eq!(code, 0);
    assert_eq!(outcomes(&lines), ["absent"]);
}

/// TCP from the target through a delay on INPUT (its incoming packets):
/// the path behaves as a 100 ms one. (On OUTPUT a held packet stays charged
/// to the target's own socket and a TCP sender there stalls: BENCHMARKS.md.)
#[test]
fn tcp_through_a_delay_on_input() {
    let lab = Lab::new("tcpdelay");
    let (target, to) = echo_target(&lab);
    let sink = lab.start("sink", None, &["tcp-sink", "--port", "7001"], "listening");
    let sink_to = format!("{}:7001", lab.ip(&sink));
    let delayer = start_delayer(&lab, &target, 100);
    let rule = |op: &str| {
        json!({ "steps": [[
            "iptables", "-w", op, "INPUT", "!", "-i", "lo",
            "-j", "NFQUEUE", "--queue-num", QUEUE, "--queue-bypass",
        ]] })
    };
    let (code, lines) = lab.plan(&target, "run", &rule("-A"));
    assert_eq!(code, 0, "{lines:?}");
    let delayed = lab.rtt(&to, 20, 20, 2000);
    let median = ms(&delayed, "median_ms");
    assert!(
        (80.0..=120.0).contains(&median),
        "median {median} ms, asked 100: {delayed}"
    );

    let in_target = format!("container:{target}");
    let out = lab.run_once(
        &in_target,
        &[],
        &["connect", "--to", &sink_to, "--timeout-ms", "2000"],
        HELPER_LIMIT,
    );
    assert_eq!(last_json(&out)["connected"], true);
    let out = lab.run_once(
        &in_target,
        &[],
        &["tcp-rate", "--to", &sink_to, "--seconds", "3"],
        Duration::from_secs(60),
    );
    let rate = last_json(&out);
    eprintln!("tcp-rate through 100 ms on INPUT: {rate}");
    // Window-limited like any 100 ms path: tcp-rate's 64 KiB send buffer
    // allows ~5 Mbit/s; a stalled sender would manage ~0.1.
    let kbit = rate["kbit_per_sec"].as_f64().expect("kbit_per_sec");
    assert!(kbit > 1000.0, "{rate}");

    let (code, lines) = lab.plan(&target, "undo", &rule("-D"));
    assert_eq!((code, outcomes(&lines)), (0, vec!["removed".to_string()]));
    assert_eq!(lab.stop(&delayer, 5), 0);
}

#[test]
fn traffic_flows_when_the_delayer_is_killed() {
    let lab = Lab::new("failopen");
    let (target, to) = echo_target(&lab);
    let delayer = start_delayer(&lab, &target, 150);
    let (code, _) = lab.plan(&target, "run", &nfqueue_rule("-A"));
    assert_eq!(code, 0);
    let delayed = lab.rtt(&to, 10, 20, 2000);
    assert!(
        ms(&delayed, "median_ms") > 120.0,
        "the delay is not in force: {delayed}"
    );

    lab.kill(&delayer);
    // The rule stays; --queue-bypass lets packets by while no one is bound.
    let rules = lab.show(&target)["iptables"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(rules.contains("NFQUEUE"), "{rules}");
    let open = lab.rtt(&to, 20, 10, 1000);
    assert_eq!(open["received"], 20, "fail-open lost packets: {open}");
    assert!(ms(&open, "median_ms") < 20.0, "{open}");

    let (code, lines) = lab.plan(&target, "undo", &nfqueue_rule("-D"));
    assert_eq!((code, outcomes(&lines)), (0, vec!["removed".to_string()]));
}

#[test]
fn loss_through_the_statistic_match() {
    let lab = Lab::new("loss");
    let (target, to) = echo_target(&lab);
    let rule = |op: &str| {
        json!({ "steps": [[
            "iptables", "-w", op, "OUTPUT", "!", "-o", "lo",
            "-m", "statistic", "--mode", "random", "--probability", "0.3", "-j", "DROP",
        ]] })
    };
    let (code, lines) = lab.plan(&target, "run", &rule("-A"));
    assert_eq!(code, 0, "{lines:?}");
    // Only the target's replies are dropped, so the measured loss is p = 0.3;
    // over 400 datagrams its standard deviation is 0.023: ±0.08 is 3.5 σ.
    let lossy = lab.rtt(&to, 400, 2, 1000);
    let loss = ms(&lossy, "loss");
    assert!(
        (loss - 0.3).abs() <= 0.08,
        "loss {loss}, asked 0.3: {lossy}"
    );
    let (code, lines) = lab.plan(&target, "undo", &rule("-D"));
    assert_eq!((code, outcomes(&lines)), (0, vec!["removed".to_string()]));
    let clean = lab.rtt(&to, 50, 2, 1000);
    assert_eq!(clean["received"], 50, "{clean}");
}

#[test]
fn rate_through_tbf_and_htb() {
    let lab = Lab::new("rate");
    let (target, _) = echo_target(&lab);
    let sink = lab.start("sink", None, &["tcp-sink", "--port", "7001"], "listening");
    let to = format!("{}:7001", lab.ip(&sink));
    // tcp-rate runs in the target's namespace: the target's egress is shaped.
    let rate = |seconds: &str| {
        let out = lab.run_once(
            &format!("container:{target}"),
            &[],
            &["tcp-rate", "--to", &to, "--seconds", seconds],
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "tcp-rate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary = last_json(&out);
        eprintln!("tcp-rate: {summary}");
        summary["kbit_per_sec"].as_f64().expect("kbit_per_sec")
    };
    let unshaped = rate("1");
    assert!(unshaped > 20_000.0, "unshaped only {unshaped} kbit/s");

    let shapes = [
        (
            "tbf",
            json!({ "steps": [["tc", "qdisc", "add", "dev", "{dev}", "root", "handle", "1:",
                               "tbf", "rate", "1mbit", "burst", "16kb", "latency", "100ms"]] }),
            json!({ "steps": [["tc", "qdisc", "del", "dev", "{dev}", "root"]] }),
        ),
        (
            "htb",
            json!({ "steps": [
                ["tc", "qdisc", "add", "dev", "{dev}", "root", "handle", "1:", "htb", "default", "10"],
                ["tc", "class", "add", "dev", "{dev}", "parent", "1:", "classid", "1:10",
                 "htb", "rate", "1mbit", "ceil", "1mbit"],
            ] }),
            json!({ "steps": [["tc", "qdisc", "del", "dev", "{dev}", "root"]] }),
        ),
    ];
    for (kind, apply, undo) in shapes {
        let (code, lines) = lab.plan(&target, "run", &apply);
        assert_eq!(code, 0, "{kind}: {lines:?}");
        let shaped = rate("4");
        // Goodput under a 1 Mbit/s cap on whole frames: ~950 kbit/s.
        assert!(
            (750.0..=1250.0).contains(&shaped),
            "{kind}: {shaped} kbit/s under a 1 Mbit/s cap"
        );
        let (code, lines) = lab.plan(&target, "undo", &undo);
        assert_eq!(
            (code, outcomes(&lines)),
            (0, vec!["removed".to_string()]),
            "{kind}"
        );
    }
}

#[test]
fn probe_reports_what_the_kernel_offers() {
    let lab = Lab::new("probe");
    let out = lab.run_once("none", &["NET_ADMIN"], &["probe"], HELPER_LIMIT);
    assert!(
        out.status.success(),
        "probe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = last_json(&out);
    println!("netfault probe: {found}");
    eprintln!("netfault probe: {found}");
    for key in ["netem", "htb", "tbf", "statistic", "nfqueue"] {
        assert!(found[key].is_boolean(), "{key} in {found}");
    }
    assert!(
        found["iptables"].is_null()
            || ["iptables", "iptables-legacy"].contains(&found["iptables"].as_str().unwrap_or("")),
        "{found}"
    );
    // What these machines have (DESIGN.md); netem may be there elsewhere.
    assert_eq!(found["htb"], true, "{found}");
    assert_eq!(found["iptables"], "iptables", "{found}");
    assert_eq!(found["nfqueue"], true, "{found}");
}

#[test]
fn undo_is_idempotent_and_bad_plans_are_refused() {
    let lab = Lab::new("undo");
    let (target, _) = echo_target(&lab);
    let apply = json!({ "steps": [
        ["tc", "qdisc", "add", "dev", "{dev}", "root", "handle", "1:", "htb", "default", "10"],
        ["tc", "class", "add", "dev", "{dev}", "parent", "1:", "classid", "1:10", "htb", "rate", "100mbit"],
        ["tc", "class", "add", "dev", "{dev}", "parent", "1:", "classid", "1:20", "htb", "rate", "1mbit"],
        ["tc", "filter", "add", "dev", "{dev}", "parent", "1:", "protocol", "ip", "prio", "1",
         "u32", "match", "ip", "dport", "7001", "0xffff", "flowid", "1:20"],
        ["iptables", "-w", "-N", "DEMO-PART"],
        ["iptables", "-w", "-A", "DEMO-PART", "-p", "tcp", "--dport", "7002", "-j", "DROP"],
        ["iptables", "-w", "-A", "OUTPUT", "-j", "DEMO-PART"],
    ] });
    let undo = json!({ "steps": [
        ["iptables", "-w", "-D", "OUTPUT", "-j", "DEMO-PART"],
        ["iptables", "-w", "-F", "DEMO-PART"],
        ["iptables", "-w", "-X", "DEMO-PART"],
        ["tc", "filter", "del", "dev", "{dev}", "parent", "1:", "protocol", "ip", "prio", "1"],
        ["tc", "qdisc", "del", "dev", "{dev}", "root"],
    ] });
    let (code, lines) = lab.plan(&target, "run", &apply);
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[0]["argv"][4], "eth0", "{{dev}} is the target's eth0");
    let shown = lab.show(&target);
    assert!(
        shown["devs"]["eth0"]["qdisc"]
            .as_str()
            .unwrap()
            .contains("htb 1: root"),
        "{shown}"
    );
    assert!(
        shown["devs"]["eth0"]["filter"]
            .as_str()
            .unwrap()
            .contains("u32"),
        "{shown}"
    );
    assert!(
        shown["iptables"]
            .as_str()
            .unwrap()
            .contains("-A OUTPUT -j DEMO-PART"),
        "{shown}"
    );

    let (code, lines) = lab.plan(&target, "undo", &undo);
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(outcomes(&lines), ["removed"; 5]);
    let (code, lines) = lab.plan(&target, "undo", &undo);
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(outcomes(&lines), ["absent"; 5]);
    let shown = lab.show(&target);
    assert!(
        !shown["devs"]["eth0"]["qdisc"]
            .as_str()
            .unwrap()
            .contains("htb"),
        "{shown}"
    );
    assert!(
        !shown["iptables"].as_str().unwrap().contains("DEMO-PART"),
        "{shown}"
    );

    // A plan naming any other program is refused whole: nothing runs, exit 2.
    let hostile = json!({ "steps": [
        ["iptables", "-w", "-N", "DEMO-NEVER"],
        ["sh", "-c", "iptables -F"],
    ] });
    let (code, lines) = lab.plan(&target, "run", &hostile);
    assert_eq!(code, 2, "{lines:?}");
    assert!(
        lines[0]["error"].as_str().unwrap().contains("refused"),
        "{lines:?}"
    );
    assert!(
        !lab.show(&target)["iptables"]
            .as_str()
            .unwrap()
            .contains("DEMO-NEVER")
    );

    // A failing step ends the run at once (exit 1): the host then undoes.
    let failing = json!({ "steps": [
        ["iptables", "-w", "-N", "DEMO-HALF"],
        ["tc", "qdisc", "add", "dev", "{dev}", "root", "handle", "1:", "no-such-qdisc"],
        ["iptables", "-w", "-N", "DEMO-NEVER"],
    ] });
    let (code, lines) = lab.plan(&target, "run", &failing);
    assert_eq!(code, 1, "{lines:?}");
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["ok"], false);
    assert!(!lines[1]["stderr"].as_str().unwrap().is_empty());
    let (code, lines) = lab.plan(
        &target,
        "undo",
        &json!({ "steps": [["iptables", "-w", "-X", "DEMO-HALF"], ["iptables", "-w", "-X", "DEMO-NEVER"]] }),
    );
    assert_eq!(
        (code, outcomes(&lines)),
        (0, vec!["removed".to_string(), "absent".to_string()])
    );
}
