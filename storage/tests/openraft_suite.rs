//! openraft's own storage conformance suite, run against the sled-backed log store and state
//! machine. The suite drives its own tokio runtimes, so these are plain `#[test]`s.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use openraft::testing::{StoreBuilder, Suite};
use tempfile::TempDir;
use trent_storage::types::StorageError;
use trent_storage::{DiskOptions, LogStore, StateMachine, TypeConfig};

/// Builds each suite case's storage in a fresh directory, removed when the case drops the guard.
struct FreshDirectory;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for FreshDirectory {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let (log, sm) = trent_storage::open(dir.path(), DiskOptions::default()).expect("open storage");
        Ok((dir, log, sm))
    }
}

#[test]
fn storage_passes_openraft_conformance_suite() {
    if let Err(error) = Suite::test_all(FreshDirectory) {
        panic!("openraft storage suite failed: {error}");
    }
}
