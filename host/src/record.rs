//! `--record FILE.cast`: the bytes the terminal backend writes, teed into an
//! asciicast v2 file so any asciinema player can replay the show.
//!
//! Format: a JSON header line (`version`, `width`, `height`, `timestamp`),
//! then one JSON array per event: `[seconds, "o", text]` for output and
//! `[seconds, "r", "WxH"]` for a resize.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Writes asciicast v2 events to any sink.
pub struct CastWriter {
    sink: Box<dyn Write + Send>,
    started: Instant,
    /// Bytes of a UTF-8 sequence split across two flushes.
    partial: Vec<u8>,
}

impl CastWriter {
    pub fn new(mut sink: Box<dyn Write + Send>, width: u16, height: u16) -> io::Result<Self> {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let header = json!({
            "version": 2,
            "width": width,
            "height": height,
            "timestamp": timestamp,
            "env": {"TERM": std::env::var("TERM").unwrap_or_default()},
        });
        writeln!(sink, "{header}")?;
        sink.flush()?;
        Ok(CastWriter {
            sink,
            started: Instant::now(),
            partial: Vec::new(),
        })
    }

    pub fn create(path: &Path, width: u16, height: u16) -> Result<Self> {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create the recording {}", path.display()))?;
        Ok(CastWriter::new(
            Box::new(io::BufWriter::new(file)),
            width,
            height,
        )?)
    }

    fn event(&mut self, kind: &str, data: &str) -> io::Result<()> {
        let t = self.started.elapsed().as_secs_f64();
        writeln!(
            self.sink,
            "{}",
            json!([(t * 1e6).round() / 1e6, kind, data])
        )?;
        self.sink.flush()
    }

    /// Records terminal output. Events must be valid UTF-8, so an incomplete
    /// trailing sequence waits for the next call.
    pub fn output(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.partial.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.partial) {
            Ok(_) => self.partial.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            // Not UTF-8 at all: keep the text readable rather than drop it.
            Err(_) => {
                let text = String::from_utf8_lossy(&self.partial).into_owned();
                self.partial.clear();
                return self.event("o", &text);
            }
        };
        if valid == 0 {
            return Ok(());
        }
        let rest = self.partial.split_off(valid);
        let text =
            String::from_utf8(std::mem::replace(&mut self.partial, rest)).expect("checked above");
        self.event("o", &text)
    }

    pub fn resize(&mut self, width: u16, height: u16) -> io::Result<()> {
        self.event("r", &format!("{width}x{height}"))
    }
}

/// A writer that passes everything to `out` and, on each flush (ratatui
/// flushes once per frame), hands what was written to the recorder.
///
/// The recording needs no sanitiser of its own: it holds exactly the bytes
/// the terminal got, which are the backend's own sequences around cell
/// text that `ui` drew only after sanitising it. serde_json escapes the
/// backend's ESC bytes in each event, and no C1 control is left to write raw.
pub struct Tee<W: Write> {
    out: W,
    cast: Option<Arc<Mutex<CastWriter>>>,
    pending: Vec<u8>,
}

impl<W: Write> Tee<W> {
    pub fn new(out: W, cast: Option<Arc<Mutex<CastWriter>>>) -> Self {
        Tee {
            out,
            cast,
            pending: Vec::new(),
        }
    }
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        if self.cast.is_some() {
            self.pending.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()?;
        if let Some(cast) = &self.cast
            && !self.pending.is_empty()
        {
            let bytes = std::mem::take(&mut self.pending);
            // A recording that fails must not stop the show; it is logged once
            // and recording stops.
            let result = cast
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .output(&bytes);
            if let Err(e) = result {
                tracing::error!("recording stopped: {e}");
                self.cast = None;
            }
        }
        Ok(())
    }
}

/// A parsed asciicast v2 file.
#[derive(Debug)]
pub struct Cast {
    pub width: u16,
    pub height: u16,
    /// `(seconds, kind, data)` in file order.
    pub events: Vec<(f64, String, String)>,
}

