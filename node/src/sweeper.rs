//! Deletes keys whose pending-deletion window has passed, expires imported key material at its
//! `ValidTo` and forgets import parameters past their `ParametersValidTo`. Runs on every node,
//! acts only on the leader, and proposes one command per due item; `apply` re-checks each date,
//! so a sweep racing a `CancelKeyDeletion` cannot delete a rescued key, nor one racing a
//! re-import expire the material it renewed.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use trent_storage::{Command, RequestId};
use trent_wire::admin::NodeRole;
use uuid::Uuid;

use crate::node::Node;
use crate::write_path::{ForwardedProposal, Proposal};

/// How long expired import parameters are kept before the sweep forgets them: until then an
/// import with their token is told it expired (`ExpiredImportTokenException`) rather than that
/// it is unknown.
pub const EXPIRED_IMPORT_PARAMETERS_KEPT_MS: u64 = 24 * 60 * 60 * 1000;

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
        let now_ms = node.now_ms();
        let (due, expiring, forgotten) = {
            let registry = node.registry.read();
            (
                registry.keys_due_for_deletion(now_ms, MAX_DELETIONS_PER_SWEEP),
                registry.imported_material_due(now_ms, MAX_DELETIONS_PER_SWEEP),
                registry.import_parameters_due(
                    now_ms.saturating_sub(EXPIRED_IMPORT_PARAMETERS_KEPT_MS),
                    MAX_DELETIONS_PER_SWEEP,
                ),
            )
        };
        for key_id in due {
            match propose(&node, Command::DeleteExpiredKey { key_id }).await {
                Ok(()) => tracing::info!(%key_id, "deleted key whose deletion window passed"),
                Err(error) => tracing::warn!(%key_id, %error, "could not delete due key"),
            }
        }
        for (key_id, material_id, valid_to_ms) in expiring {
            match propose(&node, Command::ExpireImportedKeyMaterial { key_id, material_id, valid_to_ms })
                .await
            {
                Ok(()) => {
                    tracing::info!(%key_id, %material_id, "expired imported key material at its ValidTo")
                }
                Err(error) => tracing::warn!(%key_id, %error, "could not expire imported key material"),
            }
        }
        for token_id in forgotten {
            if let Err(error) = propose(&node, Command::ForgetImportParameters { token_id }).await {
                tracing::warn!(?token_id, %error, "could not forget expired import parameters");
            }
        }
    }
}

async fn propose(node: &Node, command: Command) -> Result<(), trent_wire::KmsError> {
    let proposal =
        ForwardedProposal { request_id: RequestId(Uuid::new_v4()), proposal: Proposal::Command(command) };
    node.write(proposal).await.map(drop)
}
