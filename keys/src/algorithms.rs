//! Which algorithms a key of each spec and usage offers: the lists AWS's `KeyMetadata` shows,
//! and the check every operation makes before it touches a key.

use trent_wire::model::{
    EncapsulationAlgorithm, EncryptionAlgorithm, KeyAgreementAlgorithm, KeySpec, KeyUsage, MacAlgorithm,
    SigningAlgorithm,
};

use crate::KeysError;

/// The algorithms of a key, one list per kind, as `KeyMetadata` reports them. A kind the key's
/// usage does not cover is empty (AWS omits it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyAlgorithms {
    /// `EncryptionAlgorithms` (usage `ENCRYPT_DECRYPT`).
    pub encryption: &'static [EncryptionAlgorithm],
    /// `SigningAlgorithms` (usage `SIGN_VERIFY`).
    pub signing: &'static [SigningAlgorithm],
    /// `MacAlgorithms` (usage `GENERATE_VERIFY_MAC`).
    pub mac: &'static [MacAlgorithm],
    /// `KeyAgreementAlgorithms` (usage `KEY_AGREEMENT`).
    pub key_agreement: &'static [KeyAgreementAlgorithm],
    /// The key encapsulation algorithms (usage `ENCAPSULATE_DECAPSULATE`).
    pub encapsulation: &'static [EncapsulationAlgorithm],
}

impl KeyAlgorithms {
    /// The algorithms of a key of `spec` used for `usage`; all empty when AWS does not allow
    /// that usage for that spec.
    pub fn of(spec: KeySpec, usage: KeyUsage) -> KeyAlgorithms {
        let mut algorithms =
            KeyAlgorithms { encryption: &[], signing: &[], mac: &[], key_agreement: &[], encapsulation: &[] };
        if !spec.allowed_usages().contains(&usage) {
            return algorithms;
        }
        match usage {
            KeyUsage::EncryptDecrypt => algorithms.encryption = encryption_algorithms(spec),
            KeyUsage::SignVerify => algorithms.signing = signing_algorithms(spec),
            KeyUsage::GenerateVerifyMac => algorithms.mac = mac_algorithms(spec),
            KeyUsage::KeyAgreement => algorithms.key_agreement = key_agreement_algorithms(spec),
            KeyUsage::EncapsulateDecapsulate => algorithms.encapsulation = encapsulation_algorithms(spec),
        }
        algorithms
    }
}

/// The signing algorithms of a `SIGN_VERIFY` key of `spec`.
pub fn signing_algorithms(spec: KeySpec) -> &'static [SigningAlgorithm] {
    use SigningAlgorithm::*;
    match spec {
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => &[
            RsassaPssSha256,
            RsassaPssSha384,
            RsassaPssSha512,
            RsassaPkcs1V15Sha256,
            RsassaPkcs1V15Sha384,
            RsassaPkcs1V15Sha512,
        ],
        KeySpec::EccNistP256 | KeySpec::EccSecgP256k1 => &[EcdsaSha256],
        KeySpec::EccNistP384 => &[EcdsaSha384],
        KeySpec::EccNistP521 => &[EcdsaSha512],
        KeySpec::EccNistEdwards25519 => &[Ed25519Sha512, Ed25519PhSha512],
        KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => &[MlDsaShake256],
        _ => &[],
    }
}

/// The encryption algorithms of an `ENCRYPT_DECRYPT` key of `spec`.
pub fn encryption_algorithms(spec: KeySpec) -> &'static [EncryptionAlgorithm] {
    match spec {
        KeySpec::SymmetricDefault => &[EncryptionAlgorithm::SymmetricDefault],
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
            &[EncryptionAlgorithm::RsaesOaepSha1, EncryptionAlgorithm::RsaesOaepSha256]
        }
        _ => &[],
    }
}

/// The MAC algorithm of an HMAC key of `spec` (one each: the spec fixes the hash).
pub fn mac_algorithms(spec: KeySpec) -> &'static [MacAlgorithm] {
    match spec {
        KeySpec::Hmac224 => &[MacAlgorithm::HmacSha224],
        KeySpec::Hmac256 => &[MacAlgorithm::HmacSha256],
        KeySpec::Hmac384 => &[MacAlgorithm::HmacSha384],
        KeySpec::Hmac512 => &[MacAlgorithm::HmacSha512],
        _ => &[],
    }
}

