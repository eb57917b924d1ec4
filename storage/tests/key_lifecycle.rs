//! Key lifecycle commands applied through the state machine: create, enable/disable, describe,
//! schedule and cancel deletion, and deletion once the date has passed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use common::{applied_key, contents, create_key, key_id, new_key, rejection_code, Node, DAY_MS, T0};
use openraft::storage::RaftStateMachine;
use trent_storage::{Applied, Command, KeyLifecycle};
use trent_wire::model::{KeySpec, KeyState, KeyUsage, Origin};
use trent_wire::ErrorCode;

#[tokio::test]
async fn create_key_makes_an_enabled_key_visible_in_the_registry() {
    let mut node = Node::new();
    let registry = node.sm.registry();
    let id = key_id();
    let mut key = new_key(id);
    key.draft.spec = KeySpec::EccNistP256;
    key.draft.usage = KeyUsage::SignVerify;
    key.draft.origin = Origin::External;
    key.draft.description = "signing key".to_owned();
    key.draft.tags = vec![("team".to_owned(), "kms".to_owned()), ("env".to_owned(), "prod".to_owned())];

    let result = node.run(T0, Command::CreateKey(key)).await;

    let created = applied_key(&result);
    assert_eq!(created.key_id, id);
    assert_eq!(created.lifecycle, KeyLifecycle::Enabled);
    assert_eq!(created.lifecycle.key_state(), KeyState::Enabled);
    assert_eq!(created.created_at_ms, T0);
    assert_eq!(created.description, "signing key");
    assert_eq!(created.spec, KeySpec::EccNistP256);
    assert_eq!(created.usage, KeyUsage::SignVerify);
    assert_eq!(created.origin, Origin::External);
    assert_eq!(created.tags.get("team").map(String::as_str), Some("kms"));
    assert_eq!(created.tags.get("env").map(String::as_str), Some("prod"));

    // The handle taken before the apply follows it.
    let view = registry.read();
    assert_eq!(view.key_count(), 1);
    assert_eq!(view.key(&id), Some(&created));
    assert_eq!(view.keys().collect::<Vec<_>>(), vec![&created]);
}

#[tokio::test]
async fn create_key_with_duplicate_tag_keys_keeps_the_last_value() {
    let mut node = Node::new();
    let id = key_id();
    let mut key = new_key(id);
    key.draft.tags = vec![("a".to_owned(), "1".to_owned()), ("a".to_owned(), "2".to_owned())];
    let created = applied_key(&node.run(T0, Command::CreateKey(key)).await);
    assert_eq!(created.tags.len(), 1);
    assert_eq!(created.tags["a"], "2");
}

#[tokio::test]
async fn create_key_with_a_taken_id_is_rejected_and_keeps_the_original() {
    let mut node = Node::new();
    let id = key_id();
    let original = applied_key(&node.run(T0, create_key(id)).await);

    let mut again = new_key(id);
    again.draft.description = "impostor".to_owned();
    let result = node.run(T0 + 1, Command::CreateKey(again)).await;

    assert_eq!(rejection_code(&result), ErrorCode::AlreadyExists);
    assert_eq!(node.key(id), original);
    assert_eq!(node.registry().key_count(), 1);
}

#[tokio::test]
async fn disable_and_enable_flip_the_lifecycle() {
    let mut node = Node::new();
    let id = key_id();
    node.run(T0, create_key(id)).await.unwrap();

    let disabled = applied_key(&node.run(T0 + 1, Command::DisableKey { key_id: id }).await);
    assert_eq!(disabled.lifecycle, KeyLifecycle::Disabled);
    assert_eq!(node.key(id).lifecycle, KeyLifecycle::Disabled);

    // Disabling twice is allowed and idempotent, as in AWS.
    let again = applied_key(&node.run(T0 + 2, Command::DisableKey { key_id: id }).await);
    assert_eq!(again.lifecycle, KeyLifecycle::Disabled);

    let enabled = applied_key(&node.run(T0 + 3, Command::EnableKey { key_id: id }).await);
    assert_eq!(enabled.lifecycle, KeyLifecycle::Enabled);
    assert_eq!(node.key(id), enabled);
    // Lifecycle changes do not touch creation time or other fields.
    assert_eq!(enabled.created_at_ms, T0);
}

