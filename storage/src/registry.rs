//! The key registry: the replicated state every node holds in memory and in sled.
//!
//! Reads go through [`SharedRegistry`]; the only writer is the state machine, through
//! `Registry::apply` (see the `apply` module). Everything here is plain data and queries.

use imbl::{OrdMap, OrdSet};
use std::ops::Bound;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::apply::InvariantViolation;
pub use crate::records::{
    AccessKeyRecord, AliasRecord, DedupOutcome, DedupRecord, GrantRecord, KeyLifecycle, KeyMaterial,
    KeyRecord, UserRecord, ADMIN_POLICY, ADMIN_USER,
};
use crate::records::{KeyId, RequestId};

/// The replicated registry of keys and aliases.
///
/// Persistent (structurally shared) maps: cloning a registry is O(1), so the state machine hands
/// a snapshot builder a frozen copy without pausing apply while a large registry is copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registry {
    pub(crate) keys: OrdMap<KeyId, KeyRecord>,
    pub(crate) aliases: OrdMap<String, AliasRecord>,
    pub(crate) dedup: OrdMap<RequestId, DedupRecord>,
    /// Derived: dedup entries by (log index, position in batch), oldest first.
    pub(crate) dedup_order: OrdMap<(u64, u32), RequestId>,
    /// Derived: keys pending deletion by deletion time.
    pub(crate) deletion_queue: OrdSet<(u64, KeyId)>,
    /// Derived: keys with automatic rotation by their next rotation date.
    pub(crate) rotation_queue: OrdSet<(u64, KeyId)>,
    /// Derived: imported material that expires (and still has its bytes), by `ValidTo`.
    pub(crate) expiry_queue: OrdSet<(u64, KeyId, crate::materials::KeyMaterialId)>,
    /// Derived: each key's alias names.
    pub(crate) aliases_by_key: OrdMap<KeyId, OrdSet<String>>,
    /// The sealed keyring; `None` until the cluster is initialised.
    pub(crate) keyring: Option<crate::sealed::SealedKeyring>,
    /// API principals by access key id.
    pub(crate) access_keys: OrdMap<String, AccessKeyRecord>,
    /// The splits of the root key into unseal shares a node accepts, once recorded.
    pub(crate) unseal_splits: Option<crate::sealed::UnsealSplits>,
    /// The cluster feature level.
    pub(crate) features: crate::features::ClusterFeatures,
    /// Users, by lower-cased name.
    pub(crate) users: OrdMap<String, UserRecord>,
    /// The user each access key made for one acts as (by name); an access key not listed
    /// belongs to [`ADMIN_USER`].
    pub(crate) access_key_owners: OrdMap<String, String>,
    /// Key policies; a key not listed has the default policy.
    pub(crate) key_policies: OrdMap<KeyId, String>,
    /// Grants, by id.
    pub(crate) grants: OrdMap<String, GrantRecord>,
    /// Derived: grant ids by key.
    pub(crate) grants_by_key: OrdSet<(KeyId, String)>,
    /// Derived: grant ids by key and grantee principal.
    pub(crate) grants_by_grantee: OrdSet<(KeyId, String, String)>,
    /// Live import parameters, by token id.
    pub(crate) import_parameters: OrdMap<crate::import::ImportTokenId, crate::import::ImportParametersRecord>,
}

