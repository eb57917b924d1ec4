//! Key material under the barrier: its sealing context, its generation on the leader, and the
//! in-memory cache of unwrapped material that exists only while the node is unsealed.

use trent_storage::sealed::WrappedSecret;
use trent_storage::{KeyId, KeyMaterial, KeyMaterialId, RotatedMaterial};

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
/// imported material; the version it holds is kept beside the id, so the material is found by
/// version and a reused version number with other material is another name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaterialName {
    /// Sealed with [`SealContext::KeyMaterial`].
    Version(u32),
    /// Sealed with [`SealContext::IdentifiedMaterial`] (the id alone).
    Id {
        /// The version the material holds in its key.
        version: u32,
        /// The material id.
        id: KeyMaterialId,
    },
}

impl MaterialName {
    /// How `material` was sealed.
    pub fn of(material: &KeyMaterial) -> MaterialName {
        match material.stored_id() {
            Some(id) => MaterialName::Id { version: material.version, id: *id },
            None => MaterialName::Version(material.version),
        }
    }

    /// The version the named material holds in its key.
    pub fn version(&self) -> u32 {
        match self {
            MaterialName::Version(version) | MaterialName::Id { version, .. } => *version,
        }
    }

    /// The barrier context of this material of `key_id`.
    pub fn context<'a>(&'a self, key_id: &'a KeyId) -> SealContext<'a> {
        match self {
            MaterialName::Version(version) => material_context(key_id, *version),
            MaterialName::Id { id, .. } => SealContext::IdentifiedMaterial { key_id, material_id: id },
        }
    }
}

/// AWS's `KeyMaterialId` of `material`: the stored one, or for CreateKey's material (which
/// stores none) a SHA-256 of the key id and version, so every node shows the same id.
pub fn material_id(key_id: &KeyId, material: &KeyMaterial) -> KeyMaterialId {
    if let Some(id) = material.stored_id() {
        return *id;
    }
    let mut input = b"trent/created-key-material-id/v1|".to_vec();
    input.extend_from_slice(key_id.as_bytes());
    input.extend_from_slice(&material.version.to_be_bytes());
    KeyMaterialId(crate::crypto::sha256(&input))
}

