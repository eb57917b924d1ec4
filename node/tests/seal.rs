//! The seal across real processes: a restarted node comes back sealed and refuses everything
//! but health, status, init and unseal; unseal reports progress, refuses bad shares and resets;
//! a sealed node keeps following the log and serves it all once unsealed; init happens once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::time::Duration;

use support::{all_key_ids, create_key, ProcessCluster};
use trent_client::wire::ErrorCode;
use trent_client::ClientError;
use trent_wire::admin::{InitRequest, SealStatusResponse, UnsealRequest};

async fn status(cluster: &ProcessCluster, id: u64) -> SealStatusResponse {
    let api_addr = cluster.nodes.iter().find(|node| node.id == id).expect("node").api_addr.clone();
    let body = cluster.admin_get(&api_addr, "/v1/sys/status").await.expect("status");
    serde_json::from_slice(&body).expect("status body")
}

async fn unseal_with(cluster: &ProcessCluster, id: u64, share: &str) -> Result<SealStatusResponse, String> {
    let api_addr = cluster.nodes.iter().find(|node| node.id == id).expect("node").api_addr.clone();
    let request = UnsealRequest { share: Some(share.to_owned()), reset: false };
    cluster
        .admin_post(&api_addr, "/v1/sys/unseal", &request)
        .await
        .map(|body| serde_json::from_slice(&body).expect("unseal body"))
}

