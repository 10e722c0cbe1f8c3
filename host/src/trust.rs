//! What the presenter decided about each pack, remembered across runs.
//!
//! A pack is keyed by the sha256 of its bytes, so a changed file is a new pack
//! and is asked about again. A decision is a list of capability items granted
//! and a list refused; a pack that later asks for an item in neither list is
//! asked about again (it cannot widen its grant by changing its declaration).

use crate::model::{Capabilities, FaultAction, FaultGrant};
use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

const TRUST_FILE: &str = "trust.json";
const FORMAT_VERSION: u32 = 1;

/// One thing a flow may ask for, as the presenter grants it and as `--allow`
/// spells it: `kill:etcd*`, `peers:etcd*:etcd*`, `workload`,
/// `probe:http://127.0.0.1:2379/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Fault {
        action: FaultAction,
        services: String,
    },
    /// The services `isolate` may cut `services` from and `shape` may limit
    /// itself towards (a grant's `peers`, one glob per item).
    Peers {
        services: String,
        peers: String,
    },
    Workload,
    Probe(String),
}

impl Item {
    /// A sentence for the consent screen and `host inspect`.
    pub fn describe(&self) -> String {
        match self {
            Item::Fault { action, services } => {
                format!("{action} containers of services '{services}'")
            }
            Item::Peers { services, peers } => {
                format!("isolate or shape '{services}' towards services '{peers}'")
            }
            Item::Workload => "read the workload figures".into(),
            Item::Probe(listed) if crate::probe_url::is_refused_listing(listed) => {
                format!("no HTTP probe: {listed}")
            }
            Item::Probe(prefix) => format!("HTTP GET/POST to URLs under {prefix}"),
        }
    }

    /// Whether the presenter's `--allow` item `self` covers the requested `asked`.
    /// A fault glob covers a requested glob it matches as text (`*` covers
    /// everything, `etcd*` covers `etcd*` and `etcd1`); a probe prefix covers
    /// the prefixes under it, compared as URLs (see [`crate::probe_url`]).
    fn covers(&self, asked: &Item) -> bool {
        match (self, asked) {
            (
                Item::Fault { action, services },
                Item::Fault {
                    action: asked_action,
                    services: asked_services,
                },
            ) => action == asked_action && glob_covers(services, asked_services),
            (
                Item::Peers { services, peers },
                Item::Peers {
                    services: asked_services,
                    peers: asked_peers,
                },
            ) => glob_covers(services, asked_services) && glob_covers(peers, asked_peers),
            (Item::Workload, Item::Workload) => true,
            (Item::Probe(prefix), Item::Probe(asked)) => {
                crate::probe_url::listed_covers(prefix, asked)
            }
            _ => false,
        }
    }
}

/// Whether the presenter's glob covers the requested one, compared as text.
fn glob_covers(granted: &str, asked: &str) -> bool {
    granted == asked || glob::Pattern::new(granted).is_ok_and(|p| p.matches(asked))
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Fault { action, services } => {
                write!(f, "{action}:{services}")
            }
            Item::Peers { services, peers } => write!(f, "peers:{services}:{peers}"),
            Item::Workload => f.write_str("workload"),
            Item::Probe(prefix) => write!(f, "probe:{prefix}"),
        }
    }
}

impl std::str::FromStr for Item {
    type Err = anyhow::Error;

    fn from_str(spec: &str) -> Result<Self> {
        if spec == "workload" {
            return Ok(Item::Workload);
        }
        let (kind, rest) = spec.split_once(':').ok_or_else(|| {
            anyhow!("invalid capability '{spec}': expected ACTION:SERVICES (e.g. kill:etcd*), workload or probe:URL")
        })?;
        if kind == "probe" {
            if rest.is_empty() {
                bail!(
                    "invalid capability '{spec}': probe needs a URL prefix, e.g. probe:http://127.0.0.1:2379/"
                );
            }
            // A prefix listed as refused, read back from the trust file: it
            // stays as listed and grants nothing.
            if crate::probe_url::is_refused_listing(rest) {
                return Ok(Item::Probe(rest.to_string()));
            }
            let prefix = crate::probe_url::ProbePrefix::parse(rest)
                .map_err(|why| anyhow!("invalid capability '{spec}': {why}"))?;
            return Ok(Item::Probe(prefix.to_string()));
        }
        if kind == "peers" {
            let (services, peers) = rest
                .split_once(':')
                .filter(|(s, p)| !s.is_empty() && !p.is_empty())
                .ok_or_else(|| {
                    anyhow!(
                        "invalid capability '{spec}': expected peers:SERVICES:PEERS, e.g. peers:etcd*:etcd*"
                    )
                })?;
            for glob in [services, peers] {
                glob::Pattern::new(glob).map_err(|e| {
                    anyhow!("invalid capability '{spec}': bad service pattern '{glob}': {e}")
                })?;
            }
            return Ok(Item::Peers {
                services: services.to_string(),
                peers: peers.to_string(),
            });
        }
        let action = kind.parse::<FaultAction>().map_err(|_| {
            anyhow!("invalid capability '{spec}': unknown action '{kind}' (use kill, stop, restart, pause, network, shape, peers, workload or probe)")
        })?;
        if rest.is_empty() {
            bail!("invalid capability '{spec}': name the services, e.g. {kind}:etcd*");
        }
        glob::Pattern::new(rest)
            .map_err(|e| anyhow!("invalid capability '{spec}': bad service pattern: {e}"))?;
        Ok(Item::Fault {
            action,
            services: rest.to_string(),
        })
    }
}

