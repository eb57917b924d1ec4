//! The seal across real processes: a restarted node comes back sealed and refuses everything
//! but health, status, init and unseal; unseal reports progress, refuses bad shares and resets;
//! a sealed node keeps following the log and serves it all once unsealed; init happens once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::time::Duration;

use support::{all_key_ids, create_key, ProcessCluster};
use trent_client::wire::{ErrorCode, KmsError};
use trent_client::ClientError;
use trent_wire::admin::{InitRequest, SealStatusResponse, UnsealRequest};

async fn status(cluster: &ProcessCluster, id: u64) -> SealStatusResponse {
    let api_addr = cluster.nodes.iter().find(|node| node.id == id).expect("node").api_addr.clone();
    let body = cluster.admin_get(&api_addr, "/v1/sys/status").await.expect("status");
    serde_json::from_slice(&body).expect("status body")
}

fn api_addr(cluster: &ProcessCluster, id: u64) -> String {
    cluster.nodes.iter().find(|node| node.id == id).expect("node").api_addr.clone()
}

async fn unseal_with(cluster: &ProcessCluster, id: u64, share: &str) -> Result<SealStatusResponse, KmsError> {
    let request = UnsealRequest { share: Some(share.to_owned()), reset: false };
    cluster
        .admin_call(&api_addr(cluster, id), "/v1/sys/unseal", &request)
        .await
        .map(|body| serde_json::from_slice(&body).expect("unseal body"))
}

async fn reset(cluster: &ProcessCluster, id: u64) -> Result<Vec<u8>, KmsError> {
    cluster
        .admin_call(&api_addr(cluster, id), "/v1/sys/unseal", &UnsealRequest { share: None, reset: true })
        .await
}

