//! Golden bytes: one sample of every type this crate stores, encoded, pinned in
//! `tests/fixtures/formats-v<N>.txt` (`name hex` per line). A fixture is written once, by the
//! build whose format it pins (`TRENT_WRITE_GOLDEN=1 cargo test -p trent-storage golden`), and
//! never rewritten: every later build must decode it to the same sample.

use std::collections::BTreeMap;

use openraft::{EntryPayload, Membership, Vote};
use trent_wire::model::{KeySpec, KeyUsage, Origin};
use trent_wire::ErrorCode;
use uuid::Uuid;

use crate::command::{Command, KeyDraft, KeyId, NewKey, Rejection, Request, RequestBatch, RequestId};
use crate::registry::{
    AccessKeyRecord, AliasRecord, DedupOutcome, DedupRecord, KeyLifecycle, KeyMaterial, KeyRecord,
};
use crate::rows::RegistryRows;
use crate::sealed::{SealedKeyring, UnsealSplit, UnsealSplits, WrappedBarrierKey, WrappedSecret};
use crate::snapshot_file::StoredSnapshot;
use crate::types::{Entry, LogId, SnapshotMeta, StoredMembership, TrentNode};

pub(crate) fn key_id(n: u8) -> KeyId {
    KeyId(Uuid::from_bytes([n; 16]))
}

pub(crate) fn wrapped(n: u8) -> WrappedSecret {
    WrappedSecret { barrier_version: 2, sealed: vec![n; 60] }
}

pub(crate) fn log_id(term: u64, index: u64) -> LogId {
    LogId::new(openraft::CommittedLeaderId::new(term, 2), index)
}

pub(crate) fn keyring() -> SealedKeyring {
    SealedKeyring {
        cluster_id: [0xff; 16],
        keys: vec![
            WrappedBarrierKey { version: 1, sealed: vec![1; 60] },
            WrappedBarrierKey { version: 2, sealed: vec![2; 60] },
        ],
    }
}

pub(crate) fn access_key() -> AccessKeyRecord {
    AccessKeyRecord {
        access_key_id: "TRNTGOLDEN0000000001".into(),
        secret: wrapped(9),
        created_at_ms: 1_764_000_000_000,
        description: "golden".into(),
    }
}

pub(crate) fn split(n: u8) -> UnsealSplit {
    UnsealSplit { threshold: 2, shares: 3, fingerprint: [n; 32] }
}

pub(crate) fn splits() -> UnsealSplits {
    UnsealSplits { current: split(7), retiring: Some(split(6)) }
}

pub(crate) fn draft() -> KeyDraft {
    KeyDraft {
        description: "golden key".into(),
        spec: KeySpec::SymmetricDefault,
        usage: KeyUsage::EncryptDecrypt,
        origin: Origin::AwsKms,
        tags: vec![("team".into(), "storage".into())],
    }
}

pub(crate) fn key_record(n: u8, lifecycle: KeyLifecycle) -> KeyRecord {
    KeyRecord {
        key_id: key_id(n),
        created_at_ms: 1_764_000_000_000 + u64::from(n),
        description: format!("golden key {n}"),
        spec: KeySpec::SymmetricDefault,
        usage: KeyUsage::EncryptDecrypt,
        origin: Origin::AwsKms,
        lifecycle,
        tags: BTreeMap::from([("team".into(), "storage".into()), ("tier".into(), "gold".into())]),
        materials: vec![
            KeyMaterial { version: 1, sealed: wrapped(n), created_at_ms: 1_764_000_000_000 },
            KeyMaterial { version: 2, sealed: wrapped(n + 1), created_at_ms: 1_764_000_100_000 },
        ],
    }
}

pub(crate) fn alias() -> AliasRecord {
    AliasRecord {
        name: "alias/golden".into(),
        key_id: key_id(1),
        created_at_ms: 1_764_000_000_000,
        updated_at_ms: 1_764_000_500_000,
    }
}

pub(crate) fn dedup(outcome: DedupOutcome) -> DedupRecord {
    DedupRecord {
        log_index: 300,
        position: 2,
        issued_at_ms: 1_764_000_000_000,
        fingerprint: 0x0123_4567_89ab_cdef,
        outcome,
    }
}

/// One of every command, in variant order.
pub(crate) fn commands() -> Vec<(&'static str, Command)> {
    vec![
        (
            "create-key",
            Command::CreateKey(NewKey { key_id: key_id(1), draft: draft(), material: wrapped(1) }),
        ),
        ("enable-key", Command::EnableKey { key_id: key_id(1) }),
        ("disable-key", Command::DisableKey { key_id: key_id(1) }),
        (
            "update-key-description",
            Command::UpdateKeyDescription { key_id: key_id(1), description: "new".into() },
        ),
        ("schedule-key-deletion", Command::ScheduleKeyDeletion { key_id: key_id(1), window_days: 30 }),
        ("cancel-key-deletion", Command::CancelKeyDeletion { key_id: key_id(1) }),
        ("delete-expired-key", Command::DeleteExpiredKey { key_id: key_id(1) }),
        ("create-alias", Command::CreateAlias { alias: "alias/golden".into(), key_id: key_id(1) }),
        ("update-alias", Command::UpdateAlias { alias: "alias/golden".into(), key_id: key_id(2) }),
        ("delete-alias", Command::DeleteAlias { alias: "alias/golden".into() }),
        ("tag-key", Command::TagKey { key_id: key_id(1), tags: vec![("a".into(), "b".into())] }),
        ("untag-key", Command::UntagKey { key_id: key_id(1), tag_keys: vec!["a".into()] }),
        ("initialize-cluster", Command::InitializeCluster { keyring: keyring(), admin: access_key() }),
        ("replace-keyring", Command::ReplaceKeyring { keyring: keyring() }),
        ("create-access-key", Command::CreateAccessKey(access_key())),
        ("delete-access-key", Command::DeleteAccessKey { access_key_id: "TRNTGOLDEN0000000001".into() }),
        ("record-unseal-split", Command::RecordUnsealSplit { split: split(7), replaces: Some([6; 32]) }),
        ("confirm-unseal-split", Command::ConfirmUnsealSplit { fingerprint: [7; 32] }),
    ]
}

