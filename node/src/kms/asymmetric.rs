//! The operations on keys of every spec but SYMMETRIC_DEFAULT, served from this node's own state
//! with the key's parsed private key (`trent_keys`): Sign, Verify and GetPublicKey; GenerateMac
//! and VerifyMac; DeriveSharedSecret; Encapsulate and Decapsulate; and RSA-OAEP Encrypt and
//! Decrypt, which `encryption` calls for an RSA algorithm.

use std::sync::Arc;

use trent_keys::{KeysError, PrivateKey};
use trent_wire::asymmetric::{
    DecapsulateRequest, DecapsulateResponse, DeriveSharedSecretRequest, DeriveSharedSecretResponse,
    EncapsulateRequest, EncapsulateResponse, GenerateMacRequest, GenerateMacResponse, GetPublicKeyRequest,
    GetPublicKeyResponse, SignRequest, SignResponse, VerifyMacRequest, VerifyMacResponse, VerifyRequest,
    VerifyResponse,
};
use trent_wire::limits::{MAX_CIPHERTEXT_BYTES, MAX_PLAINTEXT_BYTES};
use trent_wire::model::{
    EncapsulationAlgorithm, EncryptionAlgorithm, KeyAgreementAlgorithm, KeySpec, MacAlgorithm, MessageType,
    SigningAlgorithm,
};
use trent_wire::validation::enum_value;
use trent_wire::{Blob, ErrorCode, KmsError};
use zeroize::Zeroizing;

use super::crypto_fields::{check_blob_length, check_grant_tokens, finish_dry_run, refuse_recipient};
use super::identifiers::{parse_key_ref, AliasUse, KeyRef};
use super::usable_key::{invalid_ciphertext, private_key, PrivateKeyInUse};
use super::Call;

/// The longest public key DeriveSharedSecret accepts (AWS's `PublicKeyType`).
const MAX_PUBLIC_KEY_BYTES: usize = 8192;

/// `Sign`.
pub async fn sign(call: &Call<'_>, request: SignRequest) -> Result<SignResponse, KmsError> {
    let fields = SigningFields {
        key_id: &request.key_id,
        message: &request.message,
        message_type: request.message_type.as_deref(),
        algorithm: &request.signing_algorithm,
        grant_tokens: request.grant_tokens.as_deref(),
        dry_run: request.dry_run,
    };
    let (key, message_type, algorithm) = signing_key(call, fields).await?;
    let message = request.message;
    let signature =
        private_key_work(&key, move |private| private.sign(algorithm, message_type, message.as_bytes()))
            .await?
            .map_err(|error| keys_error(&key, error))?;
    Ok(SignResponse { key_id: key.arn, signature: Blob(signature), signing_algorithm: algorithm })
}

/// `Verify`: a signature that does not verify is `KMSInvalidSignatureException`.
pub async fn verify(call: &Call<'_>, request: VerifyRequest) -> Result<VerifyResponse, KmsError> {
    check_blob_length("signature", &request.signature, 1, MAX_CIPHERTEXT_BYTES)?;
    let fields = SigningFields {
        key_id: &request.key_id,
        message: &request.message,
        message_type: request.message_type.as_deref(),
        algorithm: &request.signing_algorithm,
        grant_tokens: request.grant_tokens.as_deref(),
        dry_run: request.dry_run,
    };
    let (key, message_type, algorithm) = signing_key(call, fields).await?;
    let valid = key
        .key
        .verify(algorithm, message_type, request.message.as_bytes(), request.signature.as_bytes())
        .map_err(|error| keys_error(&key, error))?;
    if !valid {
        return Err(KmsError::new(
            ErrorCode::KmsInvalidSignature,
            "The signature is not valid for this key, message and signing algorithm",
        ));
    }
    Ok(VerifyResponse { key_id: key.arn, signature_valid: true, signing_algorithm: algorithm })
}

