//! Batched log entries: one entry carries several requests, which apply one after another, in
//! order, each with its own result and its own dedup record, exactly as if each had its own entry.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use common::{
    applied_key, batch, blank, contents, create_key, key_id, membership, new_key, rejection_code, request,
    request_id, Node, T0,
};
use openraft::storage::RaftStateMachine;
use trent_storage::{Applied, Command, KeyId, KeyLifecycle, Request};
use trent_wire::ErrorCode;

fn create_alias(alias: &str, key_id: KeyId) -> Command {
    Command::CreateAlias { alias: alias.to_owned(), key_id }
}

fn tag(key: &str, value: &str) -> (String, String) {
    (key.to_owned(), value.to_owned())
}

#[tokio::test]
async fn requests_in_one_entry_apply_in_order_with_one_result_each() {
    let mut node = Node::new();
    let id = key_id();
    let requests = vec![
        request(T0, create_key(id)),
        request(T0 + 1, create_alias("alias/app", id)),
        request(T0 + 2, Command::TagKey { key_id: id, tags: vec![tag("env", "prod")] }),
        request(T0 + 3, Command::DisableKey { key_id: id }),
    ];

    let results = node.apply_batch(requests.clone()).await;

    assert_eq!(results.len(), 4);
    // Each result is the state right after its own request, not after the whole batch.
    let created = applied_key(&results[0]);
    assert_eq!(created.key_id, id);
    assert_eq!(created.lifecycle, KeyLifecycle::Enabled);
    assert!(created.tags.is_empty());
    assert_eq!(results[1], Ok(Applied::Done));
    let tagged = applied_key(&results[2]);
    assert_eq!(tagged.tags["env"], "prod");
    assert_eq!(tagged.lifecycle, KeyLifecycle::Enabled);
    let disabled = applied_key(&results[3]);
    assert_eq!(disabled.lifecycle, KeyLifecycle::Disabled);
    assert_eq!(node.key(id), disabled);

    let registry = node.registry();
    let alias = registry.alias("alias/app").expect("alias created in the same batch");
    assert_eq!((alias.key_id, alias.created_at_ms), (id, T0 + 1));
    // One dedup record per request, each at its own position of entry 1.
    for (position, (request, result)) in requests.iter().zip(&results).enumerate() {
        let record = registry.dedup_records().find(|(rid, _)| **rid == request.request_id).unwrap().1;
        assert_eq!((record.log_index, record.position as usize), (1, position));
        assert_eq!(record.issued_at_ms, request.issued_at_ms);
        assert_eq!(
            record.fingerprint,
            request.command.fingerprint_at(0),
            "a fresh registry is at feature level 0"
        );
        assert_eq!(record.outcome, trent_storage::DedupOutcome::of(result));
    }
}

#[tokio::test]
async fn a_request_sees_what_earlier_requests_of_its_batch_did_and_not_later_ones() {
    let mut node = Node::new();
    let id = key_id();

    // The alias comes first, so its key does not exist yet.
    let results = node
        .apply_batch(vec![request(T0, create_alias("alias/early", id)), request(T0, create_key(id))])
        .await;

    assert_eq!(rejection_code(&results[0]), ErrorCode::NotFound);
    assert_eq!(applied_key(&results[1]).key_id, id);
    assert!(node.registry().alias("alias/early").is_none());
    assert_eq!(node.registry().key_count(), 1);
}

