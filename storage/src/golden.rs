//! Golden bytes: one sample of every type this crate stores, encoded, pinned in
//! `tests/fixtures/formats-v<N>.txt` (`name hex` per line). A fixture is written once, by the
//! build whose format it pins (`TRENT_WRITE_GOLDEN=1 cargo test -p trent-storage golden`), and
//! never rewritten: every later build must decode it to the same sample.

use std::collections::BTreeMap;

use openraft::{EntryPayload, Membership, Vote};
use trent_wire::model::{ImportType, KeySpec, KeyUsage, Origin};
use trent_wire::ErrorCode;
use uuid::Uuid;

use crate::codec::{decode, encode, encode_at, Format};
use crate::command::{Command, KeyDraft, KeyId, NewKey, Rejection, Request, RequestBatch, RequestId};
use crate::features::ClusterFeatures;
use crate::import::NewImportedMaterial;
use crate::materials::KeyRotation;
use crate::registry::{
    AccessKeyRecord, AliasRecord, DedupOutcome, DedupRecord, GrantRecord, KeyLifecycle, KeyMaterial,
    KeyRecord, UserRecord,
};
use crate::rotation::{RotatedMaterial, RotationKind};

pub(crate) mod format3;
use crate::rows::RegistryRows;
use crate::sealed::{SealedKeyring, UnsealSplit, UnsealSplits, WrappedBarrierKey, WrappedSecret};
use crate::snapshot_file::StoredSnapshot;
use crate::types::{Entry, LogId, SnapshotMeta, StoredMembership, TrentNode};
use format3::{
    external_key_records, import_parameters, material_id, rotated_key_record, rows_v3, token_id, DAY_MS,
    LATER_MS,
};

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
            KeyMaterial::created(1, wrapped(n), 1_764_000_000_000),
            KeyMaterial::created(2, wrapped(n + 1), 1_764_000_100_000),
        ],
        current_version: 2,
        rotation: KeyRotation::default(),
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
        ("raise-feature-level", Command::RaiseFeatureLevel { level: 1 }),
        ("create-user", Command::CreateUser { name: "alice".into(), policy: Some(policy()) }),
        ("delete-user", Command::DeleteUser { name: "alice".into() }),
        ("put-user-policy", Command::PutUserPolicy { name: "alice".into(), policy: None }),
        (
            "create-user-access-key",
            Command::CreateUserAccessKey { user: "alice".into(), record: access_key() },
        ),
        (
            "create-key-with-policy",
            Command::CreateKeyWithPolicy {
                key: NewKey { key_id: key_id(2), draft: draft(), material: wrapped(2) },
                policy: policy(),
            },
        ),
        ("put-key-policy", Command::PutKeyPolicy { key_id: key_id(1), policy: policy() }),
        ("create-grant", Command::CreateGrant(grant())),
        ("remove-grant", Command::RemoveGrant { key_id: key_id(1), grant_id: "ab".repeat(32) }),
        (
            "create-external-key",
            Command::CreateExternalKey {
                key_id: key_id(9),
                draft: KeyDraft { origin: Origin::External, ..draft() },
                policy: Some(policy()),
            },
        ),
        ("set-key-rotation", Command::SetKeyRotation { key_id: key_id(1), period_days: Some(365) }),
        ("set-key-rotation-off", Command::SetKeyRotation { key_id: key_id(1), period_days: None }),
        (
            "rotate-key-automatic",
            Command::RotateKey {
                key_id: key_id(1),
                kind: RotationKind::Automatic { due_at_ms: LATER_MS },
                material: Some(RotatedMaterial { id: material_id(0x31), sealed: wrapped(0x31) }),
            },
        ),
        (
            "rotate-key-on-demand",
            Command::RotateKey { key_id: key_id(9), kind: RotationKind::OnDemand, material: None },
        ),
        ("create-import-parameters", Command::CreateImportParameters(import_parameters())),
        (
            "import-key-material",
            Command::ImportKeyMaterial {
                key_id: key_id(9),
                token_id: token_id(),
                import_type: Some(ImportType::ExistingKeyMaterial),
                claimed_id: Some(material_id(0x41)),
                material: NewImportedMaterial {
                    id: material_id(0x41),
                    sealed: wrapped(0x41),
                    valid_to_ms: Some(LATER_MS + 300 * DAY_MS),
                    description: Some("golden import".into()),
                },
            },
        ),
        (
            "import-key-material-defaults",
            Command::ImportKeyMaterial {
                key_id: key_id(9),
                token_id: token_id(),
                import_type: None,
                claimed_id: None,
                material: NewImportedMaterial {
                    id: material_id(0x43),
                    sealed: wrapped(0x43),
                    valid_to_ms: None,
                    description: None,
                },
            },
        ),
        (
            "delete-imported-key-material",
            Command::DeleteImportedKeyMaterial { key_id: key_id(9), material_id: material_id(0x41) },
        ),
        (
            "expire-imported-key-material",
            Command::ExpireImportedKeyMaterial {
                key_id: key_id(9),
                material_id: material_id(0x41),
                valid_to_ms: LATER_MS + 300 * DAY_MS,
            },
        ),
        ("forget-import-parameters", Command::ForgetImportParameters { token_id: token_id() }),
    ]
}

