//! The presenter's consent, before a pack runs: what it asks for, shown once
//! per pack (per sha256), answered in the terminal or by `--yes`/`--allow`,
//! and remembered in the trust file. What comes out is the [`Grants`] the
//! host enforces, which may be narrower than what the flow asked for.

use crate::capability::Grants;
use crate::model::FlowInfo;
use crate::sanitize::display_line;
use crate::trust::{Accept, CliConsent, Decision, Item, TrustStore, requested, to_capabilities};
use anyhow::{Result, bail};
use crossterm::event::{
    Event as TermEvent, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};
use futures::StreamExt;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use std::path::Path;

/// The pack being asked about.
pub struct Pack<'a> {
    pub file: &'a Path,
    pub sha256: &'a str,
    pub info: &'a FlowInfo,
}

impl Pack<'_> {
    /// The flow's name and version as it declares them, for the trust file.
    fn label(&self) -> String {
        format!("{} {}", self.info.name, self.info.version)
    }

    /// [`Pack::label`] safe to show: the flow wrote it.
    fn shown_label(&self) -> String {
        display_line(&self.label()).into_owned()
    }

    fn shown_file(&self) -> String {
        display_line(&self.file.display().to_string()).into_owned()
    }
}

/// An item as the presenter reads it: the sentence and the `--allow` spelling,
/// both holding the flow's globs and URLs, so both sanitised.
fn shown_item(item: &Item) -> (String, String) {
    (
        display_line(&item.describe()).into_owned(),
        display_line(&item.to_string()).into_owned(),
    )
}

/// What the presenter answered on the consent screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Accept(Accept),
    /// Nothing runs and nothing is remembered.
    Refuse,
}

/// What a key means on the consent screen; `None` for a key that means
/// nothing there. `G` means something only while the screen offers it, when
/// items were refused earlier: a key not on the screen never grants.
fn answer_for(key: KeyEvent, refused_earlier: bool) -> Option<Answer> {
    if key.kind != KeyEventKind::Press {
        return None;
    }
    match key.code {
        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => Some(Answer::Refuse),
        KeyCode::Char('a' | 'A' | 'y' | 'Y') => Some(Answer::Accept(Accept::Undecided)),
        KeyCode::Char('g' | 'G') if refused_earlier => {
            Some(Answer::Accept(Accept::AlsoRefusedEarlier))
        }
        KeyCode::Char('r' | 'R' | 'n' | 'N' | 'q') | KeyCode::Esc => Some(Answer::Refuse),
        _ => None,
    }
}

/// Remembers what `answer` makes of the pack's decision and returns it; a
/// refusal is an error (nothing ran) and changes nothing in the store.
fn settle(
    store: &mut TrustStore,
    pack: &Pack<'_>,
    asked: &[Item],
    answer: Answer,
) -> Result<Decision> {
    let Answer::Accept(accept) = answer else {
        bail!(
            "{} was refused: the flow did not run and nothing was touched",
            pack.shown_file()
        );
    };
    let decision = Decision::accepted(store.decision(pack.sha256), asked, accept, &pack.label());
    store.remember(pack.sha256, decision.clone())?;
    Ok(decision)
}

/// Where the answer can come from when it is not remembered.
pub enum Asker {
    /// Only the command-line flags (headless runs).
    Flags,
    /// The consent screen, in the terminal.
    Terminal,
}

/// Decides what `pack` may do, asking the presenter if nothing remembered
/// covers every item it asks for. A refusal is an error: nothing ran.
pub async fn obtain(
    state_dir: &Path,
    pack: &Pack<'_>,
    flags: &CliConsent,
    asker: Asker,
) -> Result<Grants> {
    let asked = requested(&pack.info.capabilities);
    if asked.is_empty() {
        return Ok(Grants::default());
    }
    let mut store = TrustStore::open(state_dir)?;
    let decision = if flags.given() {
        let decision = flags.decide(&asked, &pack.label());
        store.remember(pack.sha256, decision.clone())?;
        decision
    } else {
        match store.decision(pack.sha256) {
            Some(known) if known.undecided(&asked).is_empty() => known.clone(),
            known => match asker {
                Asker::Flags => {
                    let undecided: Vec<&Item> = known
                        .map(|k| k.undecided(&asked))
                        .unwrap_or_else(|| asked.iter().collect());
                    bail!("{}", not_trusted_message(pack, known, &undecided))
                }
                Asker::Terminal => {
                    let answer = ask_in_terminal(pack, &asked, known).await?;
                    settle(&mut store, pack, &asked, answer)?
                }
            },
        }
    };
    let granted = decision.granted_of(&asked);
    for item in decision.refused_of(&asked) {
        tracing::info!(
            "not granted to {}: {}",
            pack.shown_label(),
            shown_item(item).1
        );
    }
    Ok(Grants::from_declared(&to_capabilities(&granted)))
}

