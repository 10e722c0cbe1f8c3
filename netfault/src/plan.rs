//! Plans: `{"steps": [[argv...], ...]}`, applied by `run` (stop at the first
//! failure) or `undo` (every step, each classified removed/absent/failed).
//!
//! The plan is hostile input: bounded in size, argv[0] from a fixed list,
//! no NUL bytes, checked whole before anything runs.

use crate::exec::{self, PROGRAMS, STEP_LIMIT};
use crate::{emit, refuse};
use anyhow::Result;
pub use netfault_proto::Outcome;
use netfault_proto::{Ran, Undone};
use std::path::Path;

/// Larger than any real plan; also Linux's limit on one argv string
/// (MAX_ARG_STRLEN, 128 KiB), which is how the plan arrives.
pub const MAX_PLAN_BYTES: usize = 128 * 1024;
pub const MAX_STEPS: usize = 256;
pub const MAX_ARGS: usize = 64;
pub const MAX_ARG_BYTES: usize = 256;
/// The placeholder for "each network interface but lo".
pub const DEV: &str = "{dev}";

#[derive(Debug, PartialEq)]
pub struct Plan {
    pub steps: Vec<Vec<String>>,
}

pub fn parse(text: &str) -> std::result::Result<Plan, String> {
    if text.len() > MAX_PLAN_BYTES {
        return Err(format!(
            "plan is {} bytes, more than {MAX_PLAN_BYTES}",
            text.len()
        ));
    }
    let raw: netfault_proto::Plan =
        serde_json::from_str(text).map_err(|e| format!("plan is not valid: {e}"))?;
    if raw.steps.len() > MAX_STEPS {
        return Err(format!(
            "plan has {} steps, more than {MAX_STEPS}",
            raw.steps.len()
        ));
    }
    for (i, step) in raw.steps.iter().enumerate() {
        let Some(program) = step.first() else {
            return Err(format!("step {i} is empty"));
        };
        if !PROGRAMS.contains(&program.as_str()) {
            return Err(format!(
                "step {i} runs {program:?}; only {} are allowed",
                PROGRAMS.join(", ")
            ));
        }
        if step.len() > MAX_ARGS {
            return Err(format!(
                "step {i} has {} arguments, more than {MAX_ARGS}",
                step.len()
            ));
        }
        for arg in step {
            if arg.len() > MAX_ARG_BYTES {
                return Err(format!(
                    "step {i} has an argument of {} bytes, more than {MAX_ARG_BYTES}",
                    arg.len()
                ));
            }
            if arg.contains('\0') {
                return Err(format!("step {i} has an argument with a NUL byte"));
            }
        }
    }
    Ok(Plan { steps: raw.steps })
}

pub fn uses_dev(step: &[String]) -> bool {
    step.iter().any(|a| a == DEV)
}

/// The commands one step stands for: itself, or once per device with every
/// argument that is exactly `{dev}` replaced.
pub fn expand(step: &[String], devs: &[String]) -> Vec<Vec<String>> {
    if !uses_dev(step) {
        return vec![step.to_vec()];
    }
    devs.iter()
        .map(|dev| {
            step.iter()
                .map(|a| if a == DEV { dev.clone() } else { a.clone() })
                .collect()
        })
        .collect()
}

/// The network interfaces of this namespace except `lo`, sorted: the
/// entries of /sys/class/net (Docker mounts a sysfs that belongs to the
/// container's network namespace, also with `network_mode: container:`),
/// or /proc/net/dev where there is no sysfs.
pub fn devices() -> Vec<String> {
    let mut devs: Vec<String> = match std::fs::read_dir("/sys/class/net") {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            // Devices are directories (symlinks to them); `bonding_masters` is a file.
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect(),
        Err(_) => std::fs::read_to_string("/proc/net/dev")
            .unwrap_or_default()
            .lines()
            .skip(2)
            .filter_map(|l| l.split_once(':').map(|(name, _)| name.trim().to_string()))
            .collect(),
    };
    devs.retain(|d| d != "lo" && valid_dev_name(d));
    devs.sort();
    devs.dedup();
    devs
}

