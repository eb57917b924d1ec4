//! The kind of key a KMS run makes (`--key-spec`, `--key-usage`) and what that implies for each
//! operation: the signing, MAC, key agreement or encapsulation algorithm its requests name, and
//! the peer public key DeriveSharedSecret sends. A mix whose operations cannot all run on one
//! kind of key is refused before anything is sent.

use aws_lc_rs::agreement;
use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use trent_wire::model::{
    EncapsulationAlgorithm, KeyAgreementAlgorithm, KeySpec, KeyUsage, MacAlgorithm, SigningAlgorithm,
};

use crate::workload::Op;

/// The spec and usage of every key a run makes, checked to suit every operation of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyKind {
    spec: KeySpec,
    usage: KeyUsage,
}

impl Default for KeyKind {
    fn default() -> KeyKind {
        KeyKind { spec: KeySpec::SymmetricDefault, usage: KeyUsage::EncryptDecrypt }
    }
}

impl KeyKind {
    /// Keys of `spec` for `ops`. Without an explicit `usage`, the one the operations need (Sign:
    /// SIGN_VERIFY, DeriveSharedSecret: KEY_AGREEMENT, …), or the spec's default.
    pub fn for_ops(spec: KeySpec, usage: Option<KeyUsage>, ops: &[Op]) -> Result<KeyKind, String> {
        let needed: Vec<KeyUsage> = ops.iter().filter_map(|op| usage_of(*op)).collect();
        let usage = match (usage, needed.first()) {
            (Some(usage), _) => usage,
            (None, Some(first)) => *first,
            (None, None) => spec.default_usage(),
        };
        if !spec.allowed_usages().contains(&usage) {
            return Err(format!("{spec} keys cannot have usage {usage}"));
        }
        let kind = KeyKind { spec, usage };
        for op in ops {
            if let Some(needs) = usage_of(*op).filter(|needs| *needs != usage) {
                return Err(format!("{} needs {needs} keys, not {usage}", op.name()));
            }
            kind.check(*op)?;
        }
        Ok(kind)
    }

    /// The key spec.
    pub fn spec(self) -> KeySpec {
        self.spec
    }

    /// The key usage.
    pub fn usage(self) -> KeyUsage {
        self.usage
    }

    /// Whether these are the keys CreateKey makes when it names neither spec nor usage (the
    /// bench then leaves both out, so its CreateKey body is the same as before keys had kinds).
    pub fn is_default(self) -> bool {
        self == KeyKind::default()
    }

    /// Refuses an operation these keys cannot serve.
    fn check(self, op: Op) -> Result<(), String> {
        let supported = match op {
            Op::CreateKey | Op::DescribeKey | Op::GenerateRandom | Op::ListKeyRotations => true,
            // Encrypt under RSA keys takes a different algorithm and a small plaintext: not loaded.
            Op::Encrypt | Op::Decrypt | Op::GenerateDataKey | Op::ReEncrypt => {
                self.spec == KeySpec::SymmetricDefault
            }
            Op::Sign | Op::Verify => self.signing_algorithm().is_some(),
            Op::GenerateMac => self.mac_algorithm().is_some(),
            Op::DeriveSharedSecret => self.agreement_curve().is_some(),
            Op::Encapsulate => self.encapsulation_algorithm().is_some(),
        };
        if supported {
            Ok(())
        } else {
            Err(format!("{} is not loaded on {} {} keys", op.name(), self.spec, self.usage))
        }
    }

    /// The signing algorithm Sign and Verify name: the one that matches the key's size.
    pub fn signing_algorithm(self) -> Option<SigningAlgorithm> {
        use KeySpec::*;
        if self.usage != KeyUsage::SignVerify {
            return None;
        }
        Some(match self.spec {
            EccNistP256 | EccSecgP256k1 => SigningAlgorithm::EcdsaSha256,
            EccNistP384 => SigningAlgorithm::EcdsaSha384,
            EccNistP521 => SigningAlgorithm::EcdsaSha512,
            Rsa2048 | Rsa3072 | Rsa4096 => SigningAlgorithm::RsassaPssSha256,
            EccNistEdwards25519 => SigningAlgorithm::Ed25519Sha512,
            MlDsa44 | MlDsa65 | MlDsa87 => SigningAlgorithm::MlDsaShake256,
            SymmetricDefault | Hmac224 | Hmac256 | Hmac384 | Hmac512 | MlKem512 | MlKem768 | MlKem1024 => {
                return None
            }
        })
    }

