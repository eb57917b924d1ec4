//! GenerateDataKey, GenerateDataKeyWithoutPlaintext and GenerateRandom: fresh random bytes,
//! returned encrypted under a KMS key for envelope encryption, or as they are.

use trent_wire::data_plane::{
    GenerateDataKeyRequest, GenerateDataKeyResponse, GenerateDataKeyWithoutPlaintextResponse,
    GenerateRandomRequest, GenerateRandomResponse,
};
use trent_wire::limits::MAX_GENERATED_BYTES;
use trent_wire::model::{DataKeySpec, EncryptionAlgorithm};
use trent_wire::validation::{constraint, enum_value};
use trent_wire::{Blob, ErrorCode, KmsError};
use zeroize::Zeroizing;

use super::crypto_fields::{check_grant_tokens, encryption_context, finish_dry_run, refuse_recipient};
use super::encryption::seal_with;
use super::identifiers::{parse_key_ref, AliasUse};
use super::usable_key::{symmetric_key, MaterialVersion};
use super::Call;
use crate::crypto::fill_random;

/// `GenerateDataKey`.
pub async fn generate_data_key(
    call: &Call<'_>,
    request: GenerateDataKeyRequest,
) -> Result<GenerateDataKeyResponse, KmsError> {
    refuse_recipient(request.recipient.as_ref())?;
    let (ciphertext_blob, plaintext, key_id) = data_key(call, request).await?;
    Ok(GenerateDataKeyResponse { ciphertext_blob, plaintext: Blob(plaintext.to_vec()), key_id })
}

/// `GenerateDataKeyWithoutPlaintext`.
pub async fn generate_data_key_without_plaintext(
    call: &Call<'_>,
    request: GenerateDataKeyRequest,
) -> Result<GenerateDataKeyWithoutPlaintextResponse, KmsError> {
    // AWS's model has no Recipient here: like any unknown field, it is ignored.
    let (ciphertext_blob, _plaintext, key_id) = data_key(call, request).await?;
    Ok(GenerateDataKeyWithoutPlaintextResponse { ciphertext_blob, key_id })
}

/// `GenerateRandom`.
pub async fn generate_random(
    _call: &Call<'_>,
    request: GenerateRandomRequest,
) -> Result<GenerateRandomResponse, KmsError> {
    if request.custom_key_store_id.is_some() {
        return Err(KmsError::new(ErrorCode::UnsupportedOperation, "Custom key stores are not supported"));
    }
    refuse_recipient(request.recipient.as_ref())?;
    let Some(count) = request.number_of_bytes else {
        return Err(KmsError::new(
            ErrorCode::Validation,
            "Please specify the number of bytes (NumberOfBytes).",
        ));
    };
    let bytes = random_bytes(number_of_bytes(count)?)?;
    Ok(GenerateRandomResponse { plaintext: Blob(bytes.to_vec()) })
}

/// Makes a data key and encrypts it; returns the blob, the plaintext key and the key ARN.
async fn data_key(
    call: &Call<'_>,
    request: GenerateDataKeyRequest,
) -> Result<(Blob, Zeroizing<Vec<u8>>, String), KmsError> {
    let reference = parse_key_ref(&request.key_id, "keyId", call.scope(), AliasUse::Allowed)?;
    let length = match (request.number_of_bytes, request.key_spec.as_deref()) {
        (Some(count), None) => number_of_bytes(count)?,
        (None, Some(spec)) => {
            enum_value("keySpec", spec, DataKeySpec::parse, DataKeySpec::allowed_values)?.bytes()
        }
        _ => {
            return Err(KmsError::new(
                ErrorCode::Validation,
                "Please specify either number of bytes or key spec.",
            ))
        }
    };
    let context = encryption_context(request.encryption_context)?;
    check_grant_tokens(request.grant_tokens.as_deref())?;
    let key =
        symmetric_key(call, &reference, MaterialVersion::Current, EncryptionAlgorithm::SymmetricDefault)
            .await?;
    finish_dry_run(request.dry_run)?;
    let plaintext = random_bytes(length)?;
    let blob = seal_with(&key, &context, &plaintext)?;
    Ok((Blob(blob), plaintext, key.arn))
}

/// `NumberOfBytes`, 1–1024.
fn number_of_bytes(count: i64) -> Result<usize, KmsError> {
    if !(1..=MAX_GENERATED_BYTES).contains(&count) {
        return Err(constraint(
            "numberOfBytes",
            &count.to_string(),
            &format!("Member must have value between 1 and {MAX_GENERATED_BYTES}, inclusive"),
        ));
    }
    Ok(count as usize)
}

fn random_bytes(length: usize) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let mut bytes = Zeroizing::new(vec![0u8; length]);
    fill_random(&mut bytes)
        .map_err(|_| KmsError::new(ErrorCode::Internal, "The random number generator failed"))?;
    Ok(bytes)
}
