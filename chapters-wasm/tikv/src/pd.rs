//! PD's view of the TiKV stores (`GET /pd/api/v1/stores`). Pure parsing, so it
//! is tested natively (`cargo test -p tikv-flow`).
//!
//! PD marks a store `Disconnected` when its heartbeats have stopped for about
//! 20 s, and `Down` only after `max-store-down-time` (30 min by default); only
//! then does it start re-creating the store's replicas elsewhere. `Offline`
//! and `Tombstone` follow an explicit removal, which this demo never does.

use serde_json::Value;

/// One store as PD reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    pub id: u64,
    /// `tikv0:20160`: the `--advertise-addr` from the compose file.
    pub address: String,
    /// `Up`, `Disconnected`, `Down`, `Offline` or `Tombstone`.
    pub state: String,
    pub leader_count: u64,
    pub region_count: u64,
}

impl Store {
    /// The Compose service, from the advertised address's host part.
    pub fn service(&self) -> &str {
        self.address
            .rsplit_once(':')
            .map_or(self.address.as_str(), |(host, _)| host)
    }

    /// What the state means, for the audience.
    pub fn meaning(&self) -> &'static str {
        match self.state.as_str() {
            "Up" => "heartbeating",
            "Disconnected" => "no heartbeat for ~20 s; its regions elect leaders elsewhere",
            "Down" => "gone longer than max-store-down-time; PD re-replicates its regions",
            "Offline" => "being removed; PD moves its regions away",
            "Tombstone" => "removed",
            _ => "unknown to this flow",
        }
    }
}

pub fn parse_stores(body: &str) -> Result<Vec<Store>, String> {
    let v: Value = serde_json::from_str(body)
        .map_err(|e| format!("PD answered something that is not JSON: {e}"))?;
    let stores = v["stores"]
        .as_array()
        .ok_or_else(|| "PD's answer has no stores".to_string())?;
    let mut parsed: Vec<Store> = stores
        .iter()
        .map(|s| {
            let store = &s["store"];
            Ok(Store {
                id: store["id"]
                    .as_u64()
                    .ok_or_else(|| "a store has no id".to_string())?,
                address: store["address"].as_str().unwrap_or_default().to_string(),
                // Older PDs omit state_name for Up stores (state 0).
                state: store["state_name"].as_str().unwrap_or("Up").to_string(),
                leader_count: s["status"]["leader_count"].as_u64().unwrap_or(0),
                region_count: s["status"]["region_count"].as_u64().unwrap_or(0),
            })
        })
        .collect::<Result<_, String>>()?;
    parsed.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The shape of PD v8.5's answer, trimmed.
    const STORES: &str = r#"{
      "count": 3,
      "stores": [
        {"store": {"id": 5, "address": "tikv1:20160", "version": "8.5.1", "state_name": "Disconnected"},
         "status": {"capacity": "1TiB", "leader_count": 0, "region_count": 21, "last_heartbeat_ts": "2026-11-23T12:00:00Z"}},
        {"store": {"id": 1, "address": "tikv0:20160", "state_name": "Up"},
         "status": {"leader_count": 11, "region_count": 21}},
        {"store": {"id": 4, "address": "tikv2:20160", "state_name": "Up"},
         "status": {"leader_count": 10, "region_count": 21}}
      ]
    }"#;

    #[test]
    fn stores_are_parsed_with_their_state_and_service() {
        let stores = parse_stores(STORES).unwrap();
        assert_eq!(stores.len(), 3);
        assert_eq!(stores[0].service(), "tikv0");
        assert_eq!(stores[0].leader_count, 11);
        assert_eq!(stores[1].service(), "tikv1");
        assert_eq!(stores[1].state, "Disconnected");
        assert_eq!(stores[1].id, 5);
        assert!(stores[1].meaning().contains("20 s"));
        assert_eq!(stores[2].region_count, 21);
    }

    #[test]
    fn bad_answers_are_errors_not_panics() {
        assert!(parse_stores("404 page not found").is_err());
        assert!(parse_stores(r#"{"count":0}"#).is_err());
        assert!(parse_stores(r#"{"stores":[{"store":{}}]}"#).is_err());
        assert_eq!(parse_stores(r#"{"stores":[]}"#).unwrap(), vec![]);
        let up = parse_stores(r#"{"stores":[{"store":{"id":1,"address":"x"}}]}"#).unwrap();
        assert_eq!(up[0].state, "Up");
        assert_eq!(up[0].service(), "x");
    }
}
