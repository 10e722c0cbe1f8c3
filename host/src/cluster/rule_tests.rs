//! The cluster's own rules, against the fake backend (no engine, in
//! milliseconds): a fault is on the ledger (on disk) before the backend
//! hears of it, and not made if it cannot be recorded; a fault that fails
//! half-way is undone; restoring runs in its order and one failing undo
//! stops no other; a node its orchestrator replaced counts as back;
//! stopping the show's faults lets one in flight land before undoing it,
//! and makes none until resumed.

use super::fake::{Call, FakeBackend, node};
use super::ledger::{Ledger, UndoAction};
use super::model::{
    ClusterError, ContainerAction, NetworkAction, Node, NodeState, ShapeSpec, Target,
};
use super::signal::KillSignal;
use super::{Backend, Cluster};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

struct Setup {
    cluster: Arc<Cluster>,
    fake: Arc<FakeBackend>,
    dir: PathBuf,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_file(&self.dir);
    }
}

const PROJECT: &str = "rules";

fn state_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("cluster-rules-{name}-{}", std::process::id()))
}

async fn setup_with(name: &str, fake: FakeBackend) -> Setup {
    let dir = state_dir(name);
    let _ = std::fs::remove_dir_all(&dir);
    let ledger = Ledger::open(&dir, PROJECT).unwrap();
    let fake = Arc::new(fake);
    let backend: Arc<dyn Backend> = fake.clone();
    let cluster = Cluster::connect_to(backend, ledger, |_| {}).await;
    Setup { cluster, fake, dir }
}

/// etcd1..etcd3 of service `etcd`, running.
async fn setup(name: &str) -> Setup {
    let nodes = ["etcd1", "etcd2", "etcd3"]
        .map(|id| node("etcd", id, NodeState::Running))
        .to_vec();
    setup_with(name, FakeBackend::new(PROJECT, state_dir(name), nodes)).await
}

fn anything(_: &Node) -> bool {
    true
}

fn id(id: &str) -> Target {
    Target::Id(id.into())
}

fn kill() -> ContainerAction {
    ContainerAction::Kill {
        signal: KillSignal::Kill,
    }
}

fn call(what: &str, ledger_on_disk: usize) -> Call {
    Call {
        what: what.into(),
        ledger_on_disk,
    }
}

fn reconnect(network: &str) -> UndoAction {
    UndoAction::Reconnect {
        network: network.into(),
        aliases: vec!["etcd3".into()],
        ipv4_address: None,
    }
}

impl Setup {
    /// What the ledger file holds now.
    fn on_disk(&self) -> Vec<String> {
        Ledger::open(&self.dir, PROJECT)
            .unwrap()
            .outstanding()
            .iter()
            .map(|e| format!("{} {}", e.container_id, e.undo.describe()))
            .collect()
    }
}

#[tokio::test]
async fn a_fault_is_on_the_ledger_on_disk_before_the_backend_is_asked() {
    let s = setup("before").await;
    s.cluster
        .act(&id("etcd1"), kill(), &anything)
        .await
        .unwrap();
    s.cluster
        .act(&id("etcd2"), ContainerAction::Pause, &anything)
        .await
        .unwrap();
    assert_eq!(
        s.fake.calls(),
        [
            call("perform etcd1 kill SIGKILL", 1),
            call("perform etcd2 pause", 2)
        ]
    );
    assert_eq!(s.on_disk(), ["etcd1 start", "etcd2 unpause"]);
    // An undo clears its fault: the ledger still held it while the call ran.
    s.cluster
        .act(&id("etcd2"), ContainerAction::Unpause, &anything)
        .await
        .unwrap();
    assert_eq!(s.fake.calls()[2], call("perform etcd2 unpause", 2));
    assert_eq!(s.on_disk(), ["etcd1 start"]);
}

