//! Fuzzes the peer API's message decoding (`node/src/peer/service.rs`): every peer body is
//! `trent_storage::codec::decode` (bincode 2, serde, standard config) of
//!
//! | path | type |
//! |---|---|
//! | `/cluster/leader-op` | `trent_node::peer::protocol::LeaderOp` |
//! | `/raft/append-entries` | `openraft::raft::AppendEntriesRequest<TypeConfig>` |
//! | `/raft/vote` | `openraft::raft::VoteRequest<NodeId>` |
//! | `/raft/install-snapshot` | `openraft::raft::InstallSnapshotRequest<TypeConfig>` |
//!
//! Input layout: the first byte modulo 5 picks the type (0 LeaderOp, 1 AppendEntries, 2 Vote,
//! 3 InstallSnapshot, 4 all four); the rest is the body.
//!
//! For each type the body is decoded exactly as the service decodes it, inside a section where
//! the global allocator refuses any single allocation larger than `DECODE_ALLOCATION_LIMIT`
//! (the peer body cap, 16 MiB): a refused allocation aborts the process with Rust's "memory
//! allocation of N bytes failed", which is what a node does when the allocation really fails.
//! A decoded value must re-encode, decode again and re-encode to the same bytes.
//!
//! A `LeaderOp` that decodes is handed to `Node::execute_for_peer` on an in-process unsealed
//! node (`trent_fuzz::live::LiveNode`, data in `/tmp/trent-fuzz-peer-<pid>`), as the leader
//! receives it from a follower: `WriteBatch` (each write proposed through Raft and applied)
//! and `ReadIndex`. Membership operations (`AddLearner`, `Promote`, `Remove`) are only decoded:
//! the admin_api target covers them. The Raft messages are only decoded too: handing a forged
//! AppendEntries or Vote to the node's Raft would depose or truncate the fuzzed node itself.
//! The reply must be the one its operation calls for (`Written` with one result per write and
//! a commit index, or `Failed(ValidationException)` for more than 256 writes; `ReadIndex` with
//! an index no later than the committed one), with no `ErrorCode::Internal` in it
//! (`TRENT_FUZZ_ALLOW_INTERNAL=1` tolerates those), and must encode; Raft must keep running.
//!
//! Batches that would create keys, aliases or access keys are skipped once the node holds
//! `MAX_KEYS` / `MAX_ALIASES` / `MAX_ACCESS_KEYS` of them, so the data directory stays small.
//!
//! Its first finding (docs/fuzzing.md, fixed): bincode 2 allocates a `String`'s declared length
//! before it checks the input holds that many bytes, and `codec::decode` set no limit, so a few
//! bytes asked for any amount of memory; `codec::decode` now decodes under a 16 MiB limit.
//!
//! Seeds: with `TRENT_FUZZ_WRITE_SEEDS=<dir>` the target writes valid encodings of every message
//! kind to `<dir>` and fuzzes nothing (`corpus/peer_protocol/seed-*` were made so:
//! `TRENT_FUZZ_WRITE_SEEDS=fuzz/corpus/peer_protocol cargo +nightly fuzz run peer_protocol
//! <empty dir> -- -runs=1` from `node/`).

#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::{Mutex, OnceLock};

