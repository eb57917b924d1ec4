//! Envelope encryption of data of any size under a Trent (or any AWS KMS) key.
//!
//! [`encrypt`] asks KMS `GenerateDataKey` for one AES-256 data key, then streams the input
//! through AES-256-GCM in chunks into a self-describing envelope: a header holding the wrapped
//! data key and the encryption context, then authenticated chunks. [`decrypt`] reads the header,
//! asks KMS `Decrypt` for the data key, and streams the chunks back, writing each only after it
//! authenticated. Memory stays at about one chunk either way. The byte layout, the key
//! derivation and what each check catches are specified in `docs/envelope.md`.
//!
//! The chunk crypto ([`encrypt_with_data_key`], [`read_header`], [`decrypt_with_data_key`])
//! takes the plaintext data key, so it works with any KMS and is tested without one.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use trent_client::envelope::{self, DecryptOptions, EnvelopeOptions};
//! use trent_client::wire::data_plane::EncryptionContext;
//! use trent_client::TrentClient;
//!
//! let client = TrentClient::single("http://127.0.0.1:8400")?;
//! let context = EncryptionContext::from([("purpose".to_owned(), "backup".to_owned())]);
//!
//! let input = tokio::fs::File::open("backup.tar").await?;
//! let output = tokio::fs::File::create("backup.tar.trent").await?;
//! let sealed =
//!     envelope::encrypt(&client, "alias/backups", &context, &EnvelopeOptions::default(), input, output)
//!         .await?;
//! println!("{} chunks under {}", sealed.chunks, sealed.key_id);
//!
//! let options = DecryptOptions { key_id: Some("alias/backups".into()), required_context: context };
//! let input = tokio::fs::File::open("backup.tar.trent").await?;
//! let output = tokio::fs::File::create("backup.tar.restored").await?;
//! envelope::decrypt(&client, &options, input, output).await?;
//! # Ok(())
//! # }
//! ```

mod crypto;
mod error;
mod format;
mod stream;
#[cfg(test)]
mod tests;

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use trent_wire::data_plane::{DecryptRequest, EncryptionContext, GenerateDataKeyRequest};
use trent_wire::Blob;

use crate::client::TrentClient;

pub use crypto::{DataKey, DATA_KEY_BYTES};
pub use error::EnvelopeError;
pub use format::{
    read_header, ChunkSize, EnvelopeHeader, FORMAT_VERSION, MAGIC, MAX_CONTEXT_PAIRS, MAX_WRAPPED_KEY_BYTES,
};
pub use stream::{decrypt_with_data_key, encrypt_with_data_key, StreamTotals};

/// The `KeySpec` asked of `GenerateDataKey`.
const DATA_KEY_SPEC: &str = "AES_256";

/// How [`encrypt`] lays out the envelope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EnvelopeOptions {
    /// Plaintext bytes per chunk (default 64 KiB); memory use is about one chunk.
    pub chunk_size: ChunkSize,
}

/// What [`decrypt`] requires of an envelope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecryptOptions {
    /// The KMS key that must have wrapped the data key (key id, key ARN, alias name or alias
    /// ARN); KMS refuses the data key with `IncorrectKeyException` if another key wrapped it.
    pub key_id: Option<String>,
    /// Entries the envelope's encryption context must hold, with these values; it may hold
    /// more. Checked before KMS is asked for the data key.
    pub required_context: EncryptionContext,
}

/// What an [`encrypt`] or [`decrypt`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvelopeSummary {
    /// ARN of the KMS key that wraps the data key, as KMS named it.
    pub key_id: String,
    /// The encryption context stored in the envelope.
    pub encryption_context: EncryptionContext,
    /// Plaintext bytes per chunk.
    pub chunk_size: u32,
    /// Chunks, the final (possibly empty) one included.
    pub chunks: u64,
    /// Bytes read from the input.
    pub bytes_in: u64,
    /// Bytes written to the output.
    pub bytes_out: u64,
}

