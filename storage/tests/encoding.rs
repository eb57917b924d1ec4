//! The stored encoding of enums is their variant position (bincode over serde), so reordering or
//! inserting a variant would silently change what existing logs, rows and snapshots mean. These
//! tests pin every stored enum's order: new variants go at the end, and these lists grow with them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use trent_storage::codec::{encode, split};
use trent_wire::model::{KeySpec, KeyState, KeyUsage, Origin};
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
    ];
    assert_eq!(positions(&codes), expected(codes.len()));
}
