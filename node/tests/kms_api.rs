//! The KMS management operations on one in-process node, through the typed client: what each
//! operation returns and every way it refuses, with AWS's error codes.
//!
//! Request-level protocol behaviour (targets, malformed bodies, size caps, headers) is in
//! `raw_http.rs`.

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use support::InProcessNode;
use trent_client::{ClientError, TrentClient};
use trent_wire::kms::{
    AliasTargetRequest, CreateKeyRequest, DeleteAliasRequest, KeyIdRequest, KeyMetadata, ListAliasesRequest,
    ListKeysRequest, ListResourceTagsRequest, ScheduleKeyDeletionRequest, Tag, TagResourceRequest,
    UntagResourceRequest, UpdateKeyDescriptionRequest,
};
use trent_wire::model::{KeySpec, KeyState, KeyUsage, Origin};
use trent_wire::{ErrorCode, KmsError};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "111122223333";
const SECONDS_PER_DAY: f64 = 24.0 * 60.0 * 60.0;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

async fn start() -> (InProcessNode, TrentClient) {
    let node = InProcessNode::start().await;
    let client = node.client();
    (node, client)
}

/// The AWS error of a call that must fail with `expected`; panics on success or another error.
#[track_caller]
fn refused<T: std::fmt::Debug>(result: Result<T, ClientError>, expected: ErrorCode) -> KmsError {
    match result {
        Err(ClientError::Api(error)) if error.code == expected => error,
        other => panic!("expected {expected}, got {other:?}"),
    }
}

async fn create_key(client: &TrentClient) -> KeyMetadata {
    client.create_key(&CreateKeyRequest::default()).await.expect("CreateKey").key_metadata
}

async fn describe(client: &TrentClient, key_id: &str) -> KeyMetadata {
    client.describe_key(&key(key_id)).await.expect("DescribeKey").key_metadata
}

fn key(key_id: &str) -> KeyIdRequest {
    KeyIdRequest { key_id: key_id.to_owned(), grant_tokens: None }
}

fn tag(tag_key: &str, tag_value: &str) -> Tag {
    Tag { tag_key: tag_key.to_owned(), tag_value: tag_value.to_owned() }
}

fn alias(alias_name: &str, target_key_id: &str) -> AliasTargetRequest {
    AliasTargetRequest { alias_name: alias_name.to_owned(), target_key_id: target_key_id.to_owned() }
}

fn schedule(key_id: &str, days: Option<i64>) -> ScheduleKeyDeletionRequest {
    ScheduleKeyDeletionRequest { key_id: key_id.to_owned(), pending_window_in_days: days }
}

fn key_arn(key_id: &str) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}")
}

fn alias_arn(alias_name: &str) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT}:{alias_name}")
}

fn now_seconds() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after epoch").as_secs_f64()
}

/// Calls `operation` with a raw JSON body, for fields the typed requests cannot express.
async fn call_json(client: &TrentClient, operation: &str, body: Value) -> Result<Value, ClientError> {
    client.call(operation, &body).await
}

async fn tags_of(client: &TrentClient, key_id: &str) -> Vec<(String, String)> {
    let request = ListResourceTagsRequest { key_id: key_id.to_owned(), limit: None, marker: None };
    let page = client.list_resource_tags(&request).await.expect("ListResourceTags");
    page.tags.into_iter().map(|tag| (tag.tag_key, tag.tag_value)).collect()
}

