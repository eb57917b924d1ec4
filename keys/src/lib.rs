//! Key-spec cryptography for Trent, as pure functions of their inputs over aws-lc-rs: generate
//! private material in its stored form, parse it once into a [`PrivateKey`], and sign, verify,
//! RSA-OAEP encrypt and decrypt, ECDH, ML-KEM encapsulate and decapsulate, and HMAC exactly as
//! AWS KMS defines those operations for each `KeySpec`; and, in [`import`], the unwrapping and
//! the accepted forms of imported key material, `SYMMETRIC_DEFAULT`'s included.
//!
//! Not here: symmetric (`SYMMETRIC_DEFAULT`) encryption, key storage and wrapping under the
//! barrier, key state and usage checks, I/O. Secrets live in zeroizing buffers and never reach an error or `Debug`.
//! The few primitives aws-lc-rs lacks (Ed25519ph, ML-DSA external μ, ML-KEM seeds and DER) are
//! reached through aws-lc-sys in one module, `ffi`, the crate's only `unsafe` code.

mod algorithms;
mod data_key_pair;
mod ecc;
mod ed25519;
mod error;
mod ffi;
mod hmac;
pub mod import;
mod message;
mod ml_dsa;
mod ml_kem;
mod private_key;
mod public_key;
mod rsa;

pub use algorithms::{
    encapsulation_algorithms, encryption_algorithms, key_agreement_algorithms, mac_algorithms,
    signing_algorithms, KeyAlgorithms,
};
pub use data_key_pair::{generate_data_key_pair, key_spec};
pub use error::{KeysError, LengthRule};
pub use message::{message_types, MAX_RAW_MESSAGE_LEN, MU_LEN};
pub use private_key::{generate, PrivateKey};
pub use public_key::PublicKey;
pub use rsa::max_plaintext_len;
