//! The hostile packs of issue 13, run by the real host: flow text with
//! escape sequences, floods, chapters that never return, probe URLs that try
//! to leave their grant, and a default workload that would run a command.
//! Each case ends with the host alive or exited cleanly within a bound, a
//! clear one-line message, every etcd member running and none frozen, and
//! memory and log within their caps. Figures are printed (`--nocapture`).
//!
//! Docker names and ports: project `sbbounds` on host ports 24843-24845;
//! loopback test servers on 24840 (never answers), 24841 (the granted probe
//! server) and 24842 (must never be reached).

use e2e::show::{assert_one_line, inspect, t_ms, text};
use e2e::{
    BLOCKING_CHAPTERS, ComposeProject, EtcdPorts, assert_whole, chapter_error, etcd_cluster_up,
    host_bin, hostile_wasm, read_stderr, read_transcript, run, temp_dir,
};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PORTS: EtcdPorts = ["24843", "24844", "24845"];
/// Peak host RSS any flood may cause (the host alone is ~25 MB, a flow's
/// linear memory is capped at 64 MiB, compiling it costs a few tens of MB).
const MAX_RSS_KB: u64 = 300 * 1024;
/// host.log and its one rotated predecessor together (logfile's cap × 2,
/// plus one line of slack).
const MAX_LOG_BYTES: u64 = 2 * 8 * 1024 * 1024 + 64 * 1024;
/// From the presenter's Q to the process having exited, restores included.
const QUIT_TO_EXIT_LIMIT: Duration = Duration::from_secs(4);

