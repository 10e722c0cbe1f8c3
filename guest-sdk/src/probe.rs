//! Read-only HTTP probes to targets the flow declared (`FlowInfo::http_probe`).

use crate::bindings::demo::flow::probe as raw;
pub use raw::{ProbeError, Response};
use std::time::Duration;

/// `GET url`, waiting at most `timeout`. The URL must start with a prefix the
/// flow declared. A URL may name a Compose service as its host
/// (`http://pd0:2379/…`): the host sends it to the port Docker published for
/// that container port, so a flow works whatever ports the presenter chose.
pub fn http_get(url: &str, timeout: Duration) -> Result<Response, ProbeError> {
    raw::http_get(url, crate::timing::clamp_ms(timeout))
}

/// `POST url` with a JSON body (etcd's v3 gateway is POST-only); otherwise as
/// [`http_get`].
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
