//! What the audience reads. Text is narration markup (see [`crate::markup`]).

use crate::bindings::demo::flow::narration as raw;
pub use crate::bindings::demo::flow::types::Level;

/// Replaces the narration panel's text.
pub fn set(markup: &str) {
    raw::set(markup);
}

/// Adds one line under the narration.
pub fn append(markup: &str) {
    raw::append(markup);
}

/// Shows a short badge in the header; [`clear_badge`] removes it.
pub fn badge(text: &str, level: Level) {
    raw::badge(text, level);
}

/// Removes the header badge.
pub fn clear_badge() {
    raw::badge("", Level::Info);
}
