//! Request deduplication: a request id applied twice applies once and answers the first result,
//! for as long as the id is remembered.

mod common;

use common::{applied_key, create_key, key_id, normal, rejection_code, request, request_id, Node, T0};
use openraft::storage::RaftStateMachine;
use trent_storage::{Command, Request, DEDUP_WINDOW_MS, MAX_DEDUP_ENTRIES};
use trent_wire::ErrorCode;

#[tokio::test]
async fn a_repeated_request_id_returns_the_first_result_and_applies_once() {
    let mut node = Node::new();
    let id = request_id();
    let (first_key, second_key) = (key_id(), key_id());

    let first =
        node.apply(Request { request_id: id, issued_at_ms: T0, command: create_key(first_key) }).await;
    let second =
        node.apply(Request { request_id: id, issued_at_ms: T0 + 1, command: create_key(second_key) }).await;

    assert_eq!(applied_key(&first).key_id, first_key);
    assert_eq!(second, first);
    let registry = node.registry();
    assert_eq!(registry.key_count(), 1);
    assert!(registry.key(&first_key).is_some());
    assert!(registry.key(&second_key).is_none());
    assert_eq!(registry.dedup_result(&id), Some(&first));
}

#[tokio::test]
async fn a_retry_returns_the_original_result_even_when_state_has_moved_on() {
    let mut node = Node::new();
    let key = key_id();
    node.run(T0, create_key(key)).await.unwrap();
    let disable =
        Request { request_id: request_id(), issued_at_ms: T0, command: Command::DisableKey { key_id: key } };

    let first = node.apply(disable.clone()).await;
    node.run(T0 + 1, Command::EnableKey { key_id: key }).await.unwrap();
    let retry = node.apply(disable).await;

    // The retry answers "disabled" but must not disable the key again.
    assert_eq!(retry, first);
    assert_eq!(node.key(key).lifecycle, trent_storage::KeyLifecycle::Enabled);
}

#[tokio::test]
async fn a_rejected_request_is_remembered_too() {
    let mut node = Node::new();
    let key = key_id();
    let alias = Request {
        request_id: request_id(),
        issued_at_ms: T0,
        command: Command::CreateAlias { alias: "alias/app".to_owned(), key_id: key },
    };

    let first = node.apply(alias.clone()).await;
    assert_eq!(rejection_code(&first), ErrorCode::NotFound);
    node.run(T0 + 1, create_key(key)).await.unwrap();
    let retry = node.apply(alias).await;

    assert_eq!(retry, first);
    assert!(node.registry().alias("alias/app").is_none());
}

#[tokio::test]
async fn duplicates_inside_one_apply_batch_apply_once() {
    let mut node = Node::new();
    let id = request_id();
    let (first_key, second_key) = (key_id(), key_id());
    let entries = vec![
        normal(1, Request { request_id: id, issued_at_ms: T0, command: create_key(first_key) }),
        normal(2, Request { request_id: id, issued_at_ms: T0, command: create_key(second_key) }),
    ];

    let results = node.apply_entries(entries).await;

    assert_eq!(results[0], results[1]);
    assert_eq!(node.registry().key_count(), 1);
    assert_eq!(node.sm.applied_state().await.unwrap().0, Some(common::log_id(2)));

    // And after a restart the batch's dedup row is on disk.
    let node = node.reopen();
    assert_eq!(node.registry().dedup_result(&id), Some(&results[0]));
}

#[tokio::test]
async fn dedup_survives_reopen() {
    let mut node = Node::new();
    let id = request_id();
    let first_key = key_id();
    let first =
        node.apply(Request { request_id: id, issued_at_ms: T0, command: create_key(first_key) }).await;

    let mut node = node.reopen();
    let retry =
        node.apply(Request { request_id: id, issued_at_ms: T0 + 1, command: create_key(key_id()) }).await;

    assert_eq!(retry, first);
    assert_eq!(node.registry().key_count(), 1);
}

#[tokio::test]
async fn a_request_id_is_forgotten_once_a_later_write_is_past_the_window() {
    let mut node = Node::new();
    let id = request_id();
    let (first_key, second_key) = (key_id(), key_id());
    node.apply(Request { request_id: id, issued_at_ms: T0, command: create_key(first_key) }).await.unwrap();

    // A write exactly at the window's end keeps it.
    node.run(T0 + DEDUP_WINDOW_MS, Command::DeleteAlias { alias: "alias/none".to_owned() })
        .await
        .unwrap_err();
    assert!(node.registry().dedup_result(&id).is_some());

    // One past the window evicts it.
    node.run(T0 + DEDUP_WINDOW_MS + 1, Command::DeleteAlias { alias: "alias/none".to_owned() })
        .await
        .unwrap_err();
    assert!(node.registry().dedup_result(&id).is_none());
    assert!(node.registry().dedup_records().all(|(request, _)| *request != id));

    // The eviction is durable.
    let mut node = node.reopen();
    assert!(node.registry().dedup_result(&id).is_none());

    // Now the same id is a new request and applies.
    let again =
        Request { request_id: id, issued_at_ms: T0 + DEDUP_WINDOW_MS + 2, command: create_key(second_key) };
    assert_eq!(applied_key(&node.apply(again).await).key_id, second_key);
    assert_eq!(node.registry().key_count(), 2);
}

#[tokio::test]
async fn eviction_keeps_ids_still_inside_the_window() {
    let mut node = Node::new();
    let old = request(T0, create_key(key_id()));
    let recent = request(T0 + DEDUP_WINDOW_MS / 2, create_key(key_id()));
    node.apply(old.clone()).await.unwrap();
    node.apply(recent.clone()).await.unwrap();

    node.run(T0 + DEDUP_WINDOW_MS + 1, Command::DeleteAlias { alias: "alias/none".to_owned() })
        .await
        .unwrap_err();

    let registry = node.registry();
    assert!(registry.dedup_result(&old.request_id).is_none());
    assert!(registry.dedup_result(&recent.request_id).is_some());
}

#[tokio::test]
async fn at_most_max_dedup_entries_are_remembered_oldest_first() {
    let mut node = Node::new();
    // Cheap rejected commands, all inside the window; one entry more than the cap.
    let requests: Vec<Request> = (0..=MAX_DEDUP_ENTRIES)
        .map(|_| request(T0, Command::DeleteAlias { alias: "alias/none".to_owned() }))
        .collect();
    let entries = requests.iter().enumerate().map(|(i, r)| normal(i as u64 + 1, r.clone())).collect();
    node.apply_entries(entries).await;

    let registry = node.registry();
    assert_eq!(registry.dedup_records().count(), MAX_DEDUP_ENTRIES);
    assert!(registry.dedup_result(&requests[0].request_id).is_none());
    assert!(registry.dedup_result(&requests[1].request_id).is_some());
    assert!(registry.dedup_result(&requests[MAX_DEDUP_ENTRIES].request_id).is_some());
}
