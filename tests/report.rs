//! `host report` on a real show: a short headless run of etcd.wasm against
//! the three-member etcd cluster (a follower killed and started again by
//! the flow, then the leader killed and left for the quit's restore) under
//! loadgen's verdicts and three steady-state hypotheses, its transcript
//! turned into HTML by the real binary, and that page opened in headless
//! Chromium (Debian's package) and screenshotted; the same transcript as a
//! Chaos Toolkit journal, read by Chaos Toolkit's own code.
//!
//! Project names `rp-etcd-*`; ports 24890-24892 (24850-24859, first picked
//! for these tests, belong to tests/faults.rs).

use e2e::chaostoolkit::{assert_accepted, read_journal};
use e2e::show::{Headless, events};
use e2e::svg::{attr, bands, figure, vertical_lines};
use e2e::{etcd_cluster_up, etcd_workload, flow_wasm, host_bin, read_transcript, run, temp_dir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const PORTS: e2e::EtcdPorts = ["24890", "24891", "24892"];
/// The band colour plot.rs fills fault windows with.
const BAND_COLOUR: &str = "#F59E0B";
/// A down stretch that began this long before a fault counts as its own
/// (timeline.rs: Docker reports a death before the kill request returns).
const DOWN_SLACK_MS: u64 = 2_000;
/// The presenter's hypotheses for the show: none an abort condition, so
/// the show runs as it would without them.
const HYPOTHESES: [&str; 3] = [
    "all-running@before,end",
    "no-stale-reads@continuously",
    "throughput>=0.5*baseline@before,after-undo:60s",
];

/// One real show and its report, shared by the tests of this file.
struct Show {
    dir: PathBuf,
    /// The transcript file.
    path: PathBuf,
    transcript: Vec<Value>,
    html: String,
}

fn show() -> &'static Show {
    static SHOW: OnceLock<Show> = OnceLock::new();
    SHOW.get_or_init(|| {
        let project = format!("rp-etcd-{}", std::process::id());
        let cluster = etcd_cluster_up(&project, PORTS);
        let dir = temp_dir("report");
        // Intro → health → baseline → lose a follower (started again by the
        // flow) → lose the leader, then quit: the leader's restore undoes it.
        let show = Headless::new(&flow_wasm("etcd"), &project, &dir)
            .workload(&etcd_workload(PORTS, "150s"))
            .keys("space space space space q")
            .with(&HYPOTHESES.map(|h| ["--hypothesis", h]).concat());
        let output = show.run(Duration::from_secs(240));
        let transcript = show.transcript;
        assert!(
            output.status.success(),
            "the show failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        drop(cluster);
        // Before the first fault every member ran: judged on what was seen
        // before the kill was made, not on Docker's report of it.
        let t = read_transcript(&transcript).unwrap();
        let before = t
            .iter()
            .find(|e| {
                e["event"] == "hypothesis"
                    && e["name"] == "all-running@before,end"
                    && e["moment"]["at"] == "before"
            })
            .expect("all-running was judged before the first fault");
        assert_eq!(before["outcome"]["result"], "met", "{before}");

        let html_path = dir.join("report.html");
        let report = run(Command::new(host_bin())
            .arg("report")
            .arg(&transcript)
            .arg("-o")
            .arg(&html_path))
        .unwrap();
        assert!(
            report.status.success(),
            "host report failed: {}",
            String::from_utf8_lossy(&report.stderr)
        );
        let said = String::from_utf8_lossy(&report.stdout);
        assert!(said.starts_with("wrote "), "{said}");
        Show {
            transcript: read_transcript(&transcript).unwrap(),
            html: std::fs::read_to_string(&html_path).unwrap(),
            path: transcript,
            dir,
        }
    })
}

/// Each fault's window as the transcript tells it, read here on its own:
/// from the disruptive fault line to the first of its undo (a
/// non-disruptive fault line on the same container), a successful restore
/// of it, or Docker reporting it running again after it was down.
fn windows(t: &[Value]) -> Vec<(u64, u64)> {
    let at = |e: &Value| e["t_ms"].as_u64().unwrap();
    t.iter()
        .enumerate()
        .filter(|(_, e)| e["event"] == "fault" && e["disruptive"] == true)
        .map(|(i, fault)| {
            let (start, id) = (at(fault), &fault["id"]);
            let mut down = t[..i]
                .iter()
                .rev()
                .take_while(|e| at(e) + DOWN_SLACK_MS >= start)
                .any(|e| e["event"] == "node" && &e["id"] == id && e["state"] != "running");
            let end = t[i + 1..].iter().find_map(|e| {
                if &e["id"] != id {
                    return None;
                }
                let undo = (e["event"] == "fault" && e["disruptive"] == false)
                    || (e["event"] == "restore" && e["ok"] == true);
                if e["event"] == "node" {
                    if e["state"] != "running" {
                        down = true;
                    } else if down {
                        return Some(at(e));
                    }
                }
                undo.then(|| at(e))
            });
            (start, end.expect("every fault of this show was undone"))
        })
        .collect()
}

#[test]
fn the_report_of_a_real_etcd_show_shades_one_band_per_fault_at_its_times() {
    let show = show();
    let expected = windows(&show.transcript);
    assert_eq!(expected.len(), 2, "a follower and the leader: {expected:?}");
    for id in ["throughput", "p99"] {
        let fig = figure(&show.html, id);
        let (t0, t1) = (attr(fig, "data-t0-ms"), attr(fig, "data-t1-ms"));
        let (x0, x1) = (attr(fig, "data-x0-px"), attr(fig, "data-x1-px"));
        let ms_per_px = (t1 - t0) / (x1 - x0);
        let ms = |px: f64| t0 + (px - x0) * ms_per_px;
        let found = bands(fig, BAND_COLOUR);
        assert_eq!(found.len(), expected.len(), "{id}: {found:?}");
        for ((x, width), (start, end)) in found.iter().zip(&expected) {
            // Pixels are whole: within two of them.
            let (from, to) = (ms(*x), ms(x + width));
            assert!(
                (from - *start as f64).abs() <= 2.0 * ms_per_px,
                "{id}: band starts at {from:.0} ms, the fault at {start}"
            );
            assert!(
                (to - *end as f64).abs() <= 2.0 * ms_per_px,
                "{id}: band ends at {to:.0} ms, the undo at {end}"
            );
        }
    }
    // The fault table has the same windows, to the millisecond.
    let rows: Vec<(u64, u64)> = show
        .html
        .split("<tr class=\"fault-window\"")
        .skip(1)
        .map(|r| {
            (
                attr(r, "data-start-ms") as u64,
                attr(r, "data-end-ms") as u64,
            )
        })
        .collect();
    assert_eq!(rows, expected);
    // The key figures and the timeline are there, measured.
    let baseline = show
        .transcript
        .iter()
        .find_map(|e| e["baseline"].as_f64())
        .expect("a baseline");
    assert!(
        show.html
            .contains(&format!("<b>{baseline:.0} ops/s</b><span>baseline</span>")),
        "the baseline card"
    );
    assert!(
        show.html
            .contains("<b>0</b><span>faults outstanding at the end</span>")
    );
    let of = show
        .transcript
        .iter()
        .find(|e| e["event"] == "chapter")
        .and_then(|e| e["of"].as_u64())
        .unwrap();
    for row in [
        format!("Chapter 4/{of}: Lose a follower"),
        format!("Chapter 5/{of}: Lose the leader"),
        "restore etcd".into(),
        "quit (quit)".into(),
    ] {
        assert!(show.html.contains(&row), "{row} is not in the timeline");
    }
    assert!(!show.html.contains("<script"));
}

#[test]
fn the_report_of_a_real_show_plots_its_verdicts_and_lists_its_hypotheses() {
    let show = show();
    let t = &show.transcript;
    assert!(
        !events(t, "verdict").is_empty(),
        "loadgen reports its verdicts"
    );
    let fig = figure(&show.html, "verdicts");
    let (t0, t1) = (attr(fig, "data-t0-ms"), attr(fig, "data-t1-ms"));
    let (x0, x1) = (attr(fig, "data-x0-px"), attr(fig, "data-x1-px"));
    let ms_per_px = (t1 - t0) / (x1 - x0);
    // The same time axis as the throughput's.
    let throughput = figure(&show.html, "throughput");
    assert_eq!(
        (
            attr(throughput, "data-x0-px"),
            attr(throughput, "data-x1-px")
        ),
        (x0, x1)
    );
    // Each kind of anomaly the transcript names first is marked at that
    // line's time; a kind it never names, nowhere.
    for (kind, colour) in [
        ("stale-read", "#DC2626"),
        ("stale-serializable-read", "#7C3AED"),
        ("lost-write", "#BE185D"),
    ] {
        let first = events(t, "verdict").into_iter().find_map(|e| {
            e["first"]
                .as_array()
                .filter(|kinds| kinds.iter().any(|k| k == kind))
                .and_then(|_| e["t_ms"].as_u64())
        });
        let found = vertical_lines(fig, colour);
        match first {
            None => assert!(found.is_empty(), "{kind}: {found:?}"),
            Some(at) => {
                assert_eq!(found.len(), 1, "{kind}: {found:?}");
                let ms = t0 + (found[0] - x0) * ms_per_px;
                assert!(
                    (ms - at as f64).abs() <= 2.0 * ms_per_px,
                    "{kind}: marked at {ms:.0} ms, first seen at {at}"
                );
            }
        }
    }
    // One section per hypothesis, with as many judgement rows as it had.
    let judged = events(t, "hypothesis");
    for (index, spec) in HYPOTHESES.iter().enumerate() {
        let mine = judged
            .iter()
            .filter(|j| j["hypothesis"] == index as u64)
            .count();
        assert!(mine > 0, "{spec} was never judged");
        let body = show
            .html
            .split(&format!(
                "<tbody class=\"hypothesis\" data-index=\"{index}\""
            ))
            .nth(1)
            .unwrap_or_else(|| panic!("{spec} is not on the page"));
        let body = &body[..body.find("</tbody>").unwrap()];
        assert!(body.contains(&spec.replace('>', "&gt;")), "{body}");
        assert_eq!(
            body.matches("<tr class=\"judgement\"").count(),
            mine,
            "{body}"
        );
    }
}

#[test]
fn chaos_toolkit_reads_the_journal_of_a_real_show() {
    let show = show();
    let t = &show.transcript;
    let journal_path = show.dir.join("run.journal.json");
    let out = run(Command::new(host_bin())
        .args(["report", "--format", "chaostoolkit"])
        .arg(&show.path))
    .unwrap();
    assert!(
        out.status.success(),
        "host report --format chaostoolkit failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = read_journal(&journal_path);
    assert_accepted(&read);
    let journal: Value =
        serde_json::from_str(&std::fs::read_to_string(&journal_path).unwrap()).unwrap();
    // Quit by the presenter, never stopped: interrupted.
    assert!(events(t, "stopped").is_empty());
    assert_eq!(journal["status"], "interrupted");
    let not_met = events(t, "hypothesis")
        .iter()
        .any(|j| j["outcome"]["result"] == "not-met");
    assert_eq!(journal["deviated"], not_met);
    assert_eq!(
        journal["run"].as_array().unwrap().len(),
        events(t, "chapter").len()
    );
    assert_eq!(
        journal["rollbacks"].as_array().unwrap().len(),
        events(t, "restore").len()
    );
    let probes: Vec<&str> = journal["experiment"]["steady-state-hypothesis"]["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    // The presenter's first, then the etcd flow's own (API 0.3.0).
    assert_eq!(probes[..HYPOTHESES.len()], HYPOTHESES);
    assert_eq!(
        probes[HYPOTHESES.len()..],
        ["no-stale-reads@continuously,end", "no-lost-writes@end"]
    );
    assert_eq!(
        read.summary["probes_checked"].as_u64().unwrap() as usize,
        events(t, "hypothesis").len()
    );
}

/// Chromium from Debian (scripts/setup.sh installs it), or `None`.
fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser"].iter().find_map(|name| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {name}"))
            .output()
            .ok()?;
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
    })
}

