//! Key operations: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey,
//! UpdateKeyDescription, ScheduleKeyDeletion, CancelKeyDeletion.

use trent_storage::{Applied, Command, KeyDraft, KeyId, KeyLifecycle, KeyRecord};
use trent_wire::kms::{
    CreateKeyRequest, EmptyResponse, KeyIdRequest, KeyIdResponse, KeyListEntry, KeyMetadataResponse,
    ListKeysRequest, ListKeysResponse, ScheduleKeyDeletionRequest, ScheduleKeyDeletionResponse,
    UpdateKeyDescriptionRequest,
};
use trent_wire::limits::{
    DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, MAX_PENDING_WINDOW_DAYS, MIN_PENDING_WINDOW_DAYS,
};
use trent_wire::model::{KeySpec, KeyUsage, Origin};
use trent_wire::{ErrorCode, KmsError};

use super::identifiers::{key_arn, parse_key_id, parse_key_ref, resolve, AliasUse};
use super::metadata::{epoch_seconds, key_metadata};
use super::Call;
use trent_wire::validation::{
    check_description, check_marker, check_tags, constraint, enum_value, page_limit,
};

/// The answer for SM2, which AWS KMS offers only in its China Regions.
pub fn sm2_unsupported(field: &str) -> KmsError {
    KmsError::new(
        ErrorCode::UnsupportedOperation,
        format!("{field} SM2 is not supported: AWS KMS offers SM2 only in its China Regions, and Trent does not implement it"),
    )
}

/// `CreateKey`.
pub async fn create_key(call: &Call<'_>, request: CreateKeyRequest) -> Result<KeyMetadataResponse, KmsError> {
    let description = request.description.unwrap_or_default();
    check_description(&description)?;
    if [&request.key_spec, &request.customer_master_key_spec]
        .iter()
        .any(|spec| spec.as_deref() == Some("SM2"))
    {
        return Err(sm2_unsupported("KeySpec"));
    }
    let spec = match (&request.key_spec, &request.customer_master_key_spec) {
        (Some(_), Some(_)) => {
            return Err(KmsError::new(
                ErrorCode::Validation,
                "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.",
            ))
        }
        (Some(spec), None) => enum_value::<KeySpec>("keySpec", spec, KeySpec::parse, KeySpec::allowed_values)?,
        (None, Some(spec)) => {
            enum_value::<KeySpec>("customerMasterKeySpec", spec, KeySpec::parse, KeySpec::allowed_values)?
        }
        (None, None) => KeySpec::SymmetricDefault,
    };
    let usage = match &request.key_usage {
        Some(usage) => enum_value::<KeyUsage>("keyUsage", usage, KeyUsage::parse, KeyUsage::allowed_values)?,
        None => spec.default_usage(),
    };
    if !spec.allowed_usages().contains(&usage) {
        return Err(KmsError::new(
            ErrorCode::Validation,
            format!("KeyUsage {usage} is not compatible with KeySpec {spec}"),
        ));
    }
    let origin = match &request.origin {
        Some(origin) => enum_value::<Origin>("origin", origin, Origin::parse, Origin::allowed_values)?,
        None => Origin::AwsKms,
    };
    if !matches!(origin, Origin::AwsKms | Origin::External) {
        return Err(KmsError::new(
            ErrorCode::UnsupportedOperation,
            format!("Origin {origin} is not supported yet"),
        ));
    }
    if origin == Origin::External
        && matches!(spec, KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024)
    {
        return Err(KmsError::new(
            ErrorCode::UnsupportedOperation,
            format!(
                "KeySpec {spec} does not support Origin EXTERNAL: ML-KEM key material cannot be imported"
            ),
        ));
    }
    if request.multi_region == Some(true) {
        return Err(KmsError::new(ErrorCode::UnsupportedOperation, "Multi-Region keys are not supported"));
    }
    if request.custom_key_store_id.is_some() {
        return Err(KmsError::new(ErrorCode::UnsupportedOperation, "Custom key stores are not supported"));
    }
    let policy = match &request.policy {
        Some(policy) => {
            let bypass = request.bypass_policy_lockout_safety_check.unwrap_or(false);
            // The new key's id is the leader's to pick; key policies name keys by `*`.
            let arn = key_arn(call.scope(), KeyId(uuid::Uuid::nil()));
            Some(super::key_policies::checked_policy(call, policy, &arn, bypass)?)
        }
        None => None,
    };
    let tags = check_tags(request.tags.as_deref().unwrap_or_default())?;
    let draft = KeyDraft { description, spec, usage, origin, tags };
    let proposal = match (origin, policy) {
        // No material to make: the receiving node picks the id, as the leader would (random).
        (Origin::External, policy) => crate::write_path::Proposal::Command(Command::CreateExternalKey {
            key_id: KeyId(crate::crypto::random_uuid()),
            draft,
            policy,
        }),
        (_, Some(policy)) => crate::write_path::Proposal::CreateKeyWithPolicy { draft, policy },
        (_, None) => crate::write_path::Proposal::CreateKey(draft),
    };
    let record = written_key(call.write(proposal).await?)?;
    Ok(KeyMetadataResponse { key_metadata: key_metadata(&record, call.scope()) })
}