impl EnvelopeSummary {
    fn new(key_id: String, encryption_context: EncryptionContext, totals: StreamTotals) -> EnvelopeSummary {
        EnvelopeSummary {
            key_id,
            encryption_context,
            chunk_size: totals.chunk_size.get(),
            chunks: totals.chunks,
            bytes_in: totals.bytes_in,
            bytes_out: totals.bytes_out,
        }
    }
}

/// Encrypts everything `input` yields into an envelope on `output`, under a fresh data key
/// from KMS `GenerateDataKey` with `key_id` and `context`.
///
/// `context` is stored in the clear in the header and bound to the data key by KMS; decrypting
/// needs no copy of it. On error, `output` holds an unusable partial envelope.
pub async fn encrypt<R, W>(
    client: &TrentClient,
    key_id: &str,
    context: &EncryptionContext,
    options: &EnvelopeOptions,
    input: R,
    output: W,
) -> Result<EnvelopeSummary, EnvelopeError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    // Refuse a context the header cannot hold before KMS mints a key for it.
    format::check_context(context)?;
    let request = GenerateDataKeyRequest {
        key_id: key_id.to_owned(),
        encryption_context: (!context.is_empty()).then(|| context.clone()),
        key_spec: Some(DATA_KEY_SPEC.to_owned()),
        ..GenerateDataKeyRequest::default()
    };
    let generated = client
        .generate_data_key(&request)
        .await
        .map_err(|source| EnvelopeError::Kms { operation: "GenerateDataKey", source })?;
    // The response's `Blob`s are zeroized when `generated` drops.
    let data_key = DataKey::from_slice(generated.plaintext.as_bytes())?;
    let totals = encrypt_with_data_key(
        &data_key,
        generated.ciphertext_blob.as_bytes(),
        context,
        options.chunk_size,
        input,
        output,
    )
    .await?;
    Ok(EnvelopeSummary::new(generated.key_id.clone(), context.clone(), totals))
}

/// Decrypts the envelope `input` yields onto `output`: reads the header, checks it against
/// `options`, unwraps the data key with KMS `Decrypt`, then verifies and writes chunk by chunk.
///
/// Nothing is written before the header authenticated, and no chunk before it authenticated;
/// but an envelope refused at chunk *n* leaves chunks before *n* on `output`, so a caller
/// writing a file should write a temporary one and keep it only on success.
pub async fn decrypt<R, W>(
    client: &TrentClient,
    options: &DecryptOptions,
    mut input: R,
    output: W,
) -> Result<EnvelopeSummary, EnvelopeError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let header = read_header(&mut input).await?;
    check_required_context(header.encryption_context(), &options.required_context)?;
    let context = header.encryption_context();
    let request = DecryptRequest {
        ciphertext_blob: Some(Blob(header.wrapped_data_key().to_vec())),
        encryption_context: (!context.is_empty()).then(|| context.clone()),
        key_id: options.key_id.clone(),
        ..DecryptRequest::default()
    };
    let unwrapped = client
        .decrypt(&request)
        .await
        .map_err(|source| EnvelopeError::Kms { operation: "Decrypt", source })?;
    let data_key = DataKey::from_slice(unwrapped.plaintext.as_bytes())?;
    let totals = decrypt_with_data_key(&header, &data_key, input, output).await?;
    Ok(EnvelopeSummary::new(unwrapped.key_id.clone(), context.clone(), totals))
}

/// Checks that `context` holds every entry of `required` with the same value.
pub fn check_required_context(
    context: &EncryptionContext,
    required: &EncryptionContext,
) -> Result<(), EnvelopeError> {
    match required.iter().find(|(key, value)| context.get(*key) != Some(*value)) {
        Some((key, _)) => Err(EnvelopeError::ContextMismatch { key: key.clone() }),
        None => Ok(()),
    }
}
