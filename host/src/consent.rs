//! The presenter's consent, before a pack runs: what it asks for, shown once
//! per pack (per sha256), answered in the terminal or by `--yes`/`--allow`,
//! and remembered in the trust file. What comes out is the [`Grants`] the
//! host enforces, which may be narrower than what the flow asked for.

use crate::capability::Grants;
use crate::runtime::FlowInfo;
use crate::trust::{CliConsent, Decision, Item, TrustStore, now_unix, requested, to_capabilities};
use anyhow::{Result, bail};
use crossterm::event::{Event as TermEvent, EventStream, KeyCode, KeyEventKind, KeyModifiers};
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
    fn label(&self) -> String {
        format!("{} {}", self.info.name, self.info.version)
    }
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
            known => {
                let undecided: Vec<&Item> = known
                    .map(|k| k.undecided(&asked))
                    .unwrap_or_else(|| asked.iter().collect());
                match asker {
                    Asker::Flags => bail!("{}", not_trusted_message(pack, known, &undecided)),
                    Asker::Terminal => {
                        if !ask_in_terminal(pack, &asked, &undecided).await? {
                            bail!(
                                "{} was refused: the flow did not run and nothing was touched",
                                pack.file.display()
                            );
                        }
                        let decision = Decision {
                            flow: pack.label(),
                            granted: asked.clone(),
                            refused: Vec::new(),
                            decided_at_unix: now_unix(),
                        };
                        store.remember(pack.sha256, decision.clone())?;
                        decision
                    }
                }
            }
        }
    };
    let granted = decision.granted_of(&asked);
    for item in decision.refused.iter().filter(|i| asked.contains(i)) {
        tracing::info!("not granted to {}: {item}", pack.label());
    }
    Ok(Grants::from_declared(&to_capabilities(&granted)))
}

fn not_trusted_message(pack: &Pack<'_>, known: Option<&Decision>, undecided: &[&Item]) -> String {
    let list: Vec<String> = undecided.iter().map(|i| i.to_string()).collect();
    let what = if known.is_some() {
        "now asks for more than was granted"
    } else {
        "is not trusted yet; it asks for"
    };
    format!(
        "{} ({}) {what}: {}; pass --yes to grant everything it asks, or --allow SPEC for each (e.g. --allow {}), or run it once in the terminal",
        pack.file.display(),
        pack.label(),
        list.join(", "),
        list.first().map(String::as_str).unwrap_or("workload"),
    )
}

/// Shows the consent screen until the presenter accepts (`true`) or refuses.
async fn ask_in_terminal(pack: &Pack<'_>, asked: &[Item], undecided: &[&Item]) -> Result<bool> {
    let mut terminal = ratatui::init();
    let mut keys = EventStream::new();
    let answer = loop {
        if let Err(e) = terminal.draw(|frame| render(pack, asked, undecided, frame)) {
            ratatui::restore();
            return Err(e.into());
        }
        let Some(event) = keys.next().await else {
            break false;
        };
        let Ok(TermEvent::Key(key)) = event else {
            continue;
        };
        if key.kind != KeyEventKind::Press {
            continue;
        }
        match key.code {
            KeyCode::Char('a') | KeyCode::Char('A') | KeyCode::Char('y') | KeyCode::Char('Y') => {
                break true;
            }
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => break false,
            KeyCode::Char('r')
            | KeyCode::Char('R')
            | KeyCode::Char('n')
            | KeyCode::Char('N')
            | KeyCode::Char('q')
            | KeyCode::Esc => break false,
            _ => {}
        }
    };
    ratatui::restore();
    Ok(answer)
}

/// The consent screen: the pack, each item it asks for (new ones marked),
/// and the two keys.
pub fn render(pack: &Pack<'_>, asked: &[Item], undecided: &[&Item], frame: &mut Frame) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let title = Paragraph::new(vec![
        Line::from(vec![
            Span::raw("The flow "),
            Span::styled(pack.label(), Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(" asks for permission"),
        ]),
        Line::from(format!("file   {}", pack.file.display())).dim(),
        Line::from(format!("sha256 {}", pack.sha256)).dim(),
    ])
    .block(Block::new().borders(Borders::BOTTOM));
    frame.render_widget(title, header);

    let mut lines = vec![Line::from(
        "It can do only what is listed here, and only inside the chosen compose project:",
    )];
    for item in asked {
        let new = undecided.contains(&item);
        let mut spans = vec![
            Span::raw(if new { "  • " } else { "    " }),
            Span::raw(item.describe()),
            Span::raw(format!("  ({item})")).dim(),
        ];
        if new {
            spans.push(Span::raw("  new").yellow());
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::new().borders(Borders::ALL).title(" capabilities ")),
        body,
    );
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::raw(" A ").reversed(),
            Span::raw(" accept and remember   "),
            Span::raw(" R ").reversed(),
            Span::raw(" refuse (nothing runs)"),
        ])),
        footer,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{Capabilities, Chapter, FaultAction, FaultGrant};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

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
            }],
            capabilities: Capabilities {
                faults: vec![FaultGrant {
                    services: "etcd*".into(),
                    actions: vec![FaultAction::Kill],
                }],
                reads_workload: true,
                http_probes: vec![],
            },
            default_workload: None,
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
        let undecided: Vec<&Item> = asked.iter().filter(|i| **i == Item::Workload).collect();
        let mut terminal = Terminal::new(TestBackend::new(100, 14)).unwrap();
        terminal
            .draw(|f| render(&pack, &asked, &undecided, f))
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
        // A tiny terminal must not panic.
        let mut tiny = Terminal::new(TestBackend::new(10, 3)).unwrap();
        tiny.draw(|f| render(&pack, &asked, &undecided, f)).unwrap();
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