    /// The MAC algorithm of an HMAC key.
    pub fn mac_algorithm(self) -> Option<MacAlgorithm> {
        match self.spec {
            KeySpec::Hmac224 => Some(MacAlgorithm::HmacSha224),
            KeySpec::Hmac256 => Some(MacAlgorithm::HmacSha256),
            KeySpec::Hmac384 => Some(MacAlgorithm::HmacSha384),
            KeySpec::Hmac512 => Some(MacAlgorithm::HmacSha512),
            _ => None,
        }
    }

    /// The curve of a KEY_AGREEMENT key, for making the peer key (aws-lc-rs has no secp256k1
    /// agreement, and AWS allows KEY_AGREEMENT only on the NIST curves anyway).
    fn agreement_curve(self) -> Option<&'static agreement::Algorithm> {
        if self.usage != KeyUsage::KeyAgreement {
            return None;
        }
        match self.spec {
            KeySpec::EccNistP256 => Some(&agreement::ECDH_P256),
            KeySpec::EccNistP384 => Some(&agreement::ECDH_P384),
            KeySpec::EccNistP521 => Some(&agreement::ECDH_P521),
            _ => None,
        }
    }

    /// The key agreement algorithm of a KEY_AGREEMENT key.
    pub fn agreement_algorithm(self) -> Option<KeyAgreementAlgorithm> {
        self.agreement_curve().map(|_| KeyAgreementAlgorithm::Ecdh)
    }

    /// The encapsulation algorithm of an ML-KEM key.
    pub fn encapsulation_algorithm(self) -> Option<EncapsulationAlgorithm> {
        matches!(self.spec, KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024)
            .then_some(EncapsulationAlgorithm::MlKem)
    }

    /// A fresh peer public key on the keys' curve, as DER SubjectPublicKeyInfo, for
    /// DeriveSharedSecret. aws-lc-rs encodes the SPKI itself, so no DER is built here.
    pub fn peer_public_key(self) -> anyhow::Result<Vec<u8>> {
        let curve = self
            .agreement_curve()
            .ok_or_else(|| anyhow::anyhow!("{} {} keys do not agree keys", self.spec, self.usage))?;
        let private = agreement::PrivateKey::generate(curve)
            .map_err(|_| anyhow::anyhow!("generating the peer key on {}", self.spec))?;
        let public =
            private.compute_public_key().map_err(|_| anyhow::anyhow!("computing the peer public key"))?;
        let der: PublicKeyX509Der<'static> =
            public.as_der().map_err(|_| anyhow::anyhow!("encoding the peer public key as SPKI"))?;
        Ok(der.as_ref().to_vec())
    }
}

/// The key usage an operation needs, if it needs a particular one.
fn usage_of(op: Op) -> Option<KeyUsage> {
    match op {
        Op::CreateKey | Op::DescribeKey | Op::GenerateRandom | Op::ListKeyRotations => None,
        Op::Encrypt | Op::Decrypt | Op::GenerateDataKey | Op::ReEncrypt => Some(KeyUsage::EncryptDecrypt),
        Op::Sign | Op::Verify => Some(KeyUsage::SignVerify),
        Op::GenerateMac => Some(KeyUsage::GenerateVerifyMac),
        Op::DeriveSharedSecret => Some(KeyUsage::KeyAgreement),
        Op::Encapsulate => Some(KeyUsage::EncapsulateDecapsulate),
    }
}

/// Parses a key spec as AWS spells it, or in lower case with dashes (`ecc-nist-p256`).
pub fn parse_key_spec(text: &str) -> Result<KeySpec, String> {
    KeySpec::parse(&aws_spelling(text))
        .ok_or_else(|| format!("unknown key spec {text:?}; one of {}", KeySpec::allowed_values()))
}

/// Parses a key usage as AWS spells it, or in lower case with dashes (`sign-verify`).
pub fn parse_key_usage(text: &str) -> Result<KeyUsage, String> {
    KeyUsage::parse(&aws_spelling(text))
        .ok_or_else(|| format!("unknown key usage {text:?}; one of {}", KeyUsage::allowed_values()))
}

