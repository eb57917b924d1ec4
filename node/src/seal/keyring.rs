//! The barrier: versioned barrier keys that seal every secret the cluster stores, themselves
//! sealed under the root key.
//!
//! A [`Keyring`] exists only in memory on an unsealed node. Sealing a secret binds the barrier
//! version and a caller-chosen context (for key material: key id and material version) as
//! associated data, so a sealed blob cannot be moved to another key or version. Rotation adds a
//! version and seals new secrets with it; old versions keep opening what they sealed.

use std::collections::BTreeMap;

use trent_storage::sealed::{SealedKeyring, WrappedBarrierKey, WrappedSecret};
use zeroize::Zeroizing;

use super::shares::ClusterId;
use crate::crypto::{aead_open, aead_seal, CryptoError, SecretKey};

/// Why the keyring could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    /// The root key does not open this keyring (wrong shares, or another cluster's keyring).
    #[error("the root key does not open this cluster's keyring")]
    WrongRoot,
    /// A secret names a barrier version the keyring does not have.
    #[error("barrier key version {0} is unknown")]
    UnknownVersion(u32),
    /// A sealed secret is malformed, forged or bound to another context.
    #[error("a sealed secret failed to open")]
    Forged,
    /// The keyring holds no key at all (corrupt state).
    #[error("the keyring is empty")]
    Empty,
    /// The random source or cipher failed.
    #[error("{0}")]
    Crypto(CryptoError),
}

/// The unsealed keyring: every barrier key version, in memory only, zeroized on drop.
pub struct Keyring {
    cluster_id: ClusterId,
    keys: BTreeMap<u32, SecretKey>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("versions", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// What a secret sealed under the barrier is, bound into its associated data: a secret sealed as
/// one kind, for one key, version or access key, opens as nothing else. Every kind has its own
/// domain tag ending in `|`; a new kind of secret adds a variant with a new tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealContext<'a> {
    /// A version of a key's material: `key-material|`, the key id, the version.
    KeyMaterial {
        /// The key.
        key_id: &'a trent_storage::KeyId,
        /// The material version.
        version: u32,
    },
    /// A material version with an id of its own (rotated or imported material):
    /// `key-material-id|`, the key id, the material id. Deleting and importing it again
    /// gives the same version the same context.
    IdentifiedMaterial {
        /// The key.
        key_id: &'a trent_storage::KeyId,
        /// The material id.
        material_id: &'a trent_storage::KeyMaterialId,
    },
    /// The wrapping private key of one GetParametersForImport: `import-wrapping-key|`, the key
    /// id, the token id.
    ImportWrappingKey {
        /// The key the parameters are for.
        key_id: &'a trent_storage::KeyId,
        /// The token id.
        token_id: &'a trent_storage::ImportTokenId,
    },
    /// An access key's secret: the access key id alone, as the first builds sealed it. It
    /// cannot collide with a tagged kind: access key ids are letters, digits and underscores,
    /// never `|`.
    AccessKeySecret {
        /// The access key.
        access_key_id: &'a str,
    },
}

impl SealContext<'_> {
    /// The bytes bound into the associated data.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            SealContext::KeyMaterial { key_id, version } => {
                let mut context = b"key-material|".to_vec();
                context.extend_from_slice(key_id.as_bytes());
                context.extend_from_slice(&version.to_be_bytes());
                context
            }
            SealContext::IdentifiedMaterial { key_id, material_id } => {
                let mut context = b"key-material-id|".to_vec();
                context.extend_from_slice(key_id.as_bytes());
                context.extend_from_slice(&material_id.0);
                context
            }
            SealContext::ImportWrappingKey { key_id, token_id } => {
                let mut context = b"import-wrapping-key|".to_vec();
                context.extend_from_slice(key_id.as_bytes());
                context.extend_from_slice(&token_id.0);
                context
            }
            SealContext::AccessKeySecret { access_key_id } => access_key_id.as_bytes().to_vec(),
        }
    }
}

