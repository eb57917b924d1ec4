//! A public key of a known spec, as DER SubjectPublicKeyInfo (what `GetPublicKey` returns):
//! verification, RSA-OAEP encryption and ML-KEM encapsulation, none of which needs a secret.

use trent_wire::model::{EncryptionAlgorithm, KeySpec, MessageType, SigningAlgorithm};
use zeroize::Zeroizing;

use crate::message::signing_input;
use crate::{ecc, ed25519, ml_dsa, ml_kem, rsa, KeysError};

/// A checked DER SubjectPublicKeyInfo of an asymmetric key spec. Operations read the DER again
/// on each call (microseconds next to the operation); only private keys are kept parsed.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    spec: KeySpec,
    der: Vec<u8>,
}

impl PublicKey {
    /// Accepts `der` as a public key of `spec`: an SPKI of the spec's key type, size, curve or
    /// parameter set, with no trailing bytes; anything else is `InvalidPublicKey`.
    pub fn from_der(spec: KeySpec, der: &[u8]) -> Result<PublicKey, KeysError> {
        crate::ffi::EvpKey::parse_spki(der)?;
        match spec {
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => rsa::check_public_key(spec, der)?,
            KeySpec::EccNistP256 | KeySpec::EccNistP384 | KeySpec::EccNistP521 | KeySpec::EccSecgP256k1 => {
                ecc::check_public_key(spec, der)?
            }
            KeySpec::EccNistEdwards25519 => ed25519::check_public_key(der)?,
            KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => ml_dsa::check_public_key(spec, der)?,
            KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024 => {
                ml_kem::check_public_key(spec, der)?
            }
            KeySpec::SymmetricDefault
            | KeySpec::Hmac224
            | KeySpec::Hmac256
            | KeySpec::Hmac384
            | KeySpec::Hmac512 => return Err(KeysError::UnsupportedSpec(spec)),
        }
        Ok(PublicKey { spec, der: der.to_vec() })
    }

    /// Wraps the DER a private key just produced (already known good).
    pub(crate) fn trusted(spec: KeySpec, der: Vec<u8>) -> PublicKey {
        PublicKey { spec, der }
    }

    /// The key's spec.
    pub fn spec(&self) -> KeySpec {
        self.spec
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Whether `signature` is a valid signature of `message` (of `message_type`) with
    /// `algorithm`. A wrong signature is `Ok(false)`; an algorithm, message type or message
    /// length the key's spec does not accept is an error.
    pub fn verify(
        &self,
        algorithm: SigningAlgorithm,
        message_type: MessageType,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, KeysError> {
        let input = signing_input(self.spec, algorithm, message_type, message)?;
        match self.spec {
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
                rsa::verify(&self.der, algorithm, &input, signature)
            }
            KeySpec::EccNistP256 | KeySpec::EccNistP384 | KeySpec::EccNistP521 | KeySpec::EccSecgP256k1 => {
                ecc::verify(self.spec, &self.der, &input, signature)
            }
            KeySpec::EccNistEdwards25519 => ed25519::verify(&self.der, &input, signature),
            KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => {
                ml_dsa::verify(self.spec, &self.der, &input, signature)
            }
            _ => Err(KeysError::UnsupportedSpec(self.spec)),
        }
    }

    /// RSA-OAEP encryption of `plaintext` (raw OAEP output, MGF1 with the algorithm's hash,
    /// empty label): what a holder of the public key does outside the service.
    pub fn encrypt(&self, algorithm: EncryptionAlgorithm, plaintext: &[u8]) -> Result<Vec<u8>, KeysError> {
        rsa::encrypt(self.spec, &self.der, algorithm, plaintext)
    }

    /// A fresh ML-KEM `(ciphertext, shared secret)` for this encapsulation key.
    pub fn encapsulate(&self) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), KeysError> {
        ml_kem::encapsulate(self.spec, &self.der)
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey").field("spec", &self.spec).field("der_len", &self.der.len()).finish()
    }
}
