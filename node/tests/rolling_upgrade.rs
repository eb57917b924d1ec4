//! Rolling upgrades: a cluster whose members all run a build that supports only feature level 0
//! (`--feature-level-cap 0`: it behaves as the builds before feature levels), or only level 1
//! (before users, key policies and grants), or only level 3 (before rotation, import and
//! ciphertext blobs v2), is restarted one node at a time on the current build. While any member
//! is older the cluster keeps serving every key and refuses only what needs the new level; once
//! the last node is upgraded the leader raises the level and the new commands work — the first
//! access key acting as the `admin` user the raise creates — and new blobs take the new format.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::ProcessCluster;
use trent_client::wire::data_plane::{DecryptRequest, EncryptRequest};
use trent_client::wire::{Blob, ErrorCode};
use trent_client::{ClientError, TrentClient};

const OLD: [&str; 2] = ["--feature-level-cap", "0"];
const LEVEL_ONE: [&str; 2] = ["--feature-level-cap", "1"];
const LEVEL_THREE: [&str; 2] = ["--feature-level-cap", "3"];
const CURRENT: u32 = trent_storage::SUPPORTED_LEVEL;

async fn encrypt(client: &TrentClient, key_id: &str, plaintext: &[u8]) -> Vec<u8> {
    let request = EncryptRequest {
        key_id: key_id.to_owned(),
        plaintext: Blob(plaintext.to_vec()),
        ..Default::default()
    };
    client.encrypt(&request).await.expect("encrypt").ciphertext_blob.as_bytes().to_vec()
}

async fn decrypts(client: &TrentClient, blobs: &BTreeMap<Vec<u8>, Vec<u8>>) {
    for (blob, plaintext) in blobs {
        let request = DecryptRequest { ciphertext_blob: Some(Blob(blob.clone())), ..Default::default() };
        let answer = client.decrypt(&request).await.expect("decrypt");
        assert_eq!(answer.plaintext.as_bytes(), plaintext.as_slice());
    }
}

async fn feature_levels(cluster: &ProcessCluster) -> Vec<(u32, u32)> {
    let mut levels = Vec::new();
    for node in &cluster.nodes {
        let view = cluster.client_of(node.id).cluster().await.expect("cluster view");
        levels.push((view.feature_level, view.supported_feature_level));
    }
    levels
}

