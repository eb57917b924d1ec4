//! The Raft log, vote and committed index: what openraft writes is read back, across restarts,
//! and truncation and purging never leave a hole.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use std::ops::Bound;

use common::{batch, blank, log_id, membership, normal, request, Node};
use openraft::storage::{LogState, RaftLogStorage, RaftLogStorageExt};
use openraft::{CommittedLeaderId, EntryPayload, LogId, RaftLogReader, Vote};
use trent_storage::types::Entry;
use trent_storage::{Command, KeyId, LogStore, TypeConfig};

/// Appends blank entries `from..=to` in term 1.
async fn append_blanks(log: &mut LogStore, from: u64, to: u64) {
    log.blocking_append((from..=to).map(blank)).await.expect("append");
}

async fn indexes(log: &mut LogStore) -> Vec<u64> {
    let entries = log.try_get_log_entries(..).await.expect("read log");
    entries.iter().map(|entry| entry.log_id.index).collect()
}

async fn log_state(log: &mut LogStore) -> LogState<TypeConfig> {
    log.get_log_state().await.expect("log state")
}

#[tokio::test]
async fn empty_log_reports_nothing() {
    let mut node = Node::new();
    let state = log_state(&mut node.log).await;
    assert_eq!(state.last_purged_log_id, None);
    assert_eq!(state.last_log_id, None);
    assert_eq!(node.log.read_vote().await.unwrap(), None);
    assert_eq!(node.log.read_committed().await.unwrap(), None);
    assert_eq!(node.log.committed_index(), None);
    assert!(indexes(&mut node.log).await.is_empty());
}

#[tokio::test]
async fn vote_survives_reopen() {
    let mut node = Node::new();
    let vote = Vote::new(3, 2);
    node.log.save_vote(&vote).await.unwrap();
    assert_eq!(node.log.read_vote().await.unwrap(), Some(vote));

    let committed_vote = Vote::new_committed(4, 2);
    node.log.save_vote(&committed_vote).await.unwrap();

    let mut node = node.reopen();
    assert_eq!(node.log.read_vote().await.unwrap(), Some(committed_vote));
}

#[tokio::test]
async fn committed_log_id_survives_reopen() {
    let mut node = Node::new();
    append_blanks(&mut node.log, 1, 5).await;
    node.log.save_committed(Some(log_id(4))).await.unwrap();
    assert_eq!(node.log.read_committed().await.unwrap(), Some(log_id(4)));
    assert_eq!(node.log.committed_index(), Some(4));

    let mut node = node.reopen();
    assert_eq!(node.log.read_committed().await.unwrap(), Some(log_id(4)));
    assert_eq!(node.log.committed_index(), Some(4));
}

#[tokio::test]
async fn committed_none_survives_reopen() {
    let mut node = Node::new();
    node.log.save_committed(None).await.unwrap();
    assert_eq!(node.log.read_committed().await.unwrap(), None);

    let mut node = node.reopen();
    assert_eq!(node.log.read_committed().await.unwrap(), None);
    assert_eq!(node.log.committed_index(), None);
}

#[tokio::test]
async fn appended_entries_survive_reopen_with_their_payloads() {
    let mut node = Node::new();
    let create = request(common::T0, Command::CreateKey(common::new_key(KeyId(uuid::Uuid::new_v4()))));
    let key = KeyId(uuid::Uuid::new_v4());
    let several = vec![
        request(common::T0, Command::CreateKey(common::new_key(key))),
        request(common::T0, Command::CreateAlias { alias: "alias/app".to_owned(), key_id: key }),
        request(common::T0, Command::TagKey { key_id: key, tags: vec![("a".to_owned(), "b".to_owned())] }),
    ];
    let entries: Vec<Entry> = vec![
        blank(1),
        membership(2, &[1, 2, 3]),
        normal(3, create.clone()),
        batch(4, several),
        batch(5, Vec::new()),
    ];
    node.log.blocking_append(entries.clone()).await.unwrap();

    let state = log_state(&mut node.log).await;
    assert_eq!(state.last_log_id, Some(log_id(5)));
    assert_eq!(state.last_purged_log_id, None);

    let mut node = node.reopen();
    let read = node.log.try_get_log_entries(1..=5).await.unwrap();
    assert_eq!(read, entries);
    assert_eq!(log_state(&mut node.log).await.last_log_id, Some(log_id(5)));
}

#[tokio::test]
async fn log_reader_honours_every_range_bound() {
    let mut node = Node::new();
    append_blanks(&mut node.log, 1, 10).await;
    let mut reader = node.log.get_log_reader().await;

    let indexes_of = |entries: Vec<Entry>| entries.iter().map(|e| e.log_id.index).collect::<Vec<_>>();
    assert_eq!(indexes_of(reader.try_get_log_entries(..).await.unwrap()), (1..=10).collect::<Vec<_>>());
    assert_eq!(indexes_of(reader.try_get_log_entries(3..6).await.unwrap()), vec![3, 4, 5]);
    assert_eq!(indexes_of(reader.try_get_log_entries(3..=6).await.unwrap()), vec![3, 4, 5, 6]);
    assert_eq!(indexes_of(reader.try_get_log_entries(8..).await.unwrap()), vec![8, 9, 10]);
    assert_eq!(indexes_of(reader.try_get_log_entries(..=2).await.unwrap()), vec![1, 2]);
    assert_eq!(
        indexes_of(reader.try_get_log_entries((Bound::Excluded(4), Bound::Included(6))).await.unwrap()),
        vec![5, 6]
    );
    assert!(reader.try_get_log_entries(5..5).await.unwrap().is_empty());
    assert!(reader.try_get_log_entries(11..20).await.unwrap().is_empty());
    // Indexes far apart must not be confused by the key encoding (big-endian order).
    node.log.blocking_append([blank(11)]).await.unwrap();
    assert_eq!(indexes_of(reader.try_get_log_entries(10..).await.unwrap()), vec![10, 11]);
}

