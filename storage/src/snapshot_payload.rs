//! The snapshot payload (every record of a registry) in each format: written in the format of
//! the cluster's feature level, so every member installs it, and read in any.
//!
//! - **Format 3**: [`RegistryRows`] as it is, with the key record of format 3 and the import
//!   parameters.
//! - **Format 2**: format 1, then users, access key owners, key policies and grants.
//! - **Format 1**: format 3 without those and without import parameters, with the key records
//!   of `crate::legacy`.
//! - **Format 0**: format 1 without the feature level; before unseal splits were recorded,
//!   without those either.
//!
//! An older format cannot carry what a newer one added: encoding refuses it rather than drop it.

use serde::{Deserialize, Serialize};

use crate::codec::{decode_snapshot_payload, encode_at, split, Format};
use crate::command::RequestId;
use crate::features::ClusterFeatures;
use crate::legacy::{KeyRecordF2, KeysF2};
use crate::registry::{AccessKeyRecord, AliasRecord, DedupOutcome, DedupRecord, KeyRecord};
use crate::rows::{AccessRows, RegistryRows};
use crate::sealed::{SealedKeyring, UnsealSplits};

/// The format-1 snapshot payload, borrowed for encoding. Format 2's is it followed by
/// [`AccessRows`] (bincode writes a pair as its two values one after the other).
#[derive(Serialize)]
struct RowsV1Ref<'a> {
    keys: KeysF2<'a>,
    aliases: &'a [AliasRecord],
    dedup: &'a [(RequestId, DedupRecord)],
    keyring: &'a Option<SealedKeyring>,
    access_keys: &'a [AccessKeyRecord],
    unseal_splits: &'a Option<UnsealSplits>,
    features: &'a ClusterFeatures,
}

/// The format-1 snapshot payload, for decoding.
#[derive(Deserialize)]
struct RowsV1 {
    keys: Vec<KeyRecordF2>,
    aliases: Vec<AliasRecord>,
    dedup: Vec<(RequestId, DedupRecord)>,
    keyring: Option<SealedKeyring>,
    access_keys: Vec<AccessKeyRecord>,
    unseal_splits: Option<UnsealSplits>,
    features: ClusterFeatures,
}

/// The format-0 snapshot payload before unseal splits were recorded: still read, so a snapshot a node
/// saved (or a peer sends) from before then installs.
#[derive(Debug, Deserialize)]
struct RegistryRowsWithoutSplit {
    keys: Vec<KeyRecordF2>,
    aliases: Vec<AliasRecord>,
    dedup: Vec<(RequestId, DedupRecord)>,
    keyring: Option<SealedKeyring>,
    access_keys: Vec<AccessKeyRecord>,
}

/// A format-0 layout, borrowed, for encoding (`unseal_splits` only when one is recorded).
#[derive(Serialize)]
struct LegacyRowsRef<'a> {
    keys: KeysF2<'a>,
    aliases: &'a [AliasRecord],
    dedup: &'a [(RequestId, DedupRecord)],
    keyring: &'a Option<SealedKeyring>,
    access_keys: &'a [AccessKeyRecord],
}

fn upgraded(keys: Vec<KeyRecordF2>) -> Vec<KeyRecord> {
    keys.into_iter().map(KeyRecord::from).collect()
}

fn refuse(what: String) -> bincode::error::EncodeError {
    bincode::error::EncodeError::OtherString(what)
}

impl RegistryRows {
    /// Encodes the snapshot payload in `format`: what every member of a cluster at its feature
    /// level installs. In format 0, the layout from before splits existed while none is
    /// recorded (so a node of a build before splits installs it), else the one with them; the
    /// feature level is 0 then and is not carried.
    pub(crate) fn encode_snapshot(&self, format: Format) -> Result<Vec<u8>, bincode::error::EncodeError> {
        if format >= Format::V3 {
            return encode_at(format, self);
        }
        // Only a cluster at level 4 (format 3) has these; a lower format cannot carry them.
        if !self.import_parameters.is_empty() {
            return Err(refuse(format!("import parameters do not fit {format}")));
        }
        if self.dedup.iter().any(|(_, record)| matches!(record.outcome, DedupOutcome::ImportParameters(_))) {
            return Err(refuse(format!("a remembered GetParametersForImport does not fit {format}")));
        }
        let keys = KeysF2(&self.keys);
        if format >= Format::V1 {
            let v1 = RowsV1Ref {
                keys,
                aliases: &self.aliases,
                dedup: &self.dedup,
                keyring: &self.keyring,
                access_keys: &self.access_keys,
                unseal_splits: &self.unseal_splits,
                features: &self.features,
            };
            if format == Format::V2 {
                return encode_at(format, &(v1, &self.access));
            }
            if !self.access.is_empty() {
                // Only a cluster at level 2 (format 2) has these; a lower format cannot carry them.
                return Err(refuse(format!("users, key policies and grants do not fit {format}")));
            }
            return encode_at(format, &v1);
        }
        let legacy = LegacyRowsRef {
            keys,
            aliases: &self.aliases,
            dedup: &self.dedup,
            keyring: &self.keyring,
            access_keys: &self.access_keys,
        };
        match &self.unseal_splits {
            Some(splits) => encode_at(Format::LEGACY, &(legacy, Some(splits))),
            None => encode_at(Format::LEGACY, &legacy),
        }
    }

