//! The admin API under `/v1/sys/`: health (see [`crate::health`]), seal status, init, unseal and seal, cluster view,
//! membership changes, access keys, users and the authorization explainer. JSON in, JSON out,
//! curl-able.

pub mod access_keys;
pub mod audit;
pub mod explain;
pub mod init;
pub mod root_key;
pub mod users;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use trent_wire::admin::{
    AddLearnerRequest, ClusterResponse, CreateAccessKeyRequest, InitRequest, MemberInfo,
    MembershipChangeResponse, RekeyRequest, UnsealRequest,
};
use trent_wire::{ErrorCode, KmsError, Operation};

use crate::http::response;
use crate::node::Node;
use crate::peer::protocol::LeaderOp;
use crate::seal::state::UnsealError;

const JSON: &str = "application/json";

/// The admin call `method path` names, with the id its path carries (a node or access key id;
/// `live` for the liveness check); `None` for a path that is no admin call.
pub fn resolve<'p>(method: &Method, path: &'p str) -> Option<(Operation, Option<&'p str>)> {
    let rest = path.strip_prefix("/v1/sys/")?;
    let segments: Vec<&'p str> = rest.split('/').collect();
    let found = match (method, segments.as_slice()) {
        (&Method::GET, ["health"] | ["health", "ready"]) => (Operation::Health, None),
        (&Method::GET, ["health", "live"]) => (Operation::Health, Some("live")),
        (&Method::GET, ["status"]) => (Operation::SealStatus, None),
        (&Method::POST, ["init"]) => (Operation::Initialize, None),
        (&Method::POST, ["unseal"]) => (Operation::Unseal, None),
        (&Method::POST, ["seal"]) => (Operation::Seal, None),
        (&Method::GET, ["cluster"]) => (Operation::DescribeCluster, None),
        (&Method::POST, ["access-keys"]) => (Operation::CreateAccessKey, None),
        (&Method::GET, ["access-keys"]) => (Operation::ListAccessKeys, None),
        (&Method::DELETE, ["access-keys", id]) => (Operation::DeleteAccessKey, Some(*id)),
        (&Method::POST, ["rekey"]) => (Operation::Rekey, None),
        (&Method::POST, ["rotate"]) => (Operation::RotateKeyring, None),
        (&Method::POST, ["members"]) => (Operation::AddMember, None),
        (&Method::POST, ["members", id, "promote"]) => (Operation::PromoteMember, Some(*id)),
        (&Method::DELETE, ["members", id]) => (Operation::RemoveMember, Some(*id)),
        (&Method::POST, ["users"]) => (Operation::CreateUser, None),
        (&Method::GET, ["users"]) => (Operation::ListUsers, None),
        (&Method::GET, ["users", name]) => (Operation::GetUser, Some(*name)),
        (&Method::DELETE, ["users", name]) => (Operation::DeleteUser, Some(*name)),
        (&Method::PUT, ["users", name, "policy"]) => (Operation::PutUserPolicy, Some(*name)),
        (&Method::GET, ["users", name, "policy"]) => (Operation::GetUserPolicy, Some(*name)),
        (&Method::DELETE, ["users", name, "policy"]) => (Operation::DeleteUserPolicy, Some(*name)),
        (&Method::POST, ["authorize"]) => (Operation::ExplainAuthorization, None),
        (&Method::GET, ["audit"]) => (Operation::ReadAudit, None),
        (&Method::GET, ["audit", "public-key"]) => (Operation::GetAuditPublicKey, None),
        _ => return None,
    };
    Some(found)
}

/// Routes and runs an admin request, signature unchecked (the fuzz target's entry; the client
/// API goes through `crate::api`); `None` when the path is not an admin call.
pub async fn route(node: &Node, method: &Method, path: &str, body: &[u8]) -> Option<Response<Full<Bytes>>> {
    let (operation, id) = resolve(method, path)?;
    Some(run(node, operation, id, "", body).await.unwrap_or_else(|error| response::kms_error(&error)))
}

