//! The symmetric ciphertext blob (DESIGN §4) and the encryption context's canonical form.
//!
//! ```text
//! v1: 0x01 | key id (16, UUID bytes) | material version (4, BE) | nonce (12) | ciphertext | tag (16)
//! v2: 0x02 | key id (16, UUID bytes) | material version (4, BE) | salt (16) | nonce (12) | ciphertext | tag (16)
//! ```
//!
//! v1 is AES-256-GCM under the key's material version itself, with a random nonce: one material
//! version may seal no more than about 2^32 blobs before random nonces risk repeating. v2 seals
//! each blob under its own key, HKDF-SHA-256 of the material with a random 128-bit salt and
//! `"trent/ciphertext/v2|" ‖ key id ‖ material version` as info (as AWS KMS derives a key per
//! call), so no material version approaches that limit; the nonce stays random all the same.
//! v2 is written once the cluster's feature level reaches [`V2_FEATURE_LEVEL`] (every member
//! reads it); v1 blobs open for ever.
//!
//! In both, the associated data is the header (v2: with its salt) followed by the canonical
//! encryption context, so neither the key, the version, the salt nor the context can be changed
//! without the tag failing. Anything wrong with a blob is one error, [`InvalidCiphertext`], with
//! no hint of what.

use trent_storage::KeyId;
use trent_wire::data_plane::EncryptionContext;
use zeroize::Zeroizing;

use crate::crypto::{
    aead_open, aead_seal_append, fill_random, hkdf_sha256, CryptoError, SecretKey, NONCE_BYTES, TAG_BYTES,
};

/// The first byte of a v1 blob.
pub const FORMAT_V1: u8 = 0x01;
/// The first byte of a v2 blob.
pub const FORMAT_V2: u8 = 0x02;
/// The cluster feature level from which blobs are written in v2.
pub const V2_FEATURE_LEVEL: u32 = 4;
/// Bytes every format starts with: format, key id, material version.
pub const HEADER_BYTES: usize = 1 + 16 + 4;
/// Bytes of a v2 blob's salt, after the common header.
pub const SALT_BYTES: usize = 16;
/// The longest header, v2's (with its salt).
const MAX_HEADER_BYTES: usize = HEADER_BYTES + SALT_BYTES;
/// The shortest possible v1 blob (an empty plaintext).
pub const MIN_BLOB_BYTES: usize = HEADER_BYTES + NONCE_BYTES + TAG_BYTES;
/// HKDF's info prefix for a v2 blob's key.
const V2_INFO: &[u8] = b"trent/ciphertext/v2|";

/// How a blob is laid out and keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlobFormat {
    /// Sealed under the material itself.
    V1,
    /// Sealed under a key derived from the material and a per-blob salt.
    V2,
}

impl BlobFormat {
    /// The format new blobs take while the cluster is at feature `level`.
    pub fn for_level(level: u32) -> BlobFormat {
        if level >= V2_FEATURE_LEVEL {
            BlobFormat::V2
        } else {
            BlobFormat::V1
        }
    }

    fn tag(self) -> u8 {
        match self {
            BlobFormat::V1 => FORMAT_V1,
            BlobFormat::V2 => FORMAT_V2,
        }
    }

    /// Bytes before the nonce.
    pub fn header_bytes(self) -> usize {
        match self {
            BlobFormat::V1 => HEADER_BYTES,
            BlobFormat::V2 => HEADER_BYTES + SALT_BYTES,
        }
    }

    /// The shortest blob of this format (an empty plaintext).
    pub fn min_blob_bytes(self) -> usize {
        self.header_bytes() + NONCE_BYTES + TAG_BYTES
    }
}

/// What a blob's header names: its format, and the key and material version that sealed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobHeader {
    /// Its layout.
    pub format: BlobFormat,
    /// The key.
    pub key_id: KeyId,
    /// Its material version.
    pub material_version: u32,
}

