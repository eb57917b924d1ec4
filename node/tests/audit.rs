//! The audit trail end to end on a real node: one record per call, served or refused, in
//! CloudTrail's shape; no secret in any record; digests that verify offline with the published
//! key; the admin API's filters and paging; and a node that refuses calls while its record
//! cannot be written, and serves again once it can.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use serde_json::json;
use support::kms::{call_json, refused, start, ACCOUNT, REGION};
use support::InProcessNode;
use trent_audit::Filter;
use trent_client::audit::AuditQuery;
use trent_client::wire::ErrorCode;
use trent_client::{ClientOptions, RetryPolicy, Signing, TrentClient};

/// Every record in `dir`, oldest first.
fn all_events(dir: &Path) -> Vec<trent_audit::Event> {
    let mut events = Vec::new();
    let mut after = None;
    loop {
        let page = trent_audit::query(dir, &trent_audit::Filter::default(), after, 1000).expect("query");
        events.extend(page.events.into_iter().map(|stored| stored.event));
        match page.next_after {
            Some(next) => after = Some(next),
            None => return events,
        }
    }
}

/// Every byte of every file in `dir`.
fn raw_log(dir: &Path) -> Vec<u8> {
    let mut files = Vec::new();
    support::disk_scan::files_under(dir, &mut files);
    files.iter().flat_map(|file| std::fs::read(file).expect("read audit file")).collect()
}

fn client_signing_as(node: &InProcessNode, signing: Signing) -> TrentClient {
    let options =
        ClientOptions { retry: RetryPolicy::none(), signing: Some(signing), ..ClientOptions::default() };
    TrentClient::with_options(vec![node.endpoint.clone()], options).expect("client")
}

