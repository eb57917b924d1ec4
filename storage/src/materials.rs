//! A key and its material versions as format 3 stores them: where each version came from, which
//! one is current, the rotation schedule, and the invariants the state machine keeps about them
//! (`check_key_record`). Format 2 and older stored a plainer layout (`crate::legacy`); every
//! record of it reads as a key whose versions were all `Created` and whose last is current.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use trent_wire::model::{KeyMaterialState, KeySpec, KeyUsage, Origin, RotationType};

use crate::apply::InvariantViolation;
use crate::records::{KeyId, KeyLifecycle};
use crate::sealed::WrappedSecret;

/// The most material versions one key holds: 1,000 rotations (AWS's 25 on demand, and automatic
/// rotation every 90 days, its shortest period, for over two centuries) need 1,001.
pub const MAX_MATERIAL_VERSIONS: usize = 1024;
/// The most characters of an imported material's description (AWS `KeyMaterialDescription`).
pub const MAX_MATERIAL_DESCRIPTION_CHARS: usize = trent_wire::limits::MAX_KEY_MATERIAL_DESCRIPTION_CHARS;

/// Everything the cluster knows about one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The key id.
    pub key_id: KeyId,
    /// Creation time, ms since the epoch (the leader's clock).
    pub created_at_ms: u64,
    /// Description.
    pub description: String,
    /// Key material type.
    pub spec: KeySpec,
    /// What it is for.
    pub usage: KeyUsage,
    /// Where its material comes from.
    pub origin: Origin,
    /// Lifecycle state.
    pub lifecycle: KeyLifecycle,
    /// Tags, ordered by tag key.
    pub tags: BTreeMap<String, String>,
    /// Material versions, oldest first, numbered from 1: at least one, except for an `EXTERNAL`
    /// key that has never been imported into. Sealed: storage never sees plaintext material.
    pub materials: Vec<KeyMaterial>,
    /// The version that encrypts, signs and MACs now; 0 while an `EXTERNAL` key has none. At
    /// most one version follows it: imported material waiting for RotateKeyOnDemand
    /// (PENDING_ROTATION).
    pub current_version: u32,
    /// The key's rotation schedule and how many on-demand rotations it has had.
    pub rotation: KeyRotation,
}

/// One version of a key's material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMaterial {
    /// Its version, from 1.
    pub version: u32,
    /// When it was made or first imported, ms since the epoch.
    pub created_at_ms: u64,
    /// The rotation that made it current; `None` for a key's first material, for material made
    /// before format 3, and for material not (yet) current.
    pub became_current: Option<RotationEvent>,
    /// Where it came from, with its sealed bytes.
    pub source: MaterialSource,
}

/// A rotation: what triggered it and when it was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationEvent {
    /// The key's schedule, or RotateKeyOnDemand.
    pub kind: RotationType,
    /// When it was applied (the request's timestamp), ms since the epoch.
    pub at_ms: u64,
}

/// Where a material version came from. Each is sealed under the barrier with its own context
/// (the node's `seal::material`): a version and its sealed bytes cannot be swapped for
/// another's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MaterialSource {
    /// Made by the leader with the key (CreateKey), and every version stored before format 3.
    /// Sealed with the key id and version as context; its [`KeyMaterialId`] is derived from
    /// them by the node.
    Created {
        /// The sealed material.
        sealed: WrappedSecret,
    },
    /// Made by the leader for a rotation of an `AWS_KMS` key. Sealed with the key id and
    /// material id as context.
    Rotated {
        /// The id the leader picked (random).
        id: KeyMaterialId,
        /// The sealed material.
        sealed: WrappedSecret,
    },
    /// Imported into an `EXTERNAL` key (ImportKeyMaterial).
    Imported(ImportedMaterial),
}

