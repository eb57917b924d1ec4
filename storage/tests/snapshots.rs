//! Snapshots: a snapshot built on one node installs the identical state on another, and the
//! current snapshot is kept across restarts.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use std::io::Cursor;

use common::{batch, contents, create_key, key_id, request, scenario, Node, DAY_MS, T0};
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::RaftSnapshotBuilder;
use trent_storage::{Command, Request, TypeConfig, DEDUP_WINDOW_MS};

async fn build_snapshot(node: &mut Node) -> Snapshot<TypeConfig> {
    let mut builder = node.sm.get_snapshot_builder().await;
    builder.build_snapshot().await.expect("build snapshot")
}

/// Ships `snapshot` to `node` the way openraft does: into the buffer it hands out, then install.
async fn install(node: &mut Node, snapshot: &Snapshot<TypeConfig>) {
    let mut buffer = node.sm.begin_receiving_snapshot().await.expect("begin receiving");
    buffer.get_mut().extend_from_slice(snapshot.snapshot.get_ref());
    node.sm.install_snapshot(&snapshot.meta, buffer).await.expect("install snapshot");
}

#[tokio::test]
async fn a_snapshot_installs_the_identical_state_on_a_fresh_node() {
    let mut leader = Node::new();
    let (entries, keys) = scenario();
    let last = entries.last().unwrap().log_id;
    leader.apply_entries(entries).await;

    let snapshot = build_snapshot(&mut leader).await;
    assert_eq!(snapshot.meta.last_log_id, Some(last));
    let (applied, membership) = leader.sm.applied_state().await.unwrap();
    assert_eq!(snapshot.meta.last_membership, membership);

    let mut follower = Node::new();
    install(&mut follower, &snapshot).await;

    assert_eq!(contents(&follower.registry()), contents(&leader.registry()));
    assert_eq!(follower.registry(), leader.registry());
    assert_eq!(follower.sm.applied_state().await.unwrap(), (applied, membership));
    assert_eq!(follower.registry().keys_due_for_deletion(u64::MAX, 10), vec![keys.pending]);

    let current = follower.sm.get_current_snapshot().await.unwrap().expect("installed snapshot is current");
    assert_eq!(current.meta, snapshot.meta);
    assert_eq!(current.snapshot.get_ref(), snapshot.snapshot.get_ref());
}

#[tokio::test]
async fn the_current_snapshot_and_installed_state_survive_reopen() {
    let mut leader = Node::new();
    leader.apply_entries(scenario().0).await;
    let snapshot = build_snapshot(&mut leader).await;
    let mut follower = Node::new();
    install(&mut follower, &snapshot).await;

    let mut leader = leader.reopen();
    let mut follower = follower.reopen();

    for node in [&mut leader, &mut follower] {
        let current = node.sm.get_current_snapshot().await.unwrap().expect("snapshot after reopen");
        assert_eq!(current.meta, snapshot.meta);
        assert_eq!(current.snapshot.get_ref(), snapshot.snapshot.get_ref());
        assert_eq!(current.snapshot.position(), 0, "a snapshot is read from its start");
    }
    assert_eq!(contents(&follower.registry()), contents(&leader.registry()));
    assert_eq!(follower.sm.applied_state().await.unwrap(), leader.sm.applied_state().await.unwrap());
}

#[tokio::test]
async fn get_current_snapshot_returns_the_latest_built() {
    let mut node = Node::new();
    assert!(node.sm.get_current_snapshot().await.unwrap().is_none());
    node.run(T0, create_key(key_id())).await.unwrap();
    let first = build_snapshot(&mut node).await;
    node.run(T0, create_key(key_id())).await.unwrap();
    let second = build_snapshot(&mut node).await;

    assert_ne!(first.meta.snapshot_id, second.meta.snapshot_id);
    let current = node.sm.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(current.meta, second.meta);
}