fn valid_dev_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
}

fn parse_or_refuse(text: &str) -> Result<Plan> {
    match parse(text) {
        Ok(plan) => Ok(plan),
        Err(why) => refuse(format!("plan refused: {why}")),
    }
}

/// `netfault run`: every step in order; the first failure ends the run (exit 1).
pub fn run(text: &str) -> Result<i32> {
    let plan = parse_or_refuse(text)?;
    let devs = if plan.steps.iter().any(|s| uses_dev(s)) {
        devices()
    } else {
        Vec::new()
    };
    for step in &plan.steps {
        if uses_dev(step) && devs.is_empty() {
            emit(&Ran {
                argv: step.clone(),
                ok: false,
                stderr: Some("no network interface but lo in this namespace for {dev}".into()),
            });
            return Ok(1);
        }
        for argv in expand(step, &devs) {
            let ran = exec::run(&argv, STEP_LIMIT);
            if ran.ok {
                emit(&Ran {
                    argv,
                    ok: true,
                    stderr: None,
                });
            } else {
                let stderr = exec::first_lines(&ran.stderr);
                eprintln!("netfault: {} failed: {stderr}", argv.join(" "));
                emit(&Ran {
                    argv,
                    ok: false,
                    stderr: Some(stderr),
                });
                return Ok(1);
            }
        }
    }
    Ok(0)
}

/// What a failed `tc` says when the thing to delete is not there, as
/// iproute2 6.1 prints it (checked in a scratch netns on this kernel):
/// - `tc qdisc del dev D root` with only the default qdisc:
///   "Error: Cannot delete qdisc with handle of zero."
/// - `tc qdisc del dev D root handle 1:` with no such qdisc: "Error: Invalid handle."
/// - `tc qdisc del dev D ingress|clsact` absent, or `... parent X:Y handle Z:`:
///   "Error: Cannot find specified qdisc on specified device." /
///   "Error: Failed to find qdisc with specified classid."
/// - `tc filter del dev D parent 1: ...` absent:
///   "Error: Cannot find specified filter chain." or, once the qdisc is
///   gone, "Error: Parent Qdisc doesn't exists."
/// - `tc class del dev D classid 1:10`: "Error: Specified class not found."
///   or "RTNETLINK answers: No such file or directory"
/// - a device that is gone: `Cannot find device "eth0"` (its qdiscs went with it)
///
/// A usage error or "We have an error talking to the kernel" alone is a failure.
const TC_ABSENT: &[&str] = &[
    "Cannot delete qdisc with handle of zero",
    "Invalid handle",
    "Cannot find specified qdisc",
    "Failed to find qdisc with specified classid",
    "Cannot find specified filter chain",
    "Parent Qdisc doesn't exist",
    "Specified class not found",
    "No such file or directory",
    "Cannot find device",
];

/// What a failed `iptables` (1.8.9, nf_tables and legacy) says when the
/// rule or chain to delete is not there (checked on this kernel):
/// - `-D CHAIN rule...` with no such rule:
///   "iptables: Bad rule (does a matching rule exist in that chain?)."
/// - `-F`/`-X`/`-D` of a chain that does not exist, or a rule whose target
///   module is not in the kernel: "iptables: No chain/target/match by that name."
/// - nf_tables, `-D CHAIN -j MISSING-CHAIN`: "Chain 'MISSING-CHAIN' does not exist";
///   a table never made: "Table does not exist (do you need to insmod?)"
/// - legacy, `-D CHAIN N` past the end: "iptables: Index of deletion too big."
/// - legacy, `-D CHAIN -j MISSING-CHAIN`:
///   "Couldn't load target `MISSING-CHAIN':No such file or directory" — only
///   absent when no extension module of that name exists (see [`classify`]).
///
/// "Permission denied", "Device or resource busy" (a chain still referenced),
/// "Protocol not supported" and the like are failures.
const IPTABLES_ABSENT: &[&str] = &[
    "Bad rule (does a matching rule exist",
    "No chain/target/match by that name",
    "does not exist",
    "Index of deletion too big",
];

