//! openraft's `RaftStateMachine` over the [`Registry`]: applies committed entries, persists the
//! rows they touched together with the applied log id, and builds and installs snapshots.
//!
//! The registry is persisted row by row in sled; snapshots are a separate file used to ship the
//! whole state to a lagging or new member and to let the log be purged behind them.

use std::io::Cursor;
use std::path::PathBuf;

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};
use serde::{Deserialize, Serialize};

use crate::apply::RowChange;
use crate::codec::{decode, encode};
use crate::command::{BatchResult, RequestId};
use crate::disk::{Disk, RowKind, StateBatch};
use crate::error::OpenError;
use crate::registry::{AliasRecord, DedupRecord, KeyRecord, Registry, SharedRegistry};
use crate::snapshot_file::{SnapshotFile, StoredSnapshot};
use crate::types::{Entry, LogId, SnapshotMeta, StorageError, StoredMembership, TypeConfig};

const APPLIED: &[u8] = b"applied";
const MEMBERSHIP: &[u8] = b"membership";

/// The whole registry as a snapshot carries it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SnapshotPayload {
    keys: Vec<KeyRecord>,
    aliases: Vec<AliasRecord>,
    dedup: Vec<(RequestId, DedupRecord)>,
}

impl SnapshotPayload {
    fn of(registry: &Registry) -> SnapshotPayload {
        SnapshotPayload {
            keys: registry.keys().cloned().collect(),
            aliases: registry.aliases().cloned().collect(),
            dedup: registry.dedup_records().map(|(id, record)| (*id, record.clone())).collect(),
        }
    }

    fn into_registry(self) -> Registry {
        Registry::from_rows(self.keys, self.aliases, self.dedup)
    }

    /// Every row of this payload, for writing into sled.
    fn rows(&self) -> Result<StateBatch, bincode::error::EncodeError> {
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
        Ok(batch)
    }
}

/// The state machine of one node.
#[derive(Debug)]
pub struct StateMachine {
    disk: Disk,
    registry: SharedRegistry,
    applied: Option<LogId>,
    membership: StoredMembership,
    snapshots: SnapshotFile,
    snapshots_built: u64,
}

impl StateMachine {
    /// Loads the registry and applied state from `disk`; snapshots live in `snapshot_dir`.
    pub fn open(disk: Disk, snapshot_dir: PathBuf) -> Result<StateMachine, OpenError> {
        let corrupt = |what: &str| {
            let what = what.to_owned();
            move |source| OpenError::Corrupt { what: what.clone(), source }
        };
        let mut keys = Vec::new();
        for row in disk.state_rows(RowKind::Key) {
            let (_, bytes) = row?;
            keys.push(decode::<KeyRecord>(&bytes).map_err(corrupt("key row"))?);
        }
        let mut aliases = Vec::new();
        for row in disk.state_rows(RowKind::Alias) {
            let (_, bytes) = row?;
            aliases.push(decode::<AliasRecord>(&bytes).map_err(corrupt("alias row"))?);
        }
        let mut dedup = Vec::new();
        for row in disk.state_rows(RowKind::Dedup) {
            let (id, bytes) = row?;
            let id: [u8; 16] = id.as_slice().try_into().map_err(|_| {
                OpenError::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "dedup row id is not 16 bytes",
                ))
            })?;
            let record = decode::<DedupRecord>(&bytes).map_err(corrupt("dedup row"))?;
            dedup.push((RequestId(uuid::Uuid::from_bytes(id)), record));
        }
        let applied = match disk.state_get(RowKind::Meta, APPLIED)? {
            Some(bytes) => decode(&bytes).map_err(corrupt("applied log id"))?,
            None => None,
        };
        let membership = match disk.state_get(RowKind::Meta, MEMBERSHIP)? {
            Some(bytes) => decode(&bytes).map_err(corrupt("membership"))?,
            None => StoredMembership::default(),
        };
        let snapshots = SnapshotFile::open(snapshot_dir)?;
        let registry = SharedRegistry::new(Registry::from_rows(keys, aliases, dedup));
        Ok(StateMachine { disk, registry, applied, membership, snapshots, snapshots_built: 0 })
    }

    /// A read handle on the registry that follows every apply.
    pub fn registry(&self) -> SharedRegistry {
        self.registry.clone()
    }

    /// The storage this state machine writes to (for disk-use reporting).
    pub fn disk(&self) -> &Disk {
        &self.disk
    }

    fn meta_rows(&self, batch: &mut StateBatch) -> Result<(), bincode::error::EncodeError> {
        batch.put(RowKind::Meta, APPLIED, encode(&self.applied)?);
        batch.put(RowKind::Meta, MEMBERSHIP, encode(&self.membership)?);
        Ok(())
    }
}

