//! The envelope's byte layout, as `docs/envelope.md` specifies it: the header, its one canonical
//! encoding and its bounded parsing, and the chunk frame with the nonce and associated data each
//! chunk is sealed with. No keys and no crypto here; `crypto` seals what this module lays out.

use tokio::io::{AsyncRead, AsyncReadExt};
use trent_wire::data_plane::EncryptionContext;
use trent_wire::limits::{MAX_CIPHERTEXT_BYTES, MAX_ENCRYPTION_CONTEXT_BYTES};

use crate::envelope::error::EnvelopeError;

/// The first eight bytes of every envelope.
pub const MAGIC: [u8; 8] = *b"TRNTENV\0";
/// The format version this module writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// Bytes of the random per-envelope salt the chunk key is derived with.
pub const SALT_BYTES: usize = 32;
/// Bytes of an AES-GCM tag (the header tag and every chunk's tag).
pub const TAG_BYTES: usize = 16;
/// Bytes of an AES-GCM nonce.
pub const NONCE_BYTES: usize = 12;
/// Most pairs an envelope's encryption context may hold.
pub const MAX_CONTEXT_PAIRS: usize = 1024;
/// Longest wrapped data key: the longest ciphertext KMS `Decrypt` accepts.
pub const MAX_WRAPPED_KEY_BYTES: usize = MAX_CIPHERTEXT_BYTES;
/// Bytes of the length that opens each chunk frame.
pub const CHUNK_LENGTH_BYTES: usize = 4;
/// Bytes of the SHA-256 digest of the header that every chunk's associated data starts with.
pub const HEADER_DIGEST_BYTES: usize = 32;
/// Bytes of a chunk's associated data: header digest, chunk index, kind flag.
pub const CHUNK_AAD_BYTES: usize = HEADER_DIGEST_BYTES + 8 + 1;
/// The nonce of the header tag. Chunk nonces start with four zero bytes, so it is never one.
pub const HEADER_TAG_NONCE: [u8; NONCE_BYTES] = [0xFF; NONCE_BYTES];

/// Magic, version, chunk size and salt: the fixed-size start of the header.
const FIXED_HEADER_BYTES: usize = MAGIC.len() + 1 + 4 + SALT_BYTES;

/// Plaintext bytes per chunk, within [`ChunkSize::MIN`]..=[`ChunkSize::MAX`]. Encryption and
/// decryption both hold about one chunk in memory, so this bounds their memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChunkSize(u32);

impl ChunkSize {
    /// The smallest chunk: 4 KiB.
    pub const MIN: ChunkSize = ChunkSize(4 * 1024);
    /// The largest chunk: 4 MiB.
    pub const MAX: ChunkSize = ChunkSize(4 * 1024 * 1024);
    /// The default chunk: 64 KiB.
    pub const DEFAULT: ChunkSize = ChunkSize(64 * 1024);

    /// A chunk size of `bytes`, refused outside [`MIN`](Self::MIN)..=[`MAX`](Self::MAX).
    pub fn new(bytes: u64) -> Result<ChunkSize, EnvelopeError> {
        match u32::try_from(bytes) {
            Ok(size) if (Self::MIN.0..=Self::MAX.0).contains(&size) => Ok(ChunkSize(size)),
            _ => Err(EnvelopeError::ChunkSizeOutOfRange { size: bytes }),
        }
    }

    /// The size in bytes.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The size in bytes, as a buffer length.
    pub(crate) fn bytes(self) -> usize {
        // At most 4 MiB, so it fits any usize this crate builds for.
        self.0 as usize
    }
}

impl Default for ChunkSize {
    fn default() -> ChunkSize {
        ChunkSize::DEFAULT
    }
}

/// Whether a chunk is followed by more chunks or ends the envelope. Every chunk before the last
/// holds exactly the chunk size; the final one holds less (possibly nothing), so its length
/// alone tells a reader which it is, and the kind is bound into its associated data as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkKind {
    /// A full chunk; more follow.
    Full,
    /// The last chunk, shorter than the chunk size.
    Final,
}

impl ChunkKind {
    /// The kind of a chunk of `len` plaintext (or ciphertext) bytes in an envelope of `size`.
    pub fn of_length(len: usize, size: ChunkSize) -> ChunkKind {
        if len < size.bytes() {
            ChunkKind::Final
        } else {
            ChunkKind::Full
        }
    }

    fn flag(self) -> u8 {
        match self {
            ChunkKind::Full => 0,
            ChunkKind::Final => 1,
        }
    }
}