pub(crate) fn policy() -> String {
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}"#
        .into()
}

pub(crate) fn user() -> UserRecord {
    UserRecord { name: "Alice".into(), created_at_ms: 1_764_000_000_000, policy: Some(policy()) }
}

pub(crate) fn grant() -> GrantRecord {
    GrantRecord {
        key_id: key_id(1),
        grant: trent_policy::Grant {
            grant_id: "ab".repeat(32),
            grantee_principal: "arn:aws:iam::111122223333:user/alice".into(),
            operations: vec!["Decrypt".into(), "Encrypt".into()],
            constraints: Some(trent_policy::GrantConstraints {
                equals: None,
                subset: Some(BTreeMap::from([("purpose".into(), "golden".into())])),
            }),
        },
        name: Some("golden-grant".into()),
        retiring_principal: Some("arn:aws:iam::111122223333:user/admin".into()),
        issuing_principal: "arn:aws:iam::111122223333:user/admin".into(),
        created_at_ms: 1_764_000_000_000,
    }
}

pub(crate) fn access() -> crate::rows::AccessRows {
    crate::rows::AccessRows {
        users: vec![user()],
        access_key_owners: vec![("TRNTGOLDEN0000000001".into(), "Alice".into())],
        key_policies: vec![(key_id(1), policy())],
        grants: vec![grant()],
    }
}

/// The commands a build writing `format` knew.
pub(crate) fn commands_of(format: Format) -> Vec<(&'static str, Command)> {
    commands()
        .into_iter()
        .filter(|(_, command)| {
            let known = match format {
                Format::LEGACY | Format::V1 => command.required_level() <= 1,
                Format::V2 => command.required_level() <= 3,
                _ => true,
            };
            let legacy = format != Format::LEGACY
                || command.required_level() == 0
                || !matches!(command, Command::RaiseFeatureLevel { .. });
            known && legacy
        })
        .collect()
}

fn request(n: u8, command: Command) -> Request {
    Request {
        request_id: RequestId(Uuid::from_bytes([0x40 + n; 16])),
        issued_at_ms: 1_764_000_000_000,
        command,
    }
}

pub(crate) fn batch(format: Format) -> RequestBatch {
    RequestBatch {
        requests: (0u8..).zip(commands_of(format)).map(|(n, (_, command))| request(n, command)).collect(),
    }
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
        features: ClusterFeatures::default(),
        access: Default::default(),
        import_parameters: Vec::new(),
    }
}

pub(crate) fn snapshot_meta() -> SnapshotMeta {
    SnapshotMeta {
        last_log_id: Some(log_id(3, 300)),
        last_membership: stored_membership(),
        snapshot_id: "3-2-300-1".into(),
    }
}

use crate::fixture_file::Check;

/// A sample: its name, the bytes of it in the sample's format, and its check.
type Sample = (String, Vec<u8>, Check);

