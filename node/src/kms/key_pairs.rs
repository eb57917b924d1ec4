//! GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext: a fresh asymmetric key pair for
//! the caller to use outside Trent, its private key (PKCS#8 DER) returned encrypted under a
//! symmetric KMS key, bound to the encryption context, like a data key.

use trent_wire::asymmetric::{GenerateDataKeyPairRequest, GenerateDataKeyPairResponse};
use trent_wire::model::{DataKeyPairSpec, EncryptionAlgorithm};
use trent_wire::validation::enum_value;
use trent_wire::{Blob, ErrorCode, KmsError};

use super::crypto_fields::{check_grant_tokens, encryption_context, finish_dry_run, refuse_recipient};
use super::encryption::seal_with;
use super::identifiers::{parse_key_ref, AliasUse};
use super::usable_key::{symmetric_key, MaterialVersion};
use super::Call;

/// `GenerateDataKeyPair`.
pub async fn generate_data_key_pair(
    call: &Call<'_>,
    request: GenerateDataKeyPairRequest,
) -> Result<GenerateDataKeyPairResponse, KmsError> {
    refuse_recipient(request.recipient.as_ref())?;
    key_pair(call, request, true).await
}

/// `GenerateDataKeyPairWithoutPlaintext`.
pub async fn generate_data_key_pair_without_plaintext(
    call: &Call<'_>,
    request: GenerateDataKeyPairRequest,
) -> Result<GenerateDataKeyPairResponse, KmsError> {
    key_pair(call, request, false).await
}

async fn key_pair(
    call: &Call<'_>,
    request: GenerateDataKeyPairRequest,
    with_plaintext: bool,
) -> Result<GenerateDataKeyPairResponse, KmsError> {
    let reference = parse_key_ref(&request.key_id, "keyId", call.scope(), AliasUse::Allowed)?;
    if request.key_pair_spec == "SM2" {
        return Err(super::keys::sm2_unsupported("KeyPairSpec"));
    }
    let spec = enum_value(
        "keyPairSpec",
        &request.key_pair_spec,
        DataKeyPairSpec::parse,
        DataKeyPairSpec::allowed_values,
    )?;
    let context = encryption_context(request.encryption_context)?;
    check_grant_tokens(request.grant_tokens.as_deref())?;
    let key =
        symmetric_key(call, &reference, MaterialVersion::Current, EncryptionAlgorithm::SymmetricDefault)
            .await?;
    finish_dry_run(request.dry_run)?;
    // RSA-4096 takes a second or more: not on the async runtime, and below request handling.
    let (private_key, public_key) = crate::cpu_pool::key_generation()
        .run(move || trent_keys::generate_data_key_pair(spec))
        .await
        .map_err(|_| KmsError::new(ErrorCode::Internal, "key pair generation stopped"))?
        .map_err(|error| {
            tracing::error!(%spec, %error, "data key pair generation failed");
            KmsError::new(ErrorCode::Internal, "The key pair could not be generated")
        })?;
    let blob = seal_with(&key, &context, &private_key)?;
    Ok(GenerateDataKeyPairResponse {
        private_key_ciphertext_blob: Blob(blob),
        private_key_plaintext: with_plaintext.then(|| Blob(private_key.to_vec())),
        public_key: Blob(public_key),
        key_id: key.arn,
        key_pair_spec: spec,
    })
}
