//! `trent cluster` (how the cluster looks) and `trent members` (changing who is in it).

use clap::Subcommand;

/// `trent cluster ...`
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// The cluster as one node sees it: leader, term, log indexes, members.
    Status,
    /// The health of every endpoint; exits 1 if any does not answer.
    Health,
}

/// `trent members ...`
#[derive(Debug, Subcommand)]
pub enum MembersCommand {
    /// Add a node as a learner.
    Add {
        /// The new node's id.
        node_id: u64,
        /// Its client API address (host:port).
        api_addr: String,
        /// Its Raft peer address (host:port).
        peer_addr: String,
    },
    /// Make a learner a voter.
    Promote {
        /// The node's id.
        node_id: u64,
    },
    /// Remove a node from the cluster.
    Remove {
        /// The node's id.
        node_id: u64,
    },
}
