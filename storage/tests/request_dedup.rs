//! Request deduplication: a request id applied twice applies once and answers the first result,
//! for as long as the id is remembered; reused for a different request, it is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use common::{
    applied_key, batch, create_key, key_id, new_key, normal, rejection_code, request, request_id, Node, T0,
};
use openraft::storage::RaftStateMachine;
use trent_storage::{Command, NewKey, Request, RequestId, DEDUP_WINDOW_MS, MAX_DEDUP_ENTRIES};
use trent_wire::ErrorCode;
use uuid::Uuid;

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
    assert_eq!(registry.dedup_result(&id), Some(first.clone()));
}

#[tokio::test]
async fn a_retry_applies_nothing_and_answers_with_the_key_as_it_now_is() {
    let mut node = Node::new();
    let key = key_id();
    node.run(T0, create_key(key)).await.unwrap();
    let disable =
        Request { request_id: request_id(), issued_at_ms: T0, command: Command::DisableKey { key_id: key } };

    let first = node.apply(disable.clone()).await;
    node.run(T0 + 1, Command::EnableKey { key_id: key }).await.unwrap();
    let retry = node.apply(disable).await;

    // The retry must not disable the key again; it reports the key's current state.
    assert_eq!(applied_key(&first).lifecycle, trent_storage::KeyLifecycle::Disabled);
    assert_eq!(applied_key(&retry).lifecycle, trent_storage::KeyLifecycle::Enabled);
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
    assert_eq!(node.registry().dedup_result(&id), Some(results[0][0].clone()));
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

#[tokio::test]
async fn a_reused_request_id_for_a_different_command_is_refused_and_changes_nothing() {
    let mut node = Node::new();
    let key = key_id();
    let id = request_id();
    let first = node.apply(Request { request_id: id, issued_at_ms: T0, command: create_key(key) }).await;
    node.run(T0, Command::CreateAlias { alias: "alias/app".to_owned(), key_id: key }).await.unwrap();
    let before = node.registry();

    let mut other_draft = new_key(key_id());
    other_draft.draft.description = "another key".to_owned();
    let reuses = [
        Command::DisableKey { key_id: key },
        Command::DeleteAlias { alias: "alias/app".to_owned() },
        Command::CreateKey(other_draft),
    ];
    for (n, command) in reuses.into_iter().enumerate() {
        let name = command.name();
        // Even long past the window: a refused request evicts nothing either.
        let issued_at_ms = T0 + n as u64 * 2 * DEDUP_WINDOW_MS;
        let refused = node.apply(Request { request_id: id, issued_at_ms, command }).await;
        assert_eq!(rejection_code(&refused), ErrorCode::Validation, "{name}");
        assert_eq!(node.registry(), before, "{name}");
    }

    // The id still belongs to the first request: its retry gets the first result.
    let retry =
        node.apply(Request { request_id: id, issued_at_ms: T0 + 1, command: create_key(key_id()) }).await;
    assert_eq!(retry, first);
    let node = node.reopen();
    assert_eq!(node.registry(), before);
}

#[tokio::test]
async fn a_reused_request_id_of_a_rejected_request_for_a_different_command_is_refused() {
    let mut node = Node::new();
    let key = key_id();
    let id = request_id();
    let first = node
        .apply(Request { request_id: id, issued_at_ms: T0, command: Command::EnableKey { key_id: key } })
        .await;
    assert_eq!(rejection_code(&first), ErrorCode::NotFound);

    let reused = node.apply(Request { request_id: id, issued_at_ms: T0, command: create_key(key) }).await;

    assert_eq!(rejection_code(&reused), ErrorCode::Validation);
    assert_eq!(node.registry().key_count(), 0);
    assert_eq!(node.registry().dedup_result(&id), Some(first.clone()));
}

#[tokio::test]
async fn a_create_key_retry_restamped_with_another_key_id_returns_the_first_result() {
    let mut node = Node::new();
    let id = request_id();
    let mut draft = new_key(key_id());
    draft.draft.description = "payments".to_owned();
    draft.draft.tags = vec![("team".to_owned(), "pay".to_owned())];
    let first = node
        .apply(Request { request_id: id, issued_at_ms: T0, command: Command::CreateKey(draft.clone()) })
        .await;
    let first_key = applied_key(&first).key_id;

    // What a leader does with a retry: the same draft under a key id of its own choosing, later.
    let restamped =
        NewKey { key_id: key_id(), draft: draft.draft.clone(), material: common::sealed_material() };
    let retry = node
        .apply(Request {
            request_id: id,
            issued_at_ms: T0 + 5_000,
            command: Command::CreateKey(restamped.clone()),
        })
        .await;

    assert_eq!(retry, first);
    let registry = node.registry();
    assert_eq!(registry.key_count(), 1);
    assert!(registry.key(&first_key).is_some());
    assert!(registry.key(&restamped.key_id).is_none());

    // A retry whose draft differs is not a retry.
    let mut changed = NewKey { key_id: key_id(), draft: draft.draft, material: common::sealed_material() };
    changed.draft.tags.clear();
    let refused = node
        .apply(Request { request_id: id, issued_at_ms: T0 + 6_000, command: Command::CreateKey(changed) })
        .await;
    assert_eq!(rejection_code(&refused), ErrorCode::Validation);
    assert_eq!(node.registry().key_count(), 1);
}

#[test]
fn a_fingerprint_covers_what_the_caller_asked_for_and_not_the_leader_picked_key_id() {
    // Both fingerprints: the canonical one (feature level 1) and the legacy one before it.
    for level in [0, 1] {
        fingerprints_cover_what_the_caller_asked_for(|command: &Command| command.fingerprint_at(level));
    }
}

fn fingerprints_cover_what_the_caller_asked_for(fingerprint: impl Fn(&Command) -> u64) {
    let key = key_id();
    let base = new_key(key);

    assert_eq!(fingerprint(&create_key(key)), fingerprint(&create_key(key_id())));
    assert_eq!(fingerprint(&create_key(key)), fingerprint(&create_key(key).clone()));
    let mut described = base.clone();
    described.draft.description = "other".to_owned();
    let mut tagged = base.clone();
    tagged.draft.tags = vec![("a".to_owned(), "b".to_owned())];
    let mut signing = base.clone();
    signing.draft.spec = trent_wire::model::KeySpec::EccNistP256;
    signing.draft.usage = trent_wire::model::KeyUsage::SignVerify;
    let others = [
        Command::CreateKey(described),
        Command::CreateKey(tagged),
        Command::CreateKey(signing),
        Command::EnableKey { key_id: key },
        Command::EnableKey { key_id: key_id() },
        Command::DisableKey { key_id: key },
        Command::TagKey { key_id: key, tags: Vec::new() },
        Command::UntagKey { key_id: key, tag_keys: Vec::new() },
    ];
    let mut all: Vec<u64> = others.iter().map(&fingerprint).collect();
    all.push(fingerprint(&Command::CreateKey(base)));
    let distinct: std::collections::BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "{all:?}");
}

