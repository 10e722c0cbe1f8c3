//! The report as one self-contained HTML page: inline CSS and SVG, no
//! script, no external font, image or request (its Content-Security-Policy
//! forbids them too). Every string from the transcript goes through
//! [`esc`]: sanitised like any flow text, then HTML-escaped, so none of it
//! can become markup.

use super::figures::{Detect, FaultFigures, KeyFigures, Outstanding, Recover};
use super::plot::{self, Figure};
use super::read::{Kind, Show, Stopped, moment_text};
use crate::chart::clock;
use crate::hypotheses::checker::{Outcome, overall};
use crate::sanitize::display_line;
use std::fmt::Write;

/// The most judgements listed under one hypothesis; later ones are counted.
pub const MAX_JUDGEMENTS_SHOWN: usize = 200;

/// Text from a transcript, safe in an HTML text node or attribute value.
pub fn esc(text: &str) -> String {
    let clean = display_line(text);
    let mut out = String::with_capacity(clean.len());
    for c in clean.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// "1.5 s", "2m05s".
fn duration(ms: u64) -> String {
    if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        let s = ms / 1000;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:1000px;padding:0 1rem;color:#0f172a;background:#fff}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #e2e8f0}
.meta{color:#475569;margin-top:0}
.cards{display:flex;flex-wrap:wrap;gap:.75rem;margin:1rem 0}
.card{border:1px solid #e2e8f0;border-radius:8px;padding:.6rem .9rem;min-width:9rem}
.card b{display:block;font-size:1.35rem}.card span{color:#475569;font-size:.85rem}
figure{margin:1rem 0}figure svg{max-width:100%;height:auto;border:1px solid #e2e8f0;border-radius:6px}
figcaption{color:#475569;font-size:.9rem}
.key{display:inline-block;width:1.6em;height:.8em;vertical-align:middle;margin:0 .3em 0 1em}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #f1f5f9;vertical-align:top}
td.t{font-variant-numeric:tabular-nums;color:#475569;white-space:nowrap}
tr.fault td.w{color:#b45309;font-weight:600}tr.undo td.w,tr.restore td.w{color:#15803d}
tr.restore-failed td.w,tr.error td.w{color:#b91c1c;font-weight:600}
tr.chapter td.w{font-weight:600}tr.node td.w{color:#334155}tr.workload td.w{color:#1d4ed8}
tr.end td.w{color:#475569;font-style:italic}
tr.hypothesis td.w{color:#15803d}tr.hypothesis-not-met td.w,tr.stopped td.w{color:#b91c1c;font-weight:600}
tr.anomaly td.w{color:#be185d;font-weight:600}
table.hypotheses tbody{border-top:2px solid #e2e8f0}
tr.overall td{font-weight:600}tr.judgement td:first-child{padding-left:1.5rem;color:#475569}
.met{color:#15803d}.not-met{color:#b91c1c}.not-evaluated{color:#64748b}
.stop{border:2px solid #dc2626;border-radius:8px;padding:.6rem .9rem;background:#fef2f2}
.note{color:#475569}
";

/// The class of an outcome's result.
fn outcome_class(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Met { .. } => "met",
        Outcome::NotMet { .. } => "not-met",
        Outcome::NotEvaluated { .. } => "not-evaluated",
    }
}

pub fn page(
    show: &Show,
    figures: &KeyFigures,
    throughput: &Figure,
    p99: Option<&Figure>,
    verdicts: Option<&Figure>,
    source: &str,
) -> String {
    let mut out = String::with_capacity(64 * 1024 + throughput.svg.len());
    let title = match &show.flow {
        Some((name, version)) => format!("{} {}", esc(name), esc(version)),
        None => "A show".to_string(),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}: show report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>{title}: what the show did</h1>\n"
    );
    let ended = match &show.done {
        Some(done) => format!("ended: {}", esc(&done.reason)),
        None => "the transcript ends without a done line (was the host killed?)".into(),
    };
    let _ = writeln!(
        out,
        "<p class=\"meta\">From the transcript <code>{}</code>: {}, {} samples, {}.</p>",
        esc(source),
        duration(show.duration_ms()),
        figures.samples,
        ended
    );
    if show.skipped_lines > 0 {
        let _ = writeln!(
            out,
            "<p class=\"note\">{} line(s) of the file were not transcript lines and were skipped.</p>",
            show.skipped_lines
        );
    }
    cards(&mut out, figures);
    verdict_cards(&mut out, show);

    figure(&mut out, "throughput", throughput);
    match p99 {
        Some(p99) => figure(&mut out, "p99", p99),
        None => out.push_str(
            "<p class=\"note\">No sample carries a p99 latency (the load tool printed none, \
             or the transcript predates the field).</p>\n",
        ),
    }
    out.push_str(
        "<p class=\"note\"><span class=\"key\" style=\"background:rgba(245,158,11,.35)\"></span>fault window, \
         injection to undo\
         <span class=\"key\" style=\"background:#dc2626\"></span>workload degraded\
         <span class=\"key\" style=\"background:#1d4ed8;height:3px\"></span>samples\
         <span class=\"key\" style=\"border-top:2px dashed #0d9488;height:0\"></span>baseline\
         <span class=\"key\" style=\"background:#94a3b8;width:2px\"></span>chapter N starts</p>\n",
    );
    match verdicts {
        Some(verdicts) => {
            figure(&mut out, "verdicts", verdicts);
            out.push_str("<p class=\"note\">");
            for (name, colour, kind) in plot::VERDICT_SERIES {
                let axis = if kind.is_some() { "right axis" } else { "left axis" };
                let _ = write!(
                    out,
                    "<span class=\"key\" style=\"background:{};height:3px\"></span>{name} ({axis})",
                    plot::hex(colour)
                );
            }
            out.push_str(
                "; a vertical line in a kind's colour marks its first anomaly.</p>\n",
            );
        }
        None => out.push_str(
            "<p class=\"note\">The workload reported no verdict counts (no <code>[VERDICT]</code> \
             lines: the load tool does not check its own history, or the transcript predates them).</p>\n",
        ),
    }

    stops(&mut out, &show.stops);
    hypotheses(&mut out, show);

    faults(&mut out, &figures.faults);
    timeline(&mut out, show);
    out.push_str(
        "<p class=\"note\">Made by <code>host report</code>: one file, no script, nothing \
         fetched. Times are since the show started.</p>\n</body>\n</html>\n",
    );
    out
}

fn cards(out: &mut String, figures: &KeyFigures) {
    let card = |out: &mut String, value: String, what: String| {
        let _ = writeln!(
            out,
            "<div class=\"card\"><b>{value}</b><span>{what}</span></div>"
        );
    };
    out.push_str("<div class=\"cards\">\n");
    card(
        out,
        figures
            .baseline
            .map_or("–".into(), |b| format!("{b:.0} ops/s")),
        "baseline".into(),
    );
    card(
        out,
        figures
            .trough
            .map_or("–".into(), |(_, v)| format!("{v:.0} ops/s")),
        figures
            .trough
            .map_or("trough".into(), |(t, _)| format!("trough, at {}", clock(t))),
    );
    let headline = figures.headline.and_then(|i| figures.faults.get(i));
    let what = |f: &FaultFigures| {
        format!(
            "{} {} at {}",
            esc(&f.window.action),
            esc(&f.window.service),
            clock(f.window.start_ms)
        )
    };
    match headline {
        Some(f) => {
            card(
                out,
                detect_text(f.detect),
                format!("time to detect: {} → degraded", what(f)),
            );
            let (value, what) = match f.recover {
                Recover::BeforeUndo(ms) => (
                    duration(ms),
                    "time to recover: normal again after the fault, before its undo".into(),
                ),
                other => (recover_text(other), "time to recover: undo → normal".into()),
            };
            card(out, value, what);
        }
        None => card(
            out,
            "–".into(),
            "time to detect / recover: no fault degraded the workload".into(),
        ),
    }
    let (n, note) = match figures.outstanding {
        Outstanding::Done(n) => (n, "faults outstanding at the end"),
        Outstanding::NoDoneLine(n) => (n, "fault windows still open (no done line)"),
    };
    card(out, n.to_string(), note.into());
    out.push_str("</div>\n");
}

/// Cards for the verdict counts and the hypotheses, when the show had them.
fn verdict_cards(out: &mut String, show: &Show) {
    let judged = show.hypotheses();
    if show.verdicts.is_empty() && judged.is_empty() && show.stops.is_empty() {
        return;
    }
    out.push_str("<div class=\"cards\">\n");
    if let Some(last) = show.verdicts.last() {
        let c = &last.counts;
        let (value, class) = if show.verdict.broken() {
            ("✗ BROKEN", "not-met")
        } else {
            ("✓ kept", "met")
        };
        let lost = if c.final_read {
            format!("{} lost", c.lost)
        } else {
            "lost not checked yet (no final read)".into()
        };
        let _ = writeln!(
            out,
            "<div class=\"card verdict\"><b class=\"{class}\">{value}</b><span>verdict: {} stale of {} reads, \
             {} stale serializable, {lost}, of {} acknowledged writes</span></div>",
            c.stale, c.reads, c.stale_serializable, c.acknowledged
        );
    }
    if !judged.is_empty() {
        let not_met = judged
            .iter()
            .filter(|h| {
                matches!(
                    overall(h.judgements.iter().copied()),
                    Outcome::NotMet { .. }
                )
            })
            .count();
        let (class, note) = if not_met > 0 {
            ("not-met", "NOT MET")
        } else {
            ("met", "not met (each met or not evaluated)")
        };
        let _ = writeln!(
            out,
            "<div class=\"card hypotheses\"><b class=\"{class}\">{not_met} of {}</b><span>steady-state \
             hypotheses {note}</span></div>",
            judged.len()
        );
    }
    if let Some(stop) = show.stops.first() {
        let _ = writeln!(
            out,
            "<div class=\"card stopped\"><b class=\"not-met\">stopped</b><span>at {}: {}</span></div>",
            clock(stop.breached_at_ms),
            esc(&stop.reason)
        );
    }
    out.push_str("</div>\n");
}

/// Each stop of the show's faults: why, when, how long until every fault
/// was undone, and the undos that failed.
fn stops(out: &mut String, stops: &[Stopped]) {
    if stops.is_empty() {
        return;
    }
    out.push_str("<h2>Stopped</h2>\n");
    for stop in stops {
        let failed = if stop.failed == 0 {
            "no undo failed".to_string()
        } else {
            format!(
                "<b class=\"not-met\">{} undo(s) failed</b> (they stay on the ledger for <code>host recover</code>)",
                stop.failed
            )
        };
        let _ = writeln!(
            out,
            "<div class=\"stop\" data-breached-at-ms=\"{}\" data-restored-at-ms=\"{}\">\
             <p><b>The show's faults were stopped:</b> {}</p>\
             <p>Breached at {}; every fault undone at {}, {} after the breach; {} fault(s) undone, {failed}.</p></div>",
            stop.breached_at_ms,
            stop.restored_at_ms,
            esc(&stop.reason),
            clock(stop.breached_at_ms),
            clock(stop.restored_at_ms),
            duration(stop.breach_to_restored_ms),
            stop.restored,
        );
    }
}

/// Each hypothesis with its overall result, then its judgements.
fn hypotheses(out: &mut String, show: &Show) {
    out.push_str("<h2>Steady-state hypotheses</h2>\n");
    let judged = show.hypotheses();
    if judged.is_empty() {
        out.push_str(
            "<p class=\"note\">No hypothesis was judged (the show had no <code>--hypothesis</code>).</p>\n",
        );
        return;
    }
    out.push_str(
        "<p class=\"note\">A hypothesis is not met if any judgement was not met (with the value \
         seen), met if every judgement that could be made was, else not evaluated.</p>\n\
         <table class=\"hypotheses\">\n<thead><tr><th>hypothesis / when judged</th><th>result</th>\
         <th>value seen, or why not evaluated</th></tr></thead>\n",
    );
    for h in &judged {
        let result = overall(h.judgements.iter().copied());
        let class = outcome_class(&result);
        let _ = writeln!(
            out,
            "<tbody class=\"hypothesis\" data-index=\"{}\" data-result=\"{class}\">\n\
             <tr class=\"overall\"><td><code>{}</code></td><td class=\"{class}\">{}</td><td>{}</td></tr>",
            h.index,
            esc(h.name),
            result.word(),
            esc(result.detail())
        );
        for j in h.judgements.iter().take(MAX_JUDGEMENTS_SHOWN) {
            let class = outcome_class(&j.outcome);
            let _ = writeln!(
                out,
                "<tr class=\"judgement\" data-t-ms=\"{}\"><td>{}, at {}</td><td class=\"{class}\">{}</td><td>{}</td></tr>",
                j.t_ms,
                esc(&moment_text(&j.moment)),
                clock(j.t_ms),
                j.outcome.word(),
                esc(j.outcome.detail())
            );
        }
        if h.judgements.len() > MAX_JUDGEMENTS_SHOWN {
            let _ = writeln!(
                out,
                "<tr class=\"judgement\"><td colspan=\"3\">… and {} later judgements, not listed</td></tr>",
                h.judgements.len() - MAX_JUDGEMENTS_SHOWN
            );
        }
        out.push_str("</tbody>\n");
    }
    out.push_str("</table>\n");
}

fn detect_text(detect: Detect) -> String {
    match detect {
        Detect::After(ms) => duration(ms),
        Detect::AlreadyDegraded => "already degraded".into(),
        Detect::NotDegraded => "not degraded".into(),
    }
}

fn recover_text(recover: Recover) -> String {
    match recover {
        Recover::After(ms) => duration(ms),
        Recover::BeforeUndo(ms) => format!("before the undo ({} after the fault)", duration(ms)),
        Recover::StillDegraded => "still degraded at the end".into(),
        Recover::NotUndone => "never undone".into(),
        Recover::NotDegraded => "–".into(),
    }
}

fn figure(out: &mut String, id: &str, figure: &Figure) {
    let _ = writeln!(
        out,
        "<figure id=\"{id}\" data-t0-ms=\"{}\" data-t1-ms=\"{}\" data-x0-px=\"{}\" data-x1-px=\"{}\">",
        figure.t0_ms, figure.t1_ms, figure.x0_px, figure.x1_px
    );
    // plotters escapes every text it writes; the only text from the
    // transcript in it went through `display_line` (plot.rs).
    out.push_str(&figure.svg);
    out.push_str("</figure>\n");
}

fn faults(out: &mut String, faults: &[FaultFigures]) {
    out.push_str("<h2>Faults</h2>\n");
    if faults.is_empty() {
        out.push_str("<p class=\"note\">The show made no fault.</p>\n");
        return;
    }
    out.push_str(
        "<table class=\"faults\">\n<tr><th>#</th><th>fault</th><th>service</th><th>injected</th>\
         <th>undone</th><th>lasted</th><th>detected after</th><th>recovered after</th>\
         <th>lowest ops/s</th></tr>\n",
    );
    for (i, f) in faults.iter().enumerate() {
        let w = &f.window;
        let (undone, lasted) = match (w.end_ms, &w.ended_by) {
            (Some(end), by) => (
                format!(
                    "{} <span class=\"note\">({})</span>",
                    clock(end),
                    esc(by.as_deref().unwrap_or(""))
                ),
                duration(end - w.start_ms),
            ),
            (None, _) => ("never".into(), "–".into()),
        };
        let _ = writeln!(
            out,
            "<tr class=\"fault-window\" data-start-ms=\"{}\" data-end-ms=\"{}\"><td>{}</td>\
             <td>{}</td><td>{}</td><td class=\"t\">{}</td><td class=\"t\">{undone}</td>\
             <td>{lasted}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            w.start_ms,
            w.end_ms.map_or(String::new(), |e| e.to_string()),
            i + 1,
            esc(&w.action),
            esc(&w.service),
            clock(w.start_ms),
            detect_text(f.detect),
            recover_text(f.recover),
            f.trough.map_or("–".into(), |v| format!("{v:.0}")),
        );
    }
    out.push_str("</table>\n");
}

fn timeline(out: &mut String, show: &Show) {
    out.push_str("<h2>Timeline</h2>\n<table class=\"timeline\">\n");
    for entry in &show.entries {
        let class = match entry.kind {
            Kind::Chapter => "chapter",
            Kind::Fault => "fault",
            Kind::Undo => "undo",
            Kind::Restore => "restore",
            Kind::RestoreFailed => "restore-failed",
            Kind::Node => "node",
            Kind::Workload => "workload",
            Kind::Hypothesis => "hypothesis",
            Kind::HypothesisNotMet => "hypothesis-not-met",
            Kind::Anomaly => "anomaly",
            Kind::Stopped => "stopped",
            Kind::Error => "error",
            Kind::End => "end",
        };
        let _ = writeln!(
            out,
            "<tr class=\"{class}\"><td class=\"t\">{}</td><td class=\"w\">{}</td></tr>",
            clock(entry.t_ms),
            esc(&entry.text)
        );
    }
    out.push_str("</table>\n");
    if show.entries_left_out > 0 {
        let _ = writeln!(
            out,
            "<p class=\"note\">… and {} later entries, not listed.</p>",
            show.entries_left_out
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_transcript_text_stays_text() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(esc("a\x1b]2;PWNED\x07b\u{202e}c"), "abc");
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(1_500), "1.5 s");
        assert_eq!(duration(125_000), "2m05s");
    }
}
