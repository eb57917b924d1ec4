//! HMAC keys (`HMAC_224` … `HMAC_512`): random key bytes as long as the spec's hash output,
//! imported keys from that length up to the hash's block length, tags over messages of 1 to 4096
//! bytes, and verification in constant time.

use std::ops::RangeInclusive;

use aws_lc_rs::hmac;
use trent_wire::model::{KeySpec, MacAlgorithm};
use zeroize::Zeroizing;

use crate::algorithms::{mac_algorithms, require};
use crate::message::{check_length, RAW_MESSAGE};
use crate::KeysError;

/// A parsed HMAC key (boxed: aws-lc-rs keeps precomputed hash states inline, over a kilobyte).
pub(crate) struct HmacKey {
    key: Box<hmac::Key>,
}

/// What an HMAC spec is made of.
struct Parameters {
    /// The length of a generated key: the hash's output (AWS: 224, 256, 384 or 512 bits).
    generated: usize,
    /// The lengths a key may have: AWS imports keys from the hash's output length up to its
    /// block length (a longer key would be hashed down by HMAC itself).
    admitted: RangeInclusive<usize>,
    mac: MacAlgorithm,
}

fn parameters(spec: KeySpec) -> Result<Parameters, KeysError> {
    let (generated, block, mac) = match spec {
        KeySpec::Hmac224 => (28, 64, MacAlgorithm::HmacSha224),
        KeySpec::Hmac256 => (32, 64, MacAlgorithm::HmacSha256),
        KeySpec::Hmac384 => (48, 128, MacAlgorithm::HmacSha384),
        KeySpec::Hmac512 => (64, 128, MacAlgorithm::HmacSha512),
        _ => return Err(KeysError::UnsupportedSpec(spec)),
    };
    Ok(Parameters { generated, admitted: generated..=block, mac })
}

fn algorithm(algorithm: MacAlgorithm) -> hmac::Algorithm {
    match algorithm {
        MacAlgorithm::HmacSha224 => hmac::HMAC_SHA224,
        MacAlgorithm::HmacSha256 => hmac::HMAC_SHA256,
        MacAlgorithm::HmacSha384 => hmac::HMAC_SHA384,
        MacAlgorithm::HmacSha512 => hmac::HMAC_SHA512,
    }
}

/// New random key bytes for an HMAC spec.
pub(crate) fn generate(spec: KeySpec) -> Result<Zeroizing<Vec<u8>>, KeysError> {
    let mut key = Zeroizing::new(vec![0u8; parameters(spec)?.generated]);
    aws_lc_rs::rand::fill(&mut key)?;
    Ok(key)
}

impl HmacKey {
    /// Reads key bytes of a length the spec admits (generated or imported).
    pub(crate) fn from_bytes(spec: KeySpec, bytes: &[u8]) -> Result<HmacKey, KeysError> {
        let parameters = parameters(spec)?;
        if !parameters.admitted.contains(&bytes.len()) {
            return Err(KeysError::MalformedMaterial(spec));
        }
        Ok(HmacKey::new(parameters.mac, bytes))
    }

    fn new(mac: MacAlgorithm, bytes: &[u8]) -> HmacKey {
        HmacKey { key: Box::new(hmac::Key::new(algorithm(mac), bytes)) }
    }

    /// The tag of `message`.
    pub(crate) fn mac(&self, spec: KeySpec, mac: MacAlgorithm, message: &[u8]) -> Result<Vec<u8>, KeysError> {
        require(spec, mac_algorithms(spec), mac, MacAlgorithm::as_str)?;
        check_length(RAW_MESSAGE, message)?;
        Ok(hmac::sign(&self.key, message).as_ref().to_vec())
    }

    /// Whether `tag` is the tag of `message`, compared in constant time.
    pub(crate) fn verify_mac(
        &self,
        spec: KeySpec,
        mac: MacAlgorithm,
        message: &[u8],
        tag: &[u8],
    ) -> Result<bool, KeysError> {
        require(spec, mac_algorithms(spec), mac, MacAlgorithm::as_str)?;
        check_length(RAW_MESSAGE, message)?;
        Ok(hmac::verify(&self.key, message, tag).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn tags_match_rfc_4231_test_case_2() {
        // Key "Jefe" (shorter than any AWS spec allows, so through the inner constructor).
        let cases = [
            (MacAlgorithm::HmacSha224, KeySpec::Hmac224, "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44"),
            (MacAlgorithm::HmacSha256, KeySpec::Hmac256, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (
                MacAlgorithm::HmacSha384,
                KeySpec::Hmac384,
                "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
            ),
            (
                MacAlgorithm::HmacSha512,
                KeySpec::Hmac512,
                "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
                 9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
            ),
        ];
        let message = b"what do ya want for nothing?";
        for (mac, spec, expected) in cases {
            let key = HmacKey::new(mac, b"Jefe");
            let tag = key.mac(spec, mac, message).unwrap();
            assert_eq!(tag, hex(&expected.replace(' ', "")), "{mac}");
            assert!(key.verify_mac(spec, mac, message, &tag).unwrap());
        }
    }

    #[test]
    fn a_tag_that_differs_anywhere_fails() {
        let key = HmacKey::from_bytes(KeySpec::Hmac256, &generate(KeySpec::Hmac256).unwrap()).unwrap();
        let mut tag = key.mac(KeySpec::Hmac256, MacAlgorithm::HmacSha256, b"message").unwrap();
        assert!(key.verify_mac(KeySpec::Hmac256, MacAlgorithm::HmacSha256, b"message", &tag).unwrap());
        assert!(!key.verify_mac(KeySpec::Hmac256, MacAlgorithm::HmacSha256, b"messagf", &tag).unwrap());
        assert!(!key.verify_mac(KeySpec::Hmac256, MacAlgorithm::HmacSha256, b"message", &tag[..31]).unwrap());
        tag[31] ^= 1;
        assert!(!key.verify_mac(KeySpec::Hmac256, MacAlgorithm::HmacSha256, b"message", &tag).unwrap());
    }

    #[test]
    fn generated_keys_are_the_specs_bits_and_imported_ones_reach_the_block_length() {
        for (spec, len, block) in [
            (KeySpec::Hmac224, 28, 64),
            (KeySpec::Hmac256, 32, 64),
            (KeySpec::Hmac384, 48, 128),
            (KeySpec::Hmac512, 64, 128),
        ] {
            assert_eq!(generate(spec).unwrap().len(), len);
            for admitted in [len, block] {
                assert!(HmacKey::from_bytes(spec, &vec![7; admitted]).is_ok(), "{spec} {admitted}");
            }
            for refused in [len - 1, block + 1] {
                assert_eq!(
                    HmacKey::from_bytes(spec, &vec![7; refused]).err(),
                    Some(KeysError::MalformedMaterial(spec))
                );
            }
        }
    }

    #[test]
    fn the_algorithm_must_be_the_specs() {
        let key = HmacKey::from_bytes(KeySpec::Hmac256, &[1; 32]).unwrap();
        assert_eq!(
            key.mac(KeySpec::Hmac256, MacAlgorithm::HmacSha512, b"m").err(),
            Some(KeysError::UnsupportedAlgorithm { spec: KeySpec::Hmac256, algorithm: "HMAC_SHA_512" })
        );
        assert!(matches!(
            key.mac(KeySpec::Hmac256, MacAlgorithm::HmacSha256, &[0; 4097]),
            Err(KeysError::InvalidMessage { .. })
        ));
    }
}
