//! What the state machine applied is still there after the storage is closed and reopened.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use common::{contents, create_key, key_id, request, scenario, Node, DAY_MS, T0};
use openraft::storage::RaftStateMachine;
use trent_storage::{Command, KeyLifecycle};

#[tokio::test]
async fn registry_and_applied_state_survive_reopen() {
    let mut node = Node::new();
    let (entries, keys) = scenario();
    let last = entries.last().unwrap().log_id;
    node.apply_entries(entries).await;
    let registry_before = node.registry();
    let applied_before = node.sm.applied_state().await.unwrap();
    assert_eq!(applied_before.0, Some(last));
    assert_eq!(registry_before.key_count(), 5);

    let mut node = node.reopen();

    let registry_after = node.registry();
    assert_eq!(contents(&registry_after), contents(&registry_before));
    // The derived indexes are rebuilt too (Registry's equality covers them).
    assert_eq!(registry_after, registry_before);
    assert_eq!(registry_after.keys_due_for_deletion(u64::MAX, 10), vec![keys.pending]);
    assert_eq!(registry_after.key(&keys.disabled).unwrap().lifecycle, KeyLifecycle::Disabled);
    assert_eq!(registry_after.key(&keys.cancelled).unwrap().lifecycle, KeyLifecycle::Disabled);
    assert_eq!(
        registry_after.key(&keys.pending).unwrap().lifecycle,
        KeyLifecycle::PendingDeletion { deletion_at_ms: T0 + 30 * DAY_MS, window_days: 30 }
    );
    assert!(registry_after.key(&keys.deleted).is_none());
    assert!(registry_after.alias("alias/four").is_none());
    assert!(registry_after.alias("alias/gone").is_none());
    assert_eq!(registry_after.alias("alias/moved").map(|a| a.key_id), Some(keys.disabled));
    assert_eq!(node.sm.applied_state().await.unwrap(), applied_before);
}

#[tokio::test]
async fn a_reopened_state_machine_keeps_applying_like_one_that_never_stopped() {
    let (entries, keys) = scenario();
    let mut restarted = Node::new();
    let mut steady = Node::new();
    restarted.apply_entries(entries.clone()).await;
    steady.apply_entries(entries).await;

    let mut restarted = restarted.reopen();
    let later = key_id();
    let more = [
        request(T0 + 30 * DAY_MS, create_key(later)),
        request(T0 + 30 * DAY_MS, Command::EnableKey { key_id: keys.disabled }),
        request(T0 + 30 * DAY_MS, Command::DeleteExpiredKey { key_id: keys.pending }),
    ];
    for node in [&mut restarted, &mut steady] {
        for request in &more {
            node.apply(request.clone()).await.unwrap();
        }
    }
    assert_eq!(contents(&restarted.registry()), contents(&steady.registry()));
    assert_eq!(restarted.sm.applied_state().await.unwrap(), steady.sm.applied_state().await.unwrap());

    let mut restarted = restarted.reopen();
    assert_eq!(contents(&restarted.registry()), contents(&steady.registry()));
    assert_eq!(restarted.sm.applied_state().await.unwrap(), steady.sm.applied_state().await.unwrap());
}

#[tokio::test]
async fn empty_storage_reopens_empty() {
    let node = Node::new();
    let mut node = node.reopen();
    assert_eq!(node.registry().key_count(), 0);
    let (applied, membership) = node.sm.applied_state().await.unwrap();
    assert_eq!(applied, None);
    assert_eq!(membership, Default::default());
    assert!(node.sm.get_current_snapshot().await.unwrap().is_none());
}
