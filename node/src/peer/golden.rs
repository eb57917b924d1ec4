//! Golden bytes of the peer protocol: one sample of every message nodes send each other, pinned
//! in `tests/fixtures/peer-v<N>.txt` (`name hex` per line), written once by the build whose
//! format it pins (`TRENT_WRITE_GOLDEN=1 cargo test -p trent-node --lib golden`) and never
//! rewritten: every later build must decode each to the same sample, so a node talks to a peer
//! one version older during a rolling upgrade.

use std::collections::{BTreeMap, BTreeSet};

use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{CommittedLeaderId, EntryPayload, Membership, SnapshotMeta, StoredMembership, Vote};
use trent_storage::sealed::WrappedSecret;
use trent_storage::types::Entry;
use trent_storage::{
    Applied, Command, KeyDraft, KeyId, KeyLifecycle, KeyMaterial, KeyRecord, NodeId, Rejection, Request,
    RequestBatch, RequestId, TrentNode, TypeConfig,
};
use trent_wire::model::{KeySpec, KeyUsage, Origin};
use trent_wire::{ErrorCode, KmsError};
use uuid::Uuid;

use serde::de::DeserializeOwned;
use serde::Serialize;
use trent_storage::codec::{self, Format};

use super::protocol::{FeatureReport, LeaderOp, LeaderReply};
use crate::write_path::{ForwardedProposal, Proposal};

type Reply<T, E> = Result<T, openraft::error::RaftError<NodeId, E>>;

fn log_id(term: u64, index: u64) -> openraft::LogId<NodeId> {
    openraft::LogId::new(CommittedLeaderId::new(term, 2), index)
}

fn key_id() -> KeyId {
    KeyId(Uuid::from_bytes([1; 16]))
}

/// A forwarded CreateKey as the caller asked for it (no tags, an empty description).
fn draft() -> KeyDraft {
    KeyDraft {
        description: String::new(),
        spec: KeySpec::SymmetricDefault,
        usage: KeyUsage::EncryptDecrypt,
        origin: Origin::AwsKms,
        tags: Vec::new(),
    }
}

fn node(n: u64) -> TrentNode {
    TrentNode { api_addr: format!("127.0.0.1:{}", 7000 + n), peer_addr: format!("127.0.0.1:{}", 7100 + n) }
}

fn membership() -> Membership<NodeId, TrentNode> {
    Membership::new(
        vec![BTreeSet::from([1, 2, 3])],
        BTreeMap::from([(1, node(1)), (2, node(2)), (3, node(3))]),
    )
}

fn entries() -> Vec<Entry> {
    let request = Request {
        request_id: RequestId(Uuid::from_bytes([0x40; 16])),
        issued_at_ms: 1_764_000_000_000,
        command: Command::DisableKey { key_id: key_id() },
    };
    vec![
        Entry { log_id: log_id(3, 41), payload: EntryPayload::Blank },
        Entry {
            log_id: log_id(3, 42),
            payload: EntryPayload::Normal(RequestBatch { requests: vec![request] }),
        },
        Entry { log_id: log_id(3, 43), payload: EntryPayload::Membership(membership()) },
    ]
}

fn key_record() -> KeyRecord {
    KeyRecord {
        key_id: key_id(),
        created_at_ms: 1_764_000_000_000,
        description: "golden key".into(),
        spec: KeySpec::SymmetricDefault,
        usage: KeyUsage::EncryptDecrypt,
        origin: Origin::AwsKms,
        lifecycle: KeyLifecycle::Enabled,
        tags: BTreeMap::from([("team".into(), "storage".into())]),
        materials: vec![KeyMaterial {
            version: 1,
            sealed: WrappedSecret { barrier_version: 1, sealed: vec![7; 60] },
            created_at_ms: 1_764_000_000_000,
        }],
    }
}

use trent_storage::fixture_file::Check;

/// A sample in one format: its bytes and its check.
pub(crate) struct Sample {
    format: Format,
}

impl Sample {
    fn encode<T: Serialize + DeserializeOwned + 'static>(&self, value: &T) -> (Vec<u8>, Check) {
        let format = self.format;
        let bytes = codec::encode_at(format, value).expect("encode sample");
        let expected = bytes.clone();
        let check: Check = Box::new(move |found: &[u8]| {
            let decoded: T = codec::decode(found).map_err(|error| error.to_string())?;
            let again = codec::encode_at(format, &decoded).map_err(|error| error.to_string())?;
            (again == expected).then_some(()).ok_or_else(|| "decodes to a different value".to_owned())
        });
        (bytes, check)
    }
}

