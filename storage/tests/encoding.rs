//! The stored encoding of enums is their variant position (bincode over serde), so reordering or
//! inserting a variant would silently change what existing logs, rows and snapshots mean. These
//! tests pin every stored enum's order: new variants go at the end, and these lists grow with them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod common;

use trent_storage::codec::{encode, split};
use trent_storage::sealed::WrappedSecret;
use trent_storage::{
    Applied, Command, DedupOutcome, ImportParametersRecord, ImportTokenId, ImportedMaterial, KeyId,
    KeyLifecycle, KeyMaterialId, MaterialSource, Rejection, RotationKind,
};
use trent_wire::model::{
    ImportType, KeySpec, KeyState, KeyUsage, Origin, RotationType, WrappingAlgorithm, WrappingKeySpec,
};
use trent_wire::ErrorCode;

fn positions<T: serde::Serialize>(values: &[T]) -> Vec<Vec<u8>> {
    // The payload after the format version: positions are the same in every format.
    values.iter().map(|value| split(&encode(value).expect("encode")).expect("split").1.to_vec()).collect()
}

fn expected(count: usize) -> Vec<Vec<u8>> {
    (0..count as u8).map(|position| vec![position]).collect()
}

#[test]
fn key_spec_positions_are_pinned() {
    let names: Vec<&str> = KeySpec::ALL.iter().map(|spec| spec.as_str()).collect();
    assert_eq!(
        names,
        [
            "SYMMETRIC_DEFAULT",
            "RSA_2048",
            "RSA_3072",
            "RSA_4096",
            "ECC_NIST_P256",
            "ECC_NIST_P384",
            "ECC_NIST_P521",
            "ECC_SECG_P256K1",
            "ECC_NIST_EDWARDS25519",
            "HMAC_224",
            "HMAC_256",
            "HMAC_384",
            "HMAC_512",
            "ML_DSA_44",
            "ML_DSA_65",
            "ML_DSA_87",
            "ML_KEM_512",
            "ML_KEM_768",
            "ML_KEM_1024",
        ]
    );
    assert_eq!(positions(KeySpec::ALL), expected(KeySpec::ALL.len()));
}

#[test]
fn key_usage_state_and_origin_positions_are_pinned() {
    let usages: Vec<&str> = KeyUsage::ALL.iter().map(|usage| usage.as_str()).collect();
    assert_eq!(
        usages,
        ["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT", "ENCAPSULATE_DECAPSULATE"]
    );
    assert_eq!(positions(KeyUsage::ALL), expected(KeyUsage::ALL.len()));

    let states: Vec<&str> = KeyState::ALL.iter().map(|state| state.as_str()).collect();
    assert_eq!(states, ["Enabled", "Disabled", "PendingDeletion", "PendingImport", "Unavailable"]);
    assert_eq!(positions(KeyState::ALL), expected(KeyState::ALL.len()));

    let origins: Vec<&str> = Origin::ALL.iter().map(|origin| origin.as_str()).collect();
    assert_eq!(origins, ["AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"]);
    assert_eq!(positions(Origin::ALL), expected(Origin::ALL.len()));
}

#[test]
fn error_code_positions_are_pinned() {
    // Rejections (with their ErrorCode) are stored in dedup records.
    let codes = [
        ErrorCode::NotFound,
        ErrorCode::AlreadyExists,
        ErrorCode::Validation,
        ErrorCode::InvalidArn,
        ErrorCode::InvalidAliasName,
        ErrorCode::InvalidMarker,
        ErrorCode::Disabled,
        ErrorCode::InvalidState,
        ErrorCode::Tag,
        ErrorCode::LimitExceeded,
        ErrorCode::UnsupportedOperation,
        ErrorCode::UnknownOperation,
        ErrorCode::Serialization,
        ErrorCode::RequestTooLarge,
        ErrorCode::AccessDenied,
        ErrorCode::DependencyTimeout,
        ErrorCode::ServiceUnavailable,
        ErrorCode::Internal,
        ErrorCode::MissingAuthenticationToken,
        ErrorCode::UnrecognizedClient,
        ErrorCode::InvalidSignature,
        ErrorCode::IncompleteSignature,
        ErrorCode::InvalidCiphertext,
        ErrorCode::IncorrectKey,
        ErrorCode::InvalidKeyUsage,
        ErrorCode::DryRunOperation,
        ErrorCode::KeyUnavailable,
        ErrorCode::Throttling,
        ErrorCode::MalformedPolicyDocument,
        ErrorCode::InvalidGrantId,
        ErrorCode::InvalidGrantToken,
        ErrorCode::DeleteConflict,
        ErrorCode::KmsInvalidSignature,
        ErrorCode::KmsInvalidMac,
        ErrorCode::IncorrectKeyMaterial,
        ErrorCode::ExpiredImportToken,
        ErrorCode::InvalidImportToken,
        ErrorCode::Conflict,
    ];
    assert_eq!(positions(&codes), expected(codes.len()));
}

