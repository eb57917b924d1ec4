//! Promotions and removals on the leader: the guard that promotes only a learner that has caught
//! up (a voter that cannot acknowledge leaves the cluster one failure from losing its quorum),
//! and the bound on how long a membership change may take to commit.

use std::time::Duration;

use trent_storage::{NodeId, RequestBatch, TypeConfig};
use trent_wire::{ErrorCode, KmsError};

use crate::node::{write_error_reply, Node, WriteError};
use crate::peer::protocol::LeaderReply;

/// How long the leader waits for a learner to acknowledge a fresh entry before promoting it.
const PROMOTE_CATCH_UP_WAIT: Duration = Duration::from_secs(3);
/// Longest a promotion or removal may take to commit on the leader.
const MEMBERSHIP_CHANGE_TIMEOUT: Duration = Duration::from_secs(5);

impl Node {
    /// Refuses to promote anything but a live learner that has caught up: promoting a node that
    /// cannot acknowledge (nothing listens at its address, it is down, it lags far behind) makes
    /// it a voter the quorum then waits for — one more failure and the cluster cannot commit,
    /// not even the removal that would undo it. The proof is a fresh, empty entry the learner
    /// must acknowledge within [`PROMOTE_CATCH_UP_WAIT`].
    pub(crate) async fn learner_is_caught_up(&self, node_id: NodeId) -> Result<(), KmsError> {
        let (is_voter, is_member) = {
            let metrics = self.raft.metrics();
            let metrics = metrics.borrow();
            let membership = metrics.membership_config.membership();
            (membership.voter_ids().any(|id| id == node_id), membership.get_node(&node_id).is_some())
        };
        if !is_member {
            return Err(KmsError::new(
                ErrorCode::NotFound,
                format!("Node {node_id} is not a member; add it as a learner first"),
            ));
        }
        if is_voter {
            return Err(KmsError::new(
                ErrorCode::AlreadyExists,
                format!("Node {node_id} is already a voter"),
            ));
        }
        let probe_write = self.raft.client_write(RequestBatch { requests: Vec::new() });
        let probe = match tokio::time::timeout(PROMOTE_CATCH_UP_WAIT, probe_write).await {
            Ok(Ok(response)) => response.log_id.index,
            Ok(Err(error)) => {
                return Err(match write_error_reply(error) {
                    LeaderReply::Failed(error) => error,
                    _ => KmsError::new(ErrorCode::ServiceUnavailable, "This node stopped being the leader"),
                })
            }
            Err(_) => return Err(KmsError::new(
                ErrorCode::DependencyTimeout,
                "The leader could not commit an entry: the cluster has no quorum to promote anything with",
            )),
        };
        let caught_up = self
            .raft
            .wait(Some(PROMOTE_CATCH_UP_WAIT))
            .metrics(
                |metrics| {
                    metrics
                        .replication
                        .as_ref()
                        .and_then(|replication| replication.get(&node_id).cloned().flatten())
                        .is_some_and(|matched| matched.index >= probe)
                },
                "learner acknowledges the probe",
            )
            .await;
        if caught_up.is_err() {
            return Err(KmsError::new(
                ErrorCode::InvalidState,
                format!(
                    "Node {node_id} has not caught up with the leader (it did not acknowledge log index {probe} within {}s): a voter that cannot acknowledge would leave the cluster one failure from losing its quorum. Check that it runs and reaches its peers, then promote it again",
                    PROMOTE_CATCH_UP_WAIT.as_secs()
                ),
            ));
        }
        Ok(())
    }
}

/// Runs a membership change for at most [`MEMBERSHIP_CHANGE_TIMEOUT`].
pub(crate) async fn bounded_membership_change(
    change: impl std::future::Future<Output = Result<openraft::raft::ClientWriteResponse<TypeConfig>, WriteError>>,
) -> LeaderReply {
    match tokio::time::timeout(MEMBERSHIP_CHANGE_TIMEOUT, change).await {
        Ok(result) => membership_reply(result),
        Err(_) => LeaderReply::Failed(KmsError::new(
            ErrorCode::DependencyTimeout,
            format!(
                "The membership change did not commit within {}s: a quorum of the new configuration is not reachable. It completes on its own once enough members are back (see docs/operations.md, \"A stuck membership change\")",
                MEMBERSHIP_CHANGE_TIMEOUT.as_secs()
            ),
        )),
    }
}

pub(crate) fn membership_reply(
    result: Result<openraft::raft::ClientWriteResponse<TypeConfig>, WriteError>,
) -> LeaderReply {
    match result {
        Ok(response) => LeaderReply::MembershipChanged { log_index: response.log_id.index },
        Err(error) => write_error_reply(error),
    }
}
