//! What can go wrong in key-spec cryptography. Every variant names the rule that was broken;
//! none carries key material, plaintext or a shared secret.

use std::fmt;

use trent_wire::model::KeySpec;

/// A failed key-spec operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    /// The key spec has no asymmetric or HMAC material here (`SYMMETRIC_DEFAULT`), or the
    /// operation does not exist for it.
    #[error("key spec {0} is not supported by this operation")]
    UnsupportedSpec(KeySpec),
    /// The algorithm is not one a key of this spec uses.
    #[error("algorithm {algorithm} is not valid for key spec {spec}")]
    UnsupportedAlgorithm {
        /// The key's spec.
        spec: KeySpec,
        /// The algorithm asked for, as AWS spells it.
        algorithm: &'static str,
    },
    /// The message type is not one this signing algorithm accepts (e.g. `ED25519_SHA_512`
    /// with `DIGEST`).
    #[error("message type {message_type} is not valid for signing algorithm {algorithm}")]
    UnsupportedMessageType {
        /// The signing algorithm, as AWS spells it.
        algorithm: &'static str,
        /// The message type, as AWS spells it.
        message_type: &'static str,
    },
    /// The message has the wrong length for its type.
    #[error("the message must be {expected} bytes long, not {actual}")]
    InvalidMessage {
        /// The length the message type requires.
        expected: LengthRule,
        /// The message's length.
        actual: usize,
    },
    /// A public key that is not a DER SubjectPublicKeyInfo of the expected kind (wrong key type,
    /// wrong curve or size, an invalid point, trailing bytes).
    #[error("the public key is not a valid DER SubjectPublicKeyInfo for this key spec")]
    InvalidPublicKey,
    /// A ciphertext that does not decrypt or decapsulate under this key.
    #[error("the ciphertext is not valid for this key")]
    InvalidCiphertext,
    /// A plaintext longer than the algorithm can encrypt under this key.
    #[error("the plaintext is {actual} bytes; at most {max} fit this key and algorithm")]
    PlaintextTooLong {
        /// The longest plaintext the key and algorithm accept.
        max: usize,
        /// The plaintext's length.
        actual: usize,
    },
    /// Stored key material that does not read as a key of its spec.
    #[error("the key material is not a valid {0} key")]
    MalformedMaterial(KeySpec),
    /// The cryptographic library failed where valid inputs should not fail.
    #[error("the cryptographic operation failed")]
    Crypto,
}

/// A length a message must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthRule {
    /// Exactly this many bytes (a digest, μ).
    Exactly(usize),
    /// Between these two lengths, inclusive (a raw message).
    Between(usize, usize),
}

impl LengthRule {
    /// Whether `length` obeys the rule.
    pub fn admits(self, length: usize) -> bool {
        match self {
            LengthRule::Exactly(expected) => length == expected,
            LengthRule::Between(min, max) => (min..=max).contains(&length),
        }
    }
}

impl fmt::Display for LengthRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LengthRule::Exactly(expected) => write!(f, "exactly {expected}"),
            LengthRule::Between(min, max) => write!(f, "{min} to {max}"),
        }
    }
}

/// aws-lc-rs reports failures as `Unspecified`; where inputs were already checked, that is an
/// internal failure.
impl From<aws_lc_rs::error::Unspecified> for KeysError {
    fn from(_: aws_lc_rs::error::Unspecified) -> KeysError {
        KeysError::Crypto
    }
}