#[tokio::test]
async fn a_fault_the_ledger_cannot_record_is_not_made() {
    let s = setup("unwritable").await;
    // The ledger's directory turns into a file: every write fails.
    std::fs::write(&s.dir, "not a directory").unwrap();
    let nodes = [("kill", kill()), ("pause", ContainerAction::Pause)];
    for (what, action) in nodes {
        let result = s.cluster.act(&id("etcd1"), action, &anything).await;
        assert!(
            matches!(&result, Err(ClusterError::Failed(m)) if m.contains("ledger")),
            "{what}: {result:?}"
        );
    }
    let result = s
        .cluster
        .act(&id("etcd3"), NetworkAction::Shape(delay(100)), &anything)
        .await;
    assert!(
        matches!(&result, Err(ClusterError::Failed(m)) if m.contains("ledger")),
        "{result:?}"
    );
    // The probe asks the kernel, and changes nothing.
    assert_eq!(s.fake.said(), ["probe"]);
    // Nothing unrecorded is outstanding, in memory or, once the ledger can
    // be written again, on disk.
    assert!(s.cluster.outstanding_faults().is_empty());
    std::fs::remove_file(&s.dir).unwrap();
    s.cluster
        .act(&id("etcd2"), kill(), &anything)
        .await
        .unwrap();
    assert_eq!(s.on_disk(), ["etcd2 start"]);
}

#[tokio::test]
async fn a_fault_the_backend_refuses_leaves_no_entry() {
    let s = setup("refused").await;
    s.fake.fail("perform etcd1", "no such container");
    let result = s.cluster.act(&id("etcd1"), kill(), &anything).await;
    assert!(matches!(&result, Err(ClusterError::Failed(m)) if m == "no such container"));
    // Recorded first, then forgotten.
    assert_eq!(s.fake.calls(), [call("perform etcd1 kill SIGKILL", 1)]);
    assert!(s.on_disk().is_empty());
    assert!(s.cluster.outstanding_faults().is_empty());
}

fn delay(ms: u32) -> ShapeSpec {
    ShapeSpec {
        delay_ms: ms,
        ..ShapeSpec::default()
    }
}

#[tokio::test]
async fn a_network_fault_that_fails_half_way_is_undone_and_forgotten() {
    let s = setup("shape-rollback").await;
    s.fake.fail("netfault etcd1 run", "iptables: resource busy");
    let result = s
        .cluster
        .act(&id("etcd1"), NetworkAction::Shape(delay(100)), &anything)
        .await;
    assert!(
        matches!(&result, Err(ClusterError::Failed(m)) if m.contains("resource busy")),
        "{result:?}"
    );
    let delayer = format!("{PROJECT}-netfault-delay-etcd1");
    assert_eq!(
        s.fake.calls(),
        [
            call("probe", 0),
            call(&format!("start_delayer etcd1 {delayer}"), 1),
            call("netfault etcd1 run", 1),
            // The rollback: the delayer goes, the recorded undo runs.
            call(&format!("remove_helper {delayer}"), 1),
            call("netfault etcd1 undo", 1),
        ]
    );
    assert!(s.on_disk().is_empty());
    // The node can be shaped again: nothing says it still is.
    s.cluster
        .act(&id("etcd1"), NetworkAction::Shape(delay(100)), &anything)
        .await
        .unwrap();
    assert_eq!(s.on_disk().len(), 1);
}

#[tokio::test]
async fn a_half_made_fault_whose_undo_fails_stays_on_the_ledger() {
    let s = setup("shape-stuck").await;
    s.fake.fail("netfault etcd1 run", "iptables: resource busy");
    s.fake.fail("netfault etcd1 undo", "the engine went away");
    let result = s
        .cluster
        .act(&id("etcd1"), NetworkAction::Shape(delay(100)), &anything)
        .await;
    assert!(result.is_err());
    // For the final restore (or `host recover`) to undo.
    assert_eq!(s.on_disk().len(), 1, "{:?}", s.on_disk());
    let restored = s.cluster.restore_all().await;
    assert!(restored.iter().all(|o| o.ok), "{restored:?}");
    assert!(s.on_disk().is_empty());
}

