//! openraft's `RaftStateMachine` over the [`Registry`]: applies committed entries, persists the
//! rows they touched together with the applied log id, and builds and installs snapshots.
//!
//! The registry is persisted row by row in sled; snapshots are a separate file used to ship the
//! whole state to a lagging or new member and to let the log be purged behind them.

use std::io::Cursor;
use std::path::PathBuf;

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};

use crate::apply::{InvariantViolation, MAX_REQUESTS_PER_ENTRY};
use crate::codec::{decode, encode};
use crate::command::BatchResult;
use crate::disk::{Disk, RowKind, StateBatch};
use crate::error::OpenError;
use crate::registry::{Registry, SharedRegistry};
use crate::rows::{touched_rows, RegistryRows};
use crate::snapshot_file::{SnapshotFile, StoredSnapshot};
use crate::types::{Entry, LogId, SnapshotMeta, StorageError, StoredMembership, TypeConfig};

const APPLIED: &[u8] = b"applied";

/// Largest snapshot installed: the registry lives in memory, and a snapshot is read whole.
/// A million keys with typical rows (~300 bytes each) is ~300 MiB.
pub const MAX_SNAPSHOT_BYTES: usize = 2 * 1024 * 1024 * 1024;
const MEMBERSHIP: &[u8] = b"membership";

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
        let corrupt = |what: &'static str| move |source| OpenError::Corrupt { what: what.to_owned(), source };
        let rows = RegistryRows::load(&disk)?;
        let applied = match disk.state_get(RowKind::Meta, APPLIED)? {
            Some(bytes) => decode(&bytes).map_err(corrupt("applied log id"))?,
            None => None,
        };
        let membership = match disk.state_get(RowKind::Meta, MEMBERSHIP)? {
            Some(bytes) => decode(&bytes).map_err(corrupt("membership"))?,
            None => StoredMembership::default(),
        };
        let snapshots = SnapshotFile::open(snapshot_dir)?;
        let registry = SharedRegistry::new(rows.into_registry()?);
        Ok(StateMachine { disk, registry, applied, membership, snapshots, snapshots_built: 0 })
    }

    /// A read handle on the registry that follows every apply.
    pub fn registry(&self) -> SharedRegistry {
        self.registry.clone()
    }

    /// How many members (voters and learners) the applied membership has.
    pub fn member_count(&self) -> usize {
        self.membership.membership().nodes().count()
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
                        if batch.requests.len() > MAX_REQUESTS_PER_ENTRY {
                            let violation = InvariantViolation(format!(
                                "log entry {} carries {} requests; at most {MAX_REQUESTS_PER_ENTRY}",
                                log_id.index,
                                batch.requests.len()
                            ));
                            return Err(StorageIOError::apply(log_id, &violation).into());
                        }
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
        if data.len() > MAX_SNAPSHOT_BYTES {
            let too_large = std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("snapshot of {} bytes; at most {MAX_SNAPSHOT_BYTES}", data.len()),
            );
            return Err(StorageIOError::read_snapshot(signature, &too_large).into());
        }
        let payload = RegistryRows::decode_snapshot(&data)
            .map_err(|e| StorageIOError::read_snapshot(signature.clone(), &e))?;
        tracing::info!(snapshot_id = %meta.snapshot_id, keys = payload.key_count(), "installing snapshot");
        // Checked whole before anything is written: a snapshot that breaks an invariant changes
        // nothing here.
        let mut rows = payload.to_batch().map_err(write_sm_error)?;
        let registry =
            payload.into_registry().map_err(|e| StorageIOError::read_snapshot(signature.clone(), &e))?;

        self.applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        self.meta_rows(&mut rows).map_err(write_sm_error)?;
        self.disk.replace_state(rows).map_err(write_sm_error)?;
        self.disk.flush_after_bulk_write(data.len()).await.map_err(write_sm_error)?;
        *self.registry.write() = registry;

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
        let rows = RegistryRows::of(&self.registry);
        // A registry that breaks an invariant is a bug; never ship it to a peer.
        rows.check().map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        // In the format every member installs: the one of the cluster's feature level.
        let format = crate::features::format_for_level(rows.features.level);
        let data = rows.encode_snapshot(format).map_err(|e| StorageIOError::write_snapshot(None, &e))?;
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