pub(crate) fn samples(format: Format) -> Vec<(String, Vec<u8>, Check)> {
    type AppendReply = Reply<AppendEntriesResponse<NodeId>, openraft::error::Infallible>;
    let vote = Vote::new_committed(3, 2);
    let snapshot_meta = SnapshotMeta {
        last_log_id: Some(log_id(3, 300)),
        last_membership: StoredMembership::new(Some(log_id(3, 40)), membership()),
        snapshot_id: "3-2-300-1".into(),
    };
    let forwarded = vec![
        ForwardedProposal {
            request_id: RequestId(Uuid::from_bytes([0x41; 16])),
            proposal: Proposal::CreateKey(draft()),
        },
        ForwardedProposal {
            request_id: RequestId(Uuid::from_bytes([0x42; 16])),
            proposal: Proposal::Command(Command::EnableKey { key_id: key_id() }),
        },
    ];
    let append = AppendEntriesRequest::<TypeConfig> {
        vote,
        prev_log_id: Some(log_id(3, 40)),
        entries: entries(),
        leader_commit: Some(log_id(3, 39)),
    };
    let vote_reply = Reply::<VoteResponse<NodeId>, openraft::error::Infallible>::Ok(VoteResponse {
        vote: Vote::new(4, 3),
        vote_granted: true,
        last_log_id: Some(log_id(3, 44)),
    });
    let install = InstallSnapshotRequest::<TypeConfig> {
        vote,
        meta: snapshot_meta,
        offset: 0,
        data: vec![0x03, 0x10, 0x01],
        done: true,
    };
    let install_reply = Reply::<InstallSnapshotResponse<NodeId>, openraft::error::InstallSnapshotError>::Ok(
        InstallSnapshotResponse { vote },
    );
    let written = LeaderReply::Written {
        results: vec![
            Ok(Applied::Key(Box::new(key_record()))),
            Ok(Applied::Done),
            Err(Rejection::new(ErrorCode::NotFound, "Key 'x' does not exist")),
        ],
        commit_index: Some(45),
    };
    let e = Sample { format };
    let mut samples = vec![
        ("append-entries-request", e.encode(&append)),
        ("append-entries-reply-success", e.encode(&AppendReply::Ok(AppendEntriesResponse::Success))),
        (
            "append-entries-reply-partial",
            e.encode(&AppendReply::Ok(AppendEntriesResponse::PartialSuccess(Some(log_id(3, 41))))),
        ),
        ("append-entries-reply-conflict", e.encode(&AppendReply::Ok(AppendEntriesResponse::Conflict))),
        (
            "append-entries-reply-higher-vote",
            e.encode(&AppendReply::Ok(AppendEntriesResponse::HigherVote(Vote::new(4, 3)))),
        ),
        (
            "vote-request",
            e.encode(&VoteRequest::<NodeId> { vote: Vote::new(4, 3), last_log_id: Some(log_id(3, 44)) }),
        ),
        ("vote-reply", e.encode(&vote_reply)),
        ("install-snapshot-request", e.encode(&install)),
        ("install-snapshot-reply", e.encode(&install_reply)),
        ("leader-op-write-batch", e.encode(&LeaderOp::WriteBatch(forwarded))),
        ("leader-op-read-index", e.encode(&LeaderOp::ReadIndex)),
        ("leader-op-add-learner", e.encode(&LeaderOp::AddLearner { node_id: 4, node: node(4) })),
        ("leader-op-promote", e.encode(&LeaderOp::Promote { node_id: 4 })),
        ("leader-op-remove", e.encode(&LeaderOp::Remove { node_id: 4 })),
        ("leader-reply-written", e.encode(&written)),
        ("leader-reply-read-index", e.encode(&LeaderReply::ReadIndex(Some(46)))),
        ("leader-reply-membership-changed", e.encode(&LeaderReply::MembershipChanged { log_index: 47 })),
        ("leader-reply-not-leader", e.encode(&LeaderReply::NotLeader(Some(2)))),
        ("leader-reply-failed", e.encode(&LeaderReply::Failed(KmsError::new(ErrorCode::Internal, "failed")))),
    ];
    if format != Format::LEGACY {
        samples.push(("feature-report", e.encode(&FeatureReport { supported_level: 1 })));
    }
    if format >= Format::V2 {
        let policy = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}"#;
        let forwarded = vec![ForwardedProposal {
            request_id: RequestId(Uuid::from_bytes([0x43; 16])),
            proposal: Proposal::CreateKeyWithPolicy { draft: draft(), policy: policy.to_owned() },
        }];
        samples.push(("leader-op-write-key-with-policy", e.encode(&LeaderOp::WriteBatch(forwarded))));
        let granted = LeaderReply::Written {
            results: vec![Ok(Applied::Grant { grant_id: "ab".repeat(32), log_index: 48 })],
            commit_index: Some(48),
        };
        samples.push(("leader-reply-written-grant", e.encode(&granted)));
        samples.push(("feature-report-level-two", e.encode(&FeatureReport { supported_level: 2 })));
    }
    samples.into_iter().map(|(name, (bytes, check))| (name.to_owned(), bytes, check)).collect()
}

pub(crate) fn fixture_path(version: u32) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/peer-v{version}.txt"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every peer format this build sends or reads; each has its fixture.
    const FORMATS: [Format; 3] = [Format::LEGACY, Format::V1, Format::V2];

    #[test]
    fn every_golden_peer_fixture_decodes_and_this_build_writes_it_byte_for_byte() {
        for format in FORMATS {
            let header = format!("Peer {format}: 0xff, the version (u16, big-endian), then bincode 2 (standard config) over serde.\nWritten once by the build that introduced it; never rewrite it.");
            let write = format == Format::CURRENT && std::env::var_os("TRENT_WRITE_GOLDEN").is_some();
            trent_storage::fixture_file::verify(
                &fixture_path(u32::from(format.0)),
                &samples(format),
                write.then_some(header.as_str()),
            )
            .unwrap_or_else(|error| panic!("{format}: {error}"));
        }
    }
}