/// `share` with its threshold byte set to `threshold` and its (unkeyed) checksum recomputed.
fn with_edited_threshold(share: &str, threshold: u8) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let mut bytes = URL_SAFE_NO_PAD.decode(share.strip_prefix("trs1_").unwrap()).unwrap();
    bytes[20] = threshold; // "TRS", version, 16-byte cluster id, then the threshold
    let check = {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes[..bytes.len() - 4]);
        digest.as_ref()[..4].to_vec()
    };
    let length = bytes.len();
    bytes[length - 4..].copy_from_slice(&check);
    format!("trs1_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Waits until `node` has applied everything `leader` had applied.
async fn caught_up(cluster: &ProcessCluster, leader: u64, node: u64) {
    let leader_applied = cluster.health(leader).await.and_then(|h| h.last_applied_index).expect("applied");
    cluster.wait_for_applied(node, leader_applied, Duration::from_secs(10)).await;
}

fn refused_with(result: Result<impl std::fmt::Debug, KmsError>, code: ErrorCode, says: &str) {
    match result {
        Err(error) => {
            assert_eq!(error.code, code, "{error}");
            assert!(error.message.contains(says), "{error}");
        }
        Ok(answer) => panic!("accepted: {answer:?}"),
    }
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
    refused_with(repeated, ErrorCode::Validation, "already given");
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

    refused_with(
        unseal_with(&cluster, node, "not a share").await,
        ErrorCode::Validation,
        "not a Trent unseal share",
    );
    let truncated = &cluster.shares[0][..cluster.shares[0].len() - 3];
    refused_with(unseal_with(&cluster, node, truncated).await, ErrorCode::Validation, "this share is");
    refused_with(
        unseal_with(&cluster, node, &other.shares[0]).await,
        ErrorCode::Validation,
        "another cluster",
    );
    assert_eq!(status(&cluster, node).await.progress, 0);

    unseal_with(&cluster, node, &cluster.shares[1]).await.expect("good share");
    reset(&cluster, node).await.expect("reset");
    assert_eq!(status(&cluster, node).await.progress, 0);
    assert!(status(&cluster, node).await.sealed);
    // Anyone can ask for a reset, so they are rationed: one per 10 s.
    unseal_with(&cluster, node, &cluster.shares[1]).await.expect("good share");
    refused_with(reset(&cluster, node).await, ErrorCode::Throttling, "reset less than");
    assert_eq!(status(&cluster, node).await.progress, 1, "a throttled reset keeps progress");
    other.node(1).kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_with_an_edited_threshold_or_from_before_a_rekey_is_refused_before_it_counts() {
    let mut cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let node = cluster.followers(leader)[0];
    cluster.node(node).kill();
    cluster.start_node(node).await; // restarts sealed, then unseals with shares 1 and 2
    cluster.client_of(node).seal(0).await.expect("seal");
    // The red team's share: threshold raised to 3 and the checksum recomputed. It once made the
    // node wait for three shares of a two-share split.
    let edited = with_edited_threshold(&cluster.shares[0], 3);
    refused_with(
        unseal_with(&cluster, node, &edited).await,
        ErrorCode::Validation,
        "not from the cluster's current split",
    );
    let lowered = with_edited_threshold(&cluster.shares[0], 1);
    refused_with(
        unseal_with(&cluster, node, &lowered).await,
        ErrorCode::Validation,
        "not from the cluster's current split",
    );
    assert_eq!(status(&cluster, node).await.progress, 0, "neither counted");

    // A rekey records a new split. Until it is confirmed the old shares still unseal (its reply
    // could have been lost); a node unsealed with the new shares confirms it, and from then on
    // the old shares are refused.
    let rekeyed = cluster.client_of(leader).rekey(3, 2).await.expect("rekey");
    caught_up(&cluster, leader, node).await;
    unseal_with(&cluster, node, &cluster.shares[0])
        .await
        .expect("an old share, before the rekey is confirmed");
    let old = unseal_with(&cluster, node, &cluster.shares[2]).await.expect("old share");
    assert!(!old.sealed, "the old split still unseals while the rekey is unconfirmed");
    cluster.client_of(node).seal(0).await.expect("seal");
    unseal_with(&cluster, node, &rekeyed.shares[0]).await.expect("new share");
    let done = unseal_with(&cluster, node, &rekeyed.shares[2]).await.expect("new share");
    assert!(!done.sealed, "the new split unseals");
    caught_up(&cluster, leader, node).await;
    cluster.client_of(node).seal(0).await.expect("seal");
    refused_with(
        unseal_with(&cluster, node, &cluster.shares[0]).await,
        ErrorCode::Validation,
        "not from the cluster's current split",
    );
    unseal_with(&cluster, node, &rekeyed.shares[1]).await.expect("new share");
    cluster.shares = rekeyed.shares;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_happens_once_and_seal_drops_a_node_back_to_sealed() {
    let cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let api_addr = cluster.nodes.iter().find(|n| n.id == leader).expect("node").api_addr.clone();
    let again = InitRequest { shares: 1, threshold: 1, ..InitRequest::default() };
    refused_with(
        cluster.admin_call(&api_addr, "/v1/sys/init", &again).await,
        ErrorCode::AlreadyExists,
        "already initialised",
    );

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
        let request = InitRequest { shares, threshold, ..InitRequest::default() };
        refused_with(
            cluster.admin_call(&api_addr, "/v1/sys/init", &request).await,
            ErrorCode::Validation,
            "threshold",
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
    let init = InitRequest { shares: 3, threshold: 2, ..InitRequest::default() };
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_started_with_an_init_token_initialises_only_for_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_path = dir.path().join("init-token");
    std::fs::write(&token_path, "0123456789abcdef0123456789abcdef\n").unwrap();
    let token_arg = token_path.display().to_string();
    let cluster = ProcessCluster::start_uninitialised_with(1, dir, &["--init-token-file", &token_arg]).await;
    let api_addr = cluster.nodes[0].api_addr.clone();
    let init = |init_token: Option<&str>| InitRequest {
        shares: 1,
        threshold: 1,
        init_token: init_token.map(str::to_owned),
        ..InitRequest::default()
    };
    // First caller once won: now a caller without the token gets nothing, and nothing changes.
    refused_with(
        cluster.admin_call(&api_addr, "/v1/sys/init", &init(None)).await,
        ErrorCode::AccessDenied,
        "init token",
    );
    refused_with(
        cluster.admin_call(&api_addr, "/v1/sys/init", &init(Some("0123456789abcdef0123456789abcdeX"))).await,
        ErrorCode::AccessDenied,
        "init token",
    );
    assert!(!status(&cluster, 1).await.initialized);
    let answer =
        cluster.admin_call(&api_addr, "/v1/sys/init", &init(Some("0123456789abcdef0123456789abcdef"))).await;
    assert!(answer.is_ok(), "{answer:?}");
    assert!(status(&cluster, 1).await.initialized);
}
