//! The real terminal: raw mode and the alternate screen for the life of a
//! [`Screen`], given back on every way out (drop, error, panic), and an
//! optional asciicast recording of everything drawn.

use crate::app::App;
use crate::record::{CastWriter, Tee};
use crate::ui;
use anyhow::{Context, Result};
use crossterm::{cursor, execute, terminal};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{Stdout, stdout};
use std::path::Path;
use std::sync::{Arc, Mutex, Once};

pub struct Screen {
    terminal: Terminal<CrosstermBackend<Tee<Stdout>>>,
    cast: Option<Arc<Mutex<CastWriter>>>,
}

/// Leaves raw mode and the alternate screen. Safe to call more than once and
/// when they were never entered.
pub fn restore() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(stdout(), terminal::LeaveAlternateScreen, cursor::Show);
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Give the terminal back first, or the panic message lands on
            // the alternate screen in raw mode and is lost.
            restore();
            previous(info);
        }));
    });
}

impl Screen {
    /// Takes over the terminal; records to `record` when given.
    pub fn open(record: Option<&Path>) -> Result<Screen> {
        let (width, height) =
            terminal::size().context("the presenter needs a terminal (or pass --headless)")?;
        let cast = record
            .map(|path| CastWriter::create(path, width, height))
            .transpose()?
            .map(|c| Arc::new(Mutex::new(c)));
        let terminal = Terminal::new(CrosstermBackend::new(Tee::new(stdout(), cast.clone())))
            .context("cannot set up the terminal")?;
        install_panic_hook();
        // From here on, dropping `screen` gives the terminal back.
        let mut screen = Screen { terminal, cast };
        terminal::enable_raw_mode().context("cannot put the terminal in raw mode")?;
        // Straight to the terminal, not the recording: a player shows the
        // cast on its own screen, and its last frame should be the dashboard.
        execute!(stdout(), terminal::EnterAlternateScreen)
            .context("cannot switch to the alternate screen")?;
        screen.terminal.clear()?;
        Ok(screen)
    }

    pub fn draw(&mut self, app: &App) -> Result<()> {
        self.terminal.draw(|frame| ui::render(app, frame))?;
        Ok(())
    }

    /// Notes a new size in the recording; the next draw adapts to it.
    pub fn resized(&mut self, width: u16, height: u16) {
        if let Some(cast) = &self.cast {
            let mut cast = cast.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = cast.resize(width, height) {
                tracing::error!("recording a resize failed: {e}");
            }
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}
