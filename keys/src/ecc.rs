//! Elliptic-curve keys on P-256, P-384, P-521 and secp256k1: ECDSA with DER signatures over a
//! message or its digest, and (NIST curves) ECDH returning the raw x-coordinate.

use aws_lc_rs::agreement::{self, ParsedPublicKey, ParsedPublicKeyFormat};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, EcdsaSigningAlgorithm, EcdsaVerificationAlgorithm, KeyPair};
use trent_wire::model::KeySpec;
use zeroize::Zeroizing;

use crate::ffi::EvpKey;
use crate::message::SigningInput;
use crate::KeysError;

/// The aws-lc-rs algorithms of one curve.
struct Curve {
    signing: &'static EcdsaSigningAlgorithm,
    verification: &'static EcdsaVerificationAlgorithm,
    agreement: Option<&'static agreement::Algorithm>,
}

fn curve(spec: KeySpec) -> Result<Curve, KeysError> {
    Ok(match spec {
        KeySpec::EccNistP256 => Curve {
            signing: &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            verification: &signature::ECDSA_P256_SHA256_ASN1,
            agreement: Some(&agreement::ECDH_P256),
        },
        KeySpec::EccNistP384 => Curve {
            signing: &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            verification: &signature::ECDSA_P384_SHA384_ASN1,
            agreement: Some(&agreement::ECDH_P384),
        },
        KeySpec::EccNistP521 => Curve {
            signing: &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
            verification: &signature::ECDSA_P521_SHA512_ASN1,
            agreement: Some(&agreement::ECDH_P521),
        },
        KeySpec::EccSecgP256k1 => Curve {
            signing: &signature::ECDSA_P256K1_SHA256_ASN1_SIGNING,
            verification: &signature::ECDSA_P256K1_SHA256_ASN1,
            agreement: None,
        },
        _ => return Err(KeysError::UnsupportedSpec(spec)),
    })
}

/// A parsed EC private key: its ECDSA key pair and, on the NIST curves, its ECDH key.
pub(crate) struct EcKey {
    signing: EcdsaKeyPair,
    agreement: Option<agreement::PrivateKey>,
}

/// New private material for an EC spec, in its stored form.
pub(crate) fn generate(spec: KeySpec) -> Result<Zeroizing<Vec<u8>>, KeysError> {
    stored_form(&EcdsaKeyPair::generate(curve(spec)?.signing)?)
}

/// The stored form of an EC key, whether generated or imported: PKCS#8 v1 DER as aws-lc writes
/// it (named curve, with the public point).
fn stored_form(key: &EcdsaKeyPair) -> Result<Zeroizing<Vec<u8>>, KeysError> {
    Ok(Zeroizing::new(key.to_pkcs8v1()?.as_ref().to_vec()))
}

