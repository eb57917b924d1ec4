//! Users: the principals access keys act as, each with at most one inline identity policy
//! (`POST/GET/DELETE /v1/sys/users…`). Replicated through Raft like keys (feature level 2).

use trent_storage::{Command, Registry, UserRecord};
use trent_wire::admin::{CreateUserRequest, UserInfo, UserList, UserPolicy};
use trent_wire::{ErrorCode, KmsError};

use crate::authorization::user_arn;
use crate::node::Node;
use crate::write_path::Proposal;

/// A policy given as a JSON object or as a string holding one, validated as an identity policy.
pub fn identity_policy(node: &Node, policy: &serde_json::Value) -> Result<String, KmsError> {
    let text = match policy {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    checked_identity_policy(node, &text)
}

/// An identity policy's text, validated.
pub fn checked_identity_policy(node: &Node, text: &str) -> Result<String, KmsError> {
    node.policies
        .parse_identity_policy(text)
        .map_err(|error| KmsError::new(ErrorCode::MalformedPolicyDocument, error.reason))?;
    Ok(text.to_owned())
}

/// `POST /v1/sys/users`.
pub async fn create_user(node: &Node, request: CreateUserRequest) -> Result<UserInfo, KmsError> {
    trent_storage::check_user_name(&request.name)?;
    let policy = request.policy.as_ref().map(|policy| identity_policy(node, policy)).transpose()?;
    node.write_proposal(Proposal::Command(Command::CreateUser { name: request.name.clone(), policy }))
        .await?;
    node.linearizable_read().await?;
    let registry = node.registry.read();
    let user = existing(&registry, &request.name)?;
    Ok(info(node, &registry, user))
}

/// `GET /v1/sys/users`.
pub async fn list_users(node: &Node) -> Result<UserList, KmsError> {
    node.linearizable_read().await?;
    let registry = node.registry.read();
    let users = registry.users().map(|user| info(node, &registry, user)).collect();
    Ok(UserList { users })
}

/// `GET /v1/sys/users/<name>`.
pub async fn get_user(node: &Node, name: &str) -> Result<UserInfo, KmsError> {
    node.linearizable_read().await?;
    let registry = node.registry.read();
    Ok(info(node, &registry, existing(&registry, name)?))
}

/// `DELETE /v1/sys/users/<name>`: refused while it has access keys.
pub async fn delete_user(node: &Node, name: &str) -> Result<(), KmsError> {
    trent_storage::check_user_name(name)?;
    node.write_proposal(Proposal::Command(Command::DeleteUser { name: name.to_owned() })).await?;
    Ok(())
}

/// `PUT /v1/sys/users/<name>/policy` (with `Some`) and `DELETE …/policy` (with `None`).
pub async fn put_user_policy(node: &Node, name: &str, policy: Option<String>) -> Result<(), KmsError> {
    trent_storage::check_user_name(name)?;
    if policy.is_none() {
        node.linearizable_read().await?;
        if existing(&node.registry.read(), name)?.policy.is_none() {
            return Err(KmsError::new(ErrorCode::NotFound, format!("The user {name} has no inline policy.")));
        }
    }
    node.write_proposal(Proposal::Command(Command::PutUserPolicy { name: name.to_owned(), policy })).await?;
    Ok(())
}

/// `GET /v1/sys/users/<name>/policy`.
pub async fn get_user_policy(node: &Node, name: &str) -> Result<UserPolicy, KmsError> {
    node.linearizable_read().await?;
    let registry = node.registry.read();
    let user = existing(&registry, name)?;
    match &user.policy {
        Some(policy) => Ok(UserPolicy { user_name: user.name.clone(), policy: policy.clone() }),
        None => {
            Err(KmsError::new(ErrorCode::NotFound, format!("The user {} has no inline policy.", user.name)))
        }
    }
}

fn existing<'r>(registry: &'r Registry, name: &str) -> Result<&'r UserRecord, KmsError> {
    registry.user(name).ok_or_else(|| {
        KmsError::new(ErrorCode::NotFound, format!("The user with name {name} cannot be found."))
    })
}

fn info(node: &Node, registry: &Registry, user: &UserRecord) -> UserInfo {
    UserInfo {
        user_name: user.name.clone(),
        arn: user_arn(&node.config.arn.account_id, &user.name),
        create_date: user.created_at_ms as f64 / 1000.0,
        access_keys: registry.access_keys_of(&user.name).map(|key| key.access_key_id.clone()).collect(),
        has_policy: user.policy.is_some(),
    }
}