// ---------------------------------------------------------------------------------------------
// CreateKey
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_key_defaults_to_an_enabled_symmetric_customer_key() {
    let (node, client) = start().await;
    let before = now_seconds();
    let metadata = create_key(&client).await;

    let key_id = uuid::Uuid::parse_str(&metadata.key_id).expect("KeyId is a UUID");
    assert_eq!(metadata.key_id, key_id.hyphenated().to_string());
    assert_eq!(metadata.arn, key_arn(&metadata.key_id));
    assert_eq!(metadata.aws_account_id, ACCOUNT);
    assert_eq!(metadata.key_spec, KeySpec::SymmetricDefault);
    assert_eq!(metadata.customer_master_key_spec, KeySpec::SymmetricDefault);
    assert_eq!(metadata.key_usage, KeyUsage::EncryptDecrypt);
    assert_eq!(metadata.key_state, KeyState::Enabled);
    assert!(metadata.enabled);
    assert_eq!(metadata.origin, Origin::AwsKms);
    assert_eq!(metadata.key_manager, "CUSTOMER");
    assert!(!metadata.multi_region);
    assert_eq!(metadata.description, "");
    assert_eq!(metadata.encryption_algorithms, Some(vec!["SYMMETRIC_DEFAULT".to_owned()]));
    assert_eq!(metadata.deletion_date, None);
    assert!(
        metadata.creation_date >= before - 5.0 && metadata.creation_date <= now_seconds() + 5.0,
        "CreationDate {} is not now",
        metadata.creation_date
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_key_response_uses_aws_field_names() {
    let (node, client) = start().await;
    let response = call_json(&client, "CreateKey", json!({})).await.expect("CreateKey");
    let metadata = &response["KeyMetadata"];
    let key_id = metadata["KeyId"].as_str().expect("KeyId string");
    assert_eq!(metadata["Arn"], key_arn(key_id));
    assert_eq!(metadata["AWSAccountId"], ACCOUNT);
    assert_eq!(metadata["KeySpec"], "SYMMETRIC_DEFAULT");
    assert_eq!(metadata["CustomerMasterKeySpec"], "SYMMETRIC_DEFAULT");
    assert_eq!(metadata["KeyUsage"], "ENCRYPT_DECRYPT");
    assert_eq!(metadata["KeyState"], "Enabled");
    assert_eq!(metadata["Enabled"], true);
    assert_eq!(metadata["Origin"], "AWS_KMS");
    assert_eq!(metadata["KeyManager"], "CUSTOMER");
    assert_eq!(metadata["MultiRegion"], false);
    assert!(metadata["CreationDate"].is_number(), "CreationDate is epoch seconds");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_key_keeps_description_and_tags() {
    let (node, client) = start().await;
    let request = CreateKeyRequest {
        description: Some("payments key".into()),
        key_spec: Some("SYMMETRIC_DEFAULT".into()),
        key_usage: Some("ENCRYPT_DECRYPT".into()),
        tags: Some(vec![tag("team", "payments"), tag("env", "")]),
        ..CreateKeyRequest::default()
    };
    let created = client.create_key(&request).await.expect("CreateKey").key_metadata;
    assert_eq!(created.description, "payments key");
    let described = describe(&client, &created.key_id).await;
    assert_eq!(described.description, "payments key");
    assert_eq!(
        tags_of(&client, &created.key_id).await,
        vec![("env".to_owned(), String::new()), ("team".to_owned(), "payments".to_owned())]
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_key_accepts_the_deprecated_customer_master_key_spec() {
    let (node, client) = start().await;
    let request = CreateKeyRequest {
        customer_master_key_spec: Some("SYMMETRIC_DEFAULT".into()),
        ..CreateKeyRequest::default()
    };
    let created = client.create_key(&request).await.expect("CreateKey").key_metadata;
    assert_eq!(created.key_spec, KeySpec::SymmetricDefault);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_key_rejects_an_unknown_key_spec_listing_the_valid_ones() {
    let (node, client) = start().await;
    let request = CreateKeyRequest { key_spec: Some("AES_512".into()), ..CreateKeyRequest::default() };
    let error = refused(client.create_key(&request).await, ErrorCode::Validation);
    assert!(error.message.contains("'AES_512'"), "{}", error.message);
    assert!(error.message.contains("'keySpec'"), "{}", error.message);
    for spec in ["SYMMETRIC_DEFAULT", "RSA_2048", "ECC_NIST_P256", "HMAC_256"] {
        assert!(error.message.contains(spec), "{spec} missing from: {}", error.message);
    }
    let request = CreateKeyRequest { key_usage: Some("ENCRYPT".into()), ..CreateKeyRequest::default() };
    let error = refused(client.create_key(&request).await, ErrorCode::Validation);
    assert!(error.message.contains("ENCRYPT_DECRYPT"), "{}", error.message);
    let request = CreateKeyRequest { origin: Some("SOMEWHERE".into()), ..CreateKeyRequest::default() };
    refused(client.create_key(&request).await, ErrorCode::Validation);
    assert!(client.list_all_keys().await.expect("ListKeys").is_empty(), "no key was created");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_key_rejects_key_spec_together_with_customer_master_key_spec() {
    let (node, client) = start().await;
    let request = CreateKeyRequest {
        key_spec: Some("SYMMETRIC_DEFAULT".into()),
        customer_master_key_spec: Some("SYMMETRIC_DEFAULT".into()),
        ..CreateKeyRequest::default()
    };
    refused(client.create_key(&request).await, ErrorCode::Validation);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_key_refuses_specs_and_options_not_supported_yet() {
    let (node, client) = start().await;
    for spec in ["RSA_2048", "ECC_NIST_P256", "HMAC_256"] {
        let request = CreateKeyRequest { key_spec: Some(spec.into()), ..CreateKeyRequest::default() };
        refused(client.create_key(&request).await, ErrorCode::UnsupportedOperation);
    }
    let request = CreateKeyRequest { origin: Some("EXTERNAL".into()), ..CreateKeyRequest::default() };
    refused(client.create_key(&request).await, ErrorCode::UnsupportedOperation);
    let request = CreateKeyRequest { multi_region: Some(true), ..CreateKeyRequest::default() };
    refused(client.create_key(&request).await, ErrorCode::UnsupportedOperation);
    let request =
        CreateKeyRequest { custom_key_store_id: Some("cks-1".into()), ..CreateKeyRequest::default() };
    refused(client.create_key(&request).await, ErrorCode::UnsupportedOperation);
    assert!(client.list_all_keys().await.expect("ListKeys").is_empty(), "no key was created");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_key_rejects_a_usage_the_spec_does_not_allow() {
    let (node, client) = start().await;
    for usage in ["SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"] {
        let request = CreateKeyRequest { key_usage: Some(usage.into()), ..CreateKeyRequest::default() };
        let error = refused(client.create_key(&request).await, ErrorCode::Validation);
        assert!(error.message.contains(usage), "{}", error.message);
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_key_bounds_the_description_at_8192_characters() {
    let (node, client) = start().await;
    let longest = "d".repeat(8192);
    let request = CreateKeyRequest { description: Some(longest.clone()), ..CreateKeyRequest::default() };
    let created = client.create_key(&request).await.expect("8192 characters are allowed").key_metadata;
    assert_eq!(created.description, longest);
    let request = CreateKeyRequest { description: Some("d".repeat(8193)), ..CreateKeyRequest::default() };
    let error = refused(client.create_key(&request).await, ErrorCode::Validation);
    assert!(error.message.contains("'description'"), "{}", error.message);
    assert!(error.message.len() < 1000, "the error must not echo the whole description back");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_key_checks_its_tags() {
    let (node, client) = start().await;
    let reserved =
        CreateKeyRequest { tags: Some(vec![tag("aws:owner", "x")]), ..CreateKeyRequest::default() };
    refused(client.create_key(&reserved).await, ErrorCode::Tag);
    let twice =
        CreateKeyRequest { tags: Some(vec![tag("a", "1"), tag("a", "2")]), ..CreateKeyRequest::default() };
    refused(client.create_key(&twice).await, ErrorCode::Tag);
    let many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
    let too_many = CreateKeyRequest { tags: Some(many), ..CreateKeyRequest::default() };
    refused(client.create_key(&too_many).await, ErrorCode::LimitExceeded);
    assert!(client.list_all_keys().await.expect("ListKeys").is_empty(), "no key was created");
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// DescribeKey
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_key_accepts_key_id_key_arn_alias_name_and_alias_arn() {
    let (node, client) = start().await;
    let created = create_key(&client).await;
    client.create_alias(&alias("alias/app", &created.key_id)).await.expect("CreateAlias");
    for reference in
        [created.key_id.clone(), created.arn.clone(), "alias/app".to_owned(), alias_arn("alias/app")]
    {
        let described = describe(&client, &reference).await;
        assert_eq!(described.key_id, created.key_id, "via {reference}");
        assert_eq!(described.arn, created.arn, "via {reference}");
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_key_reports_not_found_for_unknown_and_malformed_ids() {
    let (node, client) = start().await;
    create_key(&client).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    for reference in [
        unknown.clone(),
        key_arn(&unknown),
        "not-a-key".to_owned(),
        "1234".to_owned(),
        "alias/missing".to_owned(),
        alias_arn("alias/missing"),
    ] {
        refused(client.describe_key(&key(&reference)).await, ErrorCode::NotFound);
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_key_treats_another_region_or_account_as_not_found() {
    let (node, client) = start().await;
    let created = create_key(&client).await;
    let other_region = format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/{}", created.key_id);
    let other_account = format!("arn:aws:kms:{REGION}:444455556666:key/{}", created.key_id);
    let other_alias_region = format!("arn:aws:kms:eu-west-1:{ACCOUNT}:alias/app");
    for reference in [other_region, other_account, other_alias_region] {
        refused(client.describe_key(&key(&reference)).await, ErrorCode::NotFound);
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_key_bounds_the_key_id() {
    let (node, client) = start().await;
    refused(client.describe_key(&key("")).await, ErrorCode::Validation);
    refused(client.describe_key(&key(&"k".repeat(2049))).await, ErrorCode::Validation);
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// ListKeys
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_keys_pages_through_every_key_with_markers() {
    let (node, client) = start().await;
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(create_key(&client).await.key_id);
    }
    created.sort();

    let mut seen = Vec::new();
    let mut marker = None;
    let mut pages = Vec::new();
    loop {
        let page = client.list_keys(&ListKeysRequest { limit: Some(2), marker: marker.clone() }).await;
        let page = page.expect("ListKeys");
        assert!(page.keys.len() <= 2);
        for entry in &page.keys {
            assert_eq!(entry.key_arn, key_arn(&entry.key_id));
        }
        seen.extend(page.keys.iter().map(|entry| entry.key_id.clone()));
        pages.push((page.keys.len(), page.truncated));
        if !page.truncated {
            assert_eq!(page.next_marker, None, "the last page has no NextMarker");
            break;
        }
        marker = Some(page.next_marker.expect("a truncated page has a NextMarker"));
    }
    assert_eq!(pages, vec![(2, true), (2, true), (1, false)]);
    seen.sort();
    assert_eq!(seen, created, "every key exactly once");

    let all = client.list_keys(&ListKeysRequest::default()).await.expect("ListKeys");
    assert_eq!(all.keys.len(), 5);
    assert!(!all.truncated);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_keys_rejects_limits_outside_1_to_1000() {
    let (node, client) = start().await;
    for limit in [0, -1, 1001] {
        let request = ListKeysRequest { limit: Some(limit), marker: None };
        let error = refused(client.list_keys(&request).await, ErrorCode::Validation);
        assert!(error.message.contains("'limit'"), "{}", error.message);
    }
    for limit in [1, 1000] {
        client.list_keys(&ListKeysRequest { limit: Some(limit), marker: None }).await.expect("in range");
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_keys_rejects_a_marker_it_did_not_issue() {
    let (node, client) = start().await;
    create_key(&client).await;
    let request = ListKeysRequest { limit: None, marker: Some("bogus-marker".into()) };
    refused(client.list_keys(&request).await, ErrorCode::InvalidMarker);
    let request = ListKeysRequest { limit: None, marker: Some(String::new()) };
    refused(client.list_keys(&request).await, ErrorCode::Validation);
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// EnableKey, DisableKey, UpdateKeyDescription
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_then_enable_is_reflected_in_describe_key() {
    let (node, client) = start().await;
    let created = create_key(&client).await;

    client.disable_key(&key(&created.key_id)).await.expect("DisableKey");
    let disabled = describe(&client, &created.key_id).await;
    assert!(!disabled.enabled);
    assert_eq!(disabled.key_state, KeyState::Disabled);

    client.disable_key(&key(&created.arn)).await.expect("DisableKey is idempotent, and takes an ARN");
    assert_eq!(describe(&client, &created.key_id).await.key_state, KeyState::Disabled);

    client.enable_key(&key(&created.arn)).await.expect("EnableKey");
    let enabled = describe(&client, &created.key_id).await;
    assert!(enabled.enabled);
    assert_eq!(enabled.key_state, KeyState::Enabled);
    client.enable_key(&key(&created.key_id)).await.expect("EnableKey is idempotent");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_and_disable_refuse_unknown_keys_and_aliases() {
    let (node, client) = start().await;
    let created = create_key(&client).await;
    client.create_alias(&alias("alias/app", &created.key_id)).await.expect("CreateAlias");
    let unknown = uuid::Uuid::new_v4().to_string();
    refused(client.enable_key(&key(&unknown)).await, ErrorCode::NotFound);
    refused(client.disable_key(&key(&unknown)).await, ErrorCode::NotFound);
    refused(client.enable_key(&key("garbage")).await, ErrorCode::NotFound);
    refused(client.disable_key(&key("alias/app")).await, ErrorCode::Validation);
    assert_eq!(describe(&client, &created.key_id).await.key_state, KeyState::Enabled);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_key_description_replaces_the_description() {
    let (node, client) = start().await;
    let created = create_key(&client).await;
    let update = |description: &str| UpdateKeyDescriptionRequest {
        key_id: created.key_id.clone(),
        description: description.to_owned(),
    };
    client.update_key_description(&update("first")).await.expect("UpdateKeyDescription");
    assert_eq!(describe(&client, &created.key_id).await.description, "first");
    client.update_key_description(&update("")).await.expect("an empty description is allowed");
    assert_eq!(describe(&client, &created.key_id).await.description, "");
    refused(client.update_key_description(&update(&"d".repeat(8193))).await, ErrorCode::Validation);
    let unknown =
        UpdateKeyDescriptionRequest { key_id: uuid::Uuid::new_v4().to_string(), description: "x".into() };
    refused(client.update_key_description(&unknown).await, ErrorCode::NotFound);
    refused(
        call_json(&client, "UpdateKeyDescription", json!({ "KeyId": created.key_id })).await,
        ErrorCode::Validation,
    );
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// ScheduleKeyDeletion, CancelKeyDeletion
// ---------------------------------------------------------------------------------------------

#[track_caller]
fn assert_deletion_in_days(deletion_date: f64, days: i64, scheduled_at: f64) {
    let expected = scheduled_at + days as f64 * SECONDS_PER_DAY;
    assert!(
        (deletion_date - expected).abs() < 60.0,
        "DeletionDate {deletion_date} is not {days} days after {scheduled_at}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_key_deletion_defaults_to_30_days() {
    let (node, client) = start().await;
    let created = create_key(&client).await;
    let now = now_seconds();
    let scheduled = client.schedule_key_deletion(&schedule(&created.key_id, None)).await.expect("schedule");
    assert_eq!(scheduled.key_id, created.arn, "the response names the key by ARN");
    assert_eq!(scheduled.key_state, KeyState::PendingDeletion);
    assert_eq!(scheduled.pending_window_in_days, 30);
    assert_deletion_in_days(scheduled.deletion_date, 30, now);

    let described = describe(&client, &created.key_id).await;
    assert_eq!(described.key_state, KeyState::PendingDeletion);
    assert!(!described.enabled);
    assert_eq!(described.deletion_date, Some(scheduled.deletion_date));
    assert_eq!(described.pending_deletion_window_in_days, Some(30));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_key_deletion_accepts_windows_of_7_to_30_days() {
    let (node, client) = start().await;
    for days in [7, 30] {
        let created = create_key(&client).await;
        let now = now_seconds();
        let scheduled =
            client.schedule_key_deletion(&schedule(&created.arn, Some(days))).await.expect("schedule");
        assert_eq!(scheduled.pending_window_in_days, days);
        assert_deletion_in_days(scheduled.deletion_date, days, now);
        let described = describe(&client, &created.key_id).await;
        assert_eq!(described.key_state, KeyState::PendingDeletion);
        assert_eq!(described.pending_deletion_window_in_days, Some(days));
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_key_deletion_rejects_windows_outside_7_to_30_days() {
    let (node, client) = start().await;
    let created = create_key(&client).await;
    for days in [6, 31, 0, -7] {
        let error = refused(
            client.schedule_key_deletion(&schedule(&created.key_id, Some(days))).await,
            ErrorCode::Validation,
        );
        assert!(error.message.contains("'pendingWindowInDays'"), "{}", error.message);
    }
    assert_eq!(describe(&client, &created.key_id).await.key_state, KeyState::Enabled);
    let unknown = uuid::Uuid::new_v4().to_string();
    refused(client.schedule_key_deletion(&schedule(&unknown, None)).await, ErrorCode::NotFound);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_pending_deletion_refuses_state_changes() {
    let (node, client) = start().await;
    let created = create_key(&client).await;
    let id = created.key_id.as_str();
    client.schedule_key_deletion(&schedule(id, Some(7))).await.expect("schedule");

    refused(client.enable_key(&key(id)).await, ErrorCode::InvalidState);
    refused(client.disable_key(&key(id)).await, ErrorCode::InvalidState);
    refused(client.create_alias(&alias("alias/late", id)).await, ErrorCode::InvalidState);
    let tag_request = TagResourceRequest { key_id: id.to_owned(), tags: vec![tag("a", "b")] };
    refused(client.tag_resource(&tag_request).await, ErrorCode::InvalidState);
    refused(client.schedule_key_deletion(&schedule(id, Some(30))).await, ErrorCode::InvalidState);

    let described = describe(&client, id).await;
    assert_eq!(described.key_state, KeyState::PendingDeletion);
    assert_eq!(described.pending_deletion_window_in_days, Some(7), "the second schedule changed nothing");
    let aliases = client.list_all_aliases(None).await.expect("ListAliases");
    assert!(aliases.is_empty(), "no alias was created: {aliases:?}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_key_deletion_leaves_the_key_disabled() {
    let (node, client) = start().await;
    let created = create_key(&client).await;
    client.schedule_key_deletion(&schedule(&created.key_id, None)).await.expect("schedule");
    let cancelled = client.cancel_key_deletion(&key(&created.key_id)).await.expect("CancelKeyDeletion");
    assert_eq!(cancelled.key_id, created.arn);

    let described = describe(&client, &created.key_id).await;
    assert_eq!(described.key_state, KeyState::Disabled);
    assert!(!described.enabled);
    assert_eq!(described.deletion_date, None);
    assert_eq!(described.pending_deletion_window_in_days, None);

    client.enable_key(&key(&created.key_id)).await.expect("a cancelled key can be enabled again");
    assert_eq!(describe(&client, &created.key_id).await.key_state, KeyState::Enabled);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_key_deletion_refuses_a_key_not_pending_deletion() {
    let (node, client) = start().await;
    let created = create_key(&client).await;
    refused(client.cancel_key_deletion(&key(&created.key_id)).await, ErrorCode::InvalidState);
    client.disable_key(&key(&created.key_id)).await.expect("DisableKey");
    refused(client.cancel_key_deletion(&key(&created.key_id)).await, ErrorCode::InvalidState);
    let unknown = uuid::Uuid::new_v4().to_string();
    refused(client.cancel_key_deletion(&key(&unknown)).await, ErrorCode::NotFound);
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Aliases
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_alias_lists_it_and_refuses_a_duplicate() {
    let (node, client) = start().await;
    let first = create_key(&client).await;
    let second = create_key(&client).await;
    let before = now_seconds();
    client.create_alias(&alias("alias/app-1/prod_key", &first.arn)).await.expect("CreateAlias by ARN");

    let aliases = client.list_all_aliases(None).await.expect("ListAliases");
    assert_eq!(aliases.len(), 1);
    let entry = &aliases[0];
    assert_eq!(entry.alias_name, "alias/app-1/prod_key");
    assert_eq!(entry.alias_arn, alias_arn("alias/app-1/prod_key"));
    assert_eq!(entry.target_key_id, first.key_id);
    assert!(entry.creation_date >= before - 5.0);
    assert_eq!(entry.creation_date, entry.last_updated_date);

    let error = refused(
        client.create_alias(&alias("alias/app-1/prod_key", &second.key_id)).await,
        ErrorCode::AlreadyExists,
    );
    assert!(error.message.contains("alias/app-1/prod_key"), "{}", error.message);
    assert_eq!(describe(&client, "alias/app-1/prod_key").await.key_id, first.key_id, "alias unchanged");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_alias_enforces_the_alias_name_rules() {
    let (node, client) = start().await;
    let created = create_key(&client).await;
    let id = created.key_id.as_str();
    for (name, expected) in [
        ("app", ErrorCode::Validation),
        ("aliases/app", ErrorCode::Validation),
        ("alias/", ErrorCode::Validation),
        ("alias/a b", ErrorCode::Validation),
        ("alias/app!", ErrorCode::Validation),
        ("alias/ключ", ErrorCode::Validation),
        ("", ErrorCode::Validation),
        ("alias/aws/s3", ErrorCode::InvalidAliasName),
        ("alias/aws/custom", ErrorCode::InvalidAliasName),
    ] {
        let error = match client.create_alias(&alias(name, id)).await {
            Err(ClientError::Api(error)) => error,
            other => panic!("alias {name:?}: expected {expected}, got {other:?}"),
        };
        assert_eq!(error.code, expected, "alias {name:?}: {}", error.message);
    }
    let longest = format!("alias/{}", "a".repeat(250));
    client.create_alias(&alias(&longest, id)).await.expect("256 characters are allowed");
    let too_long = format!("alias/{}", "a".repeat(251));
    refused(client.create_alias(&alias(&too_long, id)).await, ErrorCode::Validation);
    let aliases = client.list_all_aliases(None).await.expect("ListAliases");
    assert_eq!(aliases.len(), 1, "only the valid alias exists: {aliases:?}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_alias_needs_an_existing_key_named_by_id_or_arn() {
    let (node, client) = start().await;
    let created = create_key(&client).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    refused(client.create_alias(&alias("alias/orphan", &unknown)).await, ErrorCode::NotFound);
    refused(client.create_alias(&alias("alias/orphan", &key_arn(&unknown))).await, ErrorCode::NotFound);
    refused(client.create_alias(&alias("alias/orphan", "garbage")).await, ErrorCode::NotFound);

    client.create_alias(&alias("alias/first", &created.key_id)).await.expect("CreateAlias");
    refused(client.create_alias(&alias("alias/second", "alias/first")).await, ErrorCode::Validation);
    refused(
        client.create_alias(&alias("alias/second", &alias_arn("alias/first"))).await,
        ErrorCode::Validation,
    );
    let names: Vec<String> =
        client.list_all_aliases(None).await.expect("ListAliases").into_iter().map(|a| a.alias_name).collect();
    assert_eq!(names, vec!["alias/first".to_owned()]);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_alias_retargets_and_records_when() {
    let (node, client) = start().await;
    let first = create_key(&client).await;
    let second = create_key(&client).await;
    client.create_alias(&alias("alias/app", &first.key_id)).await.expect("CreateAlias");
    let created = client.list_all_aliases(None).await.expect("ListAliases").remove(0);

    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    client.update_alias(&alias("alias/app", &second.arn)).await.expect("UpdateAlias");
    assert_eq!(describe(&client, "alias/app").await.key_id, second.key_id);
    let updated = client.list_all_aliases(None).await.expect("ListAliases").remove(0);
    assert_eq!(updated.target_key_id, second.key_id);
    assert_eq!(updated.creation_date, created.creation_date, "CreationDate is kept");
    assert!(
        updated.last_updated_date > created.last_updated_date,
        "LastUpdatedDate moves: {} then {}",
        created.last_updated_date,
        updated.last_updated_date
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_alias_refuses_missing_aliases_and_targets() {
    let (node, client) = start().await;
    let first = create_key(&client).await;
    let second = create_key(&client).await;
    refused(client.update_alias(&alias("alias/none", &first.key_id)).await, ErrorCode::NotFound);
    client.create_alias(&alias("alias/app", &first.key_id)).await.expect("CreateAlias");
    let unknown = uuid::Uuid::new_v4().to_string();
    refused(client.update_alias(&alias("alias/app", &unknown)).await, ErrorCode::NotFound);
    refused(client.update_alias(&alias("alias/app", "alias/app")).await, ErrorCode::Validation);
    refused(client.update_alias(&alias("alias/aws/s3", &first.key_id)).await, ErrorCode::InvalidAliasName);
    client.schedule_key_deletion(&schedule(&second.key_id, None)).await.expect("schedule");
    refused(client.update_alias(&alias("alias/app", &second.key_id)).await, ErrorCode::InvalidState);
    assert_eq!(describe(&client, "alias/app").await.key_id, first.key_id, "alias unchanged");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_alias_removes_it_once() {
    let (node, client) = start().await;
    let created = create_key(&client).await;
    client.create_alias(&alias("alias/app", &created.key_id)).await.expect("CreateAlias");
    let delete = DeleteAliasRequest { alias_name: "alias/app".into() };
    client.delete_alias(&delete).await.expect("DeleteAlias");
    refused(client.describe_key(&key("alias/app")).await, ErrorCode::NotFound);
    assert!(client.list_all_aliases(None).await.expect("ListAliases").is_empty());
    refused(client.delete_alias(&delete).await, ErrorCode::NotFound);
    refused(
        client.delete_alias(&DeleteAliasRequest { alias_name: "app".into() }).await,
        ErrorCode::Validation,
    );
    assert_eq!(describe(&client, &created.key_id).await.key_state, KeyState::Enabled, "the key stays");
    client.create_alias(&alias("alias/app", &created.key_id)).await.expect("the name is free again");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_aliases_filters_by_key_and_pages_with_markers() {
    let (node, client) = start().await;
    let first = create_key(&client).await;
    let second = create_key(&client).await;
    for name in ["alias/a1", "alias/a2", "alias/a3"] {
        client.create_alias(&alias(name, &first.key_id)).await.expect("CreateAlias");
    }
    client.create_alias(&alias("alias/b1", &second.key_id)).await.expect("CreateAlias");

    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut marker = None;
    loop {
        let request = ListAliasesRequest { key_id: None, limit: Some(3), marker: marker.clone() };
        let page = client.list_aliases(&request).await.expect("ListAliases");
        seen.extend(page.aliases.iter().map(|entry| entry.alias_name.clone()));
        pages.push((page.aliases.len(), page.truncated));
        if !page.truncated {
            assert_eq!(page.next_marker, None);
            break;
        }
        marker = Some(page.next_marker.expect("a truncated page has a NextMarker"));
    }
    assert_eq!(pages, vec![(3, true), (1, false)]);
    assert_eq!(seen, ["alias/a1", "alias/a2", "alias/a3", "alias/b1"]);

    for reference in [first.key_id.clone(), first.arn.clone()] {
        let request = ListAliasesRequest { key_id: Some(reference), limit: None, marker: None };
        let page = client.list_aliases(&request).await.expect("ListAliases by key");
        let names: Vec<&str> = page.aliases.iter().map(|entry| entry.alias_name.as_str()).collect();
        assert_eq!(names, ["alias/a1", "alias/a2", "alias/a3"]);
        assert!(page.aliases.iter().all(|entry| entry.target_key_id == first.key_id));
    }
    let request = ListAliasesRequest { key_id: Some(second.key_id.clone()), limit: Some(1), marker: None };
    let page = client.list_aliases(&request).await.expect("ListAliases by key");
    assert_eq!(page.aliases.len(), 1);
    assert!(!page.truncated);

    let filtered = client.list_all_aliases(Some(&first.key_id)).await.expect("ListAliases");
    assert_eq!(filtered.len(), 3);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_aliases_refuses_bad_limits_markers_and_keys() {
    let (node, client) = start().await;
    let created = create_key(&client).await;
    client.create_alias(&alias("alias/app", &created.key_id)).await.expect("CreateAlias");
    let list = |key_id: Option<String>, limit: Option<i64>, marker: Option<&str>| ListAliasesRequest {
        key_id,
        limit,
        marker: marker.map(str::to_owned),
    };
    refused(client.list_aliases(&list(None, Some(0), None)).await, ErrorCode::Validation);
    refused(client.list_aliases(&list(None, Some(1001), None)).await, ErrorCode::Validation);
    refused(client.list_aliases(&list(None, None, Some("bogus"))).await, ErrorCode::InvalidMarker);
    let unknown = uuid::Uuid::new_v4().to_string();
    refused(client.list_aliases(&list(Some(unknown), None, None)).await, ErrorCode::NotFound);
    refused(client.list_aliases(&list(Some("alias/app".into()), None, None)).await, ErrorCode::Validation);
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_untag_and_list_resource_tags() {
    let (node, client) = start().await;
    let created = create_key(&client).await;
    let id = created.key_id.as_str();
    let tag_request =
        TagResourceRequest { key_id: id.to_owned(), tags: vec![tag("team", "payments"), tag("env", "dev")] };
    client.tag_resource(&tag_request).await.expect("TagResource");
    assert_eq!(
        tags_of(&client, id).await,
        vec![("env".to_owned(), "dev".to_owned()), ("team".to_owned(), "payments".to_owned())]
    );

    let overwrite = TagResourceRequest { key_id: created.arn.clone(), tags: vec![tag("env", "prod")] };
    client.tag_resource(&overwrite).await.expect("TagResource overwrites a value");
    assert_eq!(
        tags_of(&client, &created.arn).await,
        vec![("env".to_owned(), "prod".to_owned()), ("team".to_owned(), "payments".to_owned())]
    );

    let untag =
        UntagResourceRequest { key_id: id.to_owned(), tag_keys: vec!["team".into(), "absent".into()] };
    client.untag_resource(&untag).await.expect("UntagResource ignores absent keys");
    assert_eq!(tags_of(&client, id).await, vec![("env".to_owned(), "prod".to_owned())]);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_resource_tags_pages_with_markers() {
    let (node, client) = start().await;
    let created = create_key(&client).await;
    let tags: Vec<Tag> = (0..5).map(|i| tag(&format!("k{i}"), &format!("v{i}"))).collect();
    let request = TagResourceRequest { key_id: created.key_id.clone(), tags };
    client.tag_resource(&request).await.expect("TagResource");
    let mut seen = Vec::new();
    let mut marker = None;
    loop {
        let request = ListResourceTagsRequest { key_id: created.key_id.clone(), limit: Some(2), marker };
        let page = client.list_resource_tags(&request).await.expect("ListResourceTags");
        seen.extend(page.tags.iter().map(|tag| tag.tag_key.clone()));
        if !page.truncated {
            break;
        }
        marker = Some(page.next_marker.expect("a truncated page has a NextMarker"));
    }
    assert_eq!(seen, ["k0", "k1", "k2", "k3", "k4"]);
    assert_eq!(client.list_all_resource_tags(&created.key_id).await.expect("all tags").len(), 5);
    let too_big = ListResourceTagsRequest { key_id: created.key_id.clone(), limit: Some(51), marker: None };
    refused(client.list_resource_tags(&too_big).await, ErrorCode::Validation);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_holds_at_most_50_tags() {
    let (node, client) = start().await;
    let created = create_key(&client).await;
    let id = created.key_id.as_str();
    let fifty: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i:02}"), "v")).collect();
    client.tag_resource(&TagResourceRequest { key_id: id.to_owned(), tags: fifty }).await.expect("50 tags");

    let fifty_first = TagResourceRequest { key_id: id.to_owned(), tags: vec![tag("k50", "v")] };
    refused(client.tag_resource(&fifty_first).await, ErrorCode::LimitExceeded);
    let overwrite = TagResourceRequest { key_id: id.to_owned(), tags: vec![tag("k00", "new")] };
    client.tag_resource(&overwrite).await.expect("overwriting a value adds no tag");

    let tags = client.list_all_resource_tags(id).await.expect("ListResourceTags");
    assert_eq!(tags.len(), 50);
    assert_eq!(tags[0], tag("k00", "new"));
    assert!(!tags.iter().any(|t| t.tag_key == "k50"));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_refuse_the_aws_prefix_and_malformed_keys() {
    let (node, client) = start().await;
    let created = create_key(&client).await;
    let id = created.key_id.as_str();
    let with = |tags: Vec<Tag>| TagResourceRequest { key_id: id.to_owned(), tags };
    refused(client.tag_resource(&with(vec![tag("aws:createdBy", "me")])).await, ErrorCode::Tag);
    refused(client.tag_resource(&with(vec![tag("AWS:createdBy", "me")])).await, ErrorCode::Tag);
    refused(client.tag_resource(&with(vec![tag("", "v")])).await, ErrorCode::Validation);
    refused(client.tag_resource(&with(vec![tag(&"k".repeat(129), "v")])).await, ErrorCode::Validation);
    refused(client.tag_resource(&with(vec![tag("k", &"v".repeat(257))])).await, ErrorCode::Validation);
    refused(client.tag_resource(&with(vec![tag("k", "v"), tag("k", "w")])).await, ErrorCode::Tag);
    let untag = UntagResourceRequest { key_id: id.to_owned(), tag_keys: vec!["aws:x".into()] };
    refused(client.untag_resource(&untag).await, ErrorCode::Tag);
    assert!(tags_of(&client, id).await.is_empty(), "nothing was tagged");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_operations_refuse_unknown_keys_and_aliases() {
    let (node, client) = start().await;
    let created = create_key(&client).await;
    client.create_alias(&alias("alias/app", &created.key_id)).await.expect("CreateAlias");
    let unknown = uuid::Uuid::new_v4().to_string();
    let tag_request = TagResourceRequest { key_id: unknown.clone(), tags: vec![tag("a", "b")] };
    refused(client.tag_resource(&tag_request).await, ErrorCode::NotFound);
    let untag = UntagResourceRequest { key_id: unknown.clone(), tag_keys: vec!["a".into()] };
    refused(client.untag_resource(&untag).await, ErrorCode::NotFound);
    let list = ListResourceTagsRequest { key_id: unknown, limit: None, marker: None };
    refused(client.list_resource_tags(&list).await, ErrorCode::NotFound);
    let by_alias = TagResourceRequest { key_id: "alias/app".into(), tags: vec![tag("a", "b")] };
    refused(client.tag_resource(&by_alias).await, ErrorCode::Validation);
    node.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Idempotency
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_key_with_a_repeated_request_id_creates_one_key() {
    let (node, client) = start().await;
    let request_id = uuid::Uuid::new_v4().to_string();
    let request = CreateKeyRequest { description: Some("once".into()), ..CreateKeyRequest::default() };
    let first: trent_wire::kms::KeyMetadataResponse =
        client.call_with_request_id("CreateKey", &request, &request_id).await.expect("first CreateKey");
    let second: trent_wire::kms::KeyMetadataResponse =
        client.call_with_request_id("CreateKey", &request, &request_id).await.expect("second CreateKey");
    assert_eq!(first.key_metadata.key_id, second.key_metadata.key_id);
    assert_eq!(first.key_metadata.arn, second.key_metadata.arn);

    let keys = client.list_all_keys().await.expect("ListKeys");
    assert_eq!(keys.len(), 1, "one key exists: {keys:?}");
    assert_eq!(keys[0].key_id, first.key_metadata.key_id);

    let other = create_key(&client).await;
    assert_ne!(other.key_id, first.key_metadata.key_id, "a fresh request id creates a fresh key");
    node.stop().await;
}
