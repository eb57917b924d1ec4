//! A key's private material, generated in its stored form and parsed once into the form its
//! operations use. Which family a key is follows from its spec, so an operation of one family
//! can never be handed a key of another.

use trent_wire::model::{EncryptionAlgorithm, KeySpec, MacAlgorithm, MessageType, SigningAlgorithm};
use zeroize::Zeroizing;

use crate::ecc::EcKey;
use crate::ed25519::EdKey;
use crate::hmac::HmacKey;
use crate::message::signing_input;
use crate::ml_dsa::MlDsaKey;
use crate::ml_kem::MlKemKey;
use crate::rsa::RsaKey;
use crate::{ecc, ed25519, hmac, ml_dsa, ml_kem, rsa, KeysError, PublicKey};

/// New private material for `spec`, in its stored form:
///
/// | spec | stored form |
/// |---|---|
/// | `RSA_*`, `ECC_*` | PKCS#8 v1 DER |
/// | `ML_DSA_*` | the 32-byte seed ξ (FIPS 204) |
/// | `ML_KEM_*` | the 64-byte seed d ‖ z (FIPS 203) |
/// | `HMAC_224` … `HMAC_512` | 28, 32, 48 or 64 random bytes |
///
/// `SYMMETRIC_DEFAULT` is not this crate's business: `UnsupportedSpec`.
pub fn generate(spec: KeySpec) -> Result<Zeroizing<Vec<u8>>, KeysError> {
    match spec {
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => rsa::generate(spec),
        KeySpec::EccNistP256 | KeySpec::EccNistP384 | KeySpec::EccNistP521 | KeySpec::EccSecgP256k1 => {
            ecc::generate(spec)
        }
        KeySpec::EccNistEdwards25519 => ed25519::generate(),
        KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => ml_dsa::generate(spec),
        KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024 => ml_kem::generate(spec),
        KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512 => hmac::generate(spec),
        KeySpec::SymmetricDefault => Err(KeysError::UnsupportedSpec(spec)),
    }
}

/// The parsed key of one family.
enum Family {
    Rsa(RsaKey),
    Ec(EcKey),
    Ed(EdKey),
    MlDsa(MlDsaKey),
    MlKem(MlKemKey),
    Hmac(HmacKey),
}

/// A parsed private key of one spec, cheap to use many times: parse it once, share it behind
/// an `Arc` (it is `Send + Sync`). Its `Debug` shows the spec only.
pub struct PrivateKey {
    spec: KeySpec,
    family: Family,
    public_key: Option<PublicKey>,
}