/// The nonce of chunk `index`: four zero bytes, then the index as a big-endian u64.
pub fn chunk_nonce(index: u64) -> [u8; NONCE_BYTES] {
    let mut nonce = [0u8; NONCE_BYTES];
    nonce[4..].copy_from_slice(&index.to_be_bytes());
    nonce
}

/// The associated data of chunk `index`: SHA-256 of the header, the index (u64 BE), the kind.
pub fn chunk_aad(
    header_digest: &[u8; HEADER_DIGEST_BYTES],
    index: u64,
    kind: ChunkKind,
) -> [u8; CHUNK_AAD_BYTES] {
    let mut aad = [0u8; CHUNK_AAD_BYTES];
    aad[..HEADER_DIGEST_BYTES].copy_from_slice(header_digest);
    aad[HEADER_DIGEST_BYTES..HEADER_DIGEST_BYTES + 8].copy_from_slice(&index.to_be_bytes());
    aad[CHUNK_AAD_BYTES - 1] = kind.flag();
    aad
}

/// Checks `context` against the envelope's limits, which are those KMS puts on a context.
pub fn check_context(context: &EncryptionContext) -> Result<(), EnvelopeError> {
    if context.len() > MAX_CONTEXT_PAIRS {
        return Err(EnvelopeError::ContextTooManyPairs { count: context.len() as u64 });
    }
    let bytes: usize = context.iter().map(|(key, value)| key.len() + value.len()).sum();
    if bytes > MAX_ENCRYPTION_CONTEXT_BYTES {
        return Err(EnvelopeError::ContextTooLarge);
    }
    Ok(())
}

/// The header up to and including the wrapped data key: the bytes the header tag authenticates.
pub fn encode_header_body(
    chunk_size: ChunkSize,
    salt: &[u8; SALT_BYTES],
    context: &EncryptionContext,
    wrapped_data_key: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    check_context(context)?;
    let wrapped_len = wrapped_key_length(wrapped_data_key.len())?;
    let context_bytes: usize = context.iter().map(|(key, value)| 8 + key.len() + value.len()).sum();
    let mut body = Vec::with_capacity(FIXED_HEADER_BYTES + 4 + context_bytes + 2 + wrapped_data_key.len());
    body.extend_from_slice(&MAGIC);
    body.push(FORMAT_VERSION);
    body.extend_from_slice(&chunk_size.get().to_be_bytes());
    body.extend_from_slice(salt);
    // Both within the limits just checked, so the casts are exact. A BTreeMap iterates sorted
    // by key bytes: the canonical order a reader insists on.
    body.extend_from_slice(&(context.len() as u32).to_be_bytes());
    for (key, value) in context {
        for text in [key, value] {
            body.extend_from_slice(&(text.len() as u32).to_be_bytes());
            body.extend_from_slice(text.as_bytes());
        }
    }
    body.extend_from_slice(&wrapped_len.to_be_bytes());
    body.extend_from_slice(wrapped_data_key);
    Ok(body)
}

fn wrapped_key_length(len: usize) -> Result<u16, EnvelopeError> {
    match u16::try_from(len) {
        Ok(short) if len > 0 && len <= MAX_WRAPPED_KEY_BYTES => Ok(short),
        _ => Err(EnvelopeError::WrappedKeyLength { len }),
    }
}

/// A parsed envelope header. Parsing checks its shape and limits only; it is authenticated
/// later, with the data key (see [`decrypt_with_data_key`](crate::envelope::decrypt_with_data_key)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeHeader {
    chunk_size: ChunkSize,
    salt: [u8; SALT_BYTES],
    context: EncryptionContext,
    wrapped_data_key: Vec<u8>,
    body: Vec<u8>,
    tag: [u8; TAG_BYTES],
}

impl EnvelopeHeader {
    /// The plaintext bytes per chunk.
    pub fn chunk_size(&self) -> ChunkSize {
        self.chunk_size
    }

    /// The encryption context the data key was wrapped under (stored in the clear).
    pub fn encryption_context(&self) -> &EncryptionContext {
        &self.context
    }

    /// The data key as KMS encrypted it: what KMS `Decrypt` takes.
    pub fn wrapped_data_key(&self) -> &[u8] {
        &self.wrapped_data_key
    }

    /// The header's length in bytes, tag included.
    pub fn encoded_len(&self) -> usize {
        self.body.len() + TAG_BYTES
    }

    pub(crate) fn salt(&self) -> &[u8; SALT_BYTES] {
        &self.salt
    }

    /// The bytes the header tag authenticates and the chunk AAD digests.
    pub(crate) fn body(&self) -> &[u8] {
        &self.body
    }

    pub(crate) fn tag(&self) -> &[u8; TAG_BYTES] {
        &self.tag
    }
}

