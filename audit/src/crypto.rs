//! Every primitive the audit trail uses, and the only module that touches `aws-lc-rs`: SHA-256 of
//! a line, the deterministic P-256 digest signing key derived from a seed, and ECDSA P-256 SHA-256
//! signing and verification of digest messages.

use aws_lc_rs::agreement::{self, ECDH_P256};
use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hkdf;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, ParsedPublicKey, ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING,
};
use zeroize::Zeroizing;

use crate::error::AuditError;
use crate::pem;

/// HKDF `info` of the signing key derivation; a counter byte follows it.
const KEY_INFO: &[u8] = b"trent audit signing key v1";
/// The order n of the P-256 group, big-endian: a private scalar must be in [1, n).
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc,
    0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];
/// Candidates tried before giving up; each fails with probability below 2^-32.
const KEY_DERIVATION_ATTEMPTS: u8 = 16;

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    out
}

/// The id of a digest key: hex of the first 16 bytes of SHA-256 of its SubjectPublicKeyInfo DER.
fn key_id_of(spki_der: &[u8]) -> String {
    crate::hash::hex(&sha256(spki_der)[..16])
}

/// The P-256 key that signs digest records, derived from the node's audit seed so every restart
/// (and every node given the same seed) signs with the same key.
pub struct DigestSigner {
    key_pair: EcdsaKeyPair,
    public_key_der: Vec<u8>,
    key_id: String,
}

impl std::fmt::Debug for DigestSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestSigner").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl DigestSigner {
    /// Derives the signing key from a 32-byte secret seed: HKDF-SHA256 (empty salt, info
    /// `trent audit signing key v1` followed by a counter byte from 0) proposes a scalar, and the
    /// next counter is tried while the scalar is 0 or not below the group order.
    pub fn from_seed(seed: &[u8; 32]) -> Result<DigestSigner, AuditError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &[]).extract(seed);
        for counter in 0..KEY_DERIVATION_ATTEMPTS {
            let mut scalar = Zeroizing::new([0u8; 32]);
            let info = [KEY_INFO, &[counter]];
            prk.expand(&info, hkdf::HKDF_SHA256)
                .and_then(|okm| okm.fill(&mut scalar[..]))
                .map_err(|_| AuditError::SigningKey("HKDF expansion failed"))?;
            if scalar.iter().all(|&b| b == 0) || scalar[..] >= P256_ORDER[..] {
                continue;
            }
            return DigestSigner::from_scalar(&scalar);
        }
        Err(AuditError::SigningKey("no valid P-256 scalar from the seed"))
    }

    fn from_scalar(scalar: &[u8; 32]) -> Result<DigestSigner, AuditError> {
        let private = agreement::PrivateKey::from_private_key(&ECDH_P256, scalar)
            .map_err(|_| AuditError::SigningKey("P-256 scalar refused"))?;
        let public = private
            .compute_public_key()
            .map_err(|_| AuditError::SigningKey("cannot compute the public point"))?;
        let key_pair = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            scalar,
            public.as_ref(),
        )
        .map_err(|_| AuditError::SigningKey("ECDSA key pair refused"))?;
        let public_key_der = key_pair
            .public_key()
            .as_der()
            .map_err(|_| AuditError::SigningKey("cannot encode the public key"))?
            .as_ref()
            .to_vec();
        let key_id = key_id_of(&public_key_der);
        Ok(DigestSigner { key_pair, public_key_der, key_id })
    }

    /// The public key as X.509 SubjectPublicKeyInfo DER.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.public_key_der.clone()
    }

    /// The public key as a PEM `PUBLIC KEY` block, for `trent audit verify --public-key`.
    pub fn public_key_pem(&self) -> String {
        pem::encode_public_key(&self.public_key_der)
    }

    /// The key's id, as digest records name it.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The DER ECDSA signature of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, AuditError> {
        let signature = self
            .key_pair
            .sign(&SystemRandom::new(), message)
            .map_err(|_| AuditError::SigningKey("ECDSA signing failed"))?;
        Ok(signature.as_ref().to_vec())
    }
}