/// `GetPublicKey`: the DER SubjectPublicKeyInfo and what the key is for. Symmetric and HMAC
/// keys have none (`UnsupportedOperationException`, as AWS answers).
pub async fn get_public_key(
    call: &Call<'_>,
    request: GetPublicKeyRequest,
) -> Result<GetPublicKeyResponse, KmsError> {
    let reference = key_ref(call, &request.key_id)?;
    check_grant_tokens(request.grant_tokens.as_deref())?;
    let key = private_key(call, &reference).await.map_err(|error| match error.code {
        ErrorCode::InvalidKeyUsage => KmsError::new(
            ErrorCode::UnsupportedOperation,
            "GetPublicKey is supported only on asymmetric KMS keys; this key has no public key",
        ),
        _ => error,
    })?;
    let public_key = key.key.public_key_der().map_err(|error| keys_error(&key, error))?.to_vec();
    // The spec and usage of the key just opened (and authorized), not of a second lookup an
    // alias could have moved in between.
    let offered = trent_keys::KeyAlgorithms::of(key.spec, key.usage);
    Ok(GetPublicKeyResponse {
        key_id: key.arn,
        public_key: Blob(public_key),
        key_spec: key.spec,
        customer_master_key_spec: key.spec,
        key_usage: key.usage,
        encryption_algorithms: listed(offered.encryption),
        signing_algorithms: listed(offered.signing),
        key_agreement_algorithms: listed(offered.key_agreement),
        encapsulation_algorithms: listed(offered.encapsulation),
    })
}

/// `GenerateMac`.
pub async fn generate_mac(
    call: &Call<'_>,
    request: GenerateMacRequest,
) -> Result<GenerateMacResponse, KmsError> {
    let fields = (
        request.key_id.as_str(),
        &request.message,
        request.mac_algorithm.as_str(),
        request.grant_tokens.as_deref(),
    );
    let (key, algorithm) = mac_key(call, fields, request.dry_run).await?;
    let mac = key.key.mac(algorithm, request.message.as_bytes()).map_err(|error| keys_error(&key, error))?;
    Ok(GenerateMacResponse { mac: Blob(mac), mac_algorithm: algorithm, key_id: key.arn })
}

/// `VerifyMac`: compared in constant time; a MAC that does not match is
/// `KMSInvalidMacException`.
pub async fn verify_mac(call: &Call<'_>, request: VerifyMacRequest) -> Result<VerifyMacResponse, KmsError> {
    check_blob_length("mac", &request.mac, 1, MAX_CIPHERTEXT_BYTES)?;
    let fields = (
        request.key_id.as_str(),
        &request.message,
        request.mac_algorithm.as_str(),
        request.grant_tokens.as_deref(),
    );
    let (key, algorithm) = mac_key(call, fields, request.dry_run).await?;
    let valid = key
        .key
        .verify_mac(algorithm, request.message.as_bytes(), request.mac.as_bytes())
        .map_err(|error| keys_error(&key, error))?;
    if !valid {
        return Err(KmsError::new(
            ErrorCode::KmsInvalidMac,
            "The MAC is not valid for this key, message and MAC algorithm",
        ));
    }
    Ok(VerifyMacResponse { key_id: key.arn, mac_valid: true, mac_algorithm: algorithm })
}

/// `DeriveSharedSecret`: raw ECDH with the peer's DER SubjectPublicKeyInfo, which must be a valid
/// point on the key's curve.
pub async fn derive_shared_secret(
    call: &Call<'_>,
    request: DeriveSharedSecretRequest,
) -> Result<DeriveSharedSecretResponse, KmsError> {
    let reference = key_ref(call, &request.key_id)?;
    let algorithm = enum_value::<KeyAgreementAlgorithm>(
        "keyAgreementAlgorithm",
        &request.key_agreement_algorithm,
        KeyAgreementAlgorithm::parse,
        KeyAgreementAlgorithm::allowed_values,
    )?;
    check_blob_length("publicKey", &request.public_key, 1, MAX_PUBLIC_KEY_BYTES)?;
    check_grant_tokens(request.grant_tokens.as_deref())?;
    refuse_recipient(request.recipient.as_ref())?;
    let key = private_key(call, &reference).await?;
    require(&key, trent_keys::key_agreement_algorithms(key.spec).contains(&algorithm), algorithm.as_str())?;
    finish_dry_run(request.dry_run)?;
    let secret = key
        .key
        .derive_shared_secret(request.public_key.as_bytes())
        .map_err(|error| keys_error(&key, error))?;
    Ok(DeriveSharedSecretResponse {
        key_id: key.arn,
        shared_secret: Blob(secret.to_vec()),
        key_agreement_algorithm: algorithm,
        key_origin: key.origin,
    })
}