impl Cast {
    pub fn parse(text: &str) -> Result<Cast> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Value = serde_json::from_str(lines.next().context("empty recording")?)
            .context("the recording's header is not JSON")?;
        if header["version"] != 2 {
            bail!("not an asciicast v2 recording: {header}");
        }
        let size = |key: &str| {
            header[key]
                .as_u64()
                .and_then(|v| u16::try_from(v).ok())
                .with_context(|| format!("the header has no valid {key}"))
        };
        let (width, height) = (size("width")?, size("height")?);
        let mut events = Vec::new();
        let mut last = 0.0;
        for (i, line) in lines.enumerate() {
            let event: (f64, String, String) = serde_json::from_str(line)
                .with_context(|| format!("event {} is not [time, kind, data]: {line}", i + 1))?;
            if event.0 < last {
                bail!("event {} goes back in time", i + 1);
            }
            last = event.0;
            events.push(event);
        }
        Ok(Cast {
            width,
            height,
            events,
        })
    }

    /// The output stream replayed through a terminal emulator; honours
    /// resize events like a player does.
    pub fn output(&self) -> impl Iterator<Item = (&str, &str)> {
        self.events
            .iter()
            .map(|(_, kind, data)| (kind.as_str(), data.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::App;
    use crate::model::{Capabilities, Chapter, FlowInfo};
    use ratatui::Terminal;
    use ratatui::backend::CrosstermBackend;

    /// A sink the test can read back after the writer is done with it.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn app(title: &str) -> App {
        let mut app = App::new(
            FlowInfo {
                name: "etcd".into(),
                version: "0.1.0".into(),
                description: String::new(),
                chapters: vec![
                    Chapter {
                        title: "Healthy".into(),
                        narration: "All three members [green]serve[/]".into(),
                        key_hint: String::new(),
                        auto_advance: false,
                        blocks_advance: false,
                        notes: String::new(),
                    },
                    Chapter {
                        title: title.into(),
                        narration: "Two members are [red]gone[/]".into(),
                        key_hint: String::new(),
                        auto_advance: false,
                        blocks_advance: false,
                        notes: String::new(),
                    },
                ],
                capabilities: Capabilities {
                    faults: vec![],
                    reads_workload: false,
                    http_probes: vec![],
                    memory_mib: 0,
                },
                default_workload: None,
                hypotheses: Vec::new(),
            },
            Instant::now(),
        );
        app.start();
        app
    }

    fn replay(cast: &Cast) -> vt100::Parser {
        let size = |n: u16| std::num::NonZeroU16::new(n).unwrap();
        let mut parser = vt100::Parser::new(size(cast.height), size(cast.width), 0);
        for (kind, data) in cast.output() {
            match kind {
                "o" => parser.process(data.as_bytes()),
                "r" => {
                    let (w, h) = data.split_once('x').unwrap();
                    parser.set_size(size(h.parse().unwrap()), size(w.parse().unwrap()));
                }
                _ => {}
            }
        }
        parser
    }

    #[test]
    fn a_recorded_show_parses_and_replays_its_final_frame() {
        let sink = Shared::default();
        let cast = Arc::new(Mutex::new(
            CastWriter::new(Box::new(sink.clone()), 90, 28).unwrap(),
        ));
        let screen = Shared::default();
        let backend = CrosstermBackend::new(Tee::new(screen.clone(), Some(cast.clone())));
        let mut terminal = Terminal::with_options(
            backend,
            ratatui::TerminalOptions {
                viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, 90, 28)),
            },
        )
        .unwrap();
        let mut app = app("Lose quorum");
        terminal.draw(|f| crate::ui::render(&app, f)).unwrap();
        app.on_input(crate::app::Input::Next);
        terminal.draw(|f| crate::ui::render(&app, f)).unwrap();

        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let cast = Cast::parse(&text).unwrap();
        assert_eq!((cast.width, cast.height), (90, 28));
        assert!(cast.events.len() >= 2, "one event per frame");
        // The recording holds exactly what reached the screen.
        let shown: String = cast.output().map(|(_, d)| d).collect();
        assert_eq!(shown.as_bytes(), screen.0.lock().unwrap().as_slice());

        let final_frame = replay(&cast).screen().contents();
        assert!(
            final_frame.contains("Chapter 2/2: Lose quorum"),
            "{final_frame}"
        );
        assert!(
            final_frame.contains("Two members are gone"),
            "{final_frame}"
        );
        assert!(!final_frame.contains("All three members"), "{final_frame}");
    }

    #[test]
    fn a_utf8_sequence_split_across_flushes_is_recorded_whole() {
        let sink = Shared::default();
        let mut cast = CastWriter::new(Box::new(sink.clone()), 10, 2).unwrap();
        let bytes = "a●b".as_bytes();
        cast.output(&bytes[..2]).unwrap();
        cast.output(&bytes[2..]).unwrap();
        cast.resize(20, 4).unwrap();
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let cast = Cast::parse(&text).unwrap();
        let events: Vec<(&str, &str)> = cast.output().collect();
        assert_eq!(events, [("o", "a"), ("o", "●b"), ("r", "20x4")]);
    }

    #[test]
    fn malformed_recordings_are_refused_with_a_reason() {
        let err = Cast::parse("{\"version\": 1}").unwrap_err().to_string();
        assert!(err.contains("not an asciicast v2"), "{err}");
        let err = Cast::parse("{\"version\": 2, \"width\": 80, \"height\": 24}\n[1.0, \"o\"]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("event 1"), "{err}");
        let err = Cast::parse(
            "{\"version\": 2, \"width\": 80, \"height\": 24}\n[2.0, \"o\", \"a\"]\n[1.0, \"o\", \"b\"]",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("back in time"), "{err}");
    }
}
