//! Blobs that must not open: damaged, foreign, of another algorithm or ephemeral key length.

use aws_lc_rs::key_wrap::{AesKek, KeyWrapPadded, AES_128};
use trent_keys::import::{unwrap, wrap};
use trent_keys::{generate, KeysError, PublicKey};
use trent_wire::model::{EncryptionAlgorithm, KeySpec, WrappingAlgorithm};
use zeroize::Zeroizing;

use crate::{is_oaep_only, material, wrapping_key, ALGORITHMS};

/// Blobs that must not open, each with why.
fn mangled(algorithm: WrappingAlgorithm, wrapped: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![
        ("empty".to_string(), Vec::new()),
        ("one byte short".to_string(), wrapped[..wrapped.len() - 1].to_vec()),
        ("one byte more".to_string(), [wrapped, &[0]].concat()),
        ("over 6144 bytes".to_string(), [wrapped, &vec![0; 6145 - wrapped.len()]].concat()),
    ];
    let mut positions = vec![0, 100, 255];
    if !is_oaep_only(algorithm) {
        // The RFC 5649 part: its integrity block, its first and its last material block.
        positions.extend([256, 264, wrapped.len() - 1]);
        out.push(("the AES key wrap alone".to_string(), wrapped[256..].to_vec()));
        out.push(("the wrapped AES key alone".to_string(), wrapped[..256].to_vec()));
        out.push(("AES key wrap cut by a block".to_string(), wrapped[..wrapped.len() - 8].to_vec()));
    }
    for position in positions {
        let mut flipped = wrapped.to_vec();
        flipped[position] ^= 0x01;
        out.push((format!("bit flipped at byte {position}"), flipped));
    }
    out
}

#[test]
fn a_damaged_or_foreign_blob_is_an_invalid_ciphertext() {
    let key = wrapping_key(KeySpec::Rsa2048);
    let other_2048 = generate(KeySpec::Rsa2048).unwrap();
    let material = material(KeySpec::EccNistP256);
    let mut checked = 0;
    for algorithm in ALGORITHMS {
        let wrapped = wrap(algorithm, &key.public_key, &material).unwrap();
        for (why, blob) in mangled(algorithm, &wrapped) {
            assert_eq!(
                unwrap(algorithm, &key.private_key, &blob),
                Err(KeysError::InvalidCiphertext),
                "{algorithm}: {why}"
            );
            checked += 1;
        }
        // Another wrapping key, of the same size and of another.
        for (why, other) in [
            ("another RSA_2048 key", &other_2048),
            ("the RSA_3072 key", &wrapping_key(KeySpec::Rsa3072).private_key),
        ] {
            assert_eq!(
                unwrap(algorithm, other, &wrapped),
                Err(KeysError::InvalidCiphertext),
                "{algorithm}: {why}"
            );
            checked += 1;
        }
        // Every other algorithm.
        for other in ALGORITHMS.into_iter().filter(|&other| other != algorithm) {
            assert_eq!(
                unwrap(other, &key.private_key, &wrapped),
                Err(KeysError::InvalidCiphertext),
                "{algorithm} opened as {other}"
            );
            checked += 1;
        }
    }
    // OAEP: 4 cuts and 3 flips; RSA_AES: 4 + 3 cuts and 6 flips; each: 2 keys and 3 algorithms.
    assert_eq!(checked, 2 * 7 + 2 * 13 + 4 * 5);
}

#[test]
fn an_ephemeral_key_other_than_aes_256_is_refused() {
    // AWS's guide makes the AES key with `openssl rand 32`; an AES-128 key is refused, however
    // well formed the rest.
    let key = wrapping_key(KeySpec::Rsa2048);
    let public_key = PublicKey::from_der(KeySpec::Rsa2048, &key.public_key).unwrap();
    let aes_128 = [9u8; 16];
    let mut wrapped = public_key.encrypt(EncryptionAlgorithm::RsaesOaepSha256, &aes_128).unwrap();
    let mut kwp = vec![0; 32 + 15];
    let len = AesKek::new(&AES_128, &aes_128).unwrap().wrap_with_padding(&[5; 32], &mut kwp).unwrap().len();
    wrapped.extend_from_slice(&kwp[..len]);
    assert_eq!(
        unwrap(WrappingAlgorithm::RsaAesKeyWrapSha256, &key.private_key, &wrapped),
        Err(KeysError::InvalidCiphertext)
    );
}

#[test]
fn refused_algorithms_and_a_wrapping_key_trent_cannot_have_made() {
    let key = wrapping_key(KeySpec::Rsa2048);
    let wrapped = wrap(WrappingAlgorithm::RsaesOaepSha256, &key.public_key, &[1; 32]).unwrap();
    for refused in [WrappingAlgorithm::RsaesPkcs1V15, WrappingAlgorithm::Sm2Pke] {
        assert_eq!(
            unwrap(refused, &key.private_key, &wrapped),
            Err(KeysError::UnsupportedAlgorithm { spec: KeySpec::Rsa2048, algorithm: refused.as_str() })
        );
    }
    // An internal failure, not the caller's: GetParametersForImport made the wrapping key.
    for not_a_wrapping_key in [generate(KeySpec::EccNistP256).unwrap(), Zeroizing::new(vec![0x30, 0x00])] {
        assert_eq!(
            unwrap(WrappingAlgorithm::RsaesOaepSha256, &not_a_wrapping_key, &wrapped),
            Err(KeysError::Crypto)
        );
    }
}