/// `Encapsulate`: a fresh ML-KEM shared secret and the ciphertext that carries it.
pub async fn encapsulate(
    call: &Call<'_>,
    request: EncapsulateRequest,
) -> Result<EncapsulateResponse, KmsError> {
    let reference = key_ref(call, &request.key_id)?;
    let algorithm = encapsulation_algorithm(&request.encapsulation_algorithm)?;
    check_grant_tokens(request.grant_tokens.as_deref())?;
    let key = private_key(call, &reference).await?;
    require(&key, trent_keys::encapsulation_algorithms(key.spec).contains(&algorithm), algorithm.as_str())?;
    finish_dry_run(request.dry_run)?;
    let (ciphertext, secret) = key.key.encapsulate().map_err(|error| keys_error(&key, error))?;
    Ok(EncapsulateResponse {
        key_id: key.arn,
        shared_secret: Blob(secret.to_vec()),
        shared_secret_ciphertext_blob: Blob(ciphertext),
        encapsulation_algorithm: algorithm,
    })
}

/// `Decapsulate`: the shared secret an Encapsulate ciphertext carries (ML-KEM's implicit
/// rejection gives a different secret for a tampered one; a wrong length is
/// `InvalidCiphertextException`).
pub async fn decapsulate(
    call: &Call<'_>,
    request: DecapsulateRequest,
) -> Result<DecapsulateResponse, KmsError> {
    let reference = key_ref(call, &request.key_id)?;
    check_blob_length(
        "sharedSecretCiphertextBlob",
        &request.shared_secret_ciphertext_blob,
        1,
        MAX_CIPHERTEXT_BYTES,
    )?;
    let algorithm = encapsulation_algorithm(&request.encapsulation_algorithm)?;
    check_grant_tokens(request.grant_tokens.as_deref())?;
    let key = private_key(call, &reference).await?;
    require(&key, trent_keys::encapsulation_algorithms(key.spec).contains(&algorithm), algorithm.as_str())?;
    finish_dry_run(request.dry_run)?;
    let secret = key
        .key
        .decapsulate(request.shared_secret_ciphertext_blob.as_bytes())
        .map_err(|error| keys_error(&key, error))?;
    Ok(DecapsulateResponse {
        key_id: key.arn,
        shared_secret: Blob(secret.to_vec()),
        encapsulation_algorithm: algorithm,
    })
}

/// RSA-OAEP Encrypt under `reference` (an RSA ENCRYPT_DECRYPT key): the raw OAEP output, so what
/// anyone encrypts with the public key decrypts here and the reverse. An encryption context is
/// refused: RSA-OAEP has nowhere to bind it.
pub async fn rsa_encrypt(
    call: &Call<'_>,
    reference: &KeyRef,
    algorithm: EncryptionAlgorithm,
    context_given: bool,
    plaintext: &[u8],
) -> Result<(String, Vec<u8>), KmsError> {
    refuse_context(context_given)?;
    let key = private_key(call, reference).await?;
    require(&key, trent_keys::encryption_algorithms(key.spec).contains(&algorithm), algorithm.as_str())?;
    let ciphertext = key.key.encrypt(algorithm, plaintext).map_err(|error| keys_error(&key, error))?;
    Ok((key.arn, ciphertext))
}

