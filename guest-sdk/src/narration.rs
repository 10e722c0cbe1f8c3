//! What the audience reads: a [`Markup`] (see [`crate::markup`]). Plain text
//! of any kind (`&str`, `String`, a number) is shown as written; styled
//! spans come from `markup::bold(…)` and friends, joined with `+`.

use crate::bindings::demo::flow::narration as raw;
pub use crate::bindings::demo::flow::types::Level;
use crate::markup::Markup;

/// Replaces the narration panel's text.
pub fn set(text: impl Into<Markup>) {
    raw::set(text.into().as_str());
}

/// Adds one line under the narration.
pub fn append(line: impl Into<Markup>) {
    raw::append(line.into().as_str());
}

/// Shows a short badge (plain text) in the header; [`clear_badge`] removes it.
pub fn badge(text: &str, level: Level) {
    raw::badge(text, level);
}

/// Removes the header badge.
pub fn clear_badge() {
    raw::badge("", Level::Info);
}
