//! The user, identity-policy and authorization admin calls, and the key policy and grant KMS
//! operations, against a scripted loopback node: routes, bodies, targets, delivery and the
//! client-side user name check.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

#[allow(dead_code)] // each test binary uses part of the fake node
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use support::{closed_port_url, FakeNode, Reply, Seen};
use trent_client::wire::access::{
    CreateGrantRequest, GetKeyPolicyRequest, ListGrantsRequest, ListKeyPoliciesRequest,
    ListRetirableGrantsRequest, PutKeyPolicyRequest, RetireGrantRequest, RevokeGrantRequest,
};
use trent_client::wire::admin::{AuthorizeRequest, ConditionValues};
use trent_client::wire::ErrorCode;
use trent_client::{ClientError, ClientOptions, RetryPolicy, TrentClient};

fn fast_retries(attempts: u32) -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(2),
        retry: RetryPolicy::new(attempts, Duration::from_millis(1), Duration::from_millis(5)),
        ..ClientOptions::default()
    }
}

fn user_info(name: &str) -> serde_json::Value {
    json!({"user_name": name, "arn": format!("arn:aws:iam::111122223333:user/{name}"),
        "create_date": 1700000000.0, "access_keys": ["TRNTA"], "has_policy": true})
}

/// Answers each admin route the way the server does.
fn fake_admin(seen: &Seen) -> Reply {
    match (seen.method.as_str(), seen.path.as_str()) {
        ("POST", "/v1/sys/users") => Reply::ok(user_info(seen.body["name"].as_str().unwrap())),
        ("GET", "/v1/sys/users") => Reply::ok(json!({"users": [user_info("alice"), user_info("bob")]})),
        ("GET", "/v1/sys/users/alice") => Reply::ok(user_info("alice")),
        ("GET", "/v1/sys/users/alice/policy") => {
            Reply::ok(json!({"user_name": "alice", "policy": "{\"Version\":\"2012-10-17\"}"}))
        }
        ("PUT" | "DELETE", "/v1/sys/users/alice/policy") | ("DELETE", "/v1/sys/users/alice") => {
            Reply::ok(json!({}))
        }
        ("POST", "/v1/sys/authorize") => Reply::ok(json!({
            "decision": "allow", "decided_by": "key policy statement 1",
            "explanation": "allowed by key policy statement 1"})),
        _ => Reply::error(400, "UnsupportedOperationException", "no such route"),
    }
}

#[tokio::test]
async fn user_calls_use_their_admin_routes_and_bodies() {
    let node = FakeNode::start(fake_admin).await;
    let client = TrentClient::single(&node.url()).unwrap();
    let policy = json!({"Version": "2012-10-17", "Statement": []});
    let created = client.create_user("alice", Some(policy.clone())).await.unwrap();
    assert_eq!(created.arn, "arn:aws:iam::111122223333:user/alice");
    assert_eq!(client.list_users().await.unwrap().users.len(), 2);
    assert_eq!(client.get_user("alice").await.unwrap().access_keys, ["TRNTA"]);
    assert_eq!(client.get_user_policy("alice").await.unwrap().policy, "{\"Version\":\"2012-10-17\"}");
    client.put_user_policy("alice", &policy).await.unwrap();
    // A string is the document as written: sent as it is, not as a JSON string.
    let written = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": []\n}";
    client.put_user_policy("alice", &json!(written)).await.unwrap();
    client.delete_user_policy("alice").await.unwrap();
    client.delete_user("alice").await.unwrap();

    let seen = node.seen();
    let routes: Vec<(&str, &str)> = seen.iter().map(|s| (s.method.as_str(), s.path.as_str())).collect();
    assert_eq!(
        routes,
        [
            ("POST", "/v1/sys/users"),
            ("GET", "/v1/sys/users"),
            ("GET", "/v1/sys/users/alice"),
            ("GET", "/v1/sys/users/alice/policy"),
            ("PUT", "/v1/sys/users/alice/policy"),
            ("PUT", "/v1/sys/users/alice/policy"),
            ("DELETE", "/v1/sys/users/alice/policy"),
            ("DELETE", "/v1/sys/users/alice"),
        ]
    );
    assert_eq!(seen[0].body, json!({"name": "alice", "policy": policy}));
    assert_eq!(seen[4].body, policy, "the PUT body is the document itself");
    assert_eq!(seen[5].text, written);
    for s in &seen {
        let with_body = matches!(s.method.as_str(), "POST" | "PUT");
        assert_eq!(
            s.content_type.as_deref(),
            with_body.then_some("application/json"),
            "{} {}",
            s.method,
            s.path
        );
    }
    assert!(seen.iter().all(|s| s.target.is_none()));

    let bare = client.create_user("bob", None).await.unwrap();
    assert_eq!(bare.user_name, "bob");
    assert_eq!(node.seen()[8].body, json!({"name": "bob"}), "no policy field without a policy");
}