/// Checks that `reference` is an RSA key offering `algorithm`, for a dry run without a
/// ciphertext.
pub async fn rsa_key_check(
    call: &Call<'_>,
    reference: &KeyRef,
    algorithm: EncryptionAlgorithm,
) -> Result<(), KmsError> {
    let key = private_key(call, reference).await?;
    require(&key, trent_keys::encryption_algorithms(key.spec).contains(&algorithm), algorithm.as_str())
}

/// RSA-OAEP Decrypt under `reference`; any failure is `InvalidCiphertextException`.
pub async fn rsa_decrypt(
    call: &Call<'_>,
    reference: &KeyRef,
    algorithm: EncryptionAlgorithm,
    context_given: bool,
    ciphertext: &[u8],
) -> Result<(String, Zeroizing<Vec<u8>>), KmsError> {
    refuse_context(context_given)?;
    let key = private_key(call, reference).await?;
    require(&key, trent_keys::encryption_algorithms(key.spec).contains(&algorithm), algorithm.as_str())?;
    let ciphertext = ciphertext.to_vec();
    let plaintext = private_key_work(&key, move |private| private.decrypt(algorithm, &ciphertext))
        .await?
        .map_err(|_| invalid_ciphertext())?;
    Ok((key.arn, plaintext))
}

/// Runs a private-key operation of `key`. An RSA private-key operation takes about a millisecond
/// (RSA-4096: several): run inline it would hold a runtime worker, and with both workers
/// signing, Raft's heartbeats would wait and the followers fall out of the consistency bound.
/// So RSA work goes to the private-key pool (`cpu_pool`: one thread per core, callers beyond
/// that wait without holding a thread); the rest, tens of microseconds, runs inline.
async fn private_key_work<T: Send + 'static>(
    key: &PrivateKeyInUse,
    work: impl FnOnce(&PrivateKey) -> T + Send + 'static,
) -> Result<T, KmsError> {
    if !matches!(key.spec, KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096) {
        return Ok(work(&key.key));
    }
    let private = Arc::clone(&key.key);
    crate::cpu_pool::private_key_operations()
        .run(move || work(&private))
        .await
        .map_err(|_| KmsError::new(ErrorCode::Internal, "The private-key operation stopped"))
}

/// A list GetPublicKey shows only for the key's usage: `None` when empty.
fn listed<T: Copy>(algorithms: &[T]) -> Option<Vec<T>> {
    (!algorithms.is_empty()).then(|| algorithms.to_vec())
}

fn refuse_context(context_given: bool) -> Result<(), KmsError> {
    if context_given {
        return Err(KmsError::new(
            ErrorCode::Validation,
            "An encryption context is valid only with a symmetric encryption KMS key; RSA encryption algorithms do not support one",
        ));
    }
    Ok(())
}

/// What Sign and Verify share.
struct SigningFields<'r> {
    key_id: &'r str,
    message: &'r Blob,
    message_type: Option<&'r str>,
    algorithm: &'r str,
    grant_tokens: Option<&'r [String]>,
    dry_run: Option<bool>,
}

/// Checks Sign's and Verify's common fields and finds the key, which must offer the algorithm.
async fn signing_key(
    call: &Call<'_>,
    fields: SigningFields<'_>,
) -> Result<(PrivateKeyInUse, MessageType, SigningAlgorithm), KmsError> {
    let reference = key_ref(call, fields.key_id)?;
    check_blob_length("message", fields.message, 1, MAX_PLAINTEXT_BYTES)?;
    let message_type = message_type(fields.message_type)?;
    let algorithm = signing_algorithm(fields.algorithm)?;
    check_grant_tokens(fields.grant_tokens)?;
    let key = private_key(call, &reference).await?;
    require(&key, trent_keys::signing_algorithms(key.spec).contains(&algorithm), algorithm.as_str())?;
    finish_dry_run(fields.dry_run)?;
    Ok((key, message_type, algorithm))
}

