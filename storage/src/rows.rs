//! The registry as rows: how it is loaded from sled, how an apply's touched rows are written
//! back, and the whole-registry form a snapshot carries. One place maps each kind of record to
//! its row, so adding a kind is one edit here.

use serde::{Deserialize, Serialize};

use crate::apply::RowChange;
use crate::codec::{decode, decode_payload, encode};
use crate::command::KeyId;
use crate::command::RequestId;
use crate::disk::{Disk, RowKind, StateBatch};
use crate::error::OpenError;
use crate::features::ClusterFeatures;
use crate::import::ImportParametersRecord;
use crate::registry::{
    AccessKeyRecord, AliasRecord, DedupRecord, GrantRecord, KeyRecord, Registry, UserRecord,
};
use crate::sealed::{SealedKeyring, UnsealSplits};

/// The single keyring row, from format 1 (versioned).
const KEYRING: &[u8] = b"sealed-keyring";
/// The single unseal-split row, from format 1 (versioned).
const UNSEAL_SPLITS: &[u8] = b"unseal-splits";
/// The single feature-level row.
const FEATURES: &[u8] = b"features";
/// Where format 0 kept the keyring and the unseal splits. Those two values begin with raw bytes
/// (a cluster id, a threshold), which can be the versioned marker, so format 0 values are read
/// only from these ids, always as format 0; the first write of either moves it to its new id.
const LEGACY_KEYRING: &[u8] = b"keyring";
const LEGACY_UNSEAL_SPLIT: &[u8] = b"unseal-split";

/// Every record of a registry; also the snapshot payload of format 3 (`crate::snapshot_payload`
/// reads and writes the older ones).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RegistryRows {
    pub(crate) keys: Vec<KeyRecord>,
    pub(crate) aliases: Vec<AliasRecord>,
    pub(crate) dedup: Vec<(RequestId, DedupRecord)>,
    pub(crate) keyring: Option<SealedKeyring>,
    pub(crate) access_keys: Vec<AccessKeyRecord>,
    pub(crate) unseal_splits: Option<UnsealSplits>,
    pub(crate) features: ClusterFeatures,
    /// From format 2.
    pub(crate) access: AccessRows,
    /// From format 3.
    pub(crate) import_parameters: Vec<ImportParametersRecord>,
}

/// Who may use which key (feature level 2): users, the owners of their access keys, key
/// policies and grants.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct AccessRows {
    pub(crate) users: Vec<UserRecord>,
    pub(crate) access_key_owners: Vec<(String, String)>,
    pub(crate) key_policies: Vec<(KeyId, String)>,
    pub(crate) grants: Vec<GrantRecord>,
}

impl AccessRows {
    pub(crate) fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.access_key_owners.is_empty()
            && self.key_policies.is_empty()
            && self.grants.is_empty()
    }
}

impl RegistryRows {
    /// Every invariant the rows can be checked for without building the registry: the caps,
    /// every record's own limits, and aliases naming keys among the rows. Run before a snapshot
    /// is built; [`Registry::from_rows`] runs it, and more, when one is read.
    pub(crate) fn check(&self) -> Result<(), crate::apply::InvariantViolation> {
        self.check_counts()?;
        let mut keys = std::collections::HashSet::with_capacity(self.keys.len());
        for key in &self.keys {
            crate::materials::check_key_record(key)?;
            keys.insert(key.key_id);
        }
        for alias in &self.aliases {
            if !keys.contains(&alias.key_id) {
                return Err(crate::apply::InvariantViolation(format!(
                    "alias {} names missing key {}",
                    alias.name, alias.key_id
                )));
            }
        }
        Ok(())
    }

