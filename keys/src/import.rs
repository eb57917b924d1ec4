//! The cryptography of bring-your-own-key import, as AWS KMS defines it: opening material
//! wrapped under a GetParametersForImport wrapping key ([`unwrap`]), wrapping it the way a
//! customer does ([`wrap`], for the CLI and tests), and the form each key spec accepts and
//! stores ([`canonical_material`]).
//!
//! The wrapping algorithms, with `k` the wrapping key's modulus length:
//! - `RSAES_OAEP_SHA_1` / `_SHA_256`: the material itself under RSAES-OAEP (MGF1 with the same
//!   hash, empty label), exactly `k` bytes, so at most `k − 2·hLen − 2` bytes of material.
//! - `RSA_AES_KEY_WRAP_SHA_1` / `_SHA_256` (PKCS #11 `CKM_RSA_AES_KEY_WRAP`): an ephemeral
//!   AES-256 key under RSAES-OAEP (`k` bytes), followed by the material under AES key wrap with
//!   padding (RFC 5649) with that key. AWS's guide has the customer make a 256-bit AES key;
//!   PKCS #11 allows other lengths, Trent takes no other.
//!
//! Errors, and the AWS errors ImportKeyMaterial answers for them: wrapped bytes that do not
//! open are `InvalidCiphertext` (`InvalidCiphertextException`), with no hint which check
//! failed; material that is not a key of the spec is `MalformedMaterial`
//! (`IncorrectKeyMaterialException`); `RSAES_PKCS1_V1_5` and `SM2PKE` are
//! `UnsupportedAlgorithm`; a wrapping key that does not parse is `Crypto`, an internal
//! failure, since Trent made it. No error or `Debug` output carries material.
//!
//! Not here: import tokens, expiry, material ids, sealing, and which wrapping algorithms AWS
//! lets a spec use (OAEP cannot carry RSA material anyway: it is too long).

use aws_lc_rs::key_wrap::{AesKek, KeyWrapPadded, AES_256};
use trent_wire::limits::MAX_CIPHERTEXT_BYTES;
use trent_wire::model::{EncryptionAlgorithm, KeySpec, WrappingAlgorithm};
use zeroize::Zeroizing;

use crate::ffi::EvpKey;
use crate::rsa::{self, RsaDecryptingKey};
use crate::{ecc, ed25519, ml_dsa, KeysError, LengthRule, PrivateKey};

/// The length of the ephemeral AES key of the `RSA_AES_KEY_WRAP_*` algorithms (AES-256).
const EPHEMERAL_KEY_LEN: usize = 32;
/// The length of `SYMMETRIC_DEFAULT` material (AES-256).
const SYMMETRIC_KEY_LEN: usize = 32;
/// What RFC 5649 adds to the material at most: the 8-byte integrity block and up to 7 bytes
/// of padding.
const KWP_OVERHEAD: usize = 15;

/// How an algorithm wraps: the OAEP parameters, and whether an AES key wrap follows.
#[derive(Clone, Copy)]
enum Scheme {
    /// The material under RSAES-OAEP.
    Oaep(EncryptionAlgorithm),
    /// An ephemeral AES-256 key under RSAES-OAEP, then the material under AES-KWP.
    RsaAes(EncryptionAlgorithm),
}

fn scheme(wrapping_spec: KeySpec, algorithm: WrappingAlgorithm) -> Result<Scheme, KeysError> {
    Ok(match algorithm {
        WrappingAlgorithm::RsaesOaepSha1 => Scheme::Oaep(EncryptionAlgorithm::RsaesOaepSha1),
        WrappingAlgorithm::RsaesOaepSha256 => Scheme::Oaep(EncryptionAlgorithm::RsaesOaepSha256),
        WrappingAlgorithm::RsaAesKeyWrapSha1 => Scheme::RsaAes(EncryptionAlgorithm::RsaesOaepSha1),
        WrappingAlgorithm::RsaAesKeyWrapSha256 => Scheme::RsaAes(EncryptionAlgorithm::RsaesOaepSha256),
        // AWS no longer offers PKCS#1 v1.5 wrapping; SM2 exists in China regions only.
        WrappingAlgorithm::RsaesPkcs1V15 | WrappingAlgorithm::Sm2Pke => {
            return Err(KeysError::UnsupportedAlgorithm {
                spec: wrapping_spec,
                algorithm: algorithm.as_str(),
            })
        }
    })
}

