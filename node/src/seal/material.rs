//! Key material under the barrier: its sealing context, its generation on the leader, and the
//! in-memory cache of unwrapped material that exists only while the node is unsealed.

use trent_storage::sealed::WrappedSecret;
use trent_storage::KeyId;

use super::keyring::{Keyring, KeyringError};
use super::unwrap_cache::UnwrapCache;
use crate::crypto::SecretKey;

/// The barrier context a material version is sealed with: it cannot be moved to another key or
/// version.
pub fn material_context(key_id: &KeyId, version: u32) -> Vec<u8> {
    let mut context = b"key-material|".to_vec();
    context.extend_from_slice(key_id.as_bytes());
    context.extend_from_slice(&version.to_be_bytes());
    context
}

/// Generates a new 256-bit material version and seals it under `keyring`.
pub fn generate(keyring: &Keyring, key_id: &KeyId, version: u32) -> Result<WrappedSecret, KeyringError> {
    let material = SecretKey::generate().map_err(KeyringError::Crypto)?;
    keyring.wrap(&material_context(key_id, version), material.expose())
}

/// Unwrapped material by (key, version), zeroized when evicted or dropped.
pub type MaterialCache = UnwrapCache<(KeyId, u32), SecretKey>;

impl MaterialCache {
    /// The unwrapped material of `key_id` version `version`, unwrapping `sealed` on a miss.
    pub fn material(
        &self,
        keyring: &Keyring,
        key_id: &KeyId,
        version: u32,
        sealed: &WrappedSecret,
    ) -> Result<SecretKey, KeyringError> {
        let context = material_context(key_id, version);
        self.get_or_unwrap(keyring, &(*key_id, version), &context, sealed, |bytes| {
            SecretKey::from_slice(&bytes).map_err(|_| KeyringError::Forged)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn material_is_bound_to_its_key_and_version_and_cached_after_first_use() {
        let keyring = Keyring::generate([8; 16]).unwrap();
        let key = KeyId(uuid::Uuid::new_v4());
        let sealed = generate(&keyring, &key, 1).unwrap();
        let cache = MaterialCache::default();
        let first = cache.material(&keyring, &key, 1, &sealed).unwrap();
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.material(&keyring, &key, 1, &sealed).unwrap(), first);

        let other = KeyId(uuid::Uuid::new_v4());
        assert_eq!(cache.material(&keyring, &other, 1, &sealed).unwrap_err(), KeyringError::Forged);
        assert_eq!(cache.material(&keyring, &key, 2, &sealed).unwrap_err(), KeyringError::Forged);
    }
}
