//! `GetKeyLastUsage`: the latest successful cryptographic use of a key anywhere in the cluster.
//!
//! Each node tracks the uses it served ([`crate::key_usage`]); the node answering asks every
//! other member (voters and learners) for its entry over the peer API, in parallel and briefly,
//! and takes the latest. A member that does not answer (down, or a build without the question)
//! is left out: its uses come back once it does. Nothing is written through Raft.

use std::time::Duration;

use trent_storage::{codec, KeyId, NodeId, TrentNode};
use trent_wire::kms::{GetKeyLastUsageResponse, KeyIdRequest, KeyLastUsage};
use trent_wire::{ErrorCode, KmsError};

use super::identifiers::{key_arn, parse_key_ref, resolve, AliasUse, KeyRef};
use super::metadata::epoch_seconds;
use super::Call;
use crate::key_usage::latest;
use crate::node::Node;
use crate::peer::protocol::{KeyUsageQuery, KeyUsageReport, KEY_USAGE};

/// How long one member may take to say what it knows.
const ASK_TIMEOUT: Duration = Duration::from_secs(1);

/// `GetKeyLastUsage`. Key id or key ARN only: AWS supports no alias here, and names no
/// `ValidationException` among the operation's errors, so an alias is `NotFoundException`. A
/// key in any state answers (AWS lists no `KMSInvalidStateException` for it, and advises
/// checking a key's use around its deletion).
pub async fn get_key_last_usage(
    call: &Call<'_>,
    request: KeyIdRequest,
) -> Result<GetKeyLastUsageResponse, KmsError> {
    let key_id = match parse_key_ref(&request.key_id, "keyId", call.scope(), AliasUse::Allowed)? {
        KeyRef::Id(key_id) => key_id,
        KeyRef::Alias(_) => {
            return Err(KmsError::new(
                ErrorCode::NotFound,
                format!(
                    "Invalid keyId '{}': GetKeyLastUsage takes a key id or key ARN, not an alias",
                    request.key_id
                ),
            ))
        }
    };
    let created_at_ms = {
        let registry = call.linearizable_registry().await?;
        let key = resolve(&registry, &KeyRef::Id(key_id), call.scope())?;
        call.confirm_authorized(key.key_id)?;
        key.created_at_ms
    };
    let node = call.node();
    let mut reports = ask_other_members(node, key_id).await;
    reports.push(KeyUsageReport {
        tracking_start_ms: node.key_usage.tracking_start_ms(),
        last_use: node.key_usage.last_use(key_id),
    });
    // The latest start among those that answered: one that began later may have missed uses.
    let tracking_start_ms = reports.iter().map(|report| report.tracking_start_ms).max().unwrap_or(0);
    let last_use = latest(reports.iter().filter_map(|report| report.last_use));
    Ok(GetKeyLastUsageResponse {
        key_id: key_arn(call.scope(), key_id),
        key_last_usage: last_use
            .map(|used| KeyLastUsage {
                operation: Some(used.operation.name().to_owned()),
                timestamp: Some(epoch_seconds(used.at_ms)),
                cloud_trail_event_id: Some(used.event_id.hyphenated().to_string()),
                kms_request_id: Some(used.request_id.hyphenated().to_string()),
            })
            .unwrap_or_default(),
        tracking_start_date: epoch_seconds(tracking_start_ms.max(created_at_ms)),
        key_creation_date: epoch_seconds(created_at_ms),
    })
}

/// What every other member of the current membership knows of `key_id`'s use, from those that
/// answered within [`ASK_TIMEOUT`].
async fn ask_other_members(node: &Node, key_id: KeyId) -> Vec<KeyUsageReport> {
    let members: Vec<(NodeId, TrentNode)> = {
        let metrics = node.raft.metrics();
        let metrics = metrics.borrow();
        metrics.membership_config.membership().nodes().map(|(id, member)| (*id, member.clone())).collect()
    };
    let body = match codec::encode_at(node.peer_format(), &KeyUsageQuery { key_id }) {
        Ok(body) => body,
        Err(error) => {
            tracing::warn!(%error, "cannot encode a key usage question; answering from this node alone");
            return Vec::new();
        }
    };
    let questions = members
        .iter()
        .filter(|(id, _)| *id != node.id())
        .map(|(id, member)| ask(node, *id, &member.peer_addr, body.clone()));
    futures::future::join_all(questions).await.into_iter().flatten().collect()
}

async fn ask(node: &Node, member: NodeId, peer_addr: &str, body: Vec<u8>) -> Option<KeyUsageReport> {
    let answer = match node.peers.post(peer_addr, KEY_USAGE, body, ASK_TIMEOUT).await {
        Ok(answer) => answer,
        Err(error) => {
            tracing::debug!(member, %error, "member did not say its key usage; answering without it");
            return None;
        }
    };
    match codec::decode::<KeyUsageReport>(&answer) {
        Ok(report) => Some(report),
        Err(error) => {
            tracing::debug!(member, %error, "undecodable key usage report; answering without it");
            None
        }
    }
}