impl BlobHeader {
    /// The header's bytes, the salt (v2) following: the first `format.header_bytes()` of the
    /// array.
    fn encode(&self, salt: &[u8; SALT_BYTES]) -> [u8; MAX_HEADER_BYTES] {
        let mut header = [0u8; MAX_HEADER_BYTES];
        header[0] = self.format.tag();
        header[1..17].copy_from_slice(self.key_id.as_bytes());
        header[17..HEADER_BYTES].copy_from_slice(&self.material_version.to_be_bytes());
        header[HEADER_BYTES..].copy_from_slice(salt);
        header
    }

    /// The key this header's blob is sealed under: the material (v1) or derived from it (v2).
    fn blob_key(
        &self,
        material: &SecretKey,
        salt: &[u8; SALT_BYTES],
    ) -> Result<Option<SecretKey>, CryptoError> {
        match self.format {
            BlobFormat::V1 => Ok(None),
            BlobFormat::V2 => {
                let version = self.material_version.to_be_bytes();
                hkdf_sha256(material.expose(), salt, &[V2_INFO, self.key_id.as_bytes(), &version]).map(Some)
            }
        }
    }
}

/// A blob that is malformed, forged, or bound to another context. Deliberately says no more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the ciphertext is invalid")]
pub struct InvalidCiphertext;

/// Reads the header of `blob` without authenticating it (that happens in [`open`]).
pub fn parse_header(blob: &[u8]) -> Result<BlobHeader, InvalidCiphertext> {
    let format = match blob.first() {
        Some(&FORMAT_V1) => BlobFormat::V1,
        Some(&FORMAT_V2) => BlobFormat::V2,
        _ => return Err(InvalidCiphertext),
    };
    if blob.len() < format.min_blob_bytes() {
        return Err(InvalidCiphertext);
    }
    let key_bytes: [u8; 16] = blob[1..17].try_into().map_err(|_| InvalidCiphertext)?;
    let version_bytes: [u8; 4] = blob[17..21].try_into().map_err(|_| InvalidCiphertext)?;
    Ok(BlobHeader {
        format,
        key_id: KeyId(uuid::Uuid::from_bytes(key_bytes)),
        material_version: u32::from_be_bytes(version_bytes),
    })
}

/// Encrypts `plaintext` under `material` (version `header.material_version` of `header.key_id`)
/// in `header.format`, bound to `context`.
pub fn seal(
    material: &SecretKey,
    header: BlobHeader,
    context: &EncryptionContext,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let mut salt = [0u8; SALT_BYTES];
    if header.format == BlobFormat::V2 {
        fill_random(&mut salt)?;
    }
    let encoded = header.encode(&salt);
    let encoded = &encoded[..header.format.header_bytes()];
    let aad = associated_data(encoded, context);
    let derived = header.blob_key(material, &salt)?;
    let mut blob = Vec::with_capacity(header.format.min_blob_bytes() + plaintext.len());
    blob.extend_from_slice(encoded);
    aead_seal_append(derived.as_ref().unwrap_or(material), &aad, plaintext, &mut blob)?;
    Ok(blob)
}

/// Decrypts `blob` with `material`, which must be the material its header names, under
/// `context`. The plaintext is zeroized when dropped.
pub fn open(
    material: &SecretKey,
    blob: &[u8],
    context: &EncryptionContext,
) -> Result<Zeroizing<Vec<u8>>, InvalidCiphertext> {
    let header = parse_header(blob)?;
    let header_bytes = header.format.header_bytes();
    let mut salt = [0u8; SALT_BYTES];
    if header.format == BlobFormat::V2 {
        salt.copy_from_slice(&blob[HEADER_BYTES..header_bytes]);
    }
    let aad = associated_data(&blob[..header_bytes], context);
    let derived = header.blob_key(material, &salt).map_err(|_| InvalidCiphertext)?;
    aead_open(derived.as_ref().unwrap_or(material), &aad, &blob[header_bytes..])
        .map_err(|_| InvalidCiphertext)
}