#[tokio::test]
async fn commands_on_a_missing_key_are_rejected_with_not_found() {
    let mut node = Node::new();
    let missing = key_id();
    let commands = vec![
        Command::EnableKey { key_id: missing },
        Command::DisableKey { key_id: missing },
        Command::UpdateKeyDescription { key_id: missing, description: "x".to_owned() },
        Command::ScheduleKeyDeletion { key_id: missing, window_days: 7 },
        Command::CancelKeyDeletion { key_id: missing },
        Command::DeleteExpiredKey { key_id: missing },
        Command::TagKey { key_id: missing, tags: vec![("a".to_owned(), "b".to_owned())] },
        Command::UntagKey { key_id: missing, tag_keys: vec!["a".to_owned()] },
    ];
    for command in commands {
        let name = command.name();
        let result = node.run(T0, command).await;
        assert_eq!(rejection_code(&result), ErrorCode::NotFound, "{name}");
    }
    assert_eq!(node.registry().key_count(), 0);
}

#[tokio::test]
async fn update_key_description_replaces_it() {
    let mut node = Node::new();
    let id = key_id();
    node.run(T0, create_key(id)).await.unwrap();

    let command = Command::UpdateKeyDescription { key_id: id, description: "rotated quarterly".to_owned() };
    let updated = applied_key(&node.run(T0 + 1, command).await);

    assert_eq!(updated.description, "rotated quarterly");
    assert_eq!(node.key(id).description, "rotated quarterly");
    assert_eq!(updated.lifecycle, KeyLifecycle::Enabled);

    let command = Command::UpdateKeyDescription { key_id: id, description: String::new() };
    assert_eq!(applied_key(&node.run(T0 + 2, command).await).description, "");
}

#[tokio::test]
async fn schedule_key_deletion_dates_it_from_the_request_timestamp() {
    let mut node = Node::new();
    let id = key_id();
    node.run(T0, create_key(id)).await.unwrap();
    let issued_at = T0 + 12_345;

    let scheduled =
        applied_key(&node.run(issued_at, Command::ScheduleKeyDeletion { key_id: id, window_days: 7 }).await);

    let deletion_at_ms = issued_at + 7 * DAY_MS;
    assert_eq!(scheduled.lifecycle, KeyLifecycle::PendingDeletion { deletion_at_ms, window_days: 7 });
    assert_eq!(scheduled.lifecycle.key_state(), KeyState::PendingDeletion);
    assert_eq!(node.key(id), scheduled);

    let registry = node.registry();
    assert!(registry.keys_due_for_deletion(deletion_at_ms - 1, 10).is_empty());
    assert_eq!(registry.keys_due_for_deletion(deletion_at_ms, 10), vec![id]);
    assert_eq!(registry.keys_due_for_deletion(u64::MAX, 10), vec![id]);
}

#[tokio::test]
async fn schedule_key_deletion_works_from_disabled_and_uses_the_window_given() {
    let mut node = Node::new();
    let id = key_id();
    node.run(T0, create_key(id)).await.unwrap();
    node.run(T0, Command::DisableKey { key_id: id }).await.unwrap();

    node.run(T0, Command::ScheduleKeyDeletion { key_id: id, window_days: 30 }).await.unwrap();

    assert_eq!(
        node.key(id).lifecycle,
        KeyLifecycle::PendingDeletion { deletion_at_ms: T0 + 30 * DAY_MS, window_days: 30 }
    );
}

#[tokio::test]
async fn keys_due_for_deletion_lists_in_date_order_and_honours_the_limit() {
    let mut node = Node::new();
    let (late, early, middle) = (key_id(), key_id(), key_id());
    for id in [late, early, middle] {
        node.run(T0, create_key(id)).await.unwrap();
    }
    node.run(T0, Command::ScheduleKeyDeletion { key_id: late, window_days: 30 }).await.unwrap();
    node.run(T0, Command::ScheduleKeyDeletion { key_id: early, window_days: 7 }).await.unwrap();
    node.run(T0, Command::ScheduleKeyDeletion { key_id: middle, window_days: 8 }).await.unwrap();

    let registry = node.registry();
    assert_eq!(registry.keys_due_for_deletion(u64::MAX, 10), vec![early, middle, late]);
    assert_eq!(registry.keys_due_for_deletion(u64::MAX, 2), vec![early, middle]);
    assert_eq!(registry.keys_due_for_deletion(T0 + 8 * DAY_MS, 10), vec![early, middle]);
}

