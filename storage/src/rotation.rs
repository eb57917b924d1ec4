//! Key rotation in the replicated state: the limits, and what a rotation command asks for.
//! The leader decides when an automatic rotation is due and makes the new material; applying
//! [`crate::Command::RotateKey`] re-checks the schedule against the request's timestamp, so a
//! due date rotates once however many leaders propose it.

use serde::{Deserialize, Serialize};
use trent_wire::model::{KeySpec, Origin, RotationType};
use trent_wire::ErrorCode;

use crate::apply::{key_not_found, pending_deletion, pending_import, RowChange};
use crate::command::{Applied, CommandResult, Rejection};
use crate::materials::{
    AutomaticRotation, KeyMaterial, KeyMaterialId, KeyRecord, MaterialSource, RotationEvent,
    MAX_MATERIAL_VERSIONS,
};
use crate::records::{KeyId, KeyLifecycle};
use crate::registry::Registry;
use crate::sealed::WrappedSecret;

/// `RotationPeriodInDays`: what EnableKeyRotation accepts.
pub const ROTATION_PERIOD_DAYS: std::ops::RangeInclusive<u32> = (trent_wire::limits::MIN_ROTATION_PERIOD_DAYS
    as u32)
    ..=(trent_wire::limits::MAX_ROTATION_PERIOD_DAYS as u32);
/// RotateKeyOnDemand rotations a key may have in its lifetime (AWS's quota).
pub const MAX_ON_DEMAND_ROTATIONS: u32 = trent_wire::limits::MAX_ON_DEMAND_ROTATIONS;
/// RotateKeyOnDemand is refused with ConflictException while an automatic rotation is due
/// within this long (AWS: "in progress or scheduled within the next 20 minutes").
pub const ON_DEMAND_CONFLICT_WINDOW_MS: u64 = 20 * 60 * 1000;

/// What triggered a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RotationKind {
    /// The key's schedule, for the rotation due at `due_at_ms`: applies only while that is
    /// still the key's next rotation date and has passed.
    Automatic {
        /// The due date the leader saw.
        due_at_ms: u64,
    },
    /// RotateKeyOnDemand.
    OnDemand,
}

/// The material a rotation of an `AWS_KMS` key brings, made and sealed by the leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotatedMaterial {
    /// The id the leader picked (random).
    pub id: KeyMaterialId,
    /// The material, sealed with the key id and `id` as context.
    pub sealed: WrappedSecret,
}

const MS_PER_DAY: u64 = 24 * 60 * 60 * 1000;

fn period_ms(period_days: u32) -> u64 {
    u64::from(period_days) * MS_PER_DAY
}

impl Registry {
    /// EnableKeyRotation (`Some` period: a new schedule, or a new period for the current one)
    /// and DisableKeyRotation (`None`).
    pub(crate) fn set_key_rotation(
        &mut self,
        key_id: KeyId,
        period_days: Option<u32>,
        now_ms: u64,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        if let Some(days) = period_days.filter(|days| !ROTATION_PERIOD_DAYS.contains(days)) {
            return Err(Rejection::new(
                ErrorCode::Validation,
                format!(
                    "RotationPeriodInDays must be between {} and {}, not {days}",
                    ROTATION_PERIOD_DAYS.start(),
                    ROTATION_PERIOD_DAYS.end()
                ),
            ));
        }
        let key = self.keys.get(&key_id).ok_or_else(|| key_not_found(key_id))?;
        if key.spec != KeySpec::SymmetricDefault {
            return Err(not_symmetric());
        }
        if key.origin != Origin::AwsKms {
            return Err(Rejection::new(
                ErrorCode::UnsupportedOperation,
                format!(
                    "Key '{key_id}' has origin {}: automatic rotation is only for keys whose material Trent made",
                    key.origin
                ),
            ));
        }
        require_enabled(key)?;
        let schedule = period_days.map(|period_days| match key.rotation.automatic {
            // A new schedule counts from now.
            None => AutomaticRotation {
                period_days,
                anchor_ms: now_ms,
                next_at_ms: now_ms.saturating_add(period_ms(period_days)),
            },
            // A new period counts from the same anchor; one already past makes the key due now.
            Some(current) => AutomaticRotation {
                period_days,
                anchor_ms: current.anchor_ms,
                next_at_ms: current.anchor_ms.saturating_add(period_ms(period_days)).max(now_ms),
            },
        });
        self.change_key(key_id, changes, |key| key.rotation.automatic = schedule)
    }