#[tokio::test]
async fn a_failing_request_in_the_middle_does_not_affect_its_neighbours() {
    let mut node = Node::new();
    let id = key_id();
    let too_many_tags = (0..=trent_storage::MAX_TAGS_PER_KEY).map(|i| tag(&format!("t{i}"), "v")).collect();
    let requests = vec![
        request(T0, create_key(id)),
        // Refused as a whole: none of its tags lands.
        request(T0, Command::TagKey { key_id: id, tags: too_many_tags }),
        request(T0, create_alias("alias/app", id)),
        request(T0, Command::EnableKey { key_id: key_id() }),
        request(T0, Command::TagKey { key_id: id, tags: vec![tag("env", "prod")] }),
    ];

    let results = node.apply_batch(requests.clone()).await;

    assert_eq!(applied_key(&results[0]).key_id, id);
    assert_eq!(rejection_code(&results[1]), ErrorCode::LimitExceeded);
    assert_eq!(results[2], Ok(Applied::Done));
    assert_eq!(rejection_code(&results[3]), ErrorCode::NotFound);
    let tagged = applied_key(&results[4]);
    assert_eq!(tagged.tags.len(), 1);
    assert_eq!(node.key(id), tagged);
    assert_eq!(node.registry().alias("alias/app").map(|a| a.key_id), Some(id));

    // The refusals are remembered like the successes (a key write by the key it wrote, whose
    // current record a retry gets), and all of it is on disk.
    let before = node.registry();
    for (request, result) in requests.iter().zip(&results) {
        let remembered = before.dedup_records().find(|(id, _)| **id == request.request_id).map(|(_, r)| r);
        assert_eq!(
            remembered.map(|record| record.outcome.clone()),
            Some(trent_storage::DedupOutcome::of(result))
        );
    }
    assert_eq!(before.dedup_result(&requests[0].request_id), Some(Ok(Applied::Key(Box::new(tagged)))));
    let node = node.reopen();
    assert_eq!(node.registry(), before);
}

#[tokio::test]
async fn one_batch_result_per_entry_and_none_for_blank_membership_and_empty_entries() {
    let mut node = Node::new();
    let id = key_id();
    let entries = vec![
        blank(1),
        batch(2, vec![request(T0, create_key(id)), request(T0, Command::DisableKey { key_id: id })]),
        membership(3, &[1, 2]),
        batch(4, Vec::new()),
        batch(5, vec![request(T0, Command::EnableKey { key_id: id })]),
        blank(6),
    ];

    let results = node.apply_entries(entries).await;

    let shape: Vec<usize> = results.iter().map(Vec::len).collect();
    assert_eq!(shape, vec![0, 2, 0, 0, 1, 0]);
    assert_eq!(applied_key(&results[1][1]).lifecycle, KeyLifecycle::Disabled);
    assert_eq!(applied_key(&results[4][0]).lifecycle, KeyLifecycle::Enabled);
    let (applied, membership) = node.sm.applied_state().await.unwrap();
    assert_eq!(applied, Some(common::log_id(6)));
    assert_eq!(membership.log_id(), &Some(common::log_id(3)));
}

#[tokio::test]
async fn a_batch_and_the_same_requests_in_separate_entries_reach_the_same_state() {
    let (a, b) = (key_id(), key_id());
    let requests = vec![
        request(T0, create_key(a)),
        request(T0, create_key(b)),
        request(T0 + 1, create_alias("alias/a", a)),
        request(T0 + 2, Command::UpdateAlias { alias: "alias/a".to_owned(), key_id: b }),
        request(T0 + 3, Command::ScheduleKeyDeletion { key_id: a, window_days: 7 }),
        request(T0 + 4, create_alias("alias/late", a)),
        request(T0 + 5, Command::DeleteAlias { alias: "alias/a".to_owned() }),
    ];

    let mut batched = Node::new();
    let batched_results = batched.apply_batch(requests.clone()).await;
    let mut separate = Node::new();
    let mut separate_results = Vec::new();
    for request in &requests {
        separate_results.push(separate.apply(request.clone()).await);
    }

    assert_eq!(batched_results, separate_results);
    assert_eq!(rejection_code(&batched_results[5]), ErrorCode::InvalidState);
    let (batched, separate) = (contents(&batched.registry()), contents(&separate.registry()));
    assert_eq!(batched.keys, separate.keys);
    assert_eq!(batched.aliases, separate.aliases);
    // Only where each request sits differs: entry 1 at positions 0.. against entries 1.. at 0.
    let places = |rows: &[common::DedupRow]| {
        let mut places: Vec<(u64, u32)> = rows.iter().map(|row| (row.log_index, row.position)).collect();
        places.sort_unstable();
        places
    };
    assert_eq!(places(&batched.dedup), (0..7).map(|p| (1, p)).collect::<Vec<_>>());
    assert_eq!(places(&separate.dedup), (1..=7).map(|i| (i, 0)).collect::<Vec<_>>());
}