fn aws_spelling(text: &str) -> String {
    text.trim().to_ascii_uppercase().replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_specs_and_usages_parse_in_either_spelling() {
        assert_eq!(parse_key_spec("ECC_NIST_P256"), Ok(KeySpec::EccNistP256));
        assert_eq!(parse_key_spec("rsa-2048"), Ok(KeySpec::Rsa2048));
        assert!(parse_key_spec("AES_256").is_err());
        assert_eq!(parse_key_usage("key-agreement"), Ok(KeyUsage::KeyAgreement));
        assert!(parse_key_usage("SIGN").is_err());
    }

    #[test]
    fn the_usage_follows_the_operations() {
        let sign = KeyKind::for_ops(KeySpec::Rsa2048, None, &[Op::Sign, Op::Verify]).unwrap();
        assert_eq!(sign.usage(), KeyUsage::SignVerify);
        assert_eq!(sign.signing_algorithm(), Some(SigningAlgorithm::RsassaPssSha256));
        let derive = KeyKind::for_ops(KeySpec::EccNistP256, None, &[Op::DeriveSharedSecret]).unwrap();
        assert_eq!(derive.usage(), KeyUsage::KeyAgreement);
        assert_eq!(derive.agreement_algorithm(), Some(KeyAgreementAlgorithm::Ecdh));
        let plain = KeyKind::for_ops(KeySpec::SymmetricDefault, None, &[Op::Encrypt]).unwrap();
        assert!(plain.is_default());
        let described = KeyKind::for_ops(KeySpec::EccNistP384, None, &[Op::DescribeKey]).unwrap();
        assert_eq!(described.usage(), KeyUsage::SignVerify, "the spec's default");
    }

    #[test]
    fn each_spec_signs_macs_and_encapsulates_with_its_own_algorithm() {
        let kind = |spec, op| KeyKind::for_ops(spec, None, &[op]).unwrap();
        assert_eq!(
            kind(KeySpec::EccNistP256, Op::Sign).signing_algorithm(),
            Some(SigningAlgorithm::EcdsaSha256)
        );
        assert_eq!(
            kind(KeySpec::EccNistEdwards25519, Op::Sign).signing_algorithm(),
            Some(SigningAlgorithm::Ed25519Sha512)
        );
        assert_eq!(
            kind(KeySpec::MlDsa65, Op::Verify).signing_algorithm(),
            Some(SigningAlgorithm::MlDsaShake256)
        );
        assert_eq!(kind(KeySpec::Hmac384, Op::GenerateMac).mac_algorithm(), Some(MacAlgorithm::HmacSha384));
        assert_eq!(
            kind(KeySpec::MlKem768, Op::Encapsulate).encapsulation_algorithm(),
            Some(EncapsulationAlgorithm::MlKem)
        );
    }

    #[test]
    fn refuses_operations_the_keys_cannot_serve() {
        for (spec, usage, ops) in [
            (KeySpec::SymmetricDefault, None, &[Op::Sign][..]),
            (KeySpec::Hmac256, None, &[Op::Encrypt]),
            (KeySpec::Rsa2048, Some(KeyUsage::EncryptDecrypt), &[Op::Sign]),
            (KeySpec::Rsa2048, None, &[Op::Encrypt]),
            (KeySpec::EccNistP256, None, &[Op::Sign, Op::DeriveSharedSecret]),
            (KeySpec::EccSecgP256k1, None, &[Op::DeriveSharedSecret]),
            (KeySpec::MlKem512, Some(KeyUsage::SignVerify), &[Op::DescribeKey]),
        ] {
            assert!(KeyKind::for_ops(spec, usage, ops).is_err(), "{spec} {usage:?} {ops:?}");
        }
    }

    #[test]
    fn the_peer_key_is_an_spki_on_the_keys_curve() {
        // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING { 0x04 X Y } }: the fixed
        // 26-byte prefix of every uncompressed P-256 SPKI, then the 65-byte point.
        const P256_SPKI_PREFIX: [u8; 26] = [
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
            0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        let kind = KeyKind::for_ops(KeySpec::EccNistP256, None, &[Op::DeriveSharedSecret]).unwrap();
        let der = kind.peer_public_key().unwrap();
        assert_eq!(der.len(), 91);
        assert_eq!(der[..26], P256_SPKI_PREFIX);
        assert_eq!(der[26], 0x04, "uncompressed point");
        let p384 = KeyKind::for_ops(KeySpec::EccNistP384, None, &[Op::DeriveSharedSecret]).unwrap();
        assert_eq!(p384.peer_public_key().unwrap().len(), 120);
        assert!(KeyKind::default().peer_public_key().is_err());
    }
}
