//! Read-only HTTP probes to targets the flow declared (`FlowInfo::http_probe`).

use crate::bindings::demo::flow::probe as raw;
pub use raw::{ProbeError, Response};
use std::time::Duration;

pub fn http_get(url: &str, timeout: Duration) -> Result<Response, ProbeError> {
    raw::http_get(url, crate::timing::clamp_ms(timeout))
}

pub fn http_post(url: &str, json_body: &str, timeout: Duration) -> Result<Response, ProbeError> {
    raw::http_post(url, json_body, crate::timing::clamp_ms(timeout))
}

impl ProbeError {
    /// A sentence for the audience (the derived `Display` is for logs).
    pub fn message(&self) -> String {
        match self {
            ProbeError::NotPermitted(url) => format!("probe not permitted: {url}"),
            ProbeError::Unreachable(why) => format!("unreachable: {why}"),
            ProbeError::Interrupted => "interrupted by the presenter".to_string(),
        }
    }
}