    /// A rotation: on the key's schedule, for the due date `Automatic` names (refused unless it
    /// is still the next one and has passed, so one due date rotates once), or on demand.
    pub(crate) fn rotate_key(
        &mut self,
        key_id: KeyId,
        kind: RotationKind,
        material: Option<&RotatedMaterial>,
        now_ms: u64,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        let key = self.keys.get(&key_id).ok_or_else(|| key_not_found(key_id))?;
        match kind {
            RotationKind::Automatic { due_at_ms } => {
                let due = key.rotation.automatic.filter(|schedule| schedule.next_at_ms == due_at_ms);
                let Some(schedule) = due.filter(|_| due_at_ms <= now_ms) else {
                    return Err(Rejection::new(
                        ErrorCode::InvalidState,
                        format!("Key '{key_id}' has no automatic rotation due at {due_at_ms} ms"),
                    ));
                };
                require_enabled(key)?;
                let rotated = rotated_material(key, material)?;
                // The next date follows the one just rotated for, unless that too has passed
                // (the key was disabled, or the cluster down): then one rotation catches up,
                // and the period counts from now.
                let period = period_ms(schedule.period_days);
                let anchor_ms = if due_at_ms.saturating_add(period) > now_ms { due_at_ms } else { now_ms };
                let next =
                    AutomaticRotation { anchor_ms, next_at_ms: anchor_ms.saturating_add(period), ..schedule };
                self.change_key(key_id, changes, |key| {
                    append_rotated(
                        key,
                        rotated,
                        RotationEvent { kind: RotationType::Automatic, at_ms: now_ms },
                    );
                    key.rotation.automatic = Some(next);
                })
            }
            RotationKind::OnDemand => {
                if key.spec != KeySpec::SymmetricDefault {
                    return Err(not_symmetric());
                }
                require_enabled(key)?;
                if key.rotation.on_demand_count >= MAX_ON_DEMAND_ROTATIONS {
                    return Err(Rejection::new(
                        ErrorCode::LimitExceeded,
                        format!("Key '{key_id}' has been rotated on demand {MAX_ON_DEMAND_ROTATIONS} times, the most a key may be"),
                    ));
                }
                if let Some(schedule) = key.rotation.automatic {
                    if schedule.next_at_ms.saturating_sub(ON_DEMAND_CONFLICT_WINDOW_MS) <= now_ms {
                        return Err(Rejection::new(
                            ErrorCode::Conflict,
                            format!("An automatic rotation of key '{key_id}' is in progress or due within 20 minutes"),
                        ));
                    }
                }
                let event = RotationEvent { kind: RotationType::OnDemand, at_ms: now_ms };
                match key.origin {
                    Origin::AwsKms => {
                        let rotated = rotated_material(key, material)?;
                        self.change_key(key_id, changes, |key| {
                            append_rotated(key, rotated, event);
                            key.rotation.on_demand_count += 1;
                        })
                    }
                    // Material a leader made anyway (it had not applied the key's creation when
                    // it stamped the rotation) is dropped: the pending imported material is what
                    // becomes current.
                    Origin::External => {
                        if !key.holds_imported_material() || key.pending_material().is_none() {
                            return Err(Rejection::new(
                                ErrorCode::InvalidState,
                                format!("Key '{key_id}' has no imported key material pending rotation"),
                            ));
                        }
                        self.change_key(key_id, changes, |key| {
                            key.current_version += 1;
                            let index = key.current_version as usize - 1;
                            key.materials[index].became_current = Some(event);
                            key.rotation.on_demand_count += 1;
                        })
                    }
                    origin => Err(Rejection::new(
                        ErrorCode::UnsupportedOperation,
                        format!("Key '{key_id}' has origin {origin}, which does not rotate"),
                    )),
                }
            }
        }
    }

    /// Applies `change` to a key and keeps the rotation queue in step with its schedule.
    fn change_key(
        &mut self,
        key_id: KeyId,
        changes: &mut Vec<RowChange>,
        change: impl FnOnce(&mut KeyRecord),
    ) -> CommandResult {
        let key = self.keys.get_mut(&key_id).ok_or_else(|| key_not_found(key_id))?;
        let before = due_at(key);
        change(key);
        let after = due_at(key);
        changes.push(RowChange::Key(key_id));
        let result = Ok(Applied::Key(Box::new(key.reply_view())));
        self.reindex_rotation(key_id, before, after);
        result
    }

