//! The TiKV compose file can only run with a registry, so here it is validated
//! the way Compose itself reads it (`docker-compose config`, no pulls), and the
//! shipped flows are checked against the compose files they drive: every
//! service a flow may fault, probe or read the workload from exists there.

use e2e::{compose_command, flow_wasm, host_bin, run, workspace_root};
use std::path::Path;
use std::process::Command;

/// `docker-compose` v1 here; the v2 plugin where only it is installed.
fn compose(file: &Path, args: &[&str]) -> String {
    let output = run(compose_command().arg("-f").arg(file).args(args)).unwrap();
    assert!(
        output.status.success(),
        "compose {args:?} rejected {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// One service's block of the normalised `config` output (two-space indented
/// under `services:`), as text.
fn service_block(config: &str, service: &str) -> String {
    let header = format!("  {service}:");
    let mut block = String::new();
    let mut inside = false;
    for line in config.lines() {
        if inside {
            let indent = line.len() - line.trim_start().len();
            if indent <= 2 && !line.trim().is_empty() {
                break;
            }
            block.push_str(line);
            block.push('\n');
        } else if line == header {
            inside = true;
        }
    }
    assert!(inside, "no service {service} in\n{config}");
    block
}

struct Inspected {
    fault_globs: Vec<String>,
    probes: Vec<String>,
    workload: Option<String>,
}

fn inspect(flow: &str) -> Inspected {
    let output = run(Command::new(host_bin()).arg("inspect").arg(flow_wasm(flow))).unwrap();
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut inspected = Inspected {
        fault_globs: Vec::new(),
        probes: Vec::new(),
        workload: None,
    };
    // Each capability line ends with its grant status, "  [item: granted]".
    let without_status = |line: &str| -> String {
        match line.rsplit_once("  [") {
            Some((item, _)) => item.to_string(),
            None => line.to_string(),
        }
    };
    for line in out.lines().map(str::trim).map(without_status) {
        let line = line.as_str();
        if let Some(rest) = line.strip_prefix("fault ")
            && let Some((_, glob)) = rest.split_once(" on services '")
        {
            inspected
                .fault_globs
                .push(glob.trim_end_matches('\'').to_string());
        } else if let Some(url) = line.strip_prefix("http probe ") {
            inspected.probes.push(url.to_string());
        } else if let Some(source) = line.strip_prefix("workload:") {
            inspected.workload = Some(source.trim().trim_end_matches(" (default)").to_string());
        }
    }
    inspected
}

/// The flow's grants, probes and workload name services of `file`, and its
/// fault globs never cover the services listed in `protected`.
fn assert_flow_matches(flow: &str, file: &Path, protected: &[&str]) {
    let config = compose(file, &["config"]);
    let services = lines(&compose(file, &["config", "--services"]));
    let flow_info = inspect(flow);

    assert!(
        !flow_info.fault_globs.is_empty(),
        "{flow} declares no faults"
    );
    for glob in &flow_info.fault_globs {
        let pattern = glob::Pattern::new(glob).unwrap();
        let hits: Vec<&String> = services.iter().filter(|s| pattern.matches(s)).collect();
        assert!(
            !hits.is_empty(),
            "{flow}: '{glob}' matches no service of {services:?}"
        );
        for safe in protected {
            assert!(
                !pattern.matches(safe),
                "{flow}: '{glob}' would let it kill {safe}"
            );
        }
    }
    if let Some(source) = &flow_info.workload {
        let service = source
            .strip_prefix("service:")
            .unwrap_or_else(|| panic!("{flow}'s default workload {source} is not a service"));
        assert!(
            services.iter().any(|s| s == service),
            "{flow}: no workload service {service}"
        );
    }
    for url in &flow_info.probes {
        // http://SERVICE:PORT/… : the host maps it to the published port.
        let authority = url
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("{flow}: probe {url} is not http://SERVICE:PORT/"));
        let (service, port) = authority.split_once(':').unwrap();
        assert!(
            services.iter().any(|s| s == service),
            "{flow}: probe of unknown service {service}"
        );
        let block = service_block(&config, service);
        assert!(
            block.contains(&format!(":{port}/tcp")),
            "{flow}: {service} does not publish port {port}:\n{block}"
        );
    }
}

#[test]
fn the_tikv_compose_file_is_valid_pinned_healthchecked_and_loopback_only() {
    let file = workspace_root().join("docker-compose.yaml");
    let config = compose(&file, &["config"]);
    let services = lines(&compose(&file, &["config", "--services"]));
    let mut sorted = services.clone();
    sorted.sort();
    assert_eq!(sorted, ["go-ycsb", "pd0", "tikv0", "tikv1", "tikv2"]);
    let volumes = lines(&compose(&file, &["config", "--volumes"]));
    assert_eq!(volumes.len(), 4, "{volumes:?}");

    for (service, image) in [
        ("pd0", "pingcap/pd:v"),
        ("tikv0", "pingcap/tikv:v"),
        ("tikv1", "pingcap/tikv:v"),
        ("tikv2", "pingcap/tikv:v"),
    ] {
        let block = service_block(&config, service);
        assert!(
            block.contains(&format!("image: {image}")),
            "{service} is not pinned:\n{block}"
        );
        assert!(
            block.contains("healthcheck:"),
            "{service} has no health check"
        );
        let volume = format!("- {service}-data:/data");
        assert!(
            block.contains(&volume),
            "{service} has no named volume:\n{block}"
        );
        for port in block.lines().filter(|l| l.trim().ends_with("/tcp")) {
            assert!(
                port.contains("127.0.0.1:"),
                "{service} publishes beyond loopback: {port}"
            );
        }
    }

    // go-ycsb loads, then runs with one report a second, once TiKV is healthy.
    let ycsb = service_block(&config, "go-ycsb");
    let flat = ycsb.split_whitespace().collect::<Vec<_>>().join(" ");
    let load = flat.find("go-ycsb load tikv").expect("go-ycsb loads");
    let run_at = flat.find("go-ycsb run tikv").expect("go-ycsb runs");
    assert!(load < run_at, "{flat}");
    assert!(flat.contains("--interval 1"), "{flat}");
    for tikv in ["tikv0", "tikv1", "tikv2"] {
        assert!(
            flat.contains(&format!("{tikv}: condition: service_healthy")),
            "go-ycsb does not wait for {tikv}: {flat}"
        );
    }
}

#[test]
fn the_tikv_flow_names_services_of_the_tikv_compose_file() {
    assert_flow_matches(
        "tikv",
        &workspace_root().join("docker-compose.yaml"),
        &["pd0", "go-ycsb"],
    );
}

#[test]
fn the_etcd_flow_names_services_of_the_etcd_compose_file() {
    assert_flow_matches(
        "etcd",
        &workspace_root().join("clusters/etcd/docker-compose.yaml"),
        &[],
    );
}
