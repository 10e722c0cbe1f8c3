//! The real terminal: raw mode and the alternate screen for the life of a
//! [`Screen`], given back on every way out (drop, error, panic), and an
//! optional asciicast recording of everything drawn.

use crate::app::App;
use crate::cluster::{Node, NodeState};
use crate::record::{CastWriter, Tee};
use crate::ui;
use anyhow::{Context, Result};
use crossterm::{cursor, execute, terminal};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::collections::HashMap;
use std::io::{Stdout, stdout};
use std::path::Path;
use std::sync::{Arc, Mutex, Once};

pub struct Screen {
    terminal: Terminal<FullscreenBackend<CrosstermBackend<Tee<Stdout>>>>,
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
        let backend = CrosstermBackend::new(Tee::new(stdout(), cast.clone()));
        let terminal =
            Terminal::new(FullscreenBackend::new(backend)).context("cannot set up the terminal")?;
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

/// Nanoseconds since 1970 by the wall clock (0 if the clock is before 1970).
fn unix_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// When `main` began, for the first-frame log line.
static MAIN_STARTED_NS: std::sync::OnceLock<u128> = std::sync::OnceLock::new();

/// Call first thing in `main`: the first-frame log line then also says how long
/// after `main` began the frame came (launch time minus the shell's and the
/// loader's part).
pub fn mark_main_started() {
    MAIN_STARTED_NS.get_or_init(unix_ns);
}

/// Logs, with wall-clock time, when the first frame and each change of a
/// node's state reached the screen: what `scripts/bench.sh` compares with
/// Docker's own event times (fault to screen) and the launch time.
#[derive(Default)]
pub struct FrameLog {
    first_drawn: bool,
    /// Each container's state on the last frame logged, by id: a frame costs
    /// one lookup per node, whatever the cluster's size (a search of the
    /// previous list per node was 138 µs a frame at 300 containers).
    states: HashMap<String, NodeState>,
}

impl FrameLog {
    pub fn drawn(&mut self, app: &App) {
        let unix_ns = unix_ns();
        if !self.first_drawn {
            self.first_drawn = true;
            let main_ns = MAIN_STARTED_NS.get().copied().unwrap_or_default();
            tracing::info!(
                "first frame drawn at unix_ns={unix_ns} (main began at unix_ns={main_ns})"
            );
        }
        for node in self.changes(&app.nodes) {
            tracing::info!(
                "frame drawn: {} {} at unix_ns={unix_ns}",
                node.service,
                crate::cluster::state_name(node.state)
            );
        }
    }

    /// The nodes whose state differs from the last frame's (all of them the
    /// first time), remembering `nodes` as this frame's.
    fn changes<'a>(&mut self, nodes: &'a [Node]) -> Vec<&'a Node> {
        let changed: Vec<&Node> = nodes
            .iter()
            .filter(|n| self.states.get(&n.id) != Some(&n.state))
            .collect();
        for node in &changed {
            match self.states.get_mut(&node.id) {
                Some(state) => *state = node.state,
                None => {
                    self.states.insert(node.id.clone(), node.state);
                }
            }
        }
        if self.states.len() != nodes.len() {
            // Some are gone from the list.
            self.states = nodes.iter().map(|n| (n.id.clone(), n.state)).collect();
        }
        changed
    }
}

/// A full-screen backend that never asks the terminal where its cursor is.
///
/// ratatui's `clear()` (on open and after every resize) saves and restores
/// the cursor with a cursor-position query. crossterm answers that query
/// through the same reader the presenter's key stream is blocked on, so it
/// times out after 2 s and the draw fails: a resize would end the show. On
/// the alternate screen with a hidden cursor, the position ratatui itself
/// last set is the right answer.
pub struct FullscreenBackend<B> {
    inner: B,
    cursor: ratatui::layout::Position,
}

impl<B> FullscreenBackend<B> {
    pub fn new(inner: B) -> Self {
        FullscreenBackend {
            inner,
            cursor: ratatui::layout::Position::ORIGIN,
        }
    }
}

