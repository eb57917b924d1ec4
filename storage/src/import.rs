//! Bring-your-own-key import in the replicated state: the parameters GetParametersForImport
//! hands out (a wrapping key pair, sealed, and the token that names it) and the material an
//! import brings. Storage sees only sealed bytes: the node that takes ImportKeyMaterial unwraps
//! the customer's material and seals it under the barrier before proposing it.

use std::fmt;

use serde::{Deserialize, Serialize};
use trent_wire::model::{ImportType, KeySpec, Origin, WrappingAlgorithm, WrappingKeySpec};
use trent_wire::{ErrorCode, KmsError};

use crate::apply::{changed_key, key_not_found, RowChange};
use crate::command::{Applied, CommandResult, KeyDraft, Rejection};
use crate::materials::{
    ImportedMaterial, KeyMaterial, KeyMaterialId, KeyRecord, KeyRotation, MaterialSource,
};
use crate::records::{KeyId, KeyLifecycle};
use crate::registry::Registry;
use crate::sealed::WrappedSecret;

/// The most import parameters the cluster keeps live at once.
pub const MAX_IMPORT_PARAMETERS: usize = 10_000;

/// The furthest `ValidTo` apply stores: AWS's 365 days, and one day of clock slack.
const VALID_TO_BOUND_MS: u64 =
    (trent_wire::limits::MAX_IMPORTED_MATERIAL_VALID_DAYS + 1) * 24 * 60 * 60 * 1000;
/// The most import parameters live for one key: a new set replaces the key's outstanding one.
pub const MAX_IMPORT_PARAMETERS_PER_KEY: usize = 1;
/// The largest wrapping public key stored (DER SubjectPublicKeyInfo; RSA 4096 is 550 bytes).
pub const MAX_WRAPPING_PUBLIC_KEY_BYTES: usize = 1024;

/// Names one set of import parameters; the import token carries it with the key id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ImportTokenId(pub [u8; 16]);

impl fmt::Debug for ImportTokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ImportTokenId(")?;
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))?;
        write!(f, ")")
    }
}

/// One GetParametersForImport: the wrapping key pair the leader made for a key, until
/// `valid_to_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportParametersRecord {
    /// Picked by the leader (random).
    pub token_id: ImportTokenId,
    /// The `EXTERNAL` key material may be imported into with it.
    pub key_id: KeyId,
    /// How the customer wraps material under `public_key`.
    pub algorithm: WrappingAlgorithm,
    /// The wrapping key's spec.
    pub wrapping_spec: WrappingKeySpec,
    /// The wrapping public key, DER SubjectPublicKeyInfo (AWS `PublicKey`).
    pub public_key: Vec<u8>,
    /// The wrapping private key (PKCS#8), sealed under the barrier with the token id as
    /// context, so any node can unwrap an import made with the token.
    pub sealed_private_key: WrappedSecret,
    /// When the parameters stop working (AWS `ParametersValidTo`), ms since the epoch.
    pub valid_to_ms: u64,
}

/// Material an ImportKeyMaterial brings, sealed by the node that took the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewImportedMaterial {
    /// Derived from the material and the key id: the same material gets the same id.
    pub id: KeyMaterialId,
    /// The material, sealed with the key id and `id` as context.
    pub sealed: WrappedSecret,
    /// AWS `ValidTo`, ms since the epoch; `None` with KEY_MATERIAL_DOES_NOT_EXPIRE.
    pub valid_to_ms: Option<u64>,
    /// AWS `KeyMaterialDescription`, if given.
    pub description: Option<String>,
}

/// The structural limits of import parameters: a wrapping key of a spec Trent offers (not
/// SM2), a public key of a plausible size.
pub(crate) fn check_import_parameters(parameters: &ImportParametersRecord) -> Result<(), KmsError> {
    let refuse =
        |what: String| Err(KmsError::new(ErrorCode::Validation, format!("Import parameters with {what}")));
    if parameters.wrapping_spec == WrappingKeySpec::Sm2 {
        return refuse("an SM2 wrapping key".to_owned());
    }
    let length = parameters.public_key.len();
    if length == 0 || length > MAX_WRAPPING_PUBLIC_KEY_BYTES {
        return refuse(format!("a public key of {length} bytes"));
    }
    Ok(())
}