/// Opens `wrapped`, material wrapped with `algorithm` under the public half of
/// `wrapping_private_key` (PKCS#8 DER of an RSA 2048, 3072 or 4096 key, as GetParametersForImport
/// made it). A blob that does not open is `InvalidCiphertext`, whatever the reason: wrong
/// length, wrong key, wrong algorithm, a flipped bit, an AES key that is not 32 bytes. A
/// blob longer than ImportKeyMaterial admits (6144 bytes) is refused before any work.
pub fn unwrap(
    algorithm: WrappingAlgorithm,
    wrapping_private_key: &[u8],
    wrapped: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeysError> {
    let key = RsaDecryptingKey::from_pkcs8(wrapping_private_key).ok_or(KeysError::Crypto)?;
    let scheme = scheme(key.spec(), algorithm)?;
    if wrapped.len() > MAX_CIPHERTEXT_BYTES {
        return Err(KeysError::InvalidCiphertext);
    }
    match scheme {
        Scheme::Oaep(oaep) => key.decrypt(oaep, wrapped),
        Scheme::RsaAes(oaep) => {
            let (wrapped_key, wrapped_material) =
                wrapped.split_at_checked(key.modulus_len()).ok_or(KeysError::InvalidCiphertext)?;
            let aes_key = key.decrypt(oaep, wrapped_key)?;
            if aes_key.len() != EPHEMERAL_KEY_LEN {
                return Err(KeysError::InvalidCiphertext);
            }
            let kek = AesKek::new(&AES_256, &aes_key).map_err(|_| KeysError::InvalidCiphertext)?;
            let mut material = Zeroizing::new(vec![0u8; wrapped_material.len()]);
            let len = kek
                .unwrap_with_padding(wrapped_material, &mut material)
                .map_err(|_| KeysError::InvalidCiphertext)?
                .len();
            material.truncate(len);
            Ok(material)
        }
    }
}

/// Wraps `material` with `algorithm` under `wrapping_public_key` (the DER SPKI
/// GetParametersForImport returned), as a customer does before ImportKeyMaterial; the
/// `RSA_AES_*` algorithms use a fresh random AES-256 key. Material of 1 byte up to what the
/// algorithm carries under that key (OAEP's limit, or what keeps the blob within 6144 bytes)
/// is accepted: longer is `PlaintextTooLong`, none is `InvalidMessage`. A public key that is
/// not RSA 2048, 3072 or 4096 is `InvalidPublicKey`.
pub fn wrap(
    algorithm: WrappingAlgorithm,
    wrapping_public_key: &[u8],
    material: &[u8],
) -> Result<Vec<u8>, KeysError> {
    let spec = rsa::public_key_spec(wrapping_public_key)?;
    let scheme = scheme(spec, algorithm)?;
    let max = max_material_len(spec, scheme)?;
    if material.is_empty() {
        return Err(KeysError::InvalidMessage { expected: LengthRule::Between(1, max), actual: 0 });
    }
    if material.len() > max {
        return Err(KeysError::PlaintextTooLong { max, actual: material.len() });
    }
    match scheme {
        Scheme::Oaep(oaep) => rsa::encrypt(spec, wrapping_public_key, oaep, material),
        Scheme::RsaAes(oaep) => {
            let mut aes_key = Zeroizing::new([0u8; EPHEMERAL_KEY_LEN]);
            aws_lc_rs::rand::fill(aes_key.as_mut_slice())?;
            let mut wrapped = rsa::encrypt(spec, wrapping_public_key, oaep, aes_key.as_slice())?;
            let mut wrapped_material = vec![0u8; material.len() + KWP_OVERHEAD];
            let len = AesKek::new(&AES_256, aes_key.as_slice())?
                .wrap_with_padding(material, &mut wrapped_material)?
                .len();
            wrapped.extend_from_slice(&wrapped_material[..len]);
            Ok(wrapped)
        }
    }
}

/// The longest material `scheme` carries under an RSA key of `spec`.
fn max_material_len(spec: KeySpec, scheme: Scheme) -> Result<usize, KeysError> {
    match scheme {
        Scheme::Oaep(oaep) => rsa::max_plaintext_len(spec, oaep),
        // The blob is k bytes, then 8 and the material rounded up to 8 bytes: at most 6144.
        Scheme::RsaAes(_) => Ok((MAX_CIPHERTEXT_BYTES - rsa::modulus_len(spec)? - 8) / 8 * 8),
    }
}

/// What ImportKeyMaterial accepts as material of `spec`, in the form Trent stores for it (the
/// form [`crate::generate`] makes), so that one key imported in two encodings is stored, and
/// identified, by the same bytes:
///
/// | spec | accepted | stored |
/// |---|---|---|
/// | `SYMMETRIC_DEFAULT` | exactly 32 bytes | as given |
/// | `HMAC_224`, `_256`, `_384`, `_512` | 28–64, 32–64, 48–128, 64–128 bytes | as given |
/// | `RSA_*` | PKCS#8 DER (v1, or v2 without a public key) of a key of the spec's size | PKCS#8 v1 DER as aws-lc writes it |
/// | `ECC_*` | PKCS#8 DER (v1, or v2 without a public key) on the spec's curve | PKCS#8 v1 DER as aws-lc writes it |
/// | `ECC_NIST_EDWARDS25519` | PKCS#8 DER, v1 or v2 (its public key checked) | PKCS#8 v1 DER |
/// | `ML_DSA_*` | PKCS#8 DER of the parameter set, seed or seed-and-expanded-key form; or the 32-byte seed | the seed |
///
/// Anything else is `MalformedMaterial`. ML-KEM keys cannot be imported (`UnsupportedSpec`).
/// The stored form is parsed once more before it is returned, so what Trent seals is a key
/// [`PrivateKey::from_material`] reads.
pub fn canonical_material(spec: KeySpec, material: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeysError> {
    let canonical = match spec {
        KeySpec::SymmetricDefault => {
            return if material.len() == SYMMETRIC_KEY_LEN {
                Ok(Zeroizing::new(material.to_vec()))
            } else {
                Err(KeysError::MalformedMaterial(spec))
            };
        }
        // The length is checked by `from_material` below.
        KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512 => {
            Zeroizing::new(material.to_vec())
        }
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
            rsa::canonical_pkcs8(spec, one_pkcs8(spec, material)?)?
        }
        KeySpec::EccNistP256 | KeySpec::EccNistP384 | KeySpec::EccNistP521 | KeySpec::EccSecgP256k1 => {
            ecc::canonical_pkcs8(spec, one_pkcs8(spec, material)?)?
        }
        KeySpec::EccNistEdwards25519 => ed25519::canonical_pkcs8(one_pkcs8(spec, material)?)?,
        KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => ml_dsa::canonical_seed(spec, material)?,
        KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024 => {
            return Err(KeysError::UnsupportedSpec(spec))
        }
    };
    PrivateKey::from_material(spec, &canonical)?;
    Ok(canonical)
}

/// `material` if it is one PKCS#8 document and nothing more: aws-lc-rs's PKCS#8 parsers
/// ignore bytes after the document (found by the import tests), so material with bytes
/// appended would be taken for the key.
fn one_pkcs8(spec: KeySpec, material: &[u8]) -> Result<&[u8], KeysError> {
    EvpKey::parse_pkcs8(material).map_err(|_| KeysError::MalformedMaterial(spec))?;
    Ok(material)
}