/// Control characters a terminal acts on: C0 but newline, DEL, C1, and the
/// bidi overrides and isolates.
fn terminal_controls(text: &str) -> Vec<(usize, char)> {
    text.char_indices()
        .filter(|(_, c)| {
            (c.is_control() && *c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

fn assert_clean(what: &str, text: &str) {
    let controls = terminal_controls(text);
    assert!(
        controls.is_empty(),
        "{what} has control characters {:?}:\n{}",
        &controls[..controls.len().min(10)],
        &text[..text.len().min(2000)]
    );
    for junk in ["PWNED", "]2;", "[31", "52;c", "UFdORUQ"] {
        assert!(!text.contains(junk), "{what} shows {junk:?}:\n{text}");
    }
}

fn host(args: &[&str], state: &Path) -> Command {
    let mut cmd = Command::new(host_bin());
    cmd.args(args)
        .arg("--state-dir")
        .arg(state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// A headless run of `wasm` on `project`, granted what it asks (`--yes`).
fn headless(wasm: &str, project: &str, extra: &[&str], state: &Path) -> Command {
    let mut args = vec!["--flow", wasm, "--headless", "--yes", "--project", project];
    args.extend_from_slice(extra);
    host(&args, state)
}

fn wait_bounded(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let until = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("the host did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn flow_text_reaches_no_terminal_or_file_with_its_escape_sequences() {
    let dir = temp_dir("sb-escapes");
    let wasm = hostile_wasm("escapes");
    let wasm = wasm.to_str().unwrap();

    let inspect = inspect(Path::new(wasm), &dir);
    let stdout = text(&inspect.stdout);
    eprintln!("{stdout}");
    assert!(inspect.status.success(), "{}", text(&inspect.stderr));
    assert_clean("inspect's output", &stdout);
    assert_clean("inspect's stderr", &text(&inspect.stderr));
    assert!(stdout.contains("evil"), "{stdout}");
    assert!(stdout.contains("descriptiondescription"), "{stdout}");

    // The show itself, headless: the transcript, stderr and the log.
    let transcript = dir.join("run.jsonl");
    let log = dir.join("host.log");
    let output = run(&mut headless(
        wasm,
        "sb-never-created",
        &[
            "--transcript",
            transcript.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
        ],
        &dir,
    ))
    .unwrap();
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_clean("stderr", &stderr);
    let raw = std::fs::read_to_string(&transcript).unwrap();
    // JSON escapes remain escapes: no raw control character in the file.
    assert!(
        terminal_controls(&raw).is_empty(),
        "raw controls in the transcript"
    );
    let events = read_transcript(&transcript).unwrap();
    for event in &events {
        assert_clean("a transcript value", &event.to_string());
    }
    let error = events
        .iter()
        .find(|e| e["event"] == "error")
        .and_then(|e| e["message"].as_str())
        .expect("the chapter's error was recorded");
    assert!(error.starts_with("errorerror"), "{error}");
    let badge = events.iter().find_map(|e| e["badge"].as_str()).unwrap();
    assert!(badge.starts_with("badgebadge"), "{badge}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_clean("host.log", &logged);
    for word in ["loggedlogged", "stdoutstdout", "stderrstderr"] {
        assert!(
            logged.contains(word),
            "{word} missing from the log:\n{logged}"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}

/// Samples the host's resident memory while it runs.
struct RssSampler {
    samples: Arc<Mutex<Vec<(Duration, u64)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start(pid: u32, started: Instant) -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, halt) = (samples.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !halt.load(Ordering::Relaxed) {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status"));
                let Ok(status) = status else { return };
                let kb = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok());
                if let Some(kb) = kb {
                    s.lock().unwrap().push((started.elapsed(), kb));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        RssSampler {
            samples,
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> Vec<(Duration, u64)> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        std::mem::take(&mut *self.samples.lock().unwrap())
    }
}

#[test]
fn floods_stay_within_memory_log_and_event_bounds() {
    let cluster = etcd_cluster_up("sbbounds", PORTS);
    let dir = temp_dir("sb-floods");
    let transcript = dir.join("run.jsonl");
    let log = dir.join("host.log");
    let wasm = hostile_wasm("floods");
    let started = Instant::now();
    let mut child = headless(
        wasm.to_str().unwrap(),
        &cluster.name,
        &[
            "--transcript",
            transcript.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
        ],
        &dir,
    )
    .spawn()
    .unwrap();
    let sampler = RssSampler::start(child.id(), started);
    let status = wait_bounded(&mut child, Duration::from_secs(240));
    let samples = sampler.finish();
    let stderr = read_stderr(&mut child);
    assert!(status.success(), "{stderr}");

    let t = read_transcript(&transcript).unwrap();
    let starts: Vec<(u64, String)> = t
        .iter()
        .filter(|e| e["event"] == "chapter")
        .map(|e| {
            (
                e["t_ms"].as_u64().unwrap(),
                e["title"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let peak = samples.iter().map(|(_, kb)| *kb).max().unwrap_or(0);
    for (i, (from, title)) in starts.iter().enumerate() {
        let to = starts.get(i + 1).map_or(u64::MAX, |(t, _)| *t);
        let during = samples
            .iter()
            .filter(|(at, _)| (*from..to).contains(&(at.as_millis() as u64)));
        let max = during.clone().map(|(_, kb)| *kb).max().unwrap_or(0);
        let last = during.clone().next_back().map_or(0, |(_, kb)| *kb);
        let took = to.saturating_sub(*from).min(999_999);
        eprintln!(
            "FIGURE flood {title:?}: {took} ms, host RSS peak {} MB, at its end {} MB; outcome: {}",
            max / 1024,
            last / 1024,
            chapter_error(&t, title).map_or("ok".to_string(), |m| m.chars().take(160).collect())
        );
    }
    let log_bytes: u64 = [log.clone(), dir.join("host.log.1")]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let transcript_bytes = std::fs::metadata(&transcript).unwrap().len();
    eprintln!(
        "FIGURE floods: peak RSS {} MB, host.log (+.1) {} KB, transcript {} KB, {} events",
        peak / 1024,
        log_bytes / 1024,
        transcript_bytes / 1024,
        t.len()
    );
    assert!(peak < MAX_RSS_KB, "peak RSS {peak} kB");
    assert!(log_bytes < MAX_LOG_BYTES, "log {log_bytes} bytes");
    assert!(
        transcript_bytes < 32 << 20,
        "transcript {transcript_bytes} bytes"
    );

    // Loops that never wait are stopped like a spin, with a message that says so.
    for title in ["Cheap calls", "Zero sleeps", "Zero countdowns"] {
        let message = chapter_error(&t, title).unwrap_or_else(|| panic!("{title} ended"));
        assert!(
            message.contains("kept calling the host for more than 2s without waiting"),
            "{title}: {message}"
        );
    }
    let huge = chapter_error(&t, "Huge error").unwrap();
    assert!(huge.len() <= 2048 + 4, "{} bytes", huge.len());
    // A flood that paces itself runs to its end, and its last word reaches
    // the audience although most of what it wrote was coalesced away.
    let narrated: Vec<&str> = t
        .iter()
        .filter(|e| e["event"] == "narration")
        .filter_map(|e| e["text"].as_str())
        .collect();
    for last in ["paced append flood done", "still here after every flood"] {
        assert!(
            narrated.iter().any(|n| n.ends_with(last)),
            "{last:?} was never shown"
        );
    }
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("suppressed"),
        "no suppressed-lines note in the log"
    );
    assert!(
        t.last().unwrap()["reason"] == "completed",
        "{}",
        t.last().unwrap()
    );
    assert_whole(&cluster);
    std::fs::remove_dir_all(dir).ok();
}

/// Accepts connections and never answers, until dropped.
struct HangingServer {
    stop: Arc<AtomicBool>,
}

impl HangingServer {
    fn start(addr: &str) -> Self {
        let listener = TcpListener::bind(addr).unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let halt = stop.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while !halt.load(Ordering::Relaxed) {
                if let Ok((stream, _)) = listener.accept() {
                    held.push(stream);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        HangingServer { stop }
    }
}

impl Drop for HangingServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Runs chapter `index` of the blocking pack, quits 1.5 s into it, and
/// returns the time from the quit to the process having exited.
fn quit_during(cluster: &ComposeProject, index: usize, title: &str) -> Duration {
    let dir = temp_dir(&format!("sb-blocking-{index}"));
    let transcript = dir.join("run.jsonl");
    let wasm = hostile_wasm("blocking");
    // Skips through the earlier chapters before they arm (50 ms < 300 ms).
    let keys = format!("space{} 1500ms q", " 50ms space".repeat(index - 1));
    let mut child = headless(
        wasm.to_str().unwrap(),
        &cluster.name,
        &[
            "--transcript",
            transcript.to_str().unwrap(),
            "--keys",
            &keys,
        ],
        &dir,
    )
    .spawn()
    .unwrap();
    // The transcript says when the quit was taken; the process's end is ours to see.
    let mut quit_seen = None;
    let limit = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if quit_seen.is_none()
            && std::fs::read_to_string(&transcript).is_ok_and(|t| t.contains("\"event\":\"quit\""))
        {
            quit_seen = Some(Instant::now());
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < limit, "{title}: the host never exited");
        std::thread::sleep(Duration::from_millis(5));
    };
    let exited = Instant::now();
    let stderr = read_stderr(&mut child);
    assert!(status.success(), "{title}: {stderr}");
    let t = read_transcript(&transcript).unwrap();
    let entered = t
        .iter()
        .any(|e| e["event"] == "chapter" && e["title"] == title);
    assert!(entered, "{title} never started");
    let done = t.last().unwrap();
    assert_eq!(done["event"], "done", "{done}");
    assert_eq!(done["outstanding_faults"], 0, "{done}");
    let quit_to_exit = exited - quit_seen.unwrap_or(exited);
    eprintln!(
        "FIGURE headless Q -> exit, {title:?}: {} ms",
        quit_to_exit.as_millis()
    );
    std::fs::remove_dir_all(dir).ok();
    quit_to_exit
}

#[test]
fn quitting_never_waits_on_a_chapter_that_does_not_return() {
    let cluster = etcd_cluster_up("sbbounds", PORTS);
    let _hanging = HangingServer::start("127.0.0.1:24840");
    for (index, title) in BLOCKING_CHAPTERS {
        let took = quit_during(&cluster, index, title);
        assert!(
            took < QUIT_TO_EXIT_LIMIT,
            "{title}: {took:?} from Q to exit"
        );
        assert_whole(&cluster);
    }
}

/// The granted probe server: answers 200 everywhere but `/allowed/redirect`,
/// which redirects to the other server; records every request line.
fn probe_server(addr: &str, requests: Arc<Mutex<Vec<String>>>, stop: Arc<AtomicBool>) {
    let listener = TcpListener::bind(addr).unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let Ok((stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            stream.set_nonblocking(false).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(2)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            requests.lock().unwrap().push(line.trim().to_string());
            // The rest of the head.
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let response = if line.contains(" /allowed/redirect ") {
                "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:24842/stolen\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            } else {
                "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
            };
            let mut stream: TcpStream = stream;
            let _ = stream.write_all(response.as_bytes());
        }
    });
}

#[test]
fn probes_reach_only_the_granted_origin_and_path() {
    let dir = temp_dir("sb-probes");
    let requests = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    probe_server("127.0.0.1:24841", requests.clone(), stop.clone());
    let forbidden = TcpListener::bind("127.0.0.1:24842").unwrap();
    forbidden.set_nonblocking(true).unwrap();
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    let halt = stop.clone();
    std::thread::spawn(move || {
        while !halt.load(Ordering::Relaxed) {
            if forbidden.accept().is_ok() {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });

    let wasm = hostile_wasm("probes");
    let wasm = wasm.to_str().unwrap();
    let shown = text(&inspect(Path::new(wasm), &dir).stdout);
    eprintln!("{shown}");
    assert!(
        shown.contains("http probe http://127.0.0.1:24841/allowed"),
        "{shown}"
    );
    assert!(
        !shown.contains("user@"),
        "userinfo shown as a grant: {shown}"
    );

    let transcript = dir.join("run.jsonl");
    let output = run(&mut headless(
        wasm,
        "sb-never-created",
        &["--transcript", transcript.to_str().unwrap()],
        &dir,
    ))
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let t = read_transcript(&transcript).unwrap();
    let lines: Vec<String> = t
        .iter()
        .filter(|e| e["event"] == "narration" && e["mode"] == "append")
        .filter_map(|e| e["text"].as_str())
        .flat_map(|s| s.lines().map(str::to_string).collect::<Vec<_>>())
        .collect();
    for line in &lines {
        eprintln!("{line}");
    }
    assert_eq!(
        reached.load(Ordering::Relaxed),
        0,
        "the forbidden server was reached"
    );
    let seen = requests.lock().unwrap().clone();
    eprintln!("granted server saw: {seen:#?}");
    for request in &seen {
        let path = request.split_whitespace().nth(1).unwrap_or("");
        let inside =
            path == "/allowed" || path.starts_with("/allowed/") || path.starts_with("/allowed?");
        assert!(inside, "a request outside the grant: {request}");
        let lower = path.to_ascii_lowercase();
        for bad in [
            "..",
            "%2e",
            "%2f",
            "%5c",
            "\\",
            "%c0",
            "%u",
            "%00",
            "%09",
            "%0d",
            "%7f",
            "%c2%85",
            "%ef%bc",
            "%e2%80%a4",
            "%e2%88%95",
            "%e2%81%84",
            "%c2%a5",
            "%e3%80%82",
            "%25",
            "//",
        ] {
            assert!(
                !lower.contains(bad),
                "a traversal reached the server: {request}"
            );
        }
    }
    let trick = |i: usize| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("trick {i} =>")))
            .unwrap_or_else(|| panic!("trick {i} not reported"))
    };
    // The redirect comes back to the flow, unfollowed.
    let redirect = trick(25);
    assert!(redirect.ends_with("status 302"), "{redirect}");
    for i in 0..25 {
        let outcome = trick(i);
        assert!(
            outcome.contains("not permitted") || outcome.ends_with("status 200"),
            "{outcome}"
        );
    }
    // Refused by the parser, before the grant check, saying which segment
    // and why (a grant refusal names only the URL).
    for i in 0..34 {
        let outcome = lines
            .iter()
            .find(|l| l.starts_with(&format!("ambiguous {i} =>")))
            .unwrap_or_else(|| panic!("ambiguous {i} not reported"));
        assert!(
            outcome.contains("=> probe not permitted: ") && outcome.contains("; write "),
            "{outcome}"
        );
    }
    for i in 0..5 {
        let fine = lines
            .iter()
            .find(|l| l.starts_with(&format!("fine {i} =>")))
            .unwrap();
        assert!(fine.ends_with("status 200"), "{fine}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_flow_cannot_name_a_command_as_its_workload() {
    let dir = temp_dir("sb-cmd-workload");
    let planted = Path::new("/tmp/hostile-cmd-workload-ran");
    let _ = std::fs::remove_file(planted);
    let wasm = hostile_wasm("cmd-workload");
    let output = run(&mut headless(
        wasm.to_str().unwrap(),
        "sb-never-created",
        &[],
        &dir,
    ))
    .unwrap();
    let stderr = text(&output.stderr);
    eprintln!("cmd workload: {stderr}");
    assert!(!output.status.success());
    assert_one_line(&stderr);
    assert!(
        stderr.contains("a flow may only name service:NAME"),
        "{stderr}"
    );
    assert!(!planted.exists(), "the flow's command ran");
    std::fs::remove_dir_all(dir).ok();
}

/// The most of `samples` (kB) within `from..to` ms, and the last one.
fn rss_within(samples: &[(Duration, u64)], from: u64, to: u64) -> (u64, u64) {
    let during: Vec<u64> = samples
        .iter()
        .filter(|(at, _)| (from..to).contains(&(at.as_millis() as u64)))
        .map(|(_, kb)| *kb)
        .collect();
    (
        during.iter().copied().max().unwrap_or(0),
        during.last().copied().unwrap_or(0),
    )
}

/// Issue 23, classes 2 and 3: what a call can make the host copy is bounded
/// per call (refused before it is copied) and per second (paced, and the pace
/// is busy time), every call counts on the busy clock, and a chapter that
/// ignores the presenter moving on is stopped within the skip grace.
#[test]
fn lifting_is_bounded_and_a_skipped_chapter_stops_within_the_grace() {
    let cluster = etcd_cluster_up("sbbounds", PORTS);
    let dir = temp_dir("sb-lifting");
    let transcript = dir.join("run.jsonl");
    let wasm = hostile_wasm("lifting");
    // Six chapters run to their end; the seventh and eighth are skipped
    // 1.5 s in; the ninth shows the host is still there.
    let keys = "space space space space space space 1500ms space 1500ms space q";
    let started = Instant::now();
    let mut child = headless(
        wasm.to_str().unwrap(),
        &cluster.name,
        &["--transcript", transcript.to_str().unwrap(), "--keys", keys],
        &dir,
    )
    .spawn()
    .unwrap();
    let sampler = RssSampler::start(child.id(), started);
    let status = wait_bounded(&mut child, Duration::from_secs(120));
    let samples = sampler.finish();
    let stderr = read_stderr(&mut child);
    assert!(status.success(), "{stderr}");
    let t = read_transcript(&transcript).unwrap();

    for title in ["Aliased peers", "Aliased towards"] {
        let message = chapter_error(&t, title).unwrap_or_else(|| panic!("{title} ended"));
        assert!(
            message.contains("handed the host more than 2 MiB in one call"),
            "{title}: {message}"
        );
    }
    let tiny = chapter_error(&t, "Many tiny peers").unwrap();
    assert!(
        tiny.contains("from-services names 80000 services; at most 16"),
        "{tiny}"
    );
    for title in ["Lifting flood", "Probe flood", "Log flood"] {
        let message = chapter_error(&t, title).unwrap_or_else(|| panic!("{title} ended"));
        assert!(
            message.contains("kept calling the host for more than 2s without waiting"),
            "{title}: {message}"
        );
    }
    let ignored = chapter_error(&t, "Ignores skip").unwrap();
    assert!(
        ignored.contains("after the presenter moved on"),
        "{ignored}"
    );
    let slept = chapter_error(&t, "Ignores skip in WASI").unwrap();
    assert!(
        slept.contains("after the presenter moved on; abandoned"),
        "{slept}"
    );

    // From SPACE (the next chapter is shown at once) to its action running.
    let chapter_at = |title: &str| {
        t_ms(&t, title, |e| {
            e["event"] == "chapter" && e["title"] == title
        })
    };
    let narrated_at = |text: &str| {
        t_ms(&t, text, |e| {
            e["event"] == "narration" && e["text"].as_str().is_some_and(|s| s.ends_with(text))
        })
    };
    let first_skip = narrated_at("skip-2 started") - chapter_at("Ignores skip in WASI");
    let second_skip = narrated_at("still here after lifting") - chapter_at("Still here");
    eprintln!(
        "FIGURE SPACE -> next chapter running: {first_skip} ms past a flow that keeps calling, {second_skip} ms past one asleep in WASI"
    );
    assert!(first_skip < 2_000, "{first_skip} ms");
    assert!(second_skip < 2_000, "{second_skip} ms");

    // Memory: peak during the lifting chapters, and what is held once the
    // flow is idle again.
    let floods_from = chapter_at("Aliased peers");
    let floods_to = chapter_at("Ignores skip");
    let (peak, _) = rss_within(&samples, floods_from, floods_to);
    let end = samples.last().map_or(0, |(at, _)| at.as_millis() as u64);
    let (_, idle) = rss_within(&samples, chapter_at("Still here"), end + 1);
    eprintln!(
        "FIGURE lifting: host RSS peak {} MB during the lifting chapters, {} MB once idle",
        peak / 1024,
        idle / 1024
    );
    assert!(peak < MAX_RSS_KB, "peak RSS {peak} kB");
    assert!(idle < 160 * 1024, "RSS once idle {idle} kB");
    assert_eq!(t.last().unwrap()["outstanding_faults"], 0);
    assert_whole(&cluster);
    std::fs::remove_dir_all(dir).ok();
}

/// Issue 23, class 4: a `describe()` that returns aliased megabytes is
/// refused before the consent screen, and describing it costs no more than
/// the flow's memory in use plus the fixed margin (`lift::DESCRIBE_BYTES`,
/// 24 MiB) and the host's own (under 64 MiB).
#[test]
fn describe_stays_within_the_stated_memory_plus_a_fixed_margin() {
    let dir = temp_dir("sb-describe-bomb");
    let wasm = hostile_wasm("describe-bomb");
    let started = Instant::now();
    let mut child = host(&["inspect", wasm.to_str().unwrap()], &dir)
        .spawn()
        .unwrap();
    let sampler = RssSampler::start(child.id(), started);
    let status = wait_bounded(&mut child, Duration::from_secs(60));
    let samples = sampler.finish();
    let stderr = read_stderr(&mut child);
    let peak = samples.iter().map(|(_, kb)| *kb).max().unwrap_or(0);
    eprintln!(
        "FIGURE describe bomb: host inspect peak RSS {} MB, {} ms; {}",
        peak / 1024,
        started.elapsed().as_millis(),
        stderr.trim()
    );
    assert!(!status.success());
    assert_one_line(&stderr);
    assert!(
        stderr.contains("describe() returned more than 24 MiB of text"),
        "{stderr}"
    );
    // 192 MiB filled by the flow + 24 MiB margin + 64 MiB for the host.
    assert!(peak < (192 + 24 + 64) * 1024, "peak RSS {peak} kB");
    std::fs::remove_dir_all(dir).ok();
}
