//! The envelope against its threat model, without a server: round trips at every chunk
//! boundary, and tampering of every kind (flipped bytes, swapped, repeated, dropped and appended
//! chunks, truncation anywhere, edited headers, wrong keys, hostile lengths) refused with the
//! error that names it. A fake KMS unwraps the data key only for the original wrapped key and
//! context, as the real one (which authenticates both) does.

use std::ops::Range;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use trent_wire::data_plane::EncryptionContext;
use trent_wire::{ErrorCode, KmsError};

use super::*;
use crate::error::ClientError;

const WRAPPED: &[u8] = b"a data key wrapped by the fake KMS";
const SMALL: ChunkSize = ChunkSize::MIN;
const CHUNK: usize = 4096;

fn data_key() -> DataKey {
    DataKey::from_slice(&[0x42; 32]).unwrap()
}

fn context() -> EncryptionContext {
    EncryptionContext::from([
        ("purpose".to_owned(), "test".to_owned()),
        ("tenant".to_owned(), "a".to_owned()),
    ])
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

async fn seal(plaintext: &[u8], chunk_size: ChunkSize) -> Vec<u8> {
    let mut envelope = Vec::new();
    let totals =
        encrypt_with_data_key(&data_key(), WRAPPED, &context(), chunk_size, plaintext, &mut envelope)
            .await
            .unwrap();
    assert_eq!(totals.bytes_in, plaintext.len() as u64);
    assert_eq!(totals.bytes_out, envelope.len() as u64);
    envelope
}

/// What KMS `Decrypt` would do: the data key for the original wrapped key and context only.
fn fake_kms_unwrap(header: &EnvelopeHeader) -> Result<DataKey, EnvelopeError> {
    if header.wrapped_data_key() == WRAPPED && *header.encryption_context() == context() {
        Ok(data_key())
    } else {
        let refused = KmsError::new(ErrorCode::InvalidCiphertext, "fake KMS refuses");
        Err(EnvelopeError::Kms { operation: "Decrypt", source: ClientError::Api(refused) })
    }
}

/// Decrypts as [`decrypt`] does, with the fake KMS; returns the outcome and what was written.
async fn open(envelope: &[u8]) -> (Result<StreamTotals, EnvelopeError>, Vec<u8>) {
    let mut output = Vec::new();
    let mut input = envelope;
    let outcome = match read_header(&mut input).await {
        Ok(header) => match fake_kms_unwrap(&header) {
            Ok(key) => decrypt_with_data_key(&header, &key, input, &mut output).await,
            Err(error) => Err(error),
        },
        Err(error) => Err(error),
    };
    (outcome, output)
}

async fn open_err(envelope: &[u8]) -> EnvelopeError {
    match open(envelope).await {
        (Err(error), _) => error,
        (Ok(totals), _) => panic!("a tampered envelope decrypted: {totals:?}"),
    }
}

async fn header_len(envelope: &[u8]) -> usize {
    read_header(&mut &envelope[..]).await.unwrap().encoded_len()
}

/// The byte ranges of the chunk frames after the header.
async fn frames(envelope: &[u8]) -> Vec<Range<usize>> {
    let mut at = header_len(envelope).await;
    let mut frames = Vec::new();
    while at < envelope.len() {
        let len = u32::from_be_bytes(envelope[at..at + 4].try_into().unwrap()) as usize;
        frames.push(at..at + 4 + len + 16);
        at += 4 + len + 16;
    }
    frames
}

#[tokio::test]
async fn round_trips_at_every_chunk_boundary() {
    for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 5 * CHUNK + 123] {
        let data = plaintext(len);
        let envelope = seal(&data, SMALL).await;
        let (outcome, output) = open(&envelope).await;
        let totals = outcome.unwrap();
        assert_eq!(output, data, "len {len}");
        let chunks = len / CHUNK + 1;
        assert_eq!(totals.chunks, chunks as u64, "len {len}: full chunks, then a short final one");
        assert_eq!(envelope.len(), header_len(&envelope).await + chunks * 20 + len);
        assert_eq!((totals.bytes_in, totals.bytes_out), (envelope.len() as u64, len as u64));
    }
}

#[tokio::test]
async fn round_trips_many_default_chunks() {
    let data = plaintext(16 * 65536 + 7);
    let envelope = seal(&data, ChunkSize::DEFAULT).await;
    let (outcome, output) = open(&envelope).await;
    assert_eq!(outcome.unwrap().chunks, 17);
    assert!(output == data);
}

