//! The one module that touches aws-lc-rs: random bytes, AES-256-GCM sealing, SHA-256, HMAC,
//! HKDF and constant-time comparison. Everything else in the node calls these functions, so the
//! primitives, their parameters and their zeroization live in one reviewed place.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::{constant_time, digest, hkdf, hmac};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Bytes in a 256-bit key.
pub const KEY_BYTES: usize = 32;
/// Bytes in an AES-GCM nonce.
pub const NONCE_BYTES: usize = 12;
/// Bytes in an AES-GCM tag.
pub const TAG_BYTES: usize = 16;

/// A cryptographic operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The system random source failed.
    #[error("the random number generator failed")]
    Random,
    /// Key bytes of the wrong length.
    #[error("a key must be {KEY_BYTES} bytes")]
    KeyLength,
    /// Sealing failed (input too large for AES-GCM).
    #[error("encryption failed")]
    Seal,
    /// The sealed bytes are malformed, forged, or bound to other associated data. Deliberately
    /// one error: callers must not learn which.
    #[error("decryption failed")]
    Open,
    /// Key derivation failed (an output length HKDF cannot give).
    #[error("key derivation failed")]
    Derive,
}

/// A 256-bit secret key, zeroized when dropped; never printed.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; KEY_BYTES]);

impl SecretKey {
    /// A fresh random key.
    pub fn generate() -> Result<SecretKey, CryptoError> {
        let mut bytes = [0u8; KEY_BYTES];
        fill_random(&mut bytes)?;
        let key = SecretKey(bytes);
        bytes.zeroize();
        Ok(key)
    }

    /// A key from exactly [`KEY_BYTES`] bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<SecretKey, CryptoError> {
        let array: [u8; KEY_BYTES] = bytes.try_into().map_err(|_| CryptoError::KeyLength)?;
        Ok(SecretKey(array))
    }

    /// The key bytes, for the few callers that must hand them to another primitive.
    pub fn expose(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// Fills `buffer` from the system's secure random source.
pub fn fill_random(buffer: &mut [u8]) -> Result<(), CryptoError> {
    SystemRandom::new().fill(buffer).map_err(|_| CryptoError::Random)
}

/// A random (version 4) UUID from this module's random source: no system call per id, unlike
/// `Uuid::new_v4`. Falls back to the system source if the generator fails.
pub fn random_uuid() -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    match fill_random(&mut bytes) {
        Ok(()) => uuid::Builder::from_random_bytes(bytes).into_uuid(),
        Err(_) => uuid::Uuid::new_v4(),
    }
}

fn aead_key(key: &SecretKey) -> Result<LessSafeKey, CryptoError> {
    UnboundKey::new(&AES_256_GCM, key.expose()).map(LessSafeKey::new).map_err(|_| CryptoError::KeyLength)
}

/// AES-256-GCM with a fresh random nonce: returns `nonce | ciphertext | tag`, authenticating
/// `aad` as well.
pub fn aead_seal(key: &SecretKey, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut sealed = Vec::with_capacity(NONCE_BYTES + plaintext.len() + TAG_BYTES);
    aead_seal_append(key, aad, plaintext, &mut sealed)?;
    Ok(sealed)
}

/// [`aead_seal`] appending `nonce | ciphertext | tag` to `out`, so a caller can put a header in
/// front without copying.
pub fn aead_seal_append(
    key: &SecretKey,
    aad: &[u8],
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CryptoError> {
    let mut nonce = [0u8; NONCE_BYTES];
    fill_random(&mut nonce)?;
    out.reserve(NONCE_BYTES + plaintext.len() + TAG_BYTES);
    out.extend_from_slice(&nonce);
    let start = out.len();
    out.extend_from_slice(plaintext);
    let sealed = aead_key(key).and_then(|key| {
        key.seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut out[start..])
            .map_err(|_| CryptoError::Seal)
    });
    match sealed {
        Ok(tag) => {
            out.extend_from_slice(tag.as_ref());
            Ok(())
        }
        Err(error) => {
            // Never leave plaintext behind in the caller's buffer.
            out[start..].zeroize();
            out.truncate(start - NONCE_BYTES);
            Err(error)
        }
    }
}