/// Material a customer imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedMaterial {
    /// Derived from the material and the key id by the node that took the import, so importing
    /// the same material again finds it.
    pub id: KeyMaterialId,
    /// The customer's description of it (AWS `KeyMaterialDescription`), if given.
    pub description: Option<String>,
    /// The material, sealed with the key id and material id as context; `None` once it was
    /// deleted or expired (AWS ImportState PENDING_IMPORT) until it is imported again.
    pub sealed: Option<WrappedSecret>,
    /// When the last import of it expires, ms since the epoch; `None`: it does not expire
    /// (KEY_MATERIAL_DOES_NOT_EXPIRE). Kept once deleted or expired: the terms it was last
    /// imported under.
    pub valid_to_ms: Option<u64>,
}

/// A key material id: 32 bytes, shown (as AWS's `KeyMaterialId`) as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyMaterialId(pub [u8; 32]);

impl KeyMaterialId {
    /// Parses 64 lowercase hex digits; `None` for anything else.
    pub fn parse(text: &str) -> Option<KeyMaterialId> {
        let digits = text.as_bytes();
        if digits.len() != 64 || !digits.iter().all(|d| d.is_ascii_digit() || (b'a'..=b'f').contains(d)) {
            return None;
        }
        let mut id = [0u8; 32];
        for (byte, pair) in id.iter_mut().zip(digits.chunks_exact(2)) {
            *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(KeyMaterialId(id))
    }
}

impl fmt::Display for KeyMaterialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for KeyMaterialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyMaterialId({self})")
    }
}

/// A key's rotation state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRotation {
    /// The automatic schedule, while EnableKeyRotation is in effect (symmetric `AWS_KMS` keys).
    pub automatic: Option<AutomaticRotation>,
    /// RotateKeyOnDemand rotations so far (at most AWS's 25).
    pub on_demand_count: u32,
}

/// An automatic rotation schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutomaticRotation {
    /// `RotationPeriodInDays`, 90–2560.
    pub period_days: u32,
    /// What the period counts from: when rotation was enabled, or the last automatic rotation.
    pub anchor_ms: u64,
    /// When the next automatic rotation is due, ms since the epoch.
    pub next_at_ms: u64,
}

impl KeyMaterial {
    /// A version made by CreateKey (or stored before format 3).
    pub fn created(version: u32, sealed: WrappedSecret, created_at_ms: u64) -> KeyMaterial {
        KeyMaterial {
            version,
            created_at_ms,
            became_current: None,
            source: MaterialSource::Created { sealed },
        }
    }

    /// The sealed material; `None` for imported material that was deleted or expired.
    pub fn sealed(&self) -> Option<&WrappedSecret> {
        match &self.source {
            MaterialSource::Created { sealed } | MaterialSource::Rotated { sealed, .. } => Some(sealed),
            MaterialSource::Imported(imported) => imported.sealed.as_ref(),
        }
    }

    /// The id stored with the material; `None` for `Created` material, whose id the node
    /// derives from the key id and version.
    pub fn stored_id(&self) -> Option<&KeyMaterialId> {
        match &self.source {
            MaterialSource::Created { .. } => None,
            MaterialSource::Rotated { id, .. } => Some(id),
            MaterialSource::Imported(imported) => Some(&imported.id),
        }
    }

    /// The import details of imported material.
    pub fn imported(&self) -> Option<&ImportedMaterial> {
        match &self.source {
            MaterialSource::Imported(imported) => Some(imported),
            MaterialSource::Created { .. } | MaterialSource::Rotated { .. } => None,
        }
    }
}

impl KeyRecord {
    /// The current material; `None` while an `EXTERNAL` key has none. O(1).
    pub fn current_material(&self) -> Option<&KeyMaterial> {
        self.material(self.current_version)
    }

    /// Material `version`, current, older or pending. O(1): versions are numbered from 1.
    pub fn material(&self, version: u32) -> Option<&KeyMaterial> {
        let index = usize::try_from(version).ok()?.checked_sub(1)?;
        self.materials.get(index).filter(|material| material.version == version)
    }