/// New 256-bit material for a rotation of `key_id`, with a random id, sealed bound to both.
/// The plaintext is zeroized when this returns.
pub fn generate_rotated(keyring: &Keyring, key_id: &KeyId) -> Result<RotatedMaterial, KeyringError> {
    let mut id = [0u8; 32];
    crate::crypto::fill_random(&mut id).map_err(KeyringError::Crypto)?;
    let id = KeyMaterialId(id);
    let material = SecretKey::generate().map_err(KeyringError::Crypto)?;
    let sealed =
        keyring.wrap(&SealContext::IdentifiedMaterial { key_id, material_id: &id }, material.expose())?;
    Ok(RotatedMaterial { id, sealed })
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
    /// The unwrapped `material` of `key_id` (of `spec`), unwrapping it on a miss with the
    /// context it was sealed with ([`MaterialName`]). Material whose bytes were deleted is
    /// [`KeyringError::Forged`]: it opens nothing.
    pub fn material(
        &self,
        keyring: &Keyring,
        key_id: &KeyId,
        spec: KeySpec,
        material: &KeyMaterial,
    ) -> Result<KeySecret, KeyringError> {
        let name = MaterialName::of(material);
        let sealed = material.sealed().ok_or(KeyringError::Forged)?;
        let context = name.context(key_id);
        self.get_or_unwrap(keyring, &(*key_id, name), &context, sealed, |bytes| {
            KeySecret::from_unwrapped(spec, bytes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use trent_storage::MaterialSource;

    const SYMMETRIC: KeySpec = KeySpec::SymmetricDefault;

    fn rotated(version: u32, material: &RotatedMaterial) -> KeyMaterial {
        KeyMaterial {
            version,
            created_at_ms: 0,
            became_current: None,
            source: MaterialSource::Rotated { id: material.id, sealed: material.sealed.clone() },
        }
    }

    #[test]
    fn material_is_bound_to_its_key_and_version_and_cached_after_first_use() {
        let keyring = Keyring::generate([8; 16]).unwrap();
        let key = KeyId(uuid::Uuid::new_v4());
        let sealed = generate(&keyring, &key, 1).unwrap();
        let cache = MaterialCache::default();
        let first =
            cache.material(&keyring, &key, SYMMETRIC, &KeyMaterial::created(1, sealed.clone(), 0)).unwrap();
        assert_eq!(cache.len(), 1);
        let again = cache.material(&keyring, &key, SYMMETRIC, &KeyMaterial::created(1, sealed.clone(), 0));
        assert_eq!(again.unwrap(), first);

        let other = KeyId(uuid::Uuid::new_v4());
        let moved = cache.material(&keyring, &other, SYMMETRIC, &KeyMaterial::created(1, sealed.clone(), 0));
        assert_eq!(moved.unwrap_err(), KeyringError::Forged);
        let renumbered =
            cache.material(&keyring, &key, SYMMETRIC, &KeyMaterial::created(2, sealed.clone(), 0));
        assert_eq!(renumbered.unwrap_err(), KeyringError::Forged);
        let by_id = RotatedMaterial { id: KeyMaterialId([3; 32]), sealed };
        let by_id = MaterialCache::default().material(&keyring, &key, SYMMETRIC, &rotated(1, &by_id));
        assert_eq!(
            by_id.unwrap_err(),
            KeyringError::Forged,
            "material sealed by version does not open by id"
        );
    }

    #[test]
    fn rotated_material_is_bound_to_its_key_and_material_id_whatever_version_it_becomes() {
        let keyring = Keyring::generate([8; 16]).unwrap();
        let key = KeyId(uuid::Uuid::new_v4());
        let made = generate_rotated(&keyring, &key).unwrap();
        assert_ne!(made.id, generate_rotated(&keyring, &key).unwrap().id);
        let cache = MaterialCache::default();
        let opened = cache.material(&keyring, &key, SYMMETRIC, &rotated(2, &made)).unwrap();
        assert_eq!(
            MaterialCache::default().material(&keyring, &key, SYMMETRIC, &rotated(5, &made)).unwrap(),
            opened
        );

        let other = KeyId(uuid::Uuid::new_v4());
        let moved = MaterialCache::default().material(&keyring, &other, SYMMETRIC, &rotated(2, &made));
        assert_eq!(moved.unwrap_err(), KeyringError::Forged);
        let relabelled = RotatedMaterial { id: KeyMaterialId([1; 32]), ..made.clone() };
        let relabelled =
            MaterialCache::default().material(&keyring, &key, SYMMETRIC, &rotated(2, &relabelled));
        assert_eq!(relabelled.unwrap_err(), KeyringError::Forged);
        // Rotated bytes presented as CreateKey's version 2 do not open either.
        let as_created = KeyMaterial::created(2, made.sealed, 0);
        let as_created = MaterialCache::default().material(&keyring, &key, SYMMETRIC, &as_created);
        assert_eq!(as_created.unwrap_err(), KeyringError::Forged);
    }

    #[test]
    fn material_ids_are_stored_or_derived_from_key_and_version() {
        let keyring = Keyring::generate([8; 16]).unwrap();
        let key = KeyId(uuid::Uuid::from_u128(1));
        let sealed = generate(&keyring, &key, 1).unwrap();
        let first = material_id(&key, &KeyMaterial::created(1, sealed.clone(), 0));
        assert_eq!(first, material_id(&key, &KeyMaterial::created(1, sealed.clone(), 7)));
        assert_ne!(first, material_id(&key, &KeyMaterial::created(2, sealed.clone(), 0)));
        assert_ne!(first, material_id(&KeyId(uuid::Uuid::from_u128(2)), &KeyMaterial::created(1, sealed, 0)));
        let made = generate_rotated(&keyring, &key).unwrap();
        assert_eq!(material_id(&key, &rotated(2, &made)), made.id);
    }
}