/// Checks GenerateMac's and VerifyMac's common fields (key id, message, MAC algorithm, grant
/// tokens) and finds the key, which must offer the algorithm.
async fn mac_key(
    call: &Call<'_>,
    (key_id, message, algorithm, grant_tokens): (&str, &Blob, &str, Option<&[String]>),
    dry_run: Option<bool>,
) -> Result<(PrivateKeyInUse, MacAlgorithm), KmsError> {
    let reference = key_ref(call, key_id)?;
    check_blob_length("message", message, 1, MAX_PLAINTEXT_BYTES)?;
    let algorithm = mac_algorithm(algorithm)?;
    check_grant_tokens(grant_tokens)?;
    let key = private_key(call, &reference).await?;
    require(&key, trent_keys::mac_algorithms(key.spec).contains(&algorithm), algorithm.as_str())?;
    finish_dry_run(dry_run)?;
    Ok((key, algorithm))
}

fn key_ref(call: &Call<'_>, key_id: &str) -> Result<KeyRef, KmsError> {
    parse_key_ref(key_id, "keyId", call.scope(), AliasUse::Allowed)
}

fn message_type(value: Option<&str>) -> Result<MessageType, KmsError> {
    match value {
        None => Ok(MessageType::Raw),
        Some(value) => enum_value("messageType", value, MessageType::parse, MessageType::allowed_values),
    }
}

fn signing_algorithm(value: &str) -> Result<SigningAlgorithm, KmsError> {
    if value == "SM2DSA" {
        // A valid AWS algorithm no key here offers (SM2 keys exist only in AWS's China Regions).
        return Err(KmsError::new(
            ErrorCode::InvalidKeyUsage,
            "SM2DSA is not valid for this key: only SM2 keys, which AWS KMS offers only in its China Regions, use it",
        ));
    }
    enum_value("signingAlgorithm", value, SigningAlgorithm::parse, SigningAlgorithm::allowed_values)
}

fn mac_algorithm(value: &str) -> Result<MacAlgorithm, KmsError> {
    enum_value("macAlgorithm", value, MacAlgorithm::parse, MacAlgorithm::allowed_values)
}

fn encapsulation_algorithm(value: &str) -> Result<EncapsulationAlgorithm, KmsError> {
    enum_value(
        "encapsulationAlgorithm",
        value,
        EncapsulationAlgorithm::parse,
        EncapsulationAlgorithm::allowed_values,
    )
}

/// AWS's answer for an algorithm the key does not offer: `InvalidKeyUsageException`.
fn require(key: &PrivateKeyInUse, offered: bool, algorithm: &str) -> Result<(), KmsError> {
    if offered {
        return Ok(());
    }
    Err(KmsError::new(
        ErrorCode::InvalidKeyUsage,
        format!("{} has KeySpec {}, which does not support {algorithm}", key.arn, key.spec),
    ))
}

/// A `trent_keys` failure in AWS's terms: bad input is the caller's (`ValidationException`,
/// `InvalidCiphertextException`, `InvalidKeyUsageException`); anything else is ours.
fn keys_error(key: &PrivateKeyInUse, error: KeysError) -> KmsError {
    let code = match error {
        KeysError::InvalidMessage { .. }
        | KeysError::PlaintextTooLong { .. }
        | KeysError::InvalidPublicKey
        | KeysError::UnsupportedMessageType { .. } => ErrorCode::Validation,
        KeysError::InvalidCiphertext => ErrorCode::InvalidCiphertext,
        KeysError::UnsupportedAlgorithm { .. } => ErrorCode::InvalidKeyUsage,
        KeysError::UnsupportedSpec(_) | KeysError::MalformedMaterial(_) | KeysError::Crypto => {
            tracing::error!(key = %key.arn, spec = %key.spec, %error, "a key-spec operation failed");
            return KmsError::new(ErrorCode::Internal, "The cryptographic operation failed");
        }
    };
    KmsError::new(code, capitalized(&error.to_string()))
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
