//! The leader's scheduled writes: deletes keys whose pending-deletion window has passed, and
//! rotates keys whose automatic rotation is due. Runs on every node, acts only on the leader,
//! and proposes one `DeleteExpiredKey` or `RotateKey` per due key; `apply` re-checks the date,
//! so a sweep racing a `CancelKeyDeletion` cannot delete a rescued key, and a due date that two
//! leaders both propose (one before a crash, one after) rotates once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use trent_storage::{Command, RequestId, RotationKind};
use trent_wire::admin::NodeRole;
use uuid::Uuid;

use crate::log_budget::LogBudget;
use crate::node::Node;
use crate::write_path::{ForwardedProposal, Proposal};

/// Most keys deleted per sweep, so a backlog cannot monopolise the log.
pub const MAX_DELETIONS_PER_SWEEP: usize = 100;
/// Most keys rotated per sweep: each rotation seals new material on the leader.
pub const MAX_ROTATIONS_PER_SWEEP: usize = 100;

static ROTATION_FAILURES: LogBudget = LogBudget::new();

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
        delete_expired_keys(&node).await;
        rotate_due_keys(&node).await;
    }
}

async fn delete_expired_keys(node: &Node) {
    let due = node.registry.read().keys_due_for_deletion(node.now_ms(), MAX_DELETIONS_PER_SWEEP);
    for key_id in due {
        let proposal = Proposal::Command(Command::DeleteExpiredKey { key_id });
        match node.write(scheduled(proposal)).await {
            Ok(_) => tracing::info!(%key_id, "deleted key whose deletion window passed"),
            Err(error) => tracing::warn!(%key_id, %error, "could not delete due key"),
        }
    }
}

async fn rotate_due_keys(node: &Node) {
    let due = node.registry.read().keys_due_for_rotation(node.now_ms(), MAX_ROTATIONS_PER_SWEEP);
    for (key_id, due_at_ms) in due {
        let proposal = Proposal::RotateKey { key_id, kind: RotationKind::Automatic { due_at_ms } };
        match node.write(scheduled(proposal)).await {
            Ok(_) => tracing::info!(%key_id, due_at_ms, "rotated key whose automatic rotation was due"),
            // A sealed leader fails every rotation at every sweep until it is unsealed: one line a
            // second says so.
            Err(error) if ROTATION_FAILURES.allow() => {
                tracing::warn!(%key_id, due_at_ms, %error, "could not rotate due key")
            }
            Err(_) => {}
        }
    }
}

/// A scheduled write: no client retries it, so it has an id of its own.
fn scheduled(proposal: Proposal) -> ForwardedProposal {
    ForwardedProposal { request_id: RequestId(Uuid::new_v4()), proposal }
}
