//! The narrow interface to sled: everything this crate stores goes through [`Disk`].
//!
//! sled 0.34 amplifies space and memory, so it is kept behind this module: a modest page cache,
//! three trees with one job each (`log`, `raft_meta`, `state`), and no sled type leaks out.
//! Swapping the engine means rewriting this file only.

use std::io;
use std::path::{Path, PathBuf};

use crate::error::OpenError;

/// Tuning for the sled database.
#[derive(Debug, Clone, Copy)]
pub struct DiskOptions {
    /// sled page cache, bytes. Default 32 MiB.
    pub cache_capacity_bytes: u64,
    /// Longest a flush may take before it fails with `TimedOut` (see [`Disk::flush`]).
    pub flush_deadline: std::time::Duration,
}

/// Default [`DiskOptions::flush_deadline`]: a healthy flush takes milliseconds, a loaded disk
/// well under a second; twenty seconds means the disk is full or failing.
pub const DEFAULT_FLUSH_DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

impl Default for DiskOptions {
    fn default() -> Self {
        DiskOptions { cache_capacity_bytes: 32 * 1024 * 1024, flush_deadline: DEFAULT_FLUSH_DEADLINE }
    }
}

/// Which kind of registry row a state key names; the first byte of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowKind {
    Key = b'k' as isize,
    Alias = b'a' as isize,
    Dedup = b'r' as isize,
    Meta = b'm' as isize,
    Cluster = b'c' as isize,
    AccessKey = b'p' as isize,
    User = b'u' as isize,
    AccessKeyOwner = b'o' as isize,
    KeyPolicy = b'y' as isize,
    Grant = b'g' as isize,
    ImportParameters = b'i' as isize,
}

impl RowKind {
    fn prefix(self) -> u8 {
        self as u8
    }
}

/// The sled database of one node.
#[derive(Clone)]
pub struct Disk {
    db: sled::Db,
    /// sled's data file, opened again so a flush can end in fdatasync: sled itself only calls
    /// sync_file_range, which neither flushes the device cache nor survives power loss.
    data_file: std::sync::Arc<std::fs::File>,
    /// When blob files were last synced (see [`sync_new_blobs`]).
    blobs_synced_at: std::sync::Arc<std::sync::Mutex<std::time::SystemTime>>,
    log: sled::Tree,
    raft_meta: sled::Tree,
    state: sled::Tree,
    dir: PathBuf,
    flush_deadline: std::time::Duration,
}

impl std::fmt::Debug for Disk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Disk").field("dir", &self.dir).finish()
    }
}

/// Writes to the registry rows, applied atomically with [`Disk::apply_state`].
#[derive(Default)]
pub(crate) struct StateBatch(Vec<(Vec<u8>, Option<Vec<u8>>)>);

impl StateBatch {
    pub(crate) fn put(&mut self, kind: RowKind, id: &[u8], value: Vec<u8>) {
        self.0.push((row_key(kind, id), Some(value)));
    }

    pub(crate) fn remove(&mut self, kind: RowKind, id: &[u8]) {
        self.0.push((row_key(kind, id), None));
    }

    /// Adds these writes to a sled batch; a later write to the same row wins.
    fn add_to(self, batch: &mut sled::Batch) {
        for (key, value) in self.0 {
            match value {
                Some(value) => batch.insert(key, value),
                None => batch.remove(key),
            }
        }
    }
}

fn row_key(kind: RowKind, id: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + id.len());
    key.push(kind.prefix());
    key.extend_from_slice(id);
    key
}