fn write_sm_error(error: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::write_state_machine(&error).into()
}

/// Adds the current value of each touched row to `batch` (or its removal, if it is gone).
fn touched_rows(
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
        }
    }
    Ok(())
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok((self.applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<BatchResult>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut results = Vec::new();
        let mut batch = StateBatch::default();
        {
            let mut registry = self.registry.write();
            let mut changes = Vec::new();
            for entry in entries {
                let log_id = entry.log_id;
                let result = match entry.payload {
                    EntryPayload::Blank => Vec::new(),
                    EntryPayload::Normal(batch) => {
                        let mut results = Vec::with_capacity(batch.requests.len());
                        for (position, request) in (0u32..).zip(&batch.requests) {
                            let (result, touched) = registry
                                .apply(log_id.index, position, request)
                                .map_err(|violation| StorageIOError::apply(log_id, &violation))?;
                            changes.extend(touched);
                            results.push(result);
                        }
                        results
                    }
                    EntryPayload::Membership(membership) => {
                        self.membership = StoredMembership::new(Some(log_id), membership);
                        Vec::new()
                    }
                };
                self.applied = Some(log_id);
                results.push(result);
            }
            touched_rows(&registry, &changes, &mut batch).map_err(write_sm_error)?;
        }
        self.meta_rows(&mut batch).map_err(write_sm_error)?;
        self.disk.apply_state(batch).map_err(write_sm_error)?;
        Ok(results)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.snapshots_built += 1;
        // O(1): the registry's maps are persistent, so apply goes on while the builder encodes.
        let registry = self.registry.read().clone();
        SnapshotBuilder {
            registry,
            applied: self.applied,
            membership: self.membership.clone(),
            sequence: self.snapshots_built,
            disk: self.disk.clone(),
            snapshots: self.snapshots.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let signature = Some(meta.signature());
        let data = snapshot.into_inner();
        let payload: SnapshotPayload =
            decode(&data).map_err(|e| StorageIOError::read_snapshot(signature.clone(), &e))?;
        tracing::info!(snapshot_id = %meta.snapshot_id, keys = payload.keys.len(), "installing snapshot");

        self.applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        let mut rows = payload.rows().map_err(write_sm_error)?;
        self.meta_rows(&mut rows).map_err(write_sm_error)?;
        self.disk.replace_state(rows).map_err(write_sm_error)?;
        self.disk.flush().await.map_err(write_sm_error)?;
        *self.registry.write() = payload.into_registry();

        let stored = StoredSnapshot { meta: meta.clone(), data };
        self.snapshots.save(&stored).map_err(|e| StorageIOError::write_snapshot(signature, &e))?;
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let stored = self.snapshots.load().map_err(|e| StorageIOError::read_snapshot(None, &e))?;
        Ok(stored.map(|stored| Snapshot { meta: stored.meta, snapshot: Box::new(Cursor::new(stored.data)) }))
    }
}

/// Builds a snapshot from a copy of the registry taken when the builder was made.
#[derive(Debug)]
pub struct SnapshotBuilder {
    registry: Registry,
    applied: Option<LogId>,
    membership: StoredMembership,
    sequence: u64,
    disk: Disk,
    snapshots: SnapshotFile,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let data = encode(&SnapshotPayload::of(&self.registry))
            .map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        let snapshot_id = match self.applied {
            Some(log_id) => format!("{}-{}-{}", log_id.leader_id, log_id.index, self.sequence),
            None => format!("empty-{}", self.sequence),
        };
        let meta =
            SnapshotMeta { last_log_id: self.applied, last_membership: self.membership.clone(), snapshot_id };
        // The log behind this snapshot may be purged next: the registry rows it covers must be
        // durable first.
        self.disk.flush().await.map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        let stored = StoredSnapshot { meta: meta.clone(), data };
        self.snapshots
            .save(&stored)
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        tracing::info!(snapshot_id = %meta.snapshot_id, bytes = stored.data.len(), "built snapshot");
        Ok(Snapshot { meta, snapshot: Box::new(Cursor::new(stored.data)) })
    }
}
