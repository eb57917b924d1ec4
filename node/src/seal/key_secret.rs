//! Unwrapped key material, typed by what it opens to: an AES-256-GCM key for SYMMETRIC_DEFAULT,
//! or, for every other spec (RSA, elliptic curves, Ed25519, ML-DSA, ML-KEM, HMAC), a private key
//! parsed once by `trent_keys` and shared, so a Sign does not re-parse PKCS#8 on every call.
//! Which one a key has follows from its key spec, so a symmetric operation can never be handed
//! an RSA key (or the reverse) by mistake. Both zeroize when dropped and never print.

use std::sync::Arc;

use trent_keys::PrivateKey;
use trent_wire::model::KeySpec;
use zeroize::Zeroizing;

use super::keyring::KeyringError;
use crate::crypto::SecretKey;

/// A key's unwrapped material.
#[derive(Clone)]
pub enum KeySecret {
    /// A 256-bit AES key.
    Symmetric(SecretKey),
    /// The private key (or HMAC key) of any other spec, parsed.
    Private(Arc<PrivateKey>),
}

impl KeySecret {
    /// Reads the unwrapped bytes of a key of `spec`; refuses bytes of the wrong form (forged or
    /// misfiled material).
    pub fn from_unwrapped(spec: KeySpec, bytes: Zeroizing<Vec<u8>>) -> Result<KeySecret, KeyringError> {
        if spec == KeySpec::SymmetricDefault {
            return SecretKey::from_slice(&bytes).map(KeySecret::Symmetric).map_err(|_| KeyringError::Forged);
        }
        PrivateKey::from_material(spec, &bytes).map(|key| KeySecret::Private(Arc::new(key))).map_err(
            |error| {
                tracing::error!(%spec, %error, "unwrapped key material does not parse as its spec");
                KeyringError::Forged
            },
        )
    }

    /// The AES key, if this is symmetric material.
    pub fn symmetric(&self) -> Option<&SecretKey> {
        match self {
            KeySecret::Symmetric(key) => Some(key),
            KeySecret::Private(_) => None,
        }
    }

    /// The private key, if this is material of a spec other than SYMMETRIC_DEFAULT.
    pub fn private(&self) -> Option<&Arc<PrivateKey>> {
        match self {
            KeySecret::Private(key) => Some(key),
            KeySecret::Symmetric(_) => None,
        }
    }
}

impl PartialEq for KeySecret {
    fn eq(&self, other: &KeySecret) -> bool {
        match (self, other) {
            (KeySecret::Symmetric(a), KeySecret::Symmetric(b)) => a == b,
            (KeySecret::Private(a), KeySecret::Private(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl std::fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySecret::Symmetric(_) => f.write_str("KeySecret::Symmetric(..)"),
            KeySecret::Private(key) => write!(f, "KeySecret::Private({})", key.spec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn material_opens_as_its_spec_and_never_prints() {
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
        assert!(hmac.symmetric().is_none());
        assert_eq!(hmac.private().map(|key| key.spec()), Some(KeySpec::Hmac256));
        assert_eq!(format!("{hmac:?}"), "KeySecret::Private(HMAC_256)");
        let p256 = trent_keys::generate(KeySpec::EccNistP256).unwrap();
        assert_eq!(
            KeySecret::from_unwrapped(KeySpec::Rsa2048, p256).unwrap_err(),
            KeyringError::Forged,
            "material of another spec is refused"
        );
    }
}
