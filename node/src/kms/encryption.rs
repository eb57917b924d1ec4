//! Encrypt, Decrypt and ReEncrypt under symmetric keys (and, through `asymmetric`, RSA-OAEP
//! keys), served from this node's own state.

use trent_wire::data_plane::{
    DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, EncryptionContext, ReEncryptRequest,
    ReEncryptResponse,
};
use trent_wire::limits::MAX_PLAINTEXT_BYTES;
use trent_wire::model::EncryptionAlgorithm;
use trent_wire::{Blob, ErrorCode, KmsError};
use zeroize::Zeroizing;

use super::asymmetric::{rsa_decrypt, rsa_encrypt, rsa_key_check};
use super::ciphertext::{self, BlobHeader};
use super::crypto_fields::{
    check_blob_length, check_grant_tokens, ciphertext_to_open, dry_run_succeeded, encryption_algorithm,
    encryption_context, finish_dry_run, ignores_ciphertext, refuse_recipient,
};
use super::identifiers::{parse_key_ref, resolve, AliasUse, KeyRef};
use super::usable_key::{invalid_ciphertext, symmetric_key, MaterialVersion, SymmetricKey};
use super::Call;

/// `Encrypt`.
pub async fn encrypt(call: &Call<'_>, request: EncryptRequest) -> Result<EncryptResponse, KmsError> {
    let reference = parse_key_ref(&request.key_id, "keyId", call.scope(), AliasUse::Allowed)?;
    check_blob_length("plaintext", &request.plaintext, 1, MAX_PLAINTEXT_BYTES)?;
    let context = encryption_context(request.encryption_context)?;
    check_grant_tokens(request.grant_tokens.as_deref())?;
    let algorithm = encryption_algorithm("encryptionAlgorithm", request.encryption_algorithm.as_deref())?;
    if algorithm != EncryptionAlgorithm::SymmetricDefault {
        let plaintext = request.plaintext.as_bytes();
        let (key_id, blob) = rsa_encrypt(call, &reference, algorithm, !context.is_empty(), plaintext).await?;
        finish_dry_run(request.dry_run)?;
        return Ok(EncryptResponse { ciphertext_blob: Blob(blob), key_id, encryption_algorithm: algorithm });
    }
    let key = symmetric_key(call, &reference, MaterialVersion::Current, algorithm).await?;
    finish_dry_run(request.dry_run)?;
    let blob = seal_with(&key, &context, request.plaintext.as_bytes())?;
    Ok(EncryptResponse { ciphertext_blob: Blob(blob), key_id: key.arn, encryption_algorithm: algorithm })
}

/// `Decrypt`.
pub async fn decrypt(call: &Call<'_>, request: DecryptRequest) -> Result<DecryptResponse, KmsError> {
    let ignore_ciphertext = ignores_ciphertext(request.dry_run, request.dry_run_modifiers.as_deref())?;
    let blob = ciphertext_to_open(request.ciphertext_blob.as_ref(), ignore_ciphertext)?;
    let context = encryption_context(request.encryption_context)?;
    check_grant_tokens(request.grant_tokens.as_deref())?;
    let algorithm = encryption_algorithm("encryptionAlgorithm", request.encryption_algorithm.as_deref())?;
    let named = optional_key_ref(call, request.key_id.as_deref(), "keyId")?;
    refuse_recipient(request.recipient.as_ref())?;
    let Some(blob) = blob else {
        return dry_run_without_ciphertext(call, &[(named.as_ref(), algorithm)]).await;
    };
    let opened = open_any(call, blob.as_bytes(), &context, named.as_ref(), algorithm).await?;
    finish_dry_run(request.dry_run)?;
    Ok(DecryptResponse {
        key_id: opened.0,
        plaintext: Blob(opened.1.to_vec()),
        encryption_algorithm: algorithm,
    })
}

/// `ReEncrypt`: decrypts under the source key and encrypts under the destination key without
/// the plaintext leaving the node.
pub async fn re_encrypt(call: &Call<'_>, request: ReEncryptRequest) -> Result<ReEncryptResponse, KmsError> {
    let ignore_ciphertext = ignores_ciphertext(request.dry_run, request.dry_run_modifiers.as_deref())?;
    let blob = ciphertext_to_open(request.ciphertext_blob.as_ref(), ignore_ciphertext)?;
    let source_context = encryption_context(request.source_encryption_context)?;
    let destination_context = encryption_context(request.destination_encryption_context)?;
    check_grant_tokens(request.grant_tokens.as_deref())?;
    let source_algorithm =
        encryption_algorithm("sourceEncryptionAlgorithm", request.source_encryption_algorithm.as_deref())?;
    let destination_algorithm = encryption_algorithm(
        "destinationEncryptionAlgorithm",
        request.destination_encryption_algorithm.as_deref(),
    )?;
    let source = optional_key_ref(call, request.source_key_id.as_deref(), "sourceKeyId")?;
    let destination =
        parse_key_ref(&request.destination_key_id, "destinationKeyId", call.scope(), AliasUse::Allowed)?;
    let Some(blob) = blob else {
        let keys = [(source.as_ref(), source_algorithm), (Some(&destination), destination_algorithm)];
        return dry_run_without_ciphertext(call, &keys).await;
    };
    let (source_key_id, plaintext) =
        open_any(call, blob.as_bytes(), &source_context, source.as_ref(), source_algorithm).await?;
    let (key_id, blob) = if destination_algorithm == EncryptionAlgorithm::SymmetricDefault {
        let destination_key =
            symmetric_key(call, &destination, MaterialVersion::Current, destination_algorithm).await?;
        finish_dry_run(request.dry_run)?;
        let blob = seal_with(&destination_key, &destination_context, &plaintext)?;
        (destination_key.arn, blob)
    } else {
        let context_given = !destination_context.is_empty();
        let sealed =
            rsa_encrypt(call, &destination, destination_algorithm, context_given, &plaintext).await?;
        finish_dry_run(request.dry_run)?;
        sealed
    };
    Ok(ReEncryptResponse {
        ciphertext_blob: Blob(blob),
        source_key_id,
        key_id,
        source_encryption_algorithm: source_algorithm,
        destination_encryption_algorithm: destination_algorithm,
    })
}

