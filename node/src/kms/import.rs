//! Bring-your-own-key import: GetParametersForImport, ImportKeyMaterial and
//! DeleteImportedKeyMaterial. The leader makes each wrapping key pair (off the async runtime)
//! and seals its private half under the barrier, bound to the key and token; any node then
//! opens an import with it, checks the material against the key's spec, seals it under the
//! barrier bound to the key and the material's id, and proposes only the sealed bytes. The
//! plaintext lives in zeroized buffers on the node that took the call and nowhere else.

use trent_keys::KeysError;
use trent_storage::import::IMPORT_PARAMETERS_LIFETIME_MS;
use trent_storage::sealed::WrappedSecret;
use trent_storage::{
    Applied, Command, ImportParametersRecord, ImportTokenId, KeyId, KeyLifecycle, KeyMaterialId, KeyRecord,
    NewImportedMaterial,
};
use trent_wire::import::{
    DeleteImportedKeyMaterialRequest, GetParametersForImportRequest, GetParametersForImportResponse,
    ImportKeyMaterialRequest, KeyMaterialResponse,
};
use trent_wire::limits::MAX_IMPORTED_MATERIAL_VALID_DAYS;
use trent_wire::model::{ExpirationModel, KeySpec, WrappingAlgorithm, WrappingKeySpec};
use trent_wire::{Blob, ErrorCode, KmsError};
use zeroize::Zeroizing;

use super::identifiers::{key_arn, parse_key_id};
use super::metadata::epoch_seconds;
use super::Call;
use crate::seal::keyring::{Keyring, SealContext};
use crate::write_path::Proposal;

/// The first byte of every import token Trent issues.
const TOKEN_VERSION: u8 = 1;
/// An import token: the version byte, the key id, the token id.
const TOKEN_LEN: usize = 1 + 16 + 16;
const MS_PER_DAY: u64 = 24 * 60 * 60 * 1000;

/// The opaque `ImportToken` naming import parameters of `key_id`.
pub fn import_token(key_id: &KeyId, token_id: &ImportTokenId) -> Vec<u8> {
    let mut token = Vec::with_capacity(TOKEN_LEN);
    token.push(TOKEN_VERSION);
    token.extend_from_slice(key_id.as_bytes());
    token.extend_from_slice(&token_id.0);
    token
}

/// The key and token ids an import token names; `None` for bytes Trent did not issue.
fn parse_import_token(token: &[u8]) -> Option<(KeyId, ImportTokenId)> {
    if token.len() != TOKEN_LEN || token[0] != TOKEN_VERSION {
        return None;
    }
    let key = uuid::Uuid::from_slice(&token[1..17]).ok()?;
    let mut token_id = [0u8; 16];
    token_id.copy_from_slice(&token[17..]);
    Some((KeyId(key), ImportTokenId(token_id)))
}

/// The RSA key spec of a wrapping key spec (SM2 has none here).
pub fn wrapping_key_spec(spec: WrappingKeySpec) -> Option<KeySpec> {
    match spec {
        WrappingKeySpec::Rsa2048 => Some(KeySpec::Rsa2048),
        WrappingKeySpec::Rsa3072 => Some(KeySpec::Rsa3072),
        WrappingKeySpec::Rsa4096 => Some(KeySpec::Rsa4096),
        WrappingKeySpec::Sm2 => None,
    }
}

/// The import parameters the leader keeps for `key_id`: a token id of its own, the wrapping
/// private key (PKCS#8, made off the runtime) sealed to the key and token, its public key.
pub fn import_parameters(
    keyring: &Keyring,
    key_id: KeyId,
    algorithm: WrappingAlgorithm,
    wrapping_spec: WrappingKeySpec,
    private_key: &[u8],
    now_ms: u64,
) -> Result<ImportParametersRecord, KmsError> {
    let spec =
        wrapping_key_spec(wrapping_spec).ok_or_else(|| super::keys::sm2_unsupported("WrappingKeySpec"))?;
    let internal =
        |what: &str| KmsError::new(ErrorCode::Internal, format!("cannot make import parameters: {what}"));
    let public_key = trent_keys::PrivateKey::from_material(spec, private_key)
        .and_then(|key| key.public_key_der().map(<[u8]>::to_vec))
        .map_err(|_| internal("the wrapping key does not parse"))?;
    let mut token_id = [0u8; 16];
    crate::crypto::fill_random(&mut token_id).map_err(|_| internal("no randomness"))?;
    let token_id = ImportTokenId(token_id);
    let sealed_private_key = keyring
        .wrap(&SealContext::ImportWrappingKey { key_id: &key_id, token_id: &token_id }, private_key)
        .map_err(|_| internal("the barrier refused the wrapping key"))?;
    Ok(ImportParametersRecord {
        token_id,
        key_id,
        algorithm,
        wrapping_spec,
        public_key,
        sealed_private_key,
        valid_to_ms: now_ms.saturating_add(IMPORT_PARAMETERS_LIFETIME_MS),
    })
}

