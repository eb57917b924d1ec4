//! What the storage does under rows at AWS's every maximum, and what a node does when its disk
//! really fails: legal CreateKeys must never stop Raft (they once did: sled deleted its own blob
//! files under the flush), and a full disk must take the node out of service visibly — not
//! leave it answering health while every write hangs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::time::{Duration, Instant};

use support::ProcessCluster;
use trent_client::wire::kms::{CreateKeyRequest, Tag};
use trent_client::TrentClient;

/// A CreateKey at AWS's limits: an 8,192-character description and 50 tags of 128-character
/// keys and 256-character values (about 27 KiB of row).
fn maximal_key(seed: usize) -> CreateKeyRequest {
    let filler = |length: usize, salt: usize| -> String {
        (0..length).map(|i| char::from(b'a' + ((i * 7 + salt * 13 + seed) % 26) as u8)).collect()
    };
    let tags = (0..50)
        .map(|i| Tag { tag_key: format!("{i:03}{}", filler(125, i)), tag_value: filler(256, i + 50) })
        .collect();
    CreateKeyRequest { description: Some(filler(8192, 0)), tags: Some(tags), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn legal_rows_at_every_maximum_keep_a_three_node_cluster_serving() {
    let mut cluster = ProcessCluster::start(3, &[]).await;
    let clients: Vec<TrentClient> = (1..=3).map(|id| cluster.client_of(id)).collect();
    // Three rounds of thirty took down the leader, then the next, then the quorum.
    let mut created = Vec::new();
    for seed in 0..90 {
        let answer = clients[seed % 3].create_key(&maximal_key(seed)).await;
        let metadata = answer.unwrap_or_else(|error| panic!("CreateKey {seed}: {error}\n{}", cluster.logs()));
        created.push(metadata.key_metadata.key_id);
    }
    for id in 1..=3 {
        let health = cluster.health(id).await.expect("health answers");
        assert!(health.ready && health.live, "node {id} left service: {health:?}");
        let listed = support::all_key_ids(&clients[(id - 1) as usize]).await;
        assert!(created.iter().all(|key| listed.contains(key)), "node {id} lost keys");
    }
    // The rows (and any blob files behind them) survive a restart.
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let restarted = cluster.followers(leader)[0];
    cluster.node(restarted).kill();
    cluster.start_node(restarted).await;
    let client = cluster.client_of(restarted);
    let described = client.describe_key(&support::kms::key(&created[45])).await.expect("describe");
    assert_eq!(described.key_metadata.description.len(), 8192);
    let listed = support::all_key_ids(&client).await;
    assert!(created.iter().all(|key| listed.contains(key)), "a restarted node lost keys");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_takes_the_node_out_of_service_visibly() {
    if !support::privileged("a_full_disk_takes_the_node_out_of_service_visibly") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let _disk = support::SmallDisk::mount(dir.path().join("node-1"), "12m");
    // The audit log on a disk of its own: this test fills the data disk, not the audit trail's
    // (node/tests/audit_cluster.rs fills that one).
    let audit_dir = dir.path().join("audit-1");
    let audit_arg = audit_dir.to_str().unwrap().to_owned();
    let mut cluster =
        ProcessCluster::start_in(1, &["--flush-deadline-ms", "2000", "--audit-dir", &audit_arg], dir).await;
    let client = cluster.client_of(1);
    let mut refused = None;
    for seed in 0..2000 {
        if let Err(error) = client.create_key(&maximal_key(seed)).await {
            refused = Some(error);
            break;
        }
    }
    let refused = refused.expect("12 MiB filled without a refusal");
    // sled waits forever for a write that failed; the flush deadline turns that into a storage
    // error, Raft stops, and the process exits non-zero for its supervisor to see.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = cluster.node(1).exit_status() {
            break status;
        }
        assert!(Instant::now() < deadline, "the node with a full disk kept running:\n{}", cluster.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!status.success(), "exited with {status} after {refused}");
    let log = cluster.logs();
    assert!(log.contains("Raft has stopped: this node is out of service"), "{log}");
    // Either sled reports ENOSPC, or its flush hangs and the deadline names the disk.
    assert!(log.contains("reason=storage error"), "the reason is named:\n{log}");
}
