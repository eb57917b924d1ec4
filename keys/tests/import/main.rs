//! BYOK import's cryptography (`trent_keys::import`): every wrapping algorithm under every
//! wrapping key spec with every importable key spec, the forms each spec accepts, the refusals,
//! and two implementations that are not ours: Python `cryptography` (wrapping for Trent to
//! open, and opening Trent's wraps) and the `openssl` commands AWS's developer guide gives.
//! Those two are skipped, with a note, where the tool is missing.
//!
//! One test binary, so that the three wrapping keys are generated once for all of it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod forms;
mod interop;
mod refusals;
mod round_trip;

use std::sync::OnceLock;

use trent_keys::{generate, PrivateKey};
use trent_wire::model::{EncryptionAlgorithm, KeySpec, WrappingAlgorithm};
use zeroize::Zeroizing;

/// The wrapping algorithms Trent offers.
pub(crate) const ALGORITHMS: [WrappingAlgorithm; 4] = [
    WrappingAlgorithm::RsaesOaepSha1,
    WrappingAlgorithm::RsaesOaepSha256,
    WrappingAlgorithm::RsaAesKeyWrapSha1,
    WrappingAlgorithm::RsaAesKeyWrapSha256,
];

/// The wrapping key specs, as the key specs of the RSA keys that are the wrapping keys.
pub(crate) const WRAPPING_SPECS: [KeySpec; 3] = [KeySpec::Rsa2048, KeySpec::Rsa3072, KeySpec::Rsa4096];

/// Every key spec whose material can be imported: all but ML-KEM's.
pub(crate) fn importable() -> impl Iterator<Item = KeySpec> {
    KeySpec::ALL
        .iter()
        .copied()
        .filter(|spec| !matches!(spec, KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024))
}

/// A wrapping key pair, as GetParametersForImport makes it.
pub(crate) struct WrappingKey {
    pub(crate) private_key: Zeroizing<Vec<u8>>,
    pub(crate) public_key: Vec<u8>,
}

/// The wrapping key of each spec, generated once (RSA-4096 generation is slow); their private
/// keys double as the RSA materials to import.
pub(crate) fn wrapping_key(spec: KeySpec) -> &'static WrappingKey {
    static KEYS: [OnceLock<WrappingKey>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let index = WRAPPING_SPECS.iter().position(|&s| s == spec).unwrap();
    KEYS[index].get_or_init(|| {
        let private_key = generate(spec).unwrap();
        let public_key =
            PrivateKey::from_material(spec, &private_key).unwrap().public_key_der().unwrap().to_vec();
        WrappingKey { private_key, public_key }
    })
}

/// Material of `spec` in its stored form.
pub(crate) fn material(spec: KeySpec) -> Zeroizing<Vec<u8>> {
    match spec {
        KeySpec::SymmetricDefault => Zeroizing::new((0..32).collect()),
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => wrapping_key(spec).private_key.clone(),
        _ => generate(spec).unwrap(),
    }
}

/// The RSAES-OAEP parameters an algorithm wraps (the material or the AES key) under.
pub(crate) fn oaep_of(algorithm: WrappingAlgorithm) -> EncryptionAlgorithm {
    match algorithm {
        WrappingAlgorithm::RsaesOaepSha1 | WrappingAlgorithm::RsaAesKeyWrapSha1 => {
            EncryptionAlgorithm::RsaesOaepSha1
        }
        _ => EncryptionAlgorithm::RsaesOaepSha256,
    }
}

/// Whether the algorithm is OAEP alone, without an AES key wrap.
pub(crate) fn is_oaep_only(algorithm: WrappingAlgorithm) -> bool {
    matches!(algorithm, WrappingAlgorithm::RsaesOaepSha1 | WrappingAlgorithm::RsaesOaepSha256)
}

/// The modulus length in bytes of a wrapping key spec: every OAEP ciphertext's length.
pub(crate) fn modulus_len(spec: KeySpec) -> usize {
    match spec {
        KeySpec::Rsa2048 => 256,
        KeySpec::Rsa3072 => 384,
        _ => 512,
    }
}
