//! The one module of the client that touches aws-lc-rs: the data key, the per-envelope chunk key
//! derived from it with HKDF-SHA256, AES-256-GCM sealing and opening of the header tag and the
//! chunks, SHA-256 of the header, and the random salt.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::envelope::error::EnvelopeError;
use crate::envelope::format::{
    chunk_aad, chunk_nonce, ChunkKind, HEADER_DIGEST_BYTES, HEADER_TAG_NONCE, SALT_BYTES, TAG_BYTES,
};

/// Bytes of a data key (AES-256).
pub const DATA_KEY_BYTES: usize = 32;
/// The HKDF info of the chunk key; names the format version, so a later version derives
/// another key from the same data key.
const CHUNK_KEY_INFO: &[u8] = b"trent envelope v1 chunk key";

/// A plaintext data key: 32 bytes, zeroized when dropped, never printed.
pub struct DataKey(Zeroizing<[u8; DATA_KEY_BYTES]>);

impl DataKey {
    /// A data key from exactly 32 bytes (e.g. the `Plaintext` of KMS `GenerateDataKey`).
    pub fn from_slice(bytes: &[u8]) -> Result<DataKey, EnvelopeError> {
        if bytes.len() != DATA_KEY_BYTES {
            return Err(EnvelopeError::DataKeyLength { len: bytes.len() });
        }
        let mut key = Zeroizing::new([0u8; DATA_KEY_BYTES]);
        key.copy_from_slice(bytes);
        Ok(DataKey(key))
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// A fresh random salt.
pub fn random_salt() -> Result<[u8; SALT_BYTES], EnvelopeError> {
    let mut salt = [0u8; SALT_BYTES];
    SystemRandom::new().fill(&mut salt).map_err(|_| EnvelopeError::RandomSource)?;
    Ok(salt)
}

/// The AES-256-GCM key of one envelope, bound to its header: seals and opens the header tag and
/// the chunks. The key bytes live inside aws-lc-rs, which zeroizes them on drop.
pub struct ChunkCipher {
    key: LessSafeKey,
    header_digest: [u8; HEADER_DIGEST_BYTES],
}

impl ChunkCipher {
    /// The cipher of the envelope whose header body is `header_body`: key =
    /// HKDF-SHA256(ikm = data key, salt = `salt`, info = "trent envelope v1 chunk key").
    pub fn new(
        data_key: &DataKey,
        salt: &[u8; SALT_BYTES],
        header_body: &[u8],
    ) -> Result<ChunkCipher, EnvelopeError> {
        let prk = Salt::new(HKDF_SHA256, salt).extract(data_key.0.as_slice());
        let info = [CHUNK_KEY_INFO];
        // Expanding 32 bytes from SHA-256 cannot fail; the error arm is for the type.
        let okm = prk.expand(&info, &AES_256_GCM).map_err(|_| EnvelopeError::Seal)?;
        let key = LessSafeKey::new(UnboundKey::from(okm));
        let mut header_digest = [0u8; HEADER_DIGEST_BYTES];
        header_digest.copy_from_slice(digest(&SHA256, header_body).as_ref());
        Ok(ChunkCipher { key, header_digest })
    }

    /// The header tag: the GCM tag of an empty plaintext under the reserved nonce, with the
    /// header body as associated data.
    pub fn header_tag(&self, header_body: &[u8]) -> Result<[u8; TAG_BYTES], EnvelopeError> {
        let nonce = Nonce::assume_unique_for_key(HEADER_TAG_NONCE);
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(header_body), &mut [])
            .map_err(|_| EnvelopeError::Seal)?;
        let mut bytes = [0u8; TAG_BYTES];
        bytes.copy_from_slice(tag.as_ref());
        Ok(bytes)
    }

    /// Checks a header tag (in constant time, inside GCM's own verification).
    pub fn verify_header_tag(&self, header_body: &[u8], tag: &[u8; TAG_BYTES]) -> Result<(), EnvelopeError> {
        let nonce = Nonce::assume_unique_for_key(HEADER_TAG_NONCE);
        let mut tag_only = *tag;
        self.key
            .open_in_place(nonce, Aad::from(header_body), &mut tag_only)
            .map(|_| ())
            .map_err(|_| EnvelopeError::HeaderAuthentication)
    }

    /// Encrypts chunk `index` of kind `kind` in place, returning its tag.
    pub fn seal_chunk(
        &self,
        index: u64,
        kind: ChunkKind,
        in_out: &mut [u8],
    ) -> Result<[u8; TAG_BYTES], EnvelopeError> {
        let nonce = Nonce::assume_unique_for_key(chunk_nonce(index));
        let aad = chunk_aad(&self.header_digest, index, kind);
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(aad), in_out)
            .map_err(|_| EnvelopeError::Seal)?;
        let mut bytes = [0u8; TAG_BYTES];
        bytes.copy_from_slice(tag.as_ref());
        Ok(bytes)
    }

    /// Verifies and decrypts chunk `index` of kind `kind` in place (`ciphertext | tag`),
    /// returning the plaintext's length; on failure nothing of it may be used.
    pub fn open_chunk(&self, index: u64, kind: ChunkKind, in_out: &mut [u8]) -> Result<usize, EnvelopeError> {
        let nonce = Nonce::assume_unique_for_key(chunk_nonce(index));
        let aad = chunk_aad(&self.header_digest, index, kind);
        self.key
            .open_in_place(nonce, Aad::from(aad), in_out)
            .map(|plaintext| plaintext.len())
            .map_err(|_| EnvelopeError::ChunkAuthentication { index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_key_must_be_32_bytes_and_is_never_printed() {
        assert!(matches!(DataKey::from_slice(&[1; 16]), Err(EnvelopeError::DataKeyLength { len: 16 })));
        let key = DataKey::from_slice(&[1; 32]).unwrap();
        assert_eq!(format!("{key:?}"), "DataKey(..)");
    }

    #[test]
    fn chunk_key_depends_on_salt_and_header_tag_on_header() {
        let key = DataKey::from_slice(&[1; 32]).unwrap();
        let cipher = ChunkCipher::new(&key, &[2; 32], b"header").unwrap();
        let other_salt = ChunkCipher::new(&key, &[3; 32], b"header").unwrap();
        let tag = cipher.header_tag(b"header").unwrap();
        cipher.verify_header_tag(b"header", &tag).unwrap();
        assert_ne!(other_salt.header_tag(b"header").unwrap(), tag);
        assert!(matches!(
            cipher.verify_header_tag(b"headex", &tag),
            Err(EnvelopeError::HeaderAuthentication)
        ));

        let mut chunk = b"secret".to_vec();
        let tag = cipher.seal_chunk(0, ChunkKind::Final, &mut chunk).unwrap();
        assert_ne!(chunk, b"secret");
        chunk.extend_from_slice(&tag);
        let mut wrong_kind = chunk.clone();
        let failed = cipher.open_chunk(0, ChunkKind::Full, &mut wrong_kind);
        assert!(matches!(failed, Err(EnvelopeError::ChunkAuthentication { index: 0 })));
        let len = cipher.open_chunk(0, ChunkKind::Final, &mut chunk).unwrap();
        assert_eq!(&chunk[..len], b"secret");
    }
}
