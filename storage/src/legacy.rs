//! The key record as formats 0 to 2 stored and sent it, frozen: read from old rows, snapshots
//! and peers and upgraded; written for a peer or snapshot of a cluster below feature level 4,
//! which refuses what the old layout cannot say (rotated or imported material, a rotation
//! schedule, PendingImport).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use trent_wire::model::{KeySpec, KeyUsage, Origin};

use crate::codec::{decode_payload, encode_at, split, Format};
use crate::materials::{KeyMaterial, KeyRecord, KeyRotation, MaterialSource};
use crate::records::{KeyId, KeyLifecycle};
use crate::sealed::WrappedSecret;

/// The last format whose key record is [`KeyRecordF2`].
pub const LAST_F2_FORMAT: Format = Format::V2;

/// A key record in formats 0 to 2. Its lifecycle is [`KeyLifecycle`], whose first three
/// variants are the ones those formats knew (at the same positions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecordF2 {
    /// The key id.
    pub key_id: KeyId,
    /// Creation time, ms since the epoch.
    pub created_at_ms: u64,
    /// Description.
    pub description: String,
    /// Key material type.
    pub spec: KeySpec,
    /// What it is for.
    pub usage: KeyUsage,
    /// Where its material comes from.
    pub origin: Origin,
    /// Lifecycle state: never PendingImport.
    pub lifecycle: KeyLifecycle,
    /// Tags, ordered by tag key.
    pub tags: BTreeMap<String, String>,
    /// Material versions, oldest first; the last is current.
    pub materials: Vec<KeyMaterialF2>,
}

/// A material version in formats 0 to 2: sealed with the key id and version as context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMaterialF2 {
    /// Its version, from 1.
    pub version: u32,
    /// The sealed material.
    pub sealed: WrappedSecret,
    /// When it was created, ms since the epoch.
    pub created_at_ms: u64,
}

/// State of a key that the layout of format 2 cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key {key_id}: {what} cannot be expressed in format 2 (cluster feature level 3 or lower)")]
pub struct Inexpressible {
    /// The key.
    pub key_id: KeyId,
    /// What does not fit.
    pub what: &'static str,
}

impl From<KeyRecordF2> for KeyRecord {
    /// Every version becomes `Created`, the last current; no rotation schedule.
    fn from(old: KeyRecordF2) -> KeyRecord {
        let current_version = old.materials.last().map_or(0, |material| material.version);
        KeyRecord {
            key_id: old.key_id,
            created_at_ms: old.created_at_ms,
            description: old.description,
            spec: old.spec,
            usage: old.usage,
            origin: old.origin,
            lifecycle: old.lifecycle,
            tags: old.tags,
            materials: old
                .materials
                .into_iter()
                .map(|material| {
                    KeyMaterial::created(material.version, material.sealed, material.created_at_ms)
                })
                .collect(),
            current_version,
            rotation: KeyRotation::default(),
        }
    }
}

impl TryFrom<&KeyRecord> for KeyRecordF2 {
    type Error = Inexpressible;

    /// The record in the old layout, if it holds only what that layout can say: `Created`
    /// material whose last version is current (a whole record, or its reply view), no
    /// rotation schedule or on-demand rotations, and not PendingImport.
    fn try_from(key: &KeyRecord) -> Result<KeyRecordF2, Inexpressible> {
        let refuse = |what| Err(Inexpressible { key_id: key.key_id, what });
        if key.lifecycle == KeyLifecycle::PendingImport {
            return refuse("the PendingImport state");
        }
        if key.rotation != KeyRotation::default() {
            return refuse("a rotation schedule or on-demand rotation");
        }
        if key.materials.last().map(|material| material.version) != Some(key.current_version) {
            return refuse("a key whose last material is not current");
        }
        let mut materials = Vec::with_capacity(key.materials.len());
        for material in &key.materials {
            match (&material.source, material.became_current) {
                (MaterialSource::Created { sealed }, None) => materials.push(KeyMaterialF2 {
                    version: material.version,
                    sealed: sealed.clone(),
                    created_at_ms: material.created_at_ms,
                }),
                _ => return refuse("rotated or imported material"),
            }
        }
        Ok(KeyRecordF2 {
            key_id: key.key_id,
            created_at_ms: key.created_at_ms,
            description: key.description.clone(),
            spec: key.spec,
            usage: key.usage,
            origin: key.origin,
            lifecycle: key.lifecycle,
            tags: key.tags.clone(),
            materials,
        })
    }
}

/// Encodes a key record in `format`: the old layout up to format 2 (refusing what it cannot
/// hold), the current one after.
pub fn encode_key_record(format: Format, key: &KeyRecord) -> Result<Vec<u8>, bincode::error::EncodeError> {
    if format > LAST_F2_FORMAT {
        return encode_at(format, key);
    }
    let old = KeyRecordF2::try_from(key)
        .map_err(|refused| bincode::error::EncodeError::OtherString(refused.to_string()))?;
    encode_at(format, &old)
}

/// Decodes a key record written in any format this build reads (a row, or a value inside one).
pub fn decode_key_record(bytes: &[u8]) -> Result<KeyRecord, bincode::error::DecodeError> {
    let (format, payload) = split(bytes)?;
    if format > LAST_F2_FORMAT {
        return decode_payload(payload);
    }
    decode_payload::<KeyRecordF2>(payload).map(KeyRecord::from)
}

/// Key records written in the old layout one by one as a sequence, so that a snapshot in an
/// old format does not hold a second copy of every key while it is encoded.
pub(crate) struct KeysF2<'a>(pub(crate) &'a [KeyRecord]);

impl Serialize for KeysF2<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut keys = serializer.serialize_seq(Some(self.0.len()))?;
        for key in self.0 {
            keys.serialize_element(&KeyRecordF2::try_from(key).map_err(S::Error::custom)?)?;
        }
        keys.end()
    }
}
