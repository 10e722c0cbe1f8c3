//! etcd's v3 JSON gateway, as far as the flow reads it. Pure parsing, so it is
//! tested natively (`cargo test -p etcd-flow`).
//!
//! The gateway encodes 64-bit integers as JSON strings (`"leader": "1234…"`),
//! and omits fields at their zero value.

use serde_json::Value;

/// `POST /v3/maintenance/status` with `{}`: who answered and whom it follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub member_id: u64,
    /// 0 when the member knows no leader (no quorum).
    pub leader: u64,
    pub raft_term: u64,
}

/// One member from `POST /v3/cluster/member/list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: u64,
    /// `--name`; in this demo's compose file it is also the service name.
    pub name: String,
}

fn uint(value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn json(body: &str) -> Result<Value, String> {
    serde_json::from_str(body).map_err(|e| format!("etcd answered something that is not JSON: {e}"))
}

pub fn parse_status(body: &str) -> Result<Status, String> {
    let v = json(body)?;
    let member_id = uint(&v["header"]["member_id"])
        .ok_or_else(|| "etcd's status has no header.member_id".to_string())?;
    Ok(Status {
        member_id,
        leader: uint(&v["leader"]).unwrap_or(0),
        raft_term: uint(&v["raftTerm"]).unwrap_or(0),
    })
}

pub fn parse_members(body: &str) -> Result<Vec<Member>, String> {
    let v = json(body)?;
    let members = v["members"]
        .as_array()
        .ok_or_else(|| "etcd's member list has no members".to_string())?;
    members
        .iter()
        .map(|m| {
            Ok(Member {
                id: uint(&m["ID"]).ok_or_else(|| "a member has no ID".to_string())?,
                name: m["name"].as_str().unwrap_or_default().to_string(),
            })
        })
        .collect()
}

/// The leader's name, if the status names a leader that is in the list.
pub fn leader_name(status: &Status, members: &[Member]) -> Option<String> {
    members
        .iter()
        .find(|m| status.leader != 0 && m.id == status.leader)
        .map(|m| m.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shapes captured from etcd 3.4.23's gateway.
    const STATUS: &str = r#"{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"5","raft_term":"2"},"version":"3.4.23","dbSize":"20480","leader":"10276657743932975437","raftIndex":"9","raftTerm":"2","raftAppliedIndex":"9","dbSizeInUse":"20480"}"#;
    const MEMBERS: &str = r#"{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","raft_term":"2"},"members":[{"ID":"10276657743932975437","name":"etcd1","peerURLs":["http://etcd1:2380"],"clientURLs":["http://etcd1:2379"]},{"ID":"1","name":"etcd2","peerURLs":["http://etcd2:2380"],"clientURLs":["http://etcd2:2379"]}]}"#;

    #[test]
    fn the_leader_is_named_from_status_and_member_list() {
        let status = parse_status(STATUS).unwrap();
        assert_eq!(status.member_id, 10276657743932975437);
        assert_eq!(status.raft_term, 2);
        let members = parse_members(MEMBERS).unwrap();
        assert_eq!(members.len(), 2);
        assert_eq!(leader_name(&status, &members).as_deref(), Some("etcd1"));
    }

    #[test]
    fn no_leader_and_bad_bodies_are_values_not_panics() {
        let status = parse_status(r#"{"header":{"member_id":"7"}}"#).unwrap();
        assert_eq!(status.leader, 0);
        assert_eq!(leader_name(&status, &[]), None);
        assert!(parse_status("<html>").unwrap_err().contains("not JSON"));
        assert!(parse_status("{}").is_err());
        assert!(parse_members(r#"{"members":[{"name":"x"}]}"#).is_err());
    }
}
