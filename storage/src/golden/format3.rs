//! The samples of what format 3 added: rotated and `EXTERNAL` keys, import parameters, and the
//! rows of a cluster at feature level 4.

use trent_wire::model::{Origin, RotationType, WrappingAlgorithm, WrappingKeySpec};
use uuid::Uuid;

use super::{access, dedup, key_id, key_record, rows, wrapped};
use crate::command::RequestId;
use crate::features::ClusterFeatures;
use crate::import::{ImportParametersRecord, ImportTokenId};
use crate::materials::{
    AutomaticRotation, ImportedMaterial, KeyMaterialId, KeyRotation, MaterialSource, RotationEvent,
};
use crate::registry::{DedupOutcome, KeyLifecycle, KeyMaterial, KeyRecord};
use crate::rows::RegistryRows;

/// When the rotation and import samples happened.
pub(crate) const LATER_MS: u64 = 1_766_000_000_000;
pub(crate) const DAY_MS: u64 = 24 * 60 * 60 * 1000;

pub(crate) fn material_id(n: u8) -> KeyMaterialId {
    KeyMaterialId([n; 32])
}

pub(crate) fn token_id() -> ImportTokenId {
    ImportTokenId([0x77; 16])
}

/// A key rotated once on demand and once on its schedule, rotation still enabled.
pub(crate) fn rotated_key_record() -> KeyRecord {
    let mut key = key_record(7, KeyLifecycle::Enabled);
    let rotated = |version: u32, kind: RotationType, at_ms: u64, n: u8| KeyMaterial {
        version,
        created_at_ms: at_ms,
        became_current: Some(RotationEvent { kind, at_ms }),
        source: MaterialSource::Rotated { id: material_id(n), sealed: wrapped(n) },
    };
    key.materials.push(rotated(3, RotationType::OnDemand, LATER_MS, 0x31));
    key.materials.push(rotated(4, RotationType::Automatic, LATER_MS + 365 * DAY_MS, 0x32));
    key.current_version = 4;
    key.rotation = KeyRotation {
        automatic: Some(AutomaticRotation {
            period_days: 365,
            anchor_ms: LATER_MS + 365 * DAY_MS,
            next_at_ms: LATER_MS + 730 * DAY_MS,
        }),
        on_demand_count: 1,
    };
    key
}

fn imported(
    version: u32,
    n: u8,
    sealed: bool,
    valid_to_ms: Option<u64>,
    description: Option<&str>,
) -> KeyMaterial {
    KeyMaterial {
        version,
        created_at_ms: LATER_MS + u64::from(version),
        became_current: None,
        source: MaterialSource::Imported(ImportedMaterial {
            id: material_id(n),
            description: description.map(str::to_owned),
            sealed: sealed.then(|| wrapped(n)),
            valid_to_ms,
        }),
    }
}

/// `EXTERNAL` keys in each state: never imported into, imported (a current, an older and a
/// pending version), with material deleted, and pending deletion with material expired.
pub(crate) fn external_key_records() -> Vec<(&'static str, KeyRecord)> {
    let external =
        |n: u8, lifecycle: KeyLifecycle, materials: Vec<KeyMaterial>, current_version: u32| KeyRecord {
            origin: Origin::External,
            lifecycle,
            materials,
            current_version,
            ..key_record(n, KeyLifecycle::Enabled)
        };
    let mut promoted = imported(2, 0x42, true, None, None);
    promoted.became_current = Some(RotationEvent { kind: RotationType::OnDemand, at_ms: LATER_MS + 10 });
    let mut enabled = external(
        9,
        KeyLifecycle::Enabled,
        vec![
            imported(1, 0x41, true, Some(LATER_MS + 300 * DAY_MS), Some("golden import")),
            promoted,
            imported(3, 0x43, true, Some(LATER_MS + 30 * DAY_MS), None),
        ],
        2,
    );
    enabled.rotation.on_demand_count = 1;
    vec![
        ("key-row-external-pending-import", external(11, KeyLifecycle::PendingImport, Vec::new(), 0)),
        ("key-row-external-enabled", enabled),
        (
            "key-row-external-material-deleted",
            external(13, KeyLifecycle::PendingImport, vec![imported(1, 0x44, false, None, Some("gone"))], 1),
        ),
        (
            "key-row-external-pending-deletion",
            external(
                15,
                KeyLifecycle::PendingDeletion { deletion_at_ms: LATER_MS + 7 * DAY_MS, window_days: 7 },
                vec![imported(1, 0x45, false, Some(LATER_MS), None)],
                1,
            ),
        ),
    ]
}

pub(crate) fn import_parameters() -> ImportParametersRecord {
    ImportParametersRecord {
        token_id: token_id(),
        key_id: key_id(9),
        algorithm: WrappingAlgorithm::RsaAesKeyWrapSha256,
        wrapping_spec: WrappingKeySpec::Rsa4096,
        public_key: vec![0x30; 64],
        sealed_private_key: wrapped(0x50),
        valid_to_ms: LATER_MS + DAY_MS,
    }
}

/// Rows of a cluster at level 4: rotated and external keys, import parameters.
pub(crate) fn rows_v3() -> RegistryRows {
    let mut rows = rows(true);
    rows.keys.push(rotated_key_record());
    rows.keys.extend(external_key_records().into_iter().map(|(_, key)| key));
    rows.keys.sort_by_key(|key| key.key_id);
    rows.dedup
        .push((RequestId(Uuid::from_bytes([0x41; 16])), dedup(DedupOutcome::ImportParameters(token_id()))));
    rows.features = ClusterFeatures { level: 4, level_one_at: Some((300, 2)) };
    rows.access = access();
    rows.import_parameters = vec![import_parameters()];
    rows
}