#[tokio::test]
async fn installing_a_snapshot_replaces_all_existing_state() {
    let mut leader = Node::new();
    leader.apply_entries(scenario().0).await;
    let snapshot = build_snapshot(&mut leader).await;

    // The follower has diverging state of its own, at lower indexes.
    let mut follower = Node::new();
    let stray = key_id();
    follower.run(T0, create_key(stray)).await.unwrap();
    follower.run(T0, Command::CreateAlias { alias: "alias/stray".to_owned(), key_id: stray }).await.unwrap();

    install(&mut follower, &snapshot).await;

    assert!(follower.registry().key(&stray).is_none());
    assert!(follower.registry().alias("alias/stray").is_none());
    assert_eq!(contents(&follower.registry()), contents(&leader.registry()));

    // The stray rows are gone from disk, not just from memory.
    let follower = follower.reopen();
    assert!(follower.registry().key(&stray).is_none());
    assert_eq!(contents(&follower.registry()), contents(&leader.registry()));
}

#[tokio::test]
async fn a_node_installed_from_a_snapshot_applies_like_the_leader() {
    let mut leader = Node::new();
    let (entries, keys) = scenario();
    leader.apply_entries(entries).await;
    let snapshot = build_snapshot(&mut leader).await;
    let mut follower = Node::new();
    install(&mut follower, &snapshot).await;

    let create = request(T0 + 40 * DAY_MS, create_key(key_id()));
    let more = [
        create.clone(),
        request(T0 + 40 * DAY_MS, Command::DeleteExpiredKey { key_id: keys.pending }),
        // The retry is answered from the dedup rows the snapshot carried.
        create,
    ];
    let next_index = snapshot.meta.last_log_id.unwrap().index + 1;
    let mut results = Vec::new();
    for node in [&mut leader, &mut follower] {
        let batch =
            more.iter().enumerate().map(|(i, r)| common::normal(next_index + i as u64, r.clone())).collect();
        results.push(node.apply_entries(batch).await);
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0][0], results[0][2]);
    assert_eq!(contents(&follower.registry()), contents(&leader.registry()));
    assert_eq!(follower.sm.applied_state().await.unwrap(), leader.sm.applied_state().await.unwrap());
}

#[tokio::test]
async fn a_snapshot_builder_captures_the_state_when_it_was_made() {
    let mut node = Node::new();
    let early = key_id();
    node.run(T0, create_key(early)).await.unwrap();
    let (applied_then, _) = node.sm.applied_state().await.unwrap();
    let mut builder = node.sm.get_snapshot_builder().await;
    node.run(T0, create_key(key_id())).await.unwrap();

    let snapshot = builder.build_snapshot().await.unwrap();

    assert_eq!(snapshot.meta.last_log_id, applied_then);
    let mut other = Node::new();
    install(&mut other, &snapshot).await;
    assert_eq!(other.registry().key_count(), 1);
    assert!(other.registry().key(&early).is_some());
}

#[tokio::test]
async fn an_empty_state_machine_builds_an_installable_snapshot() {
    let mut node = Node::new();
    let snapshot = build_snapshot(&mut node).await;
    assert_eq!(snapshot.meta.last_log_id, None);

    let mut other = Node::new();
    install(&mut other, &snapshot).await;
    assert_eq!(other.registry().key_count(), 0);
    assert_eq!(other.sm.applied_state().await.unwrap().0, None);
}

#[tokio::test]
async fn a_corrupt_snapshot_is_refused_and_leaves_state_alone() {
    let mut leader = Node::new();
    leader.run(T0, create_key(key_id())).await.unwrap();
    let snapshot = build_snapshot(&mut leader).await;

    let mut follower = Node::new();
    let own = key_id();
    follower.run(T0, create_key(own)).await.unwrap();
    let applied_before = follower.sm.applied_state().await.unwrap();
    let mut data = snapshot.snapshot.get_ref().clone();
    data.truncate(data.len() / 2);

    let result = follower.sm.install_snapshot(&snapshot.meta, Box::new(Cursor::new(data))).await;

    assert!(result.is_err());
    assert!(follower.registry().key(&own).is_some());
    assert_eq!(follower.sm.applied_state().await.unwrap(), applied_before);
    assert!(follower.sm.get_current_snapshot().await.unwrap().is_none());
}

