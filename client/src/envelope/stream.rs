//! The chunk loop of envelope encryption and decryption over tokio `AsyncRead`/`AsyncWrite`,
//! given the plaintext data key: no KMS here, so it is tested without a server. Each direction
//! holds one chunk in a zeroized buffer, whatever the input's size.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use trent_wire::data_plane::EncryptionContext;
use zeroize::Zeroizing;

use crate::envelope::crypto::{random_salt, ChunkCipher, DataKey};
use crate::envelope::error::EnvelopeError;
use crate::envelope::format::{
    encode_header_body, ChunkKind, ChunkSize, EnvelopeHeader, CHUNK_LENGTH_BYTES, TAG_BYTES,
};

/// What one pass over a stream did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamTotals {
    /// The envelope's plaintext bytes per chunk.
    pub chunk_size: ChunkSize,
    /// Chunks written or verified, the final (possibly empty) one included.
    pub chunks: u64,
    /// Bytes read from the input.
    pub bytes_in: u64,
    /// Bytes written to the output.
    pub bytes_out: u64,
}

/// Encrypts everything `input` yields into an envelope on `output`, under `data_key`, storing
/// `wrapped_data_key` (the same key as KMS encrypted it under `context`) and `context` in the
/// header. Flushes `output` at the end.
///
/// A fresh random salt per call derives a fresh chunk key, so reusing a data key for several
/// envelopes never reuses a nonce under one key; still, prefer one data key per envelope, as
/// [`encrypt`](crate::envelope::encrypt) does.
pub async fn encrypt_with_data_key<R, W>(
    data_key: &DataKey,
    wrapped_data_key: &[u8],
    context: &EncryptionContext,
    chunk_size: ChunkSize,
    mut input: R,
    mut output: W,
) -> Result<StreamTotals, EnvelopeError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let salt = random_salt()?;
    let header_body = encode_header_body(chunk_size, &salt, context, wrapped_data_key)?;
    let cipher = ChunkCipher::new(data_key, &salt, &header_body)?;
    let header_tag = cipher.header_tag(&header_body)?;
    write(&mut output, &header_body).await?;
    write(&mut output, &header_tag).await?;
    let mut totals = StreamTotals {
        chunk_size,
        chunks: 0,
        bytes_in: 0,
        bytes_out: (header_body.len() + TAG_BYTES) as u64,
    };

    // One frame buffer, `length | chunk | tag`: plaintext is read straight into it and sealed
    // in place, so a chunk is never copied and the buffer is zeroized when dropped.
    let size = chunk_size.bytes();
    let mut frame = Zeroizing::new(vec![0u8; CHUNK_LENGTH_BYTES + size + TAG_BYTES]);
    let mut index: u64 = 0;
    loop {
        let chunk = &mut frame[CHUNK_LENGTH_BYTES..CHUNK_LENGTH_BYTES + size];
        let len = fill(&mut input, chunk).await?;
        let kind = ChunkKind::of_length(len, chunk_size);
        let tag = cipher.seal_chunk(index, kind, &mut chunk[..len])?;
        let end = CHUNK_LENGTH_BYTES + len;
        // `len` is at most the chunk size, itself at most 4 MiB: the cast is exact.
        frame[..CHUNK_LENGTH_BYTES].copy_from_slice(&(len as u32).to_be_bytes());
        frame[end..end + TAG_BYTES].copy_from_slice(&tag);
        write(&mut output, &frame[..end + TAG_BYTES]).await?;
        totals.chunks += 1;
        totals.bytes_in += len as u64;
        totals.bytes_out += (end + TAG_BYTES) as u64;
        if kind == ChunkKind::Final {
            break;
        }
        index = index.checked_add(1).ok_or(EnvelopeError::TooManyChunks)?;
    }
    output.flush().await.map_err(EnvelopeError::WriteOutput)?;
    Ok(totals)
}

/// Verifies and decrypts the chunks that follow `header` on `input` (where
/// [`read_header`](crate::envelope::read_header) left it) onto `output`, under `data_key`.
///
/// The header tag is checked first, so a wrong data key or an altered header is refused before
/// anything is written. Each chunk is written only after it authenticated; the final chunk only
/// once the input is known to end with it. A refused envelope may therefore have left its
/// verified leading chunks on `output`. Flushes `output` at the end.
pub async fn decrypt_with_data_key<R, W>(
    header: &EnvelopeHeader,
    data_key: &DataKey,
    mut input: R,
    mut output: W,
) -> Result<StreamTotals, EnvelopeError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let cipher = ChunkCipher::new(data_key, header.salt(), header.body())?;
    cipher.verify_header_tag(header.body(), header.tag())?;
    let chunk_size = header.chunk_size();
    let mut totals =
        StreamTotals { chunk_size, chunks: 0, bytes_in: header.encoded_len() as u64, bytes_out: 0 };

    let mut sealed = Zeroizing::new(vec![0u8; chunk_size.bytes() + TAG_BYTES]);
    let mut index: u64 = 0;
    loop {
        let mut length = [0u8; CHUNK_LENGTH_BYTES];
        read_chunk_part(&mut input, &mut length).await?;
        let declared = u32::from_be_bytes(length);
        if declared > chunk_size.get() {
            return Err(EnvelopeError::ChunkTooLong { index, len: declared, limit: chunk_size.get() });
        }
        let len = declared as usize;
        let kind = ChunkKind::of_length(len, chunk_size);
        let frame = &mut sealed[..len + TAG_BYTES];
        read_chunk_part(&mut input, frame).await?;
        let plaintext_len = cipher.open_chunk(index, kind, frame)?;
        totals.chunks += 1;
        totals.bytes_in += (CHUNK_LENGTH_BYTES + len + TAG_BYTES) as u64;
        if kind == ChunkKind::Final {
            expect_end(&mut input).await?;
        }
        write(&mut output, &frame[..plaintext_len]).await?;
        totals.bytes_out += plaintext_len as u64;
        if kind == ChunkKind::Final {
            break;
        }
        index = index.checked_add(1).ok_or(EnvelopeError::TooManyChunks)?;
    }
    output.flush().await.map_err(EnvelopeError::WriteOutput)?;
    Ok(totals)
}

/// Reads until `buffer` is full or the input ends, returning how much was read: a short read
/// from a pipe must not end a chunk early, since a short chunk is the final one.
async fn fill<R: AsyncRead + Unpin>(input: &mut R, buffer: &mut [u8]) -> Result<usize, EnvelopeError> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]).await {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(EnvelopeError::ReadInput(err)),
        }
    }
    Ok(filled)
}

/// Fills `buffer` with the next part of a chunk frame; an early end means truncation.
async fn read_chunk_part<R: AsyncRead + Unpin>(
    input: &mut R,
    buffer: &mut [u8],
) -> Result<(), EnvelopeError> {
    match input.read_exact(buffer).await {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => Err(EnvelopeError::Truncated),
        Err(err) => Err(EnvelopeError::ReadInput(err)),
    }
}

/// Checks that the input ends here.
async fn expect_end<R: AsyncRead + Unpin>(input: &mut R) -> Result<(), EnvelopeError> {
    let mut probe = [0u8; 1];
    loop {
        return match input.read(&mut probe).await {
            Ok(0) => Ok(()),
            Ok(_) => Err(EnvelopeError::TrailingData),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => Err(EnvelopeError::ReadInput(err)),
        };
    }
}

async fn write<W: AsyncWrite + Unpin>(output: &mut W, bytes: &[u8]) -> Result<(), EnvelopeError> {
    output.write_all(bytes).await.map_err(EnvelopeError::WriteOutput)
}