#[tokio::test]
async fn a_partition_that_fails_half_way_is_undone() {
    let s = setup("partition-rollback").await;
    s.fake
        .set_cuts("etcd3", vec![reconnect("front"), reconnect("back")]);
    s.fake
        .fail("cut etcd3 reconnect to back", "network is busy");
    let result = s
        .cluster
        .act(&id("etcd3"), NetworkAction::Partition, &anything)
        .await;
    assert!(matches!(&result, Err(ClusterError::Failed(m)) if m == "network is busy"));
    assert_eq!(
        s.fake.calls(),
        [
            call("cut etcd3 reconnect to front", 1),
            call("cut etcd3 reconnect to back", 2),
            call("reconnect etcd3 reconnect to front", 1),
        ]
    );
    assert!(s.on_disk().is_empty());
}

#[tokio::test]
async fn a_partition_by_isolation_is_one_recorded_network_fault() {
    let nodes = vec![node("etcd", "etcd1", NodeState::Running)];
    let fake = FakeBackend::new(PROJECT, state_dir("isolation"), nodes).partitioning_by_isolation();
    let s = setup_with("isolation", fake).await;
    s.cluster
        .act(&id("etcd1"), NetworkAction::Partition, &anything)
        .await
        .unwrap();
    assert_eq!(
        s.fake.calls(),
        [call("probe", 0), call("netfault etcd1 run", 1)]
    );
    assert_eq!(s.on_disk(), ["etcd1 remove the isolation (4 command(s))"]);
    s.cluster
        .act(&id("etcd1"), NetworkAction::Heal, &anything)
        .await
        .unwrap();
    assert_eq!(s.fake.said()[2..], ["netfault etcd1 undo"]);
    assert!(s.on_disk().is_empty());
}

#[tokio::test]
async fn restoring_unpauses_then_reconnects_then_starts() {
    let s = setup("order").await;
    s.fake
        .set_cuts("etcd3", vec![reconnect("front"), reconnect("back")]);
    // Made in the opposite order to the one they are undone in.
    s.cluster
        .act(&id("etcd2"), kill(), &anything)
        .await
        .unwrap();
    s.cluster
        .act(&id("etcd3"), NetworkAction::Partition, &anything)
        .await
        .unwrap();
    s.cluster
        .act(&id("etcd1"), ContainerAction::Pause, &anything)
        .await
        .unwrap();
    let made = s.fake.calls().len();
    let restored = s.cluster.restore_all().await;
    assert!(restored.iter().all(|o| o.ok), "{restored:?}");
    assert_eq!(
        s.fake.said()[made..],
        [
            "bring_back etcd1 unpause",
            "reconnect etcd3 reconnect to front",
            "reconnect etcd3 reconnect to back",
            "bring_back etcd2 start",
        ]
    );
    assert!(s.on_disk().is_empty());
}

#[tokio::test]
async fn one_failing_undo_stops_no_other_and_stays_on_the_ledger() {
    let s = setup("failing-undo").await;
    for node in ["etcd1", "etcd2", "etcd3"] {
        s.cluster.act(&id(node), kill(), &anything).await.unwrap();
    }
    s.fake.fail("bring_back etcd2", "the engine refused");
    let restored = s.cluster.restore_all().await;
    let shown: Vec<(String, bool)> = restored.iter().map(|o| (o.id.clone(), o.ok)).collect();
    assert_eq!(
        shown,
        [
            ("etcd1".to_string(), true),
            ("etcd2".to_string(), false),
            ("etcd3".to_string(), true)
        ]
    );
    assert!(restored[1].detail.contains("the engine refused"));
    assert_eq!(s.on_disk(), ["etcd2 start"]);
    // The next restore tries it again.
    let again = s.cluster.restore_all().await;
    assert_eq!(again.len(), 1);
    assert!(again[0].ok);
    assert!(s.on_disk().is_empty());
}