#[tokio::test]
async fn eviction_by_the_cap_follows_log_index_then_position_and_survives_reopen() {
    let mut node = Node::new();
    let half = MAX_DEDUP_ENTRIES / 2;
    let rejected = |n: u128, issued_at_ms| Request {
        request_id: RequestId(Uuid::from_u128(0xe71c_0000_0000_4000_8000_0000_0000_0000 + n)),
        issued_at_ms,
        command: Command::DeleteAlias { alias: "alias/none".to_owned() },
    };
    // The first half: request ids descending and the later timestamp, so neither id order nor
    // time order is the log order. The second half: ids ascending, earlier timestamp. Together:
    // exactly the cap, in entries of at most MAX_REQUESTS_PER_ENTRY (entry 1 starts the first
    // half, entry `second_entry` the second).
    let first: Vec<Request> = (0..half).map(|i| rejected((2 * half - i) as u128, T0 + 1)).collect();
    let second: Vec<Request> = (0..half).map(|i| rejected((3 * half + i) as u128, T0)).collect();
    let per_entry = 1000;
    let entries: Vec<_> = first
        .chunks(per_entry)
        .chain(second.chunks(per_entry))
        .zip(1u64..)
        .map(|(requests, index)| batch(index, requests.to_vec()))
        .collect();
    let second_entry = (half / per_entry) as u64 + 1;
    node.apply_entries(entries).await;
    assert_eq!(node.registry().dedup_records().count(), MAX_DEDUP_ENTRIES);

    // Two more requests in entry 3 push out (1, 0) and then (1, 1).
    let third = vec![request(T0 + 1, create_key(key_id())), request(T0 + 1, create_key(key_id()))];
    node.apply_batch(third.clone()).await;
    let remembered =
        |node: &Node, request: &Request| node.registry().dedup_result(&request.request_id).is_some();
    assert_eq!(node.registry().dedup_records().count(), MAX_DEDUP_ENTRIES);
    assert!(!remembered(&node, &first[0]));
    assert!(!remembered(&node, &first[1]));
    assert!(remembered(&node, &first[2]));
    assert!(
        remembered(&node, &second[0]),
        "position 0 of a later entry outlives later positions of an earlier one"
    );
    assert!(third.iter().all(|request| remembered(&node, request)));

    // The order is rebuilt from the stored rows: the next write pushes out (1, 2).
    let before = node.registry();
    let mut node = node.reopen();
    assert_eq!(node.registry(), before);
    node.run(T0 + 2, Command::DeleteAlias { alias: "alias/none".to_owned() }).await.unwrap_err();
    assert!(!remembered(&node, &first[2]));
    assert!(remembered(&node, &first[3]));
    assert!(remembered(&node, &second[0]));
    let record =
        node.registry().dedup_records().find(|(id, _)| **id == second[7].request_id).unwrap().1.clone();
    assert_eq!((record.log_index, record.position, record.issued_at_ms), (second_entry, 7, T0));
}