    /// Imported material waiting to become current (PENDING_ROTATION), if any.
    pub fn pending_material(&self) -> Option<&KeyMaterial> {
        self.material(self.current_version.checked_add(1)?)
    }

    /// Where material `version` stands, as ListKeyRotations reports it.
    pub fn material_state(&self, version: u32) -> Option<KeyMaterialState> {
        self.material(version)?;
        Some(match version.cmp(&self.current_version) {
            std::cmp::Ordering::Less => KeyMaterialState::NonCurrent,
            std::cmp::Ordering::Equal => KeyMaterialState::Current,
            std::cmp::Ordering::Greater => KeyMaterialState::PendingRotation,
        })
    }

    /// Whether the key lacks material it needs (it has none yet, or some version up to the
    /// current one was deleted or expired): an `EXTERNAL` key in PendingImport.
    pub fn has_missing_material(&self) -> bool {
        let current = usize::try_from(self.current_version).unwrap_or(usize::MAX);
        self.current_version == 0
            || self.materials.iter().take(current).any(|material| material.sealed().is_none())
    }

    /// The record as a write's result carries it: every field, but of the materials only the
    /// current one. A key with a long history is large, and a batch of writes to it would
    /// otherwise repeat the whole history in every result (`Applied::Key`).
    pub fn reply_view(&self) -> KeyRecord {
        KeyRecord {
            key_id: self.key_id,
            created_at_ms: self.created_at_ms,
            description: self.description.clone(),
            spec: self.spec,
            usage: self.usage,
            origin: self.origin,
            lifecycle: self.lifecycle,
            tags: self.tags.clone(),
            materials: self.current_material().into_iter().cloned().collect(),
            current_version: self.current_version,
            rotation: self.rotation,
        }
    }

    /// Whether the key's material is imported rather than made by Trent: an `EXTERNAL` key
    /// whose versions are all `Imported` (none yet counts). An `EXTERNAL` key stored before
    /// format 3 with `Created` material is not.
    pub fn holds_imported_material(&self) -> bool {
        self.origin == Origin::External
            && self.materials.first().is_none_or(|first| first.imported().is_some())
    }
}

/// A stored key record keeps the structural limits apply keeps: sizes within AWS's limits (a
/// description of at most 8,192 characters, at most 50 tags of at most 128 + 256 characters,
/// material descriptions of at most 256), between one and [`MAX_MATERIAL_VERSIONS`] material
/// versions numbered 1, 2, 3, ... (none for an `EXTERNAL` key never imported into), and the
/// rules of material and rotation below. Naming and character rules are left to request time:
/// they may tighten, and a row stored under older rules must not stop a node from opening its
/// data.
pub(crate) fn check_key_record(key: &KeyRecord) -> Result<(), InvariantViolation> {
    use trent_wire::limits::{MAX_DESCRIPTION_CHARS, MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS};
    let violation = |what: String| InvariantViolation(format!("key {}: {what}", key.key_id));
    if key.description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(violation(format!("a description of {} characters", key.description.chars().count())));
    }
    if key.tags.len() > crate::MAX_TAGS_PER_KEY {
        return Err(violation(format!("{} tags", key.tags.len())));
    }
    let oversized = key.tags.iter().any(|(tag_key, tag_value)| {
        tag_key.chars().count() > MAX_TAG_KEY_CHARS || tag_value.chars().count() > MAX_TAG_VALUE_CHARS
    });
    if oversized {
        return Err(violation("a tag over 128 + 256 characters".to_owned()));
    }
    check_materials(key).map_err(violation)?;
    check_rotation(key).map_err(violation)?;
    check_lifecycle(key).map_err(violation)
}