async fn wait_for_level(cluster: &ProcessCluster, level: u32, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let levels = feature_levels(cluster).await;
        if levels.iter().all(|(applied, _)| *applied == level) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "feature level did not reach {level}: {levels:?}\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Restarts node `id` on the current build (without the cap) and unseals it.
async fn upgrade(cluster: &mut ProcessCluster, id: u64) {
    let node = cluster.node(id);
    node.terminate();
    let mut kept = Vec::new();
    let mut args = node.args.drain(..);
    while let Some(arg) = args.next() {
        if arg == "--feature-level-cap" {
            args.next();
        } else {
            kept.push(arg);
        }
    }
    drop(args);
    node.args = kept;
    cluster.start_node(id).await;
}

fn refused(result: Result<impl std::fmt::Debug, ClientError>) -> trent_wire::KmsError {
    match result {
        Err(ClientError::Api(error)) => error,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_rolling_upgrade_keeps_serving_and_refuses_only_new_commands_until_the_level_rises() {
    let mut cluster = ProcessCluster::start(3, &OLD).await;
    // Writes and the encryptions that follow them go through one node (read your writes): one
    // not being restarted.
    let client = cluster.client_of(3);
    let mut blobs = BTreeMap::new();
    let before = support::create_key(&client, "made before the upgrade").await.expect("create key");
    blobs.insert(encrypt(&client, &before, b"before").await, b"before".to_vec());
    assert_eq!(feature_levels(&cluster).await, vec![(0, 0); 3]);

    for (step, id) in [1u64, 2].into_iter().enumerate() {
        upgrade(&mut cluster, id).await;
        // One member still runs the older build: the level stays, everything else is served.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let levels = feature_levels(&cluster).await;
        assert!(levels.iter().all(|(applied, _)| *applied == 0), "step {step}: {levels:?}");
        for other in 1..=3 {
            decrypts(&cluster.client_of(other), &blobs).await;
        }
        let key = support::create_key(&client, &format!("made during the upgrade, step {step}"))
            .await
            .expect("create");
        let plaintext = format!("step {step}").into_bytes();
        blobs.insert(encrypt(&client, &key, &plaintext).await, plaintext);
        // A rekey records the new split, a command the older build cannot decode: refused.
        let error = refused(client.rekey(3, 2).await);
        assert_eq!(error.code, ErrorCode::InvalidState, "{error}");
        assert!(error.message.contains("needs cluster feature level 1"), "{error}");
    }

    upgrade(&mut cluster, 3).await;
    let client = cluster.client_of(1);
    wait_for_level(&cluster, CURRENT, Duration::from_secs(15)).await;
    assert_eq!(feature_levels(&cluster).await, vec![(CURRENT, CURRENT); 3]);
    for id in 1..=3 {
        decrypts(&cluster.client_of(id), &blobs).await;
    }
    // The new command now works, and its shares unseal.
    let rekeyed = client.rekey(3, 2).await.expect("rekey at the new level");
    cluster.shares = rekeyed.shares;
    cluster.client_of(2).seal(0).await.expect("seal node 2");
    cluster.unseal(2).await;
    decrypts(&cluster.client_of(2), &blobs).await;
    for node in &mut cluster.nodes {
        node.terminate();
    }
}

#[tokio::test]
async fn users_key_policies_and_grants_wait_for_level_two_and_the_first_key_becomes_admin() {
    let mut cluster = ProcessCluster::start(3, &LEVEL_ONE).await;
    wait_for_level(&cluster, 1, Duration::from_secs(10)).await;
    let client = cluster.client_of(3);
    let key = support::create_key(&client, "made at level 1").await.expect("create key");
    let blob = encrypt(&client, &key, b"level 1").await;
    let blobs = BTreeMap::from([(blob, b"level 1".to_vec())]);
    for id in [1u64, 2] {
        upgrade(&mut cluster, id).await;
        let error = refused(client.create_user("carol", None).await);
        assert_eq!(error.code, ErrorCode::InvalidState, "{error}");
        assert!(error.message.contains("needs cluster feature level 2"), "{error}");
        let grant = serde_json::json!({"KeyId": key, "GranteePrincipal": "arn:aws:iam::111122223333:user/carol", "Operations": ["Encrypt"]});
        let error = refused(client.call::<_, serde_json::Value>("CreateGrant", &grant).await);
        assert!(error.message.contains("needs cluster feature level 2"), "{error}");
        decrypts(&client, &blobs).await;
    }
    upgrade(&mut cluster, 3).await;
    wait_for_level(&cluster, CURRENT, Duration::from_secs(15)).await;
    let client = cluster.client_of(1);
    let admin = client.get_user("admin").await.expect("the raise made the admin user");
    assert_eq!(admin.access_keys.len(), 1, "the first access key acts as admin: {admin:?}");
    client.create_user("carol", None).await.expect("users at level 2");
    let grant = serde_json::json!({"KeyId": key, "GranteePrincipal": "arn:aws:iam::111122223333:user/carol", "Operations": ["Encrypt"]});
    client.call::<_, serde_json::Value>("CreateGrant", &grant).await.expect("grants at level 2");
    for id in 1..=3 {
        decrypts(&cluster.client_of(id), &blobs).await;
    }
    for node in &mut cluster.nodes {
        node.terminate();
    }
}

/// The first byte of a ciphertext blob names its format (docs/formats.md, "Ciphertext blobs").
fn blob_format(blob: &[u8]) -> u8 {
    blob.first().copied().expect("a blob is never empty")
}

#[tokio::test]
async fn blobs_stay_v1_until_every_member_supports_level_four_and_every_old_blob_still_decrypts() {
    let mut cluster = ProcessCluster::start(3, &LEVEL_THREE).await;
    wait_for_level(&cluster, 3, Duration::from_secs(10)).await;
    let client = cluster.client_of(3);
    let key = support::create_key(&client, "made at level 3").await.expect("create key");
    let mut blobs = BTreeMap::new();
    let blob = encrypt(&client, &key, b"level 3").await;
    assert_eq!(blob_format(&blob), 0x01, "level 3 writes v1 blobs");
    blobs.insert(blob, b"level 3".to_vec());
    for (step, id) in [1u64, 2].into_iter().enumerate() {
        upgrade(&mut cluster, id).await;
        // Node `id` runs the new build, but an older member could not open a v2 blob: v1 still,
        // whichever node encrypts.
        for serving in [id, 3] {
            let plaintext = format!("step {step}, node {serving}").into_bytes();
            let blob = encrypt(&cluster.client_of(serving), &key, &plaintext).await;
            assert_eq!(blob_format(&blob), 0x01, "step {step}: node {serving} wrote a newer blob");
            blobs.insert(blob, plaintext);
        }
        for other in 1..=3 {
            decrypts(&cluster.client_of(other), &blobs).await;
        }
    }
    upgrade(&mut cluster, 3).await;
    wait_for_level(&cluster, CURRENT, Duration::from_secs(15)).await;
    assert_eq!(feature_levels(&cluster).await, vec![(CURRENT, CURRENT); 3]);
    for id in 1..=3 {
        let plaintext = format!("level 4, node {id}").into_bytes();
        let blob = encrypt(&cluster.client_of(id), &key, &plaintext).await;
        assert_eq!(blob_format(&blob), 0x02, "node {id} writes v2 blobs at level 4");
        blobs.insert(blob, plaintext);
    }
    // A key made at level 4, used through the node that made it (read your writes).
    let client = cluster.client_of(1);
    let after = support::create_key(&client, "made at level 4").await.expect("create");
    let blob = encrypt(&client, &after, b"new key").await;
    assert_eq!(blob_format(&blob), 0x02);
    blobs.insert(blob, b"new key".to_vec());
    for id in 1..=3 {
        decrypts(&cluster.client_of(id), &blobs).await;
    }
    // Every node restarts on the new build from what it stored: old and new blobs still open.
    for id in 1..=3 {
        cluster.node(id).terminate();
        cluster.start_node(id).await;
    }
    wait_for_level(&cluster, CURRENT, Duration::from_secs(15)).await;
    for id in 1..=3 {
        decrypts(&cluster.client_of(id), &blobs).await;
    }
    for node in &mut cluster.nodes {
        node.terminate();
    }
}

#[tokio::test]
async fn a_node_that_does_not_support_the_cluster_level_cannot_join() {
    let mut cluster = ProcessCluster::start(1, &[]).await;
    wait_for_level(&cluster, CURRENT, Duration::from_secs(10)).await;
    let index = cluster.add_unstarted_node(2, &OLD);
    cluster.nodes[index].start();
    cluster.wait_until_up(2, Duration::from_secs(10)).await;
    let joiner = &cluster.nodes[index];
    let (api_addr, peer_addr) = (joiner.api_addr.clone(), joiner.peer_addr.clone());
    let request = trent_wire::admin::AddLearnerRequest { node_id: 2, api_addr, peer_addr };
    let refused = cluster.client_of(1).add_learner(&request).await;
    match refused {
        Err(ClientError::Api(error)) => {
            assert_eq!(error.code, ErrorCode::InvalidState, "{error}");
            assert!(error.message.contains("supports cluster feature level 0"), "{error}");
        }
        other => panic!("an old node joined: {other:?}"),
    }
    let view = cluster.client_of(1).cluster().await.expect("cluster");
    assert_eq!(view.members.len(), 1, "nothing changed");
    for node in &mut cluster.nodes {
        node.terminate();
    }
}
