//! The presenter as a library: the binary in `main.rs` is a thin command-line
//! front end, and benches and tests reach the same modules through here.

pub mod app;
pub mod capability;
pub mod chart;
pub mod cli;
pub mod cluster;
pub mod cluster_panel;
pub mod consent;
pub mod dry_run;
pub mod events;
pub mod flow;
pub mod hypotheses;
pub mod keys;
pub mod logfile;
pub mod markup;
pub mod model;
pub mod new_flow;
pub mod notes;
pub mod probe_http;
pub mod probe_url;
pub mod rate;
pub mod record;
pub mod report;
pub mod runtime;
pub mod sanitize;
pub mod show;
pub mod term;
#[cfg(test)]
mod test_support;
pub mod timeline;
pub mod transcript;
pub mod trust;
pub mod ui;
pub mod widgets;
pub mod workload;