fn keyring_aad(cluster_id: &ClusterId, version: u32) -> Vec<u8> {
    let mut aad = b"trent/keyring/v1|".to_vec();
    aad.extend_from_slice(cluster_id);
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

fn barrier_aad(cluster_id: &ClusterId, version: u32, context: &[u8]) -> Vec<u8> {
    let mut aad = b"trent/barrier/v1|".to_vec();
    aad.extend_from_slice(cluster_id);
    aad.extend_from_slice(&version.to_be_bytes());
    aad.extend_from_slice(context);
    aad
}

impl Keyring {
    /// A new keyring with barrier key version 1.
    pub fn generate(cluster_id: ClusterId) -> Result<Keyring, KeyringError> {
        let first = SecretKey::generate().map_err(KeyringError::Crypto)?;
        Ok(Keyring { cluster_id, keys: BTreeMap::from([(1, first)]) })
    }

    /// The cluster this keyring belongs to.
    pub fn cluster_id(&self) -> ClusterId {
        self.cluster_id
    }

    /// The version new secrets are sealed with.
    pub fn current_version(&self) -> u32 {
        self.keys.keys().next_back().copied().unwrap_or(0)
    }

    /// The seed of the cluster's audit signing key: derived from the oldest barrier key (which
    /// rotation never removes), so every unsealed member derives the same key, it changes only
    /// with the cluster, and it exists only where the keyring does. A key of its own, made at
    /// init and sealed, would have needed a new replicated record and a new format; this one
    /// works unchanged for a cluster initialised by an older build.
    pub fn audit_seed(&self) -> Result<zeroize::Zeroizing<[u8; 32]>, KeyringError> {
        let (_, oldest) = self.keys.iter().next().ok_or(KeyringError::Empty)?;
        let mut salt = b"trent/audit/v1|".to_vec();
        salt.extend_from_slice(&self.cluster_id);
        let derived = crate::crypto::hkdf_sha256(oldest.expose(), &salt, &[b"audit signing seed"])
            .map_err(KeyringError::Crypto)?;
        Ok(zeroize::Zeroizing::new(*derived.expose()))
    }

    /// Adds a new barrier key version and makes it current; returns it.
    pub fn rotate(&mut self) -> Result<u32, KeyringError> {
        let version = self.current_version() + 1;
        self.keys.insert(version, SecretKey::generate().map_err(KeyringError::Crypto)?);
        Ok(version)
    }

    /// Every version sealed under `root`, for the replicated state.
    pub fn seal(&self, root: &SecretKey) -> Result<SealedKeyring, KeyringError> {
        let mut keys = Vec::with_capacity(self.keys.len());
        for (version, key) in &self.keys {
            let sealed = aead_seal(root, &keyring_aad(&self.cluster_id, *version), key.expose())
                .map_err(KeyringError::Crypto)?;
            keys.push(WrappedBarrierKey { version: *version, sealed });
        }
        Ok(SealedKeyring { cluster_id: self.cluster_id, keys })
    }

    /// Opens a sealed keyring with the root key.
    pub fn open(sealed: &SealedKeyring, root: &SecretKey) -> Result<Keyring, KeyringError> {
        if sealed.keys.is_empty() {
            return Err(KeyringError::Empty);
        }
        let mut keys = BTreeMap::new();
        for wrapped in &sealed.keys {
            let bytes = aead_open(root, &keyring_aad(&sealed.cluster_id, wrapped.version), &wrapped.sealed)
                .map_err(|_| KeyringError::WrongRoot)?;
            let key = SecretKey::from_slice(&bytes).map_err(|_| KeyringError::WrongRoot)?;
            keys.insert(wrapped.version, key);
        }
        Ok(Keyring { cluster_id: sealed.cluster_id, keys })
    }

    /// Seals `secret` under the current barrier key, bound to `context`.
    pub fn wrap(&self, context: &SealContext<'_>, secret: &[u8]) -> Result<WrappedSecret, KeyringError> {
        let version = self.current_version();
        let key = self.keys.get(&version).ok_or(KeyringError::Empty)?;
        let sealed = aead_seal(key, &barrier_aad(&self.cluster_id, version, &context.bytes()), secret)
            .map_err(KeyringError::Crypto)?;
        Ok(WrappedSecret { barrier_version: version, sealed })
    }

    /// The id of imported material of `key_id`: HMAC-SHA-256 of the key id and the material
    /// (in its canonical form) under a key derived from the first barrier key, which no keyring
    /// rotation removes. The same material imported into the same key always gets the same id,
    /// which is how ImportKeyMaterial recognises material the key had (even once its sealed
    /// bytes are deleted); the id reveals nothing of the material to whoever lacks the barrier.
    pub fn imported_material_id(
        &self,
        key_id: &trent_storage::KeyId,
        material: &[u8],
    ) -> Result<trent_storage::KeyMaterialId, KeyringError> {
        let (_, first) = self.keys.first_key_value().ok_or(KeyringError::Empty)?;
        let derived = crate::crypto::hkdf_sha256(
            first.expose(),
            &self.cluster_id,
            &[b"trent/imported-material-id/v1|"],
        )
        .map_err(KeyringError::Crypto)?;
        let mut data = Zeroizing::new(Vec::with_capacity(16 + material.len()));
        data.extend_from_slice(key_id.as_bytes());
        data.extend_from_slice(material);
        Ok(trent_storage::KeyMaterialId(crate::crypto::hmac_sha256(derived.expose(), &data)))
    }

    /// Opens a secret sealed by [`Keyring::wrap`] with the same `context`.
    pub fn unwrap(
        &self,
        context: &SealContext<'_>,
        wrapped: &WrappedSecret,
    ) -> Result<Zeroizing<Vec<u8>>, KeyringError> {
        let key = self
            .keys
            .get(&wrapped.barrier_version)
            .ok_or(KeyringError::UnknownVersion(wrapped.barrier_version))?;
        aead_open(
            key,
            &barrier_aad(&self.cluster_id, wrapped.barrier_version, &context.bytes()),
            &wrapped.sealed,
        )
        .map_err(|_| KeyringError::Forged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_keyring_opens_only_with_its_root_key() {
        let root = SecretKey::generate().unwrap();
        let keyring = Keyring::generate([4; 16]).unwrap();
        let sealed = keyring.seal(&root).unwrap();
        let reopened = Keyring::open(&sealed, &root).unwrap();
        let context = SealContext::AccessKeySecret { access_key_id: "AKIDONE" };
        let secret = keyring.wrap(&context, b"material").unwrap();
        assert_eq!(reopened.unwrap(&context, &secret).unwrap().as_slice(), b"material");

        let wrong = SecretKey::generate().unwrap();
        assert_eq!(Keyring::open(&sealed, &wrong).unwrap_err(), KeyringError::WrongRoot);
        let mut moved = sealed.clone();
        moved.cluster_id = [5; 16];
        assert_eq!(Keyring::open(&moved, &root).unwrap_err(), KeyringError::WrongRoot);
    }

    #[test]
    fn secrets_are_bound_to_their_context_and_version() {
        let keyring = Keyring::generate([1; 16]).unwrap();
        let (one, two) =
            (trent_storage::KeyId(uuid::Uuid::from_u128(1)), trent_storage::KeyId(uuid::Uuid::from_u128(2)));
        let key_1_v1 = SealContext::KeyMaterial { key_id: &one, version: 1 };
        let secret = keyring.wrap(&key_1_v1, b"material").unwrap();
        assert_eq!(
            keyring.unwrap(&SealContext::KeyMaterial { key_id: &two, version: 1 }, &secret).unwrap_err(),
            KeyringError::Forged
        );
        assert_eq!(
            keyring.unwrap(&SealContext::KeyMaterial { key_id: &one, version: 2 }, &secret).unwrap_err(),
            KeyringError::Forged
        );
        let mut relabelled = secret.clone();
        relabelled.barrier_version = 2;
        assert_eq!(keyring.unwrap(&key_1_v1, &relabelled).unwrap_err(), KeyringError::UnknownVersion(2));
        let mut forged = secret;
        forged.sealed[20] ^= 0x40;
        assert_eq!(keyring.unwrap(&key_1_v1, &forged).unwrap_err(), KeyringError::Forged);
    }

    #[test]
    fn rotation_seals_new_secrets_with_the_new_version_and_old_ones_still_open() {
        let root = SecretKey::generate().unwrap();
        let mut keyring = Keyring::generate([2; 16]).unwrap();
        let ctx = SealContext::AccessKeySecret { access_key_id: "TRNTROTATION" };
        let old = keyring.wrap(&ctx, b"old secret").unwrap();
        assert_eq!(keyring.rotate().unwrap(), 2);
        let new = keyring.wrap(&ctx, b"new secret").unwrap();
        assert_eq!((old.barrier_version, new.barrier_version), (1, 2));

        let reopened = Keyring::open(&keyring.seal(&root).unwrap(), &root).unwrap();
        assert_eq!(reopened.current_version(), 2);
        assert_eq!(reopened.unwrap(&ctx, &old).unwrap().as_slice(), b"old secret");
        assert_eq!(reopened.unwrap(&ctx, &new).unwrap().as_slice(), b"new secret");
    }

    #[test]
    fn each_kind_of_secret_has_its_own_context_and_they_cannot_collide() {
        let key_id = trent_storage::KeyId(uuid::Uuid::from_u128(7));
        let material = SealContext::KeyMaterial { key_id: &key_id, version: 3 }.bytes();
        assert!(material.starts_with(b"key-material|"));
        // The bytes the first builds bound: every sealed secret stored by them still opens.
        assert_eq!(material[13..29], *key_id.as_bytes());
        assert_eq!(material[29..], 3u32.to_be_bytes());
        assert_eq!(SealContext::AccessKeySecret { access_key_id: "TRNTABC" }.bytes(), b"TRNTABC");
        let keyring = Keyring::generate([4; 16]).unwrap();
        let as_material =
            keyring.wrap(&SealContext::KeyMaterial { key_id: &key_id, version: 3 }, b"x").unwrap();
        let as_access_key = SealContext::AccessKeySecret { access_key_id: "key_material" };
        assert_eq!(keyring.unwrap(&as_access_key, &as_material).unwrap_err(), KeyringError::Forged);
    }

    #[test]
    fn the_keyring_never_prints_keys() {
        let keyring = Keyring::generate([3; 16]).unwrap();
        assert_eq!(format!("{keyring:?}"), "Keyring { versions: [1], .. }");
    }

    #[test]
    fn imported_material_ids_outlive_barrier_rotation_and_bind_key_material_and_cluster() {
        let mut keyring = Keyring::generate([4; 16]).unwrap();
        let key = trent_storage::KeyId(uuid::Uuid::new_v4());
        let id = keyring.imported_material_id(&key, b"material").unwrap();
        keyring.rotate().unwrap();
        assert_eq!(keyring.imported_material_id(&key, b"material").unwrap(), id, "same after rotation");
        assert_ne!(keyring.imported_material_id(&key, b"materiaL").unwrap(), id);
        let other = trent_storage::KeyId(uuid::Uuid::new_v4());
        assert_ne!(keyring.imported_material_id(&other, b"material").unwrap(), id);
        let another_cluster = Keyring::generate([4; 16]).unwrap();
        assert_ne!(another_cluster.imported_material_id(&key, b"material").unwrap(), id);
    }

    #[test]
    fn material_sealed_by_id_and_wrapping_keys_open_only_in_their_own_context() {
        let keyring = Keyring::generate([6; 16]).unwrap();
        let key = trent_storage::KeyId(uuid::Uuid::new_v4());
        let material_id = trent_storage::KeyMaterialId([1; 32]);
        let token_id = trent_storage::ImportTokenId([1; 16]);
        let by_id = SealContext::IdentifiedMaterial { key_id: &key, material_id: &material_id };
        let wrapping = SealContext::ImportWrappingKey { key_id: &key, token_id: &token_id };
        let sealed = keyring.wrap(&by_id, b"secret").unwrap();
        assert_eq!(keyring.unwrap(&by_id, &sealed).unwrap().as_slice(), b"secret");
        assert_eq!(keyring.unwrap(&wrapping, &sealed).unwrap_err(), KeyringError::Forged);
        let other_id = trent_storage::KeyMaterialId([2; 32]);
        let moved = SealContext::IdentifiedMaterial { key_id: &key, material_id: &other_id };
        assert_eq!(keyring.unwrap(&moved, &sealed).unwrap_err(), KeyringError::Forged);
        let sealed_key = keyring.wrap(&wrapping, b"pkcs8").unwrap();
        assert_eq!(keyring.unwrap(&by_id, &sealed_key).unwrap_err(), KeyringError::Forged);
    }
}
