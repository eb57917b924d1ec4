//! Access keys, the API's principals: create (the secret is shown once), list, delete (never
//! the last).

use trent_storage::{AccessKeyRecord, Command};
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

/// Creates an access key; the secret is returned this once.
pub async fn create_access_key(
    node: &Node,
    description: String,
) -> Result<CreateAccessKeyResponse, KmsError> {
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
    node.write_proposal(Proposal::Command(Command::CreateAccessKey(record))).await?;
    Ok(CreateAccessKeyResponse {
        access_key_id,
        secret_access_key: secret_access_key.to_string(),
        description,
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
