//! The leader's scheduled writes: deletes keys whose pending-deletion window has passed,
//! rotates keys whose automatic rotation is due, expires imported key material at its `ValidTo`
//! and forgets import parameters past their `ParametersValidTo`. Runs on every node, acts only
//! on the leader, and proposes one command per due item; `apply` re-checks each date, so a sweep
//! racing a `CancelKeyDeletion` cannot delete a rescued key, one racing a re-import cannot
//! expire the material it renewed, and a due date that two leaders both propose (one before a
//! crash, one after) rotates once. On every node, each sweep also drops unwrapped material the
//! registry no longer holds (deleted or expired imported material, deleted keys).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use trent_storage::{Command, RequestId, RotationKind};
use trent_wire::admin::NodeRole;
use uuid::Uuid;

use crate::log_budget::LogBudget;
use crate::node::Node;
use crate::write_path::{ForwardedProposal, Proposal};

/// How long expired import parameters are kept before the sweep forgets them: until then an
/// import with their token is told it expired (`ExpiredImportTokenException`) rather than that
/// it is unknown.
pub const EXPIRED_IMPORT_PARAMETERS_KEPT_MS: u64 = 24 * 60 * 60 * 1000;

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
        node.seal.forget_materials(&node.registry.read());
        if node.role() != NodeRole::Leader {
            continue;
        }
        delete_expired_keys(&node).await;
        rotate_due_keys(&node).await;
        expire_imports(&node).await;
    }
}

async fn delete_expired_keys(node: &Node) {
    let due = node.registry.read().keys_due_for_deletion(node.now_ms(), MAX_DELETIONS_PER_SWEEP);
    for key_id in due {
        match propose(node, Proposal::Command(Command::DeleteExpiredKey { key_id })).await {
            Ok(()) => {
                tracing::info!(%key_id, "deleted key whose deletion window passed");
                crate::audit::record_service_event(node, "DeleteKey", key_id, None).await;
            }
            Err(error) => tracing::warn!(%key_id, %error, "could not delete due key"),
        }
    }
}

async fn rotate_due_keys(node: &Node) {
    let due = node.registry.read().keys_due_for_rotation(node.now_ms(), MAX_ROTATIONS_PER_SWEEP);
    for (key_id, due_at_ms) in due {
        let proposal = Proposal::RotateKey { key_id, kind: RotationKind::Automatic { due_at_ms } };
        match propose(node, proposal).await {
            Ok(()) => {
                tracing::info!(%key_id, due_at_ms, "rotated key whose automatic rotation was due");
                crate::audit::record_service_event(node, "RotateKey", key_id, None).await;
            }
            // A sealed leader fails every rotation at every sweep until it is unsealed: one line a
            // second says so.
            Err(error) if ROTATION_FAILURES.allow() => {
                tracing::warn!(%key_id, due_at_ms, %error, "could not rotate due key")
            }
            Err(_) => {}
        }
    }
}

async fn expire_imports(node: &Node) {
    let now_ms = node.now_ms();
    let (expiring, forgotten) = {
        let registry = node.registry.read();
        let kept_since = now_ms.saturating_sub(EXPIRED_IMPORT_PARAMETERS_KEPT_MS);
        (
            registry.imported_material_due(now_ms, MAX_DELETIONS_PER_SWEEP),
            registry.import_parameters_due(kept_since, MAX_DELETIONS_PER_SWEEP),
        )
    };
    for (key_id, material_id, valid_to_ms) in expiring {
        let command = Command::ExpireImportedKeyMaterial { key_id, material_id, valid_to_ms };
        match propose(node, Proposal::Command(command)).await {
            Ok(()) => {
                tracing::info!(%key_id, %material_id, "expired imported key material at its ValidTo");
                let details = serde_json::json!({ "keyMaterialId": material_id.to_string() });
                crate::audit::record_service_event(node, "DeleteExpiredKeyMaterial", key_id, Some(details))
                    .await;
            }
            Err(error) => tracing::warn!(%key_id, %error, "could not expire imported key material"),
        }
    }
    for token_id in forgotten {
        if let Err(error) =
            propose(node, Proposal::Command(Command::ForgetImportParameters { token_id })).await
        {
            tracing::warn!(?token_id, %error, "could not forget expired import parameters");
        }
    }
}

/// Proposes a scheduled write: no client retries it, so it has an id of its own.
async fn propose(node: &Node, proposal: Proposal) -> Result<(), trent_wire::KmsError> {
    node.write(ForwardedProposal { request_id: RequestId(Uuid::new_v4()), proposal }).await.map(drop)
}