fn not_trusted_message(pack: &Pack<'_>, known: Option<&Decision>, undecided: &[&Item]) -> String {
    let list: Vec<String> = undecided.iter().map(|i| shown_item(i).1).collect();
    let what = if known.is_some() {
        "now asks for more than was granted"
    } else {
        "is not trusted yet; it asks for"
    };
    format!(
        "{} ({}) {what}: {}; pass --yes to grant everything it asks, or --allow SPEC for each (e.g. --allow {}), or run it once in the terminal",
        pack.shown_file(),
        pack.shown_label(),
        list.join(", "),
        list.first().map(String::as_str).unwrap_or("workload"),
    )
}

/// Shows the consent screen until the presenter answers.
async fn ask_in_terminal(
    pack: &Pack<'_>,
    asked: &[Item],
    earlier: Option<&Decision>,
) -> Result<Answer> {
    let refused_earlier = earlier.is_some_and(|d| !d.refused_of(asked).is_empty());
    let mut terminal = ratatui::init();
    let mut keys = EventStream::new();
    let answer = loop {
        if let Err(e) = terminal.draw(|frame| render(pack, asked, earlier, frame)) {
            ratatui::restore();
            return Err(e.into());
        }
        let Some(event) = keys.next().await else {
            break Answer::Refuse;
        };
        if let Ok(TermEvent::Key(key)) = event
            && let Some(answer) = answer_for(key, refused_earlier)
        {
            break answer;
        }
    };
    ratatui::restore();
    Ok(answer)
}