/// Distinct colours, and the share of pixels that differ from the most
/// common one, of a PNG (decoded by python3's zlib: the test crate has no
/// PNG decoder). `None` without python3.
fn png_colours(png: &Path) -> Option<(u64, f64)> {
    const SCRIPT: &str = r#"
import struct, sys, zlib, collections
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat = 8, b''
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
assert depth == 8 and ctype in (2, 6), (depth, ctype)
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
counts = collections.Counter()
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            line[i] = (line[i] + pr) & 255
    if y % 4 == 0:
        counts.update(bytes(line[i:i + 3]) for i in range(0, stride, bpp * 2))
    prev = line
total = sum(counts.values())
print(len(counts), 1 - counts.most_common(1)[0][1] / total)
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(png)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "decoding the screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
}

#[test]
fn the_report_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        println!("skipped: chromium is not installed (scripts/setup.sh installs Debian's package)");
        return;
    };
    let show = show();
    let page = show.dir.join("report.html");
    let shot = show.dir.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let profile = show.dir.join("chromium-profile");
    let mut child = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--window-size=1100,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting chromium");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium took more than 90 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let stderr = e2e::read_stderr(&mut child);
    assert!(shot.exists(), "no screenshot; chromium said: {stderr}");
    // Keep a copy for a person to look at.
    let kept = std::env::temp_dir().join("chaos-demo-report-screenshot.png");
    let _ = std::fs::copy(&shot, &kept);
    println!("screenshot: {}", kept.display());
    let Some((colours, not_background)) = png_colours(&shot) else {
        println!("skipped the pixel check: no python3 to decode the PNG");
        return;
    };
    // A blank page is one colour; the report has text, bands, lines, cards.
    assert!(colours >= 8, "{colours} colours in the screenshot");
    assert!(
        not_background > 0.02,
        "only {:.1} % of the screenshot is not background",
        not_background * 100.0
    );
}
