//! [`EnvelopeError`]: everything that can stop an envelope encryption or decryption, one variant
//! per cause, so callers and tests can tell a forged chunk from a truncated file from a refused
//! KMS call without reading messages.

use crate::envelope::format::{ChunkSize, MAX_CONTEXT_PAIRS, MAX_WRAPPED_KEY_BYTES};
use crate::error::ClientError;
use trent_wire::limits::MAX_ENCRYPTION_CONTEXT_BYTES;

/// Why an envelope could not be written or read.
///
/// The variants that report a refused input (everything from [`NotAnEnvelope`] on) mean nothing
/// that failed its check was written to the output; chunks before the failing one were verified
/// and may have been written, which is why a caller writing a file should write to a temporary
/// file and keep it only on success.
///
/// [`NotAnEnvelope`]: EnvelopeError::NotAnEnvelope
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// A KMS call (`GenerateDataKey` or `Decrypt`) failed: the key is unknown, disabled or not
    /// the one expected, the caller lacks permission, or KMS refused the wrapped data key (whose
    /// encryption context or bytes were altered).
    #[error("KMS {operation} failed")]
    Kms {
        /// The KMS operation.
        operation: &'static str,
        /// What KMS (or the way there) answered.
        #[source]
        source: ClientError,
    },
    /// KMS returned a data key that is not 32 bytes long.
    #[error("KMS returned a {len}-byte data key; AES-256 needs 32")]
    DataKeyLength {
        /// The length received.
        len: usize,
    },
    /// Reading the input failed (other than by ending early, which is [`Truncated`]).
    ///
    /// [`Truncated`]: EnvelopeError::Truncated
    #[error("cannot read the input")]
    ReadInput(#[source] std::io::Error),
    /// Writing the output failed.
    #[error("cannot write the output")]
    WriteOutput(#[source] std::io::Error),
    /// The system random source failed.
    #[error("the random number generator failed")]
    RandomSource,
    /// AES-GCM refused to seal (a chunk beyond what GCM allows; cannot happen within the limits).
    #[error("encryption failed")]
    Seal,
    /// The chunk size is outside [`ChunkSize::MIN`]..=[`ChunkSize::MAX`].
    #[error("chunk size {size} is outside {}..={} bytes", ChunkSize::MIN.get(), ChunkSize::MAX.get())]
    ChunkSizeOutOfRange {
        /// The size asked for or read.
        size: u64,
    },
    /// The encryption context has more than [`MAX_CONTEXT_PAIRS`] pairs.
    #[error("the encryption context has {count} pairs; at most {MAX_CONTEXT_PAIRS} are allowed")]
    ContextTooManyPairs {
        /// The number of pairs given or declared.
        count: u64,
    },
    /// The encryption context's keys and values total more than the KMS limit.
    #[error("the encryption context's keys and values exceed {MAX_ENCRYPTION_CONTEXT_BYTES} bytes")]
    ContextTooLarge,
    /// The input does not start with the envelope magic: not an envelope, or a corrupted one.
    #[error("the input is not a Trent envelope (wrong magic bytes)")]
    NotAnEnvelope,
    /// The envelope is of a format version this build does not read.
    #[error("envelope format version {version} is not supported (this build reads version 1)")]
    UnsupportedVersion {
        /// The version byte read.
        version: u8,
    },
    /// The input ended inside the header.
    #[error("the envelope ends inside its header")]
    TruncatedHeader,
    /// A context key or value in the header is not UTF-8.
    #[error("the envelope's encryption context is not UTF-8")]
    ContextNotUtf8,
    /// The header's context keys are not strictly ascending (unsorted or repeated), so the
    /// header is not in its one canonical encoding.
    #[error("the envelope's encryption context is not sorted by key or repeats a key")]
    ContextNotCanonical,
    /// The wrapped data key is empty or longer than [`MAX_WRAPPED_KEY_BYTES`].
    #[error("the wrapped data key is {len} bytes; it must be 1..={MAX_WRAPPED_KEY_BYTES}")]
    WrappedKeyLength {
        /// The length given or declared.
        len: usize,
    },
    /// The header tag did not verify: the header was altered after encryption, or the data key
    /// is not the one the envelope was made with.
    #[error("the envelope header failed authentication (altered, or the wrong data key)")]
    HeaderAuthentication,
    /// A chunk declares a length above the envelope's chunk size.
    #[error("chunk {index} declares {len} bytes; the envelope's chunks hold at most {limit}")]
    ChunkTooLong {
        /// The chunk's position, from 0.
        index: u64,
        /// The declared ciphertext length.
        len: u32,
        /// The envelope's chunk size.
        limit: u32,
    },
    /// A chunk did not authenticate: it was altered, moved, repeated, dropped (its successor
    /// fails in its place), or belongs to another envelope. Nothing of it was written.
    #[error("chunk {index} failed authentication (altered, reordered, duplicated or missing chunks)")]
    ChunkAuthentication {
        /// The chunk's position, from 0.
        index: u64,
    },
    /// The input ended before the final chunk: the envelope was truncated.
    #[error("the envelope is truncated: it ends before its final chunk")]
    Truncated,
    /// Bytes follow the final chunk.
    #[error("unexpected data after the envelope's final chunk")]
    TrailingData,
    /// The input holds more chunks than a 64-bit counter numbers (unreachable in practice).
    #[error("too many chunks")]
    TooManyChunks,
    /// The envelope's encryption context lacks an entry the caller requires, or holds another
    /// value for it.
    #[error(
        "the envelope's encryption context lacks the required entry {key:?} or holds another value for it"
    )]
    ContextMismatch {
        /// The required key that is missing or different.
        key: String,
    },
}