    /// Every collection within the cluster's caps (checked before anything is indexed).
    pub(crate) fn check_counts(&self) -> Result<(), crate::apply::InvariantViolation> {
        let over = |what: &str, count: usize, cap: usize| {
            (count > cap).then(|| crate::apply::InvariantViolation(format!("{count} {what}; at most {cap}")))
        };
        let problems = [
            over("keys", self.keys.len(), crate::MAX_KEYS),
            over("aliases", self.aliases.len(), crate::MAX_ALIASES),
            // A batch may add its whole length before the oldest are evicted.
            over(
                "dedup records",
                self.dedup.len(),
                crate::MAX_DEDUP_ENTRIES + crate::apply::MAX_REQUESTS_PER_ENTRY,
            ),
            over("access keys", self.access_keys.len(), crate::MAX_ACCESS_KEYS),
            over("users", self.access.users.len(), crate::MAX_USERS),
            over("grants", self.access.grants.len(), crate::MAX_GRANTS),
            over("key policies", self.access.key_policies.len(), crate::MAX_KEYS),
            over("access key owners", self.access.access_key_owners.len(), crate::MAX_ACCESS_KEYS),
            over("import parameters", self.import_parameters.len(), crate::MAX_IMPORT_PARAMETERS),
        ];
        match problems.into_iter().flatten().next() {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }

    /// The rows of `registry`.
    pub(crate) fn of(registry: &Registry) -> RegistryRows {
        RegistryRows {
            keys: registry.keys().cloned().collect(),
            aliases: registry.aliases().cloned().collect(),
            dedup: registry.dedup_records().map(|(id, record)| (*id, record.clone())).collect(),
            keyring: registry.keyring().cloned(),
            access_keys: registry.access_keys().cloned().collect(),
            unseal_splits: registry.unseal_splits().cloned(),
            features: registry.features(),
            access: AccessRows {
                users: registry.users().cloned().collect(),
                access_key_owners: registry
                    .access_key_owners
                    .iter()
                    .map(|(id, user)| (id.clone(), user.clone()))
                    .collect(),
                key_policies: registry
                    .key_policies
                    .iter()
                    .map(|(id, policy)| (*id, policy.clone()))
                    .collect(),
                grants: registry.all_grants().cloned().collect(),
            },
            import_parameters: registry.import_parameters.values().cloned().collect(),
        }
    }

    /// Number of keys, for logs.
    pub(crate) fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Reads every registry row from `disk`.
    pub(crate) fn load(disk: &Disk) -> Result<RegistryRows, OpenError> {
        let corrupt = |what: &'static str| move |source| OpenError::Corrupt { what: what.to_owned(), source };
        let mut rows = RegistryRows::default();
        for row in disk.state_rows(RowKind::Key) {
            rows.keys.push(crate::legacy::decode_key_record(&row?.1).map_err(corrupt("key row"))?);
        }
        for row in disk.state_rows(RowKind::Alias) {
            rows.aliases.push(decode(&row?.1).map_err(corrupt("alias row"))?);
        }
        for row in disk.state_rows(RowKind::Dedup) {
            let (id, bytes) = row?;
            let id: [u8; 16] = id.as_slice().try_into().map_err(|_| {
                OpenError::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "dedup row id is not 16 bytes",
                ))
            })?;
            let record = decode(&bytes).map_err(corrupt("dedup row"))?;
            rows.dedup.push((RequestId(uuid::Uuid::from_bytes(id)), record));
        }
        rows.keyring = read_single(disk, KEYRING, LEGACY_KEYRING, "keyring row")?;
        for row in disk.state_rows(RowKind::AccessKey) {
            rows.access_keys.push(decode(&row?.1).map_err(corrupt("access key row"))?);
        }
        rows.unseal_splits = read_single(disk, UNSEAL_SPLITS, LEGACY_UNSEAL_SPLIT, "unseal split row")?;
        if let Some(bytes) = disk.state_get(RowKind::Cluster, FEATURES)? {
            rows.features = decode(&bytes).map_err(corrupt("feature level row"))?;
        }
        for row in disk.state_rows(RowKind::User) {
            rows.access.users.push(decode(&row?.1).map_err(corrupt("user row"))?);
        }
        for row in disk.state_rows(RowKind::AccessKeyOwner) {
            let (id, bytes) = row?;
            let id = String::from_utf8(id).map_err(|_| invalid_row_id("access key owner"))?;
            rows.access
                .access_key_owners
                .push((id, decode(&bytes).map_err(corrupt("access key owner row"))?));
        }
        for row in disk.state_rows(RowKind::KeyPolicy) {
            let (id, bytes) = row?;
            let id: [u8; 16] = id.as_slice().try_into().map_err(|_| invalid_row_id("key policy"))?;
            let policy = decode(&bytes).map_err(corrupt("key policy row"))?;
            rows.access.key_policies.push((KeyId(uuid::Uuid::from_bytes(id)), policy));
        }
        for row in disk.state_rows(RowKind::Grant) {
            rows.access.grants.push(decode(&row?.1).map_err(corrupt("grant row"))?);
        }
        for row in disk.state_rows(RowKind::ImportParameters) {
            rows.import_parameters.push(decode(&row?.1).map_err(corrupt("import parameters row"))?);
        }
        Ok(rows)
    }

    /// The registry these rows describe, with its indexes derived and its invariants checked.
    pub(crate) fn into_registry(self) -> Result<Registry, crate::apply::InvariantViolation> {
        Registry::from_rows(self)
    }

    /// Every row, for writing into sled.
    pub(crate) fn to_batch(&self) -> Result<StateBatch, bincode::error::EncodeError> {
        let mut batch = StateBatch::default();
        for key in &self.keys {
            batch.put(RowKind::Key, key.key_id.as_bytes(), encode(key)?);
        }
        for alias in &self.aliases {
            batch.put(RowKind::Alias, alias.name.as_bytes(), encode(alias)?);
        }
        for (request_id, record) in &self.dedup {
            batch.put(RowKind::Dedup, request_id.0.as_bytes(), encode(record)?);
        }
        if let Some(keyring) = &self.keyring {
            batch.put(RowKind::Cluster, KEYRING, encode(keyring)?);
        }
        for access_key in &self.access_keys {
            batch.put(RowKind::AccessKey, access_key.access_key_id.as_bytes(), encode(access_key)?);
        }
        if let Some(splits) = &self.unseal_splits {
            batch.put(RowKind::Cluster, UNSEAL_SPLITS, encode(splits)?);
        }
        batch.put(RowKind::Cluster, FEATURES, encode(&self.features)?);
        for user in &self.access.users {
            batch.put(RowKind::User, crate::access::user_key(&user.name).as_bytes(), encode(user)?);
        }
        for (access_key_id, user) in &self.access.access_key_owners {
            batch.put(RowKind::AccessKeyOwner, access_key_id.as_bytes(), encode(user)?);
        }
        for (key_id, policy) in &self.access.key_policies {
            batch.put(RowKind::KeyPolicy, key_id.as_bytes(), encode(policy)?);
        }
        for grant in &self.access.grants {
            batch.put(RowKind::Grant, grant.grant.grant_id.as_bytes(), encode(grant)?);
        }
        for parameters in &self.import_parameters {
            batch.put(RowKind::ImportParameters, &parameters.token_id.0, encode(parameters)?);
        }
        Ok(batch)
    }
}

