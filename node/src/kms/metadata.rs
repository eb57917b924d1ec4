//! `KeyMetadata` as AWS reports it, built from a registry record.

use trent_storage::{KeyLifecycle, KeyRecord};
use trent_wire::kms::KeyMetadata;
use trent_wire::model::{KeySpec, KeyUsage};

use super::identifiers::key_arn;
use crate::config::ArnScope;

/// Milliseconds since the epoch as AWS's epoch seconds.
pub fn epoch_seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// The metadata of `key`.
pub fn key_metadata(key: &KeyRecord, scope: &ArnScope) -> KeyMetadata {
    let (deletion_date, pending_window) = match key.lifecycle {
        KeyLifecycle::PendingDeletion { deletion_at_ms, window_days } => {
            (Some(epoch_seconds(deletion_at_ms)), Some(i64::from(window_days)))
        }
        KeyLifecycle::Enabled | KeyLifecycle::Disabled => (None, None),
    };
    let algorithms = |names: &[&str]| Some(names.iter().map(|name| name.to_string()).collect());
    let (encryption_algorithms, signing_algorithms, mac_algorithms) = match key.usage {
        KeyUsage::EncryptDecrypt => (Some(encryption_algorithms(key.spec)), None, None),
        KeyUsage::SignVerify => (None, Some(signing_algorithms(key.spec)), None),
        KeyUsage::GenerateVerifyMac => {
            (None, None, mac_algorithm(key.spec).and_then(|name| algorithms(&[name])))
        }
        KeyUsage::KeyAgreement => (None, None, None),
    };
    KeyMetadata {
        aws_account_id: scope.account_id.clone(),
        key_id: key.key_id.to_string(),
        arn: key_arn(scope, key.key_id),
        creation_date: epoch_seconds(key.created_at_ms),
        enabled: key.lifecycle == KeyLifecycle::Enabled,
        description: key.description.clone(),
        key_usage: key.usage,
        key_state: key.lifecycle.key_state(),
        deletion_date,
        pending_deletion_window_in_days: pending_window,
        origin: key.origin,
        key_manager: "CUSTOMER".into(),
        customer_master_key_spec: key.spec,
        key_spec: key.spec,
        encryption_algorithms,
        signing_algorithms,
        mac_algorithms,
        multi_region: false,
    }
}

fn encryption_algorithms(spec: KeySpec) -> Vec<String> {
    let names: &[&str] = match spec {
        KeySpec::SymmetricDefault => &["SYMMETRIC_DEFAULT"],
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => &["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"],
        _ => &[],
    };
    names.iter().map(|name| name.to_string()).collect()
}

fn signing_algorithms(spec: KeySpec) -> Vec<String> {
    let names: &[&str] = match spec {
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => &[
            "RSASSA_PSS_SHA_256",
            "RSASSA_PSS_SHA_384",
            "RSASSA_PSS_SHA_512",
            "RSASSA_PKCS1_V1_5_SHA_256",
            "RSASSA_PKCS1_V1_5_SHA_384",
            "RSASSA_PKCS1_V1_5_SHA_512",
        ],
        KeySpec::EccNistP256 | KeySpec::EccSecgP256k1 => &["ECDSA_SHA_256"],
        KeySpec::EccNistP384 => &["ECDSA_SHA_384"],
        KeySpec::EccNistP521 => &["ECDSA_SHA_512"],
        KeySpec::EccNistEdwards25519 => &["ED25519_SHA_512"],
        KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => &["ML_DSA_SHAKE_256"],
        _ => &[],
    };
    names.iter().map(|name| name.to_string()).collect()
}

fn mac_algorithm(spec: KeySpec) -> Option<&'static str> {
    match spec {
        KeySpec::Hmac224 => Some("HMAC_SHA_224"),
        KeySpec::Hmac256 => Some("HMAC_SHA_256"),
        KeySpec::Hmac384 => Some("HMAC_SHA_384"),
        KeySpec::Hmac512 => Some("HMAC_SHA_512"),
        _ => None,
    }
}
