//! Shared fixtures for the storage integration tests: a node's storage in a temporary directory,
//! and builders for the requests and log entries the leader would propose.
//!
//! Every test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, EntryPayload, Membership};
use tempfile::TempDir;
use trent_storage::types::{Entry, LogId};
use trent_storage::{
    Applied, BatchResult, Command, CommandResult, DiskOptions, KeyDraft, KeyId, KeyRecord, LogStore, NewKey,
    OpenError, Registry, Request, RequestBatch, RequestId, StateMachine, TrentNode,
};
use trent_wire::model::{KeySpec, KeyUsage, Origin};
use uuid::Uuid;

/// One day in milliseconds.
pub const DAY_MS: u64 = 24 * 60 * 60 * 1000;
/// A fixed "now" for tests: 2024-01-01T00:00:00Z.
pub const T0: u64 = 1_704_067_200_000;

/// A node's storage, open on its own temporary directory.
pub struct Node {
    pub dir: TempDir,
    pub log: LogStore,
    pub sm: StateMachine,
    next_index: u64,
}

impl Node {
    /// Opens fresh storage in a new temporary directory.
    pub fn new() -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        let (log, sm) = open(dir.path());
        Node { dir, log, sm, next_index: 1 }
    }

    /// Drops the open storage and opens the same directory again, as a restart would.
    pub fn reopen(self) -> Node {
        let Node { dir, log, sm, next_index } = self;
        drop(log);
        drop(sm);
        let (log, sm) = open(dir.path());
        Node { dir, log, sm, next_index }
    }

    /// Applies `request` as the next normal log entry (a batch of one) and returns its result.
    pub async fn apply(&mut self, request: Request) -> CommandResult {
        let mut results = self.apply_batch(vec![request]).await;
        assert_eq!(results.len(), 1, "one request, one result");
        results.pop().expect("one result")
    }

    /// Applies `requests` as one batch in the next normal log entry and returns their results.
    pub async fn apply_batch(&mut self, requests: Vec<Request>) -> BatchResult {
        let entry = batch(self.next_index, requests);
        let mut results = self.apply_entries(vec![entry]).await;
        assert_eq!(results.len(), 1, "one entry, one batch result");
        results.pop().expect("one batch result")
    }

    /// Applies `command` issued at `issued_at_ms` with a fresh request id.
    pub async fn run(&mut self, issued_at_ms: u64, command: Command) -> CommandResult {
        self.apply(request(issued_at_ms, command)).await
    }

    /// Applies raw entries; the caller chose their indexes. One batch result per entry, with one
    /// result per request of the entry (none for blank and membership entries).
    pub async fn apply_entries(&mut self, entries: Vec<Entry>) -> Vec<BatchResult> {
        if let Some(last) = entries.last() {
            self.next_index = self.next_index.max(last.log_id.index + 1);
        }
        let shape: Vec<usize> = entries.iter().map(|entry| requests_of(entry).len()).collect();
        let results = self.sm.apply(entries).await.expect("apply");
        let result_shape: Vec<usize> = results.iter().map(Vec::len).collect();
        assert_eq!(result_shape, shape, "one result per request, one batch result per entry");
        results
    }

    /// A copy of the registry as it is now.
    pub fn registry(&self) -> Registry {
        self.sm.registry().read().clone()
    }

    /// A fresh node that installed a snapshot this node built of its current state.
    pub async fn snapshot_into_fresh(&mut self) -> Node {
        use openraft::RaftSnapshotBuilder;
        let mut builder = self.sm.get_snapshot_builder().await;
        let snapshot = builder.build_snapshot().await.expect("build");
        let mut fresh = Node::new();
        let mut buffer = fresh.sm.begin_receiving_snapshot().await.expect("begin");
        buffer.get_mut().extend_from_slice(snapshot.snapshot.get_ref());
        fresh.sm.install_snapshot(&snapshot.meta, buffer).await.expect("install");
        fresh
    }

    /// The key, which must exist.
    pub fn key(&self, key_id: KeyId) -> KeyRecord {
        self.sm.registry().read().key(&key_id).cloned().unwrap_or_else(|| panic!("key {key_id} missing"))
    }
}