impl Serialize for Item {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Every item a flow's declaration asks for, each once, in a stable order.
pub fn requested(caps: &Capabilities) -> Vec<Item> {
    let mut items = Vec::new();
    for grant in &caps.faults {
        for action in &grant.actions {
            items.push(Item::Fault {
                action: *action,
                services: grant.services.clone(),
            });
        }
        for peers in &grant.peers {
            items.push(Item::Peers {
                services: grant.services.clone(),
                peers: peers.clone(),
            });
        }
    }
    if caps.reads_workload {
        items.push(Item::Workload);
    }
    // Normalised, so the presenter reads what is enforced; a malformed
    // prefix is listed as refused, with why.
    items.extend(
        caps.http_probes
            .iter()
            .map(|prefix| Item::Probe(crate::probe_url::listed_prefix(prefix))),
    );
    items.sort_by_key(|i| i.to_string());
    items.dedup();
    items
}

/// Rebuilds a declaration holding only `items`, for [`crate::capability::Grants`].
pub fn to_capabilities(items: &[Item]) -> Capabilities {
    let mut caps = Capabilities {
        faults: Vec::new(),
        reads_workload: false,
        http_probes: Vec::new(),
        memory_mib: 0,
    };
    for item in items {
        match item {
            Item::Fault { action, services } => {
                grant_for(&mut caps, services).actions.push(*action)
            }
            Item::Peers { services, peers } => {
                grant_for(&mut caps, services).peers.push(peers.clone())
            }
            Item::Workload => caps.reads_workload = true,
            Item::Probe(prefix) => caps.http_probes.push(prefix.clone()),
        }
    }
    caps
}

/// The grant on exactly `services` in `caps`, added if there is none yet.
fn grant_for<'c>(caps: &'c mut Capabilities, services: &str) -> &'c mut FaultGrant {
    let at = match caps.faults.iter().position(|g| g.services == services) {
        Some(at) => at,
        None => {
            caps.faults.push(FaultGrant {
                services: services.to_string(),
                actions: Vec::new(),
                peers: Vec::new(),
            });
            caps.faults.len() - 1
        }
    };
    &mut caps.faults[at]
}

/// The sha256 of a pack's bytes, as lowercase hex.
pub fn pack_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The presenter's decision on one pack.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The flow's name and version when decided, for a human reading the file.
    pub flow: String,
    pub granted: Vec<Item>,
    pub refused: Vec<Item>,
    pub decided_at_unix: u64,
}

impl Decision {
    /// Items asked for that this decision does not cover either way.
    pub fn undecided<'a>(&self, asked: &'a [Item]) -> Vec<&'a Item> {
        asked
            .iter()
            .filter(|i| !self.granted.contains(i) && !self.refused.contains(i))
            .collect()
    }

    /// What of `asked` this decision grants.
    pub fn granted_of(&self, asked: &[Item]) -> Vec<Item> {
        asked
            .iter()
            .filter(|i| self.granted.contains(i))
            .cloned()
            .collect()
    }

    /// What of `asked` this decision refused.
    pub fn refused_of<'a>(&self, asked: &'a [Item]) -> Vec<&'a Item> {
        asked.iter().filter(|i| self.refused.contains(i)).collect()
    }

    /// The decision after the presenter accepts on the consent screen. What
    /// was decided before stands: the screen's Accept answers what it asks
    /// (the undecided items), and a refusal, once made, is changed only by
    /// an answer that says so ([`Accept::AlsoRefusedEarlier`]) or by
    /// `--yes`/`--allow`, which replace the decision.
    pub fn accepted(
        earlier: Option<&Decision>,
        asked: &[Item],
        accept: Accept,
        flow: &str,
    ) -> Decision {
        let mut granted = earlier.map(|d| d.granted.clone()).unwrap_or_default();
        let mut refused = earlier.map(|d| d.refused.clone()).unwrap_or_default();
        if accept == Accept::AlsoRefusedEarlier {
            refused.retain(|item| !asked.contains(item));
        }
        for item in asked {
            if !granted.contains(item) && !refused.contains(item) {
                granted.push(item.clone());
            }
        }
        Decision {
            flow: flow.to_string(),
            granted,
            refused,
            decided_at_unix: now_unix(),
        }
    }
}

