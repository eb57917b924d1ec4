//! ML-DSA keys (`ML_DSA_44`, `ML_DSA_65`, `ML_DSA_87`, FIPS 204), stored as their 32-byte seed:
//! pure ML-DSA with an empty context over the raw message, and signatures of an external μ.

use std::ffi::c_int;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{self, KeyPair, PqdsaKeyPair, PqdsaSigningAlgorithm, PqdsaVerificationAlgorithm};
use trent_wire::model::KeySpec;
use zeroize::Zeroizing;

use crate::ffi::{self, EvpKey};
use crate::message::SigningInput;
use crate::KeysError;

/// The aws-lc-rs algorithms and aws-lc NID of one parameter set.
struct ParameterSet {
    signing: &'static PqdsaSigningAlgorithm,
    verification: &'static PqdsaVerificationAlgorithm,
    nid: c_int,
}

fn parameter_set(spec: KeySpec) -> Result<ParameterSet, KeysError> {
    Ok(match spec {
        KeySpec::MlDsa44 => ParameterSet {
            signing: &signature::ML_DSA_44_SIGNING,
            verification: &signature::ML_DSA_44,
            nid: ffi::NID_MLDSA44,
        },
        KeySpec::MlDsa65 => ParameterSet {
            signing: &signature::ML_DSA_65_SIGNING,
            verification: &signature::ML_DSA_65,
            nid: ffi::NID_MLDSA65,
        },
        KeySpec::MlDsa87 => ParameterSet {
            signing: &signature::ML_DSA_87_SIGNING,
            verification: &signature::ML_DSA_87,
            nid: ffi::NID_MLDSA87,
        },
        _ => return Err(KeysError::UnsupportedSpec(spec)),
    })
}

/// A parsed ML-DSA private key: aws-lc-rs's key pair for messages, and the same key as an
/// aws-lc `EVP_PKEY` for μ (which aws-lc-rs does not sign).
pub(crate) struct MlDsaKey {
    pure: PqdsaKeyPair,
    external_mu: EvpKey,
}

impl MlDsaKey {
    /// Rebuilds the key of `spec` from its 32-byte seed ξ.
    pub(crate) fn from_seed(spec: KeySpec, seed: &[u8]) -> Result<MlDsaKey, KeysError> {
        let parameters = parameter_set(spec)?;
        let malformed = KeysError::MalformedMaterial(spec);
        let seed: &[u8; ffi::ML_DSA_SEED_LEN] = seed.try_into().map_err(|_| malformed)?;
        let pure = PqdsaKeyPair::from_seed(parameters.signing, seed).map_err(|_| malformed)?;
        let external_mu = EvpKey::ml_dsa_from_seed(parameters.nid, seed).map_err(|_| malformed)?;
        Ok(MlDsaKey { pure, external_mu })
    }

    /// The public key as DER SubjectPublicKeyInfo (with the NIST id-ml-dsa OID).
    pub(crate) fn public_key_der(&self) -> Result<Vec<u8>, KeysError> {
        Ok(self.pure.public_key().as_der()?.as_ref().to_vec())
    }

    /// Signs a checked input: a raw message (pure ML-DSA, empty context) or μ.
    pub(crate) fn sign(&self, input: &SigningInput<'_>) -> Result<Vec<u8>, KeysError> {
        match input {
            SigningInput::Raw(message) => {
                let mut signature = vec![0u8; self.pure.algorithm().signature_len()];
                let len = self.pure.sign(message, &mut signature)?;
                signature.truncate(len);
                Ok(signature)
            }
            SigningInput::Mu(mu) => self.external_mu.ml_dsa_sign_mu(mu),
            // `signing_input` admits no digest for ML-DSA.
            SigningInput::Digest(_) => Err(KeysError::Crypto),
        }
    }
}

/// New private material: a random 32-byte seed.
pub(crate) fn generate(spec: KeySpec) -> Result<Zeroizing<Vec<u8>>, KeysError> {
    parameter_set(spec)?;
    let mut seed = Zeroizing::new(vec![0u8; ffi::ML_DSA_SEED_LEN]);
    aws_lc_rs::rand::fill(&mut seed)?;
    Ok(seed)
}