#[tokio::test]
async fn user_names_that_are_not_path_safe_never_leave_the_client() {
    let node = FakeNode::start(fake_admin).await;
    let client = TrentClient::single(&node.url()).unwrap();
    let policy = json!({});
    for name in ["", "a/b", "../access-keys", "a?b", "a b", "%2e%2e", &"n".repeat(65)] {
        let errors = [
            client.create_user(name, None).await.unwrap_err(),
            client.get_user(name).await.unwrap_err(),
            client.delete_user(name).await.unwrap_err(),
            client.put_user_policy(name, &policy).await.unwrap_err(),
            client.get_user_policy(name).await.unwrap_err(),
            client.delete_user_policy(name).await.unwrap_err(),
        ];
        for error in errors {
            assert!(matches!(error, ClientError::InvalidRequest { .. }), "{name:?}: {error:?}");
            assert!(!error.is_retryable());
        }
    }
    assert!(node.seen().is_empty());
}

#[tokio::test]
async fn creating_a_user_is_sent_at_most_once_and_reads_are_retried() {
    let unavailable =
        FakeNode::start(|_| Reply::error(503, "KMSInternalException", "not committed in time")).await;
    let client = TrentClient::with_options(vec![unavailable.url()], fast_retries(3)).unwrap();
    let err = client.create_user("alice", None).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Internal));
    assert_eq!(unavailable.seen().len(), 1, "a create that may have been applied is not repeated");
    client.get_user("alice").await.unwrap_err();
    assert_eq!(unavailable.seen().len(), 1 + 3, "a read is retried");
    let request =
        AuthorizeRequest { principal: "alice".into(), action: "kms:Encrypt".into(), ..Default::default() };
    client.authorize(&request).await.unwrap_err();
    assert_eq!(unavailable.seen().len(), 1 + 3 + 3, "an authorization question changes nothing");

    let healthy = FakeNode::start(fake_admin).await;
    let client = TrentClient::with_options(vec![closed_port_url(), healthy.url()], fast_retries(3)).unwrap();
    assert_eq!(client.create_user("carol", None).await.unwrap().user_name, "carol");
}

#[tokio::test]
async fn authorize_sends_the_question_and_decodes_the_answer() {
    let node = FakeNode::start(fake_admin).await;
    let client = TrentClient::single(&node.url()).unwrap();
    let context: BTreeMap<String, ConditionValues> = [
        ("kms:EncryptionContext:app".to_owned(), ConditionValues::One("billing".into())),
        ("kms:EncryptionContextKeys".to_owned(), ConditionValues::Many(vec!["app".into(), "tenant".into()])),
    ]
    .into();
    let request = AuthorizeRequest {
        principal: "alice".into(),
        action: "kms:Encrypt".into(),
        key_id: Some("alias/billing".into()),
        context,
    };
    let answer = client.authorize(&request).await.unwrap();
    assert_eq!(answer.decision, "allow");
    assert_eq!(answer.decided_by.as_deref(), Some("key policy statement 1"));
    assert_eq!(answer.message, None);
    assert_eq!(
        node.seen()[0].body,
        json!({"principal": "alice", "action": "kms:Encrypt", "key_id": "alias/billing", "context": {
            "kms:EncryptionContext:app": "billing", "kms:EncryptionContextKeys": ["app", "tenant"]}})
    );
}

#[tokio::test]
async fn access_keys_for_a_user_name_it_in_the_body() {
    let node = FakeNode::start(|seen| {
        Reply::ok(json!({"access_key_id": "A", "secret_access_key": "s", "description": "ci",
            "user": seen.body["user"].as_str().unwrap_or("admin")}))
    })
    .await;
    let client = TrentClient::single(&node.url()).unwrap();
    assert_eq!(client.create_user_access_key("ci", Some("alice")).await.unwrap().user, "alice");
    assert_eq!(client.create_access_key("ci").await.unwrap().user, "admin");
    let seen = node.seen();
    assert_eq!(seen[0].body, json!({"description": "ci", "user": "alice"}));
    assert_eq!(seen[1].body, json!({"description": "ci"}));
}