use bincode::error::DecodeError;
use libfuzzer_sys::fuzz_target;
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use openraft::{
    CommittedLeaderId, Entry, EntryPayload, LogId, Membership, SnapshotMeta, StoredMembership, Vote,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use trent_fuzz::live::LiveNode;
use trent_fuzz::report::{code_name, Schedule};
use trent_node::peer::protocol::{LeaderOp, LeaderReply, MAX_PEER_BODY_BYTES};
use trent_node::proposer::MAX_BATCH_REQUESTS;
use trent_node::write_path::{ForwardedProposal, Proposal};
use trent_storage::sealed::{SealedKeyring, UnsealSplit, WrappedBarrierKey, WrappedSecret};
use trent_storage::{
    codec, AccessKeyRecord, Command, KeyDraft, KeyId, NewKey, NodeId, Request, RequestBatch, RequestId,
    TrentNode, TypeConfig,
};
use trent_wire::model::{KeySpec, KeyUsage, Origin};
use trent_wire::ErrorCode;

/// The largest single allocation decoding may make: the peer body cap.
const DECODE_ALLOCATION_LIMIT: usize = MAX_PEER_BODY_BYTES;
/// Batches creating keys are skipped once the node holds this many keys.
const MAX_KEYS: usize = 400;
/// Batches creating aliases are skipped once the node holds this many aliases.
const MAX_ALIASES: usize = 400;
/// Batches creating access keys are skipped once the node holds this many access keys.
const MAX_ACCESS_KEYS: usize = 400;

/// The global allocator: the system's, refusing oversized allocations while decoding.
struct Guarded;

thread_local! {
    static DECODING: Cell<bool> = const { Cell::new(false) };
}

impl Guarded {
    fn refuses(size: usize) -> bool {
        size > DECODE_ALLOCATION_LIMIT && DECODING.with(Cell::get)
    }
}

unsafe impl GlobalAlloc for Guarded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Self::refuses(layout.size()) {
            return std::ptr::null_mut();
        }
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if Self::refuses(layout.size()) {
            return std::ptr::null_mut();
        }
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if Self::refuses(new_size) {
            return std::ptr::null_mut();
        }
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Guarded = Guarded;

/// `codec::decode`, with oversized allocations refused (see [`Guarded`]).
fn guarded_decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, DecodeError> {
    DECODING.with(|decoding| decoding.set(true));
    let result = codec::decode(body);
    DECODING.with(|decoding| decoding.set(false));
    result
}


struct Fixture {
    live: LiveNode,
    strict: bool,
    stats: Mutex<Stats>,
}

#[derive(Default)]
struct Stats {
    inputs: u64,
    decoded: BTreeMap<&'static str, u64>,
    undecodable: BTreeMap<&'static str, u64>,
    executed: BTreeMap<&'static str, u64>,
    skipped: BTreeMap<&'static str, u64>,
    writes: u64,
    applied: u64,
    rejections: BTreeMap<&'static str, u64>,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();
static REPORTS: Schedule = Schedule::new();

/// With `TRENT_FUZZ_WRITE_SEEDS=<dir>`, writes the seeds there once and fuzzes nothing.
fn writing_seeds() -> bool {
    static WRITING: OnceLock<bool> = OnceLock::new();
    *WRITING.get_or_init(|| match std::env::var_os("TRENT_FUZZ_WRITE_SEEDS") {
        Some(dir) => {
            write_seeds(std::path::Path::new(&dir));
            true
        }
        None => false,
    })
}

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| Fixture {
        live: LiveNode::start("peer"),
        strict: trent_fuzz::strict(),
        stats: Mutex::new(Stats::default()),
    })
}

impl Fixture {
    /// Decodes `body` as `T` as the service does; checks the value re-encodes stably.
    fn decode<T: DeserializeOwned + Serialize + Debug>(&self, name: &'static str, body: &[u8]) -> Option<T> {
        let value = match guarded_decode::<T>(body) {
            Ok(value) => value,
            Err(_) => {
                *self.stats.lock().unwrap().undecodable.entry(name).or_default() += 1;
                return None;
            }
        };
        let encoded =
            codec::encode(&value).unwrap_or_else(|error| panic!("{name} {value:?} does not encode: {error}"));
        let again: T = codec::decode(&encoded).unwrap_or_else(|error| {
            panic!("{name} {value:?} does not decode from its own encoding: {error}")
        });
        let encoded_again = codec::encode(&again).expect("encode again");
        assert_eq!(encoded, encoded_again, "{name} {value:?} re-encodes differently");
        *self.stats.lock().unwrap().decoded.entry(name).or_default() += 1;
        Some(value)
    }