impl Disk {
    /// Opens or creates the database in `dir/sled`.
    pub fn open(dir: &Path, options: DiskOptions) -> Result<Disk, OpenError> {
        // Only this user may enter the data directory: it holds every sealed secret.
        {
            use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        let db = sled::Config::new()
            .path(dir.join("sled"))
            .cache_capacity(options.cache_capacity_bytes)
            // Appends and votes are flushed explicitly; this only bounds what the registry
            // rows may lag behind.
            .flush_every_ms(Some(500))
            .open()?;
        let log = db.open_tree("log")?;
        let raft_meta = db.open_tree("raft_meta")?;
        let state = db.open_tree("state")?;
        let data_file = std::sync::Arc::new(std::fs::File::open(dir.join("sled").join("db"))?);
        let blobs_synced_at = std::sync::Arc::new(std::sync::Mutex::new(std::time::UNIX_EPOCH));
        Ok(Disk {
            db,
            log,
            raft_meta,
            state,
            data_file,
            blobs_synced_at,
            dir: dir.to_path_buf(),
            flush_deadline: options.flush_deadline,
        })
    }

    /// Makes every write so far durable, through power loss.
    ///
    /// Fails with `TimedOut` if that takes longer than the flush deadline: sled 0.34 waits
    /// forever for a write that failed (a full disk leaves its flush parked on a condition
    /// variable nobody signals), and a node whose Raft waits forever on its log looks alive
    /// while it serves nothing. An error instead stops Raft, which takes the node out of service
    /// visibly (see `trent-node`'s health).
    pub async fn flush(&self) -> io::Result<()> {
        self.flush_within(self.flush_deadline).await
    }

    /// [`Disk::flush`] after a bulk write of about `bytes` (a snapshot install): the deadline
    /// grows by the time the slowest disk we support (8 MiB/s) needs to write them.
    pub async fn flush_after_bulk_write(&self, bytes: usize) -> io::Result<()> {
        const SLOWEST_DISK_BYTES_PER_SECOND: u64 = 8 * 1024 * 1024;
        let extra = std::time::Duration::from_secs(bytes as u64 / SLOWEST_DISK_BYTES_PER_SECOND);
        self.flush_within(self.flush_deadline + extra).await
    }

    async fn flush_within(&self, deadline: std::time::Duration) -> io::Result<()> {
        let flush = async {
            self.db.flush_async().await.map_err(to_io)?;
            let data_file = self.data_file.clone();
            let blobs = self.dir.join("sled").join("blobs");
            let blobs_synced_at = self.blobs_synced_at.clone();
            tokio::task::spawn_blocking(move || {
                sync_new_blobs(&blobs, &blobs_synced_at)?;
                data_file.sync_data()
            })
            .await
            .map_err(|join| io::Error::other(join.to_string()))?
        };
        let started = tokio::time::Instant::now();
        match tokio::time::timeout(deadline, flush).await {
            Ok(Err(error)) => Err(error),
            // The timer fires at millisecond granularity, after the flush is polled: a flush that
            // finished, but later than the deadline, has outlived it all the same.
            Ok(Ok(())) if started.elapsed() <= deadline => Ok(()),
            _ => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "storage flush did not finish within {deadline:?}: the disk under {} may be full or failing",
                    self.dir.display()
                ),
            )),
        }
    }

    /// Bytes sled occupies on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    // ---- Raft log: index (big-endian u64) -> encoded entry ----

    pub(crate) fn log_append(&self, entries: impl IntoIterator<Item = (u64, Vec<u8>)>) -> io::Result<()> {
        let mut batch = sled::Batch::default();
        for (index, bytes) in entries {
            batch.insert(&index.to_be_bytes(), bytes);
        }
        self.log.apply_batch(batch).map_err(to_io)
    }

    pub(crate) fn log_range(
        &self,
        from: u64,
        to_exclusive: u64,
    ) -> impl Iterator<Item = io::Result<(u64, Vec<u8>)>> {
        self.log.range(from.to_be_bytes()..to_exclusive.to_be_bytes()).map(decode_log_row)
    }

    pub(crate) fn log_last(&self) -> io::Result<Option<(u64, Vec<u8>)>> {
        self.log.last().map_err(to_io)?.map(Ok).map(decode_log_row).transpose()
    }

    /// Removes entries with index >= `from`.
    pub(crate) fn log_remove_from(&self, from: u64) -> io::Result<()> {
        self.log_remove_range(from.to_be_bytes().to_vec(), None)
    }

    /// Removes entries with index <= `upto`.
    pub(crate) fn log_remove_upto(&self, upto: u64) -> io::Result<()> {
        match upto.checked_add(1) {
            Some(end) => self.log_remove_range(Vec::new(), Some(end.to_be_bytes().to_vec())),
            None => self.log_remove_range(Vec::new(), None),
        }
    }

    fn log_remove_range(&self, from: Vec<u8>, to_exclusive: Option<Vec<u8>>) -> io::Result<()> {
        let mut batch = sled::Batch::default();
        let keys: Box<dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> = match to_exclusive {
            Some(end) => Box::new(self.log.range(from..end)),
            None => Box::new(self.log.range(from..)),
        };
        for row in keys {
            let (key, _) = row.map_err(to_io)?;
            batch.remove(key);
        }
        self.log.apply_batch(batch).map_err(to_io)
    }

    // ---- Raft metadata: vote, committed, last purged ----

    pub(crate) fn raft_meta_get(&self, name: &str) -> io::Result<Option<Vec<u8>>> {
        Ok(self.raft_meta.get(name).map_err(to_io)?.map(|value| value.to_vec()))
    }

    pub(crate) fn raft_meta_put(&self, name: &str, value: Vec<u8>) -> io::Result<()> {
        self.raft_meta.insert(name, value).map(|_| ()).map_err(to_io)
    }

    // ---- Registry rows ----

    pub(crate) fn apply_state(&self, batch: StateBatch) -> io::Result<()> {
        let mut sled_batch = sled::Batch::default();
        batch.add_to(&mut sled_batch);
        self.state.apply_batch(sled_batch).map_err(to_io)
    }

    pub(crate) fn state_get(&self, kind: RowKind, id: &[u8]) -> io::Result<Option<Vec<u8>>> {
        Ok(self.state.get(row_key(kind, id)).map_err(to_io)?.map(|value| value.to_vec()))
    }

    /// Every row of one kind: (id without prefix, value).
    pub(crate) fn state_rows(&self, kind: RowKind) -> impl Iterator<Item = io::Result<(Vec<u8>, Vec<u8>)>> {
        self.state.scan_prefix([kind.prefix()]).map(|row| {
            let (key, value) = row.map_err(to_io)?;
            Ok((key[1..].to_vec(), value.to_vec()))
        })
    }

    /// Replaces every registry row with `batch`, atomically.
    pub(crate) fn replace_state(&self, batch: StateBatch) -> io::Result<()> {
        let mut combined = sled::Batch::default();
        for row in self.state.iter() {
            let (key, _) = row.map_err(to_io)?;
            combined.remove(key);
        }
        batch.add_to(&mut combined);
        self.state.apply_batch(combined).map_err(to_io)
    }
}

