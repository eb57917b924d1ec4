//! Key material under the barrier: its sealing context, its generation on the leader, and the
//! in-memory cache of unwrapped material that exists only while the node is unsealed.

use trent_storage::sealed::WrappedSecret;
use trent_storage::KeyId;

use trent_wire::model::KeySpec;

use super::key_secret::KeySecret;
use super::keyring::{Keyring, KeyringError, SealContext};
use super::unwrap_cache::UnwrapCache;
use crate::crypto::SecretKey;

/// The barrier context a material version is sealed with: it cannot be moved to another key or
/// version.
pub fn material_context(key_id: &KeyId, version: u32) -> SealContext<'_> {
    SealContext::KeyMaterial { key_id, version }
}

/// Generates a new 256-bit symmetric material version and seals it under `keyring`.
pub fn generate(keyring: &Keyring, key_id: &KeyId, version: u32) -> Result<WrappedSecret, KeyringError> {
    let material = SecretKey::generate().map_err(KeyringError::Crypto)?;
    keyring.wrap(&material_context(key_id, version), material.expose())
}

/// Seals material of a spec other than SYMMETRIC_DEFAULT (made by [`generate_private`] off the
/// async runtime) under `keyring`.
pub fn seal_private(
    keyring: &Keyring,
    key_id: &KeyId,
    version: u32,
    material: &[u8],
) -> Result<WrappedSecret, KeyringError> {
    keyring.wrap(&material_context(key_id, version), material)
}

/// New private material of `spec` (anything but SYMMETRIC_DEFAULT), in the form `trent_keys`
/// stores. An RSA-4096 key takes a second or more: call it on a blocking thread.
pub fn generate_private(spec: KeySpec) -> Result<zeroize::Zeroizing<Vec<u8>>, trent_keys::KeysError> {
    trent_keys::generate(spec)
}

/// Unwrapped material by (key, version), zeroized when evicted or dropped.
pub type MaterialCache = UnwrapCache<(KeyId, u32), KeySecret>;

impl MaterialCache {
    /// The unwrapped material of `key_id` (of `spec`) version `version`, unwrapping `sealed` on a
    /// miss.
    pub fn material(
        &self,
        keyring: &Keyring,
        key_id: &KeyId,
        spec: KeySpec,
        version: u32,
        sealed: &WrappedSecret,
    ) -> Result<KeySecret, KeyringError> {
        let context = material_context(key_id, version);
        self.get_or_unwrap(keyring, &(*key_id, version), &context, sealed, |bytes| {
            KeySecret::from_unwrapped(spec, bytes)
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
        let first = cache.material(&keyring, &key, KeySpec::SymmetricDefault, 1, &sealed).unwrap();
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.material(&keyring, &key, KeySpec::SymmetricDefault, 1, &sealed).unwrap(), first);

        let other = KeyId(uuid::Uuid::new_v4());
        assert_eq!(
            cache.material(&keyring, &other, KeySpec::SymmetricDefault, 1, &sealed).unwrap_err(),
            KeyringError::Forged
        );
        assert_eq!(
            cache.material(&keyring, &key, KeySpec::SymmetricDefault, 2, &sealed).unwrap_err(),
            KeyringError::Forged
        );
    }
}
