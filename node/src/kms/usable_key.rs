//! The key a crypto operation runs with: found in this node's applied state (after the
//! freshness check of the consistency bound), checked for state and usage as AWS checks them,
//! and its material unwrapped from the cache.

use std::sync::Arc;

use trent_keys::PrivateKey;
use trent_storage::{KeyId, KeyLifecycle, KeyRecord};
use trent_wire::model::{EncryptionAlgorithm, KeySpec, KeyUsage, Origin};
use trent_wire::Operation;
use trent_wire::{ErrorCode, KmsError};

use super::ciphertext::BlobFormat;
use super::identifiers::{key_arn, resolve, KeyRef};
use super::Call;
use crate::crypto::SecretKey;
use crate::seal::key_secret::KeySecret;

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
    /// The format a blob sealed under it now takes (the cluster's feature level decides).
    pub blob_format: BlobFormat,
}

/// Finds `reference` for the call's operation with `algorithm` and unwraps the material it needs.
pub async fn symmetric_key(
    call: &Call<'_>,
    reference: &KeyRef,
    version: MaterialVersion,
    algorithm: EncryptionAlgorithm,
) -> Result<SymmetricKey, KmsError> {
    let opened = open_key(call, reference, version, |key, arn| {
        if key.spec != KeySpec::SymmetricDefault {
            let offered: Vec<&str> =
                trent_keys::encryption_algorithms(key.spec).iter().map(|algorithm| algorithm.as_str()).collect();
            return Err(KmsError::new(
                ErrorCode::InvalidKeyUsage,
                format!(
                    "{arn} has KeySpec {}, which does not support {algorithm}; its encryption algorithms are [{}]",
                    key.spec,
                    offered.join(", ")
                ),
            ));
        }
        require_symmetric_algorithm(algorithm, arn)
    })
    .await?;
    // `check_usable` let only symmetric specs through, whose material is symmetric.
    let material = opened.material.symmetric().cloned().ok_or_else(|| {
        tracing::error!(key_id = %opened.key_id, "a symmetric key's material is not symmetric");
        KmsError::new(ErrorCode::Internal, "The key material could not be opened")
    })?;
    Ok(SymmetricKey {
        key_id: opened.key_id,
        arn: opened.arn,
        material_version: opened.material_version,
        material,
        blob_format: BlobFormat::for_level(opened.feature_level),
    })
}

/// A key of a spec other than SYMMETRIC_DEFAULT, ready for its operation.
pub struct PrivateKeyInUse {
    /// Its ARN, as responses name it.
    pub arn: String,
    /// Its spec.
    pub spec: KeySpec,
    /// What it is for.
    pub usage: KeyUsage,
    /// Where its material came from.
    pub origin: Origin,
    /// The parsed private key (or HMAC key).
    pub key: Arc<PrivateKey>,
}

/// Finds `reference` for the call's operation (which its usage must allow) and its current
/// material, parsed. A symmetric key asked for an operation it cannot do is refused by the
/// same usage check.
pub async fn private_key(call: &Call<'_>, reference: &KeyRef) -> Result<PrivateKeyInUse, KmsError> {
    let opened = open_key(call, reference, MaterialVersion::Current, |key, arn| {
        if key.spec == KeySpec::SymmetricDefault {
            // Encrypt and Decrypt with an RSA algorithm reach here with a symmetric key.
            return Err(KmsError::new(
                ErrorCode::InvalidKeyUsage,
                format!("{arn} is a symmetric key; its only encryption algorithm is SYMMETRIC_DEFAULT"),
            ));
        }
        Ok(())
    })
    .await?;
    let key = opened.material.private().cloned().ok_or_else(|| {
        tracing::error!(key_id = %opened.key_id, "an asymmetric key's material is symmetric");
        KmsError::new(ErrorCode::Internal, "The key material could not be opened")
    })?;
    Ok(PrivateKeyInUse {
        arn: opened.arn,
        spec: opened.spec,
        usage: opened.usage,
        origin: opened.origin,
        key,
    })
}