#[tokio::test]
async fn a_replaced_task_counts_as_back() {
    let s = setup("replaced").await;
    s.fake.set_task("etcd1", "task-1");
    s.cluster
        .act(&id("etcd1"), kill(), &anything)
        .await
        .unwrap();
    let recorded = s.cluster.outstanding_faults();
    assert_eq!(recorded[0].task.as_deref(), Some("task-1"));
    // The orchestrator rescheduled the task: a new node in its slot.
    s.fake.set_nodes(vec![
        node("etcd", "etcd1b", NodeState::Running),
        node("etcd", "etcd2", NodeState::Running),
        node("etcd", "etcd3", NodeState::Running),
    ]);
    s.fake.replace("etcd1", "etcd1b");
    let waited = s
        .cluster
        .wait_for(
            "etcd1",
            NodeState::Running,
            Duration::from_secs(5),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(waited.id, "etcd1b");
    let calls = s.fake.calls().len();
    let started = s
        .cluster
        .act(&id("etcd1"), ContainerAction::Start, &anything)
        .await
        .unwrap();
    assert_eq!(started.id, "etcd1b");
    assert_eq!(s.fake.calls().len(), calls, "nothing more was asked");
    assert!(s.on_disk().is_empty(), "{:?}", s.on_disk());
}

#[tokio::test]
async fn a_replaced_node_a_flow_may_not_touch_is_not_taken_as_back() {
    let s = setup("replaced-denied").await;
    s.cluster
        .act(&id("etcd1"), kill(), &anything)
        .await
        .unwrap();
    s.fake
        .set_nodes(vec![node("etcd", "etcd1b", NodeState::Running)]);
    s.fake.replace("etcd1", "etcd1b");
    let nothing = |_: &Node| false;
    let result = s
        .cluster
        .act(&id("etcd1"), ContainerAction::Start, &nothing)
        .await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(s.on_disk(), ["etcd1 start"]);
}

#[tokio::test]
async fn a_change_with_a_state_shows_before_any_list() {
    let fake = FakeBackend::new(
        PROJECT,
        state_dir("changes"),
        vec![node("etcd", "etcd1", NodeState::Running)],
    );
    let feed = fake.change_feed();
    let s = setup_with("changes", fake).await;
    let mut nodes = s.cluster.subscribe();
    let shutdown = CancellationToken::new();
    s.cluster.spawn_watcher(shutdown.clone());
    let until = |want: NodeState| {
        let mut nodes = nodes.clone();
        async move {
            while nodes.borrow_and_update().first().map(|n| n.state) != Some(want) {
                nodes.changed().await.unwrap();
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), until(NodeState::Running))
        .await
        .unwrap();
    // The backend's list still says running: only the change says exited.
    feed.unbounded_send(super::backend::Change {
        id: "etcd1".into(),
        kind: super::backend::ChangeKind::Now(NodeState::Exited),
    })
    .unwrap();
    tokio::time::timeout(Duration::from_secs(5), until(NodeState::Exited))
        .await
        .unwrap();
    shutdown.cancel();
    nodes.borrow_and_update();
}

#[tokio::test]
async fn stopping_lets_a_fault_in_flight_land_undoes_it_and_makes_none_until_resumed() {
    let s = setup("stop").await;
    s.fake
        .delay("perform etcd2 kill", Duration::from_millis(300));
    let cluster = s.cluster.clone();
    let in_flight = tokio::spawn(async move { cluster.act(&id("etcd2"), kill(), &anything).await });
    // The kill is on its way (on the ledger, its engine call not landed).
    tokio::time::sleep(Duration::from_millis(50)).await;
    let outcomes = s.cluster.stop_faults().await;
    assert!(in_flight.await.unwrap().is_ok());
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert!(outcomes[0].ok, "{outcomes:?}");
    let said = s.fake.said();
    let landed = said
        .iter()
        .position(|c| c.starts_with("perform etcd2 kill"));
    let undone = said.iter().position(|c| c.starts_with("bring_back etcd2"));
    assert!(
        landed.is_some() && landed < undone,
        "the undo came before the kill landed: {said:?}"
    );
    assert!(s.cluster.outstanding_faults().is_empty());

    // Stopped: a new fault is refused before the backend hears of it.
    assert!(s.cluster.is_halted());
    match s.cluster.act(&id("etcd3"), kill(), &anything).await {
        Err(ClusterError::Failed(why)) => assert!(why.contains("stopped"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(!s.fake.said().iter().any(|c| c.contains("etcd3")));
    s.cluster.resume();
    assert!(s.cluster.act(&id("etcd3"), kill(), &anything).await.is_ok());
}
