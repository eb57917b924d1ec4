//! The root key's admin calls: rekey (a new share split of the same root key, confirmed by the
//! first unseal with the new shares) and keyring rotation (a new barrier key version).

use trent_storage::Command;
use trent_wire::admin::{RekeyResponse, RotateResponse};
use trent_wire::{ErrorCode, KmsError};

use crate::node::Node;
use crate::seal::keyring::Keyring;
use crate::seal::shares::{split, split_record};
use crate::write_path::Proposal;

fn sealed() -> KmsError {
    KmsError::new(ErrorCode::ServiceUnavailable, "This node is sealed")
}

fn internal(what: &str) -> KmsError {
    KmsError::new(ErrorCode::Internal, format!("{what} failed"))
}

/// A new split of the root key, recorded as current before the shares are returned. Until a
/// node has been unsealed with the new shares (which confirms them), the last confirmed split's
/// shares keep unsealing too, so a reply lost on the way never leaves the operators without
/// working shares; after that only the new ones do. (The root key is the same: see
/// docs/security.md for what that means for someone who kept old shares *and* a copy of the
/// data.)
pub async fn rekey(node: &Node, shares: u32, threshold: u32) -> Result<RekeyResponse, KmsError> {
    node.linearizable_read().await?;
    let replaces = node.registry.read().unseal_splits().map(|splits| splits.current.fingerprint);
    let encoded = node
        .seal
        .with_root(|root, keyring| split(root, keyring.cluster_id(), shares, threshold))
        .map_err(|_| sealed())?
        .map_err(|error| KmsError::new(ErrorCode::Validation, error.to_string()))?;
    let record = split_record(&encoded).map_err(|_| internal("recording the split"))?;
    node.write_proposal(Proposal::Command(Command::RecordUnsealSplit { split: record, replaces })).await?;
    tracing::info!(
        shares,
        threshold,
        "rekeyed: the previous shares stop unsealing once a node is unsealed with the new ones"
    );
    Ok(RekeyResponse { shares: encoded.iter().map(|share| share.to_string()).collect(), threshold })
}

/// How long confirming a rekey may hold up the unseal that confirms it.
const CONFIRM_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A node was just unsealed: if its shares were a rekey's that is not confirmed yet, confirm it,
/// so the shares from before the rekey stop unsealing. Best effort: the next unseal with the new
/// shares tries again.
pub async fn confirm_rekey_if_unsealed_by_it(node: &Node) {
    let Some(opened_by) = node.seal.opened_by() else {
        return;
    };
    let pending = node.registry.read().unseal_splits().is_some_and(|splits| {
        splits.retiring.is_some() && splits.current.fingerprint == opened_by.fingerprint
    });
    if !pending {
        return;
    }
    let confirm = Command::ConfirmUnsealSplit { fingerprint: opened_by.fingerprint };
    match tokio::time::timeout(CONFIRM_WAIT, node.write_proposal(Proposal::Command(confirm))).await {
        Ok(Ok(_)) => tracing::info!("rekey confirmed: the shares from before it no longer unseal"),
        Ok(Err(error)) => {
            tracing::warn!(%error, "could not confirm the rekey; the next unseal with its shares tries again")
        }
        Err(_) => {
            tracing::warn!("confirming the rekey timed out; the next unseal with its shares tries again")
        }
    }
}

/// Adds a barrier key version and replicates the resealed keyring.
pub async fn rotate(node: &Node) -> Result<RotateResponse, KmsError> {
    node.linearizable_read().await?;
    let current = node
        .registry
        .read()
        .keyring()
        .cloned()
        .ok_or_else(|| KmsError::new(ErrorCode::InvalidState, "The cluster is not initialised"))?;
    let (resealed, barrier_version) = node
        .seal
        .with_root(|root, _| -> Result<_, KmsError> {
            let mut keyring = Keyring::open(&current, root).map_err(|_| internal("opening the keyring"))?;
            let version = keyring.rotate().map_err(|_| internal("making a barrier key"))?;
            let resealed = keyring.seal(root).map_err(|_| internal("sealing the keyring"))?;
            Ok((resealed, version))
        })
        .map_err(|_| sealed())??;
    node.write_proposal(Proposal::Command(Command::ReplaceKeyring { keyring: resealed.clone() })).await?;
    node.seal.refresh(&resealed).map_err(|_| internal("refreshing the keyring"))?;
    tracing::info!(barrier_version, "keyring rotated");
    Ok(RotateResponse { barrier_version })
}