/// Reads and parses an envelope header from `input`, leaving `input` at the first chunk.
///
/// Every length is checked against its limit before anything of that length is read, so a
/// hostile header cannot make this allocate more than the limits (about 23 KiB in all).
pub async fn read_header<R: AsyncRead + Unpin>(input: &mut R) -> Result<EnvelopeHeader, EnvelopeError> {
    let mut reader = HeaderReader { input, body: Vec::with_capacity(256) };
    reader.magic().await?;
    let version = reader.take(1).await?[0];
    if version != FORMAT_VERSION {
        return Err(EnvelopeError::UnsupportedVersion { version });
    }
    let chunk_size = ChunkSize::new(u64::from(reader.u32().await?))?;
    let mut salt = [0u8; SALT_BYTES];
    salt.copy_from_slice(reader.take(SALT_BYTES).await?);
    let context = reader.context().await?;
    let wrapped_len = usize::from(u16::from_be_bytes(reader.array().await?));
    wrapped_key_length(wrapped_len)?;
    let wrapped_data_key = reader.take(wrapped_len).await?.to_vec();
    let body = reader.body;
    let mut tag = [0u8; TAG_BYTES];
    read_exact(input, &mut tag).await?;
    Ok(EnvelopeHeader { chunk_size, salt, context, wrapped_data_key, body, tag })
}

/// Reads header fields, keeping every byte read for the header tag.
struct HeaderReader<'a, R> {
    input: &'a mut R,
    body: Vec<u8>,
}

impl<R: AsyncRead + Unpin> HeaderReader<'_, R> {
    /// The magic. A short input that is not a prefix of it is not an envelope rather than a
    /// truncated one, so a stray text file is named for what it is.
    async fn magic(&mut self) -> Result<(), EnvelopeError> {
        let mut magic = [0u8; MAGIC.len()];
        let mut filled = 0;
        while filled < magic.len() {
            match self.input.read(&mut magic[filled..]).await.map_err(EnvelopeError::ReadInput)? {
                0 => break,
                read => filled += read,
            }
        }
        if magic[..filled] != MAGIC[..filled] {
            return Err(EnvelopeError::NotAnEnvelope);
        }
        if filled < magic.len() {
            return Err(EnvelopeError::TruncatedHeader);
        }
        self.body.extend_from_slice(&magic);
        Ok(())
    }

    /// The next `len` bytes; `len` is already checked against its limit.
    async fn take(&mut self, len: usize) -> Result<&[u8], EnvelopeError> {
        let start = self.body.len();
        self.body.resize(start + len, 0);
        read_exact(self.input, &mut self.body[start..]).await?;
        Ok(&self.body[start..])
    }

    async fn array<const N: usize>(&mut self) -> Result<[u8; N], EnvelopeError> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.take(N).await?);
        Ok(array)
    }

    async fn u32(&mut self) -> Result<u32, EnvelopeError> {
        Ok(u32::from_be_bytes(self.array().await?))
    }

    /// The context pairs, within the pair and byte limits, strictly ascending by key.
    async fn context(&mut self) -> Result<EncryptionContext, EnvelopeError> {
        let count = self.u32().await?;
        if count as usize > MAX_CONTEXT_PAIRS {
            return Err(EnvelopeError::ContextTooManyPairs { count: u64::from(count) });
        }
        let mut context = EncryptionContext::new();
        let mut budget = MAX_ENCRYPTION_CONTEXT_BYTES;
        for _ in 0..count {
            let key = self.text(&mut budget).await?;
            let value = self.text(&mut budget).await?;
            if context.last_key_value().is_some_and(|(last, _)| *last >= key) {
                return Err(EnvelopeError::ContextNotCanonical);
            }
            context.insert(key, value);
        }
        Ok(context)
    }

    /// A length-prefixed UTF-8 string, charged against the context's byte `budget`.
    async fn text(&mut self, budget: &mut usize) -> Result<String, EnvelopeError> {
        let len = self.u32().await? as usize;
        *budget = budget.checked_sub(len).ok_or(EnvelopeError::ContextTooLarge)?;
        let bytes = self.take(len).await?.to_vec();
        String::from_utf8(bytes).map_err(|_| EnvelopeError::ContextNotUtf8)
    }
}