    /// Why a batch is not executed, if it is not.
    fn skip(&self, batch: &[ForwardedProposal]) -> Option<&'static str> {
        let registry = self.live.node().registry.read();
        for proposal in batch {
            match &proposal.proposal {
                Proposal::CreateKey(_) | Proposal::Command(Command::CreateKey(_))
                    if registry.key_count() >= MAX_KEYS =>
                {
                    return Some("key cap")
                }
                Proposal::Command(Command::CreateAlias { .. }) if registry.alias_count() >= MAX_ALIASES => {
                    return Some("alias cap")
                }
                Proposal::Command(Command::CreateAccessKey(_))
                    if registry.access_keys().count() >= MAX_ACCESS_KEYS =>
                {
                    return Some("access key cap")
                }
                _ => {}
            }
        }
        None
    }

    fn execute(&self, op: LeaderOp) {
        let name = match &op {
            LeaderOp::WriteBatch(_) => "WriteBatch",
            LeaderOp::ReadIndex => "ReadIndex",
            LeaderOp::AddLearner { .. } | LeaderOp::Promote { .. } | LeaderOp::Remove { .. } => {
                *self.stats.lock().unwrap().skipped.entry("membership").or_default() += 1;
                return;
            }
        };
        let writes = match &op {
            LeaderOp::WriteBatch(batch) => {
                if let Some(reason) = self.skip(batch) {
                    *self.stats.lock().unwrap().skipped.entry(reason).or_default() += 1;
                    return;
                }
                Some(batch.len())
            }
            _ => None,
        };
        let described = format!("{op:?}");
        let node = self.live.node();
        let reply = self.live.block_on(node.execute_for_peer(op));
        let encoded = codec::encode(&reply)
            .unwrap_or_else(|error| panic!("the reply {reply:?} does not encode: {error}"));
        let _: LeaderReply = codec::decode(&encoded).expect("the reply decodes");
        let mut stats = self.stats.lock().unwrap();
        *stats.executed.entry(name).or_default() += 1;
        match (writes, reply) {
            (Some(writes), LeaderReply::Written { results, commit_index }) => {
                assert!(writes <= MAX_BATCH_REQUESTS, "{writes} writes were accepted: {described}");
                assert_eq!(results.len(), writes, "one result per write: {described} -> {results:?}");
                assert!(commit_index.is_some(), "no commit index after {described}");
                stats.writes += writes as u64;
                for result in results {
                    match result {
                        Ok(_) => stats.applied += 1,
                        Err(rejection) => {
                            if self.strict && rejection.code == ErrorCode::Internal {
                                panic!("{described} was rejected with an internal error: {rejection:?}");
                            }
                            *stats.rejections.entry(code_name(rejection.code)).or_default() += 1;
                        }
                    }
                }
            }
            (Some(writes), LeaderReply::Failed(error)) if writes > MAX_BATCH_REQUESTS => {
                assert_eq!(error.code, ErrorCode::Validation, "{writes} writes: {error:?}");
            }
            (None, LeaderReply::ReadIndex(index)) => {
                let committed = node.committed_index();
                assert!(
                    index.is_some() && index <= committed,
                    "read index {index:?}, committed {committed:?}"
                );
            }
            (_, LeaderReply::Failed(error)) if !(self.strict && error.code == ErrorCode::Internal) => {
                *stats.rejections.entry(code_name(error.code)).or_default() += 1;
            }
            (_, reply) => panic!("{described} was answered {reply:?}"),
        }
    }

    fn report(&self) {
        let mut stats = self.stats.lock().unwrap();
        stats.inputs += 1;
        if !REPORTS.due(stats.inputs) {
            return;
        }
        let (keys, aliases, access_keys) = {
            let registry = self.live.node().registry.read();
            (registry.key_count(), registry.alias_count(), registry.access_keys().count())
        };
        eprintln!(
            "peer_protocol: {} inputs, decoded {:?}, undecodable {:?}, executed {:?}, skipped {:?}, {} writes, {} applied, rejections {:?}, {keys} keys, {aliases} aliases, {access_keys} access keys, snapshot at {:?}",
            stats.inputs,
            stats.decoded,
            stats.undecodable,
            stats.executed,
            stats.skipped,
            stats.writes,
            stats.applied,
            stats.rejections,
            self.live.snapshot_index()
        );
    }
}

