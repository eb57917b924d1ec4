//! RSA keys (`RSA_2048`, `RSA_3072`, `RSA_4096`): RSASSA-PSS and PKCS#1 v1.5 signatures over a
//! message or its digest, RSAES-OAEP (MGF1 with the same hash, empty label) encryption, and
//! the stored form of generated and imported keys.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{
    KeySize, OaepAlgorithm, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    PublicEncryptingKey, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256,
};
use aws_lc_rs::signature::{self, KeyPair, RsaEncoding, RsaKeyPair, RsaParameters, UnparsedPublicKey};
use trent_wire::model::{EncryptionAlgorithm, KeySpec, SigningAlgorithm};
use zeroize::Zeroizing;

use crate::algorithms::{encryption_algorithms, require};
use crate::message::SigningInput;
use crate::KeysError;

/// A parsed RSA private key, ready to sign and to decrypt.
pub(crate) struct RsaKey {
    signing: RsaKeyPair,
    decrypting: RsaDecryptingKey,
}

/// An RSA private key parsed for RSAES-OAEP decryption only: the decrypting half of an
/// [`RsaKey`], and on its own the wrapping key of an import, which never signs.
pub(crate) struct RsaDecryptingKey {
    spec: KeySpec,
    key: OaepPrivateDecryptingKey,
}

/// The modulus length in bytes of an RSA spec.
pub(crate) fn modulus_len(spec: KeySpec) -> Result<usize, KeysError> {
    match spec {
        KeySpec::Rsa2048 => Ok(256),
        KeySpec::Rsa3072 => Ok(384),
        KeySpec::Rsa4096 => Ok(512),
        _ => Err(KeysError::UnsupportedSpec(spec)),
    }
}

/// The RSA spec whose modulus is `len` bytes long.
fn spec_of_modulus_len(len: usize) -> Option<KeySpec> {
    [KeySpec::Rsa2048, KeySpec::Rsa3072, KeySpec::Rsa4096]
        .into_iter()
        .find(|&spec| modulus_len(spec).is_ok_and(|expected| expected == len))
}

/// New private material for an RSA spec, in its stored form.
pub(crate) fn generate(spec: KeySpec) -> Result<Zeroizing<Vec<u8>>, KeysError> {
    let size = match spec {
        KeySpec::Rsa2048 => KeySize::Rsa2048,
        KeySpec::Rsa3072 => KeySize::Rsa3072,
        KeySpec::Rsa4096 => KeySize::Rsa4096,
        _ => return Err(KeysError::UnsupportedSpec(spec)),
    };
    stored_form(&RsaKeyPair::generate(size)?)
}

/// The stored form of an RSA key, whether generated or imported: PKCS#8 v1 DER as aws-lc
/// writes it.
fn stored_form(key: &RsaKeyPair) -> Result<Zeroizing<Vec<u8>>, KeysError> {
    Ok(Zeroizing::new(key.as_der()?.as_ref().to_vec()))
}

/// The stored form of imported PKCS#8 DER (v1, or v2 without the optional public key) of an
/// RSA key of `spec`'s size; anything else is `MalformedMaterial`.
pub(crate) fn canonical_pkcs8(spec: KeySpec, pkcs8: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeysError> {
    stored_form(&key_pair(spec, pkcs8)?)
}

/// Parses PKCS#8 DER as a key pair, refusing a key whose size is not the spec's.
fn key_pair(spec: KeySpec, pkcs8: &[u8]) -> Result<RsaKeyPair, KeysError> {
    let key = RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| KeysError::MalformedMaterial(spec))?;
    if key.public_modulus_len() == modulus_len(spec)? {
        Ok(key)
    } else {
        Err(KeysError::MalformedMaterial(spec))
    }
}

impl RsaKey {
    /// Parses PKCS#8 DER, refusing a key whose size is not the spec's.
    pub(crate) fn from_pkcs8(spec: KeySpec, pkcs8: &[u8]) -> Result<RsaKey, KeysError> {
        let signing = key_pair(spec, pkcs8)?;
        let decrypting = RsaDecryptingKey::from_pkcs8(pkcs8)
            .filter(|key| key.spec == spec)
            .ok_or(KeysError::MalformedMaterial(spec))?;
        Ok(RsaKey { signing, decrypting })
    }

