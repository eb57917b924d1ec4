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
    Applied, AutomaticRotation, Command, ImportTokenId, KeyDraft, KeyId, KeyLifecycle, KeyMaterial,
    KeyMaterialId, KeyRecord, KeyRotation, MaterialSource, NodeId, Rejection, Request, RequestBatch,
    RequestId, RotationEvent, RotationKind, TrentNode, TypeConfig,
};
use trent_wire::model::{KeySpec, KeyUsage, Origin, RotationType, WrappingAlgorithm, WrappingKeySpec};
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
        materials: vec![KeyMaterial::created(
            1,
            WrappedSecret { barrier_version: 1, sealed: vec![7; 60] },
            1_764_000_000_000,
        )],
        current_version: 1,
        rotation: KeyRotation::default(),
    }
}

/// A key rotated twice on demand, automatic rotation on, as a write's result shows it: its
/// current material only.
fn rotated_key_reply() -> KeyRecord {
    let at_ms = 1_766_000_000_000;
    KeyRecord {
        materials: vec![KeyMaterial {
            version: 3,
            created_at_ms: at_ms,
            became_current: Some(RotationEvent { kind: RotationType::OnDemand, at_ms }),
            source: MaterialSource::Rotated {
                id: KeyMaterialId([0x31; 32]),
                sealed: WrappedSecret { barrier_version: 1, sealed: vec![8; 60] },
            },
        }],
        current_version: 3,
        rotation: KeyRotation {
            automatic: Some(AutomaticRotation {
                period_days: 90,
                anchor_ms: at_ms,
                next_at_ms: at_ms + 90 * 24 * 60 * 60 * 1000,
            }),
            on_demand_count: 2,
        },
        ..key_record()
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

    /// A leader's reply, whose layout changed in format 3 (`super::legacy`).
    fn reply(&self, reply: &LeaderReply) -> (Vec<u8>, Check) {
        let format = self.format;
        let bytes = super::legacy::encode_reply(format, reply).expect("encode sample");
        let expected = bytes.clone();
        let check: Check = Box::new(move |found: &[u8]| {
            let decoded = super::legacy::decode_reply(found).map_err(|error| error.to_string())?;
            let again = super::legacy::encode_reply(format, &decoded).map_err(|error| error.to_string())?;
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
        ("leader-reply-written", e.reply(&written)),
        ("leader-reply-read-index", e.reply(&LeaderReply::ReadIndex(Some(46)))),
        ("leader-reply-membership-changed", e.reply(&LeaderReply::MembershipChanged { log_index: 47 })),
        ("leader-reply-not-leader", e.reply(&LeaderReply::NotLeader(Some(2)))),
        ("leader-reply-failed", e.reply(&LeaderReply::Failed(KmsError::new(ErrorCode::Internal, "failed")))),
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
        samples.push(("leader-reply-written-grant", e.reply(&granted)));
        samples.push(("feature-report-level-two", e.encode(&FeatureReport { supported_level: 2 })));
    }
    if format >= Format::V3 {
        let forwarded = vec![
            ForwardedProposal {
                request_id: RequestId(Uuid::from_bytes([0x44; 16])),
                proposal: Proposal::RotateKey { key_id: key_id(), kind: RotationKind::OnDemand },
            },
            ForwardedProposal {
                request_id: RequestId(Uuid::from_bytes([0x45; 16])),
                proposal: Proposal::RotateKey {
                    key_id: key_id(),
                    kind: RotationKind::Automatic { due_at_ms: 1_766_000_000_000 },
                },
            },
            ForwardedProposal {
                request_id: RequestId(Uuid::from_bytes([0x46; 16])),
                proposal: Proposal::CreateImportParameters {
                    key_id: key_id(),
                    algorithm: WrappingAlgorithm::RsaesOaepSha256,
                    wrapping_spec: WrappingKeySpec::Rsa3072,
                },
            },
            ForwardedProposal {
                request_id: RequestId(Uuid::from_bytes([0x47; 16])),
                proposal: Proposal::Command(Command::SetKeyRotation {
                    key_id: key_id(),
                    period_days: Some(90),
                }),
            },
        ];
        samples.push(("leader-op-write-rotation-and-import", e.encode(&LeaderOp::WriteBatch(forwarded))));
        let written = LeaderReply::Written {
            results: vec![
                Ok(Applied::Key(Box::new(rotated_key_reply()))),
                Ok(Applied::ImportParameters {
                    token_id: ImportTokenId([0x77; 16]),
                    public_key: vec![0x30; 64],
                    valid_to_ms: 1_766_086_400_000,
                }),
                Err(Rejection::new(ErrorCode::Conflict, "an automatic rotation is due")),
            ],
            commit_index: Some(49),
        };
        samples.push(("leader-reply-written-rotation-and-import", e.reply(&written)));
        samples.push(("feature-report-level-four", e.encode(&FeatureReport { supported_level: 4 })));
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
    const FORMATS: [Format; 4] = [Format::LEGACY, Format::V1, Format::V2, Format::V3];

    #[test]
    fn a_reply_below_format_3_refuses_what_format_2_cannot_say() {
        let rotated = LeaderReply::Written {
            results: vec![Ok(Applied::Key(Box::new(rotated_key_reply())))],
            commit_index: None,
        };
        let refused = super::super::legacy::encode_reply(Format::V2, &rotated).unwrap_err().to_string();
        assert!(refused.contains("cannot be expressed in format 2"), "{refused}");
        let parameters = LeaderReply::Written {
            results: vec![Ok(Applied::ImportParameters {
                token_id: ImportTokenId([1; 16]),
                public_key: vec![1],
                valid_to_ms: 1,
            })],
            commit_index: None,
        };
        assert!(super::super::legacy::encode_reply(Format::V1, &parameters).is_err());
        // A key made before format 3 goes either way and reads back the same.
        let plain = LeaderReply::Written {
            results: vec![Ok(Applied::Key(Box::new(key_record())))],
            commit_index: Some(1),
        };
        for format in FORMATS {
            let bytes = super::super::legacy::encode_reply(format, &plain).unwrap();
            match super::super::legacy::decode_reply(&bytes).unwrap() {
                LeaderReply::Written { results, .. } => {
                    assert_eq!(results, vec![Ok(Applied::Key(Box::new(key_record())))], "{format}")
                }
                other => panic!("{format}: {other:?}"),
            }
        }
    }

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
