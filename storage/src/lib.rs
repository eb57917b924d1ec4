//! Trent's replicated data model and its durable home.
//!
//! This crate owns what every node agrees on: the [`Command`]s that record key lifecycle events,
//! the deterministic [`Registry`] they are applied to, and the sled-backed Raft log, vote,
//! state machine and snapshots that openraft drives. It does no cryptography, speaks no HTTP and
//! reads neither clock nor randomness inside `apply`: the leader writes ids and timestamps into
//! each command before proposing it.
//!
//! The three openraft seams keep openraft's names: [`types`] (the type config),
//! [`log_store`] and [`state_machine`] (storage). The network seam lives in `trent-node`.

pub mod command;
pub mod disk;
pub mod error;
pub mod features;
pub mod fixture_file;
pub mod log_store;
pub mod registry;
pub mod sealed;
pub mod snapshot_file;
pub mod state_machine;
pub mod types;

mod access;
mod apply;
pub mod codec;
mod fingerprint;
#[cfg(test)]
mod golden;
pub mod import;
pub mod legacy;
mod limits;
pub mod materials;
mod principals;
pub mod records;
pub mod rotation;
mod rows;
mod snapshot_payload;

pub use access::{
    check_grant_id, check_user_name, MAX_GRANTS, MAX_GRANTS_PER_GRANTEE, MAX_GRANTS_PER_KEY,
    MAX_GRANT_NAME_CHARS, MAX_GRANT_OPERATIONS, MAX_PRINCIPAL_CHARS, MAX_USERS,
};
pub use apply::{
    InvariantViolation, DEDUP_WINDOW_MS, MAX_ALIASES, MAX_DEDUP_ENTRIES, MAX_KEYS, MAX_REQUESTS_PER_ENTRY,
    MAX_TAGS_PER_KEY,
};
pub use command::{
    Applied, BatchResult, Command, CommandResult, KeyDraft, KeyId, NewKey, Rejection, Request, RequestBatch,
    RequestId,
};
pub use disk::{Disk, DiskOptions, DEFAULT_FLUSH_DEADLINE};
pub use error::OpenError;
pub use features::{ClusterFeatures, SUPPORTED_LEVEL};
pub use import::{
    ImportParametersRecord, ImportTokenId, NewImportedMaterial, MAX_IMPORT_PARAMETERS,
    MAX_IMPORT_PARAMETERS_PER_KEY,
};
pub use log_store::LogStore;
pub use materials::{
    AutomaticRotation, ImportedMaterial, KeyMaterialId, KeyRotation, MaterialSource, RotationEvent,
    MAX_MATERIAL_VERSIONS,
};
pub use principals::{MAX_ACCESS_KEYS, MAX_KEYRING_VERSIONS};
pub use registry::{
    AccessKeyRecord, AliasRecord, DedupOutcome, DedupRecord, GrantRecord, KeyLifecycle, KeyMaterial,
    KeyRecord, Registry, SharedRegistry, UserRecord, ADMIN_POLICY, ADMIN_USER,
};
pub use rotation::{RotatedMaterial, RotationKind, NOT_SYMMETRIC_MESSAGE};
pub use state_machine::{StateMachine, MAX_SNAPSHOT_BYTES};
pub use types::{NodeId, TrentNode, TypeConfig};

/// Opens (or creates) the storage under `dir` and returns the two halves openraft needs.
///
/// The registry handle in the state machine is shared: [`StateMachine::registry`] gives readers
/// a view that follows every applied command.
pub fn open(dir: &std::path::Path, options: DiskOptions) -> Result<(LogStore, StateMachine), OpenError> {
    let disk = Disk::open(dir, options)?;
    let log_store = LogStore::new(disk.clone())?;
    let state_machine = StateMachine::open(disk, dir.join("snapshots"))?;
    Ok((log_store, state_machine))
}
