//! Deletes keys whose pending-deletion window has passed. Runs on every node, acts only on the
//! leader, and proposes one `DeleteExpiredKey` per due key; `apply` re-checks the date, so a
//! sweep racing a `CancelKeyDeletion` cannot delete a rescued key.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use trent_storage::{Command, RequestId};
use trent_wire::admin::NodeRole;
use uuid::Uuid;

use crate::node::Node;
use crate::write_path::{ForwardedProposal, Proposal};

/// Most keys deleted per sweep, so a backlog cannot monopolise the log.
pub const MAX_DELETIONS_PER_SWEEP: usize = 100;

/// Runs until `shutdown` turns true.
pub async fn run(node: Arc<Node>, mut shutdown: watch::Receiver<bool>) {
    // How often the leader looks for due keys (`sweep_interval_ms`, 1 s unless a test shortens it).
    let mut ticker = tokio::time::interval(Duration::from_millis(node.config.sweep_interval_ms.max(10)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        if node.role() != NodeRole::Leader {
            continue;
        }
        let due = node.registry.read().keys_due_for_deletion(node.now_ms(), MAX_DELETIONS_PER_SWEEP);
        for key_id in due {
            let proposal = ForwardedProposal {
                request_id: RequestId(Uuid::new_v4()),
                proposal: Proposal::Command(Command::DeleteExpiredKey { key_id }),
            };
            match node.write(proposal).await {
                Ok(_) => tracing::info!(%key_id, "deleted key whose deletion window passed"),
                Err(error) => tracing::warn!(%key_id, %error, "could not delete due key"),
            }
        }
    }
}