/// Runs an admin call that [`resolve`] named (`query`: the request's query string).
pub async fn run(
    node: &Node,
    operation: Operation,
    id: Option<&str>,
    query: &str,
    body: &[u8],
) -> Result<Response<Full<Bytes>>, KmsError> {
    let id = || id.ok_or_else(|| KmsError::new(ErrorCode::Validation, "The path names no id"));
    match operation {
        Operation::Health => {
            let health = crate::health::health(node).await;
            let passes = if id().is_ok() { health.live } else { health.ready };
            Ok(response::json(verdict(passes), &health, JSON))
        }
        Operation::SealStatus => Ok(response::json(StatusCode::OK, &node.seal_status(), JSON)),
        Operation::Initialize => init(node, body).await,
        Operation::Unseal => unseal(node, body).await,
        Operation::Seal => {
            node.seal.seal();
            tracing::info!("sealed by request");
            Ok(response::json(StatusCode::OK, &node.seal_status(), JSON))
        }
        Operation::DescribeCluster => Ok(response::json(StatusCode::OK, &cluster(node), JSON)),
        Operation::CreateAccessKey => {
            let request = parse_json::<CreateAccessKeyRequest>(body)?;
            access_keys::create_access_key(node, request.description, request.user)
                .await
                .map(|created| response::json(StatusCode::OK, &created, JSON))
        }
        Operation::ListAccessKeys => {
            access_keys::list_access_keys(node).await.map(|list| response::json(StatusCode::OK, &list, JSON))
        }
        Operation::DeleteAccessKey => access_keys::delete_access_key(node, id()?)
            .await
            .map(|()| response::json(StatusCode::OK, &serde_json::json!({}), JSON)),
        Operation::Rekey => {
            let request = parse_json::<RekeyRequest>(body)?;
            root_key::rekey(node, request.shares, request.threshold)
                .await
                .map(|answer| response::json(StatusCode::OK, &answer, JSON))
        }
        Operation::RotateKeyring => {
            root_key::rotate(node).await.map(|answer| response::json(StatusCode::OK, &answer, JSON))
        }
        Operation::AddMember => add_learner(node, body).await,
        Operation::PromoteMember => {
            membership_change(node, LeaderOp::Promote { node_id: parse_id(id()?)? }).await
        }
        Operation::RemoveMember => {
            membership_change(node, LeaderOp::Remove { node_id: parse_id(id()?)? }).await
        }
        Operation::CreateUser => {
            let user = users::create_user(node, parse_json(body)?).await?;
            Ok(response::json(StatusCode::OK, &user, JSON))
        }
        Operation::ListUsers => Ok(response::json(StatusCode::OK, &users::list_users(node).await?, JSON)),
        Operation::GetUser => Ok(response::json(StatusCode::OK, &users::get_user(node, id()?).await?, JSON)),
        Operation::DeleteUser => {
            users::delete_user(node, id()?).await?;
            Ok(response::json(StatusCode::OK, &serde_json::json!({}), JSON))
        }
        Operation::PutUserPolicy => {
            let text = std::str::from_utf8(body)
                .map_err(|_| KmsError::new(ErrorCode::MalformedPolicyDocument, "The policy is not UTF-8"))?;
            let policy = users::checked_identity_policy(node, text.trim())?;
            users::put_user_policy(node, id()?, Some(policy)).await?;
            Ok(response::json(StatusCode::OK, &serde_json::json!({}), JSON))
        }
        Operation::GetUserPolicy => {
            Ok(response::json(StatusCode::OK, &users::get_user_policy(node, id()?).await?, JSON))
        }
        Operation::DeleteUserPolicy => {
            users::put_user_policy(node, id()?, None).await?;
            Ok(response::json(StatusCode::OK, &serde_json::json!({}), JSON))
        }
        Operation::ExplainAuthorization => {
            Ok(response::json(StatusCode::OK, &explain::authorize(node, parse_json(body)?).await?, JSON))
        }
        Operation::ReadAudit => Ok(response::json(StatusCode::OK, &audit::read(node, query).await?, JSON)),
        Operation::GetAuditPublicKey => audit::public_key(node),
        kms => {
            Err(KmsError::new(ErrorCode::NotFound, format!("{kms} is a KMS operation, not an admin call")))
        }
    }
}

/// The cluster as this node sees it.
pub fn cluster(node: &Node) -> ClusterResponse {
    let metrics = node.raft.metrics().borrow().clone();
    let membership = metrics.membership_config.membership();
    let voters: std::collections::BTreeSet<u64> = membership.voter_ids().collect();
    let matched = metrics.replication.as_ref();
    let members = membership
        .nodes()
        .map(|(id, member)| MemberInfo {
            node_id: *id,
            api_addr: member.api_addr.clone(),
            peer_addr: member.peer_addr.clone(),
            voter: voters.contains(id),
            matched_index: if *id == node.id() {
                metrics.last_log_index
            } else {
                matched
                    .and_then(|replication| replication.get(id).cloned().flatten())
                    .map(|log_id| log_id.index)
            },
        })
        .collect();
    ClusterResponse {
        node_id: node.id(),
        role: node.role(),
        leader_id: metrics.current_leader,
        term: metrics.current_term,
        commit_index: node.committed_index(),
        applied_index: metrics.last_applied.map(|log_id| log_id.index),
        last_log_index: metrics.last_log_index,
        snapshot_index: metrics.snapshot.map(|log_id| log_id.index),
        purged_index: metrics.purged.map(|log_id| log_id.index),
        feature_level: node.feature_level(),
        supported_feature_level: node.supported_feature_level(),
        members,
    }
}