fn plain<T>(name: &str, format: Format, value: T) -> Sample
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug + 'static,
{
    let bytes = encode_at(format, &value).expect("encode sample");
    let check: Check = Box::new(move |bytes: &[u8]| match decode::<T>(bytes) {
        Ok(decoded) if decoded == value => Ok(()),
        Ok(decoded) => Err(format!("decoded {decoded:?}, expected {value:?}")),
        Err(error) => Err(error.to_string()),
    });
    (name.to_owned(), bytes, check)
}

/// A key row: the layout of `crate::legacy` up to format 2, upgraded when read.
fn key_row(name: &str, format: Format, key: KeyRecord) -> Sample {
    let bytes = crate::legacy::encode_key_record(format, &key).expect("encode key row");
    let check: Check = Box::new(move |bytes: &[u8]| match crate::legacy::decode_key_record(bytes) {
        Ok(decoded) if decoded == key => Ok(()),
        Ok(decoded) => Err(format!("decoded {decoded:?}, expected {key:?}")),
        Err(error) => Err(error.to_string()),
    });
    (name.to_owned(), bytes, check)
}

/// A single row that format 0 kept under its legacy id, read there without a version.
fn single_row<T>(name: &str, format: Format, value: T) -> Sample
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug + 'static,
{
    let (name, bytes, check) = plain(name, format, value);
    if format != Format::LEGACY {
        return (name, bytes, check);
    }
    let legacy: Check = Box::new(move |bytes: &[u8]| {
        let versioned_again =
            encode_at(Format::CURRENT, &crate::codec::decode_payload::<T>(bytes).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
        check(&versioned_again)
    });
    (name, bytes, legacy)
}

fn payload(name: &str, format: Format, rows: RegistryRows) -> Sample {
    let bytes = rows.encode_snapshot(format).expect("encode payload");
    let expected = encode(&rows).expect("encode rows");
    let check: Check = Box::new(move |bytes: &[u8]| {
        let decoded = RegistryRows::decode_snapshot(bytes).map_err(|e| e.to_string())?;
        (encode(&decoded).expect("encode rows") == expected)
            .then_some(())
            .ok_or_else(|| "different rows".to_owned())
    });
    (name.to_owned(), bytes, check)
}

/// Every stored sample in `format`: what a build writing that format wrote.
pub(crate) fn samples(format: Format) -> Vec<Sample> {
    let f = format;
    let mut samples = vec![
        plain("log-entry-blank", f, Entry { log_id: log_id(3, 41), payload: EntryPayload::Blank }),
        plain(
            "log-entry-normal",
            f,
            Entry { log_id: log_id(3, 42), payload: EntryPayload::Normal(batch(f)) },
        ),
        plain(
            "log-entry-membership",
            f,
            Entry { log_id: log_id(3, 43), payload: EntryPayload::Membership(membership()) },
        ),
        plain("vote", f, Vote::new_committed(3, 2)),
        plain("log-id", f, Some(log_id(3, 44))),
        key_row("key-row-enabled", f, key_record(1, KeyLifecycle::Enabled)),
        key_row("key-row-disabled", f, key_record(3, KeyLifecycle::Disabled)),
        key_row(
            "key-row-pending-deletion",
            f,
            key_record(
                5,
                KeyLifecycle::PendingDeletion { deletion_at_ms: 1_766_000_000_000, window_days: 30 },
            ),
        ),
        plain("alias-row", f, alias()),
        plain("dedup-row-key", f, dedup(DedupOutcome::Key(key_id(1)))),
        plain("dedup-row-done", f, dedup(DedupOutcome::Done)),
        plain(
            "dedup-row-rejected",
            f,
            dedup(DedupOutcome::Rejected(Rejection::new(ErrorCode::NotFound, "Key 'x' does not exist"))),
        ),
        single_row("keyring-row", f, keyring()),
        plain("access-key-row", f, access_key()),
        single_row("unseal-splits-row", f, splits()),
        plain("applied-row", f, Some(log_id(3, 45))),
        plain("membership-row", f, stored_membership()),
        payload("snapshot-payload", f, rows(true)),
        payload("snapshot-payload-without-splits", f, rows(false)),
    ];
    let data = rows(true).encode_snapshot(f).expect("payload");
    let file =
        encode_at(f, &StoredSnapshot { meta: snapshot_meta(), data: data.clone() }).expect("snapshot file");
    let check: Check = Box::new(move |bytes: &[u8]| {
        let stored: StoredSnapshot = crate::codec::decode_snapshot(bytes).map_err(|e| e.to_string())?;
        (stored.meta == snapshot_meta() && stored.data == data)
            .then_some(())
            .ok_or_else(|| "different snapshot".to_owned())
    });
    samples.push(("snapshot-file".to_owned(), file, check));
    if f != Format::LEGACY {
        let features = ClusterFeatures { level: 1, level_one_at: Some((300, 2)) };
        samples.push(plain("features-row", f, features));
        let mut with_features = rows(true);
        with_features.features = features;
        samples.push(payload("snapshot-payload-with-features", f, with_features));
    }
    if f >= Format::V2 {
        samples.push(plain("user-row", f, user()));
        samples.push(plain("access-key-owner-row", f, "Alice".to_owned()));
        samples.push(plain("key-policy-row", f, policy()));
        samples.push(plain("grant-row", f, grant()));
        samples.push(plain("dedup-row-grant", f, dedup(DedupOutcome::Grant("ab".repeat(32)))));
        let mut with_access = rows(true);
        with_access.features = ClusterFeatures { level: 2, level_one_at: Some((300, 2)) };
        with_access.access = access();
        samples.push(payload("snapshot-payload-with-access", f, with_access));
    }
    if f >= Format::V3 {
        samples.push(key_row("key-row-rotated", f, rotated_key_record()));
        for (name, key) in external_key_records() {
            samples.push(key_row(name, f, key));
        }
        samples.push(plain("import-parameters-row", f, import_parameters()));
        samples.push(plain(
            "dedup-row-import-parameters",
            f,
            dedup(DedupOutcome::ImportParameters(token_id())),
        ));
        samples.push(plain(
            "dedup-row-rejected-conflict",
            f,
            dedup(DedupOutcome::Rejected(Rejection::new(ErrorCode::Conflict, "rotation due"))),
        ));
        samples.push(plain("features-row-level-four", f, rows_v3().features));
        samples.push(payload("snapshot-payload-with-rotation-and-import", f, rows_v3()));
    }
    for (name, command) in commands_of(f) {
        let print = if f == Format::LEGACY { command.legacy_fingerprint() } else { command.fingerprint() };
        let check: Check = Box::new(move |bytes: &[u8]| {
            (bytes == print.to_be_bytes())
                .then_some(())
                .ok_or_else(|| format!("fingerprint is now {print:016x}"))
        });
        samples.push((format!("fingerprint-{name}"), print.to_be_bytes().to_vec(), check));
    }
    samples
}

pub(crate) fn fixture_path(version: u32) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/formats-v{version}.txt"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every format this build writes or reads; each has its fixture.
    const FORMATS: [Format; 4] = [Format::LEGACY, Format::V1, Format::V2, Format::V3];

    #[test]
    fn the_samples_keep_every_invariant() {
        let registry = rows_v3().into_registry().expect("the format-3 samples make a registry");
        assert_eq!(registry.key_count(), 8);
        for format in FORMATS {
            rows(true).encode_snapshot(format).expect("every format holds the older samples");
        }
        let refused = rows_v3().encode_snapshot(Format::V2).unwrap_err().to_string();
        assert!(refused.contains("import parameters do not fit format 2"), "{refused}");
    }

    #[test]
    fn every_golden_fixture_decodes_to_its_sample_and_this_build_writes_it_byte_for_byte() {
        // An encoding that changes without a new format fails here: bump Format::CURRENT, keep
        // the old layout readable, and add a fixture for the new one.
        for format in FORMATS {
            let header = format!("Stored {format}: 0xff, the version (u16, big-endian), then bincode 2 (standard config) over serde.\nWritten once by the build that introduced it; never rewrite it.");
            let write = format == Format::CURRENT && std::env::var_os("TRENT_WRITE_GOLDEN").is_some();
            crate::fixture_file::verify(
                &fixture_path(u32::from(format.0)),
                &samples(format),
                write.then_some(header.as_str()),
            )
            .unwrap_or_else(|error| panic!("{format}: {error}"));
        }
    }
}
