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
/// How long init waits for a new cluster's level to rise before it asks the members why not.
const SETTLE_WAIT: Duration = Duration::from_secs(3);
/// How long init waits in all while every member supports the new level.
const SETTLE_LIMIT: Duration = Duration::from_secs(10);

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
/// proposed, if any. Holds the membership gate, so no learner joins between the question and
/// the raise.
pub async fn raise_if_every_member_supports(node: &Node) -> Result<Option<u32>, KmsError> {
    let _gate = node.membership_gate.lock().await;
    let current = node.feature_level();
    let level = every_member_supports(node).await?;
    if level <= current {
        return Ok(None);
    }
    node.write_proposal(Proposal::Command(Command::RaiseFeatureLevel { level })).await?;
    Ok(Some(level))
}

/// The highest level every member (voters and learners, this node included) supports; an error
/// if one cannot be asked.
pub async fn every_member_supports(node: &Node) -> Result<u32, KmsError> {
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
    Ok(level)
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
/// init records is recorded in the newest form every member decodes. If it has not risen, init
/// goes on without what needs it only when a member really runs an older build; when every
/// member supports it and the leader has not raised it yet (a member was slow to answer), init
/// is refused with a retry, rather than made weaker.
pub async fn settle(node: &Node) -> Result<(), KmsError> {
    let started = Instant::now();
    loop {
        let level = node.feature_level();
        if level >= node.supported_feature_level() {
            return Ok(());
        }
        if started.elapsed() >= SETTLE_WAIT {
            let unavailable = |why: String| {
                KmsError::new(
                    ErrorCode::ServiceUnavailable,
                    format!("The cluster's feature level is {level} and has not risen yet ({why}); retry init in a moment"),
                )
            };
            match every_member_supports(node).await {
                // A member runs an older build: init as that build would (no unseal split record).
                Ok(supported) if supported <= level => return Ok(()),
                Ok(supported) if started.elapsed() >= SETTLE_LIMIT => {
                    return Err(unavailable(format!("every member supports level {supported}")))
                }
                Err(error) if started.elapsed() >= SETTLE_LIMIT => return Err(unavailable(error.message)),
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