/// The header followed by the canonical context: pairs sorted by key, each key and value as a
/// 4-byte big-endian length and its UTF-8 bytes.
fn associated_data(header: &[u8], context: &EncryptionContext) -> Vec<u8> {
    let pairs_bytes: usize = context.iter().map(|(key, value)| 8 + key.len() + value.len()).sum();
    let mut aad = Vec::with_capacity(header.len() + pairs_bytes);
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

    const FORMATS: [BlobFormat; 2] = [BlobFormat::V1, BlobFormat::V2];

    fn header(format: BlobFormat) -> BlobHeader {
        BlobHeader { format, key_id: KeyId(uuid::Uuid::new_v4()), material_version: 3 }
    }

    fn context(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
    }

    #[test]
    fn a_blob_opens_with_its_material_and_context_only() {
        for format in FORMATS {
            let material = SecretKey::generate().unwrap();
            let header = header(format);
            let ctx = context(&[("tenant", "a"), ("purpose", "test")]);
            let blob = seal(&material, header, &ctx, b"secret").unwrap();
            assert_eq!(blob.len(), format.min_blob_bytes() + 6);
            assert_eq!(parse_header(&blob).unwrap(), header);
            assert_eq!(open(&material, &blob, &ctx).unwrap().as_slice(), b"secret");

            assert_eq!(open(&material, &blob, &context(&[("tenant", "a")])), Err(InvalidCiphertext));
            assert_eq!(open(&material, &blob, &EncryptionContext::new()), Err(InvalidCiphertext));
            let other = SecretKey::generate().unwrap();
            assert_eq!(open(&other, &blob, &ctx), Err(InvalidCiphertext));
        }
    }

    #[test]
    fn every_byte_of_a_blob_is_authenticated() {
        for format in FORMATS {
            let material = SecretKey::generate().unwrap();
            let ctx = context(&[("k", "v")]);
            let blob = seal(&material, header(format), &ctx, b"0123456789").unwrap();
            for index in 0..blob.len() {
                let mut forged = blob.clone();
                forged[index] ^= 0x40;
                assert_eq!(open(&material, &forged, &ctx), Err(InvalidCiphertext), "{format:?} byte {index}");
            }
            for length in 0..blob.len() {
                assert_eq!(
                    open(&material, &blob[..length], &ctx),
                    Err(InvalidCiphertext),
                    "{format:?} length {length}"
                );
            }
        }
    }

    #[test]
    fn a_v2_blob_is_sealed_under_a_key_of_its_own() {
        let material = SecretKey::generate().unwrap();
        let header = header(BlobFormat::V2);
        let ctx = EncryptionContext::new();
        let blob = seal(&material, header, &ctx, b"secret").unwrap();
        let salt: [u8; SALT_BYTES] = blob[HEADER_BYTES..HEADER_BYTES + SALT_BYTES].try_into().unwrap();
        let again = seal(&material, header, &ctx, b"secret").unwrap();
        assert_ne!(&again[HEADER_BYTES..HEADER_BYTES + SALT_BYTES], &salt, "a fresh salt per blob");
        // The material itself does not open it: the derived key does, with the header as AAD.
        let body = &blob[BlobFormat::V2.header_bytes()..];
        let aad = associated_data(&blob[..BlobFormat::V2.header_bytes()], &ctx);
        assert!(aead_open(&material, &aad, body).is_err());
        let derived = hkdf_sha256(
            material.expose(),
            &salt,
            &[V2_INFO, header.key_id.as_bytes(), &header.material_version.to_be_bytes()],
        )
        .unwrap();
        assert_eq!(aead_open(&derived, &aad, body).unwrap().as_slice(), b"secret");
        // Another material version's key is another key: a version swapped in the header fails.
        let mut swapped = blob.clone();
        swapped[20] ^= 0x01;
        assert_eq!(open(&material, &swapped, &ctx), Err(InvalidCiphertext));
    }

    #[test]
    fn a_v2_blob_made_by_another_implementation_opens() {
        // Made with Python `cryptography` (HKDF-SHA-256, AESGCM) from the layout in the module
        // comment: material 00..1f, key 6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab version 3, salt
        // 00..0f, nonce 64..6f, context {tenant: a, purpose: test}.
        let hex = "026f1c2d3e4a5b4c6d8e7f0123456789ab00000003000102030405060708090a0b0c0d0e0f6465666768696a6b6c6d6e6fa18d0c15974f13c32233abe0005bec90e96b45354d4173d7221dde3b230236b65079b261";
        let blob: Vec<u8> =
            (0..hex.len()).step_by(2).map(|at| u8::from_str_radix(&hex[at..at + 2], 16).unwrap()).collect();
        let material = SecretKey::from_slice(&(0..32).collect::<Vec<u8>>()).unwrap();
        let header = parse_header(&blob).unwrap();
        assert_eq!(header.format, BlobFormat::V2);
        assert_eq!(header.material_version, 3);
        assert_eq!(header.key_id.0, uuid::Uuid::parse_str("6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab").unwrap());
        let ctx = context(&[("tenant", "a"), ("purpose", "test")]);
        assert_eq!(open(&material, &blob, &ctx).unwrap().as_slice(), b"made by cryptography");
    }

    #[test]
    fn the_context_encoding_is_unambiguous() {
        // Without length prefixes these two would be the same bytes.
        for format in FORMATS {
            let material = SecretKey::generate().unwrap();
            let blob = seal(&material, header(format), &context(&[("ab", "c")]), b"x").unwrap();
            assert_eq!(open(&material, &blob, &context(&[("a", "bc")])), Err(InvalidCiphertext));
            let empty_value = seal(&material, header(format), &context(&[("a", "")]), b"x").unwrap();
            assert_eq!(open(&material, &empty_value, &EncryptionContext::new()), Err(InvalidCiphertext));
        }
    }

    #[test]
    fn headers_are_read_before_authentication_and_refused_when_short_or_foreign() {
        for format in FORMATS {
            let material = SecretKey::generate().unwrap();
            let header = header(format);
            let mut blob = seal(&material, header, &EncryptionContext::new(), b"").unwrap();
            assert_eq!(blob.len(), format.min_blob_bytes());
            assert_eq!(parse_header(&blob), Ok(header));
            assert_eq!(parse_header(&blob[..format.min_blob_bytes() - 1]), Err(InvalidCiphertext));
            for foreign in [0x00, 0x03, 0xff] {
                blob[0] = foreign;
                assert_eq!(parse_header(&blob), Err(InvalidCiphertext));
            }
        }
        // A v1 blob relabelled v2 (or the reverse) does not open.
        let material = SecretKey::generate().unwrap();
        let ctx = EncryptionContext::new();
        let mut v1 = seal(&material, header(BlobFormat::V1), &ctx, &[7u8; 40]).unwrap();
        v1[0] = FORMAT_V2;
        assert_eq!(open(&material, &v1, &ctx), Err(InvalidCiphertext));
        let mut v2 = seal(&material, header(BlobFormat::V2), &ctx, &[7u8; 40]).unwrap();
        v2[0] = FORMAT_V1;
        assert_eq!(open(&material, &v2, &ctx), Err(InvalidCiphertext));
    }

    #[test]
    fn the_format_follows_the_feature_level() {
        assert_eq!(BlobFormat::for_level(0), BlobFormat::V1);
        assert_eq!(BlobFormat::for_level(V2_FEATURE_LEVEL - 1), BlobFormat::V1);
        assert_eq!(BlobFormat::for_level(V2_FEATURE_LEVEL), BlobFormat::V2);
        assert_eq!(BlobFormat::V2.min_blob_bytes(), MIN_BLOB_BYTES + SALT_BYTES);
    }
}