/// What an acceptance on the consent screen grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// The items not decided before; earlier refusals stay refused.
    Undecided,
    /// The undecided items and those refused earlier.
    AlsoRefusedEarlier,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TrustFile {
    version: u32,
    /// sha256 of the pack → decision.
    packs: BTreeMap<String, Decision>,
}

/// The trust file of one state directory.
pub struct TrustStore {
    path: PathBuf,
    file: TrustFile,
}

impl TrustStore {
    pub fn path_in(state_dir: &Path) -> PathBuf {
        state_dir.join(TRUST_FILE)
    }

    /// Opens the store; a missing file is an empty store.
    pub fn open(state_dir: &Path) -> Result<Self> {
        let path = Self::path_in(state_dir);
        let file = match std::fs::read(&path) {
            Ok(bytes) => {
                let file: TrustFile = serde_json::from_slice(&bytes).map_err(|e| {
                    anyhow!(
                        "the trust file {} is damaged ({e}); remove it to be asked again",
                        path.display()
                    )
                })?;
                if file.version != FORMAT_VERSION {
                    bail!(
                        "the trust file {} has format {} (this host reads {FORMAT_VERSION}); remove it to be asked again",
                        path.display(),
                        file.version
                    );
                }
                file
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => TrustFile {
                version: FORMAT_VERSION,
                packs: BTreeMap::new(),
            },
            Err(e) => bail!("cannot read the trust file {}: {e}", path.display()),
        };
        Ok(TrustStore { path, file })
    }

    pub fn decision(&self, hash: &str) -> Option<&Decision> {
        self.file.packs.get(hash)
    }

    /// Records a decision and writes the file atomically: a crash mid-write
    /// leaves the previous file, never a torn one.
    pub fn remember(&mut self, hash: &str, decision: Decision) -> Result<()> {
        self.file.packs.insert(hash.to_string(), decision);
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the state directory {}", dir.display()))?;
        let text = serde_json::to_vec_pretty(&self.file)?;
        let temp = self
            .path
            .with_extension(format!("json.{}.tmp", std::process::id()));
        std::fs::write(&temp, text)
            .with_context(|| format!("cannot write the trust file {}", temp.display()))?;
        std::fs::rename(&temp, &self.path).with_context(|| {
            let _ = std::fs::remove_file(&temp);
            format!("cannot replace the trust file {}", self.path.display())
        })?;
        Ok(())
    }
}

/// How the presenter answered on the command line.
#[derive(Debug, Clone, Default)]
pub struct CliConsent {
    /// `--yes`: grant everything asked.
    pub yes: bool,
    /// `--allow SPEC`, repeatable.
    pub allow: Vec<Item>,
}

impl CliConsent {
    pub fn given(&self) -> bool {
        self.yes || !self.allow.is_empty()
    }

    /// The decision these flags make about `asked`: covered items granted,
    /// the rest refused.
    pub fn decide(&self, asked: &[Item], flow: &str) -> Decision {
        let (granted, refused) = asked
            .iter()
            .cloned()
            .partition(|item| self.yes || self.allow.iter().any(|a| a.covers(item)));
        Decision {
            flow: flow.to_string(),
            granted,
            refused,
            decided_at_unix: now_unix(),
        }
    }
}

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FaultGrant;

    fn caps() -> Capabilities {
        Capabilities {
            faults: vec![FaultGrant {
                services: "etcd*".into(),
                actions: vec![FaultAction::Kill, FaultAction::Pause],
                peers: vec![],
            }],
            reads_workload: true,
            http_probes: vec!["http://127.0.0.1:2379/".into()],
            memory_mib: 0,
        }
    }

    #[test]
    fn specs_round_trip_and_bad_ones_say_why() {
        for spec in [
            "kill:etcd*",
            "pause:pd0",
            "workload",
            "probe:http://127.0.0.1:2379/",
        ] {
            let item: Item = spec.parse().unwrap();
            assert_eq!(item.to_string(), spec);
        }
        let err = "explode:etcd1".parse::<Item>().unwrap_err().to_string();
        assert!(err.contains("unknown action 'explode'"), "{err}");
        let err = "kill".parse::<Item>().unwrap_err().to_string();
        assert!(err.contains("expected ACTION:SERVICES"), "{err}");
        let err = "kill:".parse::<Item>().unwrap_err().to_string();
        assert!(err.contains("name the services"), "{err}");
        let err = "kill:[".parse::<Item>().unwrap_err().to_string();
        assert!(err.contains("bad service pattern"), "{err}");
    }

