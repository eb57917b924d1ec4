//! The current snapshot on disk: one file, replaced atomically (write, fsync, rename, fsync dir).
//!
//! openraft 0.9 builds snapshots in a spawned task while the state machine may be installing one
//! from the leader, so replacements are serialised and never go back to older state.

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::codec::{decode_snapshot, encode};
use crate::types::{LogId, SnapshotMeta};

const CURRENT: &str = "current.snapshot";
const PARTIAL: &str = "current.snapshot.partial";
/// Bytes written between syncs while saving a snapshot.
const WRITE_PIECE_BYTES: usize = 512 * 1024;

/// A snapshot as stored: its metadata and the encoded registry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredSnapshot {
    /// What the snapshot covers.
    pub meta: SnapshotMeta,
    /// The encoded registry (see `state_machine::SnapshotPayload`).
    pub data: Vec<u8>,
}

/// The directory holding the current snapshot. Clones share the replacement lock.
#[derive(Debug, Clone)]
pub struct SnapshotFile {
    dir: PathBuf,
    /// Held for a whole replacement; caches the current snapshot's last log id (`None`: not yet
    /// read from disk).
    current: Arc<Mutex<Option<Option<LogId>>>>,
}

impl SnapshotFile {
    /// Uses `dir`, creating it if needed, and removes a partial write left by a crash.
    pub fn open(dir: PathBuf) -> io::Result<SnapshotFile> {
        fs::create_dir_all(&dir)?;
        match fs::remove_file(dir.join(PARTIAL)) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        Ok(SnapshotFile { dir, current: Arc::new(Mutex::new(None)) })
    }

    /// Replaces the current snapshot; durable when this returns. A snapshot older than the
    /// current one (by last log id) is dropped instead: a slow build must not undo an install.
    pub fn save(&self, snapshot: &StoredSnapshot) -> io::Result<()> {
        let mut current = self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let current_last = match *current {
            Some(last) => last,
            // Read once per process; a damaged file is simply replaced.
            None => match self.load() {
                Ok(stored) => stored.and_then(|stored| stored.meta.last_log_id),
                Err(error) => {
                    tracing::warn!(%error, "replacing an unreadable current snapshot");
                    None
                }
            },
        };
        *current = Some(current_last);
        if snapshot.meta.last_log_id < current_last {
            tracing::info!(
                snapshot_id = %snapshot.meta.snapshot_id,
                "not saving a snapshot older than the current one"
            );
            return Ok(());
        }
        let bytes = encode(snapshot).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let partial = self.dir.join(PARTIAL);
        let mut file = fs::File::create(&partial)?;
        // Written and synced a piece at a time: with ext4's ordered journal, one large writeback
        // at the end would hold up every log fsync that commits behind it for as long as the
        // whole file takes to reach the disk; small pieces keep each such wait short.
        for piece in bytes.chunks(WRITE_PIECE_BYTES) {
            file.write_all(piece)?;
            file.sync_data()?;
        }
        file.sync_all()?;
        drop(file);
        fs::rename(&partial, self.dir.join(CURRENT))?;
        fs::File::open(&self.dir)?.sync_all()?;
        *current = Some(snapshot.meta.last_log_id);
        Ok(())
    }

    /// The current snapshot, if one was saved.
    pub fn load(&self) -> io::Result<Option<StoredSnapshot>> {
        let bytes = match fs::read(self.dir.join(CURRENT)) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        decode_snapshot(&bytes).map(Some).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}
