//! Three-node clusters of real `trentd` processes on loopback: replication through followers,
//! leader failover, restart and catch-up, snapshot install, and membership changes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::time::{Duration, Instant};

use support::{all_key_ids, create_key, ProcessCluster};
use trent_client::wire::admin::AddLearnerRequest;
use trent_client::wire::kms::{CreateKeyRequest, KeyIdRequest};
use trent_client::{ClientError, TrentClient};

async fn describe(client: &TrentClient, key_id: &str) -> Result<String, ClientError> {
    let request = KeyIdRequest { key_id: key_id.into(), grant_tokens: None };
    Ok(client.describe_key(&request).await?.key_metadata.description)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_created_through_a_follower_is_visible_on_every_node() {
    let cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let follower = cluster.followers(leader)[0];

    let key_id =
        create_key(&cluster.client_of(follower), "made via a follower").await.expect("create via follower");

    for node in 1..=3 {
        let description = describe(&cluster.client_of(node), &key_id).await.expect("describe on every node");
        assert_eq!(description, "made via a follower", "node {node}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_node_catches_up_from_its_data_directory() {
    let mut cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let lagging = cluster.followers(leader)[1];
    let writer = cluster.client_of(leader);
    let early = create_key(&writer, "before restart").await.expect("create");

    cluster.node(lagging).kill();
    let mut missed = Vec::new();
    for i in 0..30 {
        missed.push(create_key(&writer, &format!("missed {i}")).await.expect("create while down"));
    }
    let leader_applied =
        cluster.health(leader).await.and_then(|h| h.last_applied_index).expect("leader applied");

    cluster.start_node(lagging).await;
    cluster.wait_for_applied(lagging, leader_applied, Duration::from_secs(15)).await;
    let keys = all_key_ids(&cluster.client_of(lagging)).await;
    assert!(keys.contains(&early));
    for key_id in &missed {
        assert!(keys.contains(key_id), "restarted node is missing {key_id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_behind_the_purge_point_is_restored_by_snapshot() {
    let mut cluster =
        ProcessCluster::start(3, &["--snapshot-every", "20", "--logs-kept-after-snapshot", "0"]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let lagging = cluster.followers(leader)[0];
    cluster.node(lagging).kill();
    let lagging_last = 1; // it had at most the bootstrap entries when it stopped

    let writer = cluster.client_of(leader);
    let mut created = Vec::new();
    for i in 0..60 {
        created.push(create_key(&writer, &format!("snapshotted {i}")).await.expect("create"));
    }
    // The leader must have purged past anything the lagging node holds, so only a snapshot
    // can bring it back.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let view = cluster.client_of(leader).cluster().await.expect("cluster view");
        if view.purged_index.is_some_and(|purged| purged > lagging_last + 5) {
            break;
        }
        assert!(Instant::now() < deadline, "leader never purged its log: {view:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    cluster.start_node(lagging).await;
    let leader_applied = cluster.health(leader).await.and_then(|h| h.last_applied_index).expect("applied");
    cluster.wait_for_applied(lagging, leader_applied, Duration::from_secs(20)).await;
    let view = cluster.client_of(lagging).cluster().await.expect("lagging node view");
    assert!(view.snapshot_index.is_some(), "lagging node holds no snapshot: {view:?}");
    let keys = all_key_ids(&cluster.client_of(lagging)).await;
    for key_id in &created {
        assert!(keys.contains(key_id), "snapshot-restored node is missing {key_id}");
    }
    assert!(cluster.node(lagging).log().contains("installing snapshot"), "no snapshot install in the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fourth_node_joins_as_learner_is_promoted_and_members_can_be_removed() {
    let mut cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let existing = create_key(&cluster.client_of(leader), "before join").await.expect("create");

    let index = cluster.add_unstarted_node(4, &[]);
    cluster.nodes[index].start();
    cluster.wait_until_up(4, Duration::from_secs(10)).await;
    let (api_addr, peer_addr) =
        (cluster.nodes[index].api_addr.clone(), cluster.nodes[index].peer_addr.clone());

    // Through a follower: membership changes are forwarded to the leader like writes.
    let follower = cluster.followers(leader)[0];
    let admin = cluster.client_of(follower);
    let joined =
        admin.add_learner(&AddLearnerRequest { node_id: 4, api_addr, peer_addr }).await.expect("add learner");
    let learner = joined.members.iter().find(|member| member.node_id == 4).expect("node 4 listed");
    assert!(!learner.voter, "a new node joins as a learner");
    cluster.unseal(4).await;
    let learner_read = describe(&cluster.client_of(4), &existing).await;
    assert_eq!(
        learner_read.as_deref().ok(),
        Some("before join"),
        "learner read: {learner_read:?}\n{}",
        cluster.logs()
    );

    let promoted = admin.promote(4).await.expect("promote");
    assert!(promoted.members.iter().any(|member| member.node_id == 4 && member.voter));
    assert_eq!(promoted.members.iter().filter(|member| member.voter).count(), 4);

    let removed = admin.remove_member(4).await.expect("remove node 4");
    assert!(removed.members.iter().all(|member| member.node_id != 4));
    assert_eq!(removed.members.len(), 3);

    // Remove a voter that is not the leader; the remaining two keep accepting writes.
    let victim = cluster.followers(leader).into_iter().find(|id| *id != 4).expect("a follower");
    let after = cluster.client_of(leader).remove_member(victim).await.expect("remove a voter");
    assert_eq!(after.members.len(), 2);
    let created =
        create_key(&cluster.client_of(leader), "after removal").await.expect("write with two voters");
    assert_eq!(describe(&cluster.client_of(leader), &created).await.expect("describe"), "after removal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_starts_from_a_toml_config_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let api_addr = format!("127.0.0.1:{}", support::free_port());
    let peer_addr = format!("127.0.0.1:{}", support::free_port());
    let config = format!(
        "node_id = 7\napi_addr = \"{api_addr}\"\npeer_addr = \"{peer_addr}\"\ndata_dir = \"{}\"\n\
         bootstrap = true\ninsecure_plaintext = true\n[arn]\nregion = \"eu-west-1\"\naccount_id = \"444455556666\"\n",
        dir.path().join("data").display()
    );
    let path = dir.path().join("trentd.toml");
    std::fs::write(&path, config).expect("write config");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_trentd"))
        .arg("server")
        .arg("--config")
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let client = TrentClient::single(&format!("http://{api_addr}")).expect("client");
    let deadline = Instant::now() + Duration::from_secs(15);
    while client.health(0).await.is_err() {
        assert!(Instant::now() < deadline, "node from config file never came up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let init = trent_wire::admin::InitRequest { shares: 1, threshold: 1, ..Default::default() };
    let admin = trent_node::peer::PeerClient::new(None).expect("admin client");
    let post = |path: &'static str, body: Vec<u8>| admin.post(&api_addr, path, body, Duration::from_secs(10));
    let reply = post("/v1/sys/init", serde_json::to_vec(&init).expect("encode")).await.expect("init");
    let answer: trent_wire::admin::InitResponse = serde_json::from_slice(&reply).expect("init answer");
    let unseal = trent_wire::admin::UnsealRequest { share: Some(answer.shares[0].clone()), reset: false };
    post("/v1/sys/unseal", serde_json::to_vec(&unseal).expect("encode")).await.expect("unseal");
    let signing = trent_client::Signing::new(answer.access_key_id, answer.secret_access_key, "eu-west-1");
    let options = trent_client::ClientOptions { signing: Some(signing), ..Default::default() };
    let client = TrentClient::with_options(vec![format!("http://{api_addr}")], options).expect("client");
    let created = client.create_key(&CreateKeyRequest::default()).await.expect("create key");
    let _ = child.kill();
    let _ = child.wait();
    assert!(created.key_metadata.arn.starts_with("arn:aws:kms:eu-west-1:444455556666:key/"));
    let health = client.health(0).await;
    assert!(health.is_err(), "node should be gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_retried_with_its_request_id_after_a_leader_kill_applies_once() {
    use trent_client::wire::kms::{CreateKeyRequest, KeyMetadataResponse};

    let mut cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let survivors = cluster.followers(leader);
    let request_id = trent_client::new_request_id();
    let request = CreateKeyRequest { description: Some("exactly once".into()), ..Default::default() };

    // First attempt through a follower, forwarded to the leader and committed.
    let first: KeyMetadataResponse = cluster
        .client_of(survivors[0])
        .call_with_request_id("CreateKey", &request, &request_id)
        .await
        .expect("first attempt");
    // The leader dies; the client, not knowing the first answer arrived, retries elsewhere.
    cluster.node(leader).kill();
    let retry: KeyMetadataResponse = cluster
        .client_over(&[survivors[1]])
        .call_with_request_id("CreateKey", &request, &request_id)
        .await
        .expect("retry after failover");

    assert_eq!(retry.key_metadata.key_id, first.key_metadata.key_id);
    let keys = all_key_ids(&cluster.client_of(survivors[1])).await;
    assert_eq!(keys.len(), 1, "the retried CreateKey created a second key: {keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_leader_hands_over_to_the_remaining_members() {
    let cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let remaining = cluster.followers(leader);
    let before = create_key(&cluster.client_of(leader), "before").await.expect("create");

    let changed = cluster.client_of(remaining[0]).remove_member(leader).await.expect("remove the leader");
    assert!(changed.members.iter().all(|member| member.node_id != leader));

    let writer = cluster.client_over(&remaining);
    let after = create_key(&writer, "after the leader left").await.expect("write after leader removal");
    for id in &remaining {
        let keys = all_key_ids(&cluster.client_of(*id)).await;
        assert!(keys.contains(&before) && keys.contains(&after), "node {id} is missing keys");
        let view = cluster.client_of(*id).cluster().await.expect("cluster view");
        assert_ne!(view.leader_id, Some(leader));
        assert_eq!(view.members.len(), 2);
    }
}
