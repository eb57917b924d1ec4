//! Alias operations: CreateAlias, UpdateAlias, DeleteAlias, ListAliases.

use trent_storage::Command;
use trent_wire::kms::{
    AliasListEntry, AliasTargetRequest, DeleteAliasRequest, EmptyResponse, ListAliasesRequest,
    ListAliasesResponse,
};
use trent_wire::limits::{DEFAULT_ALIAS_LIST_LIMIT, MAX_ALIAS_LIST_LIMIT};
use trent_wire::{ErrorCode, KmsError};

use super::identifiers::{alias_arn, parse_key_id};
use super::metadata::epoch_seconds;
use super::Call;
use crate::write_path::Proposal;
use trent_wire::validation::{check_alias_name, check_marker, page_limit};

/// `CreateAlias`.
pub async fn create_alias(call: &Call<'_>, request: AliasTargetRequest) -> Result<EmptyResponse, KmsError> {
    check_alias_name(&request.alias_name)?;
    let key_id = parse_key_id(&request.target_key_id, "targetKeyId", call.scope())?;
    call.write(Proposal::Command(Command::CreateAlias { alias: request.alias_name, key_id })).await?;
    Ok(EmptyResponse {})
}

/// `UpdateAlias`.
pub async fn update_alias(call: &Call<'_>, request: AliasTargetRequest) -> Result<EmptyResponse, KmsError> {
    check_alias_name(&request.alias_name)?;
    let key_id = parse_key_id(&request.target_key_id, "targetKeyId", call.scope())?;
    call.write(Proposal::Command(Command::UpdateAlias { alias: request.alias_name, key_id })).await?;
    Ok(EmptyResponse {})
}

/// `DeleteAlias`.
pub async fn delete_alias(call: &Call<'_>, request: DeleteAliasRequest) -> Result<EmptyResponse, KmsError> {
    check_alias_name(&request.alias_name)?;
    call.write(Proposal::Command(Command::DeleteAlias { alias: request.alias_name })).await?;
    Ok(EmptyResponse {})
}

/// `ListAliases`.
pub async fn list_aliases(
    call: &Call<'_>,
    request: ListAliasesRequest,
) -> Result<ListAliasesResponse, KmsError> {
    let limit = page_limit(request.limit, MAX_ALIAS_LIST_LIMIT, DEFAULT_ALIAS_LIST_LIMIT)?;
    check_marker(request.marker.as_deref())?;
    if let Some(marker) = request.marker.as_deref() {
        if !marker.starts_with("alias/") {
            return Err(KmsError::new(ErrorCode::InvalidMarker, "The marker is not one this cluster issued"));
        }
    }
    let key = match request.key_id.as_deref() {
        Some(key) => Some(parse_key_id(key, "keyId", call.scope())?),
        None => None,
    };
    let registry = call.linearizable_registry().await?;
    if let Some(key_id) = key {
        if registry.key(&key_id).is_none() {
            return Err(KmsError::new(ErrorCode::NotFound, format!("Key '{key_id}' does not exist")));
        }
    }
    let (page, more) = registry.aliases_after(request.marker.as_deref(), key, limit);
    let aliases = page
        .iter()
        .map(|alias| AliasListEntry {
            alias_name: alias.name.clone(),
            alias_arn: alias_arn(call.scope(), &alias.name),
            target_key_id: alias.key_id.to_string(),
            creation_date: epoch_seconds(alias.created_at_ms),
            last_updated_date: epoch_seconds(alias.updated_at_ms),
        })
        .collect();
    let next_marker = if more { page.last().map(|alias| alias.name.clone()) } else { None };
    Ok(ListAliasesResponse { aliases, next_marker, truncated: more })
}