fn invalid_row_id(what: &str) -> OpenError {
    OpenError::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("a {what} row id is malformed"),
    ))
}

/// One of the single rows that moved to a new id in format 1: the new id, else the format-0 id.
fn read_single<T: serde::de::DeserializeOwned>(
    disk: &Disk,
    id: &[u8],
    legacy_id: &[u8],
    what: &'static str,
) -> Result<Option<T>, OpenError> {
    let corrupt = |source| OpenError::Corrupt { what: what.to_owned(), source };
    if let Some(bytes) = disk.state_get(RowKind::Cluster, id)? {
        return decode(&bytes).map(Some).map_err(corrupt);
    }
    match disk.state_get(RowKind::Cluster, legacy_id)? {
        Some(bytes) => decode_payload(&bytes).map(Some).map_err(corrupt),
        None => Ok(None),
    }
}

/// Adds the current value of each touched row to `batch` (or its removal, if it is gone).
pub(crate) fn touched_rows(
    registry: &Registry,
    changes: &[RowChange],
    batch: &mut StateBatch,
) -> Result<(), bincode::error::EncodeError> {
    for change in changes {
        match change {
            RowChange::Key(key_id) => match registry.key(key_id) {
                Some(key) => batch.put(RowKind::Key, key_id.as_bytes(), encode(key)?),
                None => batch.remove(RowKind::Key, key_id.as_bytes()),
            },
            RowChange::Alias(name) => match registry.alias(name) {
                Some(alias) => batch.put(RowKind::Alias, name.as_bytes(), encode(alias)?),
                None => batch.remove(RowKind::Alias, name.as_bytes()),
            },
            RowChange::Dedup(request_id) => match registry.dedup.get(request_id) {
                Some(record) => batch.put(RowKind::Dedup, request_id.0.as_bytes(), encode(record)?),
                None => batch.remove(RowKind::Dedup, request_id.0.as_bytes()),
            },
            RowChange::Keyring => {
                batch.remove(RowKind::Cluster, LEGACY_KEYRING);
                match registry.keyring() {
                    Some(keyring) => batch.put(RowKind::Cluster, KEYRING, encode(keyring)?),
                    None => batch.remove(RowKind::Cluster, KEYRING),
                }
            }
            RowChange::AccessKey(id) => match registry.access_key(id) {
                Some(record) => batch.put(RowKind::AccessKey, id.as_bytes(), encode(record)?),
                None => batch.remove(RowKind::AccessKey, id.as_bytes()),
            },
            RowChange::UnsealSplit => {
                batch.remove(RowKind::Cluster, LEGACY_UNSEAL_SPLIT);
                match registry.unseal_splits() {
                    Some(splits) => batch.put(RowKind::Cluster, UNSEAL_SPLITS, encode(splits)?),
                    None => batch.remove(RowKind::Cluster, UNSEAL_SPLITS),
                }
            }
            RowChange::Features => batch.put(RowKind::Cluster, FEATURES, encode(&registry.features())?),
            RowChange::User(key) => match registry.users.get(key) {
                Some(user) => batch.put(RowKind::User, key.as_bytes(), encode(user)?),
                None => batch.remove(RowKind::User, key.as_bytes()),
            },
            RowChange::AccessKeyOwner(id) => match registry.access_key_owners.get(id) {
                Some(user) => batch.put(RowKind::AccessKeyOwner, id.as_bytes(), encode(user)?),
                None => batch.remove(RowKind::AccessKeyOwner, id.as_bytes()),
            },
            RowChange::KeyPolicy(key_id) => match registry.key_policy(key_id) {
                Some(policy) => batch.put(RowKind::KeyPolicy, key_id.as_bytes(), encode(&policy)?),
                None => batch.remove(RowKind::KeyPolicy, key_id.as_bytes()),
            },
            RowChange::Grant(grant_id) => match registry.grant(grant_id) {
                Some(grant) => batch.put(RowKind::Grant, grant_id.as_bytes(), encode(grant)?),
                None => batch.remove(RowKind::Grant, grant_id.as_bytes()),
            },
            RowChange::ImportParameters(token_id) => match registry.import_parameters(token_id) {
                Some(parameters) => batch.put(RowKind::ImportParameters, &token_id.0, encode(parameters)?),
                None => batch.remove(RowKind::ImportParameters, &token_id.0),
            },
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use trent_wire::model::{KeySpec, KeyUsage, Origin};

    use super::*;
    use crate::command::KeyId;
    use crate::registry::{KeyLifecycle, KeyMaterial};
    use crate::sealed::WrappedSecret;

    /// An enabled symmetric key with one version.
    pub(crate) fn key(n: u128) -> KeyRecord {
        KeyRecord {
            key_id: KeyId(uuid::Uuid::from_u128(n)),
            created_at_ms: 1,
            description: String::new(),
            spec: KeySpec::SymmetricDefault,
            usage: KeyUsage::EncryptDecrypt,
            origin: Origin::AwsKms,
            lifecycle: KeyLifecycle::Enabled,
            tags: BTreeMap::new(),
            materials: vec![KeyMaterial::created(
                1,
                WrappedSecret { barrier_version: 1, sealed: vec![0; 60] },
                1,
            )],
            current_version: 1,
            rotation: crate::materials::KeyRotation::default(),
        }
    }

    fn alias(name: &str, target: u128) -> AliasRecord {
        AliasRecord {
            name: name.into(),
            key_id: KeyId(uuid::Uuid::from_u128(target)),
            created_at_ms: 1,
            updated_at_ms: 1,
        }
    }

    fn refused(rows: RegistryRows, expected: &str) {
        let error = rows.into_registry().expect_err(expected);
        assert!(error.0.contains(expected), "{error}");
    }

    #[test]
    fn rows_that_keep_every_invariant_make_a_registry() {
        let rows = RegistryRows {
            keys: vec![key(1), key(2)],
            aliases: vec![alias("alias/a", 1)],
            ..Default::default()
        };
        rows.check().unwrap();
        let registry = rows.into_registry().unwrap();
        assert_eq!((registry.key_count(), registry.alias_count()), (2, 1));
    }

    #[test]
    fn rows_that_break_an_invariant_are_refused_whole() {
        refused(
            RegistryRows { keys: vec![key(1)], aliases: vec![alias("alias/a", 9)], ..Default::default() },
            "names missing key",
        );
        refused(RegistryRows { keys: vec![key(1), key(1)], ..Default::default() }, "appears twice");
        refused(
            RegistryRows {
                keys: vec![key(1)],
                aliases: vec![alias("alias/a", 1), alias("alias/a", 1)],
                ..Default::default()
            },
            "appears twice",
        );
        refused(
            RegistryRows {
                keys: vec![key(1)],
                aliases: vec![alias("not-an-alias", 1)],
                ..Default::default()
            },
            "not alias/",
        );
        let mut tagged = key(1);
        tagged.tags = (0..51).map(|i| (format!("k{i}"), String::new())).collect();
        refused(RegistryRows { keys: vec![tagged], ..Default::default() }, "51 tags");
        let mut bare = key(1);
        bare.materials.clear();
        refused(RegistryRows { keys: vec![bare], ..Default::default() }, "material versions");
        let mut misnumbered = key(1);
        misnumbered.materials[0].version = 2;
        misnumbered.current_version = 2;
        refused(RegistryRows { keys: vec![misnumbered], ..Default::default() }, "numbered from 1");
        let mut long = key(1);
        long.description = "d".repeat(8193);
        refused(RegistryRows { keys: vec![long], ..Default::default() }, "description");
        let mut many = key(1);
        let material = many.materials[0].clone();
        many.materials = (1..=crate::MAX_MATERIAL_VERSIONS as u32 + 1)
            .map(|version| KeyMaterial { version, ..material.clone() })
            .collect();
        many.current_version = many.materials.len() as u32;
        refused(RegistryRows { keys: vec![many], ..Default::default() }, "material versions");
        let access_key = |n: usize| AccessKeyRecord {
            access_key_id: format!("AK{n}"),
            secret: WrappedSecret { barrier_version: 1, sealed: vec![0; 60] },
            created_at_ms: 1,
            description: String::new(),
        };
        let access_keys = (0..=crate::MAX_ACCESS_KEYS).map(access_key).collect();
        refused(RegistryRows { access_keys, ..Default::default() }, "access keys");
        let split = crate::sealed::UnsealSplit { threshold: 3, shares: 2, fingerprint: [0; 32] };
        let splits = UnsealSplits { current: split, retiring: None };
        refused(RegistryRows { unseal_splits: Some(splits), ..Default::default() }, "unseal split");
    }
}