/// fsyncs the blob files sled wrote since the last call, and their directory.
///
/// sled stores an item larger than a quarter segment (128 KiB) in its own file under `blobs/`
/// and never syncs it. Our log entries stay below that, but a tree node holding several large
/// registry rows (a key with an 8 KiB description and 50 maximal tags is ~27 KiB) can exceed it,
/// so blobs do appear. sled also deletes blobs on its own, whenever a newer version of the node
/// replaces one: a blob listed here may be gone by the time it is opened. That is not an error —
/// a deleted blob holds nothing the database still needs — so it is skipped; any other failure
/// is real and is returned.
fn sync_new_blobs(blobs: &Path, synced_at: &std::sync::Mutex<std::time::SystemTime>) -> io::Result<()> {
    let entries = match std::fs::read_dir(blobs) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    let mut since = synced_at.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // A blob written during the previous sync may carry that sync's start time: look back a
    // little so it is not missed.
    let started = std::time::SystemTime::now();
    let horizon = since.checked_sub(std::time::Duration::from_secs(2)).unwrap_or(std::time::UNIX_EPOCH);
    if sync_blobs_modified_since(entries, horizon)? {
        std::fs::File::open(blobs)?.sync_all()?;
    }
    *since = started;
    Ok(())
}

/// fsyncs each listed blob modified at or after `horizon`, skipping blobs deleted since they
/// were listed; whether any was synced.
fn sync_blobs_modified_since(
    entries: impl Iterator<Item = io::Result<std::fs::DirEntry>>,
    horizon: std::time::SystemTime,
) -> io::Result<bool> {
    let gone =
        |result: &io::Result<()>| matches!(result, Err(error) if error.kind() == io::ErrorKind::NotFound);
    let mut synced_any = false;
    for entry in entries {
        let entry = entry?;
        let sync = (|| {
            if entry.metadata()?.modified()? >= horizon {
                std::fs::File::open(entry.path())?.sync_data()?;
                synced_any = true;
            }
            Ok(())
        })();
        if !gone(&sync) {
            sync?;
        }
    }
    Ok(synced_any)
}

fn decode_log_row(row: sled::Result<(sled::IVec, sled::IVec)>) -> io::Result<(u64, Vec<u8>)> {
    let (key, value) = row.map_err(to_io)?;
    let index: [u8; 8] = key
        .as_ref()
        .try_into()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "log key is not 8 bytes"))?;
    Ok((u64::from_be_bytes(index), value.to_vec()))
}

fn to_io(error: sled::Error) -> io::Error {
    match error {
        sled::Error::Io(error) => error,
        other => io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_sled_deletes_between_listing_and_syncing_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["1", "2", "3"] {
            std::fs::write(dir.path().join(name), b"blob").unwrap();
        }
        // Listed, then deleted by sled's own cleanup before the sync opens it.
        let listed: Vec<io::Result<std::fs::DirEntry>> = std::fs::read_dir(dir.path()).unwrap().collect();
        std::fs::remove_file(dir.path().join("2")).unwrap();
        let synced = sync_blobs_modified_since(listed.into_iter(), std::time::UNIX_EPOCH).unwrap();
        assert!(synced, "the blobs still there are synced");
    }

    #[tokio::test]
    async fn a_flush_that_outlives_its_deadline_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let options = DiskOptions { flush_deadline: std::time::Duration::ZERO, ..DiskOptions::default() };
        let disk = Disk::open(dir.path(), options).unwrap();
        let error = disk.flush().await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(error.to_string().contains("may be full or failing"), "{error}");
        let patient = Disk::open(&dir.path().join("other"), DiskOptions::default()).unwrap();
        patient.flush().await.unwrap();
    }

    #[test]
    fn other_errors_while_syncing_blobs_are_returned() {
        let failing = std::iter::once(Err(io::Error::from(io::ErrorKind::PermissionDenied)));
        let error = sync_blobs_modified_since(failing, std::time::UNIX_EPOCH).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::PermissionDenied);
    }
}
