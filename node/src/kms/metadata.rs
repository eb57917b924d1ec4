//! `KeyMetadata` as AWS reports it, built from a registry record.

use trent_storage::{KeyLifecycle, KeyRecord};
use trent_wire::kms::KeyMetadata;
use trent_wire::model::ExpirationModel;

use trent_wire::model::KeySpec;

use super::identifiers::key_arn;
use crate::config::ArnScope;
use crate::seal::material::material_id;

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
        KeyLifecycle::Enabled | KeyLifecycle::Disabled | KeyLifecycle::PendingImport => (None, None),
    };
    let offered = trent_keys::KeyAlgorithms::of(key.spec, key.usage);
    // An EXTERNAL key's current imported material, while it has its bytes.
    let imported = key
        .current_material()
        .and_then(|material| material.imported())
        .filter(|material| material.sealed.is_some());
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
        encryption_algorithms: names(offered.encryption, |algorithm| algorithm.as_str()),
        signing_algorithms: names(offered.signing, |algorithm| algorithm.as_str()),
        mac_algorithms: names(offered.mac, |algorithm| algorithm.as_str()),
        key_agreement_algorithms: names(offered.key_agreement, |algorithm| algorithm.as_str()),
        encapsulation_algorithms: names(offered.encapsulation, |algorithm| algorithm.as_str()),
        multi_region: false,
        valid_to: imported.and_then(|material| material.valid_to_ms).map(epoch_seconds),
        expiration_model: key.holds_imported_material().then_some(match imported {
            Some(material) if material.valid_to_ms.is_none() => ExpirationModel::KeyMaterialDoesNotExpire,
            _ => ExpirationModel::KeyMaterialExpires,
        }),
        // AWS shows it for symmetric encryption keys only: the keys that rotate.
        current_key_material_id: key
            .current_material()
            .filter(|_| key.spec == KeySpec::SymmetricDefault)
            .map(|material| material_id(&key.key_id, material).to_string()),
    }
}

/// A list AWS shows only for the key's usage: `None` when empty.
fn names<T: Copy>(algorithms: &[T], name: impl Fn(T) -> &'static str) -> Option<Vec<String>> {
    (!algorithms.is_empty()).then(|| algorithms.iter().map(|algorithm| name(*algorithm).to_owned()).collect())
}