/// The public half of a [`DigestSigner`], which checks digest records offline.
pub struct DigestVerifier {
    key: ParsedPublicKey,
    key_id: String,
}

impl std::fmt::Debug for DigestVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestVerifier").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl DigestVerifier {
    /// A verifier from a P-256 public key as PEM (`-----BEGIN PUBLIC KEY-----`) or as
    /// SubjectPublicKeyInfo DER.
    pub fn from_public_key(bytes: &[u8]) -> Result<DigestVerifier, AuditError> {
        let der = match pem::decode_public_key(bytes) {
            Some(decoded) => decoded?,
            None => bytes.to_vec(),
        };
        // A SubjectPublicKeyInfo is a DER SEQUENCE; a bare point would parse too, but the key id
        // is defined over the SPKI, so only that form is accepted.
        if der.first() != Some(&0x30) {
            return Err(AuditError::InvalidPublicKey("not a SubjectPublicKeyInfo"));
        }
        let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &der)
            .map_err(|_| AuditError::InvalidPublicKey("not a P-256 public key"))?;
        Ok(DigestVerifier { key, key_id: key_id_of(&der) })
    }

    /// The key's id, as digest records signed by it name it.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Whether `signature` (DER) signs `message` under this key.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_key() {
        let first = DigestSigner::from_seed(&[7; 32]).unwrap();
        let again = DigestSigner::from_seed(&[7; 32]).unwrap();
        assert_eq!(first.public_key_der(), again.public_key_der());
        assert_eq!(first.key_id(), again.key_id());
        assert_eq!(first.key_id().len(), 32);
    }

    #[test]
    fn different_seeds_give_different_keys() {
        let one = DigestSigner::from_seed(&[1; 32]).unwrap();
        let two = DigestSigner::from_seed(&[2; 32]).unwrap();
        assert_ne!(one.public_key_der(), two.public_key_der());
        assert_ne!(one.key_id(), two.key_id());
    }

    #[test]
    fn signatures_verify_under_the_pem_and_der_public_key() {
        let signer = DigestSigner::from_seed(&[9; 32]).unwrap();
        let signature = signer.sign(b"head").unwrap();
        for public in [signer.public_key_pem().into_bytes(), signer.public_key_der()] {
            let verifier = DigestVerifier::from_public_key(&public).unwrap();
            assert_eq!(verifier.key_id(), signer.key_id());
            assert!(verifier.verifies(b"head", &signature));
            assert!(!verifier.verifies(b"heads", &signature));
        }
        let other = DigestSigner::from_seed(&[10; 32]).unwrap();
        let verifier = DigestVerifier::from_public_key(&other.public_key_der()).unwrap();
        assert!(!verifier.verifies(b"head", &signature));
    }

    #[test]
    fn the_public_key_is_a_p256_subject_public_key_info() {
        let der = DigestSigner::from_seed(&[3; 32]).unwrap().public_key_der();
        // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (uncompressed point) }.
        assert_eq!(der.len(), 91);
        let algorithm = [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
        let curve = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        assert!(der.windows(algorithm.len()).any(|w| w == algorithm));
        assert!(der.windows(curve.len()).any(|w| w == curve));
        assert_eq!(der[26], 0x04, "uncompressed point");
        let pem = DigestSigner::from_seed(&[3; 32]).unwrap().public_key_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(pem.lines().all(|line| line.len() <= 64));
    }

    #[test]
    fn garbage_is_not_a_public_key() {
        assert!(DigestVerifier::from_public_key(b"").is_err());
        assert!(DigestVerifier::from_public_key(
            b"-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----\n"
        )
        .is_err());
        assert!(DigestVerifier::from_public_key(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_err());
    }
}