    /// The public key as DER SubjectPublicKeyInfo.
    pub(crate) fn public_key_der(&self) -> Result<Vec<u8>, KeysError> {
        Ok(self.signing.public_key().as_der()?.as_ref().to_vec())
    }

    /// Signs a checked input.
    pub(crate) fn sign(
        &self,
        algorithm: SigningAlgorithm,
        input: &SigningInput<'_>,
    ) -> Result<Vec<u8>, KeysError> {
        let (encoding, _) = parameters(algorithm)?;
        let mut signature = vec![0u8; self.signing.public_modulus_len()];
        match input {
            SigningInput::Raw(message) => {
                self.signing.sign(encoding, &SystemRandom::new(), message, &mut signature)?
            }
            SigningInput::Digest(digest) => self.signing.sign_digest(encoding, digest, &mut signature)?,
            // `signing_input` admits μ for ML-DSA only.
            SigningInput::Mu(_) => return Err(KeysError::Crypto),
        }
        Ok(signature)
    }

    /// Decrypts a raw OAEP ciphertext.
    pub(crate) fn decrypt(
        &self,
        algorithm: EncryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeysError> {
        self.decrypting.decrypt(algorithm, ciphertext)
    }
}

impl RsaDecryptingKey {
    /// Parses PKCS#8 DER of an RSA key of a spec's size (2048, 3072 or 4096 bits); `None` for
    /// anything else.
    pub(crate) fn from_pkcs8(pkcs8: &[u8]) -> Option<RsaDecryptingKey> {
        let key = PrivateDecryptingKey::from_pkcs8(pkcs8).ok()?;
        let spec = spec_of_modulus_len(key.key_size_bytes())?;
        Some(RsaDecryptingKey { spec, key: OaepPrivateDecryptingKey::new(key).ok()? })
    }

    /// The spec of the key's size.
    pub(crate) fn spec(&self) -> KeySpec {
        self.spec
    }

    /// The modulus length in bytes, which is every ciphertext's length.
    pub(crate) fn modulus_len(&self) -> usize {
        self.key.key_size_bytes()
    }

