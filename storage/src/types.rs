//! The openraft type config: what a log entry carries, what applying it returns, and how a
//! cluster member is addressed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::command::{BatchResult, RequestBatch};

/// A cluster member's id.
pub type NodeId = u64;

/// Where a cluster member can be reached; stored in the membership config of the Raft log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrentNode {
    /// The client API (`host:port`): AWS KMS protocol and admin API.
    pub api_addr: String,
    /// The peer API (`host:port`): Raft RPCs and forwarded writes.
    pub peer_addr: String,
}

impl fmt::Display for TrentNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "api={} peer={}", self.api_addr, self.peer_addr)
    }
}

openraft::declare_raft_types!(
    /// Trent's Raft type config.
    pub TypeConfig:
        D = RequestBatch,
        R = BatchResult,
        NodeId = NodeId,
        Node = TrentNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = std::io::Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// A Raft log id of this config.
pub type LogId = openraft::LogId<NodeId>;
/// The membership as stored with the log id that carried it.
pub type StoredMembership = openraft::StoredMembership<NodeId, TrentNode>;
/// Storage errors as openraft wants them.
pub type StorageError = openraft::StorageError<NodeId>;
/// A log entry of this config.
pub type Entry = openraft::Entry<TypeConfig>;
/// Snapshot metadata of this config.
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, TrentNode>;
