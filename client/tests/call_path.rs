//! The client's call path against scripted loopback nodes: headers, error decoding, failover,
//! retry budget, request-id reuse, timeouts, body caps, pagination and admin routes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use support::{closed_port_url, key_metadata, FakeNode, Reply};
use trent_client::wire::admin::AddLearnerRequest;
use trent_client::wire::kms::{CreateKeyRequest, KeyIdRequest};
use trent_client::wire::ErrorCode;
use trent_client::{ClientError, ClientOptions, RetryPolicy, TrentClient};

fn fast_retries(attempts: u32) -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(2),
        retry: RetryPolicy::new(attempts, Duration::from_millis(1), Duration::from_millis(5)),
        ..ClientOptions::default()
    }
}

fn describe(key: &str) -> KeyIdRequest {
    KeyIdRequest { key_id: key.into(), grant_tokens: None }
}

#[tokio::test]
async fn kms_call_sends_aws_json_headers_and_decodes_the_answer() {
    let node = FakeNode::start(|_| Reply::ok(key_metadata("k1"))).await;
    let client = TrentClient::single(&node.url()).unwrap();
    let request = CreateKeyRequest { description: Some("d".into()), ..Default::default() };
    let created = client.create_key(&request).await.unwrap();
    assert_eq!(created.key_metadata.key_id, "k1");

    let seen = node.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].method.as_str(), seen[0].path.as_str()), ("POST", "/"));
    assert_eq!(seen[0].target.as_deref(), Some("TrentService.CreateKey"));
    assert_eq!(seen[0].content_type.as_deref(), Some("application/x-amz-json-1.1"));
    assert_eq!(seen[0].body, json!({"Description": "d"}));
    let id = seen[0].request_id.as_deref().unwrap();
    assert_eq!(id.len(), 36, "a UUID request id: {id}");
}

#[tokio::test]
async fn non_retryable_error_returns_at_once_without_failover() {
    let first = FakeNode::start(|_| Reply::error(400, "NotFoundException", "no such key")).await;
    let second = FakeNode::start(|_| Reply::ok(key_metadata("k"))).await;
    let client = TrentClient::with_options(vec![first.url(), second.url()], fast_retries(5)).unwrap();
    let err = client.describe_key(&describe("x")).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotFound));
    assert_eq!(err.to_string(), "NotFoundException: no such key");
    assert_eq!(first.seen().len() + second.seen().len(), 1);
}

#[tokio::test]
async fn retryable_error_fails_over_to_the_next_endpoint_with_the_same_request_id() {
    let unavailable =
        FakeNode::start(|_| Reply::error(503, "ServiceUnavailableException", "no leader")).await;
    let healthy = FakeNode::start(|_| Reply::ok(key_metadata("k2"))).await;
    let client = TrentClient::with_options(vec![unavailable.url(), healthy.url()], fast_retries(4)).unwrap();
    // Round-robin start: the first call begins at endpoint 0, the unavailable one.
    let created = client.create_key(&CreateKeyRequest::default()).await.unwrap();
    assert_eq!(created.key_metadata.key_id, "k2");
    let (a, b) = (unavailable.seen(), healthy.seen());
    assert_eq!((a.len(), b.len()), (1, 1));
    assert_eq!(a[0].request_id, b[0].request_id);
}

#[tokio::test]
async fn connection_refused_fails_over() {
    let healthy = FakeNode::start(|_| Reply::ok(key_metadata("k3"))).await;
    let client = TrentClient::with_options(vec![closed_port_url(), healthy.url()], fast_retries(3)).unwrap();
    for _ in 0..4 {
        let described = client.describe_key(&describe("k3")).await.unwrap();
        assert_eq!(described.key_metadata.key_id, "k3");
    }
    assert_eq!(healthy.seen().len(), 4);
}

