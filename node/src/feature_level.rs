//! Raises the cluster feature level once every member supports a higher one. Runs on every
//! node, acts only on the leader: it asks each member (voters and learners) which level its
//! build supports and, when all of them — itself included — support more than the cluster's
//! level, proposes `RaiseFeatureLevel`. A member that cannot be asked holds the level where it
//! is; a build from before feature levels answers the question 404, which is level 0.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use trent_storage::{Command, NodeId, TrentNode};
use trent_wire::admin::NodeRole;
use trent_wire::{ErrorCode, KmsError};

use crate::node::Node;
use crate::peer::protocol::{FeatureReport, FEATURES};
use crate::write_path::Proposal;

/// How often the leader checks, while the level is below what it supports.
pub const RAISE_INTERVAL: Duration = Duration::from_millis(500);
/// How long one member may take to answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(1);
/// How long init waits for a new cluster's level to rise before it goes on without.
const SETTLE_WAIT: Duration = Duration::from_secs(3);

/// Runs until `shutdown` turns true.
pub async fn run(node: Arc<Node>, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(RAISE_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        if node.role() != NodeRole::Leader || node.feature_level() >= node.supported_feature_level() {
            continue;
        }
        match raise_if_every_member_supports(&node).await {
            Ok(Some(level)) => {
                tracing::info!(level, "every member supports it: cluster feature level raised")
            }
            Ok(None) => {}
            Err(error) => tracing::debug!(%error, "cluster feature level not raised"),
        }
    }
}

/// Proposes the highest level every member supports, if it is above the cluster's; the level
/// proposed, if any.
pub async fn raise_if_every_member_supports(node: &Node) -> Result<Option<u32>, KmsError> {
    let current = node.feature_level();
    let members: Vec<(NodeId, TrentNode)> = {
        let metrics = node.raft.metrics();
        let metrics = metrics.borrow();
        metrics.membership_config.membership().nodes().map(|(id, member)| (*id, member.clone())).collect()
    };
    let mut level = node.supported_feature_level();
    for (id, member) in members.iter().filter(|(id, _)| *id != node.id()) {
        let supported = supported_level(node, &member.peer_addr).await.map_err(|reason| {
            KmsError::new(
                ErrorCode::DependencyTimeout,
                format!("member {id} did not say its level: {reason}"),
            )
        })?;
        level = level.min(supported);
    }
    if level <= current {
        return Ok(None);
    }
    node.write_proposal(Proposal::Command(Command::RaiseFeatureLevel { level })).await?;
    Ok(Some(level))
}

/// The feature level the node at `peer_addr` supports (0 for a build before levels).
pub async fn supported_level(node: &Node, peer_addr: &str) -> Result<u32, String> {
    let (status, body) = node
        .peers
        .post_any_status(peer_addr, FEATURES, Vec::new(), ASK_TIMEOUT)
        .await
        .map_err(|error| error.to_string())?;
    match status {
        200 => trent_storage::codec::decode::<FeatureReport>(&body)
            .map(|report| report.supported_level)
            .map_err(|error| format!("undecodable report: {error}")),
        404 => Ok(0),
        status => Err(format!("HTTP {status}")),
    }
}

/// Waits (briefly) for a new cluster's level to reach what this node supports, so that what
/// init records is recorded in the newest form every member decodes. Goes on without if a
/// member runs an older build.
pub async fn settle(node: &Node) {
    let deadline = Instant::now() + SETTLE_WAIT;
    while node.feature_level() < node.supported_feature_level() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