fuzz_target!(|data: &[u8]| {
    if writing_seeds() {
        return;
    }
    let fixture = fixture();
    let Some((&selector, body)) = data.split_first() else { return };
    let selector = selector % 5;
    if selector == 0 || selector == 4 {
        if let Some(op) = fixture.decode::<LeaderOp>("LeaderOp", body) {
            fixture.execute(op);
        }
    }
    if selector == 1 || selector == 4 {
        fixture.decode::<AppendEntriesRequest<TypeConfig>>("AppendEntries", body);
    }
    if selector == 2 || selector == 4 {
        fixture.decode::<VoteRequest<NodeId>>("Vote", body);
    }
    if selector == 3 || selector == 4 {
        fixture.decode::<InstallSnapshotRequest<TypeConfig>>("InstallSnapshot", body);
    }
    fixture.report();
    fixture.live.assert_alive();
});

// ---- seeds -------------------------------------------------------------------------------

/// A key id the seeds share, so a seed that creates the key makes the others' writes apply.
const SEED_KEY: KeyId = KeyId(uuid::Uuid::from_u128(0x5eed_0000_0000_4000_8000_0000_0000_0001));
/// Another key id, never created.
const MISSING_KEY: KeyId = KeyId(uuid::Uuid::from_u128(0x5eed_0000_0000_4000_8000_0000_0000_0002));

fn request_id(n: u128) -> RequestId {
    RequestId(uuid::Uuid::from_u128(0x5eed_0000_0000_4000_9000_0000_0000_0000 | n))
}

fn wrapped(byte: u8) -> WrappedSecret {
    WrappedSecret { barrier_version: 1, sealed: vec![byte; 60] }
}

fn draft(spec: KeySpec, usage: KeyUsage) -> KeyDraft {
    KeyDraft {
        description: "peer seed".into(),
        spec,
        usage,
        origin: Origin::AwsKms,
        tags: vec![("team".into(), "fuzz".into())],
    }
}

fn access_key(id: &str) -> AccessKeyRecord {
    AccessKeyRecord {
        access_key_id: id.into(),
        secret: wrapped(7),
        created_at_ms: 1,
        description: "peer seed".into(),
    }
}

fn commands() -> Vec<(&'static str, Command)> {
    vec![
        (
            "CreateKey",
            Command::CreateKey(NewKey {
                key_id: SEED_KEY,
                draft: draft(KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt),
                material: wrapped(1),
            }),
        ),
        ("EnableKey", Command::EnableKey { key_id: SEED_KEY }),
        ("DisableKey", Command::DisableKey { key_id: SEED_KEY }),
        (
            "UpdateKeyDescription",
            Command::UpdateKeyDescription { key_id: SEED_KEY, description: "new".into() },
        ),
        ("ScheduleKeyDeletion", Command::ScheduleKeyDeletion { key_id: SEED_KEY, window_days: 7 }),
        ("CancelKeyDeletion", Command::CancelKeyDeletion { key_id: SEED_KEY }),
        ("DeleteExpiredKey", Command::DeleteExpiredKey { key_id: SEED_KEY }),
        ("CreateAlias", Command::CreateAlias { alias: "alias/peer-seed".into(), key_id: SEED_KEY }),
        ("UpdateAlias", Command::UpdateAlias { alias: "alias/peer-seed".into(), key_id: MISSING_KEY }),
        ("DeleteAlias", Command::DeleteAlias { alias: "alias/peer-seed".into() }),
        ("TagKey", Command::TagKey { key_id: SEED_KEY, tags: vec![("env".into(), "test".into())] }),
        ("UntagKey", Command::UntagKey { key_id: SEED_KEY, tag_keys: vec!["env".into(), "absent".into()] }),
        (
            "InitializeCluster",
            Command::InitializeCluster {
                keyring: SealedKeyring {
                    cluster_id: [9; 16],
                    keys: vec![WrappedBarrierKey { version: 1, sealed: vec![3; 60] }],
                },
                admin: access_key("TRNTPEERSEEDADMIN000"),
            },
        ),
        (
            "ReplaceKeyring",
            Command::ReplaceKeyring {
                keyring: SealedKeyring {
                    cluster_id: [9; 16],
                    keys: vec![
                        WrappedBarrierKey { version: 1, sealed: vec![3; 60] },
                        WrappedBarrierKey { version: 2, sealed: vec![4; 60] },
                    ],
                },
            },
        ),
        ("CreateAccessKey", Command::CreateAccessKey(access_key("TRNTPEERSEED00000001"))),
        ("DeleteAccessKey", Command::DeleteAccessKey { access_key_id: "TRNTPEERSEED00000001".into() }),
        (
            "RecordUnsealSplit",
            Command::RecordUnsealSplit {
                split: UnsealSplit { threshold: 1, shares: 1, fingerprint: [5; 32] },
                replaces: None,
            },
        ),
        ("ConfirmUnsealSplit", Command::ConfirmUnsealSplit { fingerprint: [5; 32] }),
    ]
}