async fn add_learner(node: &Node, body: &[u8]) -> Result<Response<Full<Bytes>>, KmsError> {
    let request: AddLearnerRequest = parse_json(body)?;
    if request.api_addr.is_empty() || request.peer_addr.is_empty() {
        return Err(KmsError::new(ErrorCode::Validation, "api_addr and peer_addr are required"));
    }
    let already =
        node.raft.metrics().borrow().membership_config.membership().get_node(&request.node_id).is_some();
    if already {
        return Err(KmsError::new(
            ErrorCode::AlreadyExists,
            format!("Node {} is already a member", request.node_id),
        ));
    }
    let op = LeaderOp::AddLearner {
        node_id: request.node_id,
        node: trent_storage::TrentNode { api_addr: request.api_addr, peer_addr: request.peer_addr },
    };
    membership_change(node, op).await
}

async fn membership_change(node: &Node, op: LeaderOp) -> Result<Response<Full<Bytes>>, KmsError> {
    let log_index = node.change_membership(op).await?;
    // The reply lists members as of the change, so wait until this node has applied it.
    let _ = node
        .raft
        .wait(Some(std::time::Duration::from_secs(5)))
        .applied_index_at_least(Some(log_index), "membership reply")
        .await;
    let members = cluster(node).members;
    Ok(response::json(StatusCode::OK, &MembershipChangeResponse { log_index, members }, JSON))
}

async fn init(node: &Node, body: &[u8]) -> Result<Response<Full<Bytes>>, KmsError> {
    let request: InitRequest = parse_json(body)?;
    if let Some(expected) = &node.init_token {
        let presented = request.init_token.as_deref().unwrap_or_default().trim().as_bytes();
        if !crate::crypto::constant_time_eq(presented, expected) {
            static LOGGED: crate::log_budget::LogBudget = crate::log_budget::LogBudget::new();
            if LOGGED.allow() {
                tracing::warn!(
                    "init refused: wrong or missing init token (further refusals this second are not logged)"
                );
            }
            return Err(KmsError::new(
                ErrorCode::AccessDenied,
                "This node initialises only for the init token it was started with (--init-token-file); pass it with `trent operator init --init-token-file`",
            ));
        }
    }
    let chosen = match (request.access_key_id, request.secret_access_key) {
        (Some(access_key_id), Some(secret)) => Some(init::ChosenCredentials {
            access_key_id,
            secret_access_key: zeroize::Zeroizing::new(secret),
        }),
        (None, None) => None,
        _ => {
            return Err(KmsError::new(
                ErrorCode::Validation,
                "Give both access_key_id and secret_access_key, or neither",
            ))
        }
    };
    let answer = init::initialize(node, request.shares, request.threshold, chosen).await?;
    Ok(response::json(StatusCode::OK, &answer, JSON))
}

async fn unseal(node: &Node, body: &[u8]) -> Result<Response<Full<Bytes>>, KmsError> {
    let request: UnsealRequest = parse_json(body)?;
    if request.reset {
        if let Err(throttled) = node.seal.reset() {
            return Err(KmsError::new(ErrorCode::Throttling, throttled.to_string()));
        }
        tracing::info!("unseal progress reset by request");
        return Ok(response::json(StatusCode::OK, &node.seal_status(), JSON));
    }
    let Some(share) = request.share.as_deref() else {
        return Err(KmsError::new(ErrorCode::Validation, "Give a share, or reset: true"));
    };
    match node.submit_unseal_share(share) {
        Ok(_) => {
            if !node.seal.status().sealed {
                tracing::info!("unsealed");
                root_key::confirm_rekey_if_unsealed_by_it(node).await;
            }
            Ok(response::json(StatusCode::OK, &node.seal_status(), JSON))
        }
        Err(UnsealError::NotInitialized) => Err(KmsError::new(
            ErrorCode::InvalidState,
            "The cluster is not initialised (or this node has not caught up with it yet)",
        )),
        Err(error) => Err(KmsError::new(ErrorCode::Validation, error.to_string())),
    }
}

/// 200 for a node that passes the check, 503 for one that does not.
fn verdict(passes: bool) -> StatusCode {
    if passes {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

fn parse_id(text: &str) -> Result<u64, KmsError> {
    text.parse().map_err(|_| KmsError::new(ErrorCode::Validation, format!("'{text}' is not a node id")))
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, KmsError> {
    serde_json::from_slice(body).map_err(|error| {
        KmsError::new(ErrorCode::Serialization, format!("Request body is not valid: {error}"))
    })
}