impl Registry {
    /// Rebuilds a registry from stored rows (sled at start-up, or a snapshot from a peer),
    /// deriving the indexes. The rows crossed a boundary (disk, network), so every invariant and
    /// cap apply checks is checked again; a violation means corruption or a bug upstream, and
    /// the rows are refused whole rather than served.
    pub(crate) fn from_rows(rows: crate::rows::RegistryRows) -> Result<Registry, InvariantViolation> {
        let violation = |what: String| Err(InvariantViolation(what));
        rows.check()?;
        let mut registry = Registry::default();
        for key in rows.keys {
            if let KeyLifecycle::PendingDeletion { deletion_at_ms, .. } = key.lifecycle {
                registry.deletion_queue.insert((deletion_at_ms, key.key_id));
            }
            if let Some(due_at_ms) = crate::rotation::due_at(&key) {
                registry.rotation_queue.insert((due_at_ms, key.key_id));
            }
            for (valid_to_ms, material_id) in crate::import::expiring_materials(&key) {
                registry.expiry_queue.insert((valid_to_ms, key.key_id, material_id));
            }
            let key_id = key.key_id;
            if registry.keys.insert(key_id, key).is_some() {
                return violation(format!("key {key_id} appears twice"));
            }
        }
        for alias in rows.aliases {
            // Structure only: naming rules may tighten, and an alias made under older rules
            // must not stop a node from opening its data.
            let well_formed = alias.name.starts_with("alias/")
                && alias.name.chars().count() <= trent_wire::limits::MAX_ALIAS_NAME_CHARS;
            if !well_formed {
                return violation(format!("stored alias {:?} is not alias/<name>", alias.name));
            }
            if !registry.keys.contains_key(&alias.key_id) {
                return violation(format!("alias {} names missing key {}", alias.name, alias.key_id));
            }
            if registry.aliases.contains_key(&alias.name) {
                return violation(format!("alias {} appears twice", alias.name));
            }
            registry.put_alias(alias);
        }
        for (request_id, record) in rows.dedup {
            registry.dedup_order.insert((record.log_index, record.position), request_id);
            if registry.dedup.insert(request_id, record).is_some() {
                return violation(format!("request id {request_id} appears twice"));
            }
        }
        if let Some(keyring) = &rows.keyring {
            if let Err(error) = crate::principals::check_keyring(keyring) {
                return violation(format!("stored keyring: {}", error.message));
            }
        }
        registry.keyring = rows.keyring;
        for access_key in rows.access_keys {
            if let Err(error) = crate::principals::check_access_key(&access_key) {
                return violation(format!("stored access key: {}", error.message));
            }
            let id = access_key.access_key_id.clone();
            if registry.access_keys.insert(id.clone(), access_key).is_some() {
                return violation(format!("access key {id} appears twice"));
            }
        }
        if let Some(splits) = &rows.unseal_splits {
            crate::principals::check_unseal_splits(splits)
                .map_err(|error| InvariantViolation(error.message))?;
        }
        registry.unseal_splits = rows.unseal_splits;
        registry.features = rows.features;
        let access = rows.access;
        for user in access.users {
            crate::access::check_user(&user)
                .map_err(|error| InvariantViolation(format!("stored user: {}", error.message)))?;
            let key = crate::access::user_key(&user.name);
            if registry.users.insert(key, user).is_some() {
                return violation("a user appears twice".to_owned());
            }
        }
        for (access_key_id, user) in access.access_key_owners {
            if !registry.access_keys.contains_key(&access_key_id) || registry.user(&user).is_none() {
                return violation(format!(
                    "access key owner row {access_key_id} -> {user} names a missing record"
                ));
            }
            registry.access_key_owners.insert(access_key_id, user);
        }
        for (key_id, policy) in access.key_policies {
            crate::access::check_policy_size(&policy)
                .map_err(|error| InvariantViolation(format!("stored key policy: {}", error.message)))?;
            if !registry.keys.contains_key(&key_id) {
                return violation(format!("a key policy of missing key {key_id}"));
            }
            registry.key_policies.insert(key_id, policy);
        }
        for grant in access.grants {
            crate::access::check_grant(&grant)
                .map_err(|error| InvariantViolation(format!("stored grant: {}", error.message)))?;
            if !registry.keys.contains_key(&grant.key_id) {
                return violation(format!("a grant on missing key {}", grant.key_id));
            }
            if registry.grants.contains_key(&grant.grant.grant_id) {
                return violation(format!("grant {} appears twice", grant.grant.grant_id));
            }
            registry.put_grant(grant);
        }
        for parameters in rows.import_parameters {
            crate::import::check_import_parameters(&parameters).map_err(|error| {
                InvariantViolation(format!("stored import parameters: {}", error.message))
            })?;
            let token_id = parameters.token_id;
            if registry.import_parameters.insert(token_id, parameters).is_some() {
                return violation(format!("import parameters {token_id:?} appear twice"));
            }
        }
        Ok(registry)
    }