fn request(n: u8, command: Command) -> Request {
    Request {
        request_id: RequestId(Uuid::from_bytes([0x40 + n; 16])),
        issued_at_ms: 1_764_000_000_000,
        command,
    }
}

pub(crate) fn batch() -> RequestBatch {
    RequestBatch { requests: (0u8..).zip(commands()).map(|(n, (_, command))| request(n, command)).collect() }
}

pub(crate) fn membership() -> Membership<u64, TrentNode> {
    let node = |n: u64| TrentNode {
        api_addr: format!("127.0.0.1:{}", 7000 + n),
        peer_addr: format!("127.0.0.1:{}", 7100 + n),
    };
    Membership::new(
        vec![std::collections::BTreeSet::from([1, 2, 3])],
        BTreeMap::from([(1, node(1)), (2, node(2)), (3, node(3))]),
    )
}

pub(crate) fn stored_membership() -> StoredMembership {
    StoredMembership::new(Some(log_id(3, 40)), membership())
}

pub(crate) fn rows(with_splits: bool) -> RegistryRows {
    RegistryRows {
        keys: vec![
            key_record(1, KeyLifecycle::Enabled),
            key_record(3, KeyLifecycle::Disabled),
            key_record(
                5,
                KeyLifecycle::PendingDeletion { deletion_at_ms: 1_766_000_000_000, window_days: 30 },
            ),
        ],
        aliases: vec![alias()],
        dedup: vec![(RequestId(Uuid::from_bytes([0x40; 16])), dedup(DedupOutcome::Key(key_id(1))))],
        keyring: Some(keyring()),
        access_keys: vec![access_key()],
        unseal_splits: with_splits.then(splits),
    }
}

pub(crate) fn snapshot_meta() -> SnapshotMeta {
    SnapshotMeta {
        last_log_id: Some(log_id(3, 300)),
        last_membership: stored_membership(),
        snapshot_id: "3-2-300-1".into(),
    }
}

/// Every stored sample, named, with the bytes this build writes for it.
pub(crate) fn encoded_samples() -> Vec<(String, Vec<u8>)> {
    use crate::codec::encode;
    let mut samples: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |name: &str, bytes: Result<Vec<u8>, bincode::error::EncodeError>| {
        samples.push((name.to_owned(), bytes.expect("encode sample")));
    };
    add("log-entry-blank", encode(&Entry { log_id: log_id(3, 41), payload: EntryPayload::Blank }));
    add("log-entry-normal", encode(&Entry { log_id: log_id(3, 42), payload: EntryPayload::Normal(batch()) }));
    add(
        "log-entry-membership",
        encode(&Entry { log_id: log_id(3, 43), payload: EntryPayload::Membership(membership()) }),
    );
    add("vote", encode(&Vote::new_committed(3, 2)));
    add("log-id", encode(&Some(log_id(3, 44))));
    add("key-row-enabled", encode(&key_record(1, KeyLifecycle::Enabled)));
    add("key-row-disabled", encode(&key_record(3, KeyLifecycle::Disabled)));
    add(
        "key-row-pending-deletion",
        encode(&key_record(
            5,
            KeyLifecycle::PendingDeletion { deletion_at_ms: 1_766_000_000_000, window_days: 30 },
        )),
    );
    add("alias-row", encode(&alias()));
    add("dedup-row-key", encode(&dedup(DedupOutcome::Key(key_id(1)))));
    add("dedup-row-done", encode(&dedup(DedupOutcome::Done)));
    add(
        "dedup-row-rejected",
        encode(&dedup(DedupOutcome::Rejected(Rejection::new(ErrorCode::NotFound, "Key 'x' does not exist")))),
    );
    add("keyring-row", encode(&keyring()));
    add("access-key-row", encode(&access_key()));
    add("unseal-splits-row", encode(&splits()));
    add("applied-row", encode(&Some(log_id(3, 45))));
    add("membership-row", encode(&stored_membership()));
    add("snapshot-payload", rows(true).encode_snapshot());
    add("snapshot-payload-without-splits", rows(false).encode_snapshot());
    let data = rows(true).encode_snapshot().expect("payload");
    add("snapshot-file", encode(&StoredSnapshot { meta: snapshot_meta(), data }));
    for (name, command) in commands() {
        add(&format!("fingerprint-{name}"), Ok(command.fingerprint().to_be_bytes().to_vec()));
    }
    samples
}

pub(crate) fn fixture_path(version: u32) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/formats-v{version}.txt"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_v0_bytes_are_what_this_build_writes() {
        let samples = encoded_samples();
        if std::env::var_os("TRENT_WRITE_GOLDEN").is_some() {
            crate::fixture_file::write(&fixture_path(0), "Stored format 0: unversioned bincode 2 (standard config) over serde.\nWritten once by the build that introduced this file; never rewrite it.", &samples).unwrap();
        }
        assert_eq!(crate::fixture_file::read(&fixture_path(0)).unwrap(), samples);
    }
}
