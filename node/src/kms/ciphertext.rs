//! The symmetric ciphertext blob (DESIGN §4) and the encryption context's canonical form.
//!
//! ```text
//! version (1) | key id (16, UUID bytes) | material version (4, BE) | nonce (12) | ciphertext | tag (16)
//! ```
//!
//! AES-256-GCM under the key's material version; the associated data is the 21-byte header
//! followed by the canonical encryption context, so neither the key, the version nor the context
//! can be changed without the tag failing. Anything wrong with a blob is one error,
//! [`InvalidCiphertext`], with no hint of what.

use trent_storage::KeyId;
use trent_wire::data_plane::EncryptionContext;
use zeroize::Zeroizing;

use crate::crypto::{aead_open, aead_seal_append, CryptoError, SecretKey, NONCE_BYTES, TAG_BYTES};

/// The first byte of every blob this format writes.
pub const FORMAT_V1: u8 = 0x01;
/// Bytes before the nonce: version, key id, material version.
pub const HEADER_BYTES: usize = 1 + 16 + 4;
/// The shortest possible blob (an empty plaintext).
pub const MIN_BLOB_BYTES: usize = HEADER_BYTES + NONCE_BYTES + TAG_BYTES;

/// What a blob's header names: the key and material version that sealed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobHeader {
    /// The key.
    pub key_id: KeyId,
    /// Its material version.
    pub material_version: u32,
}

impl BlobHeader {
    fn encode(&self) -> [u8; HEADER_BYTES] {
        let mut header = [0u8; HEADER_BYTES];
        header[0] = FORMAT_V1;
        header[1..17].copy_from_slice(self.key_id.as_bytes());
        header[17..21].copy_from_slice(&self.material_version.to_be_bytes());
        header
    }
}

/// A blob that is malformed, forged, or bound to another context. Deliberately says no more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the ciphertext is invalid")]
pub struct InvalidCiphertext;

/// Reads the header of `blob` without authenticating it (that happens in [`open`]).
pub fn parse_header(blob: &[u8]) -> Result<BlobHeader, InvalidCiphertext> {
    if blob.len() < MIN_BLOB_BYTES || blob[0] != FORMAT_V1 {
        return Err(InvalidCiphertext);
    }
    let key_bytes: [u8; 16] = blob[1..17].try_into().map_err(|_| InvalidCiphertext)?;
    let version_bytes: [u8; 4] = blob[17..21].try_into().map_err(|_| InvalidCiphertext)?;
    Ok(BlobHeader {
        key_id: KeyId(uuid::Uuid::from_bytes(key_bytes)),
        material_version: u32::from_be_bytes(version_bytes),
    })
}

/// Encrypts `plaintext` under `material` (version `header.material_version` of `header.key_id`),
/// bound to `context`.
pub fn seal(
    material: &SecretKey,
    header: BlobHeader,
    context: &EncryptionContext,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let header = header.encode();
    let aad = associated_data(&header, context);
    let mut blob = Vec::with_capacity(MIN_BLOB_BYTES + plaintext.len());
    blob.extend_from_slice(&header);
    aead_seal_append(material, &aad, plaintext, &mut blob)?;
    Ok(blob)
}

/// Decrypts `blob` with `material`, which must be the material its header names, under
/// `context`. The plaintext is zeroized when dropped.
pub fn open(
    material: &SecretKey,
    blob: &[u8],
    context: &EncryptionContext,
) -> Result<Zeroizing<Vec<u8>>, InvalidCiphertext> {
    let header = parse_header(blob)?.encode();
    let aad = associated_data(&header, context);
    aead_open(material, &aad, &blob[HEADER_BYTES..]).map_err(|_| InvalidCiphertext)
}

/// The header followed by the canonical context: pairs sorted by key, each key and value as a
/// 4-byte big-endian length and its UTF-8 bytes.
fn associated_data(header: &[u8; HEADER_BYTES], context: &EncryptionContext) -> Vec<u8> {
    let pairs_bytes: usize = context.iter().map(|(key, value)| 8 + key.len() + value.len()).sum();
    let mut aad = Vec::with_capacity(HEADER_BYTES + pairs_bytes);
    aad.extend_from_slice(header);
    // A BTreeMap iterates sorted by key: the canonical order.
    for (key, value) in context {
        for part in [key, value] {
            aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
            aad.extend_from_slice(part.as_bytes());
        }
    }
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> BlobHeader {
        BlobHeader { key_id: KeyId(uuid::Uuid::new_v4()), material_version: 3 }
    }

    fn context(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
    }

    #[test]
    fn a_blob_opens_with_its_material_and_context_only() {
        let material = SecretKey::generate().unwrap();
        let header = header();
        let ctx = context(&[("tenant", "a"), ("purpose", "test")]);
        let blob = seal(&material, header, &ctx, b"secret").unwrap();
        assert_eq!(blob.len(), MIN_BLOB_BYTES + 6);
        assert_eq!(parse_header(&blob).unwrap(), header);
        assert_eq!(open(&material, &blob, &ctx).unwrap().as_slice(), b"secret");

        assert_eq!(open(&material, &blob, &context(&[("tenant", "a")])), Err(InvalidCiphertext));
        assert_eq!(open(&material, &blob, &EncryptionContext::new()), Err(InvalidCiphertext));
        let other = SecretKey::generate().unwrap();
        assert_eq!(open(&other, &blob, &ctx), Err(InvalidCiphertext));
    }

    #[test]
    fn every_byte_of_a_blob_is_authenticated() {
        let material = SecretKey::generate().unwrap();
        let ctx = context(&[("k", "v")]);
        let blob = seal(&material, header(), &ctx, b"0123456789").unwrap();
        for index in 0..blob.len() {
            let mut forged = blob.clone();
            forged[index] ^= 0x40;
            assert_eq!(open(&material, &forged, &ctx), Err(InvalidCiphertext), "byte {index}");
        }
        for length in 0..blob.len() {
            assert_eq!(open(&material, &blob[..length], &ctx), Err(InvalidCiphertext), "length {length}");
        }
    }

    #[test]
    fn the_context_encoding_is_unambiguous() {
        // Without length prefixes these two would be the same bytes.
        let material = SecretKey::generate().unwrap();
        let blob = seal(&material, header(), &context(&[("ab", "c")]), b"x").unwrap();
        assert_eq!(open(&material, &blob, &context(&[("a", "bc")])), Err(InvalidCiphertext));
        let empty_value = seal(&material, header(), &context(&[("a", "")]), b"x").unwrap();
        assert_eq!(open(&material, &empty_value, &EncryptionContext::new()), Err(InvalidCiphertext));
    }

    #[test]
    fn headers_are_read_before_authentication_and_refused_when_short_or_foreign() {
        let material = SecretKey::generate().unwrap();
        let header = header();
        let mut blob = seal(&material, header, &EncryptionContext::new(), b"").unwrap();
        assert_eq!(blob.len(), MIN_BLOB_BYTES);
        assert_eq!(parse_header(&blob), Ok(header));
        assert_eq!(parse_header(&blob[..MIN_BLOB_BYTES - 1]), Err(InvalidCiphertext));
        blob[0] = 0x02;
        assert_eq!(parse_header(&blob), Err(InvalidCiphertext));
    }
}