fn is_unavailable(result: &Result<impl std::fmt::Debug, ClientError>) -> bool {
    matches!(result, Err(ClientError::Api(error)) if error.code.http_status() == 503 || error.code == ErrorCode::Internal)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_is_sealed_until_a_threshold_of_shares_and_then_serves() {
    let mut cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let follower = cluster.followers(leader)[0];
    cluster.node(follower).kill();
    // Written while it was down: it must catch up while still sealed.
    let mut written = Vec::new();
    for i in 0..20 {
        written
            .push(create_key(&cluster.client_of(leader), &format!("while down {i}")).await.expect("create"));
    }
    cluster.node(follower).start();
    cluster.wait_until_up(follower, Duration::from_secs(10)).await;

    let sealed = status(&cluster, follower).await;
    assert!(sealed.sealed && sealed.initialized, "{sealed:?}");
    assert!(cluster.health(follower).await.expect("health answers while sealed").sealed);
    let client = cluster.client_of(follower);
    assert!(
        is_unavailable(&client.list_keys(&Default::default()).await),
        "KMS calls are refused while sealed"
    );
    assert!(is_unavailable(&client.cluster().await), "admin calls are refused while sealed");

    // The sealed node still follows the log.
    let leader_applied = cluster.health(leader).await.and_then(|h| h.last_applied_index).expect("applied");
    cluster.wait_for_applied(follower, leader_applied, Duration::from_secs(15)).await;

    let first = unseal_with(&cluster, follower, &cluster.shares[0]).await.expect("first share");
    assert_eq!((first.sealed, first.threshold, first.progress), (true, Some(2), 1));
    let repeated = unseal_with(&cluster, follower, &cluster.shares[0]).await;
    assert!(repeated.is_err(), "a repeated share is refused");
    assert_eq!(status(&cluster, follower).await.progress, 1, "a refused share keeps progress");
    let done = unseal_with(&cluster, follower, &cluster.shares[2]).await.expect("second share");
    assert!(!done.sealed);

    let keys = all_key_ids(&client).await;
    assert!(written.iter().all(|key_id| keys.contains(key_id)), "the unsealed node serves what it followed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unseal_refuses_garbage_and_foreign_shares_and_reset_clears_progress() {
    let mut cluster = ProcessCluster::start(3, &[]).await;
    let mut other = ProcessCluster::start(1, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let node = cluster.followers(leader)[0];
    cluster.node(node).kill();
    cluster.node(node).start();
    cluster.wait_until_up(node, Duration::from_secs(10)).await;

    assert!(unseal_with(&cluster, node, "not a share").await.is_err());
    let truncated = &cluster.shares[0][..cluster.shares[0].len() - 3];
    assert!(unseal_with(&cluster, node, truncated).await.is_err());
    assert!(unseal_with(&cluster, node, &other.shares[0]).await.is_err(), "another cluster's share");
    assert_eq!(status(&cluster, node).await.progress, 0);

    unseal_with(&cluster, node, &cluster.shares[1]).await.expect("good share");
    let api_addr = cluster.nodes.iter().find(|n| n.id == node).expect("node").api_addr.clone();
    cluster
        .admin_post(&api_addr, "/v1/sys/unseal", &UnsealRequest { share: None, reset: true })
        .await
        .expect("reset");
    assert_eq!(status(&cluster, node).await.progress, 0);
    assert!(status(&cluster, node).await.sealed);
    other.node(1).kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_happens_once_and_seal_drops_a_node_back_to_sealed() {
    let cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let api_addr = cluster.nodes.iter().find(|n| n.id == leader).expect("node").api_addr.clone();
    let again = InitRequest { shares: 1, threshold: 1, access_key_id: None, secret_access_key: None };
    assert!(cluster.admin_post(&api_addr, "/v1/sys/init", &again).await.is_err(), "a second init is refused");

    cluster.client_of(leader).seal(0).await.expect("seal");
    assert!(status(&cluster, leader).await.sealed);
    assert!(is_unavailable(&cluster.client_of(leader).list_keys(&Default::default()).await));
    cluster.unseal(leader).await;
    cluster.client_of(leader).list_keys(&Default::default()).await.expect("serves after unseal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_checks_its_parameters_before_initialising_anything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cluster = ProcessCluster::start_uninitialised(1, dir).await;
    let api_addr = cluster.nodes[0].api_addr.clone();
    for (shares, threshold) in [(3, 4), (0, 0), (256, 2)] {
        let request = InitRequest { shares, threshold, access_key_id: None, secret_access_key: None };
        assert!(
            cluster.admin_post(&api_addr, "/v1/sys/init", &request).await.is_err(),
            "{shares}/{threshold}"
        );
    }
    assert!(!status(&cluster, 1).await.initialized);
    cluster.initialize_and_unseal().await;
    assert!(status(&cluster, 1).await.initialized);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_library_initialises_unseals_and_seals_a_cluster() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = ProcessCluster::start_uninitialised(3, dir).await;
    let client = cluster.client_over(&[1, 2, 3]);
    let init = InitRequest { shares: 3, threshold: 2, access_key_id: None, secret_access_key: None };
    let answer = client.init(&init).await.expect("init through the client");
    assert_eq!((answer.shares.len(), answer.threshold), (3, 2));
    for index in 0..3 {
        let first = client.unseal(index, &answer.shares[2]).await;
        // A follower may not have applied the init yet: retry until it has.
        if first.is_err() {
            tokio::time::sleep(Duration::from_millis(500)).await;
            client.unseal(index, &answer.shares[2]).await.expect("first share");
        }
        let status = client.unseal(index, &answer.shares[0]).await.expect("second share");
        assert!(!status.sealed, "endpoint {index} still sealed");
    }
    let signing = trent_client::Signing::new(
        answer.access_key_id.clone(),
        answer.secret_access_key.clone(),
        "us-east-1",
    );
    let options = trent_client::ClientOptions { signing: Some(signing), ..cluster.client_options() };
    let client = trent_client::TrentClient::with_options(
        cluster.nodes.iter().map(|node| node.endpoint()).collect(),
        options,
    )
    .expect("signed client");
    create_key(&client, "after client unseal").await.expect("serves");
    let sealed = client.seal(1).await.expect("seal");
    assert!(sealed.sealed);
    assert!(client.seal_status(1).await.expect("status").sealed);
    assert!(!client.seal_status(0).await.expect("status").sealed, "sealing one node leaves the others");
}