impl PrivateKey {
    /// Parses stored material of `spec` (the form [`generate`] makes). Material that does not
    /// read as a key of that spec (wrong form, size, curve or parameter set) is
    /// `MalformedMaterial`.
    pub fn from_material(spec: KeySpec, material: &[u8]) -> Result<PrivateKey, KeysError> {
        let family = match spec {
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
                Family::Rsa(RsaKey::from_pkcs8(spec, material)?)
            }
            KeySpec::EccNistP256 | KeySpec::EccNistP384 | KeySpec::EccNistP521 | KeySpec::EccSecgP256k1 => {
                Family::Ec(EcKey::from_pkcs8(spec, material)?)
            }
            KeySpec::EccNistEdwards25519 => Family::Ed(EdKey::from_pkcs8(material)?),
            KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => {
                Family::MlDsa(MlDsaKey::from_seed(spec, material)?)
            }
            KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024 => {
                Family::MlKem(MlKemKey::from_seed(spec, material)?)
            }
            KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512 => {
                Family::Hmac(HmacKey::from_bytes(spec, material)?)
            }
            KeySpec::SymmetricDefault => return Err(KeysError::UnsupportedSpec(spec)),
        };
        let public_key = match &family {
            Family::Rsa(key) => Some(key.public_key_der()?),
            Family::Ec(key) => Some(key.public_key_der()?),
            Family::Ed(key) => Some(key.public_key_der()?),
            Family::MlDsa(key) => Some(key.public_key_der()?),
            Family::MlKem(key) => Some(key.public_key_der()?),
            Family::Hmac(_) => None,
        };
        Ok(PrivateKey { spec, family, public_key: public_key.map(|der| PublicKey::trusted(spec, der)) })
    }

    /// The key's spec.
    pub fn spec(&self) -> KeySpec {
        self.spec
    }

    /// The public half (asymmetric specs); HMAC keys have none (`UnsupportedSpec`).
    pub fn public_key(&self) -> Result<&PublicKey, KeysError> {
        self.public_key.as_ref().ok_or(KeysError::UnsupportedSpec(self.spec))
    }

    /// The public key as DER SubjectPublicKeyInfo, as `GetPublicKey` returns it.
    pub fn public_key_der(&self) -> Result<&[u8], KeysError> {
        self.public_key().map(PublicKey::der)
    }

    /// Signs `message` of `message_type` with `algorithm`, as AWS KMS `Sign` does: `RAW` is
    /// hashed by the algorithm, `DIGEST` is used as the digest, `EXTERNAL_MU` is the ML-DSA μ.
    pub fn sign(
        &self,
        algorithm: SigningAlgorithm,
        message_type: MessageType,
        message: &[u8],
    ) -> Result<Vec<u8>, KeysError> {
        let input = signing_input(self.spec, algorithm, message_type, message)?;
        match &self.family {
            Family::Rsa(key) => key.sign(algorithm, &input),
            Family::Ec(key) => key.sign(&input),
            Family::Ed(key) => key.sign(&input),
            Family::MlDsa(key) => key.sign(&input),
            // `signing_input` already refused: these specs have no signing algorithms.
            Family::MlKem(_) | Family::Hmac(_) => Err(KeysError::Crypto),
        }
    }

    /// The public half, for an operation with `algorithm`; a key without one (HMAC) does not
    /// offer the algorithm.
    fn public_half(&self, algorithm: &'static str) -> Result<&PublicKey, KeysError> {
        self.public_key.as_ref().ok_or(KeysError::UnsupportedAlgorithm { spec: self.spec, algorithm })
    }

    /// Verifies with the public half; see [`PublicKey::verify`].
    pub fn verify(
        &self,
        algorithm: SigningAlgorithm,
        message_type: MessageType,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, KeysError> {
        self.public_half(algorithm.as_str())?.verify(algorithm, message_type, message, signature)
    }

    /// Encrypts with the public half; see [`PublicKey::encrypt`].
    pub fn encrypt(&self, algorithm: EncryptionAlgorithm, plaintext: &[u8]) -> Result<Vec<u8>, KeysError> {
        self.public_half(algorithm.as_str())?.encrypt(algorithm, plaintext)
    }

    /// Decrypts a raw RSA-OAEP ciphertext (MGF1 with the algorithm's hash, empty label). A
    /// ciphertext that does not decrypt is `InvalidCiphertext`, with no hint why.
    pub fn decrypt(
        &self,
        algorithm: EncryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeysError> {
        match &self.family {
            Family::Rsa(key) => key.decrypt(algorithm, ciphertext),
            _ => Err(KeysError::UnsupportedAlgorithm { spec: self.spec, algorithm: algorithm.as_str() }),
        }
    }

    /// The ECDH shared secret (the raw x-coordinate, as AWS `DeriveSharedSecret` returns it)
    /// with a peer's DER SPKI public key on this key's curve.
    pub fn derive_shared_secret(&self, peer_public_key: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeysError> {
        match &self.family {
            Family::Ec(key) => key.derive_shared_secret(self.spec, peer_public_key),
            _ => Err(KeysError::UnsupportedAlgorithm { spec: self.spec, algorithm: "ECDH" }),
        }
    }

    /// Encapsulates with the public half; see [`PublicKey::encapsulate`].
    pub fn encapsulate(&self) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), KeysError> {
        self.public_half("ML_KEM")?.encapsulate()
    }

    /// The ML-KEM shared secret of `ciphertext`; a ciphertext of the wrong length is
    /// `InvalidCiphertext`.
    pub fn decapsulate(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeysError> {
        match &self.family {
            Family::MlKem(key) => key.decapsulate(ciphertext),
            _ => Err(KeysError::UnsupportedAlgorithm { spec: self.spec, algorithm: "ML_KEM" }),
        }
    }

    /// The HMAC tag of `message` (1 to 4096 bytes); the algorithm must be the spec's.
    pub fn mac(&self, algorithm: MacAlgorithm, message: &[u8]) -> Result<Vec<u8>, KeysError> {
        match &self.family {
            Family::Hmac(key) => key.mac(self.spec, algorithm, message),
            _ => Err(KeysError::UnsupportedAlgorithm { spec: self.spec, algorithm: algorithm.as_str() }),
        }
    }

    /// Whether `tag` is the HMAC tag of `message`, compared in constant time.
    pub fn verify_mac(&self, algorithm: MacAlgorithm, message: &[u8], tag: &[u8]) -> Result<bool, KeysError> {
        match &self.family {
            Family::Hmac(key) => key.verify_mac(self.spec, algorithm, message, tag),
            _ => Err(KeysError::UnsupportedAlgorithm { spec: self.spec, algorithm: algorithm.as_str() }),
        }
    }

    /// The ML-KEM private key as PKCS#8 DER (seed form), for data key pairs.
    pub(crate) fn ml_kem_private_key_der(&self) -> Option<Result<Zeroizing<Vec<u8>>, KeysError>> {
        match &self.family {
            Family::MlKem(key) => Some(key.private_key_der()),
            _ => None,
        }
    }
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey").field("spec", &self.spec).finish_non_exhaustive()
    }
}