fn proposal(n: u128, proposal: Proposal) -> ForwardedProposal {
    ForwardedProposal { request_id: request_id(n), proposal }
}

fn log_id(term: u64, index: u64) -> LogId<NodeId> {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

fn membership() -> Membership<NodeId, TrentNode> {
    let nodes = BTreeMap::from([
        (1, TrentNode { api_addr: "127.0.0.1:7001".into(), peer_addr: "127.0.0.1:7101".into() }),
        (2, TrentNode { api_addr: "127.0.0.1:7002".into(), peer_addr: "127.0.0.1:7102".into() }),
    ]);
    Membership::new(vec![BTreeSet::from([1])], nodes)
}

fn write_seeds(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).expect("seed directory");
    let mut written = 0;
    let mut write = |name: String, selector: u8, body: Vec<u8>| {
        let mut bytes = vec![selector];
        bytes.extend(body);
        std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write a seed");
        written += 1;
    };

    // LeaderOp (selector 0).
    write("LeaderOp-ReadIndex".into(), 0, encode(&LeaderOp::ReadIndex));
    write("LeaderOp-WriteBatch-empty".into(), 0, encode(&LeaderOp::WriteBatch(Vec::new())));
    for (index, (name, command)) in commands().into_iter().enumerate() {
        let op = LeaderOp::WriteBatch(vec![proposal(index as u128, Proposal::Command(command))]);
        write(format!("LeaderOp-WriteBatch-{name}"), 0, encode(&op));
    }
    let create =
        |spec, usage| LeaderOp::WriteBatch(vec![proposal(100, Proposal::CreateKey(draft(spec, usage)))]);
    write(
        "LeaderOp-WriteBatch-ProposeKey".into(),
        0,
        encode(&create(KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt)),
    );
    write(
        "LeaderOp-WriteBatch-ProposeRsaKey".into(),
        0,
        encode(&create(KeySpec::Rsa2048, KeyUsage::SignVerify)),
    );
    write(
        "LeaderOp-WriteBatch-ProposeHmacKey".into(),
        0,
        encode(&create(KeySpec::Hmac256, KeyUsage::GenerateVerifyMac)),
    );
    let several = LeaderOp::WriteBatch(
        commands()
            .into_iter()
            .take(12)
            .enumerate()
            .map(|(index, (_, command))| proposal(200 + index as u128, Proposal::Command(command)))
            .collect(),
    );
    write("LeaderOp-WriteBatch-several".into(), 0, encode(&several));
    let same_id = LeaderOp::WriteBatch(vec![
        proposal(300, Proposal::Command(Command::EnableKey { key_id: SEED_KEY })),
        proposal(300, Proposal::Command(Command::DisableKey { key_id: SEED_KEY })),
    ]);
    write("LeaderOp-WriteBatch-same-request-id".into(), 0, encode(&same_id));
    let too_many = LeaderOp::WriteBatch(
        (0..=MAX_BATCH_REQUESTS as u128)
            .map(|n| proposal(1000 + n, Proposal::Command(Command::EnableKey { key_id: MISSING_KEY })))
            .collect(),
    );
    write("LeaderOp-WriteBatch-257".into(), 0, encode(&too_many));
    let learner = LeaderOp::AddLearner {
        node_id: 2,
        node: TrentNode { api_addr: "127.0.0.1:7002".into(), peer_addr: "127.0.0.1:7102".into() },
    };
    write("LeaderOp-AddLearner".into(), 0, encode(&learner));
    write("LeaderOp-Promote".into(), 0, encode(&LeaderOp::Promote { node_id: 2 }));
    write("LeaderOp-Remove".into(), 0, encode(&LeaderOp::Remove { node_id: 2 }));

    // AppendEntries (selector 1).
    let append = |entries: Vec<Entry<TypeConfig>>| AppendEntriesRequest::<TypeConfig> {
        vote: Vote::new_committed(3, 1),
        prev_log_id: Some(log_id(3, 10)),
        entries,
        leader_commit: Some(log_id(3, 10)),
    };
    write("AppendEntries-heartbeat".into(), 1, encode(&append(Vec::new())));
    let blank = Entry::<TypeConfig> { log_id: log_id(3, 11), payload: EntryPayload::Blank };
    write("AppendEntries-blank".into(), 1, encode(&append(vec![blank.clone()])));
    let normal = Entry::<TypeConfig> {
        log_id: log_id(3, 12),
        payload: EntryPayload::Normal(RequestBatch {
            requests: commands()
                .into_iter()
                .take(3)
                .enumerate()
                .map(|(index, (_, command))| Request {
                    request_id: request_id(400 + index as u128),
                    issued_at_ms: 1_700_000_000_000,
                    command,
                })
                .collect(),
        }),
    };
    write("AppendEntries-normal".into(), 1, encode(&append(vec![normal.clone()])));
    let change =
        Entry::<TypeConfig> { log_id: log_id(3, 13), payload: EntryPayload::Membership(membership()) };
    write(
        "AppendEntries-membership".into(),
        1,
        encode(&append(vec![blank.clone(), normal.clone(), change.clone()])),
    );

    // Vote (selector 2).
    write(
        "Vote".into(),
        2,
        encode(&VoteRequest::<NodeId> { vote: Vote::new(4, 2), last_log_id: Some(log_id(3, 13)) }),
    );
    write(
        "Vote-empty-log".into(),
        2,
        encode(&VoteRequest::<NodeId> { vote: Vote::new(1, 2), last_log_id: None }),
    );

    // InstallSnapshot (selector 3).
    let snapshot = |offset, data: Vec<u8>, done| InstallSnapshotRequest::<TypeConfig> {
        vote: Vote::new_committed(3, 1),
        meta: SnapshotMeta {
            last_log_id: Some(log_id(3, 13)),
            last_membership: StoredMembership::new(Some(log_id(3, 13)), membership()),
            snapshot_id: "1-13-1".into(),
        },
        offset,
        data,
        done,
    };
    write("InstallSnapshot-first".into(), 3, encode(&snapshot(0, vec![0; 64], false)));
    write("InstallSnapshot-last".into(), 3, encode(&snapshot(64, vec![1; 16], true)));

    // Every type at once (selector 4) for a few of them.
    write("all-ReadIndex".into(), 4, encode(&LeaderOp::ReadIndex));
    write("all-Vote".into(), 4, encode(&VoteRequest::<NodeId> { vote: Vote::new(4, 2), last_log_id: None }));
    eprintln!("peer_protocol: wrote {written} seeds to {}", dir.display());
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    codec::encode(value).expect("a seed encodes")
}