/// An imported material's description is at most 256 characters.
pub(crate) fn check_material_description(description: Option<&str>) -> Result<(), KmsError> {
    let length = description.map_or(0, |description| description.chars().count());
    if length > crate::materials::MAX_MATERIAL_DESCRIPTION_CHARS {
        return Err(KmsError::new(
            ErrorCode::Validation,
            format!(
                "A key material description of {length} characters; at most {}",
                crate::materials::MAX_MATERIAL_DESCRIPTION_CHARS
            ),
        ));
    }
    Ok(())
}

/// How long import parameters live (AWS: the token and public key work for 24 hours).
pub const IMPORT_PARAMETERS_LIFETIME_MS: u64 = 24 * 60 * 60 * 1000;

/// The import of material into a key, as [`crate::Command::ImportKeyMaterial`] asks for it.
pub(crate) struct MaterialImport<'a> {
    pub(crate) key_id: KeyId,
    pub(crate) token_id: ImportTokenId,
    pub(crate) import_type: Option<ImportType>,
    pub(crate) claimed_id: Option<KeyMaterialId>,
    pub(crate) material: &'a NewImportedMaterial,
}

/// Why imported material loses its sealed bytes.
#[derive(Clone, Copy)]
pub(crate) enum MaterialRemoval {
    /// DeleteImportedKeyMaterial.
    Deleted,
    /// The leader's sweep, for the `ValidTo` it saw.
    Expired { valid_to_ms: u64 },
}

/// Key specs whose material can be imported, as in AWS: every spec but ML-KEM.
fn importable(spec: KeySpec) -> bool {
    !matches!(spec, KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024)
}

impl Registry {
    /// CreateKey with Origin `EXTERNAL`: a key in PendingImport without material.
    pub(crate) fn create_external_key(
        &mut self,
        key_id: KeyId,
        draft: &KeyDraft,
        policy: Option<&str>,
        now_ms: u64,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        if draft.origin != Origin::External || !importable(draft.spec) {
            return Err(Rejection::new(
                ErrorCode::UnsupportedOperation,
                format!(
                    "A key of spec {} and origin {} cannot take imported key material",
                    draft.spec, draft.origin
                ),
            ));
        }
        check_new_key(self, key_id, draft)?;
        let record = KeyRecord {
            key_id,
            created_at_ms: now_ms,
            description: draft.description.clone(),
            spec: draft.spec,
            usage: draft.usage,
            origin: Origin::External,
            lifecycle: KeyLifecycle::PendingImport,
            tags: draft.tags.iter().cloned().collect(),
            materials: Vec::new(),
            current_version: 0,
            rotation: KeyRotation::default(),
        };
        let result = Ok(Applied::Key(Box::new(record.reply_view())));
        self.keys.insert(key_id, record);
        changes.push(RowChange::Key(key_id));
        if let Some(policy) = policy {
            self.key_policies.insert(key_id, policy.to_owned());
            changes.push(RowChange::KeyPolicy(key_id));
        }
        result
    }

    /// Keeps new import parameters for a key; they replace any it had.
    pub(crate) fn create_import_parameters(
        &mut self,
        parameters: &ImportParametersRecord,
        now_ms: u64,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        let key = self.import_target(parameters.key_id)?;
        if parameters.valid_to_ms <= now_ms
            || parameters.valid_to_ms > now_ms.saturating_add(IMPORT_PARAMETERS_LIFETIME_MS)
        {
            return Err(Rejection::new(
                ErrorCode::Validation,
                "Import parameters must be valid for at most 24 hours from now",
            ));
        }
        let key_id = key.key_id;
        if self.import_parameters.contains_key(&parameters.token_id) {
            return Err(Rejection::new(ErrorCode::AlreadyExists, "These import parameters already exist"));
        }
        let replaced = self.import_parameters_of(key_id);
        if self.import_parameters.len() - replaced.len() >= MAX_IMPORT_PARAMETERS {
            return Err(Rejection::new(
                ErrorCode::LimitExceeded,
                "The cluster holds the most outstanding import parameters it allows; try again later",
            ));
        }
        for token_id in replaced {
            self.import_parameters.remove(&token_id);
            changes.push(RowChange::ImportParameters(token_id));
        }
        self.import_parameters.insert(parameters.token_id, parameters.clone());
        changes.push(RowChange::ImportParameters(parameters.token_id));
        Ok(Applied::ImportParameters {
            token_id: parameters.token_id,
            public_key: parameters.public_key.clone(),
            valid_to_ms: parameters.valid_to_ms,
        })
    }