    /// Moves a key in the rotation queue from one due date to another (either may be none).
    pub(crate) fn reindex_rotation(&mut self, key_id: KeyId, before: Option<u64>, after: Option<u64>) {
        if before == after {
            return;
        }
        if let Some(at_ms) = before {
            self.rotation_queue.remove(&(at_ms, key_id));
        }
        if let Some(at_ms) = after {
            self.rotation_queue.insert((at_ms, key_id));
        }
    }

    /// Up to `limit` enabled keys whose automatic rotation is due at or before `now_ms`, with
    /// that due date, earliest first. Keys that are not enabled are skipped and stay due: they
    /// rotate once enabled again, as in AWS. So are keys that hold [`MAX_MATERIAL_VERSIONS`]
    /// versions: apply would refuse their rotation, and the leader would propose it again at
    /// every sweep.
    pub fn keys_due_for_rotation(&self, now_ms: u64, limit: usize) -> Vec<(KeyId, u64)> {
        self.rotation_queue
            .iter()
            .take_while(|(due_at_ms, _)| *due_at_ms <= now_ms)
            .filter(|(_, key_id)| {
                self.keys.get(key_id).is_some_and(|key| {
                    key.lifecycle == KeyLifecycle::Enabled && key.materials.len() < MAX_MATERIAL_VERSIONS
                })
            })
            .take(limit)
            .map(|(due_at_ms, key_id)| (*key_id, *due_at_ms))
            .collect()
    }
}

/// When a key's automatic rotation is due, if it has a schedule.
pub(crate) fn due_at(key: &KeyRecord) -> Option<u64> {
    key.rotation.automatic.map(|schedule| schedule.next_at_ms)
}

/// AWS's answer when a key that is not a symmetric encryption key is asked to rotate or for
/// its rotations.
pub const NOT_SYMMETRIC_MESSAGE: &str =
    "You cannot perform this operation on a non-symmetric key or a key with non-ENCRYPT_DECRYPT key usage.";

fn not_symmetric() -> Rejection {
    Rejection::new(ErrorCode::UnsupportedOperation, NOT_SYMMETRIC_MESSAGE)
}

/// Rotation needs an enabled key: AWS answers DisabledException for a disabled one.
fn require_enabled(key: &KeyRecord) -> Result<(), Rejection> {
    let key_id = key.key_id;
    match key.lifecycle {
        KeyLifecycle::Enabled => Ok(()),
        KeyLifecycle::Disabled => {
            Err(Rejection::new(ErrorCode::Disabled, format!("Key '{key_id}' is disabled.")))
        }
        KeyLifecycle::PendingDeletion { .. } => Err(pending_deletion(key_id)),
        KeyLifecycle::PendingImport => Err(pending_import(key_id)),
    }
}

/// The new material of a rotation of an `AWS_KMS` key: present, with an id the key has not
/// used, and room for one more version.
fn rotated_material<'a>(
    key: &KeyRecord,
    material: Option<&'a RotatedMaterial>,
) -> Result<&'a RotatedMaterial, Rejection> {
    let key_id = key.key_id;
    let material = material.ok_or_else(|| {
        Rejection::new(
            ErrorCode::Validation,
            format!("A rotation of key '{key_id}' must bring new key material"),
        )
    })?;
    if key.materials.iter().any(|old| old.stored_id() == Some(&material.id)) {
        return Err(Rejection::new(
            ErrorCode::Validation,
            format!("Key '{key_id}' already has key material {}", material.id),
        ));
    }
    if key.materials.len() >= MAX_MATERIAL_VERSIONS {
        return Err(Rejection::new(
            ErrorCode::LimitExceeded,
            format!("Key '{key_id}' holds {MAX_MATERIAL_VERSIONS} material versions, the most a key may"),
        ));
    }
    Ok(material)
}

/// Appends `material` as the new current version.
fn append_rotated(key: &mut KeyRecord, material: &RotatedMaterial, became_current: RotationEvent) {
    let version = key.current_version + 1;
    key.materials.push(KeyMaterial {
        version,
        created_at_ms: became_current.at_ms,
        became_current: Some(became_current),
        source: MaterialSource::Rotated { id: material.id, sealed: material.sealed.clone() },
    });
    key.current_version = version;
}