/// Answers each key policy and grant operation with the shape AWS gives.
fn fake_kms(seen: &Seen) -> Reply {
    let grant = json!({"KeyId": "k1", "GrantId": "g1", "CreationDate": 1700000000.0,
        "GranteePrincipal": "arn:aws:iam::111122223333:user/bob",
        "IssuingAccount": "arn:aws:iam::111122223333:root", "Operations": ["Encrypt"]});
    match seen.target.as_deref().and_then(|t| t.strip_prefix("TrentService.")) {
        Some("PutKeyPolicy" | "RetireGrant" | "RevokeGrant") => Reply::ok(json!({})),
        Some("GetKeyPolicy") => Reply::ok(json!({"Policy": "{}", "PolicyName": "default"})),
        Some("ListKeyPolicies") => Reply::ok(json!({"PolicyNames": ["default"], "Truncated": false})),
        Some("CreateGrant") => Reply::ok(json!({"GrantToken": "tok", "GrantId": "g1"})),
        Some("ListGrants" | "ListRetirableGrants") => {
            Reply::ok(json!({"Grants": [grant], "Truncated": true, "NextMarker": "m"}))
        }
        other => Reply::error(400, "UnsupportedOperationException", &format!("{other:?}")),
    }
}

#[tokio::test]
async fn key_policy_and_grant_operations_send_their_targets() {
    let node = FakeNode::start(fake_kms).await;
    let client = TrentClient::single(&node.url()).unwrap();
    let put = PutKeyPolicyRequest { key_id: "k1".into(), policy: "{}".into(), ..Default::default() };
    client.put_key_policy(&put).await.unwrap();
    let got =
        client.get_key_policy(&GetKeyPolicyRequest { key_id: "k1".into(), policy_name: None }).await.unwrap();
    assert_eq!((got.policy.as_str(), got.policy_name.as_str()), ("{}", "default"));
    let names = client
        .list_key_policies(&ListKeyPoliciesRequest { key_id: "k1".into(), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(names.policy_names, ["default"]);
    let create = CreateGrantRequest {
        key_id: "k1".into(),
        grantee_principal: "arn:aws:iam::111122223333:user/bob".into(),
        operations: vec!["Encrypt".into()],
        ..Default::default()
    };
    let created = client.create_grant(&create).await.unwrap();
    assert_eq!((created.grant_id.as_str(), created.grant_token.as_str()), ("g1", "tok"));
    let grants =
        client.list_grants(&ListGrantsRequest { key_id: "k1".into(), ..Default::default() }).await.unwrap();
    assert_eq!((grants.grants[0].grant_id.as_str(), grants.next_marker.as_deref()), ("g1", Some("m")));
    let retirable = ListRetirableGrantsRequest {
        retiring_principal: "arn:aws:iam::111122223333:user/bob".into(),
        ..Default::default()
    };
    assert!(client.list_retirable_grants(&retirable).await.unwrap().truncated);
    let retire = RetireGrantRequest { grant_token: Some("tok".into()), ..Default::default() };
    client.retire_grant(&retire).await.unwrap();
    let revoke = RevokeGrantRequest { key_id: "k1".into(), grant_id: "g1".into(), dry_run: None };
    client.revoke_grant(&revoke).await.unwrap();

    let seen = node.seen();
    let targets: Vec<&str> = seen.iter().map(|s| s.target.as_deref().unwrap()).collect();
    assert_eq!(
        targets,
        [
            "TrentService.PutKeyPolicy",
            "TrentService.GetKeyPolicy",
            "TrentService.ListKeyPolicies",
            "TrentService.CreateGrant",
            "TrentService.ListGrants",
            "TrentService.ListRetirableGrants",
            "TrentService.RetireGrant",
            "TrentService.RevokeGrant",
        ]
    );
    assert!(seen.iter().all(|s| (s.method.as_str(), s.path.as_str()) == ("POST", "/")));
    assert_eq!(seen[0].body, json!({"KeyId": "k1", "Policy": "{}"}));
    assert_eq!(
        seen[3].body,
        json!({"KeyId": "k1", "GranteePrincipal": "arn:aws:iam::111122223333:user/bob", "Operations": ["Encrypt"]})
    );
    assert_eq!(seen[6].body, json!({"GrantToken": "tok"}));
    assert_eq!(seen[7].body, json!({"KeyId": "k1", "GrantId": "g1"}));
}

#[tokio::test]
async fn a_retried_create_grant_keeps_its_request_id() {
    let unavailable =
        FakeNode::start(|_| Reply::error(503, "ServiceUnavailableException", "no leader")).await;
    let healthy = FakeNode::start(fake_kms).await;
    let client = TrentClient::with_options(vec![unavailable.url(), healthy.url()], fast_retries(4)).unwrap();
    let create =
        CreateGrantRequest { key_id: "k1".into(), grantee_principal: "p".into(), ..Default::default() };
    client.create_grant(&create).await.unwrap();
    let (a, b) = (unavailable.seen(), healthy.seen());
    assert_eq!((a.len(), b.len()), (1, 1));
    assert_eq!(a[0].request_id, b[0].request_id, "the server applies the create once");
}