#[tokio::test]
async fn calls_whose_answer_is_shown_once_are_sent_at_most_once_but_fail_over_an_unreachable_node() {
    let unavailable =
        FakeNode::start(|_| Reply::error(503, "KMSInternalException", "not committed in time")).await;
    let healthy = FakeNode::start(|_| {
        Reply::ok(json!({"access_key_id": "A", "secret_access_key": "s", "description": "robot"}))
    })
    .await;
    let client = TrentClient::with_options(vec![unavailable.url(), healthy.url()], fast_retries(5)).unwrap();
    // A 503 after the request arrived: it may have been applied, and its secret would be lost
    // in a repeat. The caller sees the error; nothing is sent again.
    let err = client.on_endpoint(0).unwrap().create_access_key("robot").await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Internal));
    assert_eq!(unavailable.seen().len(), 1);
    let err = client.rotate_keyring().await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Internal));
    assert_eq!(unavailable.seen().len() + healthy.seen().len(), 2, "rotate went out once");

    // A node that cannot be reached never saw the request: the next endpoint gets it.
    let client = TrentClient::with_options(vec![closed_port_url(), healthy.url()], fast_retries(3)).unwrap();
    let created = client.create_access_key("robot").await.unwrap();
    assert_eq!(created.access_key_id, "A");
}

#[tokio::test]
async fn retry_budget_bounds_attempts_and_returns_the_last_error() {
    let node = FakeNode::start(|_| Reply::error(500, "KMSInternalException", "boom")).await;
    let client = TrentClient::with_options(vec![node.url()], fast_retries(3)).unwrap();
    let err = client.describe_key(&describe("k")).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Internal));
    let seen = node.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|s| s.request_id == seen[0].request_id));
}

#[tokio::test]
async fn zero_retries_makes_every_failure_visible() {
    let node = FakeNode::start(|_| Reply::error(503, "ServiceUnavailableException", "sealed")).await;
    let client = TrentClient::with_options(vec![node.url()], fast_retries(5))
        .unwrap()
        .with_retry_policy(RetryPolicy::none());
    let err = client.describe_key(&describe("k")).await.unwrap_err();
    assert_eq!(err.error_type(), "ServiceUnavailableException");
    assert_eq!(node.seen().len(), 1);
}

