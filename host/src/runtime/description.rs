//! A flow's self-description as the host keeps it: bounded and sanitised.

use super::failure::GuestFailure;
use crate::model::{Capabilities, Chapter, FlowInfo};

/// The most chapters and capability items a flow may declare.
const MAX_CHAPTERS: usize = 256;
const MAX_DECLARED_ITEMS: usize = 64;

/// A flow's self-description as the host keeps it: every string without
/// controls or escape sequences and cut to a size that fits where it is
/// shown, lists bounded. Probe prefixes are left as written (they are URLs,
/// parsed and refused when malformed by the grant check), only bounded.
pub(super) fn kept_info(info: FlowInfo) -> Result<FlowInfo, GuestFailure> {
    use crate::sanitize::{flow_line, truncated};
    let too_many = |what: &str, n: usize, max: usize| {
        GuestFailure::Refused(format!(
            "declares {n} {what}; a flow may declare at most {max}"
        ))
    };
    if info.chapters.len() > MAX_CHAPTERS {
        return Err(too_many("chapters", info.chapters.len(), MAX_CHAPTERS));
    }
    let caps = &info.capabilities;
    if caps.faults.len() > MAX_DECLARED_ITEMS {
        return Err(too_many(
            "fault grants",
            caps.faults.len(),
            MAX_DECLARED_ITEMS,
        ));
    }
    if info.hypotheses.len() > crate::hypotheses::MAX_HYPOTHESES {
        return Err(too_many(
            "hypotheses",
            info.hypotheses.len(),
            crate::hypotheses::MAX_HYPOTHESES,
        ));
    }
    for hypothesis in &info.hypotheses {
        crate::hypotheses::spec::check_bounds(hypothesis)
            .map_err(|why| GuestFailure::Refused(format!("declares a hypothesis that {why}")))?;
    }
    if caps.http_probes.len() > MAX_DECLARED_ITEMS {
        return Err(too_many(
            "probe prefixes",
            caps.http_probes.len(),
            MAX_DECLARED_ITEMS,
        ));
    }
    let text = |t: String, max: usize| match crate::sanitize::display_text(&truncated(t, max)) {
        std::borrow::Cow::Borrowed(b) => b.to_string(),
        std::borrow::Cow::Owned(o) => o,
    };
    Ok(FlowInfo {
        name: flow_line(info.name, 64),
        version: flow_line(info.version, 32),
        description: text(info.description, 2048),
        chapters: info
            .chapters
            .into_iter()
            .map(|c| Chapter {
                title: flow_line(c.title, 120),
                narration: text(c.narration, 64 * 1024),
                key_hint: flow_line(c.key_hint, 120),
                notes: text(c.notes, 16 * 1024),
                ..c
            })
            .collect(),
        capabilities: Capabilities {
            faults: info
                .capabilities
                .faults
                .into_iter()
                .map(|mut grant| {
                    grant.services = flow_line(grant.services, 128);
                    grant.actions.sort();
                    grant.actions.dedup();
                    grant.peers.truncate(MAX_DECLARED_ITEMS);
                    grant.peers = grant.peers.into_iter().map(|p| flow_line(p, 128)).collect();
                    grant.peers.sort();
                    grant.peers.dedup();
                    grant
                })
                .collect(),
            reads_workload: info.capabilities.reads_workload,
            http_probes: info
                .capabilities
                .http_probes
                .into_iter()
                .map(|p| truncated(p, 2048))
                .collect(),
            memory_mib: info.capabilities.memory_mib,
        },
        default_workload: info.default_workload.map(|w| truncated(w, 1024)),
        hypotheses: info.hypotheses,
    })
}
