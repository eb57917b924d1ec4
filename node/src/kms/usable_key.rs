//! The key a crypto operation runs with: found in this node's applied state (after the
//! freshness check of the consistency bound), checked for state and usage as AWS checks them,
//! and its material unwrapped from the cache.

use trent_storage::{KeyId, KeyLifecycle, KeyRecord};
use trent_wire::model::EncryptionAlgorithm;
use trent_wire::Operation;
use trent_wire::{ErrorCode, KmsError};

use super::identifiers::{key_arn, resolve, KeyRef};
use super::Call;
use crate::crypto::SecretKey;

/// Which material version an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaterialVersion {
    /// The newest: encryption.
    Current,
    /// The one a blob names: decryption.
    Exactly(u32),
}

/// A symmetric key ready for AES-GCM.
pub struct SymmetricKey {
    /// Its id.
    pub key_id: KeyId,
    /// Its ARN, as responses name it.
    pub arn: String,
    /// The material version in `material`.
    pub material_version: u32,
    /// The unwrapped material (zeroized on drop).
    pub material: SecretKey,
}

/// Finds `reference` for the call's operation with `algorithm` and unwraps the material it needs.
pub async fn symmetric_key(
    call: &Call<'_>,
    reference: &KeyRef,
    version: MaterialVersion,
    algorithm: EncryptionAlgorithm,
) -> Result<SymmetricKey, KmsError> {
    let (key_id, spec, arn, material_version, sealed) = {
        let registry = call.fresh_registry().await?;
        let key = resolve(&registry, reference, call.scope())?;
        call.confirm_authorized(key.key_id)?;
        let arn = key_arn(call.scope(), key.key_id);
        check_usable(key, &arn, call.operation)?;
        require_symmetric_algorithm(algorithm, &arn)?;
        let material = match version {
            MaterialVersion::Current => key.materials.last().ok_or_else(|| {
                tracing::error!(key_id = %key.key_id, "an enabled key has no material");
                KmsError::new(ErrorCode::Internal, "The key has no key material")
            })?,
            MaterialVersion::Exactly(wanted) => {
                key.materials.iter().find(|m| m.version == wanted).ok_or_else(invalid_ciphertext)?
            }
        };
        (key.key_id, key.spec, arn, material.version, material.sealed.clone())
    };
    let material = call
        .with_keyring(|seal| seal.material(&key_id, spec, material_version, &sealed))
        .map_err(KmsError::from)?
        .map_err(|error| {
            tracing::error!(%key_id, material_version, %error, "key material does not open");
            KmsError::new(ErrorCode::Internal, "The key material could not be opened")
        })?;
    // `check_usable` let only symmetric specs through, whose material is symmetric.
    let material = material.symmetric().cloned().ok_or_else(|| {
        tracing::error!(%key_id, "a symmetric key's material is not symmetric");
        KmsError::new(ErrorCode::Internal, "The key material could not be opened")
    })?;
    Ok(SymmetricKey { key_id, arn, material_version, material })
}

/// AWS's answer for a key that cannot do `operation` now: disabled, pending deletion, or made
/// for another usage.
fn check_usable(key: &KeyRecord, arn: &str, operation: Operation) -> Result<(), KmsError> {
    match key.lifecycle {
        KeyLifecycle::Enabled => {}
        KeyLifecycle::Disabled => {
            return Err(KmsError::new(ErrorCode::Disabled, format!("{arn} is disabled.")))
        }
        KeyLifecycle::PendingDeletion { .. } => {
            return Err(KmsError::new(ErrorCode::InvalidState, format!("{arn} is pending deletion.")))
        }
    }
    if !operation.allowed_for(key.spec, key.usage) {
        return Err(KmsError::new(
            ErrorCode::InvalidKeyUsage,
            format!(
                "{arn} has KeySpec {} and KeyUsage {}, which cannot perform {operation}",
                key.spec, key.usage
            ),
        ));
    }
    Ok(())
}

/// A symmetric key encrypts with `SYMMETRIC_DEFAULT` only.
fn require_symmetric_algorithm(algorithm: EncryptionAlgorithm, arn: &str) -> Result<(), KmsError> {
    if algorithm == EncryptionAlgorithm::SymmetricDefault {
        return Ok(());
    }
    Err(KmsError::new(
        ErrorCode::InvalidKeyUsage,
        format!(
            "{arn} is a symmetric key; its only encryption algorithm is SYMMETRIC_DEFAULT, not {algorithm}"
        ),
    ))
}

/// The one answer for a blob that is wrong in any way.
pub fn invalid_ciphertext() -> KmsError {
    KmsError::new(
        ErrorCode::InvalidCiphertext,
        "The ciphertext is invalid or was encrypted with another encryption context",
    )
}
