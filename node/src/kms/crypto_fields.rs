//! Checks shared by the crypto operations, in AWS's words: blob lengths, the encryption
//! context, grant tokens, encryption algorithms, `Recipient`, `DryRun` and its modifiers.

use trent_wire::data_plane::EncryptionContext;
use trent_wire::limits::{
    MAX_CIPHERTEXT_BYTES, MAX_ENCRYPTION_CONTEXT_BYTES, MAX_GRANT_TOKENS, MAX_GRANT_TOKEN_CHARS,
};
use trent_wire::model::{DryRunModifier, EncryptionAlgorithm};
pub use trent_wire::validation::check_blob_length;
use trent_wire::validation::{check_length, enum_value, enum_value_or};
use trent_wire::{Blob, ErrorCode, KmsError};

/// The encryption context, empty if absent, within its size limit.
pub fn encryption_context(context: Option<EncryptionContext>) -> Result<EncryptionContext, KmsError> {
    let context = context.unwrap_or_default();
    let bytes: usize = context.iter().map(|(key, value)| key.len() + value.len()).sum();
    if bytes > MAX_ENCRYPTION_CONTEXT_BYTES {
        return Err(KmsError::new(
            ErrorCode::Validation,
            format!(
                "The encryption context is {bytes} bytes; its keys and values may total at most {MAX_ENCRYPTION_CONTEXT_BYTES}"
            ),
        ));
    }
    Ok(context)
}

/// Grant tokens: at most 10, each 1–8192 characters (what they mean: `authorization::grant_token`).
pub fn check_grant_tokens(tokens: Option<&[String]>) -> Result<(), KmsError> {
    let tokens = tokens.unwrap_or_default();
    if tokens.len() > MAX_GRANT_TOKENS {
        return Err(KmsError::new(
            ErrorCode::Validation,
            format!("1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to {MAX_GRANT_TOKENS}"),
        ));
    }
    for token in tokens {
        check_length("grantTokens", token, 1, MAX_GRANT_TOKEN_CHARS)?;
    }
    Ok(())
}

/// An `EncryptionAlgorithm`-style field, `SYMMETRIC_DEFAULT` when absent.
pub fn encryption_algorithm(field: &str, value: Option<&str>) -> Result<EncryptionAlgorithm, KmsError> {
    enum_value_or(
        field,
        value,
        EncryptionAlgorithm::SymmetricDefault,
        EncryptionAlgorithm::parse,
        EncryptionAlgorithm::allowed_values,
    )
}

/// `Recipient` (Nitro Enclaves attestation) is not supported.
pub fn refuse_recipient(recipient: Option<&serde_json::Value>) -> Result<(), KmsError> {
    match recipient {
        Some(_) => Err(KmsError::new(
            ErrorCode::UnsupportedOperation,
            "Recipient (Nitro Enclaves attestation) is not supported",
        )),
        None => Ok(()),
    }
}

/// Whether this is a dry run that leaves the ciphertext out (`DryRunModifiers:
/// [IGNORE_CIPHERTEXT]`); checks the modifiers' values either way.
pub fn ignores_ciphertext(dry_run: Option<bool>, modifiers: Option<&[String]>) -> Result<bool, KmsError> {
    let mut ignore = false;
    for modifier in modifiers.unwrap_or_default() {
        let modifier =
            enum_value("dryRunModifiers", modifier, DryRunModifier::parse, DryRunModifier::allowed_values)?;
        ignore |= modifier == DryRunModifier::IgnoreCiphertext;
    }
    Ok(ignore && dry_run == Some(true))
}

/// The `CiphertextBlob` to open, 1–6144 bytes: `None` when a dry run ignores the ciphertext
/// (one given anyway is still checked), an error when it is missing otherwise.
pub fn ciphertext_to_open(blob: Option<&Blob>, ignore_ciphertext: bool) -> Result<Option<&Blob>, KmsError> {
    match blob {
        Some(blob) => check_blob_length("ciphertextBlob", blob, 1, MAX_CIPHERTEXT_BYTES)?,
        None if !ignore_ciphertext => {
            return Err(KmsError::new(
                ErrorCode::Validation,
                "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null",
            ))
        }
        None => {}
    }
    Ok(blob.filter(|_| !ignore_ciphertext))
}

/// With `DryRun` set, a call that passed every check answers `DryRunOperationException`.
pub fn finish_dry_run(dry_run: Option<bool>) -> Result<(), KmsError> {
    match dry_run {
        Some(true) => Err(dry_run_succeeded()),
        _ => Ok(()),
    }
}

/// The answer to a dry run that would have succeeded.
pub fn dry_run_succeeded() -> KmsError {
    KmsError::new(
        ErrorCode::DryRunOperation,
        "The request would have succeeded, but the DryRun parameter was set.",
    )
}