/// Yields at most 7 bytes per read, as a slow pipe might.
struct Trickle<'a>(&'a [u8]);

impl AsyncRead for Trickle<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = self.0.len().min(7).min(buf.remaining());
        buf.put_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn short_reads_still_fill_whole_chunks() {
    let data = plaintext(3 * CHUNK + 5);
    let mut envelope = Vec::new();
    let totals =
        encrypt_with_data_key(&data_key(), WRAPPED, &context(), SMALL, Trickle(&data), &mut envelope)
            .await
            .unwrap();
    assert_eq!(totals.chunks, 4);
    let mut input = Trickle(&envelope);
    let header = read_header(&mut input).await.unwrap();
    let mut output = Vec::new();
    decrypt_with_data_key(&header, &data_key(), input, &mut output).await.unwrap();
    assert_eq!(output, data);
}

#[tokio::test]
async fn every_single_byte_flip_is_refused() {
    let data = plaintext(CHUNK + 100);
    let envelope = seal(&data, SMALL).await;
    let header_len = header_len(&envelope).await;
    let frames = frames(&envelope).await;
    for at in 0..envelope.len() {
        let mut tampered = envelope.clone();
        tampered[at] ^= 0x01;
        let (outcome, output) = open(&tampered).await;
        let Err(error) = outcome else { panic!("flip at {at} was accepted") };
        assert!(data.starts_with(&output), "flip at {at}: unauthenticated bytes were written");
        let frame = frames.iter().position(|frame| frame.contains(&at));
        match at {
            0..=7 => assert!(matches!(error, EnvelopeError::NotAnEnvelope), "{at}: {error:?}"),
            8 => assert!(matches!(error, EnvelopeError::UnsupportedVersion { version: 0 })),
            13..=44 => assert!(matches!(error, EnvelopeError::HeaderAuthentication), "{at}: {error:?}"),
            _ if (header_len - 16..header_len).contains(&at) => {
                assert!(matches!(error, EnvelopeError::HeaderAuthentication), "{at}: {error:?}")
            }
            // Past a frame's length field: its ciphertext or tag.
            _ if frame.is_some_and(|i| at >= frames[i].start + 4) => {
                let index = frame.unwrap() as u64;
                assert!(
                    matches!(error, EnvelopeError::ChunkAuthentication { index: i } if i == index),
                    "{at}: {error:?}"
                );
            }
            // Chunk size, context, wrapped key, chunk lengths: refused one way or another.
            _ => assert!(
                !matches!(error, EnvelopeError::ReadInput(_) | EnvelopeError::WriteOutput(_)),
                "{at}: {error:?}"
            ),
        }
    }
}

#[tokio::test]
async fn swapped_chunks_are_refused() {
    let envelope = seal(&plaintext(3 * CHUNK + 10), SMALL).await;
    let f = frames(&envelope).await;
    let mut swapped = envelope[..f[0].start].to_vec();
    for i in [1, 0, 2, 3] {
        swapped.extend_from_slice(&envelope[f[i].clone()]);
    }
    let (outcome, output) = open(&swapped).await;
    assert!(matches!(outcome, Err(EnvelopeError::ChunkAuthentication { index: 0 })));
    assert!(output.is_empty());
}

#[tokio::test]
async fn repeated_and_dropped_chunks_are_refused() {
    let data = plaintext(3 * CHUNK + 10);
    let envelope = seal(&data, SMALL).await;
    let f = frames(&envelope).await;
    let with_frames = |order: &[usize]| {
        let mut rebuilt = envelope[..f[0].start].to_vec();
        for &i in order {
            rebuilt.extend_from_slice(&envelope[f[i].clone()]);
        }
        rebuilt
    };
    let (repeated, output) = open(&with_frames(&[0, 0, 1, 2, 3])).await;
    assert!(matches!(repeated, Err(EnvelopeError::ChunkAuthentication { index: 1 })));
    assert_eq!(output, data[..CHUNK], "only the authenticated first chunk was written");
    let (dropped, _) = open(&with_frames(&[0, 2, 3])).await;
    assert!(matches!(dropped, Err(EnvelopeError::ChunkAuthentication { index: 1 })));
    let (final_dropped, _) = open(&with_frames(&[0, 1, 2])).await;
    assert!(matches!(final_dropped, Err(EnvelopeError::Truncated)));
    let (final_moved_up, _) = open(&with_frames(&[0, 3])).await;
    assert!(matches!(final_moved_up, Err(EnvelopeError::ChunkAuthentication { index: 1 })));
}