#[tokio::test]
async fn a_key_pending_deletion_refuses_changes_and_nothing_changes() {
    let mut node = Node::new();
    let id = key_id();
    node.run(T0, create_key(id)).await.unwrap();
    node.run(T0, Command::ScheduleKeyDeletion { key_id: id, window_days: 7 }).await.unwrap();
    let before = contents(&node.registry());

    let refused = vec![
        Command::EnableKey { key_id: id },
        Command::DisableKey { key_id: id },
        Command::UpdateKeyDescription { key_id: id, description: "changed".to_owned() },
        Command::ScheduleKeyDeletion { key_id: id, window_days: 30 },
        Command::TagKey { key_id: id, tags: vec![("a".to_owned(), "b".to_owned())] },
        Command::UntagKey { key_id: id, tag_keys: vec!["a".to_owned()] },
        Command::CreateAlias { alias: "alias/doomed".to_owned(), key_id: id },
    ];
    for command in refused {
        let name = command.name();
        let result = node.run(T0 + DAY_MS, command).await;
        assert_eq!(rejection_code(&result), ErrorCode::InvalidState, "{name}");
        let after = contents(&node.registry());
        assert_eq!(after.keys, before.keys, "{name} changed a key");
        assert_eq!(after.aliases, before.aliases, "{name} changed an alias");
    }
    // Still one entry in the deletion queue, at the original date.
    let registry = node.registry();
    assert_eq!(registry.keys_due_for_deletion(u64::MAX, 10), vec![id]);
    assert_eq!(registry.keys_due_for_deletion(T0 + 7 * DAY_MS - 1, 10), vec![]);
}

#[tokio::test]
async fn cancel_key_deletion_leaves_the_key_disabled_and_unqueued() {
    let mut node = Node::new();
    let id = key_id();
    node.run(T0, create_key(id)).await.unwrap();
    node.run(T0, Command::ScheduleKeyDeletion { key_id: id, window_days: 7 }).await.unwrap();

    let cancelled = applied_key(&node.run(T0 + DAY_MS, Command::CancelKeyDeletion { key_id: id }).await);

    assert_eq!(cancelled.lifecycle, KeyLifecycle::Disabled);
    assert_eq!(node.key(id).lifecycle, KeyLifecycle::Disabled);
    assert!(node.registry().keys_due_for_deletion(u64::MAX, 10).is_empty());

    // Deleting it on the old date no longer works.
    let result = node.run(T0 + 8 * DAY_MS, Command::DeleteExpiredKey { key_id: id }).await;
    assert_eq!(rejection_code(&result), ErrorCode::InvalidState);
    assert_eq!(node.registry().key_count(), 1);

    // It can be enabled and scheduled again, with a new date.
    node.run(T0 + 2 * DAY_MS, Command::EnableKey { key_id: id }).await.unwrap();
    node.run(T0 + 2 * DAY_MS, Command::ScheduleKeyDeletion { key_id: id, window_days: 7 }).await.unwrap();
    assert_eq!(node.registry().keys_due_for_deletion(u64::MAX, 10), vec![id]);
    assert!(node.registry().keys_due_for_deletion(T0 + 9 * DAY_MS - 1, 10).is_empty());
}

#[tokio::test]
async fn cancel_key_deletion_of_a_live_key_is_rejected() {
    let mut node = Node::new();
    let id = key_id();
    let created = applied_key(&node.run(T0, create_key(id)).await);

    let result = node.run(T0, Command::CancelKeyDeletion { key_id: id }).await;

    assert_eq!(rejection_code(&result), ErrorCode::InvalidState);
    assert_eq!(node.key(id), created);
}