/// Opens storage under `dir`.
///
/// sled 0.34 releases its lock on the directory from a background thread after the last handle
/// is dropped (spacejam/sled#1289), so reopening right after a drop can briefly find the lock
/// still held: retry that, and only that, for up to about two seconds.
pub fn open(dir: &Path) -> (LogStore, StateMachine) {
    let mut attempts = 0;
    loop {
        match trent_storage::open(dir, DiskOptions::default()) {
            Ok(opened) => return opened,
            Err(OpenError::Sled(error))
                if attempts < 100 && error.to_string().contains("could not acquire lock") =>
            {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(error) => panic!("open storage: {error}"),
        }
    }
}

/// A fresh random key id.
pub fn key_id() -> KeyId {
    KeyId(Uuid::new_v4())
}

/// A fresh random request id.
pub fn request_id() -> RequestId {
    RequestId(Uuid::new_v4())
}

/// A request with a fresh id.
pub fn request(issued_at_ms: u64, command: Command) -> Request {
    Request { request_id: request_id(), issued_at_ms, command }
}

/// A symmetric encrypt/decrypt key with no tags. The draft is the same whatever the key id, so
/// `create_key(a)` and `create_key(b)` under one request id are a retry re-stamped by a leader.
/// Stand-in sealed material: storage never opens it, so any bytes do.
pub fn sealed_material() -> trent_storage::sealed::WrappedSecret {
    trent_storage::sealed::WrappedSecret { barrier_version: 1, sealed: vec![0x5a; 60] }
}

pub fn new_key(key_id: KeyId) -> NewKey {
    NewKey {
        material: sealed_material(),
        key_id,
        draft: KeyDraft {
            description: "test key".to_owned(),
            spec: KeySpec::SymmetricDefault,
            usage: KeyUsage::EncryptDecrypt,
            origin: Origin::AwsKms,
            tags: Vec::new(),
        },
    }
}

/// A `CreateKey` command for a default key.
pub fn create_key(key_id: KeyId) -> Command {
    Command::CreateKey(new_key(key_id))
}

/// The log id of index `index` written by the leader of term 1, node 1.
pub fn log_id(index: u64) -> LogId {
    LogId::new(CommittedLeaderId::new(1, 1), index)
}

/// A log entry carrying `request` alone, in a batch of one.
pub fn normal(index: u64, request: Request) -> Entry {
    batch(index, vec![request])
}

/// A log entry carrying `requests` as one batch.
pub fn batch(index: u64, requests: Vec<Request>) -> Entry {
    Entry { log_id: log_id(index), payload: EntryPayload::Normal(RequestBatch { requests }) }
}

/// The requests an entry carries, first to last; none for blank and membership entries.
pub fn requests_of(entry: &Entry) -> &[Request] {
    match &entry.payload {
        EntryPayload::Normal(batch) => &batch.requests,
        EntryPayload::Blank | EntryPayload::Membership(_) => &[],
    }
}

/// Every result of `results`, in log order: one per request.
pub fn flatten(results: &[BatchResult]) -> Vec<CommandResult> {
    results.iter().flatten().cloned().collect()
}

/// A blank log entry (what a new leader appends).
pub fn blank(index: u64) -> Entry {
    Entry { log_id: log_id(index), payload: EntryPayload::Blank }
}

/// A membership entry with `voters`, every node at a made-up address.
pub fn membership(index: u64, voters: &[u64]) -> Entry {
    let ids: BTreeSet<u64> = voters.iter().copied().collect();
    let nodes: BTreeMap<u64, TrentNode> = voters
        .iter()
        .map(|id| {
            let node = TrentNode {
                api_addr: format!("127.0.0.1:{}", 7000 + id),
                peer_addr: format!("127.0.0.1:{}", 8000 + id),
            };
            (*id, node)
        })
        .collect();
    Entry { log_id: log_id(index), payload: EntryPayload::Membership(Membership::new(vec![ids], nodes)) }
}

/// The key record in a successful result.
pub fn applied_key(result: &CommandResult) -> KeyRecord {
    match result {
        Ok(Applied::Key(key)) => (**key).clone(),
        other => panic!("expected Applied::Key, got {other:?}"),
    }
}

/// The rejection code of a refused result.
pub fn rejection_code(result: &CommandResult) -> trent_wire::ErrorCode {
    match result {
        Err(rejection) => rejection.code,
        Ok(applied) => panic!("expected a rejection, got {applied:?}"),
    }
}

/// Every key, alias and dedup record, through the public iterators, for comparing registries.
pub fn contents(registry: &Registry) -> RegistryContents {
    RegistryContents {
        keys: registry.keys().cloned().collect(),
        aliases: registry.aliases().cloned().collect(),
        dedup: registry
            .dedup_records()
            .map(|(id, record)| DedupRow {
                request_id: *id,
                log_index: record.log_index,
                position: record.position,
                issued_at_ms: record.issued_at_ms,
                fingerprint: record.fingerprint,
                outcome: record.outcome.clone(),
            })
            .collect(),
    }
}

/// One dedup record with its request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupRow {
    pub request_id: RequestId,
    pub log_index: u64,
    pub position: u32,
    pub issued_at_ms: u64,
    pub fingerprint: u64,
    pub outcome: trent_storage::DedupOutcome,
}