impl<B: ratatui::backend::Backend> ratatui::backend::Backend for FullscreenBackend<B> {
    type Error = B::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a ratatui::buffer::Cell)>,
    {
        self.inner.draw(content)
    }

    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> Result<ratatui::layout::Position, Self::Error> {
        Ok(self.cursor)
    }

    fn set_cursor_position<P: Into<ratatui::layout::Position>>(
        &mut self,
        position: P,
    ) -> Result<(), Self::Error> {
        self.cursor = position.into();
        self.inner.set_cursor_position(self.cursor)
    }

    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ratatui::backend::ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> Result<ratatui::layout::Size, Self::Error> {
        self.inner.size()
    }

    fn window_size(&mut self) -> Result<ratatui::backend::WindowSize, Self::Error> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod fullscreen_tests {
    use super::FullscreenBackend;
    use ratatui::Terminal;
    use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
    use ratatui::buffer::Cell;
    use ratatui::layout::{Position, Rect, Size};
    use std::cell::Cell as Counter;
    use std::rc::Rc;

    /// A backend that counts cursor queries: on a real terminal each is a
    /// round trip that can time out (`ESC [6n` waiting for an answer).
    struct CountsCursorQueries {
        inner: TestBackend,
        queries: Rc<Counter<u32>>,
    }

    impl Backend for CountsCursorQueries {
        type Error = <TestBackend as Backend>::Error;

        fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
        where
            I: Iterator<Item = (u16, u16, &'a Cell)>,
        {
            self.inner.draw(content)
        }

        fn hide_cursor(&mut self) -> Result<(), Self::Error> {
            self.inner.hide_cursor()
        }

        fn show_cursor(&mut self) -> Result<(), Self::Error> {
            self.inner.show_cursor()
        }

        fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
            self.queries.set(self.queries.get() + 1);
            self.inner.get_cursor_position()
        }

        fn set_cursor_position<P: Into<Position>>(&mut self, p: P) -> Result<(), Self::Error> {
            self.inner.set_cursor_position(p)
        }

        fn clear(&mut self) -> Result<(), Self::Error> {
            self.inner.clear()
        }

        fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
            self.inner.clear_region(clear_type)
        }

        fn size(&self) -> Result<Size, Self::Error> {
            self.inner.size()
        }

        fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
            self.inner.window_size()
        }

        fn flush(&mut self) -> Result<(), Self::Error> {
            self.inner.flush()
        }
    }

    #[test]
    fn clearing_resizing_and_drawing_never_query_the_terminal() {
        let queries = Rc::new(Counter::new(0));
        let counting = CountsCursorQueries {
            inner: TestBackend::new(20, 6),
            queries: queries.clone(),
        };
        // The counter itself works: a bare terminal over it does query.
        let mut bare = Terminal::new(CountsCursorQueries {
            inner: TestBackend::new(20, 6),
            queries: queries.clone(),
        })
        .unwrap();
        bare.backend_mut().get_cursor_position().unwrap();
        assert_eq!(queries.get(), 1);
        queries.set(0);

        let mut terminal = Terminal::new(FullscreenBackend::new(counting)).unwrap();
        terminal.backend_mut().set_cursor_position((3, 2)).unwrap();
        assert_eq!(
            terminal.backend_mut().get_cursor_position().unwrap(),
            Position::new(3, 2)
        );
        terminal.clear().unwrap();
        terminal.resize(Rect::new(0, 0, 30, 8)).unwrap();
        terminal
            .draw(|frame| frame.render_widget("hello", frame.area()))
            .unwrap();
        terminal.show_cursor().unwrap();
        assert_eq!(
            queries.get(),
            0,
            "the terminal was asked where its cursor is"
        );
    }
}

#[cfg(test)]
mod frame_log_tests {
    use super::FrameLog;
    use crate::cluster::{Node, NodeState};

    fn nodes(n: usize) -> Vec<Node> {
        (0..n)
            .map(|i| {
                let service = format!("svc{:02}", i % 10);
                Node::fixture(
                    service,
                    format!("c{i}"),
                    format!("id{i}"),
                    NodeState::Running,
                )
            })
            .collect()
    }

    /// The fault-to-screen figure reads "frame drawn: SERVICE STATE": each
    /// container's change is logged once, on the frame that shows it, also
    /// when another container of its service is already in that state.
    #[test]
    fn each_container_change_is_logged_once_on_its_frame() {
        let mut log = FrameLog::default();
        let mut nodes = nodes(300);
        assert_eq!(
            log.changes(&nodes).len(),
            300,
            "the first frame names every node"
        );
        assert!(log.changes(&nodes).is_empty());
        nodes[7].state = NodeState::Exited;
        let changed: Vec<&str> = log.changes(&nodes).iter().map(|n| n.id.as_str()).collect();
        assert_eq!(changed, ["id7"]);
        nodes[17].state = NodeState::Exited;
        let changed: Vec<&str> = log.changes(&nodes).iter().map(|n| n.id.as_str()).collect();
        assert_eq!(changed, ["id17"], "svc07 has an exited node already");
        assert!(log.changes(&nodes).is_empty());
        nodes.truncate(10);
        assert!(
            log.changes(&nodes).is_empty(),
            "removed nodes are no change to show"
        );
        nodes.push(self::nodes(11).remove(10));
        assert_eq!(log.changes(&nodes).len(), 1);
    }
}