/// `DescribeKey`.
pub async fn describe_key(call: &Call<'_>, request: KeyIdRequest) -> Result<KeyMetadataResponse, KmsError> {
    let reference = parse_key_ref(&request.key_id, "keyId", call.scope(), AliasUse::Allowed)?;
    let registry = call.linearizable_registry().await?;
    let key = resolve(&registry, &reference, call.scope())?;
    call.confirm_authorized(key.key_id)?;
    Ok(KeyMetadataResponse { key_metadata: key_metadata(key, call.scope()) })
}

/// `ListKeys`.
pub async fn list_keys(call: &Call<'_>, request: ListKeysRequest) -> Result<ListKeysResponse, KmsError> {
    let limit = page_limit(request.limit, MAX_LIST_LIMIT, DEFAULT_LIST_LIMIT)?;
    check_marker(request.marker.as_deref())?;
    let after = match request.marker.as_deref() {
        Some(marker) => Some(KeyId::parse(marker).ok_or_else(|| {
            KmsError::new(ErrorCode::InvalidMarker, "The marker is not one this cluster issued")
        })?),
        None => None,
    };
    let registry = call.linearizable_registry().await?;
    let (page, more) = registry.keys_after(after, limit);
    let keys: Vec<KeyListEntry> = page
        .iter()
        .map(|key| KeyListEntry {
            key_id: key.key_id.to_string(),
            key_arn: key_arn(call.scope(), key.key_id),
        })
        .collect();
    let next_marker = if more { page.last().map(|key| key.key_id.to_string()) } else { None };
    Ok(ListKeysResponse { keys, next_marker, truncated: more })
}

/// `EnableKey`.
pub async fn enable_key(call: &Call<'_>, request: KeyIdRequest) -> Result<EmptyResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    call.write(command(Command::EnableKey { key_id })).await?;
    Ok(EmptyResponse {})
}

/// `DisableKey`.
pub async fn disable_key(call: &Call<'_>, request: KeyIdRequest) -> Result<EmptyResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    call.write(command(Command::DisableKey { key_id })).await?;
    Ok(EmptyResponse {})
}

/// `UpdateKeyDescription`.
pub async fn update_key_description(
    call: &Call<'_>,
    request: UpdateKeyDescriptionRequest,
) -> Result<EmptyResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    check_description(&request.description)?;
    call.write(command(Command::UpdateKeyDescription { key_id, description: request.description })).await?;
    Ok(EmptyResponse {})
}

/// `ScheduleKeyDeletion`.
pub async fn schedule_key_deletion(
    call: &Call<'_>,
    request: ScheduleKeyDeletionRequest,
) -> Result<ScheduleKeyDeletionResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    let window = request.pending_window_in_days.unwrap_or(MAX_PENDING_WINDOW_DAYS);
    if !(MIN_PENDING_WINDOW_DAYS..=MAX_PENDING_WINDOW_DAYS).contains(&window) {
        return Err(constraint(
            "pendingWindowInDays",
            &window.to_string(),
            &format!("Member must have value between {MIN_PENDING_WINDOW_DAYS} and {MAX_PENDING_WINDOW_DAYS}, inclusive"),
        ));
    }
    let window_days = window as u32;
    let record =
        written_key(call.write(command(Command::ScheduleKeyDeletion { key_id, window_days })).await?)?;
    let KeyLifecycle::PendingDeletion { deletion_at_ms, window_days } = record.lifecycle else {
        return Err(KmsError::new(ErrorCode::Internal, "key is not pending deletion after scheduling"));
    };
    Ok(ScheduleKeyDeletionResponse {
        key_id: key_arn(call.scope(), key_id),
        deletion_date: epoch_seconds(deletion_at_ms),
        key_state: record.lifecycle.key_state(),
        pending_window_in_days: i64::from(window_days),
    })
}

/// `CancelKeyDeletion`.
pub async fn cancel_key_deletion(call: &Call<'_>, request: KeyIdRequest) -> Result<KeyIdResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    call.write(command(Command::CancelKeyDeletion { key_id })).await?;
    Ok(KeyIdResponse { key_id: key_arn(call.scope(), key_id) })
}

fn command(command: Command) -> crate::write_path::Proposal {
    crate::write_path::Proposal::Command(command)
}

fn written_key(applied: Applied) -> Result<KeyRecord, KmsError> {
    match applied {
        Applied::Key(record) => Ok(*record),
        Applied::Done | Applied::Grant { .. } | Applied::ImportParameters { .. } => {
            Err(KmsError::new(ErrorCode::Internal, "write applied without a key record"))
        }
    }
}