#[cfg(test)]
mod tests {
    use trent_wire::model::RotationType;
    use trent_wire::ErrorCode;
    use uuid::Uuid;

    use crate::command::{Applied, Command, CommandResult, Request, RequestId};
    use crate::golden::format3::external_key_records;
    use crate::records::KeyLifecycle;
    use crate::registry::{KeyRecord, Registry};
    use crate::rotation::{RotatedMaterial, RotationKind};
    use crate::rows::RegistryRows;

    const T0: u64 = 1_800_000_000_000;

    /// A registry holding the golden `EXTERNAL` keys, and the one named `name`.
    fn with_external(name: &str) -> (Registry, KeyRecord) {
        let keys: Vec<KeyRecord> = external_key_records().into_iter().map(|(_, key)| key).collect();
        let key = external_key_records().into_iter().find(|(n, _)| *n == name).expect("sample").1;
        (RegistryRows { keys, ..RegistryRows::default() }.into_registry().expect("registry"), key)
    }

    fn run(registry: &mut Registry, n: u64, command: Command) -> CommandResult {
        let request =
            Request { request_id: RequestId(Uuid::from_u64_pair(7, n)), issued_at_ms: T0 + n, command };
        registry.apply(n, 0, &request).expect("no invariant broken").0
    }

    fn code(result: CommandResult) -> ErrorCode {
        result.expect_err("refused").code
    }

    #[test]
    fn on_demand_rotation_of_an_external_key_makes_its_pending_material_current() {
        let (mut registry, key) = with_external("key-row-external-enabled");
        let id = key.key_id;
        let on_demand = |material| Command::RotateKey { key_id: id, kind: RotationKind::OnDemand, material };
        let material = RotatedMaterial {
            id: crate::KeyMaterialId([9; 32]),
            sealed: key.materials[0].sealed().cloned().unwrap(),
        };
        // Material a leader made anyway (it had not applied the key's creation) is dropped.
        let Applied::Key(rotated) = run(&mut registry, 2, on_demand(Some(material))).expect("promoted")
        else {
            panic!("a key")
        };
        assert_eq!((rotated.current_version, rotated.rotation.on_demand_count), (3, 2));
        let stored = registry.key(&id).unwrap();
        assert_eq!(stored.materials.len(), 3, "no material added, the leader's dropped");
        let became = stored.materials[2].became_current.expect("rotated");
        assert_eq!((became.kind, became.at_ms), (RotationType::OnDemand, T0 + 2));
        assert_eq!(stored.pending_material(), None);

        assert_eq!(code(run(&mut registry, 3, on_demand(None))), ErrorCode::InvalidState, "nothing pending");
    }

    #[test]
    fn a_key_pending_import_cannot_be_enabled_or_disabled_and_returns_to_it_from_deletion() {
        let (mut registry, key) = with_external("key-row-external-pending-import");
        let key_id = key.key_id;
        assert_eq!(code(run(&mut registry, 1, Command::EnableKey { key_id })), ErrorCode::InvalidState);
        assert_eq!(code(run(&mut registry, 2, Command::DisableKey { key_id })), ErrorCode::InvalidState);
        run(&mut registry, 3, Command::ScheduleKeyDeletion { key_id, window_days: 7 }).expect("scheduled");
        run(&mut registry, 4, Command::CancelKeyDeletion { key_id }).expect("cancelled");
        assert_eq!(registry.key(&key_id).unwrap().lifecycle, KeyLifecycle::PendingImport);

        // A key with all its material goes back to Disabled.
        let (mut registry, key) = with_external("key-row-external-enabled");
        let key_id = key.key_id;
        run(&mut registry, 5, Command::ScheduleKeyDeletion { key_id, window_days: 7 }).expect("scheduled");
        run(&mut registry, 6, Command::CancelKeyDeletion { key_id }).expect("cancelled");
        assert_eq!(registry.key(&key_id).unwrap().lifecycle, KeyLifecycle::Disabled);
    }

    #[test]
    fn automatic_rotation_is_refused_for_external_keys() {
        let (mut registry, key) = with_external("key-row-external-enabled");
        let refused =
            run(&mut registry, 1, Command::SetKeyRotation { key_id: key.key_id, period_days: Some(365) });
        assert_eq!(code(refused), ErrorCode::UnsupportedOperation);
    }
}