    #[test]
    fn allow_grants_only_what_it_covers_and_refuses_the_rest() {
        let asked = requested(&caps());
        let consent = CliConsent {
            yes: false,
            allow: vec!["kill:*".parse().unwrap(), "workload".parse().unwrap()],
        };
        let decision = consent.decide(&asked, "t");
        let granted: Vec<String> = decision.granted.iter().map(|i| i.to_string()).collect();
        let refused: Vec<String> = decision.refused.iter().map(|i| i.to_string()).collect();
        assert_eq!(granted, ["kill:etcd*", "workload"]);
        assert_eq!(refused, ["pause:etcd*", "probe:http://127.0.0.1:2379/"]);

        // A narrower glob than asked does not cover the wider request.
        let narrow = CliConsent {
            yes: false,
            allow: vec!["kill:etcd1".parse().unwrap()],
        };
        assert!(narrow.decide(&asked, "t").granted.is_empty());
        assert_eq!(
            CliConsent {
                yes: true,
                allow: vec![]
            }
            .decide(&asked, "t")
            .granted,
            asked
        );
    }

    #[test]
    fn an_acceptance_keeps_earlier_refusals_unless_it_says_otherwise() {
        let asked = requested(&caps());
        let specs = |items: &[Item]| items.iter().map(Item::to_string).collect::<Vec<_>>();
        let first = Decision::accepted(None, &asked, Accept::Undecided, "t");
        assert_eq!(first.granted, asked);
        assert!(first.refused.is_empty());

        let earlier = Decision {
            flow: "t".into(),
            granted: vec!["workload".parse().unwrap()],
            // stop:etcd* is not asked for now; a refusal of it still stands.
            refused: vec!["kill:etcd*".parse().unwrap(), "stop:etcd*".parse().unwrap()],
            decided_at_unix: 0,
        };
        let kept = Decision::accepted(Some(&earlier), &asked, Accept::Undecided, "t 0.2.0");
        assert_eq!(
            specs(&kept.granted),
            ["workload", "pause:etcd*", "probe:http://127.0.0.1:2379/"]
        );
        assert_eq!(specs(&kept.refused), ["kill:etcd*", "stop:etcd*"]);
        assert_eq!(kept.flow, "t 0.2.0");

        let regranted = Decision::accepted(Some(&earlier), &asked, Accept::AlsoRefusedEarlier, "t");
        assert_eq!(
            specs(&regranted.granted),
            [
                "workload",
                "kill:etcd*",
                "pause:etcd*",
                "probe:http://127.0.0.1:2379/"
            ]
        );
        assert_eq!(specs(&regranted.refused), ["stop:etcd*"]);
    }

    #[test]
    fn a_grant_rebuilt_from_items_enforces_only_those_items() {
        use crate::capability::{Grants, Need};
        let items: Vec<Item> = vec!["kill:etcd*".parse().unwrap()];
        let grants = Grants::from_declared(&to_capabilities(&items));
        assert!(grants.permits(Need::Fault(FaultAction::Kill), "etcd2"));
        assert!(!grants.permits(Need::Fault(FaultAction::Pause), "etcd2"));
        assert!(!grants.reads_workload());
        let health = crate::probe_url::ProbeUrl::parse("http://127.0.0.1:2379/health").unwrap();
        assert!(!grants.permits_probe(&health));
    }

    #[test]
    fn decisions_are_remembered_per_hash_and_new_requests_are_undecided() {
        let dir = std::env::temp_dir().join(format!("trust-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let asked = requested(&caps());
        let hash = pack_hash(b"pack bytes");
        assert_ne!(hash, pack_hash(b"pack bytes, changed"));
        {
            let mut store = TrustStore::open(&dir).unwrap();
            assert!(store.decision(&hash).is_none());
            let decision = CliConsent {
                yes: false,
                allow: vec!["workload".parse().unwrap()],
            }
            .decide(&asked, "t 0.1.0");
            store.remember(&hash, decision).unwrap();
        }
        let store = TrustStore::open(&dir).unwrap();
        let decision = store.decision(&hash).expect("remembered");
        assert!(decision.undecided(&asked).is_empty());
        assert_eq!(decision.granted_of(&asked), vec![Item::Workload]);
        let mut wider = caps();
        wider.faults[0].actions.push(FaultAction::Stop);
        let undecided: Vec<String> = decision
            .undecided(&requested(&wider))
            .iter()
            .map(|i| i.to_string())
            .collect();
        assert_eq!(undecided, ["stop:etcd*"]);
        assert!(store.decision(&pack_hash(b"other")).is_none());
        // No temp files are left behind.
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("trust.json")]);

        std::fs::write(dir.join("trust.json"), "{not json").unwrap();
        let err = TrustStore::open(&dir).err().unwrap().to_string();
        assert!(
            err.contains("is damaged") && err.contains("remove it"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