fn query_for(filter: Filter) -> AuditQuery {
    AuditQuery { filter, ..AuditQuery::default() }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_is_recorded_in_cloudtrails_shape_and_no_secret_is() {
    let (node, admin) = start().await;
    let plaintext = b"the audited plaintext 7f3a";
    let key_arn_prefix = format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/");

    let created = call_json(&admin, "CreateKey", json!({"Description": "audited"})).await.unwrap();
    let key_id = created["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let key_arn = format!("{key_arn_prefix}{key_id}");
    let context = json!({"tenant": "acme"});
    let encrypted = call_json(
        &admin,
        "Encrypt",
        json!({"KeyId": key_id, "Plaintext": b64(plaintext), "EncryptionContext": context}),
    )
    .await
    .unwrap();
    let blob = encrypted["CiphertextBlob"].as_str().unwrap().to_owned();
    let decrypted =
        call_json(&admin, "Decrypt", json!({"CiphertextBlob": blob, "EncryptionContext": context}))
            .await
            .unwrap();
    assert_eq!(decrypted["Plaintext"], b64(plaintext));
    call_json(&admin, "CreateAlias", json!({"AliasName": "alias/audited", "TargetKeyId": key_id}))
        .await
        .unwrap();
    call_json(&admin, "Encrypt", json!({"KeyId": "alias/audited", "Plaintext": b64(b"x")})).await.unwrap();
    let data_key =
        call_json(&admin, "GenerateDataKey", json!({"KeyId": key_id, "KeySpec": "AES_256"})).await.unwrap();
    let data_key_plaintext = data_key["Plaintext"].as_str().unwrap().to_owned();
    let random = call_json(&admin, "GenerateRandom", json!({"NumberOfBytes": 32})).await.unwrap();

    // A user with no policy is denied; a wrong secret and an unknown access key do not verify.
    admin.create_user("bob", None).await.unwrap();
    let bob_key = admin.create_user_access_key("bob", Some("bob")).await.unwrap();
    let bob = client_signing_as(
        &node,
        Signing::new(bob_key.access_key_id.clone(), bob_key.secret_access_key.clone(), REGION),
    );
    refused(
        call_json(&bob, "Encrypt", json!({"KeyId": key_id, "Plaintext": b64(b"y")})).await,
        ErrorCode::AccessDenied,
    );
    let forger = client_signing_as(
        &node,
        Signing::new(
            node.signing.credentials.access_key_id.clone(),
            "not-the-secret-at-all".to_owned(),
            REGION,
        ),
    );
    refused(call_json(&forger, "DescribeKey", json!({"KeyId": key_id})).await, ErrorCode::InvalidSignature);
    let stranger = client_signing_as(
        &node,
        Signing::new("AKIAUNKNOWN000000000".to_owned(), "whatever-secret".to_owned(), REGION),
    );
    refused(call_json(&stranger, "ListKeys", json!({})).await, ErrorCode::UnrecognizedClient);
    refused(call_json(&admin, "DescribeKey", json!({"KeyId": "alias/none"})).await, ErrorCode::NotFound);

    let events = all_events(&node.audit_dir());
    let names: Vec<&str> = events.iter().map(|event| event.event_name.as_str()).collect();
    let expected = [
        "CreateKey",
        "Encrypt",
        "Decrypt",
        "CreateAlias",
        "Encrypt",
        "GenerateDataKey",
        "GenerateRandom",
        "CreateUser",
        "CreateAccessKey",
        "Encrypt",
        "DescribeKey",
        "ListKeys",
        "DescribeKey",
    ];
    assert_eq!(names, expected, "one record per call, in order");

    let mut event_ids = HashSet::new();
    for event in &events {
        assert_eq!(event.event_version, "1.08");
        assert_eq!(event.event_source, "kms.amazonaws.com");
        assert_eq!(event.aws_region, REGION);
        assert_eq!(event.recipient_account_id, ACCOUNT);
        assert_eq!(event.event_type, "AwsApiCall");
        assert!(event.management_event);
        assert_eq!(event.event_category, "Management");
        assert_eq!(event.node_id, 1);
        assert_eq!(event.source_ip_address.as_deref(), Some("127.0.0.1"));
        assert!(event.user_agent.is_some(), "{event:?}");
        assert!(uuid::Uuid::parse_str(&event.request_id).is_ok());
        assert!(event_ids.insert(event.event_id.clone()), "eventID repeated");
        assert_eq!(event.event_time.len(), 20, "{}", event.event_time);
        assert!(event.event_time.ends_with('Z'));
    }
    let admin_identity = events[0].user_identity.as_ref().unwrap();
    assert_eq!(admin_identity.identity_type, "IAMUser");
    assert_eq!(admin_identity.user_name.as_deref(), Some("admin"));
    assert_eq!(admin_identity.arn.as_deref(), Some(format!("arn:aws:iam::{ACCOUNT}:user/admin").as_str()));
    assert_eq!(admin_identity.account_id.as_deref(), Some(ACCOUNT));
    assert_eq!(
        admin_identity.access_key_id.as_deref(),
        Some(node.signing.credentials.access_key_id.as_str())
    );

    let create = &events[0];
    assert!(!create.read_only);
    assert_eq!(create.response_elements.as_ref().unwrap()["keyMetadata"]["KeyId"], json!(key_id));
    assert_eq!(create.request_parameters.as_ref().unwrap()["description"], json!("audited"));
    assert_eq!(create.resources[0].arn, key_arn);
    assert_eq!(create.resources[0].resource_type, "AWS::KMS::Key");

    let encrypt = &events[1];
    assert!(encrypt.read_only);
    assert_eq!(encrypt.request_parameters, Some(json!({"keyId": key_id, "encryptionContext": context})));
    assert_eq!(encrypt.response_elements, None);
    assert_eq!(encrypt.resources.iter().map(|r| r.arn.as_str()).collect::<Vec<_>>(), [key_arn.as_str()]);
    let decrypt = &events[2];
    assert_eq!(decrypt.request_parameters, Some(json!({"encryptionContext": context})));
    assert_eq!(decrypt.resources[0].arn, key_arn, "Decrypt's key comes from the ciphertext");
    let by_alias = &events[4];
    assert_eq!(by_alias.request_parameters.as_ref().unwrap()["keyId"], json!("alias/audited"));
    assert_eq!(by_alias.resources[0].arn, key_arn, "the alias is resolved in resources");

    let denied = &events[9];
    assert_eq!(denied.error_code.as_deref(), Some("AccessDeniedException"));
    assert!(denied.error_message.as_deref().unwrap().contains("bob"));
    assert_eq!(denied.user_identity.as_ref().unwrap().user_name.as_deref(), Some("bob"));
    let forged = &events[10];
    assert_eq!(forged.error_code.as_deref(), Some("InvalidSignatureException"));
    let forged_identity = forged.user_identity.as_ref().unwrap();
    assert_eq!(forged_identity.identity_type, "Unknown");
    assert_eq!(forged_identity.user_name, None);
    assert_eq!(forged.request_parameters, None, "an unverified request's parameters are not logged");
    let unknown = &events[11];
    assert_eq!(unknown.error_code.as_deref(), Some("UnrecognizedClientException"));
    assert_eq!(
        unknown.user_identity.as_ref().unwrap().access_key_id.as_deref(),
        Some("AKIAUNKNOWN000000000")
    );
    assert_eq!(events[12].error_code.as_deref(), Some("NotFoundException"));
    assert!(events.iter().take(9).all(|event| event.error_code.is_none()));

    // No secret reached the log: plaintexts, the data key, the ciphertext, random bytes, the
    // access keys' secrets.
    let raw = raw_log(&node.audit_dir());
    let secrets = [
        b64(plaintext),
        String::from_utf8(plaintext.to_vec()).unwrap(),
        data_key_plaintext,
        data_key["CiphertextBlob"].as_str().unwrap().to_owned(),
        blob,
        random["Plaintext"].as_str().unwrap().to_owned(),
        node.signing.credentials.secret_access_key.to_string(),
        bob_key.secret_access_key.clone(),
    ];
    for secret in &secrets {
        assert!(
            !support::disk_scan::contains(&raw, secret.as_bytes()),
            "a secret is in the audit log: {secret}"
        );
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digests_sign_the_chain_and_verify_offline_with_the_published_key() {
    let node = InProcessNode::start_with(|config| config.audit.digest_interval_ms = Some(200)).await;
    let admin = node.client();
    let key = call_json(&admin, "CreateKey", json!({})).await.unwrap();
    let key_id = key["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    for _ in 0..5 {
        call_json(&admin, "Encrypt", json!({"KeyId": key_id, "Plaintext": "aGk="})).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    let published = admin.audit_public_key().await.unwrap();
    assert_eq!(published.key_spec, "ECC_NIST_P256");
    let verifier = trent_audit::DigestVerifier::from_public_key(published.public_key.as_bytes()).unwrap();
    let report = trent_audit::verify_dir(&node.audit_dir(), Some(&verifier)).unwrap();
    assert!(report.problem.is_none(), "{report:?}");
    assert!(report.digests_verified >= 1, "{report:?}");
    assert!(report.records >= 6, "{report:?}");

    // Every node of a cluster derives the same key; another cluster's does not verify.
    let other = InProcessNode::start().await;
    let foreign = other.client().audit_public_key().await.unwrap();
    assert_ne!(foreign.public_key, published.public_key);
    let foreign = trent_audit::DigestVerifier::from_public_key(foreign.public_key.as_bytes()).unwrap();
    let report = trent_audit::verify_dir(&node.audit_dir(), Some(&foreign)).unwrap();
    assert!(report.problem.is_some(), "another cluster's key verified this log: {report:?}");
    other.stop().await;
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_filters_and_pages_and_needs_read_audit() {
    let (node, admin) = start().await;
    let first = call_json(&admin, "CreateKey", json!({})).await.unwrap()["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = call_json(&admin, "CreateKey", json!({})).await.unwrap()["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..7 {
        call_json(&admin, "Encrypt", json!({"KeyId": first, "Plaintext": "aGk="})).await.unwrap();
    }
    call_json(&admin, "Encrypt", json!({"KeyId": second, "Plaintext": "aGk="})).await.unwrap();
    refused(call_json(&admin, "DescribeKey", json!({"KeyId": "alias/missing"})).await, ErrorCode::NotFound);

    // Three pages of three Encrypts of the first key: 3 + 3 + 1, then no token.
    let filter =
        Filter { event_name: Some("Encrypt".into()), key_id: Some(first.clone()), ..Default::default() };
    let mut query = AuditQuery { filter, limit: Some(3), ..Default::default() };
    let mut seen = Vec::new();
    loop {
        let page = admin.audit_page(&query).await.unwrap();
        assert!(page.events.len() <= 3);
        seen.extend(page.events);
        match page.next_token {
            Some(token) => query.next_token = Some(token),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7, "{seen:?}");
    assert!(seen
        .iter()
        .all(|event| event.event_name == "Encrypt" && event.resources[0].arn.ends_with(&first)));
    let ids: HashSet<&str> = seen.iter().map(|event| event.event_id.as_str()).collect();
    assert_eq!(ids.len(), 7, "no record twice across pages");

    let errors = admin
        .audit_page(&query_for(Filter { error_code: Some("*".into()), ..Default::default() }))
        .await
        .unwrap();
    assert_eq!(errors.events.len(), 1);
    assert_eq!(errors.events[0].error_code.as_deref(), Some("NotFoundException"));
    let by_admin = admin
        .audit_page(&AuditQuery {
            limit: Some(1000),
            ..query_for(Filter { principal: Some("admin".into()), ..Default::default() })
        })
        .await
        .unwrap();
    assert!(by_admin.events.len() >= 11, "{}", by_admin.events.len());
    let future = admin
        .audit_page(&query_for(Filter {
            start_time: Some("2999-01-01T00:00:00Z".into()),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert!(future.events.is_empty());
    let bad = admin
        .audit_page(&query_for(Filter { start_time: Some("yesterday".into()), ..Default::default() }))
        .await;
    refused(bad, ErrorCode::Validation);
    let bad =
        admin.audit_page(&AuditQuery { next_token: Some("garbage!".into()), ..Default::default() }).await;
    refused(bad, ErrorCode::InvalidMarker);

    // Reading the trail is an action of its own: a user without it is denied (and recorded).
    let reader_policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "trent:ReadAudit", "Resource": "*"}]});
    admin.create_user("auditor", Some(reader_policy)).await.unwrap();
    admin.create_user("nosy", None).await.unwrap();
    let auditor_key = admin.create_user_access_key("auditor", Some("auditor")).await.unwrap();
    let nosy_key = admin.create_user_access_key("nosy", Some("nosy")).await.unwrap();
    let auditor = client_signing_as(
        &node,
        Signing::new(auditor_key.access_key_id, auditor_key.secret_access_key, REGION),
    );
    let nosy =
        client_signing_as(&node, Signing::new(nosy_key.access_key_id, nosy_key.secret_access_key, REGION));
    assert!(!auditor.audit_page(&AuditQuery::default()).await.unwrap().events.is_empty());
    refused(nosy.audit_page(&AuditQuery::default()).await, ErrorCode::AccessDenied);
    let denials = admin
        .audit_page(&query_for(Filter {
            event_name: Some("ReadAudit".into()),
            error_code: Some("AccessDeniedException".into()),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(denials.events.len(), 1);
    assert_eq!(denials.events[0].user_identity.as_ref().unwrap().user_name.as_deref(), Some("nosy"));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_survives_a_restart_and_the_chain_goes_on() {
    let node = InProcessNode::start().await;
    let admin = node.client();
    call_json(&admin, "CreateKey", json!({})).await.unwrap();
    let dir = node.audit_dir();
    let before = all_events(&dir).len();
    let InProcessNode { running, dir: temp, signing, .. } = node;
    running.unwrap().shutdown().await;
    let mut config = support::single_node_config(temp.path().join("node-1"), Default::default());
    config.bootstrap = false;
    let restarted = trent_node::server::start(config).await.unwrap();
    let endpoint = format!("http://{}", restarted.api_addr);
    let client = InProcessNode::client_for(&endpoint, Some(signing));
    // Sealed after a restart: the call is refused, and recorded.
    let sealed = call_json(&client, "ListKeys", json!({})).await;
    assert!(sealed.is_err());
    let events = all_events(&dir);
    assert_eq!(events.len(), before + 1);
    let last = events.last().unwrap();
    assert_eq!(last.event_name, "ListKeys");
    assert!(last.error_code.is_some(), "{last:?}");
    let report = trent_audit::verify_dir(&dir, None).unwrap();
    assert!(report.problem.is_none(), "{report:?}");
    restarted.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kms_operation_is_recorded_under_its_name_even_when_refused() {
    let (node, admin) = start().await;
    let operations: Vec<trent_wire::Operation> = trent_wire::Operation::ALL
        .iter()
        .copied()
        .filter(|operation| operation.service() == trent_wire::operation::Service::Kms)
        .collect();
    // An empty request: most operations refuse it (a missing KeyId), a few serve it; either
    // way the call is recorded under the operation's name.
    for operation in &operations {
        let _ = call_json(&admin, operation.name(), json!({})).await;
    }
    let events = all_events(&node.audit_dir());
    let names: Vec<&str> = events.iter().map(|event| event.event_name.as_str()).collect();
    let expected: Vec<&str> = operations.iter().map(|operation| operation.name()).collect();
    assert_eq!(names, expected);
    for (event, operation) in events.iter().zip(&operations) {
        let read = operation.access() == trent_wire::Access::Read;
        assert_eq!(event.read_only, read, "{operation}");
        assert_eq!(event.user_identity.as_ref().unwrap().user_name.as_deref(), Some("admin"));
    }
    node.stop().await;
}
