//! Unwrapped key material, typed by key family: what a key's sealed material opens to. Each
//! family holds its secret in its own form, zeroized when dropped and never printed; which one
//! a key has follows from its key spec, so a symmetric operation can never be handed an RSA key
//! (or the reverse) by mistake.

use trent_wire::model::KeySpec;
use zeroize::Zeroizing;

use super::keyring::KeyringError;
use crate::crypto::SecretKey;

/// The families of key material, one per kind of secret a key spec implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyFamily {
    /// AES-256-GCM (`SYMMETRIC_DEFAULT`).
    Symmetric,
    /// HMAC keys (`HMAC_224` … `HMAC_512`).
    Hmac,
    /// RSA private keys (`RSA_2048` … `RSA_4096`).
    Rsa,
    /// Elliptic-curve private keys on the NIST and SECG curves.
    Ec,
    /// Ed25519 private keys.
    Edwards,
    /// ML-DSA private keys (as their seed).
    MlDsa,
    /// ML-KEM decapsulation keys (as their seed): the `ML_KEM_*` specs the post-quantum issue
    /// adds to `KeySpec`.
    MlKem,
}

impl KeyFamily {
    /// The family of a key spec.
    pub fn of(spec: KeySpec) -> KeyFamily {
        match spec {
            KeySpec::SymmetricDefault => KeyFamily::Symmetric,
            KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512 => KeyFamily::Hmac,
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => KeyFamily::Rsa,
            KeySpec::EccNistP256 | KeySpec::EccNistP384 | KeySpec::EccNistP521 | KeySpec::EccSecgP256k1 => {
                KeyFamily::Ec
            }
            KeySpec::EccNistEdwards25519 => KeyFamily::Edwards,
            KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => KeyFamily::MlDsa,
        }
    }
}

/// A key's unwrapped material. Only the symmetric family is generated today; the others are
/// the forms the asymmetric, HMAC and post-quantum specs keep (their key-spec crypto fills them).
#[derive(Clone, PartialEq, Eq)]
pub enum KeySecret {
    /// A 256-bit AES key.
    Symmetric(SecretKey),
    /// An HMAC key of the spec's length.
    Hmac(Zeroizing<Vec<u8>>),
    /// A PKCS#8 DER RSA private key.
    Rsa(Zeroizing<Vec<u8>>),
    /// A PKCS#8 DER EC private key.
    Ec(Zeroizing<Vec<u8>>),
    /// A PKCS#8 DER Ed25519 private key.
    Edwards(Zeroizing<Vec<u8>>),
    /// An ML-DSA seed.
    MlDsa(Zeroizing<Vec<u8>>),
    /// An ML-KEM seed.
    MlKem(Zeroizing<Vec<u8>>),
}

impl KeySecret {
    /// Reads the unwrapped bytes of a key of `spec`; refuses bytes of the wrong form (forged or
    /// misfiled material).
    pub fn from_unwrapped(spec: KeySpec, bytes: Zeroizing<Vec<u8>>) -> Result<KeySecret, KeyringError> {
        Ok(match KeyFamily::of(spec) {
            KeyFamily::Symmetric => {
                KeySecret::Symmetric(SecretKey::from_slice(&bytes).map_err(|_| KeyringError::Forged)?)
            }
            KeyFamily::Hmac => KeySecret::Hmac(bytes),
            KeyFamily::Rsa => KeySecret::Rsa(bytes),
            KeyFamily::Ec => KeySecret::Ec(bytes),
            KeyFamily::Edwards => KeySecret::Edwards(bytes),
            KeyFamily::MlDsa => KeySecret::MlDsa(bytes),
            KeyFamily::MlKem => KeySecret::MlKem(bytes),
        })
    }

    /// Its family.
    pub fn family(&self) -> KeyFamily {
        match self {
            KeySecret::Symmetric(_) => KeyFamily::Symmetric,
            KeySecret::Hmac(_) => KeyFamily::Hmac,
            KeySecret::Rsa(_) => KeyFamily::Rsa,
            KeySecret::Ec(_) => KeyFamily::Ec,
            KeySecret::Edwards(_) => KeyFamily::Edwards,
            KeySecret::MlDsa(_) => KeyFamily::MlDsa,
            KeySecret::MlKem(_) => KeyFamily::MlKem,
        }
    }

    /// The AES key, if this is symmetric material.
    pub fn symmetric(&self) -> Option<&SecretKey> {
        match self {
            KeySecret::Symmetric(key) => Some(key),
            _ => None,
        }
    }

    /// The bytes to seal under the barrier.
    pub fn expose(&self) -> &[u8] {
        match self {
            KeySecret::Symmetric(key) => key.expose(),
            KeySecret::Hmac(bytes)
            | KeySecret::Rsa(bytes)
            | KeySecret::Ec(bytes)
            | KeySecret::Edwards(bytes)
            | KeySecret::MlDsa(bytes)
            | KeySecret::MlKem(bytes) => bytes,
        }
    }
}

impl std::fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeySecret::{:?}(..)", self.family())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn material_opens_as_its_spec_s_family_and_never_prints() {
        let key = SecretKey::generate().unwrap();
        let symmetric =
            KeySecret::from_unwrapped(KeySpec::SymmetricDefault, Zeroizing::new(key.expose().to_vec()))
                .unwrap();
        assert_eq!(symmetric.symmetric(), Some(&key));
        assert_eq!(format!("{symmetric:?}"), "KeySecret::Symmetric(..)");
        let short = Zeroizing::new(vec![1u8; 5]);
        assert_eq!(
            KeySecret::from_unwrapped(KeySpec::SymmetricDefault, short).unwrap_err(),
            KeyringError::Forged
        );
        let hmac = KeySecret::from_unwrapped(KeySpec::Hmac256, Zeroizing::new(vec![2u8; 32])).unwrap();
        assert_eq!((hmac.family(), hmac.symmetric()), (KeyFamily::Hmac, None));
        for spec in KeySpec::ALL {
            let _ = KeyFamily::of(*spec);
        }
    }
}