/// `GetParametersForImport`.
pub async fn get_parameters_for_import(
    call: &Call<'_>,
    request: GetParametersForImportRequest,
) -> Result<GetParametersForImportResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    let algorithm = request.wrapping_algorithm()?;
    let wrapping_spec = request.wrapping_key_spec()?;
    if wrapping_spec == WrappingKeySpec::Sm2 || algorithm == WrappingAlgorithm::Sm2Pke {
        return Err(super::keys::sm2_unsupported("WrappingKeySpec"));
    }
    if algorithm == WrappingAlgorithm::RsaesPkcs1V15 {
        return Err(KmsError::new(
            ErrorCode::Validation,
            "The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported; use RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256",
        ));
    }
    {
        let registry = call.linearizable_registry().await?;
        let key = existing_key(&registry, call, key_id)?;
        check_import_target(key, &key_arn(call.scope(), key_id))?;
    }
    let proposal = Proposal::CreateImportParameters { key_id, algorithm, wrapping_spec };
    match call.write(proposal).await? {
        Applied::ImportParameters { token_id, public_key, valid_to_ms } => {
            Ok(GetParametersForImportResponse {
                key_id: key_arn(call.scope(), key_id),
                import_token: Blob(import_token(&key_id, &token_id)),
                public_key: Blob(public_key),
                parameters_valid_to: epoch_seconds(valid_to_ms),
            })
        }
        _ => Err(KmsError::new(ErrorCode::Internal, "write applied without import parameters")),
    }
}

/// `ImportKeyMaterial`.
pub async fn import_key_material(
    call: &Call<'_>,
    request: ImportKeyMaterialRequest,
) -> Result<KeyMaterialResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    request.validate()?;
    let arn = key_arn(call.scope(), key_id);
    let now_ms = call.node().now_ms();
    let valid_to_ms = valid_to(&request, now_ms)?;
    let import_type = request.import_type()?;
    let claimed_id = match request.key_material_id.as_deref() {
        Some(text) => Some(material_id(text)?),
        None => None,
    };
    if claimed_id.is_some() && import_type == Some(trent_wire::model::ImportType::NewKeyMaterial) {
        return Err(KmsError::new(
            ErrorCode::Validation,
            "KeyMaterialId can only be specified with ImportType EXISTING_KEY_MATERIAL",
        ));
    }
    let (token_id, spec, parameters) = {
        let registry = call.linearizable_registry().await?;
        let key = existing_key(&registry, call, key_id)?;
        check_import_target(key, &arn)?;
        let (token_key, token_id) =
            parse_import_token(request.import_token.as_bytes()).ok_or_else(invalid_token)?;
        let parameters = registry
            .import_parameters(&token_id)
            .filter(|parameters| token_key == key_id && parameters.key_id == key_id)
            .ok_or_else(invalid_token)?;
        if parameters.valid_to_ms <= now_ms {
            return Err(KmsError::new(
                ErrorCode::ExpiredImportToken,
                "The import token is expired. Use GetParametersForImport to get a new import token and public key, use the new public key to encrypt the key material, and then try the request again.",
            ));
        }
        if key.spec != KeySpec::SymmetricDefault
            && (request.key_material_description.is_some() || claimed_id.is_some())
        {
            return Err(KmsError::new(
                ErrorCode::Validation,
                format!("{arn} is not a symmetric encryption key: KeyMaterialDescription and KeyMaterialId are for symmetric keys only"),
            ));
        }
        (token_id, key.spec, parameters.clone())
    };
    let wrapped = request.encrypted_key_material.as_bytes().to_vec();
    let material = open_material(call, &parameters, spec, wrapped).await?;
    let (material_id, sealed) = call
        .with_keyring(|seal| seal.with_keyring(|keyring| seal_material(keyring, &key_id, &material)))
        .map_err(KmsError::from)?
        .map_err(|error| {
            tracing::error!(%key_id, %error, "imported key material could not be sealed");
            KmsError::new(ErrorCode::Internal, "The key material could not be sealed")
        })?;
    drop(material);
    let command = Command::ImportKeyMaterial {
        key_id,
        token_id,
        import_type,
        claimed_id,
        material: NewImportedMaterial {
            id: material_id,
            sealed,
            valid_to_ms,
            description: request.key_material_description.clone(),
        },
    };
    call.write(Proposal::Command(command)).await?;
    Ok(KeyMaterialResponse { key_id: arn, key_material_id: material_id.to_string() })
}