/// A key found, checked and its material unwrapped.
struct OpenedKey {
    key_id: KeyId,
    arn: String,
    spec: KeySpec,
    usage: KeyUsage,
    origin: Origin,
    material_version: u32,
    material: KeySecret,
    /// The cluster's feature level in the registry the key was read from.
    feature_level: u32,
}

/// Resolves `reference` in the fresh registry, confirms the call was authorized for it, checks
/// its state and usage (and `check`), and unwraps material `version` from the cache.
async fn open_key(
    call: &Call<'_>,
    reference: &KeyRef,
    version: MaterialVersion,
    check: impl FnOnce(&KeyRecord, &str) -> Result<(), KmsError>,
) -> Result<OpenedKey, KmsError> {
    let (key_id, spec, usage, origin, arn, material, feature_level) = {
        let registry = call.fresh_registry().await?;
        let key = resolve(&registry, reference, call.scope())?;
        call.confirm_authorized(key.key_id)?;
        let arn = key_arn(call.scope(), key.key_id);
        check_usable(key, &arn, call.operation)?;
        check(key, &arn)?;
        let material = match version {
            MaterialVersion::Current => key.current_material().ok_or_else(|| {
                tracing::error!(key_id = %key.key_id, "an enabled key has no material");
                KmsError::new(ErrorCode::Internal, "The key has no key material")
            })?,
            #[cfg(feature = "jepsen-planted-bug")]
            MaterialVersion::Exactly(_) if crate::planted_bug::decrypts_with_current() => {
                key.current_material().ok_or_else(invalid_ciphertext)?
            }
            // Imported material waiting for a rotation (PENDING_ROTATION) is not the key's yet.
            MaterialVersion::Exactly(wanted) => key
                .material(wanted)
                .filter(|material| material.version <= key.current_version)
                .ok_or_else(invalid_ciphertext)?,
        };
        // Deleted or expired imported material opens nothing; material past its ValidTo is
        // expired on this node's clock before the leader's sweep commits the expiry.
        material.sealed().ok_or_else(invalid_ciphertext)?;
        let valid_to_ms = material.imported().and_then(|imported| imported.valid_to_ms);
        if valid_to_ms.is_some_and(|valid_to_ms| valid_to_ms <= call.node().now_ms()) {
            return Err(KmsError::new(ErrorCode::InvalidState, format!("{arn} is pending import.")));
        }
        (key.key_id, key.spec, key.usage, key.origin, arn, material.clone(), registry.features().level)
    };
    let material_version = material.version;
    let material = call
        .with_keyring(|seal| seal.material(&key_id, spec, &material))
        .map_err(KmsError::from)?
        .map_err(|error| {
            tracing::error!(%key_id, material_version, %error, "key material does not open");
            KmsError::new(ErrorCode::Internal, "The key material could not be opened")
        })?;
    Ok(OpenedKey { key_id, arn, spec, usage, origin, material_version, material, feature_level })
}

/// AWS's answer for a key that cannot do `operation` now: disabled, pending deletion, or made
/// for another usage.
fn check_usable(key: &KeyRecord, arn: &str, operation: Operation) -> Result<(), KmsError> {
    match key.lifecycle {
        KeyLifecycle::Enabled => {}
        #[cfg(feature = "jepsen-planted-bug")]
        KeyLifecycle::Disabled if crate::planted_bug::signs_while_disabled(operation) => {}
        KeyLifecycle::Disabled => {
            return Err(KmsError::new(ErrorCode::Disabled, format!("{arn} is disabled.")))
        }
        KeyLifecycle::PendingDeletion { .. } => {
            return Err(KmsError::new(ErrorCode::InvalidState, format!("{arn} is pending deletion.")))
        }
        KeyLifecycle::PendingImport => {
            return Err(KmsError::new(ErrorCode::InvalidState, format!("{arn} is pending import.")))
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
