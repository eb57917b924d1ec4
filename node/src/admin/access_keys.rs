//! Access keys, the API's credentials: create for a user (the secret is shown once), list with
//! the user each acts as, delete (never the last).

use trent_storage::{AccessKeyRecord, Command, ADMIN_USER};
use trent_wire::admin::{AccessKeyInfo, AccessKeyList, CreateAccessKeyResponse};
use trent_wire::{ErrorCode, KmsError};

use super::init::generate_credentials;
use crate::node::Node;
use crate::seal::keyring::SealContext;
use crate::write_path::Proposal;

fn sealed() -> KmsError {
    KmsError::new(ErrorCode::ServiceUnavailable, "This node is sealed")
}

fn internal(what: &str) -> KmsError {
    KmsError::new(ErrorCode::Internal, format!("{what} failed"))
}

/// Creates an access key that acts as `user` (`admin` when `None`); the secret is returned
/// this once.
pub async fn create_access_key(
    node: &Node,
    description: String,
    user: Option<String>,
) -> Result<CreateAccessKeyResponse, KmsError> {
    let user = match user {
        Some(user) => {
            trent_storage::check_user_name(&user)?;
            let registry = node.registry.read();
            match registry.user(&user) {
                Some(record) => record.name.clone(),
                None if user.eq_ignore_ascii_case(ADMIN_USER) => ADMIN_USER.to_owned(),
                None => {
                    return Err(KmsError::new(
                        ErrorCode::NotFound,
                        format!("The user with name {user} cannot be found."),
                    ))
                }
            }
        }
        None => ADMIN_USER.to_owned(),
    };
    let (access_key_id, secret_access_key) =
        generate_credentials().map_err(|_| internal("the random source"))?;
    let secret = node
        .seal
        .with_keyring(|keyring| {
            keyring.wrap(
                &SealContext::AccessKeySecret { access_key_id: &access_key_id },
                secret_access_key.as_bytes(),
            )
        })
        .map_err(|_| sealed())?
        .map_err(|_| internal("sealing the secret"))?;
    let record = AccessKeyRecord {
        access_key_id: access_key_id.clone(),
        secret,
        created_at_ms: node.now_ms(),
        description,
    };
    let description = record.description.clone();
    // An admin key is made as before users existed, so it works at every feature level.
    let command = if user == ADMIN_USER {
        Command::CreateAccessKey(record)
    } else {
        Command::CreateUserAccessKey { user: user.clone(), record }
    };
    node.write_proposal(Proposal::Command(command)).await?;
    Ok(CreateAccessKeyResponse {
        access_key_id,
        secret_access_key: secret_access_key.to_string(),
        description,
        user,
    })
}

/// Every access key, without secrets.
pub async fn list_access_keys(node: &Node) -> Result<AccessKeyList, KmsError> {
    node.linearizable_read().await?;
    let registry = node.registry.read();
    let access_keys = registry
        .access_keys()
        .map(|record| AccessKeyInfo {
            access_key_id: record.access_key_id.clone(),
            description: record.description.clone(),
            created: record.created_at_ms as f64 / 1000.0,
            user: registry.access_key_user(&record.access_key_id).to_owned(),
        })
        .collect();
    Ok(AccessKeyList { access_keys })
}

/// Deletes an access key (never the last).
pub async fn delete_access_key(node: &Node, access_key_id: &str) -> Result<(), KmsError> {
    let command = Command::DeleteAccessKey { access_key_id: access_key_id.to_owned() };
    node.write_proposal(Proposal::Command(command)).await?;
    node.verifier.forget_access_key(access_key_id);
    Ok(())
}