/// The key agreement algorithms of a `KEY_AGREEMENT` key of `spec` (the NIST curves).
pub fn key_agreement_algorithms(spec: KeySpec) -> &'static [KeyAgreementAlgorithm] {
    match spec {
        KeySpec::EccNistP256 | KeySpec::EccNistP384 | KeySpec::EccNistP521 => &[KeyAgreementAlgorithm::Ecdh],
        _ => &[],
    }
}

/// The encapsulation algorithms of an `ENCAPSULATE_DECAPSULATE` key of `spec`.
pub fn encapsulation_algorithms(spec: KeySpec) -> &'static [EncapsulationAlgorithm] {
    match spec {
        KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024 => &[EncapsulationAlgorithm::MlKem],
        _ => &[],
    }
}

/// Refuses `algorithm` unless it is one of `allowed` (the spec's list).
pub(crate) fn require<A: Copy + PartialEq>(
    spec: KeySpec,
    allowed: &[A],
    algorithm: A,
    name: fn(A) -> &'static str,
) -> Result<(), KeysError> {
    if allowed.contains(&algorithm) {
        Ok(())
    } else {
        Err(KeysError::UnsupportedAlgorithm { spec, algorithm: name(algorithm) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_lists_follow_the_usage() {
        let rsa_sign = KeyAlgorithms::of(KeySpec::Rsa3072, KeyUsage::SignVerify);
        assert_eq!(rsa_sign.signing.len(), 6);
        assert!(rsa_sign.encryption.is_empty());
        let rsa_encrypt = KeyAlgorithms::of(KeySpec::Rsa3072, KeyUsage::EncryptDecrypt);
        assert_eq!(
            rsa_encrypt.encryption,
            &[EncryptionAlgorithm::RsaesOaepSha1, EncryptionAlgorithm::RsaesOaepSha256]
        );
        assert!(rsa_encrypt.signing.is_empty());
        let ed = KeyAlgorithms::of(KeySpec::EccNistEdwards25519, KeyUsage::SignVerify);
        assert_eq!(ed.signing, &[SigningAlgorithm::Ed25519Sha512, SigningAlgorithm::Ed25519PhSha512]);
        let ecdh = KeyAlgorithms::of(KeySpec::EccNistP384, KeyUsage::KeyAgreement);
        assert_eq!(ecdh.key_agreement, &[KeyAgreementAlgorithm::Ecdh]);
        assert!(ecdh.signing.is_empty());
        let kem = KeyAlgorithms::of(KeySpec::MlKem768, KeyUsage::EncapsulateDecapsulate);
        assert_eq!(kem.encapsulation, &[EncapsulationAlgorithm::MlKem]);
        let mac = KeyAlgorithms::of(KeySpec::Hmac384, KeyUsage::GenerateVerifyMac);
        assert_eq!(mac.mac, &[MacAlgorithm::HmacSha384]);
    }

    #[test]
    fn a_usage_the_spec_does_not_allow_lists_nothing() {
        let none = KeyAlgorithms::of(KeySpec::EccSecgP256k1, KeyUsage::KeyAgreement);
        assert!(none.key_agreement.is_empty() && none.signing.is_empty());
        let none = KeyAlgorithms::of(KeySpec::Hmac256, KeyUsage::SignVerify);
        assert!(none.signing.is_empty() && none.mac.is_empty());
    }

    #[test]
    fn every_allowed_usage_of_every_spec_names_an_algorithm() {
        for spec in KeySpec::ALL {
            for usage in spec.allowed_usages() {
                let a = KeyAlgorithms::of(*spec, *usage);
                let total = a.encryption.len()
                    + a.signing.len()
                    + a.mac.len()
                    + a.key_agreement.len()
                    + a.encapsulation.len();
                assert!(total > 0, "{spec} {usage}");
            }
        }
    }
}
