//! Messages of the peer API and the paths they travel on.

use serde::{Deserialize, Serialize};
use trent_storage::{CommandResult, KeyId, NodeId, TrentNode};
use trent_wire::KmsError;

use crate::key_usage::LastUse;
use crate::write_path::ForwardedProposal;

/// Raft AppendEntries.
pub const APPEND_ENTRIES: &str = "/raft/append-entries";
/// Raft RequestVote.
pub const VOTE: &str = "/raft/vote";
/// Raft InstallSnapshot (one chunk).
pub const INSTALL_SNAPSHOT: &str = "/raft/install-snapshot";
/// A [`LeaderOp`].
pub const LEADER_OP: &str = "/cluster/leader-op";
/// The highest feature level the receiver supports (an empty body; a [`FeatureReport`] back).
pub const FEATURES: &str = "/cluster/features";
/// This node's last use of one key (a [`KeyUsageQuery`]; a [`KeyUsageReport`] back). A build
/// from before GetKeyLastUsage answers 404.
pub const KEY_USAGE: &str = "/cluster/key-usage";

/// One member's part of a cluster-wide audit query ([`PeerAuditQuery`] in, [`PeerAuditPage`]
/// out). A build without it answers 404, and the querying node reports it unreachable.
pub const AUDIT_QUERY: &str = "/cluster/audit-query";

/// A page of the receiver's own audit log. The filter and the page travel as JSON inside the
/// peer encoding: records hold free-form JSON (`requestParameters`) that bincode cannot carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerAuditQuery {
    /// A `trent_audit::Filter`, as JSON.
    pub filter_json: String,
    /// The sequence after which to go on.
    pub after: Option<u64>,
    /// Most records.
    pub limit: u32,
}

/// The answer to a [`PeerAuditQuery`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerAuditPage {
    /// A `trent_audit::QueryPage`, as JSON.
    pub page_json: Vec<u8>,
}

/// What a node says when asked which cluster feature level it supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureReport {
    /// The highest level this node's build (and configuration) supports.
    pub supported_level: u32,
}

/// Which key's last use a node asks another for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyUsageQuery {
    /// The key.
    pub key_id: KeyId,
}

/// What a node knows of one key's use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyUsageReport {
    /// When the answering node first tracked, ms since the epoch.
    pub tracking_start_ms: u64,
    /// Its last use of the key, if it served one since then.
    pub last_use: Option<LastUse>,
}

/// Largest peer request or response body. An append carries at most `max_payload_entries` (32)
/// entries of at most ~110 KiB each (one maximal request; batches are capped at 64 KiB), and a
/// snapshot chunk is at most 3 MiB, so 16 MiB leaves room without inviting abuse.
pub const MAX_PEER_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Memory all peer request bodies in flight on a node may hold together: a few appends and a
/// snapshot chunk from each of a handful of peers.
pub const MAX_PEER_REQUEST_MEMORY_BYTES: usize = 128 * 1024 * 1024;

/// Something only the leader can do, sent by a node that is not the leader.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum LeaderOp {
    /// Stamp and propose a batch of writes as one log entry.
    WriteBatch(Vec<ForwardedProposal>),
    /// Confirm leadership with a quorum and return the index a linearizable read must wait for.
    ReadIndex,
    /// Add a learner and wait until it has caught up.
    AddLearner {
        /// Its id.
        node_id: NodeId,
        /// Its addresses.
        node: TrentNode,
    },
    /// Make a learner a voter.
    Promote {
        /// The learner.
        node_id: NodeId,
    },
    /// Remove a voter or learner from the cluster.
    Remove {
        /// The member.
        node_id: NodeId,
    },
}

/// The leader's answer to a [`LeaderOp`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum LeaderReply {
    /// The batch committed and applied with these results, one per write.
    Written {
        /// One result per write.
        results: Vec<CommandResult>,
        /// The leader's committed index when it answered (covers every write of the batch):
        /// the forwarding node applies up to it before acknowledging, so a client reads its
        /// writes on the node it wrote through.
        commit_index: Option<u64>,
    },
    /// Reads are linearizable once this index is applied.
    ReadIndex(Option<u64>),
    /// The membership change committed at this log index.
    MembershipChanged {
        /// Log index of the membership entry.
        log_index: u64,
    },
    /// The receiver is not the leader; it names the leader it knows of.
    NotLeader(Option<NodeId>),
    /// The operation failed.
    Failed(KmsError),
}
