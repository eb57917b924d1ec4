//! Alias and tag operations on one in-process node, through the typed client: CreateAlias,
//! UpdateAlias, DeleteAlias, ListAliases, TagResource, UntagResource and ListResourceTags.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use support::kms::*;
use trent_client::ClientError;
use trent_wire::kms::*;
use trent_wire::model::KeyState;
use trent_wire::ErrorCode;

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
    refused(client.list_aliases(&list(None, Some(101), None)).await, ErrorCode::Validation);
    client
        .list_aliases(&list(None, Some(100), None))
        .await
        .expect("Limit 100 is AWS's maximum for ListAliases");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reserved_alias_prefix_is_reserved_in_any_case() {
    let (node, client) = support::kms::start().await;
    let key = support::kms::create_key(&client).await;
    for name in ["alias/aws/s3", "alias/AWS/s3", "alias/Aws/app"] {
        support::kms::refused(
            client.create_alias(&support::kms::alias(name, &key.key_id)).await,
            ErrorCode::InvalidAliasName,
        );
    }
    client
        .create_alias(&support::kms::alias("alias/awsome", &key.key_id))
        .await
        .expect("only aws/ is reserved");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_resource_tags_refuses_a_marker_it_could_not_have_issued() {
    let (node, client) = support::kms::start().await;
    let key = support::kms::create_key(&client).await;
    let forged = ListResourceTagsRequest {
        key_id: key.key_id.clone(),
        limit: None,
        marker: Some("aws:forged".into()),
    };
    support::kms::refused(client.list_resource_tags(&forged).await, ErrorCode::InvalidMarker);
    let spaces =
        ListResourceTagsRequest { key_id: key.key_id.clone(), limit: None, marker: Some("\u{1}".into()) };
    support::kms::refused(client.list_resource_tags(&spaces).await, ErrorCode::InvalidMarker);
    let fine = ListResourceTagsRequest { key_id: key.key_id, limit: None, marker: Some("team".into()) };
    client.list_resource_tags(&fine).await.expect("a marker that is a tag key pages on");
    node.stop().await;
}