/// Fills `buffer` from `input`; an early end of input is a truncated header.
async fn read_exact<R: AsyncRead + Unpin>(input: &mut R, buffer: &mut [u8]) -> Result<(), EnvelopeError> {
    match input.read_exact(buffer).await {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => Err(EnvelopeError::TruncatedHeader),
        Err(err) => Err(EnvelopeError::ReadInput(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn chunk_size_is_bounded() {
        assert_eq!(ChunkSize::new(4096).unwrap().get(), 4096);
        assert_eq!(ChunkSize::new(4 << 20).unwrap(), ChunkSize::MAX);
        assert_eq!(ChunkSize::default().get(), 65536);
        for bad in [0, 4095, (4 << 20) + 1, u64::from(u32::MAX) + 4096] {
            assert!(
                matches!(ChunkSize::new(bad), Err(EnvelopeError::ChunkSizeOutOfRange { size }) if size == bad)
            );
        }
    }

    #[test]
    fn nonces_and_aad_follow_the_layout() {
        assert_eq!(chunk_nonce(0x0102), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
        assert_ne!(chunk_nonce(u64::MAX), HEADER_TAG_NONCE);
        let aad = chunk_aad(&[9; 32], 3, ChunkKind::Final);
        assert_eq!(&aad[..32], &[9; 32]);
        assert_eq!(&aad[32..40], &3u64.to_be_bytes());
        assert_eq!(aad[40], 1);
        assert_eq!(chunk_aad(&[9; 32], 3, ChunkKind::Full)[40], 0);
        assert_eq!(ChunkKind::of_length(4095, ChunkSize::MIN), ChunkKind::Final);
        assert_eq!(ChunkKind::of_length(4096, ChunkSize::MIN), ChunkKind::Full);
    }

    #[tokio::test]
    async fn header_round_trips_in_its_documented_layout() {
        let ctx = context(&[("b", "2"), ("a", "1")]);
        let body = encode_header_body(ChunkSize::MIN, &[7; 32], &ctx, b"wrapped").unwrap();
        assert_eq!(&body[..8], b"TRNTENV\0");
        assert_eq!(body[8], 1);
        assert_eq!(&body[9..13], &4096u32.to_be_bytes());
        assert_eq!(&body[13..45], &[7; 32]);
        assert_eq!(&body[45..49], &2u32.to_be_bytes());
        // Sorted: "a" first.
        assert_eq!(&body[49..59], b"\0\0\0\x01a\0\0\0\x011");
        assert_eq!(&body[69..71], &7u16.to_be_bytes());
        assert_eq!(&body[71..], b"wrapped");

        let mut envelope = body.clone();
        envelope.extend_from_slice(&[5; TAG_BYTES]);
        envelope.extend_from_slice(b"first chunk");
        let mut input = &envelope[..];
        let header = read_header(&mut input).await.unwrap();
        assert_eq!(header.chunk_size(), ChunkSize::MIN);
        assert_eq!(header.encryption_context(), &ctx);
        assert_eq!(header.wrapped_data_key(), b"wrapped");
        assert_eq!((header.body(), header.tag(), header.salt()), (&body[..], &[5; TAG_BYTES], &[7; 32]));
        assert_eq!(header.encoded_len(), body.len() + TAG_BYTES);
        assert_eq!(input, b"first chunk", "the reader is left at the first chunk");
    }

    #[test]
    fn encoding_refuses_what_a_reader_would_refuse() {
        let too_many: EncryptionContext =
            (0..=MAX_CONTEXT_PAIRS).map(|i| (i.to_string(), String::new())).collect();
        let big = context(&[("k", &"v".repeat(MAX_ENCRYPTION_CONTEXT_BYTES))]);
        let encode = |ctx: &EncryptionContext, wrapped: &[u8]| {
            encode_header_body(ChunkSize::MIN, &[0; 32], ctx, wrapped)
        };
        assert!(matches!(encode(&too_many, b"w"), Err(EnvelopeError::ContextTooManyPairs { count: 1025 })));
        assert!(matches!(encode(&big, b"w"), Err(EnvelopeError::ContextTooLarge)));
        assert!(matches!(encode(&context(&[]), b""), Err(EnvelopeError::WrappedKeyLength { len: 0 })));
        let long = vec![0; MAX_WRAPPED_KEY_BYTES + 1];
        assert!(matches!(encode(&context(&[]), &long), Err(EnvelopeError::WrappedKeyLength { len: 6145 })));
    }

    #[tokio::test]
    async fn short_foreign_input_is_not_an_envelope_and_short_envelope_is_truncated() {
        assert!(matches!(read_header(&mut &b"hi\n"[..]).await, Err(EnvelopeError::NotAnEnvelope)));
        assert!(matches!(read_header(&mut &b"TRNT"[..]).await, Err(EnvelopeError::TruncatedHeader)));
        assert!(matches!(read_header(&mut &b""[..]).await, Err(EnvelopeError::TruncatedHeader)));
    }
}