/// Versions numbered from 1, the current one within them with at most one (imported) version
/// after it, and each source where it belongs.
fn check_materials(key: &KeyRecord) -> Result<(), String> {
    let count = key.materials.len();
    let numbered = key.materials.iter().zip(1u32..).all(|(material, expected)| material.version == expected);
    let imported = key.holds_imported_material();
    if count > MAX_MATERIAL_VERSIONS || !numbered || (count == 0 && !imported) {
        return Err(format!("{count} material versions; 1 to {MAX_MATERIAL_VERSIONS}, numbered from 1"));
    }
    let current = usize::try_from(key.current_version).unwrap_or(usize::MAX);
    let within = if imported {
        current <= count && count <= current + 1 && (current > 0 || count == 0)
    } else {
        current == count
    };
    if !within {
        return Err(format!("current version {current} of {count} material versions"));
    }
    if key.spec != KeySpec::SymmetricDefault && count > 1 {
        return Err(format!("{count} material versions of a {} key; at most one", key.spec));
    }
    let mut ids = std::collections::HashSet::with_capacity(count);
    for material in &key.materials {
        let version = material.version;
        let pending = version > key.current_version;
        let allowed = match &material.source {
            MaterialSource::Created { .. } => !imported && material.became_current.is_none(),
            MaterialSource::Rotated { .. } => {
                key.origin != Origin::External && material.became_current.is_some()
            }
            MaterialSource::Imported(material) => {
                imported
                    && material
                        .description
                        .as_ref()
                        .is_none_or(|d| d.chars().count() <= MAX_MATERIAL_DESCRIPTION_CHARS)
            }
        };
        if !allowed {
            return Err(format!("material version {version} does not fit a key of origin {}", key.origin));
        }
        if pending && (material.became_current.is_some() || material.sealed().is_none()) {
            return Err(format!("pending material version {version} is current, or not sealed"));
        }
        if let Some(id) = material.stored_id() {
            if !ids.insert(*id) {
                return Err(format!("material id {id} appears twice"));
            }
        }
    }
    Ok(())
}

/// Automatic rotation only for symmetric `AWS_KMS` keys, with a period AWS allows; on-demand
/// rotations within AWS's limit.
fn check_rotation(key: &KeyRecord) -> Result<(), String> {
    if let Some(automatic) = key.rotation.automatic {
        if key.spec != KeySpec::SymmetricDefault || key.origin != Origin::AwsKms {
            return Err(format!("automatic rotation of a {} key of origin {}", key.spec, key.origin));
        }
        if !crate::rotation::ROTATION_PERIOD_DAYS.contains(&automatic.period_days) {
            return Err(format!("a rotation period of {} days", automatic.period_days));
        }
    }
    let on_demand = key.rotation.on_demand_count;
    if on_demand > crate::rotation::MAX_ON_DEMAND_ROTATIONS {
        return Err(format!("{on_demand} on-demand rotations"));
    }
    Ok(())
}

/// PendingImport exactly when an `EXTERNAL` key lacks material, unless it is pending deletion.
fn check_lifecycle(key: &KeyRecord) -> Result<(), String> {
    if matches!(key.lifecycle, KeyLifecycle::PendingDeletion { .. }) {
        return Ok(());
    }
    let missing = key.holds_imported_material() && key.has_missing_material();
    if missing != (key.lifecycle == KeyLifecycle::PendingImport) {
        return Err(format!(
            "{:?} with material {}",
            key.lifecycle,
            if missing { "missing" } else { "present" }
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn material_ids_are_64_lowercase_hex_digits() {
        let id = KeyMaterialId([0xab; 32]);
        assert_eq!(id.to_string(), "ab".repeat(32));
        assert_eq!(KeyMaterialId::parse(&id.to_string()), Some(id));
        assert_eq!(KeyMaterialId::parse(&"AB".repeat(32)), None);
        assert_eq!(KeyMaterialId::parse(&"ab".repeat(31)), None);
        assert_eq!(KeyMaterialId::parse(&format!("{}g", "a".repeat(63))), None);
    }
}