#[tokio::test]
async fn truncation_anywhere_is_refused() {
    let data = plaintext(2 * CHUNK + 10);
    let envelope = seal(&data, SMALL).await;
    let header_len = header_len(&envelope).await;
    for cut in 0..envelope.len() {
        let (outcome, output) = open(&envelope[..cut]).await;
        let error = outcome.expect_err("a truncated envelope decrypted");
        if cut < header_len {
            assert!(matches!(error, EnvelopeError::TruncatedHeader), "cut {cut}: {error:?}");
        } else {
            assert!(matches!(error, EnvelopeError::Truncated), "cut {cut}: {error:?}");
        }
        assert!(output.len() < data.len() && data.starts_with(&output), "cut {cut}");
    }
}

#[tokio::test]
async fn data_after_the_final_chunk_is_refused_before_it_is_written() {
    let data = plaintext(CHUNK + 10);
    let envelope = seal(&data, SMALL).await;
    let last = frames(&envelope).await.pop().unwrap();
    let another = seal(&data, SMALL).await;
    for appended in [&[0u8][..], &envelope[last], &another] {
        let mut longer = envelope.clone();
        longer.extend_from_slice(appended);
        let (outcome, output) = open(&longer).await;
        assert!(matches!(outcome, Err(EnvelopeError::TrailingData)));
        assert_eq!(output, data[..CHUNK], "the final chunk is held back");
    }
}

#[tokio::test]
async fn edited_headers_and_wrong_keys_are_refused() {
    let envelope = seal(&plaintext(100), SMALL).await;

    // Another valid chunk size: only the header tag notices.
    let mut resized = envelope.clone();
    resized[9..13].copy_from_slice(&8192u32.to_be_bytes());
    assert!(matches!(open_err(&resized).await, EnvelopeError::HeaderAuthentication));

    // An edited context: KMS refuses the data key; and a KMS that handed it out anyway would
    // still be caught by the header tag.
    let at = envelope.windows(4).position(|w| w == b"test").unwrap();
    let mut edited = envelope.clone();
    edited[at..at + 4].copy_from_slice(b"prod");
    assert!(matches!(open_err(&edited).await, EnvelopeError::Kms { operation: "Decrypt", .. }));
    let mut input = &edited[..];
    let header = read_header(&mut input).await.unwrap();
    let lying = decrypt_with_data_key(&header, &data_key(), input, Vec::new()).await;
    assert!(matches!(lying, Err(EnvelopeError::HeaderAuthentication)));

    // The wrong data key.
    let mut input = &envelope[..];
    let header = read_header(&mut input).await.unwrap();
    let other_key = DataKey::from_slice(&[0x43; 32]).unwrap();
    let mut output = Vec::new();
    let wrong = decrypt_with_data_key(&header, &other_key, input, &mut output).await;
    assert!(matches!(wrong, Err(EnvelopeError::HeaderAuthentication)));
    assert!(output.is_empty());

    // The header of one envelope with the chunks of another under the same data key: each
    // envelope's salt gives it its own chunk key.
    let other = seal(&plaintext(100), SMALL).await;
    let mut spliced = envelope[..header_len(&envelope).await].to_vec();
    spliced.extend_from_slice(&other[header_len(&other).await..]);
    assert!(matches!(open_err(&spliced).await, EnvelopeError::ChunkAuthentication { index: 0 }));
}

#[tokio::test]
async fn wrong_magic_or_version_is_refused() {
    let envelope = seal(b"hello", SMALL).await;
    let mut magic = envelope.clone();
    magic[6] = b'W';
    assert!(matches!(open_err(&magic).await, EnvelopeError::NotAnEnvelope));
    for version in [0, 2, 255] {
        let mut versioned = envelope.clone();
        versioned[8] = version;
        assert!(
            matches!(open_err(&versioned).await, EnvelopeError::UnsupportedVersion { version: v } if v == version)
        );
    }
    assert!(matches!(open_err(b"plain text, not an envelope").await, EnvelopeError::NotAnEnvelope));
}