#[tokio::test]
async fn delete_expired_key_before_the_date_is_rejected() {
    let mut node = Node::new();
    let id = key_id();
    node.run(T0, create_key(id)).await.unwrap();
    node.run(T0, Command::CreateAlias { alias: "alias/a".to_owned(), key_id: id }).await.unwrap();
    node.run(T0, Command::ScheduleKeyDeletion { key_id: id, window_days: 7 }).await.unwrap();
    let before = contents(&node.registry());

    let result = node.run(T0 + 7 * DAY_MS - 1, Command::DeleteExpiredKey { key_id: id }).await;

    assert_eq!(rejection_code(&result), ErrorCode::InvalidState);
    let after = contents(&node.registry());
    assert_eq!(after.keys, before.keys);
    assert_eq!(after.aliases, before.aliases);
}

#[tokio::test]
async fn delete_expired_key_of_a_live_key_is_rejected() {
    let mut node = Node::new();
    let id = key_id();
    node.run(T0, create_key(id)).await.unwrap();

    let result = node.run(u64::MAX, Command::DeleteExpiredKey { key_id: id }).await;

    assert_eq!(rejection_code(&result), ErrorCode::InvalidState);
    assert_eq!(node.registry().key_count(), 1);
}

#[tokio::test]
async fn delete_expired_key_on_the_date_removes_the_key_and_only_its_aliases() {
    let mut node = Node::new();
    let (doomed, kept) = (key_id(), key_id());
    node.run(T0, create_key(doomed)).await.unwrap();
    node.run(T0, create_key(kept)).await.unwrap();
    for alias in ["alias/one", "alias/two"] {
        node.run(T0, Command::CreateAlias { alias: alias.to_owned(), key_id: doomed }).await.unwrap();
    }
    node.run(T0, Command::CreateAlias { alias: "alias/other".to_owned(), key_id: kept }).await.unwrap();
    node.run(T0, Command::ScheduleKeyDeletion { key_id: doomed, window_days: 7 }).await.unwrap();

    let result = node.run(T0 + 7 * DAY_MS, Command::DeleteExpiredKey { key_id: doomed }).await;

    assert_eq!(result, Ok(Applied::Done));
    let registry = node.registry();
    assert_eq!(registry.key(&doomed), None);
    assert_eq!(registry.key_count(), 1);
    assert!(registry.alias("alias/one").is_none());
    assert!(registry.alias("alias/two").is_none());
    assert_eq!(registry.aliases_of(doomed).count(), 0);
    assert_eq!(registry.alias("alias/other").map(|a| a.key_id), Some(kept));
    assert_eq!(registry.alias_count(), 1);
    assert!(registry.keys_due_for_deletion(u64::MAX, 10).is_empty());

    // A second delete finds nothing.
    let again = node.run(T0 + 8 * DAY_MS, Command::DeleteExpiredKey { key_id: doomed }).await;
    assert_eq!(rejection_code(&again), ErrorCode::NotFound);
}

#[tokio::test]
async fn blank_and_membership_entries_yield_no_results_and_advance_applied_state() {
    let mut node = Node::new();
    let results = node.apply_entries(vec![common::blank(1), common::membership(2, &[1, 2, 3])]).await;
    assert_eq!(results, vec![Vec::new(), Vec::new()]);

    let (applied, membership) = node.sm.applied_state().await.unwrap();
    assert_eq!(applied, Some(common::log_id(2)));
    assert_eq!(membership.log_id(), &Some(common::log_id(2)));
    assert_eq!(membership.membership().voter_ids().collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(node.registry().key_count(), 0);

    // One batch result per entry, in order, across a mixed batch.
    let id = key_id();
    let results = node
        .apply_entries(vec![
            common::normal(3, common::request(T0, create_key(id))),
            common::blank(4),
            common::normal(5, common::request(T0, Command::EnableKey { key_id: key_id() })),
        ])
        .await;
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].len(), 1);
    assert_eq!(applied_key(&results[0][0]).key_id, id);
    assert_eq!(results[1], Vec::new());
    assert_eq!(results[2].len(), 1);
    assert_eq!(rejection_code(&results[2][0]), ErrorCode::NotFound);
    assert_eq!(node.sm.applied_state().await.unwrap().0, Some(common::log_id(5)));
}