    /// Decodes a snapshot payload in any format this build reads.
    pub(crate) fn decode_snapshot(bytes: &[u8]) -> Result<RegistryRows, bincode::error::DecodeError> {
        let (format, payload) = split(bytes)?;
        if format >= Format::V3 {
            return decode_snapshot_payload::<RegistryRows>(payload);
        }
        if format >= Format::V1 {
            let (v1, access) = if format == Format::V2 {
                decode_snapshot_payload::<(RowsV1, AccessRows)>(payload)?
            } else {
                (decode_snapshot_payload::<RowsV1>(payload)?, AccessRows::default())
            };
            return Ok(RegistryRows {
                keys: upgraded(v1.keys),
                aliases: v1.aliases,
                dedup: v1.dedup,
                keyring: v1.keyring,
                access_keys: v1.access_keys,
                unseal_splits: v1.unseal_splits,
                features: v1.features,
                access,
                import_parameters: Vec::new(),
            });
        }
        // With splits, the format-0 layout is the one without, then the splits.
        let (old, unseal_splits) =
            match decode_snapshot_payload::<(RegistryRowsWithoutSplit, Option<UnsealSplits>)>(payload) {
                Ok(decoded) => decoded,
                Err(error) => match decode_snapshot_payload::<RegistryRowsWithoutSplit>(payload) {
                    Ok(old) => (old, None),
                    Err(_) => return Err(error),
                },
            };
        Ok(RegistryRows {
            keys: upgraded(old.keys),
            aliases: old.aliases,
            dedup: old.dedup,
            keyring: old.keyring,
            access_keys: old.access_keys,
            unseal_splits,
            ..RegistryRows::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use trent_wire::model::RotationType;

    use super::*;
    use crate::codec::encode;
    use crate::materials::{KeyMaterialId, MaterialSource, RotationEvent};
    use crate::registry::KeyMaterial;
    use crate::rows::tests::key;
    use crate::sealed::WrappedSecret;

    #[test]
    fn a_snapshot_from_before_unseal_splits_were_recorded_still_installs() {
        #[derive(Serialize)]
        struct Before {
            keys: Vec<KeyRecordF2>,
            aliases: Vec<AliasRecord>,
            dedup: Vec<(RequestId, DedupRecord)>,
            keyring: Option<SealedKeyring>,
            access_keys: Vec<AccessKeyRecord>,
        }
        let old_key = KeyRecordF2::try_from(&key(5)).unwrap();
        let before = Before {
            keys: vec![old_key],
            aliases: vec![],
            dedup: vec![],
            keyring: None,
            access_keys: vec![],
        };
        let old_bytes = encode_at(Format::LEGACY, &before).unwrap();
        let rows = RegistryRows::decode_snapshot(&old_bytes).unwrap();
        assert_eq!((rows.keys.clone(), rows.unseal_splits.clone()), (vec![key(5)], None));
        // Without a split, format 0 is the old layout byte for byte: old nodes read it.
        assert_eq!(rows.encode_snapshot(Format::LEGACY).unwrap(), old_bytes);
        let split = crate::sealed::UnsealSplit { threshold: 2, shares: 3, fingerprint: [7; 32] };
        let now =
            RegistryRows { unseal_splits: Some(UnsealSplits { current: split, retiring: None }), ..rows };
        for format in [Format::LEGACY, Format::CURRENT] {
            let again = RegistryRows::decode_snapshot(&now.encode_snapshot(format).unwrap()).unwrap();
            assert_eq!(again.unseal_splits, now.unseal_splits);
        }
        assert!(RegistryRows::decode_snapshot(b"garbage").is_err());
    }

    #[test]
    fn every_older_format_upgrades_created_keys_and_refuses_what_it_cannot_hold() {
        let rows = RegistryRows { keys: vec![key(1), key(2)], ..RegistryRows::default() };
        for format in [Format::LEGACY, Format::V1, Format::V2, Format::V3] {
            let again = RegistryRows::decode_snapshot(&rows.encode_snapshot(format).unwrap()).unwrap();
            assert_eq!(encode(&again).unwrap(), encode(&rows).unwrap(), "{format}");
        }
        let mut rotated = key(3);
        rotated.materials.push(KeyMaterial {
            version: 2,
            created_at_ms: 2,
            became_current: Some(RotationEvent { kind: RotationType::OnDemand, at_ms: 2 }),
            source: MaterialSource::Rotated {
                id: KeyMaterialId([3; 32]),
                sealed: WrappedSecret { barrier_version: 1, sealed: vec![1; 60] },
            },
        });
        rotated.current_version = 2;
        rotated.rotation.on_demand_count = 1;
        let with_rotation = RegistryRows { keys: vec![key(1), rotated], ..RegistryRows::default() };
        let v3 = with_rotation.encode_snapshot(Format::V3).unwrap();
        assert_eq!(
            encode(&RegistryRows::decode_snapshot(&v3).unwrap()).unwrap(),
            encode(&with_rotation).unwrap()
        );
        for format in [Format::LEGACY, Format::V1, Format::V2] {
            let refused = with_rotation.encode_snapshot(format).unwrap_err().to_string();
            assert!(refused.contains("cannot be expressed in format 2"), "{format}: {refused}");
        }
    }
}