/// A header up to the context count, with chunk size `chunk_size`.
fn raw_header(chunk_size: u32) -> Vec<u8> {
    let mut bytes = MAGIC.to_vec();
    bytes.push(FORMAT_VERSION);
    bytes.extend_from_slice(&chunk_size.to_be_bytes());
    bytes.extend_from_slice(&[0; 32]);
    bytes
}

fn push_text(bytes: &mut Vec<u8>, text: &[u8]) {
    bytes.extend_from_slice(&(text.len() as u32).to_be_bytes());
    bytes.extend_from_slice(text);
}

/// A header whose context is the given raw pairs, declared as `count` pairs.
fn header_with_context(count: u32, pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut bytes = raw_header(4096);
    bytes.extend_from_slice(&count.to_be_bytes());
    for (key, value) in pairs {
        push_text(&mut bytes, key);
        push_text(&mut bytes, value);
    }
    bytes.extend_from_slice(&1u16.to_be_bytes());
    bytes.push(7);
    bytes.extend_from_slice(&[0; 16]);
    bytes
}

async fn header_err(bytes: &[u8]) -> EnvelopeError {
    read_header(&mut &bytes[..]).await.expect_err("a hostile header was accepted")
}

#[tokio::test]
async fn hostile_lengths_are_refused_before_anything_is_allocated() {
    let error = header_err(&raw_header(u32::MAX)).await;
    assert!(matches!(error, EnvelopeError::ChunkSizeOutOfRange { size } if size == u64::from(u32::MAX)));
    assert!(matches!(header_err(&raw_header(0)).await, EnvelopeError::ChunkSizeOutOfRange { size: 0 }));

    let error = header_err(&header_with_context(u32::MAX, &[])).await;
    assert!(matches!(error, EnvelopeError::ContextTooManyPairs { count } if count == u64::from(u32::MAX)));

    let mut huge_key = raw_header(4096);
    huge_key.extend_from_slice(&1u32.to_be_bytes());
    huge_key.extend_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(header_err(&huge_key).await, EnvelopeError::ContextTooLarge));

    let half = vec![b'v'; 4096];
    let over_budget = header_with_context(2, &[(b"a", &half), (b"b", &half)]);
    assert!(matches!(header_err(&over_budget).await, EnvelopeError::ContextTooLarge));

    let error = header_err(&header_with_context(1, &[(b"k", b"\xff\xfe")])).await;
    assert!(matches!(error, EnvelopeError::ContextNotUtf8));
    for pairs in [&[(&b"b"[..], &b""[..]), (b"a", b"")][..], &[(b"a", b""), (b"a", b"")]] {
        let error = header_err(&header_with_context(2, pairs)).await;
        assert!(matches!(error, EnvelopeError::ContextNotCanonical), "{error:?}");
    }

    for (declared, len) in [(0u16, 0usize), (u16::MAX, 65535)] {
        let mut bytes = raw_header(4096);
        bytes.extend_from_slice(&0u32.to_be_bytes());
        bytes.extend_from_slice(&declared.to_be_bytes());
        let error = header_err(&bytes).await;
        assert!(matches!(error, EnvelopeError::WrappedKeyLength { len: l } if l == len), "{error:?}");
    }

    let mut envelope = seal(b"x", SMALL).await;
    let first = frames(&envelope).await[0].start;
    envelope[first..first + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    let error = open_err(&envelope).await;
    assert!(matches!(error, EnvelopeError::ChunkTooLong { index: 0, len: u32::MAX, limit: 4096 }));
}

#[test]
fn required_context_entries_must_be_present_with_their_values() {
    let stored = context();
    let require = |pairs: &[(&str, &str)]| {
        let required: EncryptionContext =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        check_required_context(&stored, &required)
    };
    assert!(require(&[]).is_ok());
    assert!(require(&[("tenant", "a")]).is_ok());
    assert!(require(&[("purpose", "test"), ("tenant", "a")]).is_ok());
    let wrong_value = require(&[("tenant", "b")]);
    assert!(matches!(wrong_value, Err(EnvelopeError::ContextMismatch { key }) if key == "tenant"));
    let missing = require(&[("region", "eu")]);
    assert!(matches!(missing, Err(EnvelopeError::ContextMismatch { key }) if key == "region"));
}
