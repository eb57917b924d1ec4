//! Key operations on one in-process node, through the typed client: CreateKey, DescribeKey,
//! ListKeys, EnableKey, DisableKey, UpdateKeyDescription, ScheduleKeyDeletion and
//! CancelKeyDeletion — what each returns and every way it refuses, with AWS's error codes.
//!
//! Request-level protocol behaviour (targets, malformed bodies, size caps, headers) is in
//! `raw_http.rs`; aliases and tags in `kms_aliases_tags.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use serde_json::json;
use support::kms::*;
use trent_wire::kms::*;
use trent_wire::model::{KeySpec, KeyState, KeyUsage, Origin};
use trent_wire::ErrorCode;

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
async fn create_key_refuses_sm2_and_options_not_supported_yet() {
    let (node, client) = start().await;
    for field in ["KeySpec", "CustomerMasterKeySpec"] {
        let request = if field == "KeySpec" {
            CreateKeyRequest { key_spec: Some("SM2".into()), ..CreateKeyRequest::default() }
        } else {
            CreateKeyRequest { customer_master_key_spec: Some("SM2".into()), ..CreateKeyRequest::default() }
        };
        let error = refused(client.create_key(&request).await, ErrorCode::UnsupportedOperation);
        assert!(error.message.contains("China"), "says why: {}", error.message);
    }
    for origin in ["AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"] {
        let request = CreateKeyRequest { origin: Some(origin.into()), ..CreateKeyRequest::default() };
        refused(client.create_key(&request).await, ErrorCode::UnsupportedOperation);
    }
    let ml_kem = CreateKeyRequest {
        origin: Some("EXTERNAL".into()),
        key_spec: Some("ML_KEM_768".into()),
        key_usage: Some("ENCAPSULATE_DECAPSULATE".into()),
        ..CreateKeyRequest::default()
    };
    refused(client.create_key(&ml_kem).await, ErrorCode::UnsupportedOperation);
    let request = CreateKeyRequest { multi_region: Some(true), ..CreateKeyRequest::default() };
    refused(client.create_key(&request).await, ErrorCode::UnsupportedOperation);
    let request =
        CreateKeyRequest { custom_key_store_id: Some("cks-1".into()), ..CreateKeyRequest::default() };
    refused(client.create_key(&request).await, ErrorCode::UnsupportedOperation);
    assert!(client.list_all_keys().await.expect("ListKeys").is_empty(), "no key was created");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_key_makes_every_spec_with_its_usages_and_algorithm_lists() {
    let (node, client) = start().await;
    let cases: [(&str, &str, &str); 7] = [
        ("RSA_2048", "ENCRYPT_DECRYPT", "RSAES_OAEP_SHA_1"),
        ("RSA_3072", "SIGN_VERIFY", "RSASSA_PKCS1_V1_5_SHA_512"),
        ("ECC_NIST_P521", "KEY_AGREEMENT", "ECDH"),
        ("ECC_SECG_P256K1", "SIGN_VERIFY", "ECDSA_SHA_256"),
        ("ML_DSA_87", "SIGN_VERIFY", "ML_DSA_SHAKE_256"),
        ("ML_KEM_1024", "ENCAPSULATE_DECAPSULATE", "ML_KEM"),
        ("HMAC_384", "GENERATE_VERIFY_MAC", "HMAC_SHA_384"),
    ];
    for (spec, usage, algorithm) in cases {
        let request = CreateKeyRequest {
            key_spec: Some(spec.into()),
            key_usage: Some(usage.into()),
            ..CreateKeyRequest::default()
        };
        let created =
            client.create_key(&request).await.unwrap_or_else(|error| panic!("{spec}: {error}")).key_metadata;
        assert_eq!((created.key_spec.as_str(), created.key_usage.as_str()), (spec, usage));
        let lists = [
            &created.encryption_algorithms,
            &created.signing_algorithms,
            &created.mac_algorithms,
            &created.key_agreement_algorithms,
            &created.encapsulation_algorithms,
        ];
        let listed: Vec<&Vec<String>> = lists.iter().filter_map(|list| list.as_ref()).collect();
        assert_eq!(listed.len(), 1, "{spec}: one list, for its usage");
        assert!(listed[0].iter().any(|name| name == algorithm), "{spec}: {:?}", listed[0]);
    }
    // A usage the spec does not have is AWS's ValidationException.
    let request = CreateKeyRequest {
        key_spec: Some("ECC_SECG_P256K1".into()),
        key_usage: Some("KEY_AGREEMENT".into()),
        ..CreateKeyRequest::default()
    };
    refused(client.create_key(&request).await, ErrorCode::Validation);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_key_policy_is_refused_and_makes_no_key() {
    let (node, client) = support::kms::start().await;
    let request = CreateKeyRequest {
        policy: Some(r#"{"Version":"2012-10-17","Statement":[]}"#.into()),
        ..Default::default()
    };
    let error = support::kms::refused(client.create_key(&request).await, ErrorCode::MalformedPolicyDocument);
    assert!(error.message.contains("Statement"), "{error}");
    assert!(client.list_all_keys().await.unwrap().is_empty(), "no key was made");
    node.stop().await;
}
