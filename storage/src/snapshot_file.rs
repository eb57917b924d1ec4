//! The current snapshot on disk: one file, replaced atomically (write, fsync, rename, fsync dir).

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::codec::{decode, encode};
use crate::types::SnapshotMeta;

const CURRENT: &str = "current.snapshot";
const PARTIAL: &str = "current.snapshot.partial";

/// A snapshot as stored: its metadata and the encoded registry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredSnapshot {
    /// What the snapshot covers.
    pub meta: SnapshotMeta,
    /// The encoded registry (see `state_machine::SnapshotPayload`).
    pub data: Vec<u8>,
}

/// The directory holding the current snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotFile {
    dir: PathBuf,
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
        Ok(SnapshotFile { dir })
    }

    /// Replaces the current snapshot; durable when this returns.
    pub fn save(&self, snapshot: &StoredSnapshot) -> io::Result<()> {
        let bytes = encode(snapshot).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let partial = self.dir.join(PARTIAL);
        let mut file = fs::File::create(&partial)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&partial, self.dir.join(CURRENT))?;
        fs::File::open(&self.dir)?.sync_all()
    }

    /// The current snapshot, if one was saved.
    pub fn load(&self) -> io::Result<Option<StoredSnapshot>> {
        let bytes = match fs::read(self.dir.join(CURRENT)) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        decode(&bytes).map(Some).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}