/// The consent screen: the pack, each item it asks for (new ones and those
/// refused earlier marked), and the keys.
pub fn render(pack: &Pack<'_>, asked: &[Item], earlier: Option<&Decision>, frame: &mut Frame) {
    let undecided: Vec<&Item> =
        earlier.map_or_else(|| asked.iter().collect(), |d| d.undecided(asked));
    let refused_earlier: Vec<&Item> = earlier.map_or_else(Vec::new, |d| d.refused_of(asked));
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let title = Paragraph::new(vec![
        Line::from(vec![
            Span::raw("The flow "),
            Span::styled(
                pack.shown_label(),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::raw(" asks for permission"),
        ]),
        Line::from(format!("file   {}", pack.shown_file())).dim(),
        Line::from(format!("sha256 {}", pack.sha256)).dim(),
    ])
    .block(Block::new().borders(Borders::BOTTOM));
    frame.render_widget(title, header);

    let mut lines = vec![Line::from(
        "It can do only what is listed here, and only inside the chosen compose project:",
    )];
    for item in asked {
        let (sentence, spec) = shown_item(item);
        let (bullet, mark) = if undecided.contains(&item) {
            ("  • ", Some(Span::raw("  new").yellow()))
        } else if refused_earlier.contains(&item) {
            (
                "  ✗ ",
                Some(Span::raw("  refused earlier — stays refused").red()),
            )
        } else {
            ("    ", None)
        };
        let mut spans = vec![
            Span::raw(bullet),
            Span::raw(sentence),
            Span::raw(format!("  ({spec})")).dim(),
        ];
        spans.extend(mark);
        lines.push(Line::from(spans));
    }
    if !refused_earlier.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::from(
            "A grants the new items only; what was refused earlier stays refused. \
             G grants it too. --yes or --allow on the command line replace the whole decision.",
        ));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::new().borders(Borders::ALL).title(" capabilities ")),
        body,
    );
    let mut keys = vec![Span::raw(" A ").reversed()];
    if refused_earlier.is_empty() {
        keys.push(Span::raw(" accept and remember   "));
    } else {
        keys.extend([
            Span::raw(" accept new items   "),
            Span::raw(" G ").reversed(),
            Span::raw(" also grant refused earlier   "),
        ]);
    }
    keys.extend([
        Span::raw(" R ").reversed(),
        Span::raw(" refuse (nothing runs)"),
    ]);
    frame.render_widget(Paragraph::new(Line::from(keys)), footer);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Capabilities, Chapter, FaultAction, FaultGrant};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    /// The pack the tests decide about: `etcd.wasm` with hash `beef`.
    fn etcd_pack(info: &FlowInfo) -> Pack<'_> {
        Pack {
            file: Path::new("etcd.wasm"),
            sha256: "beef",
            info,
        }
    }

    fn info() -> FlowInfo {
        FlowInfo {
            name: "etcd".into(),
            version: "0.1.0".into(),
            description: String::new(),
            chapters: vec![Chapter {
                title: "Intro".into(),
                narration: String::new(),
                key_hint: String::new(),
                auto_advance: false,
                blocks_advance: false,
                notes: String::new(),
            }],
            capabilities: Capabilities {
                faults: vec![FaultGrant {
                    services: "etcd*".into(),
                    actions: vec![FaultAction::Kill],
                    peers: vec![],
                }],
                reads_workload: true,
                http_probes: vec![],
                memory_mib: 0,
            },
            default_workload: None,
            hypotheses: Vec::new(),
        }
    }

    fn screen_text(terminal: &Terminal<TestBackend>) -> String {
        let buffer = terminal.backend().buffer();
        let width = buffer.area.width as usize;
        buffer
            .content
            .chunks(width)
            .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_consent_screen_lists_each_item_and_the_keys() {
        let info = info();
        let pack = Pack {
            file: Path::new("/packs/etcd.wasm"),
            sha256: "ab12",
            info: &info,
        };
        let asked = requested(&info.capabilities);
        let earlier = decision(&["kill:etcd*"], &[]);
        let mut terminal = Terminal::new(TestBackend::new(100, 14)).unwrap();
        terminal
            .draw(|f| render(&pack, &asked, Some(&earlier), f))
            .unwrap();
        let text = screen_text(&terminal);
        assert!(
            text.contains("The flow etcd 0.1.0 asks for permission"),
            "{text}"
        );
        assert!(text.contains("/packs/etcd.wasm"), "{text}");
        assert!(
            text.contains("kill containers of services 'etcd*'  (kill:etcd*)"),
            "{text}"
        );
        assert!(
            text.contains("• read the workload figures  (workload)  new"),
            "{text}"
        );
        assert!(!text.contains("• kill"), "{text}");
        assert!(text.contains("A  accept and remember"), "{text}");
        assert!(text.contains("R  refuse"), "{text}");
        assert!(
            !text.contains(" G ") && !text.contains("refused earlier"),
            "nothing was refused, so there is nothing to re-grant: {text}"
        );
        // A tiny terminal must not panic.
        let mut tiny = Terminal::new(TestBackend::new(10, 3)).unwrap();
        tiny.draw(|f| render(&pack, &asked, Some(&earlier), f))
            .unwrap();
    }

    fn items(specs: &[&str]) -> Vec<Item> {
        specs.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn decision(granted: &[&str], refused: &[&str]) -> Decision {
        Decision {
            flow: "etcd 0.1.0".into(),
            granted: items(granted),
            refused: items(refused),
            decided_at_unix: 0,
        }
    }

    fn press(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn specs(items: &[Item]) -> Vec<String> {
        items.iter().map(Item::to_string).collect()
    }

    /// A state directory removed even when an assertion fails.
    struct StateDir(std::path::PathBuf);

    impl StateDir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            StateDir(dir)
        }
    }

    impl Drop for StateDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn an_item_refused_earlier_is_marked_and_the_key_to_grant_it_is_offered() {
        let info = info();
        let pack = Pack {
            file: Path::new("/packs/etcd.wasm"),
            sha256: "ab12",
            info: &info,
        };
        let asked = requested(&info.capabilities);
        let earlier = decision(&[], &["kill:etcd*"]);
        let mut terminal = Terminal::new(TestBackend::new(110, 16)).unwrap();
        terminal
            .draw(|f| render(&pack, &asked, Some(&earlier), f))
            .unwrap();
        let text = screen_text(&terminal);
        assert!(
            text.contains(
                "✗ kill containers of services 'etcd*'  (kill:etcd*)  refused earlier — stays refused"
            ),
            "{text}"
        );
        assert!(
            text.contains("• read the workload figures  (workload)  new"),
            "{text}"
        );
        assert!(
            text.contains("A grants the new items only; what was refused earlier stays refused."),
            "{text}"
        );
        assert!(text.contains("--yes or --allow"), "{text}");
        assert!(
            text.contains("A  accept new items    G  also grant refused earlier    R  refuse"),
            "{text}"
        );
    }

    #[test]
    fn accept_keeps_an_earlier_refusal_and_grants_the_new_item() {
        let dir = StateDir::new("consent-accept");
        let info = info();
        let pack = etcd_pack(&info);
        let asked = requested(&info.capabilities);
        for key in ['a', 'A', 'y', 'Y'] {
            let mut store = TrustStore::open(&dir.0).unwrap();
            store
                .remember(pack.sha256, decision(&[], &["kill:etcd*"]))
                .unwrap();
            let answer = answer_for(press(key), true).expect("a key on the screen");
            let decided = settle(&mut store, &pack, &asked, answer).unwrap();
            assert_eq!(specs(&decided.granted), ["workload"], "{key}");
            assert_eq!(specs(&decided.refused), ["kill:etcd*"], "{key}");
            let reopened = TrustStore::open(&dir.0).unwrap();
            assert_eq!(reopened.decision(pack.sha256), Some(&decided), "remembered");
        }
    }

    #[test]
    fn the_explicit_key_grants_what_was_refused_earlier() {
        let dir = StateDir::new("consent-regrant");
        let info = info();
        let pack = etcd_pack(&info);
        let asked = requested(&info.capabilities);
        for key in ['g', 'G'] {
            let mut store = TrustStore::open(&dir.0).unwrap();
            store
                .remember(pack.sha256, decision(&[], &["kill:etcd*"]))
                .unwrap();
            let answer = answer_for(press(key), true).expect("offered while items were refused");
            let decided = settle(&mut store, &pack, &asked, answer).unwrap();
            assert_eq!(specs(&decided.granted), ["kill:etcd*", "workload"], "{key}");
            assert!(decided.refused.is_empty(), "{key}: {decided:?}");
        }
    }

    #[test]
    fn keys_the_screen_does_not_offer_grant_nothing() {
        assert_eq!(
            answer_for(press('g'), false),
            None,
            "no refusal, no G on the screen"
        );
        for key in ['x', 'e', ' ', '\n'] {
            assert_eq!(answer_for(press(key), true), None, "{key:?}");
        }
        let mut release = press('a');
        release.kind = KeyEventKind::Release;
        assert_eq!(answer_for(release, true), None, "only presses count");
        for key in ['r', 'R', 'n', 'N', 'q'] {
            assert_eq!(answer_for(press(key), true), Some(Answer::Refuse), "{key}");
        }
        assert_eq!(
            answer_for(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE), true),
            Some(Answer::Refuse)
        );
        assert_eq!(
            answer_for(
                KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
                true
            ),
            Some(Answer::Refuse)
        );
    }

    #[tokio::test]
    async fn a_refusal_by_allow_survives_an_accept_on_the_screen() {
        use crate::capability::Need;
        let dir = StateDir::new("consent-allow-then-accept");
        let info = info();
        let pack = Pack {
            file: Path::new("etcd.wasm"),
            sha256: "cafe",
            info: &info,
        };
        let only_workload = CliConsent {
            yes: false,
            allow: vec![Item::Workload],
        };
        obtain(&dir.0, &pack, &only_workload, Asker::Flags)
            .await
            .unwrap();
        // The same pack now asks for a probe as well: the screen would ask.
        let mut wider = info.clone();
        wider
            .capabilities
            .http_probes
            .push("http://127.0.0.1:2379/".into());
        let pack = Pack {
            file: Path::new("etcd.wasm"),
            sha256: "cafe",
            info: &wider,
        };
        let asked = requested(&wider.capabilities);
        let mut store = TrustStore::open(&dir.0).unwrap();
        let answer = answer_for(press('a'), true).unwrap();
        settle(&mut store, &pack, &asked, answer).unwrap();
        let grants = obtain(&dir.0, &pack, &CliConsent::default(), Asker::Flags)
            .await
            .unwrap();
        assert!(grants.reads_workload());
        let remembered = TrustStore::open(&dir.0).unwrap();
        let remembered = remembered.decision(pack.sha256).unwrap();
        assert_eq!(
            specs(&remembered.granted),
            ["workload", "probe:http://127.0.0.1:2379/"]
        );
        assert_eq!(specs(&remembered.refused), ["kill:etcd*"]);
        assert!(
            !grants.permits(Need::Fault(FaultAction::Kill), "etcd1"),
            "refused by --allow, so still refused"
        );
    }

    #[tokio::test]
    async fn flow_text_on_the_consent_screen_and_in_errors_is_sanitised() {
        let dir = StateDir::new("consent-sanitised");
        let mut info = info();
        info.name = "etcd\u{1b}]0;owned\u{7}\u{202e}".into();
        info.capabilities.faults[0].services = "etcd\u{1b}[2J*".into();
        let pack = Pack {
            file: Path::new("/packs/etcd\u{1b}[31m.wasm"),
            sha256: "ab12",
            info: &info,
        };
        let asked = requested(&info.capabilities);
        let mut terminal = Terminal::new(TestBackend::new(100, 14)).unwrap();
        terminal.draw(|f| render(&pack, &asked, None, f)).unwrap();
        let text = screen_text(&terminal);
        // ratatui drops the ESC byte itself; the rest of each sequence is
        // what would show as junk.
        for junk in ["owned", "]0;", "[2J", "[31m", "\u{202e}"] {
            assert!(!text.contains(junk), "{junk:?} in {text}");
        }
        assert!(text.contains("The flow etcd 0.1.0 asks"), "{text}");
        assert!(text.contains("(kill:etcd*)"), "{text}");
        let err = obtain(&dir.0, &pack, &CliConsent::default(), Asker::Flags)
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(
            !err.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn headless_without_flags_fails_and_a_remembered_grant_is_honoured() {
        let dir = std::env::temp_dir().join(format!("consent-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let info = info();
        let pack = Pack {
            file: Path::new("etcd.wasm"),
            sha256: "feed",
            info: &info,
        };
        let none = CliConsent::default();
        let err = obtain(&dir, &pack, &none, Asker::Flags)
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("etcd.wasm (etcd 0.1.0) is not trusted yet")
                && err.contains("kill:etcd*, workload")
                && err.contains("--yes")
                && !err.contains('\n'),
            "{err}"
        );
        let only_workload = CliConsent {
            yes: false,
            allow: vec![Item::Workload],
        };
        let grants = obtain(&dir, &pack, &only_workload, Asker::Flags)
            .await
            .unwrap();
        assert!(grants.reads_workload());
        assert!(!grants.permits(crate::capability::Need::Fault(FaultAction::Kill), "etcd1"));
        // Remembered: no flags needed the second time, and still as narrow.
        let grants = obtain(&dir, &pack, &none, Asker::Flags).await.unwrap();
        assert!(grants.reads_workload());
        assert!(!grants.permits(crate::capability::Need::Fault(FaultAction::Kill), "etcd1"));
        // The same pack asking for more is asked again.
        let mut wider = info.clone();
        wider
            .capabilities
            .http_probes
            .push("http://127.0.0.1:2379/".into());
        let pack = Pack {
            file: Path::new("etcd.wasm"),
            sha256: "feed",
            info: &wider,
        };
        let err = obtain(&dir, &pack, &none, Asker::Flags)
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("now asks for more than was granted: probe:http://127.0.0.1:2379/"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