/// The stored form, the seed, of imported material of `spec`: either the 32-byte seed itself,
/// or PKCS#8 DER (v1 or v2) of the spec's parameter set whose private key is the `seed` or the
/// `both` choice of draft-ietf-lamps-dilithium-certificates, whose expanded key must be the
/// seed's. An `expandedKey`-only private key has no seed to store; it, and anything else, is
/// `MalformedMaterial`.
pub(crate) fn canonical_seed(spec: KeySpec, material: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeysError> {
    let parameters = parameter_set(spec)?;
    if material.len() == ffi::ML_DSA_SEED_LEN {
        return Ok(Zeroizing::new(material.to_vec()));
    }
    let malformed = KeysError::MalformedMaterial(spec);
    let key = EvpKey::parse_pkcs8(material).map_err(|_| malformed)?;
    if key.nid() != parameters.nid {
        return Err(malformed);
    }
    let seed = key.ml_dsa_seed().map_err(|_| malformed)?;
    // aws-lc checks that `both`'s halves give the same public key, not that they are the same
    // private key: the expanded key's K (its signing randomness) may differ. The seed is what
    // is stored, so the expanded key given must be exactly the seed's.
    let seed_array: &[u8; ffi::ML_DSA_SEED_LEN] = seed.as_slice().try_into().map_err(|_| malformed)?;
    let from_seed = EvpKey::ml_dsa_from_seed(parameters.nid, seed_array)?;
    if from_seed.raw_private_key()? != key.raw_private_key()? {
        return Err(malformed);
    }
    Ok(seed)
}

/// Whether `signature` is the signature of a checked input under the SPKI `public_key` of `spec`.
pub(crate) fn verify(
    spec: KeySpec,
    public_key: &[u8],
    input: &SigningInput<'_>,
    signature: &[u8],
) -> Result<bool, KeysError> {
    let parameters = parameter_set(spec)?;
    match input {
        SigningInput::Raw(message) => {
            Ok(signature::UnparsedPublicKey::new(parameters.verification, public_key)
                .verify(message, signature)
                .is_ok())
        }
        SigningInput::Mu(mu) => parse_public_key(&parameters, public_key)?.ml_dsa_verify_mu(mu, signature),
        SigningInput::Digest(_) => Err(KeysError::Crypto),
    }
}

/// Checks an SPKI public key is an ML-DSA key of the spec's parameter set.
pub(crate) fn check_public_key(spec: KeySpec, public_key: &[u8]) -> Result<(), KeysError> {
    parse_public_key(&parameter_set(spec)?, public_key).map(|_| ())
}

fn parse_public_key(parameters: &ParameterSet, public_key: &[u8]) -> Result<EvpKey, KeysError> {
    let key = EvpKey::parse_spki(public_key)?;
    if key.nid() == parameters.nid {
        Ok(key)
    } else {
        Err(KeysError::InvalidPublicKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// μ = SHAKE256(SHAKE256(pk, 64) ‖ 0x00 ‖ 0x00 ‖ M, 64): FIPS 204 pure ML-DSA, empty context.
    fn mu(raw_public_key: &[u8], message: &[u8]) -> [u8; 64] {
        let tr = ffi::shake256(&[raw_public_key], 64);
        ffi::shake256(&[&tr, &[0, 0], message], 64).try_into().unwrap()
    }

    #[test]
    fn an_external_mu_signature_is_a_signature_of_the_message() {
        for spec in [KeySpec::MlDsa44, KeySpec::MlDsa65, KeySpec::MlDsa87] {
            let key = MlDsaKey::from_seed(spec, &generate(spec).unwrap()).unwrap();
            let public_key = key.public_key_der().unwrap();
            let message = b"signed through its representative";
            let mu = mu(key.pure.public_key().as_ref(), message);

            let signature = key.sign(&SigningInput::Mu(&mu)).unwrap();
            let verifier =
                signature::UnparsedPublicKey::new(parameter_set(spec).unwrap().verification, &public_key);
            verifier.verify(message, &signature).unwrap();
            assert!(verifier.verify(b"another message", &signature).is_err());

            // And a signature of the message verifies as a signature of its μ.
            let signature = key.sign(&SigningInput::Raw(message)).unwrap();
            assert!(verify(spec, &public_key, &SigningInput::Mu(&mu), &signature).unwrap());
            let mut other = mu;
            other[0] ^= 1;
            assert!(!verify(spec, &public_key, &SigningInput::Mu(&other), &signature).unwrap());
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_key() {
        let seed = [7u8; 32];
        let first = MlDsaKey::from_seed(KeySpec::MlDsa65, &seed).unwrap();
        let second = MlDsaKey::from_seed(KeySpec::MlDsa65, &seed).unwrap();
        assert_eq!(first.public_key_der().unwrap(), second.public_key_der().unwrap());
        let other = MlDsaKey::from_seed(KeySpec::MlDsa44, &seed).unwrap();
        assert_ne!(first.public_key_der().unwrap(), other.public_key_der().unwrap());
    }
}