/// `DeleteImportedKeyMaterial`.
pub async fn delete_imported_key_material(
    call: &Call<'_>,
    request: DeleteImportedKeyMaterialRequest,
) -> Result<KeyMaterialResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    request.validate()?;
    let arn = key_arn(call.scope(), key_id);
    let material_id = {
        let registry = call.linearizable_registry().await?;
        let key = existing_key(&registry, call, key_id)?;
        check_import_target(key, &arn)?;
        match request.key_material_id.as_deref() {
            Some(text) => material_id(text)?,
            None => *key
                .current_material()
                .and_then(|material| material.stored_id())
                .ok_or_else(|| KmsError::new(ErrorCode::InvalidState, format!("{arn} is pending import.")))?,
        }
    };
    call.write(Proposal::Command(Command::DeleteImportedKeyMaterial { key_id, material_id })).await?;
    Ok(KeyMaterialResponse { key_id: arn, key_material_id: material_id.to_string() })
}

/// The key the call names, in `registry`, once the call was authorized for it.
fn existing_key<'r>(
    registry: &'r trent_storage::Registry,
    call: &Call<'_>,
    key_id: KeyId,
) -> Result<&'r KeyRecord, KmsError> {
    let key = registry.key(&key_id).ok_or_else(|| {
        KmsError::new(ErrorCode::NotFound, format!("Key '{}' does not exist", key_arn(call.scope(), key_id)))
    })?;
    call.confirm_authorized(key.key_id)?;
    Ok(key)
}

/// A key material can be imported into: `EXTERNAL`, not pending deletion.
fn check_import_target(key: &KeyRecord, arn: &str) -> Result<(), KmsError> {
    if !key.holds_imported_material() {
        return Err(KmsError::new(
            ErrorCode::UnsupportedOperation,
            format!("{arn} origin is {} which is not valid for this operation.", key.origin),
        ));
    }
    if matches!(key.lifecycle, KeyLifecycle::PendingDeletion { .. }) {
        return Err(KmsError::new(ErrorCode::InvalidState, format!("{arn} is pending deletion.")));
    }
    Ok(())
}

/// `ValidTo` as ImportKeyMaterial takes it: required exactly when the material expires, in
/// the future, and at most 365 days away.
fn valid_to(request: &ImportKeyMaterialRequest, now_ms: u64) -> Result<Option<u64>, KmsError> {
    let model = request.expiration_model()?;
    match (model, request.valid_to) {
        (ExpirationModel::KeyMaterialDoesNotExpire, None) => Ok(None),
        (ExpirationModel::KeyMaterialDoesNotExpire, Some(_)) => Err(KmsError::new(
            ErrorCode::Validation,
            "ValidTo cannot be specified when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE",
        )),
        (ExpirationModel::KeyMaterialExpires, None) => Err(KmsError::new(
            ErrorCode::Validation,
            "ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES",
        )),
        (ExpirationModel::KeyMaterialExpires, Some(seconds)) => {
            let latest = now_ms.saturating_add(MAX_IMPORTED_MATERIAL_VALID_DAYS * MS_PER_DAY);
            let valid_to_ms =
                if seconds.is_finite() && seconds > 0.0 { (seconds * 1000.0) as u64 } else { 0 };
            if valid_to_ms <= now_ms || valid_to_ms > latest {
                return Err(KmsError::new(
                    ErrorCode::Validation,
                    format!("ValidTo must be in the future and at most {MAX_IMPORTED_MATERIAL_VALID_DAYS} days away"),
                ));
            }
            Ok(Some(valid_to_ms))
        }
    }
}

