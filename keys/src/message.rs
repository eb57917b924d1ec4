//! What a Sign or Verify message is, checked once before any key sees it: the algorithm belongs
//! to the key's spec, the message type belongs to the algorithm, and the length fits the type.

use aws_lc_rs::digest::{self, Digest};
use trent_wire::model::{KeySpec, MessageType, SigningAlgorithm};

use crate::algorithms::{require, signing_algorithms};
use crate::error::{KeysError, LengthRule};

/// The longest `RAW` message AWS signs (and the longest message it MACs).
pub const MAX_RAW_MESSAGE_LEN: usize = 4096;

/// The length of the ML-DSA message representative μ (FIPS 204).
pub const MU_LEN: usize = 64;

/// The length rule for a raw message.
pub(crate) const RAW_MESSAGE: LengthRule = LengthRule::Between(1, MAX_RAW_MESSAGE_LEN);

/// A checked message, in the form its algorithm consumes.
pub(crate) enum SigningInput<'a> {
    /// The message itself, hashed by the algorithm.
    Raw(&'a [u8]),
    /// A digest of the algorithm's hash, used as is.
    Digest(Digest),
    /// The ML-DSA μ, signed without hashing.
    Mu(&'a [u8; MU_LEN]),
}

/// Checks `message` of `message_type` for `algorithm` on a key of `spec`.
pub(crate) fn signing_input(
    spec: KeySpec,
    algorithm: SigningAlgorithm,
    message_type: MessageType,
    message: &[u8],
) -> Result<SigningInput<'_>, KeysError> {
    require(spec, signing_algorithms(spec), algorithm, SigningAlgorithm::as_str)?;
    let refused = KeysError::UnsupportedMessageType {
        algorithm: algorithm.as_str(),
        message_type: message_type.as_str(),
    };
    if !message_types(algorithm).contains(&message_type) {
        return Err(refused);
    }
    match message_type {
        MessageType::Raw => {
            check_length(RAW_MESSAGE, message)?;
            Ok(SigningInput::Raw(message))
        }
        MessageType::Digest => {
            let hash = digest_algorithm(algorithm).ok_or(refused)?;
            check_length(LengthRule::Exactly(hash.output_len()), message)?;
            if algorithm == SigningAlgorithm::Ed25519PhSha512 {
                // AWS: with ED25519_PH_SHA_512 and DIGEST, KMS "still performs the SHA-512
                // prehash" of FIPS 186-5 §7.8.1: the caller's digest is hashed once more, and
                // that is the prehash Ed25519ph signs.
                return Ok(SigningInput::Digest(aws_lc_rs::digest::digest(hash, message)));
            }
            Ok(SigningInput::Digest(Digest::import_less_safe(message, hash)?))
        }
        MessageType::ExternalMu => {
            let mu = message.try_into().map_err(|_| KeysError::InvalidMessage {
                expected: LengthRule::Exactly(MU_LEN),
                actual: message.len(),
            })?;
            Ok(SigningInput::Mu(mu))
        }
    }
}

/// Refuses a message whose length breaks `rule`.
pub(crate) fn check_length(rule: LengthRule, message: &[u8]) -> Result<(), KeysError> {
    if rule.admits(message.len()) {
        Ok(())
    } else {
        Err(KeysError::InvalidMessage { expected: rule, actual: message.len() })
    }
}

/// The message types `algorithm` accepts, as AWS documents them.
pub fn message_types(algorithm: SigningAlgorithm) -> &'static [MessageType] {
    match algorithm {
        SigningAlgorithm::Ed25519Sha512 => &[MessageType::Raw],
        SigningAlgorithm::Ed25519PhSha512 => &[MessageType::Digest],
        SigningAlgorithm::MlDsaShake256 => &[MessageType::Raw, MessageType::ExternalMu],
        _ => &[MessageType::Raw, MessageType::Digest],
    }
}