    /// The import parameters with this token id, while they are live.
    pub fn import_parameters(
        &self,
        token_id: &crate::import::ImportTokenId,
    ) -> Option<&crate::import::ImportParametersRecord> {
        self.import_parameters.get(token_id)
    }

    /// The cluster feature level and where it first rose.
    pub fn features(&self) -> crate::features::ClusterFeatures {
        self.features
    }

    /// The splits of the root key into unseal shares a node accepts, if recorded.
    pub fn unseal_splits(&self) -> Option<&crate::sealed::UnsealSplits> {
        self.unseal_splits.as_ref()
    }

    /// The sealed keyring, once the cluster is initialised.
    pub fn keyring(&self) -> Option<&crate::sealed::SealedKeyring> {
        self.keyring.as_ref()
    }

    /// Whether the cluster has been initialised.
    pub fn is_initialized(&self) -> bool {
        self.keyring.is_some()
    }

    /// The access key with this id.
    pub fn access_key(&self, access_key_id: &str) -> Option<&AccessKeyRecord> {
        self.access_keys.get(access_key_id)
    }

    /// Every access key, by id.
    pub fn access_keys(&self) -> impl Iterator<Item = &AccessKeyRecord> {
        self.access_keys.values()
    }

    /// The user with this name (compared without case, as IAM does).
    pub fn user(&self, name: &str) -> Option<&UserRecord> {
        self.users.get(&crate::access::user_key(name))
    }

    /// Every user, by lower-cased name.
    pub fn users(&self) -> impl Iterator<Item = &UserRecord> {
        self.users.values()
    }

    /// The name of the user an access key acts as.
    pub fn access_key_user(&self, access_key_id: &str) -> &str {
        self.access_key_owners.get(access_key_id).map_or(ADMIN_USER, String::as_str)
    }

