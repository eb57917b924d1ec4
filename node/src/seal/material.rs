//! Key material under the barrier: its sealing context, its generation on the leader, and the
//! in-memory cache of unwrapped material that exists only while the node is unsealed.

use trent_storage::sealed::WrappedSecret;
use trent_storage::{KeyId, KeyMaterial, KeyMaterialId};

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

/// What names a material version in its seal context: its version number (material made by
/// CreateKey, and every version stored before format 3), or its material id (rotated and
/// imported material).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaterialName {
    /// Sealed with [`SealContext::KeyMaterial`].
    Version(u32),
    /// Sealed with [`SealContext::IdentifiedMaterial`].
    Id(KeyMaterialId),
}

impl MaterialName {
    /// How `material` was sealed.
    pub fn of(material: &KeyMaterial) -> MaterialName {
        match material.stored_id() {
            Some(id) => MaterialName::Id(*id),
            None => MaterialName::Version(material.version),
        }
    }

    /// The barrier context of this material of `key_id`.
    pub fn context<'a>(&'a self, key_id: &'a KeyId) -> SealContext<'a> {
        match self {
            MaterialName::Version(version) => material_context(key_id, *version),
            MaterialName::Id(material_id) => SealContext::IdentifiedMaterial { key_id, material_id },
        }
    }
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

/// Unwrapped material by (key, name), zeroized when evicted or dropped. Imported material
/// pending rotation can be deleted and other material take its version number: it has
/// another id, so another entry.
pub type MaterialCache = UnwrapCache<(KeyId, MaterialName), KeySecret>;

impl MaterialCache {
    /// The unwrapped material of `key_id` (of `spec`) named `name`, unwrapping `sealed` on a
    /// miss.
    pub fn material(
        &self,
        keyring: &Keyring,
        key_id: &KeyId,
        spec: KeySpec,
        name: MaterialName,
        sealed: &WrappedSecret,
    ) -> Result<KeySecret, KeyringError> {
        let context = name.context(key_id);
        self.get_or_unwrap(keyring, &(*key_id, name), &context, sealed, |bytes| {
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
        let v1 = MaterialName::Version(1);
        let first = cache.material(&keyring, &key, KeySpec::SymmetricDefault, v1, &sealed).unwrap();
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.material(&keyring, &key, KeySpec::SymmetricDefault, v1, &sealed).unwrap(), first);

        let other = KeyId(uuid::Uuid::new_v4());
        assert_eq!(
            cache.material(&keyring, &other, KeySpec::SymmetricDefault, v1, &sealed).unwrap_err(),
            KeyringError::Forged
        );
        assert_eq!(
            cache
                .material(&keyring, &key, KeySpec::SymmetricDefault, MaterialName::Version(2), &sealed)
                .unwrap_err(),
            KeyringError::Forged
        );
        let by_id = MaterialName::Id(KeyMaterialId([3; 32]));
        assert_eq!(
            cache.material(&keyring, &key, KeySpec::SymmetricDefault, by_id, &sealed).unwrap_err(),
            KeyringError::Forged,
            "material sealed by version does not open by id"
        );
    }
}