    /// Decrypts a raw OAEP ciphertext (MGF1 with the algorithm's hash, empty label). Any
    /// ciphertext that does not decrypt is `InvalidCiphertext`, with no hint why.
    pub(crate) fn decrypt(
        &self,
        algorithm: EncryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeysError> {
        let oaep = oaep(self.spec, algorithm)?;
        if ciphertext.len() != self.modulus_len() {
            return Err(KeysError::InvalidCiphertext);
        }
        let mut plaintext = Zeroizing::new(vec![0u8; self.key.min_output_size()]);
        let len = self
            .key
            .decrypt(oaep, ciphertext, &mut plaintext, None)
            .map_err(|_| KeysError::InvalidCiphertext)?
            .len();
        plaintext.truncate(len);
        Ok(plaintext)
    }
}

/// Whether `signature` is the signature of a checked input under the SPKI `public_key`.
pub(crate) fn verify(
    public_key: &[u8],
    algorithm: SigningAlgorithm,
    input: &SigningInput<'_>,
    signature: &[u8],
) -> Result<bool, KeysError> {
    let (_, verification) = parameters(algorithm)?;
    let key = UnparsedPublicKey::new(verification, public_key);
    Ok(match input {
        SigningInput::Raw(message) => key.verify(message, signature).is_ok(),
        SigningInput::Digest(digest) => key.verify_digest(digest, signature).is_ok(),
        SigningInput::Mu(_) => return Err(KeysError::Crypto),
    })
}

/// Encrypts `plaintext` with OAEP under the SPKI `public_key` of `spec`.
pub(crate) fn encrypt(
    spec: KeySpec,
    public_key: &[u8],
    algorithm: EncryptionAlgorithm,
    plaintext: &[u8],
) -> Result<Vec<u8>, KeysError> {
    let oaep = oaep(spec, algorithm)?;
    let max = max_plaintext_len(spec, algorithm)?;
    if plaintext.len() > max {
        return Err(KeysError::PlaintextTooLong { max, actual: plaintext.len() });
    }
    let key = PublicEncryptingKey::from_der(public_key).map_err(|_| KeysError::InvalidPublicKey)?;
    let key = OaepPublicEncryptingKey::new(key)?;
    let mut ciphertext = vec![0u8; key.ciphertext_size()];
    let len = key.encrypt(oaep, plaintext, &mut ciphertext, None)?.len();
    ciphertext.truncate(len);
    Ok(ciphertext)
}

/// Checks an SPKI RSA public key has the spec's size.
pub(crate) fn check_public_key(spec: KeySpec, public_key: &[u8]) -> Result<(), KeysError> {
    modulus_len(spec)?;
    if public_key_spec(public_key)? == spec {
        Ok(())
    } else {
        Err(KeysError::InvalidPublicKey)
    }
}

/// The spec of an SPKI RSA public key's size; a key of another type or size is
/// `InvalidPublicKey`.
pub(crate) fn public_key_spec(public_key: &[u8]) -> Result<KeySpec, KeysError> {
    let key = PublicEncryptingKey::from_der(public_key).map_err(|_| KeysError::InvalidPublicKey)?;
    spec_of_modulus_len(key.key_size_bytes()).ok_or(KeysError::InvalidPublicKey)
}

/// The longest plaintext `algorithm` encrypts under a key of `spec`: k − 2·hLen − 2.
pub fn max_plaintext_len(spec: KeySpec, algorithm: EncryptionAlgorithm) -> Result<usize, KeysError> {
    oaep(spec, algorithm)?;
    let hash_len = if algorithm == EncryptionAlgorithm::RsaesOaepSha1 { 20 } else { 32 };
    Ok(modulus_len(spec)? - 2 * hash_len - 2)
}

/// The OAEP parameters of `algorithm`, if a key of `spec` uses it.
fn oaep(spec: KeySpec, algorithm: EncryptionAlgorithm) -> Result<&'static OaepAlgorithm, KeysError> {
    modulus_len(spec)?;
    require(spec, encryption_algorithms(spec), algorithm, EncryptionAlgorithm::as_str)?;
    match algorithm {
        EncryptionAlgorithm::RsaesOaepSha1 => Ok(&OAEP_SHA1_MGF1SHA1),
        EncryptionAlgorithm::RsaesOaepSha256 => Ok(&OAEP_SHA256_MGF1SHA256),
        _ => Err(KeysError::UnsupportedAlgorithm { spec, algorithm: algorithm.as_str() }),
    }
}

/// The signing padding and the matching verification parameters of an RSA algorithm. PSS uses
/// a salt as long as the digest and MGF1 with the same hash, as AWS does.
fn parameters(
    algorithm: SigningAlgorithm,
) -> Result<(&'static dyn RsaEncoding, &'static RsaParameters), KeysError> {
    use SigningAlgorithm::*;
    Ok(match algorithm {
        RsassaPssSha256 => (&signature::RSA_PSS_SHA256, &signature::RSA_PSS_2048_8192_SHA256),
        RsassaPssSha384 => (&signature::RSA_PSS_SHA384, &signature::RSA_PSS_2048_8192_SHA384),
        RsassaPssSha512 => (&signature::RSA_PSS_SHA512, &signature::RSA_PSS_2048_8192_SHA512),
        RsassaPkcs1V15Sha256 => (&signature::RSA_PKCS1_SHA256, &signature::RSA_PKCS1_2048_8192_SHA256),
        RsassaPkcs1V15Sha384 => (&signature::RSA_PKCS1_SHA384, &signature::RSA_PKCS1_2048_8192_SHA384),
        RsassaPkcs1V15Sha512 => (&signature::RSA_PKCS1_SHA512, &signature::RSA_PKCS1_2048_8192_SHA512),
        _ => return Err(KeysError::Crypto),
    })
}