#[tokio::test]
async fn the_same_request_twice_in_one_batch_applies_once() {
    let mut node = Node::new();
    let id = key_id();
    node.run(T0, create_key(id)).await.unwrap();
    let disable = request(T0, Command::DisableKey { key_id: id });
    let requests = vec![disable.clone(), request(T0, Command::EnableKey { key_id: id }), disable.clone()];

    let results = node.apply_batch(requests).await;

    // The repeat answers with the key as it now is and does not disable it again.
    assert_eq!(applied_key(&results[0]).lifecycle, KeyLifecycle::Disabled);
    assert_eq!(applied_key(&results[2]).lifecycle, KeyLifecycle::Enabled);
    assert_eq!(node.key(id).lifecycle, KeyLifecycle::Enabled);
    let registry = node.registry();
    let record = registry.dedup_records().find(|(rid, _)| **rid == disable.request_id).unwrap().1;
    assert_eq!((record.log_index, record.position), (2, 0));
    assert_eq!(registry.dedup_records().count(), 3);
}

#[tokio::test]
async fn a_create_key_repeated_in_one_batch_with_another_key_id_creates_one_key() {
    let mut node = Node::new();
    let id = request_id();
    let (first_key, second_key) = (key_id(), key_id());
    let requests = vec![
        Request { request_id: id, issued_at_ms: T0, command: create_key(first_key) },
        Request { request_id: id, issued_at_ms: T0, command: create_key(second_key) },
    ];

    let results = node.apply_batch(requests).await;

    assert_eq!(applied_key(&results[0]).key_id, first_key);
    assert_eq!(results[1], results[0]);
    let registry = node.registry();
    assert_eq!(registry.key_count(), 1);
    assert!(registry.key(&second_key).is_none());
    assert_eq!(registry.dedup_records().count(), 1);
}

#[tokio::test]
async fn a_request_id_reused_in_one_batch_for_another_command_is_refused() {
    let mut node = Node::new();
    let key = key_id();
    node.run(T0, create_key(key)).await.unwrap();
    let id = request_id();
    let requests = vec![
        Request { request_id: id, issued_at_ms: T0, command: create_alias("alias/app", key) },
        Request {
            request_id: id,
            issued_at_ms: T0,
            command: Command::DeleteAlias { alias: "alias/app".to_owned() },
        },
        request(T0, Command::DisableKey { key_id: key }),
    ];

    let results = node.apply_batch(requests).await;

    assert_eq!(results[0], Ok(Applied::Done));
    assert_eq!(rejection_code(&results[1]), ErrorCode::Validation);
    assert_eq!(applied_key(&results[2]).lifecycle, KeyLifecycle::Disabled);
    let registry = node.registry();
    assert_eq!(registry.alias("alias/app").map(|a| a.key_id), Some(key));
    assert_eq!(registry.dedup_result(&id), Some(results[0].clone()));
}

#[tokio::test]
async fn a_batch_of_creates_fills_the_registry_in_order_and_survives_reopen() {
    let mut node = Node::new();
    let keys: Vec<KeyId> = (0..200).map(|_| key_id()).collect();
    let requests = keys
        .iter()
        .enumerate()
        .map(|(n, id)| {
            let mut key = new_key(*id);
            key.draft.description = format!("key number {n}");
            request(T0 + n as u64, Command::CreateKey(key))
        })
        .collect();

    let results = node.apply_batch(requests).await;

    assert_eq!(results.len(), keys.len());
    for (n, (id, result)) in keys.iter().zip(&results).enumerate() {
        let created = applied_key(result);
        assert_eq!((created.key_id, created.created_at_ms), (*id, T0 + n as u64));
    }
    let before = node.registry();
    assert_eq!(before.key_count(), keys.len());
    let node = node.reopen();
    assert_eq!(node.registry(), before);
}

#[tokio::test]
async fn the_scenario_retries_reuses_and_repeats_requests_as_it_says() {
    let (entries, keys) = common::scenario();
    let mut node = Node::new();
    let results = node.apply_entries(entries.clone()).await;

    // Entry 14 carries the re-stamped retry of the first create, the second create's id reused
    // for another command, and one request twice.
    let retries = &results[13];
    assert_eq!(common::requests_of(&entries[13]).len(), 4);
    assert_eq!(retries[0], results[2][0]);
    assert_eq!(applied_key(&retries[0]).key_id, keys.enabled);
    assert_eq!(rejection_code(&retries[1]), ErrorCode::Validation);
    assert_eq!(retries[3], retries[2]);
    assert!(results.iter().any(|batch| batch.len() > 3));
    assert_eq!(node.key(keys.enabled).lifecycle, KeyLifecycle::Enabled);
}