/// Opens what [`aead_seal`] produced under the same key and `aad`. The plaintext is zeroized
/// when dropped.
pub fn aead_open(key: &SecretKey, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < NONCE_BYTES + TAG_BYTES {
        return Err(CryptoError::Open);
    }
    let (nonce, body) = sealed.split_at(NONCE_BYTES);
    let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| CryptoError::Open)?;
    let mut buffer = Zeroizing::new(body.to_vec());
    let plaintext_len = aead_key(key)?
        .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut buffer)
        .map_err(|_| CryptoError::Open)?
        .len();
    buffer.truncate(plaintext_len);
    Ok(buffer)
}

/// A 256-bit key derived with HKDF-SHA-256 (RFC 5869) from `ikm`, `salt` and the parts of
/// `info` (concatenated). The output is zeroized with the key.
pub fn hkdf_sha256(ikm: &[u8], salt: &[u8], info: &[&[u8]]) -> Result<SecretKey, CryptoError> {
    let mut bytes = [0u8; KEY_BYTES];
    let filled = hkdf::Salt::new(hkdf::HKDF_SHA256, salt)
        .extract(ikm)
        .expand(info, hkdf::HKDF_SHA256)
        .and_then(|okm| okm.fill(&mut bytes));
    let key = filled.map(|()| SecretKey(bytes)).map_err(|_| CryptoError::Derive);
    bytes.zeroize();
    key
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// HMAC-SHA-256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data).as_ref());
    out
}

/// Compares two byte strings in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    constant_time::verify_slices_are_equal(a, b).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hkdf_matches_rfc_5869_test_case_1() {
        let ikm = [0x0b; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        // The first 32 bytes of the case's 42-byte OKM.
        let expected = "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf";
        let (first, rest) = info.split_at(4);
        for parts in [vec![&info[..]], vec![first, rest]] {
            let key = hkdf_sha256(&ikm, &salt, &parts).unwrap();
            let hex: String = key.expose().iter().map(|byte| format!("{byte:02x}")).collect();
            assert_eq!(hex, expected, "info given in {} parts", parts.len());
        }
        assert_ne!(
            hkdf_sha256(&ikm, &salt[1..], &[&info]).unwrap(),
            hkdf_sha256(&ikm, &salt, &[&info]).unwrap()
        );
    }

    #[test]
    fn sealed_bytes_open_only_with_the_same_key_and_aad() {
        let key = SecretKey::generate().unwrap();
        let sealed = aead_seal(&key, b"context", b"secret material").unwrap();
        assert_eq!(sealed.len(), NONCE_BYTES + 15 + TAG_BYTES);
        assert_eq!(aead_open(&key, b"context", &sealed).unwrap().as_slice(), b"secret material");
        assert_eq!(aead_open(&key, b"other", &sealed).unwrap_err(), CryptoError::Open);
        let other = SecretKey::generate().unwrap();
        assert_eq!(aead_open(&other, b"context", &sealed).unwrap_err(), CryptoError::Open);
        let mut forged = sealed.clone();
        forged[NONCE_BYTES] ^= 1;
        assert_eq!(aead_open(&key, b"context", &forged).unwrap_err(), CryptoError::Open);
        assert_eq!(aead_open(&key, b"context", &sealed[..20]).unwrap_err(), CryptoError::Open);
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let key = SecretKey::generate().unwrap();
        let first = aead_seal(&key, b"", b"same").unwrap();
        let second = aead_seal(&key, b"", b"same").unwrap();
        assert_ne!(first[..NONCE_BYTES], second[..NONCE_BYTES]);
    }

    #[test]
    fn digests_match_published_vectors() {
        // FIPS 180-2 "abc"; RFC 4231 test case 2.
        assert_eq!(hex(&sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn keys_do_not_print_and_compare_in_constant_time() {
        let key = SecretKey::from_slice(&[7u8; KEY_BYTES]).unwrap();
        assert_eq!(format!("{key:?}"), "SecretKey(..)");
        assert!(SecretKey::from_slice(&[7u8; 31]).is_err());
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}