/// The stored form of imported PKCS#8 DER (v1, or v2 without the optional public key) of a key
/// on `spec`'s curve; anything else is `MalformedMaterial`.
pub(crate) fn canonical_pkcs8(spec: KeySpec, pkcs8: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeysError> {
    let key = EcdsaKeyPair::from_pkcs8(curve(spec)?.signing, pkcs8)
        .map_err(|_| KeysError::MalformedMaterial(spec))?;
    stored_form(&key)
}

impl EcKey {
    /// Parses PKCS#8 DER, refusing a key on another curve.
    pub(crate) fn from_pkcs8(spec: KeySpec, pkcs8: &[u8]) -> Result<EcKey, KeysError> {
        let curve = curve(spec)?;
        let malformed = KeysError::MalformedMaterial(spec);
        let signing = EcdsaKeyPair::from_pkcs8(curve.signing, pkcs8).map_err(|_| malformed)?;
        let agreement = match curve.agreement {
            Some(algorithm) => {
                Some(agreement::PrivateKey::from_private_key_der(algorithm, pkcs8).map_err(|_| malformed)?)
            }
            None => None,
        };
        Ok(EcKey { signing, agreement })
    }

    /// The public key as DER SubjectPublicKeyInfo.
    pub(crate) fn public_key_der(&self) -> Result<Vec<u8>, KeysError> {
        Ok(self.signing.public_key().as_der()?.as_ref().to_vec())
    }

    /// Signs a checked input; the signature is DER (`ECDSA-Sig-Value`), as AWS returns it.
    pub(crate) fn sign(&self, input: &SigningInput<'_>) -> Result<Vec<u8>, KeysError> {
        let signature = match input {
            SigningInput::Raw(message) => self.signing.sign(&SystemRandom::new(), message)?,
            SigningInput::Digest(digest) => self.signing.sign_digest(digest)?,
            // `signing_input` admits μ for ML-DSA only.
            SigningInput::Mu(_) => return Err(KeysError::Crypto),
        };
        Ok(signature.as_ref().to_vec())
    }

    /// The ECDH shared secret (the x-coordinate) with a peer's DER SPKI public key on the
    /// same curve. A key of another curve or type, an invalid point, or an encoding other than
    /// named-curve, uncompressed DER SPKI (see [`require_named_curve_der`]) is `InvalidPublicKey`.
    pub(crate) fn derive_shared_secret(
        &self,
        spec: KeySpec,
        peer_public_key: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeysError> {
        let (Some(key), Some(algorithm)) = (&self.agreement, curve(spec)?.agreement) else {
            return Err(KeysError::UnsupportedAlgorithm { spec, algorithm: "ECDH" });
        };
        require_named_curve_der(peer_public_key)?;
        let peer = ParsedPublicKey::try_from(&agreement::UnparsedPublicKey::new(algorithm, peer_public_key))
            .map_err(|_| KeysError::InvalidPublicKey)?;
        if peer.format() != ParsedPublicKeyFormat::X509 {
            return Err(KeysError::InvalidPublicKey);
        }
        agreement::agree(key, peer, KeysError::InvalidPublicKey, |secret| Ok(Zeroizing::new(secret.to_vec())))
    }
}

/// Whether `signature` is the signature of a checked input under the SPKI `public_key` of `spec`.
pub(crate) fn verify(
    spec: KeySpec,
    public_key: &[u8],
    input: &SigningInput<'_>,
    signature: &[u8],
) -> Result<bool, KeysError> {
    let key = signature::UnparsedPublicKey::new(curve(spec)?.verification, public_key);
    Ok(match input {
        SigningInput::Raw(message) => key.verify(message, signature).is_ok(),
        SigningInput::Digest(digest) => key.verify_digest(digest, signature).is_ok(),
        SigningInput::Mu(_) => return Err(KeysError::Crypto),
    })
}

/// Checks an SPKI public key is a valid point on the spec's curve, in named-curve DER.
pub(crate) fn check_public_key(spec: KeySpec, public_key: &[u8]) -> Result<(), KeysError> {
    signature::ParsedPublicKey::new(curve(spec)?.verification, public_key)
        .map_err(|_| KeysError::InvalidPublicKey)?;
    require_named_curve_der(public_key)
}

/// Refuses an SPKI other than the DER aws-lc writes back for the key it reads from it: a
/// named curve and an uncompressed point, what GetPublicKey returns. aws-lc reads more than RFC
/// 5480 allows: it maps explicit curve parameters equal to a named curve's onto that curve (even
/// without the cofactor RFC 3279 requires), where RFC 5480 allows only `namedCurve`, and
/// aws-lc-rs's ECDH parser ignores bytes after the SPKI (both found by the Wycheproof vectors).
/// Compressed points, which RFC 5480 leaves optional, are refused with them.
fn require_named_curve_der(public_key: &[u8]) -> Result<(), KeysError> {
    let canonical = EvpKey::parse_spki(public_key)?.spki_der().map_err(|_| KeysError::InvalidPublicKey)?;
    if canonical == public_key {
        Ok(())
    } else {
        Err(KeysError::InvalidPublicKey)
    }
}
