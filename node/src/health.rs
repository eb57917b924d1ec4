//! Whether this node is alive and whether it is ready, as `GET /v1/sys/health` (ready),
//! `GET /v1/sys/health/live` and `trentd healthcheck` report it, and the watch that takes a node
//! whose Raft has stopped out of service.
//!
//! - **Live**: the process serves and its Raft runs. Raft stops for good on a storage error it
//!   cannot get past; such a node is not live, says why, and `trentd server` exits (status 1)
//!   so that a supervisor restarts it rather than route calls to a node that can only refuse.
//! - **Ready**: live, initialised, unsealed, and holding evidence from a leader younger than the
//!   consistency bound (see [`crate::freshness`]), so it serves every call. A sealed node, a
//!   node cut off from the quorum, and a node of an uninitialised cluster are live but not ready.

use openraft::error::Fatal;
use tokio::sync::watch;
use trent_storage::NodeId;
use trent_wire::admin::HealthResponse;

use crate::node::Node;

/// This node's health. A node without fresh evidence asks for it first and waits up to one
/// renewal period, as a crypto call would: health says whether a call made now is served.
pub async fn health(node: &Node) -> HealthResponse {
    let metrics = node.raft.metrics().borrow().clone();
    let sealed = node.seal.status().sealed;
    let initialized = node.registry.read().is_initialized();
    let mut problems = Vec::new();
    let live = match &metrics.running_state {
        Ok(()) => true,
        Err(fatal) => {
            problems.push(format!("raft stopped: {fatal}"));
            false
        }
    };
    if !initialized {
        problems.push("not initialised".to_owned());
    }
    if sealed {
        problems.push("sealed".to_owned());
    }
    if let Some(failure) = node.audit.failure() {
        problems.push(format!("the audit trail cannot write ({failure}): calls are refused"));
    }
    if live {
        if let Err(stale) = node.freshness.check_or_renew().await {
            let since = match stale.age {
                Some(age) => format!("for {} ms", age.as_millis()),
                None => "since it started".to_owned(),
            };
            problems.push(format!(
                "not in touch with a leader {since} (consistency bound {} ms)",
                node.freshness.bound().as_millis()
            ));
        }
    }
    HealthResponse {
        live,
        ready: problems.is_empty(),
        problems,
        node_id: node.id(),
        role: node.role(),
        sealed,
        initialized,
        leader_id: metrics.current_leader,
        term: metrics.current_term,
        last_applied_index: metrics.last_applied.map(|log_id| log_id.index),
        last_log_index: metrics.last_log_index,
    }
}

/// Resolves with the reason once Raft has stopped on its own (a fatal storage error, a panic in
/// its core), or with `None` once `shutdown` asks the node to stop (the shutdown waits for this
/// task, so it must end rather than wait forever). Logs the reason as an error.
pub async fn raft_failure(node: &Node, mut shutdown: watch::Receiver<bool>) -> Option<String> {
    let mut metrics = node.raft.metrics();
    loop {
        let fatal = metrics.borrow().running_state.clone().err();
        match fatal {
            Some(Fatal::Stopped) | None if *shutdown.borrow() => return None,
            Some(fatal) => {
                let reason = describe(&fatal);
                tracing::error!(
                    node_id = node.id(),
                    reason = %reason,
                    "Raft has stopped: this node is out of service (health answers 503) and must be restarted"
                );
                return Some(reason);
            }
            None => {}
        }
        tokio::select! {
            changed = metrics.changed() => {
                if changed.is_err() {
                    // The metrics sender is gone with Raft itself.
                    let reason = "Raft has stopped".to_owned();
                    if *shutdown.borrow() {
                        return None;
                    }
                    tracing::error!(node_id = node.id(), "Raft has stopped: this node is out of service");
                    return Some(reason);
                }
            }
            changed = shutdown.changed() => {
                // The sender is gone: whoever started this node is stopping it.
                if changed.is_err() {
                    return None;
                }
            }
        }
    }
}

fn describe(fatal: &Fatal<NodeId>) -> String {
    match fatal {
        Fatal::StorageError(error) => format!("storage error: {error}"),
        other => other.to_string(),
    }
}