/// The hash whose digest a `DIGEST` message of `algorithm` is.
fn digest_algorithm(algorithm: SigningAlgorithm) -> Option<&'static digest::Algorithm> {
    use SigningAlgorithm::*;
    match algorithm {
        RsassaPssSha256 | RsassaPkcs1V15Sha256 | EcdsaSha256 => Some(&digest::SHA256),
        RsassaPssSha384 | RsassaPkcs1V15Sha384 | EcdsaSha384 => Some(&digest::SHA384),
        RsassaPssSha512 | RsassaPkcs1V15Sha512 | EcdsaSha512 | Ed25519PhSha512 => Some(&digest::SHA512),
        Ed25519Sha512 | MlDsaShake256 => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(
        spec: KeySpec,
        algorithm: SigningAlgorithm,
        message_type: MessageType,
        message: &[u8],
    ) -> KeysError {
        match signing_input(spec, algorithm, message_type, message) {
            Ok(_) => panic!("accepted"),
            Err(error) => error,
        }
    }

    #[test]
    fn a_digest_must_have_the_hash_length() {
        assert!(signing_input(
            KeySpec::EccNistP384,
            SigningAlgorithm::EcdsaSha384,
            MessageType::Digest,
            &[0; 48]
        )
        .is_ok());
        assert_eq!(
            error(KeySpec::EccNistP384, SigningAlgorithm::EcdsaSha384, MessageType::Digest, &[0; 32]),
            KeysError::InvalidMessage { expected: LengthRule::Exactly(48), actual: 32 }
        );
    }

    #[test]
    fn a_raw_message_is_one_to_4096_bytes() {
        let spec = KeySpec::Rsa2048;
        let algorithm = SigningAlgorithm::RsassaPssSha256;
        assert!(signing_input(spec, algorithm, MessageType::Raw, &[0; 4096]).is_ok());
        assert!(matches!(
            error(spec, algorithm, MessageType::Raw, &[0; 4097]),
            KeysError::InvalidMessage { .. }
        ));
        assert!(matches!(error(spec, algorithm, MessageType::Raw, &[]), KeysError::InvalidMessage { .. }));
    }

    #[test]
    fn external_mu_is_64_bytes_and_only_for_ml_dsa() {
        let spec = KeySpec::MlDsa65;
        assert!(
            signing_input(spec, SigningAlgorithm::MlDsaShake256, MessageType::ExternalMu, &[0; 64]).is_ok()
        );
        assert!(matches!(
            error(spec, SigningAlgorithm::MlDsaShake256, MessageType::ExternalMu, &[0; 63]),
            KeysError::InvalidMessage { .. }
        ));
        assert!(matches!(
            error(spec, SigningAlgorithm::MlDsaShake256, MessageType::Digest, &[0; 64]),
            KeysError::UnsupportedMessageType { .. }
        ));
        assert!(matches!(
            error(KeySpec::EccNistP256, SigningAlgorithm::EcdsaSha256, MessageType::ExternalMu, &[0; 64]),
            KeysError::UnsupportedMessageType { .. }
        ));
    }

    #[test]
    fn ed25519_takes_raw_and_ed25519ph_takes_a_sha512_digest() {
        let spec = KeySpec::EccNistEdwards25519;
        assert!(matches!(
            error(spec, SigningAlgorithm::Ed25519Sha512, MessageType::Digest, &[0; 64]),
            KeysError::UnsupportedMessageType { .. }
        ));
        assert!(matches!(
            error(spec, SigningAlgorithm::Ed25519PhSha512, MessageType::Raw, b"abc"),
            KeysError::UnsupportedMessageType { .. }
        ));
        assert!(signing_input(spec, SigningAlgorithm::Ed25519PhSha512, MessageType::Digest, &[0; 64]).is_ok());
    }

    #[test]
    fn an_algorithm_of_another_spec_is_refused() {
        assert_eq!(
            error(KeySpec::EccNistP256, SigningAlgorithm::EcdsaSha384, MessageType::Raw, b"m"),
            KeysError::UnsupportedAlgorithm { spec: KeySpec::EccNistP256, algorithm: "ECDSA_SHA_384" }
        );
        assert!(matches!(
            error(KeySpec::Hmac256, SigningAlgorithm::EcdsaSha256, MessageType::Raw, b"m"),
            KeysError::UnsupportedAlgorithm { .. }
        ));
    }
}