#[tokio::test]
async fn truncate_removes_the_suffix_and_new_entries_follow_without_a_hole() {
    let mut node = Node::new();
    append_blanks(&mut node.log, 1, 10).await;

    node.log.truncate(log_id(6)).await.unwrap();
    assert_eq!(indexes(&mut node.log).await, vec![1, 2, 3, 4, 5]);
    let state = log_state(&mut node.log).await;
    assert_eq!(state.last_log_id, Some(log_id(5)));
    assert_eq!(state.last_purged_log_id, None);

    // A new leader (term 2) overwrites the truncated tail.
    let term2 = |index| Entry {
        log_id: LogId::new(CommittedLeaderId::new(2, 2), index),
        payload: EntryPayload::Blank,
    };
    node.log.blocking_append((6..=8).map(term2)).await.unwrap();
    assert_eq!(indexes(&mut node.log).await, (1..=8).collect::<Vec<_>>());
    assert_eq!(log_state(&mut node.log).await.last_log_id, Some(term2(8).log_id));

    let mut node = node.reopen();
    assert_eq!(indexes(&mut node.log).await, (1..=8).collect::<Vec<_>>());
    let entries = node.log.try_get_log_entries(5..=6).await.unwrap();
    assert_eq!(entries[0].log_id, log_id(5));
    assert_eq!(entries[1].log_id, term2(6).log_id);
}

#[tokio::test]
async fn truncate_from_the_first_entry_empties_the_log() {
    let mut node = Node::new();
    append_blanks(&mut node.log, 1, 4).await;
    node.log.truncate(log_id(1)).await.unwrap();
    assert!(indexes(&mut node.log).await.is_empty());
    let state = log_state(&mut node.log).await;
    assert_eq!(state.last_log_id, None);
    assert_eq!(state.last_purged_log_id, None);
}

#[tokio::test]
async fn purge_removes_the_prefix_and_records_it() {
    let mut node = Node::new();
    append_blanks(&mut node.log, 1, 10).await;

    node.log.purge(log_id(4)).await.unwrap();
    assert_eq!(indexes(&mut node.log).await, (5..=10).collect::<Vec<_>>());
    let state = log_state(&mut node.log).await;
    assert_eq!(state.last_purged_log_id, Some(log_id(4)));
    assert_eq!(state.last_log_id, Some(log_id(10)));

    let mut node = node.reopen();
    assert_eq!(indexes(&mut node.log).await, (5..=10).collect::<Vec<_>>());
    let state = log_state(&mut node.log).await;
    assert_eq!(state.last_purged_log_id, Some(log_id(4)));
    assert_eq!(state.last_log_id, Some(log_id(10)));
}

#[tokio::test]
async fn purge_of_everything_leaves_last_log_id_at_last_purged() {
    let mut node = Node::new();
    append_blanks(&mut node.log, 1, 10).await;

    node.log.purge(log_id(10)).await.unwrap();
    assert!(indexes(&mut node.log).await.is_empty());
    let state = log_state(&mut node.log).await;
    assert_eq!(state.last_purged_log_id, Some(log_id(10)));
    assert_eq!(state.last_log_id, Some(log_id(10)));

    let mut node = node.reopen();
    let state = log_state(&mut node.log).await;
    assert_eq!(state.last_purged_log_id, Some(log_id(10)));
    assert_eq!(state.last_log_id, Some(log_id(10)));

    // The log continues right after the purged prefix.
    append_blanks(&mut node.log, 11, 12).await;
    assert_eq!(indexes(&mut node.log).await, vec![11, 12]);
    let state = log_state(&mut node.log).await;
    assert_eq!(state.last_purged_log_id, Some(log_id(10)));
    assert_eq!(state.last_log_id, Some(log_id(12)));
}

#[tokio::test]
async fn purge_beyond_the_last_entry_reports_the_purged_id_as_last() {
    // After installing a snapshot that is ahead of the local log, openraft purges past its end.
    let mut node = Node::new();
    append_blanks(&mut node.log, 1, 3).await;
    node.log.purge(log_id(7)).await.unwrap();
    assert!(indexes(&mut node.log).await.is_empty());
    let state = log_state(&mut node.log).await;
    assert_eq!(state.last_purged_log_id, Some(log_id(7)));
    assert_eq!(state.last_log_id, Some(log_id(7)));
}

#[tokio::test]
async fn purge_then_truncate_keep_the_log_contiguous() {
    let mut node = Node::new();
    append_blanks(&mut node.log, 1, 20).await;
    node.log.purge(log_id(5)).await.unwrap();
    node.log.truncate(log_id(16)).await.unwrap();
    assert_eq!(indexes(&mut node.log).await, (6..=15).collect::<Vec<_>>());
    node.log.purge(log_id(9)).await.unwrap();
    let mut node = node.reopen();
    assert_eq!(indexes(&mut node.log).await, (10..=15).collect::<Vec<_>>());
    let state = log_state(&mut node.log).await;
    assert_eq!(state.last_purged_log_id, Some(log_id(9)));
    assert_eq!(state.last_log_id, Some(log_id(15)));
}
