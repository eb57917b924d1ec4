//! The registry as rows: how it is loaded from sled, how an apply's touched rows are written
//! back, and the whole-registry form a snapshot carries. One place maps each kind of record to
//! its row, so adding a kind is one edit here.

use serde::{Deserialize, Serialize};

use crate::apply::RowChange;
use crate::codec::{decode, encode};
use crate::command::RequestId;
use crate::disk::{Disk, RowKind, StateBatch};
use crate::error::OpenError;
use crate::registry::{AccessKeyRecord, AliasRecord, DedupRecord, KeyRecord, Registry};
use crate::sealed::SealedKeyring;

/// The id of the single keyring row.
const KEYRING: &[u8] = b"keyring";

/// Every record of a registry; also the snapshot payload.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RegistryRows {
    pub(crate) keys: Vec<KeyRecord>,
    pub(crate) aliases: Vec<AliasRecord>,
    pub(crate) dedup: Vec<(RequestId, DedupRecord)>,
    pub(crate) keyring: Option<SealedKeyring>,
    pub(crate) access_keys: Vec<AccessKeyRecord>,
}

impl RegistryRows {
    /// The rows of `registry`.
    pub(crate) fn of(registry: &Registry) -> RegistryRows {
        RegistryRows {
            keys: registry.keys().cloned().collect(),
            aliases: registry.aliases().cloned().collect(),
            dedup: registry.dedup_records().map(|(id, record)| (*id, record.clone())).collect(),
            keyring: registry.keyring().cloned(),
            access_keys: registry.access_keys().cloned().collect(),
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
            rows.keys.push(decode(&row?.1).map_err(corrupt("key row"))?);
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
        if let Some(bytes) = disk.state_get(RowKind::Cluster, KEYRING)? {
            rows.keyring = Some(decode(&bytes).map_err(corrupt("keyring row"))?);
        }
        for row in disk.state_rows(RowKind::AccessKey) {
            rows.access_keys.push(decode(&row?.1).map_err(corrupt("access key row"))?);
        }
        Ok(rows)
    }

    /// The registry these rows describe, with its indexes derived.
    pub(crate) fn into_registry(self) -> Registry {
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
        Ok(batch)
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
            RowChange::Keyring => match registry.keyring() {
                Some(keyring) => batch.put(RowKind::Cluster, KEYRING, encode(keyring)?),
                None => batch.remove(RowKind::Cluster, KEYRING),
            },
            RowChange::AccessKey(id) => match registry.access_key(id) {
                Some(record) => batch.put(RowKind::AccessKey, id.as_bytes(), encode(record)?),
                None => batch.remove(RowKind::AccessKey, id.as_bytes()),
            },
        }
    }
    Ok(())
}