const XTABLES_DIR: &str = "/usr/lib/x86_64-linux-gnu/xtables";

pub fn classify(program: &str, ok: bool, stderr: &str, xtables_dir: &Path) -> Outcome {
    if ok {
        return Outcome::Removed;
    }
    let patterns = if program == "tc" {
        TC_ABSENT
    } else {
        IPTABLES_ABSENT
    };
    if patterns.iter().any(|p| stderr.contains(p)) {
        return Outcome::Absent;
    }
    // Legacy iptables looks a `-j NAME` it does not know up as an extension
    // module: a user chain that is gone reads "Couldn't load target `NAME':No
    // such file or directory". The same words for a real extension whose
    // module is missing would mean a broken image, not an absent rule.
    if program != "tc"
        && let Some(rest) = stderr.split("Couldn't load target `").nth(1)
        && let Some((name, tail)) = rest.split_once('\'')
        && tail.starts_with(":No such file or directory")
    {
        let module = |prefix: &str| xtables_dir.join(format!("{prefix}{name}.so")).exists();
        if !module("libxt_") && !module("libipt_") {
            return Outcome::Absent;
        }
    }
    Outcome::Failed
}

/// `netfault undo`: every step, whatever the others did; exit 1 if any failed.
pub fn undo(text: &str) -> Result<i32> {
    let plan = parse_or_refuse(text)?;
    let devs = if plan.steps.iter().any(|s| uses_dev(s)) {
        devices()
    } else {
        Vec::new()
    };
    let mut any_failed = false;
    for step in &plan.steps {
        for argv in expand(step, &devs) {
            let ran = exec::run(&argv, STEP_LIMIT);
            let outcome = classify(&argv[0], ran.ok, &ran.stderr, Path::new(XTABLES_DIR));
            let stderr = exec::first_lines(&ran.stderr);
            if outcome == Outcome::Failed {
                any_failed = true;
                eprintln!("netfault: undo {} failed: {stderr}", argv.join(" "));
            }
            emit(&Undone {
                argv,
                outcome,
                stderr,
            });
        }
    }
    Ok(i32::from(any_failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_a_plan() {
        let plan = parse(
            r#"{"steps": [["tc","qdisc","add","dev","{dev}","root","handle","1:","htb"],
                          ["iptables","-w","-N","DEMO-SHAPE"]]}"#,
        )
        .unwrap();
        assert_eq!(plan.steps.len(), 2);
        assert_eq!(
            plan.steps[1],
            strings(&["iptables", "-w", "-N", "DEMO-SHAPE"])
        );
        assert_eq!(parse(r#"{"steps": []}"#).unwrap().steps.len(), 0);
    }

    #[test]
    fn refuses_hostile_plans() {
        let refused = |text: &str| parse(text).unwrap_err();
        assert!(refused(r#"{"steps": [["sh","-c","reboot"]]}"#).contains("only tc"));
        // One bad step refuses the whole plan, also after good ones.
        assert!(
            refused(r#"{"steps": [["tc","qdisc","show"],["/usr/sbin/tc","x"]]}"#)
                .contains("step 1")
        );
        assert!(refused(r#"{"steps": [[]]}"#).contains("empty"));
        assert!(refused(r#"{"steps": [["tc","a\u0000b"]]}"#).contains("NUL"));
        assert!(refused(r#"{"steps": [["tc"]], "more": 1}"#).contains("not valid"));
        assert!(refused(r#"{"steps": "tc"}"#).contains("not valid"));
        assert!(refused("not json").contains("not valid"));
        let long = "x".repeat(MAX_ARG_BYTES + 1);
        assert!(refused(&format!(r#"{{"steps": [["tc","{long}"]]}}"#)).contains("bytes"));
        let args = vec!["\"x\""; MAX_ARGS].join(",");
        assert!(refused(&format!(r#"{{"steps": [["tc",{args}]]}}"#)).contains("arguments"));
        let steps = vec![r#"["tc"]"#; MAX_STEPS + 1].join(",");
        assert!(refused(&format!(r#"{{"steps": [{steps}]}}"#)).contains("steps"));
        let huge = format!(r#"{{"steps": [["tc","{}"]]}}"#, "y".repeat(MAX_PLAN_BYTES));
        assert!(refused(&huge).contains("more than"));
        // At the limits exactly: accepted.
        let args = vec!["\"x\""; MAX_ARGS - 1].join(",");
        assert!(parse(&format!(r#"{{"steps": [["tc",{args}]]}}"#)).is_ok());
        let steps = vec![r#"["iptables-legacy","-S"]"#; MAX_STEPS].join(",");
        assert!(parse(&format!(r#"{{"steps": [{steps}]}}"#)).is_ok());
    }

    #[test]
    fn expands_dev_per_interface() {
        let devs = strings(&["eth0", "eth1"]);
        let step = strings(&["tc", "qdisc", "del", "dev", "{dev}", "root"]);
        assert_eq!(
            expand(&step, &devs),
            vec![
                strings(&["tc", "qdisc", "del", "dev", "eth0", "root"]),
                strings(&["tc", "qdisc", "del", "dev", "eth1", "root"]),
            ]
        );
        // Only an argument that is exactly {dev} is replaced.
        let step = strings(&[
            "iptables",
            "-w",
            "-A",
            "OUTPUT",
            "-m",
            "comment",
            "--comment",
            "x{dev}",
        ]);
        assert_eq!(expand(&step, &devs), vec![step.clone()]);
        // No interfaces: a {dev} step stands for nothing (run reports it as a failure).
        let step = strings(&["tc", "qdisc", "show", "dev", "{dev}"]);
        assert!(expand(&step, &[]).is_empty());
    }

    #[test]
    fn classifies_undo_outcomes() {
        let dir = std::env::temp_dir().join(format!("netfault-xt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("libxt_NFQUEUE.so"), b"").unwrap();
        let c = |program: &str, ok: bool, stderr: &str| classify(program, ok, stderr, &dir);
        assert_eq!(c("tc", true, ""), Outcome::Removed);
        for absent in [
            "Error: Cannot delete qdisc with handle of zero.",
            "Error: Invalid handle.",
            "Error: Cannot find specified qdisc on specified device.",
            "Error: Failed to find qdisc with specified classid.",
            "Error: Cannot find specified filter chain.\nWe have an error talking to the kernel",
            "Error: Parent Qdisc doesn't exists.\nWe have an error talking to the kernel",
            "Error: Specified class not found.",
            "RTNETLINK answers: No such file or directory",
            "Cannot find device \"eth0\"",
        ] {
            assert_eq!(c("tc", false, absent), Outcome::Absent, "{absent}");
        }
        for failed in [
            "Error: Specified qdisc kind is unknown.",
            "We have an error talking to the kernel",
            "RTNETLINK answers: Operation not permitted",
            "tbf: the \"rate\" parameter is mandatory.",
        ] {
            assert_eq!(c("tc", false, failed), Outcome::Failed, "{failed}");
        }
        for absent in [
            "iptables: Bad rule (does a matching rule exist in that chain?).",
            "iptables: No chain/target/match by that name.",
            "iptables v1.8.9 (nf_tables): Chain 'DEMO-SHAPE' does not exist",
            "iptables: Index of deletion too big.",
            "iptables v1.8.9 (legacy): Couldn't load target `DEMO-SHAPE':No such file or directory\n\nTry `iptables -h'",
        ] {
            assert_eq!(
                c("iptables-legacy", false, absent),
                Outcome::Absent,
                "{absent}"
            );
        }
        for failed in [
            "iptables v1.8.9 (nf_tables):  CHAIN_DEL failed (Device or resource busy): chain DEMO",
            "iptables v1.8.9 (legacy): can't initialize iptables table `filter': Permission denied (you must be root)",
            "iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)",
            "Another app is currently holding the xtables lock.",
            // A real extension whose module is missing: a broken image, not an absent rule.
            "iptables v1.8.9 (legacy): Couldn't load target `NFQUEUE':No such file or directory",
            "killed after 10s",
        ] {
            assert_eq!(c("iptables", false, failed), Outcome::Failed, "{failed}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
