//! What the etcd members say, asked through their v3 JSON gateway:
//! `POST /v3/maintenance/status` names the leader's member id and `POST
//! /v3/cluster/member/list` maps ids to member names, which are the Compose
//! service names in `clusters/etcd/docker-compose.yaml`. A member that does
//! not answer is a finding, not an error: only an interruption is one.

use crate::api;
use guest_sdk::prelude::*;
use std::time::Duration;

pub const MEMBERS: [&str; 3] = ["etcd1", "etcd2", "etcd3"];
const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);
/// Election timeout is 1 s in the compose file; allow for several rounds.
pub const ELECTION_TIMEOUT: Duration = Duration::from_secs(15);
/// How often the flow asks etcd again while it waits for something.
pub const POLL: Duration = Duration::from_millis(200);
/// A write sent to the isolated leader waits at most this long.
const MINORITY_WRITE_TIMEOUT: Duration = Duration::from_secs(3);
/// The key that write tries to set, apart from the load tool's keys.
const MINORITY_WRITE_KEY: &str = "chaos-demo/written-to-the-minority";
/// How long the healed cluster gets until all three members name one leader.
const REJOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The probe URL of a member. The host maps `etcdN:2379` to the port the
/// presenter published it on, so this works for any `ETCDn_PORT`.
pub fn member_url(service: &str, path: &str) -> String {
    format!("http://{service}:2379{path}")
}

/// What one member says about leadership.
pub struct Leadership {
    pub leader: String,
    pub term: u64,
}

/// A member's answer to `path` (a POST of `{}`), or `None` when it cannot
/// be reached.
fn ask(service: &str, path: &str) -> Result<Option<String>, FlowError> {
    match probe::http_post(&member_url(service, path), "{}", PROBE_TIMEOUT) {
        Ok(response) => Ok(Some(response.body)),
        Err(ProbeError::Interrupted) => Err(FlowError::Interrupted),
        Err(e) => {
            log::debug(&format!("{service}{path}: {}", e.message()));
            Ok(None)
        }
    }
}

/// A member's status, or `None` when it does not answer or answers no status.
pub fn member_status(service: &str) -> Result<Option<api::Status>, FlowError> {
    Ok(ask(service, "/v3/maintenance/status")?.and_then(|body| api::parse_status(&body).ok()))
}

fn member_list(service: &str) -> Result<Option<Vec<api::Member>>, FlowError> {
    Ok(ask(service, "/v3/cluster/member/list")?.and_then(|body| api::parse_members(&body).ok()))
}

/// The member list from the first of `running` that gives it.
pub fn any_member_list(running: &[String]) -> Result<Option<Vec<api::Member>>, FlowError> {
    for service in running {
        if let Some(members) = member_list(service)? {
            return Ok(Some(members));
        }
    }
    Ok(None)
}

/// Asks the running members, in turn, who leads. `None` when none names a
/// leader it can map to a member (no quorum, or none answers).
pub fn leadership(running: &[String]) -> Result<Option<Leadership>, FlowError> {
    leadership_where(running, |_| true)
}