#[tokio::test]
async fn slow_node_times_out() {
    let node =
        FakeNode::start(|_| Reply { delay: Duration::from_secs(5), ..Reply::ok(key_metadata("k")) }).await;
    let options = ClientOptions {
        timeout: Duration::from_millis(200),
        retry: RetryPolicy::none(),
        ..ClientOptions::default()
    };
    let client = TrentClient::with_options(vec![node.url()], options).unwrap();
    let err = client.describe_key(&describe("k")).await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn oversized_response_is_refused() {
    let node = FakeNode::start(|_| Reply::ok(json!({"padding": "x".repeat(10_000)}))).await;
    let options = ClientOptions { max_response_bytes: 1024, ..fast_retries(3) };
    let client = TrentClient::with_options(vec![node.url()], options).unwrap();
    let err = client.describe_key(&describe("k")).await.unwrap_err();
    assert_eq!(err, ClientError::ResponseTooLarge { limit: 1024 });
    assert_eq!(node.seen().len(), 1, "a too-large answer is not retried");
}

#[tokio::test]
async fn malformed_success_body_is_a_decode_error() {
    let node = FakeNode::start(|_| Reply::ok(json!({"Unexpected": true}))).await;
    let client = TrentClient::single(&node.url()).unwrap();
    let err = client.describe_key(&describe("k")).await.unwrap_err();
    assert!(matches!(err, ClientError::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn pinned_view_only_calls_its_endpoint() {
    let first = FakeNode::start(|_| Reply::ok(key_metadata("a"))).await;
    let second = FakeNode::start(|_| Reply::ok(key_metadata("b"))).await;
    let client = TrentClient::new(vec![first.url(), second.url()]).unwrap();
    let pinned = client.on_endpoint(1).unwrap();
    for _ in 0..3 {
        assert_eq!(pinned.describe_key(&describe("x")).await.unwrap().key_metadata.key_id, "b");
    }
    assert_eq!((first.seen().len(), second.seen().len()), (0, 3));
}

#[tokio::test]
async fn calls_spread_round_robin() {
    let first = FakeNode::start(|_| Reply::ok(key_metadata("a"))).await;
    let second = FakeNode::start(|_| Reply::ok(key_metadata("b"))).await;
    let client = TrentClient::new(vec![first.url(), second.url()]).unwrap();
    for _ in 0..6 {
        client.describe_key(&describe("x")).await.unwrap();
    }
    assert_eq!((first.seen().len(), second.seen().len()), (3, 3));
}

#[tokio::test]
async fn list_all_keys_follows_markers_to_the_end() {
    let node = FakeNode::start(|seen| {
        let entry = |n: u32| json!({"KeyId": format!("k{n}"), "KeyArn": format!("arn/k{n}")});
        match seen.body.get("Marker").and_then(|m| m.as_str()) {
            None => Reply::ok(json!({"Keys": [entry(1), entry(2)], "NextMarker": "p2", "Truncated": true})),
            Some("p2") => Reply::ok(json!({"Keys": [entry(3)], "Truncated": false})),
            Some(other) => Reply::error(400, "InvalidMarkerException", other),
        }
    })
    .await;
    let client = TrentClient::single(&node.url()).unwrap();
    let keys = client.list_all_keys().await.unwrap();
    let ids: Vec<&str> = keys.iter().map(|k| k.key_id.as_str()).collect();
    assert_eq!(ids, ["k1", "k2", "k3"]);
    assert_eq!(node.seen().len(), 2);
}

#[tokio::test]
async fn health_returns_the_body_of_a_sealed_node() {
    let node = FakeNode::start(|_| Reply {
        status: 503,
        body: json!({"node_id": 2, "role": "follower", "sealed": true, "initialized": true,
            "leader_id": null, "term": 4, "last_applied_index": null, "last_log_index": 9})
        .to_string(),
        delay: Duration::ZERO,
    })
    .await;
    let client = TrentClient::single(&node.url()).unwrap();
    let health = client.health(0).await.unwrap();
    assert!(health.sealed);
    assert_eq!(health.node_id, 2);
    let seen = node.seen();
    assert_eq!((seen[0].method.as_str(), seen[0].path.as_str()), ("GET", "/v1/sys/health"));
}

#[tokio::test]
async fn membership_calls_use_admin_routes() {
    let answer = json!({"log_index": 7, "members": [
        {"node_id": 1, "api_addr": "127.0.0.1:8400", "peer_addr": "127.0.0.1:8500", "voter": true}
    ]});
    let node = FakeNode::start(move |_| Reply::ok(answer.clone())).await;
    let client = TrentClient::single(&node.url()).unwrap();
    let learner = AddLearnerRequest {
        node_id: 4,
        api_addr: "127.0.0.1:8403".into(),
        peer_addr: "127.0.0.1:8503".into(),
    };
    assert_eq!(client.add_learner(&learner).await.unwrap().log_index, 7);
    client.promote(4).await.unwrap();
    client.remove_member(4).await.unwrap();
    let routes: Vec<(String, String)> = node.seen().into_iter().map(|s| (s.method, s.path)).collect();
    let expected =
        [("POST", "/v1/sys/members"), ("POST", "/v1/sys/members/4/promote"), ("DELETE", "/v1/sys/members/4")];
    for ((method, path), (want_method, want_path)) in routes.iter().zip(expected) {
        assert_eq!((method.as_str(), path.as_str()), (want_method, want_path));
    }
    assert_eq!(node.seen()[0].body["node_id"], 4);
    assert_eq!(node.seen()[0].content_type.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn concurrent_calls_share_one_pool() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let node = FakeNode::start(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
        Reply::ok(key_metadata("k"))
    })
    .await;
    let client = TrentClient::single(&node.url()).unwrap();
    let calls = (0..32).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.describe_key(&describe("k")).await })
    });
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(hits.load(Ordering::Relaxed), 32);
}
