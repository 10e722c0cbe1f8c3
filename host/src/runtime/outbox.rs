//! What a flow shows the audience (narration and badges), on its way to the
//! app: rate-limited and coalesced, so that a flow calling `narration::append`
//! in a loop cannot grow the event channel, the transcript or the screen
//! without bound.
//!
//! Within the rate, each call becomes one event, as written. Past it, calls
//! are merged into one pending update (the last `set` plus the lines
//! appended after it, the oldest lines dropped beyond [`MAX_PENDING_LINES`]
//! with a visible marker, and the last badge), which a flusher task sends as
//! soon as the rate allows. The flow task flushes whatever is pending when a
//! chapter ends, so the last word of a chapter is always shown.

use crate::events::{Event, Level, RunId};
use crate::rate::TokenBucket;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};

/// Narration and badge updates a second, after a burst of [`UPDATE_BURST`].
const UPDATES_PER_SECOND: f64 = 20.0;
const UPDATE_BURST: f64 = 60.0;
/// Narration bytes a second, after a burst of [`BYTES_BURST`].
const BYTES_PER_SECOND: f64 = 64.0 * 1024.0;
const BYTES_BURST: f64 = 512.0 * 1024.0;
/// The most lines (and bytes) one coalesced update carries; older lines go.
pub const MAX_PENDING_LINES: usize = 200;
const MAX_PENDING_BYTES: usize = 256 * 1024;
/// How soon the flusher tries again while the rate holds it back.
const RETRY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NarrationOp {
    Set(String),
    Append(String),
}

pub struct Outbox {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    wake: Notify,
    events: mpsc::UnboundedSender<Event>,
}

struct State {
    updates: TokenBucket,
    bytes: TokenBucket,
    pending: Pending,
    closed: bool,
}

#[derive(Default)]
struct Pending {
    run: RunId,
    /// The last `set` since the previous flush.
    set: Option<String>,
    /// Lines appended after it (or to what is on screen).
    lines: VecDeque<String>,
    line_bytes: usize,
    dropped_lines: usize,
    badge: Option<(String, Level)>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.set.is_none() && self.lines.is_empty() && self.badge.is_none()
    }

    fn bytes(&self) -> usize {
        self.set.as_ref().map_or(0, String::len) + self.line_bytes
    }

    fn merge(&mut self, op: NarrationOp) {
        match op {
            NarrationOp::Set(text) => {
                // A set replaces whatever was pending before it.
                self.lines.clear();
                self.line_bytes = 0;
                self.dropped_lines = 0;
                self.set = Some(text);
            }
            NarrationOp::Append(text) => {
                for line in text.lines() {
                    self.line_bytes += line.len();
                    self.lines.push_back(line.to_string());
                }
                while self.lines.len() > MAX_PENDING_LINES || self.line_bytes > MAX_PENDING_BYTES {
                    let Some(gone) = self.lines.pop_front() else {
                        break;
                    };
                    self.line_bytes -= gone.len();
                    self.dropped_lines += 1;
                }
            }
        }
    }

    /// The events that show what is pending, in order.
    fn take_events(&mut self) -> Vec<Event> {
        let run = self.run;
        let taken = std::mem::replace(
            self,
            Pending {
                run,
                ..Pending::default()
            },
        );
        let mut lines: Vec<String> = Vec::new();
        if taken.dropped_lines > 0 {
            lines.push(dropped_marker(taken.dropped_lines));
        }
        lines.extend(taken.lines);
        let mut events = Vec::new();
        match taken.set {
            Some(set) => {
                let mut markup = set;
                for line in &lines {
                    markup.push('\n');
                    markup.push_str(line);
                }
                events.push(Event::NarrationSet { run, markup });
            }
            None if !lines.is_empty() => events.push(Event::NarrationAppend {
                run,
                markup: lines.join("\n"),
            }),
            None => {}
        }
        if let Some((text, level)) = taken.badge {
            events.push(Event::Badge { run, text, level });
        }
        events
    }
}

/// The line that stands for lines a flood pushed out.
pub fn dropped_marker(count: usize) -> String {
    format!(
        "[dim]… {count} earlier lines not shown (the flow wrote faster than a screen can show)[/]"
    )
}

impl State {
    /// Sends what is pending if the rate allows; `false` if it held it back.
    fn try_flush(&mut self, events: &mpsc::UnboundedSender<Event>, now: Instant) -> bool {
        if self.pending.is_empty() {
            return true;
        }
        let bytes = self.pending.bytes() as f64;
        if !self.updates.try_take(1.0, now) {
            return false;
        }
        if !self.bytes.try_take(bytes, now) {
            return false;
        }
        for event in self.pending.take_events() {
            let _ = events.send(event);
        }
        true
    }
}

