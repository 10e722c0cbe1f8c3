//! Which helpers a sweep may remove. A helper belongs either to a fault on
//! the ledger (a delayer, named by its entry) or to a call of this process
//! that is using it right now (a `run`, a probe, a Swarm job, a delayer
//! being started); every other helper of the scope is a leftover (of a host
//! killed between a fault's steps) and goes.
//!
//! Each call that makes a helper registers a token before the helper exists
//! and labels the helper with it; the token is unregistered only once the
//! helper is gone or handed to the ledger. A sweep lists the helpers first
//! and reads the ledger and the registry after: a helper it listed existed,
//! so its call had registered (and, for a delayer, its entry was on the
//! ledger); if either is no longer there, the helper was already removed
//! and removing it again is harmless. So a sweep never races a fault that
//! is being made or undone.

use crate::cluster::ledger::{Entry, UndoAction};
use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

/// The label that carries the token of the call that made a helper.
pub const OP_LABEL: &str = "demo.netfault.op";

/// A helper container (or, on a swarm, a helper service) as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub id: String,
    pub name: String,
    /// Its `OP_LABEL`; a helper made before the label existed has none.
    pub op: Option<String>,
}

/// The tokens of the calls of this process that are using a helper now.
static IN_USE: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn in_use_list() -> MutexGuard<'static, Vec<String>> {
    IN_USE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A call's claim on the helper it makes; dropped (also when the call is
/// cancelled) once the helper is removed or owned by a ledger entry.
#[derive(Debug)]
pub struct InUse(String);

impl InUse {
    /// Registers a fresh token; call before creating the helper.
    pub fn begin() -> Self {
        let token = format!("{:016x}", rand::random::<u64>());
        in_use_list().push(token.clone());
        InUse(token)
    }

    /// The value of the helper's `OP_LABEL`.
    pub fn token(&self) -> &str {
        &self.0
    }
}

impl Drop for InUse {
    fn drop(&mut self) {
        let mut list = in_use_list();
        if let Some(pos) = list.iter().position(|t| *t == self.0) {
            list.swap_remove(pos);
        }
    }
}

/// A snapshot of the tokens in use; take it after listing the helpers.
pub fn in_use() -> HashSet<String> {
    in_use_list().iter().cloned().collect()
}

/// The helpers of `found` that a sweep may remove: those no outstanding
/// entry names as its delayer (by name or id) and that no call in `in_use`
/// is using.
pub fn sweepable<'a>(
    found: &'a [Found],
    entries: &[Entry],
    in_use: &HashSet<String>,
) -> Vec<&'a Found> {
    let owned: HashSet<&str> = entries
        .iter()
        .filter_map(|e| match &e.undo {
            UndoAction::Unshape {
                delayer: Some(name),
                ..
            } => Some(name.trim_start_matches('/')),
            _ => None,
        })
        .collect();
    found
        .iter()
        .filter(|h| !owned.contains(h.name.as_str()) && !owned.contains(h.id.as_str()))
        .filter(|h| h.op.as_ref().is_none_or(|op| !in_use.contains(op)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(container_id: &str, undo: UndoAction) -> Entry {
        Entry {
            container_id: container_id.into(),
            container: format!("p-{container_id}"),
            service: "etcd1".into(),
            task: None,
            action: "shape delay 200ms".into(),
            undo,
            at_unix_ms: 1,
        }
    }

    fn unshape(delayer: Option<&str>) -> UndoAction {
        UndoAction::Unshape {
            steps: vec![vec!["iptables".into(), "-F".into()]],
            delayer: delayer.map(str::to_string),
            started_at: "t".into(),
        }
    }

    fn found(id: &str, name: &str, op: Option<&str>) -> Found {
        Found {
            id: id.into(),
            name: name.into(),
            op: op.map(str::to_string),
        }
    }

    fn names(chosen: Vec<&Found>) -> Vec<&str> {
        chosen.into_iter().map(|h| h.name.as_str()).collect()
    }

    #[test]
    fn a_delayer_an_entry_names_stays_and_one_no_entry_names_goes() {
        let entries = vec![
            entry("a", unshape(Some("p-netfault-delay-a"))),
            entry("b", UndoAction::Start),
        ];
        let helpers = vec![
            found("1", "p-netfault-delay-a", Some("t1")),
            found("2", "p-netfault-delay-b", Some("t2")),
            found("3", "p-netfault-delay-c", None),
        ];
        let chosen = sweepable(&helpers, &entries, &HashSet::new());
        assert_eq!(names(chosen), ["p-netfault-delay-b", "p-netfault-delay-c"]);
    }

    #[test]
    fn an_entry_may_name_its_delayer_by_container_id() {
        let entries = vec![entry("a", unshape(Some("4f2a9c")))];
        let helpers = vec![
            found("4f2a9c", "p-netfault-delay-a", None),
            found("77", "p-netfault-delay-x", None),
        ];
        let chosen = sweepable(&helpers, &entries, &HashSet::new());
        assert_eq!(names(chosen), ["p-netfault-delay-x"]);
    }

    #[test]
    fn a_helper_a_call_is_using_stays_whatever_the_ledger_says() {
        // A `run` helper applying a fault whose entry is on the ledger, and
        // the probe made before any entry: neither is named by an entry.
        let entries = vec![entry("b", unshape(Some("p-netfault-delay-b")))];
        let helpers = vec![
            found("1", "busy_run", Some("t-run")),
            found("2", "busy_probe", Some("t-probe")),
            found("3", "left_run", Some("t-dead")),
            found("4", "p-netfault-delay-b", Some("t-delay")),
        ];
        let in_use: HashSet<String> = ["t-run", "t-probe"].map(String::from).into();
        let chosen = sweepable(&helpers, &entries, &in_use);
        assert_eq!(names(chosen), ["left_run"]);
    }

    #[test]
    fn with_an_empty_ledger_and_nothing_in_use_every_helper_goes() {
        let helpers = vec![
            found("1", "p-netfault-delay-a", Some("t1")),
            found("2", "p-netfault-job-9-0", None),
        ];
        let chosen = sweepable(&helpers, &[], &HashSet::new());
        assert_eq!(chosen.len(), 2);
        // Only a delayer's name protects: an isolation names no helper.
        let rejoin = UndoAction::Rejoin {
            steps: vec![],
            started_at: "t".into(),
        };
        let chosen = sweepable(&helpers, &[entry("a", rejoin)], &HashSet::new());
        assert_eq!(chosen.len(), 2);
    }

    #[test]
    fn a_token_is_in_use_from_begin_until_drop() {
        let claim = InUse::begin();
        let token = claim.token().to_string();
        assert!(in_use().contains(&token));
        let other = InUse::begin();
        assert_ne!(other.token(), token);
        drop(claim);
        assert!(!in_use().contains(&token));
        assert!(in_use().contains(other.token()));
    }
}