    /// ImportKeyMaterial: new material (the key's first, or one pending rotation), or material
    /// the key had, again.
    pub(crate) fn import_key_material(
        &mut self,
        import: &MaterialImport<'_>,
        now_ms: u64,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        let key_id = import.key_id;
        let key = self.import_target(key_id)?;
        let parameters = self
            .import_parameters
            .get(&import.token_id)
            .filter(|parameters| parameters.key_id == key_id)
            .ok_or_else(invalid_token)?;
        if parameters.valid_to_ms <= now_ms {
            return Err(Rejection::new(
                ErrorCode::ExpiredImportToken,
                "The import token has expired. Use GetParametersForImport to get a new one.",
            ));
        }
        let material = import.material;
        if material.valid_to_ms.is_some_and(|valid_to_ms| valid_to_ms <= now_ms) {
            return Err(Rejection::new(ErrorCode::Validation, "ValidTo must be in the future"));
        }
        // The node that took the call checked at most 365 days on its clock; a day's slack
        // here leaves room for the leader's clock to trail it, and still bounds what a command
        // that reached the log another way can store.
        if material
            .valid_to_ms
            .is_some_and(|valid_to_ms| valid_to_ms > now_ms.saturating_add(VALID_TO_BOUND_MS))
        {
            return Err(Rejection::new(ErrorCode::Validation, "ValidTo must be at most 365 days from now"));
        }
        let import_type = import.import_type.unwrap_or(if key.materials.is_empty() {
            ImportType::NewKeyMaterial
        } else {
            ImportType::ExistingKeyMaterial
        });
        let known = key.materials.iter().position(|old| old.stored_id() == Some(&material.id));
        let index = match import_type {
            ImportType::NewKeyMaterial => {
                if import.claimed_id.is_some() {
                    return Err(Rejection::new(
                        ErrorCode::Validation,
                        "KeyMaterialId is only for an import of type EXISTING_KEY_MATERIAL",
                    ));
                }
                check_new_material(key, known.is_some())?;
                None
            }
            ImportType::ExistingKeyMaterial => {
                let target = match import.claimed_id {
                    Some(claimed) => key.materials.iter().position(|old| old.stored_id() == Some(&claimed)),
                    None => key.current_version.checked_sub(1).map(|index| index as usize),
                };
                let Some(target) = target.filter(|index| *index < key.materials.len()) else {
                    return Err(Rejection::new(
                        ErrorCode::NotFound,
                        format!("Key '{key_id}' has no such key material to reimport"),
                    ));
                };
                if known != Some(target) {
                    return Err(Rejection::new(
                        ErrorCode::IncorrectKeyMaterial,
                        "The key material you are importing does not match the key material previously imported into this KMS key",
                    ));
                }
                Some(target)
            }
        };
        let imported = ImportedMaterial {
            id: material.id,
            description: material.description.clone(),
            sealed: Some(material.sealed.clone()),
            valid_to_ms: material.valid_to_ms,
        };
        let before = expiring_materials(key);
        let Some(key) = self.keys.get_mut(&key_id) else { return Err(key_not_found(key_id)) };
        match index {
            Some(index) => {
                let old = &mut key.materials[index];
                let description = old.imported().and_then(|old| old.description.clone());
                old.source = MaterialSource::Imported(ImportedMaterial {
                    description: imported.description.clone().or(description),
                    ..imported
                });
            }
            None => {
                let version = key.materials.len() as u32 + 1;
                key.materials.push(KeyMaterial {
                    version,
                    created_at_ms: now_ms,
                    became_current: None,
                    source: MaterialSource::Imported(imported),
                });
                if key.current_version == 0 {
                    key.current_version = 1;
                }
            }
        }
        if key.lifecycle == KeyLifecycle::PendingImport && !key.has_missing_material() {
            key.lifecycle = KeyLifecycle::Enabled;
        }
        let result = changed_key(key, changes);
        self.reindex_expiry(key_id, before);
        result
    }

