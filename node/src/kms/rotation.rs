//! Key rotation operations: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus,
//! RotateKeyOnDemand, ListKeyRotations. The writes go through the leader, which makes a
//! rotation's material (`write_path`); storage decides what may rotate and when.

use trent_storage::{Command, KeyLifecycle, KeyMaterial, KeyRecord, RotationKind, NOT_SYMMETRIC_MESSAGE};
use trent_wire::kms::{EmptyResponse, KeyIdRequest, KeyIdResponse};
use trent_wire::model::{ExpirationModel, ImportState, IncludeKeyMaterial, KeyMaterialState, KeySpec};
use trent_wire::rotation::{
    EnableKeyRotationRequest, GetKeyRotationStatusResponse, ListKeyRotationsRequest,
    ListKeyRotationsResponse, RotationsListEntry,
};
use trent_wire::{ErrorCode, KmsError};

use super::identifiers::{key_arn, parse_key_id, resolve, KeyRef};
use super::metadata::epoch_seconds;
use super::Call;
use crate::seal::material::material_id;
use crate::write_path::Proposal;

/// `EnableKeyRotation`: a schedule of `RotationPeriodInDays` (365 unless given), or a new
/// period for the current one.
pub async fn enable_key_rotation(
    call: &Call<'_>,
    request: EnableKeyRotationRequest,
) -> Result<EmptyResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    let days = request.rotation_period_in_days()?;
    // 90–2560 fits: the conversion cannot fail after the check.
    let period_days = u32::try_from(days)
        .map_err(|_| KmsError::new(ErrorCode::Validation, "RotationPeriodInDays is out of range"))?;
    call.write(Proposal::Command(Command::SetKeyRotation { key_id, period_days: Some(period_days) })).await?;
    Ok(EmptyResponse {})
}

/// `DisableKeyRotation`.
pub async fn disable_key_rotation(call: &Call<'_>, request: KeyIdRequest) -> Result<EmptyResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    call.write(Proposal::Command(Command::SetKeyRotation { key_id, period_days: None })).await?;
    Ok(EmptyResponse {})
}

/// `GetKeyRotationStatus`. A key pending deletion reports `false`, as in AWS, and gets its
/// schedule back if the deletion is cancelled. Rotations complete when their write commits, so
/// no on-demand rotation is ever in progress (`OnDemandRotationStartDate` is never set).
pub async fn get_key_rotation_status(
    call: &Call<'_>,
    request: KeyIdRequest,
) -> Result<GetKeyRotationStatusResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    let registry = call.linearizable_registry().await?;
    let key = resolve(&registry, &KeyRef::Id(key_id), call.scope())?;
    call.confirm_authorized(key.key_id)?;
    let pending_deletion = matches!(key.lifecycle, KeyLifecycle::PendingDeletion { .. });
    let schedule = key.rotation.automatic.filter(|_| !pending_deletion);
    Ok(GetKeyRotationStatusResponse {
        key_rotation_enabled: schedule.is_some(),
        key_id: key_arn(call.scope(), key.key_id),
        rotation_period_in_days: schedule.map(|schedule| i64::from(schedule.period_days)),
        next_rotation_date: schedule.map(|schedule| epoch_seconds(schedule.next_at_ms)),
        on_demand_rotation_start_date: None,
    })
}

/// `RotateKeyOnDemand`: the new material is current once this returns.
pub async fn rotate_key_on_demand(call: &Call<'_>, request: KeyIdRequest) -> Result<KeyIdResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    #[cfg(feature = "jepsen-planted-bug")]
    if crate::planted_bug::loses_rotations() {
        return Ok(KeyIdResponse { key_id: key_arn(call.scope(), key_id) });
    }
    call.write(Proposal::RotateKey { key_id, kind: RotationKind::OnDemand }).await?;
    Ok(KeyIdResponse { key_id: key_arn(call.scope(), key_id) })
}

/// `ListKeyRotations`: the key's materials oldest first — those a rotation made current, or
/// with `ALL_KEY_MATERIAL` every one. `NextMarker` is the last version listed.
pub async fn list_key_rotations(
    call: &Call<'_>,
    request: ListKeyRotationsRequest,
) -> Result<ListKeyRotationsResponse, KmsError> {
    let key_id = parse_key_id(&request.key_id, "keyId", call.scope())?;
    let include = request.include_key_material()?;
    let limit = request.limit()?;
    request.validate()?;
    let after = match request.marker.as_deref() {
        Some(marker) => marker.parse::<u32>().ok().filter(|version| *version > 0).ok_or_else(|| {
            KmsError::new(ErrorCode::InvalidMarker, "The marker is not one this cluster issued")
        })?,
        None => 0,
    };
    let registry = call.linearizable_registry().await?;
    let key = resolve(&registry, &KeyRef::Id(key_id), call.scope())?;
    call.confirm_authorized(key.key_id)?;
    if key.spec != KeySpec::SymmetricDefault {
        return Err(KmsError::new(ErrorCode::UnsupportedOperation, NOT_SYMMETRIC_MESSAGE));
    }
    let mut listed = key.materials.iter().filter(|material| material.version > after).filter(|material| {
        include == IncludeKeyMaterial::AllKeyMaterial || material.became_current.is_some()
    });
    let page: Vec<&KeyMaterial> = listed.by_ref().take(limit).collect();
    let truncated = listed.next().is_some();
    let next_marker = page.last().filter(|_| truncated).map(|material| material.version.to_string());
    let rotations = page.iter().map(|material| rotation_entry(call, key, material)).collect();
    Ok(ListKeyRotationsResponse { rotations, next_marker, truncated })
}

/// One material as ListKeyRotations shows it; the import fields only for imported material.
fn rotation_entry(call: &Call<'_>, key: &KeyRecord, material: &KeyMaterial) -> RotationsListEntry {
    let imported = material.imported();
    RotationsListEntry {
        key_id: key_arn(call.scope(), key.key_id),
        key_material_id: material_id(&key.key_id, material).to_string(),
        key_material_description: imported.and_then(|imported| imported.description.clone()),
        import_state: imported.map(|imported| match imported.sealed {
            Some(_) => ImportState::Imported,
            None => ImportState::PendingImport,
        }),
        // Every listed material is the key's: it has a state.
        key_material_state: key.material_state(material.version).unwrap_or(KeyMaterialState::NonCurrent),
        expiration_model: imported.map(|imported| match imported.valid_to_ms {
            Some(_) => ExpirationModel::KeyMaterialExpires,
            None => ExpirationModel::KeyMaterialDoesNotExpire,
        }),
        valid_to: imported.and_then(|imported| imported.valid_to_ms).map(epoch_seconds),
        rotation_date: material.became_current.map(|event| epoch_seconds(event.at_ms)),
        rotation_type: material.became_current.map(|event| event.kind),
    }
}
