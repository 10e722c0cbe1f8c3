use guest_sdk::prelude::*;
use std::io::Read;

/// Signals that would freeze etcd1 (or not end it) in spellings Docker
/// accepts; the host must refuse every one before it reaches Docker.
const FREEZING_SIGNALS: &[&str] = &[
    "SIGSTOP",
    "STOP",
    "sigstop",
    "19",
    "SIGTSTP",
    "tstp",
    "20",
    "SIGTTIN",
    "21",
    "SIGTTOU",
    "22",
    "SIGCONT",
    "SIGUSR1",
    "SIGRTMIN+3",
    "34",
    " SIGSTOP",
    "SIGSTOP\0",
    "SIG\u{1b}STOP",
    "",
];

/// The container of another compose project the flow goes after, by name
/// (docker-compose v1 names containers PROJECT_SERVICE_1).
const OTHER_PROJECT_CONTAINER: &str = "sbother_etcd1_1";
/// A listener the test opens; a connection to it would be a leak.
const TEST_LISTENER: &str = "127.0.0.1:24830";

#[derive(Default)]
struct Hostile;

fn spin() -> ! {
    let mut x: u64 = 0;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

/// The chapters, in order; tests/hostile.rs names them by these titles.
const CHAPTERS: &[(&str, Action<Hostile>)] = &[
    ("Open files", |_| Err(open_files().into())),
    ("Read env", |_| Err(read_env().into())),
    ("Open sockets", |_| Err(open_sockets().into())),
    ("Undeclared service", |_| {
        let kill = cluster::kill(&Target::service("etcd2"), "SIGKILL");
        let pause = cluster::pause(&Target::service("etcd1"));
        // Network faults it never declared: no `shape` action, no `network`
        // action and no peers, on the one service it holds a grant on.
        let spec = ShapeSpec::new().delay(std::time::Duration::from_millis(500));
        let shape = cluster::shape(&Target::service("etcd1"), &spec);
        let towards = cluster::shape(&Target::service("etcd1"), &spec.clone().towards(["etcd2"]));
        let isolate = cluster::isolate(&Target::service("etcd1"), &["etcd2", "etcd3"]);
        Err(format!(
            "undeclared: kill etcd2 → {}; pause etcd1 → {}; shape etcd1 → {}; shape etcd1 towards etcd2 → {}; isolate etcd1 → {}",
            outcome(kill),
            outcome(pause),
            outcome(shape),
            outcome(towards),
            outcome(isolate)
        )
        .into())
    }),
    ("Other project", |_| {
        let by_name = cluster::kill(&Target::id(OTHER_PROJECT_CONTAINER), "SIGKILL");
        Err(format!(
            "other project: kill {OTHER_PROJECT_CONTAINER} → {}",
            outcome(by_name)
        )
        .into())
    }),
    ("Giant narration", |_| {
        // 1.5 MiB: within one call's budget, shown cut to 64 KiB.
        narration::set(Markup::raw("x".repeat(3 << 19)));
        // 10 MiB: over it, refused before it is copied.
        narration::set(Markup::raw("y".repeat(10 << 20)));
        Ok(())
    }),
    ("Memory bomb", |_| {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            // Written to, so the pages are really used.
            hoard.push(vec![0xAB; 1 << 20]);
            std::hint::black_box(&hoard);
        }
    }),
    ("Panic", |_| panic!("hostile flow panicked on purpose")),
    ("Spin", |_| spin()),
    ("Stop signals", |_| {
        let outcomes: Vec<String> = FREEZING_SIGNALS
            .iter()
            .map(|signal| {
                // Compact, so that every verdict fits the host's
                // limit on a chapter's error.
                let verdict = match cluster::kill(&Target::service("etcd1"), signal) {
                    Err(ClusterError::Failed(why)) if why.contains("use pause") => {
                        "refused, use pause".to_string()
                    }
                    other => outcome(other),
                };
                format!("{signal:?} → {verdict}")
            })
            .collect();
        Err(format!("signals: {}", outcomes.join("; ")).into())
    }),
    ("Still here", |_| {
        narration::set("still here after every attack");
        Ok(())
    }),
];

impl Flow for Hostile {
    fn describe(&self) -> FlowInfo<Self> {
        if cfg!(feature = "describe-loop") {
            spin();
        }
        let mut info = FlowInfo::new("hostile", "0.1.0")
            .description("Misbehaves on purpose, one way per chapter")
            .grant_faults("etcd1", &[FaultAction::Kill]);
        if cfg!(feature = "cmd-workload") {
            // Would run a command on the presenter's machine.
            info = info.default_workload("cmd:touch /tmp/hostile-cmd-workload-ran");
        }
        crate::one_chapter_each(info, "Trying", CHAPTERS)
    }
}

fn outcome(result: Result<Node, ClusterError>) -> String {
    match result {
        Ok(node) => format!("LEAKED: acted on {}", node.container),
        Err(e) => e.message(),
    }
}

fn open_files() -> String {
    let mut report = Vec::new();
    for path in ["/etc/passwd", "/proc/self/environ", "."] {
        report.push(match std::fs::File::open(path) {
            Ok(mut f) => {
                let mut text = String::new();
                let _ = f.read_to_string(&mut text);
                format!("{path} LEAKED ({} bytes)", text.len())
            }
            Err(e) => format!("{path}: {e}"),
        });
    }
    report.push(match std::fs::write("planted.txt", "x") {
        Ok(()) => "write LEAKED".into(),
        Err(e) => format!("write: {e}"),
    });
    format!("files: {}", report.join("; "))
}

fn read_env() -> String {
    let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    let args = std::env::args().count();
    let cwd = std::env::current_dir();
    // The working directory is reported, not judged: with no preopens there
    // is nothing under it to reach.
    let leaked = !vars.is_empty() || args > 0;
    format!(
        "env: {} variables, {args} arguments, cwd {}{}",
        vars.len(),
        match cwd {
            Ok(dir) => format!("{}", dir.display()),
            Err(e) => format!("unavailable ({e})"),
        },
        if leaked { " LEAKED" } else { "" }
    )
}

fn open_sockets() -> String {
    use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
    let tcp = match TcpStream::connect(TEST_LISTENER) {
        Ok(_) => "LEAKED".to_string(),
        Err(e) => e.to_string(),
    };
    let udp = match UdpSocket::bind("127.0.0.1:0") {
        Ok(_) => "LEAKED".to_string(),
        Err(e) => e.to_string(),
    };
    let dns = match ("localhost", 80).to_socket_addrs() {
        Ok(mut addrs) => match addrs.next() {
            Some(addr) => format!("LEAKED {addr}"),
            None => "no addresses".to_string(),
        },
        Err(e) => e.to_string(),
    };
    format!("sockets: tcp {TEST_LISTENER}: {tcp}; udp bind: {udp}; dns localhost: {dns}")
}

export_flow!(Hostile);
