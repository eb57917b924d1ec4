//! Access keys, rekey and keyring rotation across a three-node cluster: a new access key signs
//! on every node, a deleted one is refused everywhere, the last one cannot go; a rekeyed share set
//! unseals; after a rotation, secrets sealed with the new barrier version open on every node.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::time::Duration;

use support::{create_key, ProcessCluster};
use trent_client::wire::kms::ListKeysRequest;
use trent_client::wire::ErrorCode;
use trent_client::{ClientError, ClientOptions, RetryPolicy, Signing, TrentClient};

fn signed_by(cluster: &ProcessCluster, id: u64, access_key_id: &str, secret: &str) -> TrentClient {
    let options = ClientOptions {
        retry: RetryPolicy::none(),
        signing: Some(Signing::new(access_key_id, secret, "us-east-1")),
        ..cluster.client_options()
    };
    TrentClient::with_options(vec![cluster.endpoint(id)], options).expect("client")
}

fn code(result: Result<impl std::fmt::Debug, ClientError>) -> Option<ErrorCode> {
    match result {
        Err(ClientError::Api(error)) => Some(error.code),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_access_key_works_everywhere_until_deleted_and_the_last_key_stays() {
    let cluster = ProcessCluster::start(3, &[]).await;
    let admin = cluster.client_over(&[1, 2, 3]);
    let created = admin.create_access_key("ci robot").await.expect("create access key");
    for id in 1..=3 {
        let robot = signed_by(&cluster, id, &created.access_key_id, &created.secret_access_key);
        robot.list_keys(&ListKeysRequest::default()).await.expect("the new key signs on every node");
    }
    let listed = admin.list_access_keys().await.expect("list");
    assert_eq!(listed.access_keys.len(), 2);
    assert!(listed
        .access_keys
        .iter()
        .any(|key| key.access_key_id == created.access_key_id && key.description == "ci robot"));

    admin.delete_access_key(&created.access_key_id).await.expect("delete");
    // Each node authenticates from its own applied state: a follower refuses the deleted key once
    // it has applied the deletion, which takes a replication round.
    for id in 1..=3 {
        let robot = signed_by(&cluster, id, &created.access_key_id, &created.secret_access_key);
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        loop {
            let refused = code(robot.list_keys(&ListKeysRequest::default()).await);
            if refused == Some(ErrorCode::UnrecognizedClient) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "node {id} still accepts a deleted key: {refused:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let last = admin.list_access_keys().await.expect("list").access_keys.remove(0).access_key_id;
    assert_eq!(code(admin.delete_access_key(&last).await), Some(ErrorCode::InvalidState));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekeyed_shares_unseal_a_restarted_node() {
    let mut cluster = ProcessCluster::start(3, &[]).await;
    let answer = cluster.client_of(1).rekey(4, 3).await.expect("rekey");
    assert_eq!((answer.shares.len(), answer.threshold), (4, 3));
    assert!(answer.shares.iter().all(|share| !cluster.shares.contains(share)), "new shares");
    cluster.node(2).kill();
    cluster.node(2).start();
    cluster.wait_until_up(2, Duration::from_secs(10)).await;
    let client = cluster.client_of(2);
    for share in &answer.shares[1..4] {
        client.unseal(0, share).await.expect("rekeyed share");
    }
    assert!(!client.seal_status(0).await.expect("status").sealed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_rotation_new_secrets_open_on_every_node_and_old_ones_still_do() {
    let cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let follower = cluster.followers(leader)[0];
    let before = cluster.client_of(leader).create_access_key("before rotation").await.expect("create");

    let rotated = cluster.client_of(follower).rotate_keyring().await.expect("rotate");
    assert_eq!(rotated.barrier_version, 2);
    let after = cluster.client_of(follower).create_access_key("after rotation").await.expect("create");
    for id in 1..=3 {
        for key in [&before, &after] {
            let client = signed_by(&cluster, id, &key.access_key_id, &key.secret_access_key);
            client.list_keys(&ListKeysRequest::default()).await.expect("signs on every node");
        }
    }
    create_key(&cluster.client_of(leader), "material after rotation").await.expect("create key");
}