#[test]
fn rotation_and_import_enum_positions_are_pinned() {
    let names = |all: &[&str]| all.iter().map(|name| (*name).to_owned()).collect::<Vec<_>>();
    let algorithms: Vec<String> = WrappingAlgorithm::ALL.iter().map(|a| a.as_str().to_owned()).collect();
    assert_eq!(
        algorithms,
        names(&[
            "RSAES_PKCS1_V1_5",
            "RSAES_OAEP_SHA_1",
            "RSAES_OAEP_SHA_256",
            "RSA_AES_KEY_WRAP_SHA_1",
            "RSA_AES_KEY_WRAP_SHA_256",
            "SM2PKE"
        ])
    );
    assert_eq!(positions(WrappingAlgorithm::ALL), expected(WrappingAlgorithm::ALL.len()));
    let specs: Vec<&str> = WrappingKeySpec::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(specs, ["RSA_2048", "RSA_3072", "RSA_4096", "SM2"]);
    assert_eq!(positions(WrappingKeySpec::ALL), expected(WrappingKeySpec::ALL.len()));
    let types: Vec<&str> = ImportType::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(types, ["NEW_KEY_MATERIAL", "EXISTING_KEY_MATERIAL"]);
    assert_eq!(positions(ImportType::ALL), expected(ImportType::ALL.len()));
    let rotations: Vec<&str> = RotationType::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(rotations, ["AUTOMATIC", "ON_DEMAND"]);
    assert_eq!(positions(RotationType::ALL), expected(RotationType::ALL.len()));
}

/// The first byte of each value's payload: its variant's position.
fn first_bytes<T: serde::Serialize>(values: &[T]) -> Vec<u8> {
    positions(values).into_iter().map(|payload| payload[0]).collect()
}

#[test]
fn stored_storage_enum_positions_are_pinned() {
    let lifecycles = [
        KeyLifecycle::Enabled,
        KeyLifecycle::Disabled,
        KeyLifecycle::PendingDeletion { deletion_at_ms: 1, window_days: 7 },
        KeyLifecycle::PendingImport,
    ];
    assert_eq!(first_bytes(&lifecycles), [0, 1, 2, 3]);
    let sealed = WrappedSecret { barrier_version: 1, sealed: vec![1] };
    let id = KeyMaterialId([1; 32]);
    let sources = [
        MaterialSource::Created { sealed: sealed.clone() },
        MaterialSource::Rotated { id, sealed: sealed.clone() },
        MaterialSource::Imported(ImportedMaterial { id, description: None, sealed: None, valid_to_ms: None }),
    ];
    assert_eq!(first_bytes(&sources), [0, 1, 2]);
    assert_eq!(first_bytes(&[RotationKind::Automatic { due_at_ms: 1 }, RotationKind::OnDemand]), [0, 1]);
    let key_id = KeyId(uuid::Uuid::from_u128(1));
    let outcomes = [
        DedupOutcome::Key(key_id),
        DedupOutcome::Done,
        DedupOutcome::Rejected(Rejection::new(ErrorCode::Conflict, "x")),
        DedupOutcome::Grant("g".into()),
        DedupOutcome::ImportParameters(ImportTokenId([1; 16])),
    ];
    assert_eq!(first_bytes(&outcomes), [0, 1, 2, 3, 4]);
    let applied = [
        Applied::Done,
        Applied::Grant { grant_id: "g".into(), log_index: 1 },
        Applied::ImportParameters { token_id: ImportTokenId([1; 16]), public_key: vec![1], valid_to_ms: 1 },
    ];
    assert_eq!(first_bytes(&applied), [1, 2, 3]);
}

#[test]
fn the_commands_of_feature_level_4_follow_every_older_one() {
    let key_id = KeyId(uuid::Uuid::from_u128(1));
    let id = KeyMaterialId([1; 32]);
    let token_id = ImportTokenId([1; 16]);
    let commands = [
        Command::RemoveGrant { key_id, grant_id: "g".into() },
        Command::CreateExternalKey { key_id, draft: common::new_key(key_id).draft, policy: None },
        Command::SetKeyRotation { key_id, period_days: None },
        Command::RotateKey { key_id, kind: RotationKind::OnDemand, material: None },
        Command::CreateImportParameters(ImportParametersRecord {
            token_id,
            key_id,
            algorithm: WrappingAlgorithm::RsaesOaepSha256,
            wrapping_spec: WrappingKeySpec::Rsa2048,
            public_key: vec![1],
            sealed_private_key: WrappedSecret { barrier_version: 1, sealed: vec![1] },
            valid_to_ms: 1,
        }),
        Command::ImportKeyMaterial {
            key_id,
            token_id,
            import_type: None,
            claimed_id: None,
            material: trent_storage::NewImportedMaterial {
                id,
                sealed: WrappedSecret { barrier_version: 1, sealed: vec![1] },
                valid_to_ms: None,
                description: None,
            },
        },
        Command::DeleteImportedKeyMaterial { key_id, material_id: id },
        Command::ExpireImportedKeyMaterial { key_id, material_id: id, valid_to_ms: 1 },
        Command::ForgetImportParameters { token_id },
    ];
    assert_eq!(first_bytes(&commands), (26..35).collect::<Vec<u8>>());
    assert!(commands[1..].iter().all(|command| command.required_level() == 4));
}
