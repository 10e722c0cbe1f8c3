//! The one key map: which keys do what, for the presenter's terminal, the
//! speaker-notes terminal, headless `--keys` scripts, the footer and the
//! help screen. Adding a key here adds it everywhere; nothing else matches
//! on key codes or key names.

use crate::app::Input;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One action and every way to ask for it.
pub struct Binding {
    pub input: Input,
    /// The keys, as the help screen names them (`SPACE / ENTER / →`).
    pub keys: &'static str,
    /// What the footer calls the action, after its first key (`next`).
    pub footer: &'static str,
    /// What the help screen says it does.
    pub help: &'static str,
    /// The words a `--keys` script may use for it.
    pub script_names: &'static [&'static str],
    matches: fn(&KeyEvent) -> bool,
}

impl Binding {
    /// The key the footer shows (the first of `keys`).
    pub fn first_key(&self) -> &'static str {
        self.keys.split(" / ").next().unwrap_or(self.keys)
    }
}

fn ctrl_c(key: &KeyEvent) -> bool {
    key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL)
}

/// In the order the footer and the help screen list them.
pub const BINDINGS: &[Binding] = &[
    Binding {
        input: Input::Next,
        keys: "SPACE / ENTER / →",
        footer: "next",
        help: "next chapter",
        script_names: &["space", "enter", "right", "next", "n"],
        matches: |key| {
            !ctrl_c(key)
                && matches!(
                    key.code,
                    KeyCode::Char(' ') | KeyCode::Enter | KeyCode::Right
                )
        },
    },
    Binding {
        input: Input::Previous,
        keys: "←",
        footer: "back",
        help: "previous (narration only)",
        script_names: &["left", "back", "prev"],
        matches: |key| key.code == KeyCode::Left,
    },
    Binding {
        input: Input::Help,
        keys: "?",
        footer: "help",
        help: "this help (? again closes it)",
        script_names: &["?", "help"],
        matches: |key| key.code == KeyCode::Char('?'),
    },
    Binding {
        input: Input::Stop,
        keys: "X",
        footer: "stop",
        help: "emergency stop: stop the chapter and undo every fault, staying in the show",
        script_names: &["x", "stop"],
        matches: |key| matches!(key.code, KeyCode::Char('x' | 'X')),
    },
    Binding {
        input: Input::Quit,
        keys: "Q / Esc / Ctrl-C",
        footer: "quit",
        help: "quit, restoring every fault",
        script_names: &["q", "quit", "esc"],
        matches: |key| ctrl_c(key) || matches!(key.code, KeyCode::Char('q' | 'Q') | KeyCode::Esc),
    },
];

/// What a key press asks for, if anything.
pub fn input_for(key: &KeyEvent) -> Option<Input> {
    BINDINGS.iter().find(|b| (b.matches)(key)).map(|b| b.input)
}

/// What a `--keys` script word asks for, if it names a key.
pub fn input_named(word: &str) -> Option<Input> {
    let word = word.to_ascii_lowercase();
    BINDINGS
        .iter()
        .find(|b| b.script_names.contains(&word.as_str()))
        .map(|b| b.input)
}

/// The words a script may use, for the error that names them.
pub fn script_words() -> String {
    BINDINGS
        .iter()
        .map(|b| b.script_names.join("/"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The footer: `lead` (the chapter's own hint, which stands for SPACE, or
/// a line saying why SPACE waits), then each other action once, but those
/// in `except` and any `lead` already names by its key (a last chapter whose
/// hint is "Q quit" does not get a second "Q quit").
pub fn footer(lead: &str, except: &[Input]) -> String {
    let mut parts = vec![lead.trim().to_string()];
    for binding in BINDINGS {
        if binding.input == Input::Next || except.contains(&binding.input) {
            continue;
        }
        let key = binding.first_key();
        let named = lead.split_whitespace().any(|w| w.eq_ignore_ascii_case(key));
        if !named {
            parts.push(format!("{key} {}", binding.footer));
        }
    }
    parts.join("  ·  ")
}

/// What the footer leads with when the chapter gives no hint: "SPACE next".
pub fn default_hint() -> String {
    let next = &BINDINGS[0];
    format!("{} {}", next.first_key(), next.footer)
}

/// The help screen's lines: keys in one column, what they do in the next.
pub fn help_lines() -> Vec<String> {
    let width = BINDINGS
        .iter()
        .map(|b| b.keys.chars().count())
        .max()
        .unwrap_or(0);
    BINDINGS
        .iter()
        .map(|b| {
            let pad = width - b.keys.chars().count();
            format!("{}{}   {}", b.keys, " ".repeat(pad), b.help)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn every_key_maps_to_one_input() {
        assert_eq!(input_for(&press(KeyCode::Char(' '))), Some(Input::Next));
        assert_eq!(input_for(&press(KeyCode::Enter)), Some(Input::Next));
        assert_eq!(input_for(&press(KeyCode::Right)), Some(Input::Next));
        assert_eq!(input_for(&press(KeyCode::Left)), Some(Input::Previous));
        assert_eq!(input_for(&press(KeyCode::Char('?'))), Some(Input::Help));
        assert_eq!(input_for(&press(KeyCode::Char('q'))), Some(Input::Quit));
        assert_eq!(input_for(&press(KeyCode::Esc)), Some(Input::Quit));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(input_for(&ctrl_c), Some(Input::Quit));
        assert_eq!(input_for(&press(KeyCode::Char('c'))), None);
        assert_eq!(input_for(&press(KeyCode::Char('x'))), Some(Input::Stop));
        assert_eq!(input_for(&press(KeyCode::Char('z'))), None);
    }

    #[test]
    fn script_words_name_the_same_inputs() {
        for binding in BINDINGS {
            for word in binding.script_names {
                assert_eq!(input_named(word), Some(binding.input), "{word}");
                assert_eq!(
                    input_named(&word.to_uppercase()),
                    Some(binding.input),
                    "{word}"
                );
            }
        }
        assert_eq!(input_named("500ms"), None);
    }

    #[test]
    fn the_footer_lists_each_key_once() {
        assert_eq!(
            footer(&default_hint(), &[]),
            "SPACE next  ·  ← back  ·  ? help  ·  X stop  ·  Q quit"
        );
        // The chapter's hint stands for SPACE…
        assert_eq!(
            footer("SPACE begin", &[]),
            "SPACE begin  ·  ← back  ·  ? help  ·  X stop  ·  Q quit"
        );
        // …and a last chapter's "Q quit" is not said twice.
        assert_eq!(
            footer("Q quit", &[]),
            "Q quit  ·  ← back  ·  ? help  ·  X stop"
        );
        assert_eq!(
            footer(
                "Running… next unlocks when this chapter finishes",
                &[Input::Previous]
            ),
            "Running… next unlocks when this chapter finishes  ·  ? help  ·  X stop  ·  Q quit"
        );
    }

    #[test]
    fn help_lines_align_the_keys() {
        let lines = help_lines();
        assert_eq!(lines.len(), BINDINGS.len());
        // Every description starts in the same column.
        let columns: Vec<usize> = lines
            .iter()
            .zip(BINDINGS)
            .map(|(line, b)| line.chars().count() - b.help.chars().count())
            .collect();
        assert!(columns.windows(2).all(|w| w[0] == w[1]), "{lines:#?}");
        assert_eq!(lines[0], "SPACE / ENTER / →   next chapter");
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with("quit, restoring every fault"))
        );
    }
}