/// Opens the wrapped material with the parameters' sealed private key, on the private-key
/// thread pool, and returns it in the canonical form of `spec`.
async fn open_material(
    call: &Call<'_>,
    parameters: &ImportParametersRecord,
    spec: KeySpec,
    wrapped: Vec<u8>,
) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let (key_id, token_id) = (&parameters.key_id, &parameters.token_id);
    let context = SealContext::ImportWrappingKey { key_id, token_id };
    let private_key = call
        .with_keyring(|seal| {
            seal.with_keyring(|keyring| keyring.unwrap(&context, &parameters.sealed_private_key))
        })
        .map_err(KmsError::from)?
        .map_err(|error| {
            tracing::error!(%key_id, %error, "an import wrapping key does not open");
            KmsError::new(ErrorCode::Internal, "The import parameters could not be opened")
        })?;
    let algorithm = parameters.algorithm;
    let opened = crate::cpu_pool::private_key_operations()
        .run(move || {
            let material = trent_keys::import::unwrap(algorithm, &private_key, &wrapped)?;
            trent_keys::import::canonical_material(spec, &material)
        })
        .await
        .map_err(|_| KmsError::new(ErrorCode::Internal, "the import stopped"))?;
    opened.map_err(|error| import_error(&error, spec))
}

/// The id of `material` for `key_id`, and the material sealed under that id.
fn seal_material(
    keyring: &Keyring,
    key_id: &KeyId,
    material: &[u8],
) -> Result<(KeyMaterialId, WrappedSecret), crate::seal::keyring::KeyringError> {
    let material_id = keyring.imported_material_id(key_id, material)?;
    let sealed =
        keyring.wrap(&SealContext::IdentifiedMaterial { key_id, material_id: &material_id }, material)?;
    Ok((material_id, sealed))
}

/// AWS's answer for an import that does not open or is not a key of the spec. The errors
/// carry no material (`trent_keys` promises it).
fn import_error(error: &KeysError, spec: KeySpec) -> KmsError {
    match error {
        KeysError::InvalidCiphertext => KmsError::new(
            ErrorCode::InvalidCiphertext,
            "The encrypted key material could not be decrypted with the import parameters' private key",
        ),
        KeysError::MalformedMaterial(_) | KeysError::InvalidMessage { .. } => KmsError::new(
            ErrorCode::IncorrectKeyMaterial,
            format!("The key material is not valid {spec} key material"),
        ),
        KeysError::UnsupportedSpec(_) => KmsError::new(
            ErrorCode::UnsupportedOperation,
            format!("Key material of spec {spec} cannot be imported"),
        ),
        other => {
            tracing::error!(%other, "an import failed");
            KmsError::new(ErrorCode::Internal, "The key material could not be imported")
        }
    }
}

/// A `KeyMaterialId` the request gave (its form was checked with the request's fields).
fn material_id(text: &str) -> Result<KeyMaterialId, KmsError> {
    KeyMaterialId::parse(text).ok_or_else(|| {
        KmsError::new(ErrorCode::Validation, "KeyMaterialId must be 64 lowercase hexadecimal digits")
    })
}

fn invalid_token() -> KmsError {
    KmsError::new(
        ErrorCode::InvalidImportToken,
        "The import token that you provided is invalid for this KMS key.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_tokens_name_their_key_and_parameters_and_nothing_else_parses() {
        let key = KeyId(uuid::Uuid::new_v4());
        let token_id = ImportTokenId([7; 16]);
        let token = import_token(&key, &token_id);
        assert_eq!(parse_import_token(&token), Some((key, token_id)));
        assert_eq!(parse_import_token(&token[1..]), None);
        let mut other_version = token.clone();
        other_version[0] = 2;
        assert_eq!(parse_import_token(&other_version), None);
        assert_eq!(parse_import_token(b""), None);
    }
}