/// The first answer of `asked` (in turn) that names a leader `wanted`.
pub fn leadership_where(
    asked: &[String],
    wanted: impl Fn(&Leadership) -> bool,
) -> Result<Option<Leadership>, FlowError> {
    for service in asked {
        if let Some(status) = member_status(service)?
            && let Some(members) = member_list(service)?
            && let Some(leader) = api::leader_name(&status, &members)
        {
            let found = Leadership {
                leader,
                term: status.raft_term,
            };
            if wanted(&found) {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

/// [`leadership`], asked again while no member names a leader: a member
/// started a moment ago (the chapter before restarts one) may not answer
/// yet, or not know the leader yet. Fails with `what` if none names one.
pub fn settled_leadership(running: &[String], what: &str) -> Result<Leadership, FlowError> {
    timing::poll_until(ELECTION_TIMEOUT, POLL, || leadership(running))?.context(what)
}

/// Polls every member until all answer and name the same leader; returns
/// its name and term. Fails after [`REJOIN_TIMEOUT`] saying what each said.
pub fn wait_until_all_agree(members: &[api::Member]) -> Result<(String, u64), FlowError> {
    let mut said = Vec::new();
    let agreed = timing::poll_until(REJOIN_TIMEOUT, Duration::from_millis(500), || {
        said = MEMBERS
            .iter()
            .map(|m| member_status(m))
            .collect::<Result<_, _>>()?;
        Ok(api::agreed_leader(&said)
            .and_then(|(id, term)| Some((api::member_name(members, id)?, term))))
    })?;
    agreed.ok_or_else(|| {
        let said: Vec<String> = MEMBERS
            .iter()
            .zip(&said)
            .map(|(service, status)| match status {
                None => format!("{service} does not answer"),
                Some(s) if s.leader == 0 => format!("{service} names no leader"),
                Some(s) => format!(
                    "{service} names {}",
                    api::member_name(members, s.leader).unwrap_or(format!("{:x}", s.leader))
                ),
            })
            .collect();
        let secs = REJOIN_TIMEOUT.as_secs();
        let said = said.join(", ");
        format!("{secs} s after the heal the members do not agree on a leader: {said}").into()
    })
}

/// The services of the etcd members Docker reports running.
pub fn running_members() -> Result<Vec<String>, FlowError> {
    Ok(cluster::list_nodes()?
        .into_iter()
        .filter(|n| n.state == NodeState::Running && MEMBERS.contains(&n.service.as_str()))
        .map(|n| n.service)
        .collect())
}

/// `services` but `service`.
pub fn without(services: &[String], service: &str) -> Vec<String> {
    services.iter().filter(|s| *s != service).cloned().collect()
}

/// What the isolated old leader says about leadership, for the audience.
pub fn what_the_old_leader_says(old: &str, members: &[api::Member]) -> Result<String, FlowError> {
    Ok(match member_status(old)? {
        Some(s) if s.leader == s.member_id => format!(
            "{old} still answers clients, and still believes it leads (term {}).",
            s.raft_term
        ),
        Some(s) if s.leader == 0 => format!(
            "{old} still answers clients but names no leader any more (term {}): it cannot hear \
             a majority.",
            s.raft_term
        ),
        Some(s) => format!(
            "{old} still answers clients and names {} as leader (term {}).",
            api::leader_name(&s, members).unwrap_or_else(|| format!("member {:x}", s.leader)),
            s.raft_term
        ),
        None => format!("{old} does not answer its status."),
    })
}

/// The two members that follow `leader`, each running: a majority that can
/// outvote it. Fails saying why not.
pub fn running_followers(leader: &str, running: &[String]) -> Result<Vec<String>, FlowError> {
    if !MEMBERS.contains(&leader) {
        return Err(format!("etcd names {leader} as leader, not one of {MEMBERS:?}").into());
    }
    let followers = without(&MEMBERS.map(String::from), leader);
    match followers.iter().find(|f| !running.contains(f)) {
        Some(down) => Err(format!(
            "both followers must be running to outvote the leader; {down} is not"
        )
        .into()),
        None => Ok(followers),
    }
}

/// Sends a write to `old` (cut off from the majority) and says what came of
/// it, with the failure when it shows the isolation did not hold or the
/// write could not be sent.
pub fn write_through(old: &str) -> Result<(Markup, Option<String>), FlowError> {
    let value = format!("written through {old} while it was cut off");
    let body = api::put_body(MINORITY_WRITE_KEY, &value);
    let sent_at = std::time::Instant::now();
    let answer = probe::http_post(
        &member_url(old, "/v3/kv/put"),
        &body,
        MINORITY_WRITE_TIMEOUT,
    );
    let secs = sent_at.elapsed().as_secs_f64();
    let failed = |why: String| Ok((markup!("{why}."), Some(why)));
    match answer {
        Err(ProbeError::Interrupted) => Err(FlowError::Interrupted),
        Err(ProbeError::Unreachable(why)) => Ok((
            markup!(
                "A write sent to {old} itself: {} after {secs:.1} s ({why}). Without a majority \
                 it cannot commit.",
                red("no commit")
            ),
            None,
        )),
        Err(e) => failed(format!("could not send a write to {old}: {}", e.message())),
        Ok(response) => match api::parse_put(response.status, &response.body) {
            api::PutOutcome::Committed { revision } => {
                let why = format!(
                    "{old} committed a write while cut off (revision {revision}): the isolation \
                     did not hold"
                );
                Ok((red(format!("{why}.")), Some(why)))
            }
            api::PutOutcome::Refused(message) => Ok((
                markup!(
                    "A write sent to {old} itself: {} after {secs:.1} s (HTTP {}: {message}).",
                    red("refused"),
                    response.status
                ),
                None,
            )),
        },
    }
}