    /// DeleteImportedKeyMaterial and the sweep's expiry: the material's sealed bytes go (all of
    /// it, for material pending rotation) and the key waits in PendingImport for it.
    pub(crate) fn remove_imported_material(
        &mut self,
        key_id: KeyId,
        material_id: KeyMaterialId,
        removal: MaterialRemoval,
        now_ms: u64,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        let key = self.keys.get(&key_id).ok_or_else(|| key_not_found(key_id))?;
        let pending_deletion = matches!(key.lifecycle, KeyLifecycle::PendingDeletion { .. });
        if let MaterialRemoval::Deleted = removal {
            if pending_deletion {
                return Err(crate::apply::pending_deletion(key_id));
            }
        }
        if !key.holds_imported_material() {
            return Err(not_imported(key_id));
        }
        let Some(index) = key.materials.iter().position(|old| old.stored_id() == Some(&material_id)) else {
            return Err(Rejection::new(
                ErrorCode::NotFound,
                format!("Key '{key_id}' has no key material {material_id}"),
            ));
        };
        if let MaterialRemoval::Expired { valid_to_ms } = removal {
            let material = key.materials[index].imported();
            let due = material.is_some_and(|material| {
                material.sealed.is_some()
                    && material.valid_to_ms == Some(valid_to_ms)
                    && valid_to_ms <= now_ms
            });
            if !due {
                return Err(Rejection::new(
                    ErrorCode::InvalidState,
                    format!("Key material {material_id} of key '{key_id}' is not due to expire at {valid_to_ms} ms"),
                ));
            }
        }
        let before = expiring_materials(key);
        let Some(key) = self.keys.get_mut(&key_id) else { return Err(key_not_found(key_id)) };
        if index as u32 >= key.current_version {
            key.materials.truncate(index);
        } else if let MaterialSource::Imported(imported) = &mut key.materials[index].source {
            imported.sealed = None;
        }
        if !pending_deletion && key.has_missing_material() {
            key.lifecycle = KeyLifecycle::PendingImport;
        }
        let result = changed_key(key, changes);
        self.reindex_expiry(key_id, before);
        result
    }

    /// Forgets import parameters once their `ParametersValidTo` has passed.
    pub(crate) fn forget_import_parameters(
        &mut self,
        token_id: ImportTokenId,
        now_ms: u64,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        let parameters = self.import_parameters.get(&token_id).ok_or_else(invalid_token)?;
        if parameters.valid_to_ms > now_ms {
            return Err(Rejection::new(ErrorCode::InvalidState, "These import parameters have not expired"));
        }
        self.import_parameters.remove(&token_id);
        changes.push(RowChange::ImportParameters(token_id));
        Ok(Applied::Done)
    }

    /// Forgets a deleted key's import parameters.
    pub(crate) fn forget_key_import_parameters(&mut self, key_id: KeyId, changes: &mut Vec<RowChange>) {
        for token_id in self.import_parameters_of(key_id) {
            self.import_parameters.remove(&token_id);
            changes.push(RowChange::ImportParameters(token_id));
        }
    }

    /// Up to `limit` imported materials whose `ValidTo` is at or before `now_ms` and that still
    /// have their sealed bytes: (key, material id, ValidTo), earliest first.
    pub fn imported_material_due(&self, now_ms: u64, limit: usize) -> Vec<(KeyId, KeyMaterialId, u64)> {
        self.expiry_queue
            .iter()
            .take_while(|(valid_to_ms, _, _)| *valid_to_ms <= now_ms)
            .take(limit)
            .map(|(valid_to_ms, key_id, material_id)| (*key_id, *material_id, *valid_to_ms))
            .collect()
    }

    /// Moves a key's entries in the expiry queue from `before` (what it held before a change)
    /// to what it holds now (nothing, if it was deleted).
    pub(crate) fn reindex_expiry(&mut self, key_id: KeyId, before: Vec<(u64, KeyMaterialId)>) {
        for (valid_to_ms, material_id) in before {
            self.expiry_queue.remove(&(valid_to_ms, key_id, material_id));
        }
        let after = self.keys.get(&key_id).map(expiring_materials).unwrap_or_default();
        for (valid_to_ms, material_id) in after {
            self.expiry_queue.insert((valid_to_ms, key_id, material_id));
        }
    }

    /// Up to `limit` token ids of import parameters whose `ParametersValidTo` has passed.
    pub fn import_parameters_due(&self, now_ms: u64, limit: usize) -> Vec<ImportTokenId> {
        self.import_parameters
            .values()
            .filter(|parameters| parameters.valid_to_ms <= now_ms)
            .take(limit)
            .map(|parameters| parameters.token_id)
            .collect()
    }