impl Outbox {
    /// An outbox sending to `events`; its flusher runs on the current tokio
    /// runtime (without one, what is pending goes out on the next call or
    /// the chapter's end).
    pub fn new(events: mpsc::UnboundedSender<Event>) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                updates: TokenBucket::new(UPDATES_PER_SECOND, UPDATE_BURST),
                bytes: TokenBucket::new(BYTES_PER_SECOND, BYTES_BURST),
                pending: Pending::default(),
                closed: false,
            }),
            wake: Notify::new(),
            events,
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(flusher(shared.clone()));
        }
        Outbox { shared }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Updates from now on belong to chapter run `run`; what an earlier run
    /// left pending is dropped (the app would not show it under this one).
    pub fn begin_run(&self, run: RunId) {
        let mut state = self.state();
        state.pending = Pending {
            run,
            ..Pending::default()
        };
    }

    pub fn narration(&self, op: NarrationOp) {
        let mut state = self.state();
        state.pending.merge(op);
        self.flush_or_wake(&mut state);
    }

    pub fn badge(&self, text: String, level: Level) {
        let mut state = self.state();
        state.pending.badge = Some((text, level));
        self.flush_or_wake(&mut state);
    }

    fn flush_or_wake(&self, state: &mut State) {
        if !state.try_flush(&self.shared.events, Instant::now()) {
            self.shared.wake.notify_one();
        }
    }

    /// Sends whatever is pending now, whatever the rate: the chapter ended.
    pub fn flush(&self) {
        let mut state = self.state();
        for event in state.pending.take_events() {
            let _ = self.shared.events.send(event);
        }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.state().closed = true;
        self.shared.wake.notify_one();
    }
}

/// Sends held-back updates as the rate allows, until the outbox is dropped.
async fn flusher(shared: Arc<Shared>) {
    loop {
        shared.wake.notified().await;
        loop {
            let sent = {
                let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
                if state.closed {
                    return;
                }
                state.try_flush(&shared.events, Instant::now())
            };
            if sent {
                break;
            }
            tokio::time::sleep(RETRY).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(rx: &mut mpsc::UnboundedReceiver<Event>) -> Vec<Event> {
        let mut events = Vec::new();
        while let Ok(event) = rx.try_recv() {
            events.push(event);
        }
        events
    }

    #[tokio::test]
    async fn calls_within_the_rate_pass_one_by_one() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let outbox = Outbox::new(tx);
        outbox.begin_run(3);
        outbox.narration(NarrationOp::Set("hello".into()));
        outbox.narration(NarrationOp::Append("world".into()));
        let events = drain(&mut rx);
        assert!(matches!(&events[..], [
            Event::NarrationSet { run: 3, markup: a },
            Event::NarrationAppend { run: 3, markup: b },
        ] if a == "hello" && b == "world"));
    }

    #[tokio::test]
    async fn a_flood_is_coalesced_and_bounded_and_its_last_word_arrives() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let outbox = Outbox::new(tx);
        outbox.begin_run(1);
        let line = "y".repeat(32 * 1024);
        for i in 0..20_000 {
            outbox.narration(NarrationOp::Append(format!("{i} {line}")));
        }
        outbox.narration(NarrationOp::Append("the last line".into()));
        let during = drain(&mut rx);
        assert!(
            during.len() <= UPDATE_BURST as usize + 1,
            "{} events for 20,001 appends",
            during.len()
        );
        let sent: usize = during
            .iter()
            .map(|e| match e {
                Event::NarrationAppend { markup, .. } => markup.len(),
                _ => 0,
            })
            .sum();
        assert!(
            sent <= BYTES_BURST as usize + 64 * 1024,
            "{sent} bytes sent"
        );
        outbox.flush();
        let last = drain(&mut rx);
        let Some(Event::NarrationAppend { markup, .. }) = last.last() else {
            panic!("nothing pending was flushed: {last:?}");
        };
        assert!(
            markup.ends_with("the last line"),
            "{}",
            &markup[markup.len() - 40..]
        );
        assert!(markup.starts_with("[dim]… "), "no dropped-lines marker");
        assert!(markup.len() <= MAX_PENDING_BYTES + 200);
        assert!(markup.lines().count() <= MAX_PENDING_LINES + 1);
    }

    #[tokio::test]
    async fn held_back_updates_go_out_by_themselves_once_the_rate_allows() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let outbox = Outbox::new(tx);
        outbox.begin_run(1);
        for i in 0..200 {
            outbox.narration(NarrationOp::Set(format!("step {i}")));
        }
        outbox.badge("done".into(), Level::Success);
        tokio::time::sleep(Duration::from_millis(400)).await;
        let events = drain(&mut rx);
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::NarrationSet { markup, .. } if markup == "step 199")),
            "the last set never arrived"
        );
        assert!(matches!(events.last(), Some(Event::Badge { text, .. }) if text == "done"));
    }

    #[tokio::test]
    async fn a_new_run_drops_what_the_old_one_left_pending() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let outbox = Outbox::new(tx);
        outbox.begin_run(1);
        for _ in 0..200 {
            outbox.narration(NarrationOp::Append("old".into()));
        }
        drain(&mut rx);
        outbox.begin_run(2);
        outbox.flush();
        assert!(drain(&mut rx).is_empty());
    }
}
