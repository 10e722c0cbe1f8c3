//! A journal of `host report --format chaostoolkit` read by Chaos Toolkit's
//! own code (scripts/setup.sh installs chaostoolkit-lib and
//! chaostoolkit-reporting, pinned): what `chaos report` does with a journal
//! file short of pandoc's conversion (chaosreport's
//! `generate_report_header` loads it from its path, `generate_report`
//! renders it), chaoslib's `ensure_experiment_is_valid` on its experiment,
//! its keys against chaoslib's `initialize_run_journal` (plus the `end` and
//! `duration` a run adds), and each steady-state probe's `tolerance_met`
//! against chaoslib's `within_tolerance`.

use crate::host_bin;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const SCRIPT: &str = r#"
import json, sys, logging
logging.disable(logging.CRITICAL)
import chaoslib, chaosreport
from chaoslib.configuration import load_configuration
from chaoslib.experiment import ensure_experiment_is_valid
from chaoslib.hypothesis import within_tolerance
from chaoslib.run import initialize_run_journal
from chaoslib.secret import load_secrets

path = sys.argv[1]
# What `chaos report JOURNAL` does first: the header loads each journal file.
header = chaosreport.generate_report_header([path], "markdown")
with open(path) as fp:
    journal = json.load(fp)
experiment = journal["experiment"]
ensure_experiment_is_valid(experiment)
written = set(initialize_run_journal(experiment)) | {"end", "duration"}
# Before generate_report, which adds keys of its own to the journal.
missing, extra = sorted(written - set(journal)), sorted(set(journal) - written)
states = journal["steady_states"]
disagree = []
probes = 0
for state in [states["before"], states["after"], *states["during"]]:
    for run in (state or {}).get("probes", []):
        probes += 1
        theirs = within_tolerance(run["activity"]["tolerance"], run["output"])
        if theirs != run["tolerance_met"]:
            disagree.append([run["activity"]["name"], run["tolerance_met"], theirs])
status, deviated = journal["status"], journal["deviated"]
config = load_configuration(experiment.get("configuration", {}))
secrets = load_secrets(experiment.get("secrets", {}), config)
report = chaosreport.generate_report(journal, "markdown", config, secrets)
print(json.dumps({
    "chaoslib": chaoslib.__version__,
    "chaosreport": chaosreport.__version__,
    "missing_keys": missing,
    "extra_keys": extra,
    "probes_checked": probes,
    "tolerance_disagreements": disagree,
    "status": status,
    "deviated": deviated,
    "header": header,
    "report": report,
}))
"#;

/// What Chaos Toolkit's code made of a journal.
#[derive(Debug)]
pub struct Read {
    /// The versions of chaostoolkit-lib and chaostoolkit-reporting.
    pub chaoslib: String,
    pub chaosreport: String,
    /// The script's summary (keys, tolerances, the rendered report).
    pub summary: Value,
}

/// Reads the journal at `path` with Chaos Toolkit's code; panics with what
/// it said if it refuses it (or is not installed: run scripts/setup.sh).
/// `host`, the process every activity names, is found on the PATH as
/// chaoslib's validation requires.
pub fn read_journal(path: &Path) -> Read {
    let host = host_bin();
    let bin_dir = host.parent().expect("the host binary's directory");
    let path_var = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("a PATH");
    let out = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(path)
        .env("PATH", path_var)
        .output()
        .expect("running python3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "Chaos Toolkit's code refused the journal {} (not installed? scripts/setup.sh installs it):\n{stderr}",
        path.display()
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the check printed no summary ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    Read {
        chaoslib: summary["chaoslib"].as_str().unwrap_or_default().into(),
        chaosreport: summary["chaosreport"].as_str().unwrap_or_default().into(),
        summary,
    }
}

/// Checks what every journal must pass: the pinned versions read it, its
/// keys are chaoslib's, every probe's tolerance result is chaoslib's, and
/// the status is one chaoslib allows.
pub fn assert_accepted(read: &Read) {
    assert_eq!(
        (read.chaoslib.as_str(), read.chaosreport.as_str()),
        ("1.44.0", "0.18.0"),
        "scripts/setup.sh pins these"
    );
    let s = &read.summary;
    assert_eq!(s["missing_keys"], serde_json::json!([]), "{s}");
    assert_eq!(s["extra_keys"], serde_json::json!([]), "{s}");
    assert_eq!(s["tolerance_disagreements"], serde_json::json!([]), "{s}");
    let status = s["status"].as_str().unwrap_or_default();
    assert!(
        ["completed", "failed", "aborted", "interrupted"].contains(&status),
        "{status}"
    );
}