/// A dry run with `IGNORE_CIPHERTEXT`: checks the keys the request names, then answers
/// `DryRunOperationException`.
async fn dry_run_without_ciphertext<T>(
    call: &Call<'_>,
    keys: &[(Option<&KeyRef>, EncryptionAlgorithm)],
) -> Result<T, KmsError> {
    for (reference, algorithm) in keys {
        match reference {
            Some(reference) if *algorithm != EncryptionAlgorithm::SymmetricDefault => {
                rsa_key_check(call, reference, *algorithm).await?;
            }
            Some(reference) => {
                symmetric_key(call, reference, MaterialVersion::Current, *algorithm).await?;
            }
            None => {}
        }
    }
    Err(dry_run_succeeded())
}

/// An optional key argument.
fn optional_key_ref(call: &Call<'_>, key_id: Option<&str>, field: &str) -> Result<Option<KeyRef>, KmsError> {
    key_id.map(|key_id| parse_key_ref(key_id, field, call.scope(), AliasUse::Allowed)).transpose()
}

/// Opens `blob`: with RSA-OAEP under the key the caller named for an RSA algorithm (the blob is
/// raw OAEP output and names no key, so AWS requires the KeyId then), else as a Trent symmetric
/// blob. Returns the ARN of the key that opened it and the plaintext.
async fn open_any(
    call: &Call<'_>,
    blob: &[u8],
    context: &EncryptionContext,
    named: Option<&KeyRef>,
    algorithm: EncryptionAlgorithm,
) -> Result<(String, Zeroizing<Vec<u8>>), KmsError> {
    match named {
        Some(named) if algorithm != EncryptionAlgorithm::SymmetricDefault => {
            rsa_decrypt(call, named, algorithm, !context.is_empty(), blob).await
        }
        // Without a key to name, the blob must name its own: a symmetric blob (whose key then
        // refuses an RSA algorithm with InvalidKeyUsageException).
        _ => {
            let opened = open_blob(call, blob, context, named, algorithm).await?;
            Ok((opened.key.arn, opened.plaintext))
        }
    }
}

/// A blob opened: the key that opened it and the plaintext.
struct Opened {
    key: SymmetricKey,
    plaintext: Zeroizing<Vec<u8>>,
}

/// Opens `blob` under `context` with the key its header names, which must be `named` if the
/// caller named one (`IncorrectKeyException` otherwise).
async fn open_blob(
    call: &Call<'_>,
    blob: &[u8],
    context: &EncryptionContext,
    named: Option<&KeyRef>,
    algorithm: EncryptionAlgorithm,
) -> Result<Opened, KmsError> {
    let header = ciphertext::parse_header(blob).map_err(|_| invalid_ciphertext())?;
    if let Some(named) = named {
        // Checked against the header only; `symmetric_key` below checks freshness.
        let named_id = resolve(&call.applied_registry(), named, call.scope())?.key_id;
        if named_id != header.key_id {
            return Err(KmsError::new(
                ErrorCode::IncorrectKey,
                "The key ID in the request does not identify the KMS key that encrypted the ciphertext.",
            ));
        }
    }
    let key = symmetric_key(
        call,
        &KeyRef::Id(header.key_id),
        MaterialVersion::Exactly(header.material_version),
        algorithm,
    )
    .await
    .map_err(|error| match error.code {
        // A blob naming a key that does not exist is a forged blob.
        ErrorCode::NotFound => invalid_ciphertext(),
        _ => error,
    })?;
    let plaintext = ciphertext::open(&key.material, blob, context).map_err(|_| invalid_ciphertext())?;
    Ok(Opened { key, plaintext })
}

/// Seals `plaintext` under `key`'s current material, bound to `context`.
pub fn seal_with(
    key: &SymmetricKey,
    context: &EncryptionContext,
    plaintext: &[u8],
) -> Result<Vec<u8>, KmsError> {
    let header =
        BlobHeader { format: key.blob_format, key_id: key.key_id, material_version: key.material_version };
    ciphertext::seal(&key.material, header, context, plaintext).map_err(|error| {
        tracing::error!(%error, "encryption failed");
        KmsError::new(ErrorCode::Internal, "Encryption failed")
    })
}