    /// The token ids of a key's import parameters (a scan: at most [`MAX_IMPORT_PARAMETERS`]).
    fn import_parameters_of(&self, key_id: KeyId) -> Vec<ImportTokenId> {
        self.import_parameters
            .values()
            .filter(|parameters| parameters.key_id == key_id)
            .map(|parameters| parameters.token_id)
            .collect()
    }

    /// A key material can be imported into: live, `EXTERNAL`, holding imported material.
    fn import_target(&self, key_id: KeyId) -> Result<&KeyRecord, Rejection> {
        let key = self.keys.get(&key_id).ok_or_else(|| key_not_found(key_id))?;
        if matches!(key.lifecycle, KeyLifecycle::PendingDeletion { .. }) {
            return Err(crate::apply::pending_deletion(key_id));
        }
        if !key.holds_imported_material() {
            return Err(not_imported(key_id));
        }
        Ok(key)
    }
}

/// The imported materials of `key` that expire and still have their bytes: (ValidTo, id).
pub(crate) fn expiring_materials(key: &KeyRecord) -> Vec<(u64, KeyMaterialId)> {
    key.materials
        .iter()
        .filter_map(|material| material.imported())
        .filter(|imported| imported.sealed.is_some())
        .filter_map(|imported| imported.valid_to_ms.map(|valid_to_ms| (valid_to_ms, imported.id)))
        .collect()
}

/// A new key's id is free, and the cluster and the draft within their caps.
fn check_new_key(registry: &Registry, key_id: KeyId, draft: &KeyDraft) -> Result<(), Rejection> {
    if registry.keys.contains_key(&key_id) {
        return Err(Rejection::new(ErrorCode::AlreadyExists, format!("Key {key_id} already exists")));
    }
    if registry.keys.len() >= crate::MAX_KEYS {
        return Err(Rejection::new(ErrorCode::LimitExceeded, "The cluster holds the most keys it allows"));
    }
    let distinct: std::collections::BTreeSet<&String> =
        draft.tags.iter().map(|(tag_key, _)| tag_key).collect();
    if distinct.len() > crate::MAX_TAGS_PER_KEY {
        return Err(Rejection::new(
            ErrorCode::LimitExceeded,
            format!("A key can have at most {} tags", crate::MAX_TAGS_PER_KEY),
        ));
    }
    Ok(())
}

/// New material for a key: its first, or (symmetric keys with all their material) one to wait
/// for RotateKeyOnDemand, when none waits already.
fn check_new_material(key: &KeyRecord, known: bool) -> Result<(), Rejection> {
    let key_id = key.key_id;
    if known {
        return Err(Rejection::new(
            ErrorCode::IncorrectKeyMaterial,
            format!("Key '{key_id}' already has this key material; import it with EXISTING_KEY_MATERIAL"),
        ));
    }
    if key.materials.is_empty() {
        return Ok(());
    }
    if key.spec != KeySpec::SymmetricDefault {
        return Err(Rejection::new(
            ErrorCode::UnsupportedOperation,
            format!(
                "Key '{key_id}' has key spec {}: only symmetric encryption keys take new key material",
                key.spec
            ),
        ));
    }
    if key.has_missing_material() {
        return Err(crate::apply::pending_import(key_id));
    }
    if key.pending_material().is_some() {
        return Err(Rejection::new(
            ErrorCode::InvalidState,
            format!("Key '{key_id}' already has key material pending rotation"),
        ));
    }
    if key.materials.len() >= crate::MAX_MATERIAL_VERSIONS {
        return Err(Rejection::new(
            ErrorCode::LimitExceeded,
            format!(
                "Key '{key_id}' holds {} material versions, the most a key may",
                crate::MAX_MATERIAL_VERSIONS
            ),
        ));
    }
    Ok(())
}

fn invalid_token() -> Rejection {
    Rejection::new(ErrorCode::InvalidImportToken, "The import token is not valid for this KMS key")
}

fn not_imported(key_id: KeyId) -> Rejection {
    Rejection::new(
        ErrorCode::UnsupportedOperation,
        format!("Key '{key_id}' does not have an EXTERNAL origin: its key material cannot be imported"),
    )
}