#[tokio::test]
async fn a_snapshot_built_from_older_state_does_not_replace_a_newer_installed_one() {
    // openraft 0.9 runs `build_snapshot` in a spawned task, so a snapshot of older state can
    // finish after the state machine installed a newer snapshot from the leader.
    let mut leader = Node::new();
    leader.apply_entries(scenario().0).await;
    let newer = build_snapshot(&mut leader).await;

    let mut follower = Node::new();
    follower.run(T0, create_key(key_id())).await.unwrap();
    let mut stale_builder = follower.sm.get_snapshot_builder().await;
    install(&mut follower, &newer).await;
    let stale = stale_builder.build_snapshot().await.unwrap();
    assert!(stale.meta.last_log_id < newer.meta.last_log_id);

    let current = follower.sm.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(current.meta, newer.meta);
    drop(stale_builder);
    let mut follower = follower.reopen();
    let current = follower.sm.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(current.meta, newer.meta);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_build_and_install_leave_a_whole_current_snapshot() {
    // Big enough that writing a snapshot file takes a while.
    let mut leader = Node::new();
    let creates: Vec<_> = (0..2000).map(|_| request(T0, create_key(key_id()))).collect();
    let entries = creates.into_iter().enumerate().map(|(i, r)| common::normal(i as u64 + 1, r)).collect();
    leader.apply_entries(entries).await;
    let newer = build_snapshot(&mut leader).await;

    for _ in 0..10 {
        // A fresh follower each time, so the build is always of older state than the install
        // (a follower already at the leader's index may rightly keep its own equal snapshot).
        let mut follower = Node::new();
        let entries = (0..1500).map(|i| common::normal(i + 1, request(T0, create_key(key_id())))).collect();
        follower.apply_entries(entries).await;
        let mut builder = follower.sm.get_snapshot_builder().await;
        let building = tokio::spawn(async move { builder.build_snapshot().await });
        install(&mut follower, &newer).await;
        building.await.unwrap().unwrap();

        let current = follower.sm.get_current_snapshot().await.unwrap().expect("a current snapshot");
        assert_eq!(current.meta, newer.meta);
        assert_eq!(current.snapshot.get_ref(), newer.snapshot.get_ref());
    }
}

#[tokio::test]
async fn a_snapshot_carries_each_dedup_record_with_its_position_and_fingerprint() {
    let mut leader = Node::new();
    let key = key_id();
    let create = request(T0, create_key(key));
    let alias = request(T0, Command::CreateAlias { alias: "alias/app".to_owned(), key_id: key });
    let refused = request(T0, Command::EnableKey { key_id: key_id() });
    let first = leader.apply_batch(vec![create.clone(), alias.clone(), refused.clone()]).await;
    let snapshot = build_snapshot(&mut leader).await;

    let mut follower = Node::new();
    install(&mut follower, &snapshot).await;

    assert_eq!(contents(&follower.registry()), contents(&leader.registry()));
    assert_eq!(follower.registry(), leader.registry(), "derived eviction order");
    let registry = follower.registry();
    for (position, sent) in [&create, &alias, &refused].into_iter().enumerate() {
        let record = registry.dedup_records().find(|(id, _)| **id == sent.request_id).unwrap().1;
        assert_eq!((record.log_index, record.position as usize), (1, position));
        assert_eq!(
            record.fingerprint,
            sent.command.fingerprint_at(0),
            "a fresh registry is at feature level 0"
        );
    }

    // Both nodes now answer retries and reused ids alike, from the records the snapshot carried.
    let restamped = Request { command: create_key(key_id()), ..create.clone() };
    let reused = Request { command: Command::DeleteAlias { alias: "alias/app".to_owned() }, ..alias };
    let next = batch(2, vec![restamped, reused, request(T0 + DEDUP_WINDOW_MS + 1, create_key(key_id()))]);
    let mut results = Vec::new();
    for node in [&mut leader, &mut follower] {
        results.push(node.apply_entries(vec![next.clone()]).await);
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0][0][0], first[0]);
    assert_eq!(common::rejection_code(&results[0][0][1]), trent_wire::ErrorCode::Validation);
    // The last write evicted every record of entry 1 on both.
    assert_eq!(follower.registry().dedup_records().count(), 1);
    assert_eq!(follower.registry(), leader.registry());
    let follower = follower.reopen();
    assert_eq!(follower.registry(), leader.registry());
}