    /// The access keys that act as `user`.
    pub fn access_keys_of<'r>(&'r self, user: &'r str) -> impl Iterator<Item = &'r AccessKeyRecord> + 'r {
        self.access_keys
            .values()
            .filter(move |record| self.access_key_user(&record.access_key_id).eq_ignore_ascii_case(user))
    }

    /// A key's policy, if it has one other than the default.
    pub fn key_policy(&self, key_id: &KeyId) -> Option<&str> {
        self.key_policies.get(key_id).map(String::as_str)
    }

    /// The grant with this id.
    pub fn grant(&self, grant_id: &str) -> Option<&GrantRecord> {
        self.grants.get(grant_id)
    }

    /// Every grant, by id.
    pub fn all_grants(&self) -> impl Iterator<Item = &GrantRecord> {
        self.grants.values()
    }

    /// The grants on `key_id`, by grant id.
    pub fn grants_of(&self, key_id: KeyId) -> impl Iterator<Item = &GrantRecord> {
        let from = (key_id, String::new());
        self.grants_by_key
            .range(from..)
            .take_while(move |(key, _)| *key == key_id)
            .filter_map(|(_, grant_id)| self.grants.get(grant_id))
    }

    /// The grants on `key_id` for `grantee`, by grant id.
    pub fn grants_for<'r>(
        &'r self,
        key_id: KeyId,
        grantee: &'r str,
    ) -> impl Iterator<Item = &'r GrantRecord> + 'r {
        let from = (key_id, grantee.to_owned(), String::new());
        self.grants_by_grantee
            .range(from..)
            .take_while(move |(key, principal, _)| *key == key_id && principal == grantee)
            .filter_map(|(_, _, grant_id)| self.grants.get(grant_id))
    }

    /// The key with this id.
    pub fn key(&self, key_id: &KeyId) -> Option<&KeyRecord> {
        self.keys.get(key_id)
    }

    /// The alias with this full name (`alias/...`).
    pub fn alias(&self, name: &str) -> Option<&AliasRecord> {
        self.aliases.get(name)
    }

    /// Number of keys.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Number of aliases.
    pub fn alias_count(&self) -> usize {
        self.aliases.len()
    }

    /// Up to `limit` keys after `after` in key id order, and whether more follow.
    pub fn keys_after(&self, after: Option<KeyId>, limit: usize) -> (Vec<&KeyRecord>, bool) {
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        page(self.keys.range((lower, Bound::Unbounded)).map(|(_, key)| key), limit)
    }

    /// Up to `limit` aliases after `after` in name order, only those of `key` when given, and
    /// whether more follow.
    pub fn aliases_after(
        &self,
        after: Option<&str>,
        key: Option<KeyId>,
        limit: usize,
    ) -> (Vec<&AliasRecord>, bool) {
        let lower: Bound<String> = after.map_or(Bound::Unbounded, |name| Bound::Excluded(name.to_owned()));
        let matching: Box<dyn Iterator<Item = &AliasRecord>> = match key {
            Some(key_id) => Box::new(
                self.aliases_by_key
                    .get(&key_id)
                    .into_iter()
                    .flat_map(move |names| names.range((lower.clone(), Bound::Unbounded)))
                    .filter_map(|name| self.aliases.get(name)),
            ),
            None => Box::new(self.aliases.range((lower, Bound::Unbounded)).map(|(_, alias)| alias)),
        };
        page(matching, limit)
    }

    /// The aliases that name `key_id`, in name order.
    pub fn aliases_of(&self, key_id: KeyId) -> impl Iterator<Item = &AliasRecord> {
        self.aliases_by_key.get(&key_id).into_iter().flatten().filter_map(|name| self.aliases.get(name))
    }

    /// Adds or replaces an alias, keeping the per-key index in step.
    pub(crate) fn put_alias(&mut self, alias: AliasRecord) {
        if let Some(previous) = self.remove_alias(&alias.name) {
            debug_assert_eq!(previous.name, alias.name);
        }
        self.aliases_by_key.entry(alias.key_id).or_default().insert(alias.name.clone());
        self.aliases.insert(alias.name.clone(), alias);
    }

    /// Removes an alias, keeping the per-key index in step.
    pub(crate) fn remove_alias(&mut self, name: &str) -> Option<AliasRecord> {
        let removed = self.aliases.remove(name)?;
        if let Some(names) = self.aliases_by_key.get_mut(&removed.key_id) {
            names.remove(name);
            if names.is_empty() {
                self.aliases_by_key.remove(&removed.key_id);
            }
        }
        Some(removed)
    }

    /// Up to `limit` keys whose deletion time is at or before `now_ms`.
    pub fn keys_due_for_deletion(&self, now_ms: u64, limit: usize) -> Vec<KeyId> {
        self.deletion_queue
            .iter()
            .take_while(|(deletion_at_ms, _)| *deletion_at_ms <= now_ms)
            .take(limit)
            .map(|(_, key_id)| *key_id)
            .collect()
    }

    /// Every key, in id order.
    pub fn keys(&self) -> impl Iterator<Item = &KeyRecord> {
        self.keys.values()
    }

    /// Every alias, in name order.
    pub fn aliases(&self) -> impl Iterator<Item = &AliasRecord> {
        self.aliases.values()
    }

    /// Every dedup record.
    pub fn dedup_records(&self) -> impl Iterator<Item = (&RequestId, &DedupRecord)> {
        self.dedup.iter()
    }
}

fn page<'a, T: 'a>(items: impl Iterator<Item = &'a T>, limit: usize) -> (Vec<&'a T>, bool) {
    let mut items = items.peekable();
    let page: Vec<&T> = items.by_ref().take(limit).collect();
    let more = items.peek().is_some();
    (page, more)
}

/// The registry shared between the state machine (the only writer) and request handlers.
#[derive(Debug, Clone, Default)]
pub struct SharedRegistry(Arc<RwLock<Registry>>);

impl SharedRegistry {
    /// Wraps a registry.
    pub fn new(registry: Registry) -> SharedRegistry {
        SharedRegistry(Arc::new(RwLock::new(registry)))
    }

    /// A read view. Hold it briefly: the state machine waits for it to apply.
    pub fn read(&self) -> RwLockReadGuard<'_, Registry> {
        // Nothing in apply panics by design; if something did, the node stops applying anyway
        // (openraft treats the failed apply as fatal), so readers may keep the last state.
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Registry> {
        self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