/// A registry's contents as plain vectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryContents {
    pub keys: Vec<KeyRecord>,
    pub aliases: Vec<trent_storage::AliasRecord>,
    pub dedup: Vec<DedupRow>,
}

/// The keys of [`scenario`], by what happens to them.
#[derive(Debug, Clone, Copy)]
pub struct ScenarioKeys {
    /// Enabled, with aliases `alias/zero`.
    pub enabled: KeyId,
    /// Disabled; `alias/moved` was retargeted to it.
    pub disabled: KeyId,
    /// New description and tags.
    pub described: KeyId,
    /// Pending deletion, due at `T0 + 30 days`.
    pub pending: KeyId,
    /// Deleted together with `alias/four`.
    pub deleted: KeyId,
    /// Scheduled and then cancelled: disabled.
    pub cancelled: KeyId,
}

/// A fixed history touching every command, every rejection path that records a dedup row,
/// a retried request (re-stamped with another key id), a reused request id for a different
/// command, a request repeated inside one batch, blank and membership entries, and entries
/// carrying one request or several. Entries are numbered from 1.
pub fn scenario() -> (Vec<Entry>, ScenarioKeys) {
    let fixed = |n: u128| KeyId(Uuid::from_u128(0x5ce0_0000_0000_4000_8000_0000_0000_0000 + n));
    let keys = ScenarioKeys {
        enabled: fixed(1),
        disabled: fixed(2),
        described: fixed(3),
        pending: fixed(4),
        deleted: fixed(5),
        cancelled: fixed(6),
    };
    let all = [keys.enabled, keys.disabled, keys.described, keys.pending, keys.deleted, keys.cancelled];
    let request_id = |n: u128| RequestId(Uuid::from_u128(0x5ce0_0000_0000_4000_9000_0000_0000_0000 + n));
    let mut commands: Vec<(u64, Command)> = Vec::new();
    for (i, id) in all.iter().enumerate() {
        let mut key = new_key(*id);
        key.draft.tags = vec![("n".to_owned(), i.to_string())];
        commands.push((T0 + i as u64, Command::CreateKey(key)));
    }
    let alias = |name: &str| name.to_owned();
    commands.extend([
        (T0, Command::DisableKey { key_id: keys.disabled }),
        (T0, Command::UpdateKeyDescription { key_id: keys.described, description: "d".to_owned() }),
        (T0, Command::TagKey { key_id: keys.described, tags: vec![("x".to_owned(), "y".to_owned())] }),
        (T0, Command::UntagKey { key_id: keys.described, tag_keys: vec!["n".to_owned()] }),
        (T0, Command::CreateAlias { alias: alias("alias/zero"), key_id: keys.enabled }),
        (T0, Command::CreateAlias { alias: alias("alias/moved"), key_id: keys.enabled }),
        (T0, Command::UpdateAlias { alias: alias("alias/moved"), key_id: keys.disabled }),
        (T0, Command::CreateAlias { alias: alias("alias/gone"), key_id: keys.pending }),
        (T0, Command::DeleteAlias { alias: alias("alias/gone") }),
        (T0, Command::ScheduleKeyDeletion { key_id: keys.pending, window_days: 30 }),
        (T0, Command::CreateAlias { alias: alias("alias/four"), key_id: keys.deleted }),
        (T0, Command::ScheduleKeyDeletion { key_id: keys.deleted, window_days: 7 }),
        (T0, Command::ScheduleKeyDeletion { key_id: keys.cancelled, window_days: 7 }),
        (T0, Command::CancelKeyDeletion { key_id: keys.cancelled }),
        // Rejections are remembered for dedup like successes.
        (T0, Command::EnableKey { key_id: fixed(99) }),
        (T0, Command::CreateAlias { alias: alias("alias/zero"), key_id: keys.disabled }),
    ]);
    let mut requests: Vec<Request> = commands
        .into_iter()
        .enumerate()
        .map(|(n, (issued_at_ms, command))| Request {
            request_id: request_id(n as u128),
            issued_at_ms,
            command,
        })
        .collect();
    // A retry of the first create, re-stamped by a leader with another key id, inside the window:
    // answered from dedup.
    let Command::CreateKey(first) = requests[0].command.clone() else { unreachable!("the first create") };
    requests.push(Request {
        request_id: request_id(0),
        issued_at_ms: T0 + 1,
        command: Command::CreateKey(NewKey {
            key_id: fixed(98),
            draft: first.draft,
            material: sealed_material(),
        }),
    });
    // The second create's request id reused for something else: refused, changes nothing.
    requests.push(Request {
        request_id: request_id(1),
        issued_at_ms: T0 + 1,
        command: Command::DisableKey { key_id: keys.enabled },
    });
    // The same request twice in one batch: applies once.
    let tag_once = Request {
        request_id: request_id(500),
        issued_at_ms: T0 + 2,
        command: Command::TagKey { key_id: keys.enabled, tags: vec![("once".to_owned(), "1".to_owned())] },
    };
    requests.extend([tag_once.clone(), tag_once]);
    // A week later (every dedup id above is now past its window): the deletion, and two late writes.
    requests.push(Request {
        request_id: request_id(1000),
        issued_at_ms: T0 + 7 * DAY_MS,
        command: Command::DeleteExpiredKey { key_id: keys.deleted },
    });
    requests.push(Request {
        request_id: request_id(1001),
        issued_at_ms: T0 + 7 * DAY_MS + 1,
        command: Command::TagKey { key_id: keys.enabled, tags: vec![("late".to_owned(), "1".to_owned())] },
    });
    requests.push(Request {
        request_id: request_id(1002),
        issued_at_ms: T0 + 7 * DAY_MS + 2,
        command: Command::DisableKey { key_id: fixed(97) },
    });

    // How many requests each normal entry carries, in order.
    let batch_sizes = [3, 1, 1, 1, 4, 5, 1, 1, 1, 2, 2, 4, 3];
    assert_eq!(batch_sizes.iter().sum::<usize>(), requests.len(), "every request in one entry");
    let mut entries = vec![blank(1), membership(2, &[1, 2, 3])];
    let mut requests = requests.into_iter();
    for size in batch_sizes {
        let index = entries.len() as u64 + 1;
        entries.push(batch(index, requests.by_ref().take(size).collect()));
    }
    entries.push(blank(entries.len() as u64 + 1));
    (entries, keys)
}
