//! The Raft log, vote and committed index on sled: openraft's `RaftLogStorage`.
//!
//! Durability rules: an append is flushed before openraft hears it is done, and a vote is flushed
//! before `save_vote` returns, so neither can be forgotten by a crash after it was acknowledged.
//!
//! openraft 0.9 waits for each append's callback before it issues the next append, so flushing
//! inside `append` costs nothing extra; batching happens one level up, where the leader packs many
//! client writes into one entry (`trent-node`'s proposer).

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader, StorageIOError, Vote};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codec::{decode, encode};
use crate::disk::Disk;
use crate::error::OpenError;
use crate::types::{Entry, LogId, NodeId, StorageError, TypeConfig};

const VOTE: &str = "vote";
const COMMITTED: &str = "committed";
const LAST_PURGED: &str = "last_purged";

/// Raft log storage over the node's [`Disk`]. Cheap to clone; clones share everything.
#[derive(Debug, Clone)]
pub struct LogStore {
    disk: Disk,
    /// Committed index + 1 (0: nothing committed), for the admin API.
    committed_next: Arc<AtomicU64>,
}

impl LogStore {
    /// Wraps the disk, reading the committed index it recorded.
    pub fn new(disk: Disk) -> Result<LogStore, OpenError> {
        let store = LogStore { disk, committed_next: Arc::new(AtomicU64::new(0)) };
        // Stored as `Option<LogId>` by `save_committed`; absent until the first save.
        let committed: Option<Option<LogId>> = store.read_meta(COMMITTED).map_err(OpenError::Io)?;
        store.note_committed(committed.flatten().as_ref());
        Ok(store)
    }

    /// The highest log index this node knows is committed.
    pub fn committed_index(&self) -> Option<u64> {
        self.committed_next.load(Ordering::Acquire).checked_sub(1)
    }

    fn note_committed(&self, committed: Option<&LogId>) {
        let next = committed.map_or(0, |log_id| log_id.index + 1);
        self.committed_next.fetch_max(next, Ordering::AcqRel);
    }

    fn read_meta<T: DeserializeOwned>(&self, name: &str) -> io::Result<Option<T>> {
        match self.disk.raft_meta_get(name)? {
            None => Ok(None),
            Some(bytes) => {
                decode(&bytes).map(Some).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
            }
        }
    }

    fn write_meta<T: Serialize>(&self, name: &str, value: &T) -> io::Result<()> {
        let bytes = encode(value).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.disk.raft_meta_put(name, bytes)
    }

    fn last_entry_log_id(&self) -> io::Result<Option<LogId>> {
        match self.disk.log_last()? {
            None => Ok(None),
            Some((_, bytes)) => {
                let entry: Entry =
                    decode(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                Ok(Some(entry.log_id))
            }
        }
    }
}

fn read_logs_error(error: io::Error) -> StorageError {
    StorageIOError::read_logs(&error).into()
}

fn write_logs_error(error: io::Error) -> StorageError {
    StorageIOError::write_logs(&error).into()
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let from = match range.start_bound() {
            Bound::Included(index) => *index,
            Bound::Excluded(index) => index.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let to_exclusive = match range.end_bound() {
            Bound::Included(index) => index.saturating_add(1),
            Bound::Excluded(index) => *index,
            Bound::Unbounded => u64::MAX,
        };
        let mut entries = Vec::new();
        for row in self.disk.log_range(from, to_exclusive) {
            let (index, bytes) = row.map_err(read_logs_error)?;
            let entry: Entry = decode(&bytes).map_err(|e| StorageIOError::read_log_at_index(index, &e))?;
            entries.push(entry);
        }
        Ok(entries)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id: Option<LogId> = self.read_meta(LAST_PURGED).map_err(read_logs_error)?;
        let last_log_id = self.last_entry_log_id().map_err(read_logs_error)?.or(last_purged_log_id);
        Ok(LogState { last_purged_log_id, last_log_id })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError> {
        let write = |store: &LogStore| store.write_meta(VOTE, vote);
        write(self).map_err(|e| StorageIOError::write_vote(&e))?;
        self.disk.flush().await.map_err(|e| StorageIOError::write_vote(&e))?;
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError> {
        self.read_meta(VOTE).map_err(|e| StorageIOError::read_vote(&e).into())
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        // Not flushed: losing it only means re-applying a few entries after a crash.
        self.write_meta(COMMITTED, &committed).map_err(write_logs_error)?;
        self.note_committed(committed.as_ref());
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        let committed: Option<Option<LogId>> = self.read_meta(COMMITTED).map_err(read_logs_error)?;
        Ok(committed.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut rows = Vec::new();
        for entry in entries {
            let bytes = encode(&entry).map_err(|e| StorageIOError::write_log_entry(entry.log_id, &e))?;
            rows.push((entry.log_id.index, bytes));
        }
        self.disk.log_append(rows).map_err(write_logs_error)?;
        // The entries are readable now; they are durable once the flush returns, and only then
        // does openraft count them towards a quorum.
        let flushed = self.disk.flush().await;
        callback.log_io_completed(flushed);
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        tracing::debug!(%log_id, "truncating log");
        self.disk.log_remove_from(log_id.index).map_err(write_logs_error)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        tracing::debug!(%log_id, "purging log");
        // Registry rows are written without a flush; make them durable before the entries that
        // could rebuild them disappear.
        self.disk.flush().await.map_err(write_logs_error)?;
        self.write_meta(LAST_PURGED, &log_id).map_err(write_logs_error)?;
        // The removal itself need not be durable: entries that reappear after a crash lie behind
        // `last_purged` and are purged again.
        self.disk.log_remove_upto(log_id.index).map_err(write_logs_error)
    }
}
