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
    member_name(members, status.leader).filter(|_| status.leader != 0)
}

/// The name of the member with `id`.
pub fn member_name(members: &[Member], id: u64) -> Option<String> {
    members.iter().find(|m| m.id == id).map(|m| m.name.clone())
}

/// The leader every member names, with its own term, when every member
/// answered and all name the same leader (which answered too).
pub fn agreed_leader(statuses: &[Option<Status>]) -> Option<(u64, u64)> {
    let statuses: Vec<&Status> = statuses.iter().map(Option::as_ref).collect::<Option<_>>()?;
    let leader = statuses.first()?.leader;
    if leader == 0 || statuses.iter().any(|s| s.leader != leader) {
        return None;
    }
    let own = statuses.iter().find(|s| s.member_id == leader)?;
    Some((leader, own.raft_term))
}

/// Standard base64 with padding: the gateway's encoding of bytes fields.
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The body of `POST /v3/kv/put` for this key and value.
pub fn put_body(key: &str, value: &str) -> String {
    serde_json::json!({
        "key": base64(key.as_bytes()),
        "value": base64(value.as_bytes()),
    })
    .to_string()
}

/// What `POST /v3/kv/put` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// Committed: 200 with a response header and no error.
    Committed { revision: u64 },
    /// Any other answer, with etcd's message (or the start of the body).
    Refused(String),
}

pub fn parse_put(status: u16, body: &str) -> PutOutcome {
    let v: Option<Value> = serde_json::from_str(body).ok();
    let error = v.as_ref().and_then(|v| {
        v.get("error")
            .or_else(|| v.get("message"))
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let header = v.as_ref().and_then(|v| v.get("header"));
    match (status, error, header) {
        (200, None, Some(header)) => PutOutcome::Committed {
            revision: uint(&header["revision"]).unwrap_or(0),
        },
        (_, Some(message), _) => PutOutcome::Refused(message),
        _ => PutOutcome::Refused(body.chars().take(120).collect()),
    }
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

    fn status(member_id: u64, leader: u64, raft_term: u64) -> Option<Status> {
        Some(Status {
            member_id,
            leader,
            raft_term,
        })
    }

    #[test]
    fn members_agree_only_when_all_answer_and_name_the_same_answering_leader() {
        let agreed = [status(1, 2, 7), status(2, 2, 7), status(3, 2, 7)];
        assert_eq!(agreed_leader(&agreed), Some((2, 7)));
        let one_silent = [status(1, 2, 7), None, status(3, 2, 7)];
        assert_eq!(agreed_leader(&one_silent), None);
        let split = [status(1, 1, 9), status(2, 2, 7), status(3, 2, 7)];
        assert_eq!(agreed_leader(&split), None);
        let leaderless = [status(1, 0, 9), status(2, 0, 9)];
        assert_eq!(agreed_leader(&leaderless), None);
        let leader_silent = [status(1, 2, 7), status(3, 2, 7)];
        assert_eq!(agreed_leader(&leader_silent), None);
        assert_eq!(agreed_leader(&[]), None);
    }

    #[test]
    fn base64_matches_the_standard_alphabet_with_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff, 0xfe]), "//4=");
        assert_eq!(put_body("k", "v"), r#"{"key":"aw==","value":"dg=="}"#);
    }

    #[test]
    fn a_put_commits_only_with_200_a_header_and_no_error() {
        let ok = r#"{"header":{"cluster_id":"1","member_id":"2","revision":"42","raft_term":"3"}}"#;
        assert_eq!(parse_put(200, ok), PutOutcome::Committed { revision: 42 });
        let timed_out = r#"{"error":"etcdserver: request timed out","message":"etcdserver: request timed out","code":14}"#;
        assert_eq!(
            parse_put(503, timed_out),
            PutOutcome::Refused("etcdserver: request timed out".into())
        );
        assert_eq!(
            parse_put(200, r#"{"error":"etcdserver: no leader"}"#),
            PutOutcome::Refused("etcdserver: no leader".into())
        );
        assert_eq!(
            parse_put(502, "Bad Gateway"),
            PutOutcome::Refused("Bad Gateway".into())
        );
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
