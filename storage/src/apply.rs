//! Applying a [`Request`] to the [`Registry`]: the deterministic heart of the state machine.
//!
//! `apply` reads nothing but the registry and the request: the leader already put the ids and
//! the timestamp into it. A command that cannot apply is answered with a [`Rejection`] and
//! changes nothing. Each call returns the rows it touched so the caller can persist exactly
//! those, atomically with the applied log id.

use trent_wire::ErrorCode;

use crate::command::{Applied, Command, CommandResult, KeyId, NewKey, Rejection, Request, RequestId};
use crate::import::{MaterialImport, MaterialRemoval};
use crate::registry::{AliasRecord, DedupOutcome, DedupRecord, KeyLifecycle, KeyRecord, Registry};

/// The longest a request id is remembered for deduplication, by the leader's clock; under load
/// [`MAX_DEDUP_ENTRIES`] makes it shorter.
pub const DEDUP_WINDOW_MS: u64 = 10 * 60 * 1000;
/// At most this many request ids are remembered; the oldest go first.
pub const MAX_DEDUP_ENTRIES: usize = 100_000;
/// The most keys a cluster holds.
pub const MAX_KEYS: usize = 2_000_000;
/// The most aliases a cluster holds.
pub const MAX_ALIASES: usize = 2_000_000;
/// The most tags on one key (AWS's limit).
pub const MAX_TAGS_PER_KEY: usize = trent_wire::limits::MAX_TAGS_PER_KEY;
/// The most requests one log entry carries (the proposer batches at most 256).
pub const MAX_REQUESTS_PER_ENTRY: usize = 1024;

/// Shortest pending-deletion window, days.
pub const MIN_PENDING_WINDOW_DAYS: u32 = trent_wire::limits::MIN_PENDING_WINDOW_DAYS as u32;
/// Longest pending-deletion window, days.
pub const MAX_PENDING_WINDOW_DAYS: u32 = trent_wire::limits::MAX_PENDING_WINDOW_DAYS as u32;

const MS_PER_DAY: u64 = 24 * 60 * 60 * 1000;

/// A row of the registry that an apply created, changed or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RowChange {
    Key(KeyId),
    Alias(String),
    Dedup(RequestId),
    Keyring,
    AccessKey(String),
    UnsealSplit,
    Features,
    User(String),
    AccessKeyOwner(String),
    KeyPolicy(KeyId),
    Grant(String),
    ImportParameters(crate::import::ImportTokenId),
}

/// A broken invariant: a bug, never a bad request. The state machine stops rather than diverge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("registry invariant violated: {0}")]
pub struct InvariantViolation(pub String);

impl DedupOutcome {
    /// The outcome to remember for `result`.
    pub fn of(result: &CommandResult) -> DedupOutcome {
        match result {
            Ok(Applied::Key(key)) => DedupOutcome::Key(key.key_id),
            Ok(Applied::Done) => DedupOutcome::Done,
            Ok(Applied::Grant { grant_id, .. }) => DedupOutcome::Grant(grant_id.clone()),
            Ok(Applied::ImportParameters { token_id, .. }) => DedupOutcome::ImportParameters(*token_id),
            Err(rejection) => DedupOutcome::Rejected(rejection.clone()),
        }
    }
}

impl Registry {
    /// The remembered result of a request. Entries leave when a later write evicts them (older
    /// than the dedup window by that write's timestamp, or past the entry cap).
    pub fn dedup_result(&self, request_id: &RequestId) -> Option<CommandResult> {
        self.dedup.get(request_id).map(|record| self.replay(record))
    }

    /// The answer a retry gets for a remembered outcome: a key write answers with the key as it
    /// is now (or NotFound if it has since been deleted).
    pub(crate) fn replay(&self, record: &DedupRecord) -> CommandResult {
        match &record.outcome {
            DedupOutcome::Key(key_id) => match self.keys.get(key_id) {
                Some(key) => Ok(Applied::Key(Box::new(key.reply_view()))),
                None => Err(crate::apply::key_not_found(*key_id)),
            },
            DedupOutcome::Done => Ok(Applied::Done),
            DedupOutcome::Rejected(rejection) => Err(rejection.clone()),
            DedupOutcome::Grant(grant_id) => {
                Ok(Applied::Grant { grant_id: grant_id.clone(), log_index: record.log_index })
            }
            DedupOutcome::ImportParameters(token_id) => match self.import_parameters.get(token_id) {
                Some(parameters) => Ok(Applied::ImportParameters {
                    token_id: *token_id,
                    public_key: parameters.public_key.clone(),
                    valid_to_ms: parameters.valid_to_ms,
                }),
                None => Err(Rejection::new(
                    ErrorCode::InvalidImportToken,
                    "The import parameters this request made have expired",
                )),
            },
        }
    }

    /// Applies `request` (at `position` in the batch of log entry `log_index`) and returns its
    /// result and the rows it touched.
    pub(crate) fn apply(
        &mut self,
        log_index: u64,
        position: u32,
        request: &Request,
    ) -> Result<(CommandResult, Vec<RowChange>), InvariantViolation> {
        if let Some(previous) = self.dedup.get(&request.request_id) {
            // Compared the way the remembered write was fingerprinted: a retry that straddles
            // the rise to level 1 still matches its first attempt.
            let canonical = self.features.canonical_fingerprint_at(previous.log_index, previous.position);
            let fingerprint = request.command.fingerprint_at(u32::from(canonical));
            if previous.fingerprint != fingerprint {
                return Ok((
                    Err(Rejection::new(
                        ErrorCode::Validation,
                        format!("Request id {} was already used for a different request", request.request_id),
                    )),
                    Vec::new(),
                ));
            }
            return Ok((self.replay(previous), Vec::new()));
        }
        let mut changes = Vec::new();
        let result = match &request.command {
            // A level this build does not support means entries it may not decode follow: stop
            // here, visibly, as a build without levels stops on a command it does not know.
            Command::RaiseFeatureLevel { level } if *level > crate::SUPPORTED_LEVEL => {
                return Err(InvariantViolation(format!(
                    "the cluster rose to feature level {level}; this build supports up to {}: upgrade this node",
                    crate::SUPPORTED_LEVEL
                )))
            }
            Command::RaiseFeatureLevel { level } => {
                let raised = self.raise_feature_level(*level, (log_index, position), &mut changes);
                self.ensure_admin_user(request.issued_at_ms, &mut changes);
                raised
            }
            Command::CreateGrant(record) => {
                match crate::limits::check_limits(&request.command) {
                    Ok(()) => self.create_grant(record, log_index, request.issued_at_ms, &mut changes),
                    Err(error) => Err(Rejection::from(error)),
                }
            }
            _ => self.apply_command(request, &mut changes),
        };
        self.check_invariants_after(&request.command)?;
        let fingerprint = request.command.fingerprint_at(self.features.level);

        self.dedup.insert(
            request.request_id,
            DedupRecord {
                log_index,
                position,
                issued_at_ms: request.issued_at_ms,
                fingerprint,
                outcome: DedupOutcome::of(&result),
            },
        );
        self.dedup_order.insert((log_index, position), request.request_id);
        changes.push(RowChange::Dedup(request.request_id));
        self.evict_dedup(request.issued_at_ms, &mut changes);
        Ok((result, changes))
    }

    fn apply_command(&mut self, request: &Request, changes: &mut Vec<RowChange>) -> CommandResult {
        crate::limits::check_limits(&request.command).map_err(Rejection::from)?;
        let now_ms = request.issued_at_ms;
        match &request.command {
            Command::CreateKey(new_key) => self.create_key(new_key, now_ms, changes),
            Command::EnableKey { key_id } => self.set_enabled(*key_id, true, changes),
            Command::DisableKey { key_id } => self.set_enabled(*key_id, false, changes),
            Command::UpdateKeyDescription { key_id, description } => {
                let key = self.live_key_mut(*key_id)?;
                key.description.clone_from(description);
                changed_key(key, changes)
            }
            Command::ScheduleKeyDeletion { key_id, window_days } => {
                if !(MIN_PENDING_WINDOW_DAYS..=MAX_PENDING_WINDOW_DAYS).contains(window_days) {
                    return Err(Rejection::new(
                        ErrorCode::Validation,
                        format!("PendingWindowInDays must be between {MIN_PENDING_WINDOW_DAYS} and {MAX_PENDING_WINDOW_DAYS}"),
                    ));
                }
                let deletion_at_ms = now_ms.saturating_add(u64::from(*window_days) * MS_PER_DAY);
                let key = self.live_key_mut(*key_id)?;
                key.lifecycle = KeyLifecycle::PendingDeletion { deletion_at_ms, window_days: *window_days };
                let result = changed_key(key, changes);
                self.deletion_queue.insert((deletion_at_ms, *key_id));
                result
            }
            Command::CancelKeyDeletion { key_id } => {
                let key = self.existing_key_mut(*key_id)?;
                let KeyLifecycle::PendingDeletion { deletion_at_ms, .. } = key.lifecycle else {
                    return Err(not_pending_deletion(*key_id));
                };
                // As in AWS: disabled, or waiting for the material it lacks.
                let lacks_material = key.holds_imported_material() && key.has_missing_material();
                key.lifecycle =
                    if lacks_material { KeyLifecycle::PendingImport } else { KeyLifecycle::Disabled };
                let result = changed_key(key, changes);
                self.deletion_queue.remove(&(deletion_at_ms, *key_id));
                result
            }
            Command::DeleteExpiredKey { key_id } => self.delete_expired_key(*key_id, now_ms, changes),
            Command::CreateAlias { alias, key_id } => {
                if self.aliases.contains_key(alias) {
                    return Err(Rejection::new(
                        ErrorCode::AlreadyExists,
                        format!("An alias with the name {alias} already exists"),
                    ));
                }
                if self.aliases.len() >= MAX_ALIASES {
                    return Err(Rejection::new(
                        ErrorCode::LimitExceeded,
                        "The cluster holds the most aliases it allows",
                    ));
                }
                self.live_key(*key_id)?;
                let record = AliasRecord {
                    name: alias.clone(),
                    key_id: *key_id,
                    created_at_ms: now_ms,
                    updated_at_ms: now_ms,
                };
                self.put_alias(record);
                changes.push(RowChange::Alias(alias.clone()));
                Ok(Applied::Done)
            }
            Command::UpdateAlias { alias, key_id } => {
                let current_target = match self.aliases.get(alias) {
                    Some(record) => record.key_id,
                    None => return Err(alias_not_found(alias)),
                };
                let new_target = self.live_key(*key_id)?;
                if let Some(current) = self.keys.get(&current_target) {
                    if current.spec != new_target.spec || current.usage != new_target.usage {
                        return Err(Rejection::new(
                            ErrorCode::Validation,
                            format!(
                                "{alias} points to a {} {} key; the new target {key_id} must have the same key spec and key usage",
                                current.spec, current.usage
                            ),
                        ));
                    }
                }
                if let Some(mut record) = self.aliases.get(alias).cloned() {
                    record.key_id = *key_id;
                    record.updated_at_ms = now_ms;
                    self.put_alias(record);
                }
                changes.push(RowChange::Alias(alias.clone()));
                Ok(Applied::Done)
            }
            Command::DeleteAlias { alias } => {
                if self.remove_alias(alias).is_none() {
                    return Err(alias_not_found(alias));
                }
                changes.push(RowChange::Alias(alias.clone()));
                Ok(Applied::Done)
            }
            Command::TagKey { key_id, tags } => {
                let key = self.live_key_mut(*key_id)?;
                // A tag key given twice is one tag (the last value wins), so count distinct keys.
                let added = tags
                    .iter()
                    .map(|(tag_key, _)| tag_key)
                    .filter(|tag_key| !key.tags.contains_key(*tag_key))
                    .collect::<std::collections::BTreeSet<_>>()
                    .len();
                if key.tags.len() + added > MAX_TAGS_PER_KEY {
                    return Err(Rejection::new(
                        ErrorCode::LimitExceeded,
                        format!("A key can have at most {MAX_TAGS_PER_KEY} tags"),
                    ));
                }
                key.tags.extend(tags.iter().cloned());
                changed_key(key, changes)
            }
            Command::UntagKey { key_id, tag_keys } => {
                let key = self.live_key_mut(*key_id)?;
                for tag_key in tag_keys {
                    key.tags.remove(tag_key);
                }
                changed_key(key, changes)
            }
            Command::InitializeCluster { keyring, admin } => {
                let initialized = self.initialize_cluster(keyring, admin, changes);
                self.ensure_admin_user(now_ms, changes);
                initialized
            }
            Command::ReplaceKeyring { keyring } => self.replace_keyring(keyring, changes),
            Command::CreateAccessKey(record) => self.create_access_key(record, changes),
            Command::DeleteAccessKey { access_key_id } => self.delete_access_key(access_key_id, changes),
            Command::RecordUnsealSplit { split, replaces } => {
                self.record_unseal_split(split, replaces.as_ref(), changes)
            }
            Command::ConfirmUnsealSplit { fingerprint } => self.confirm_unseal_split(fingerprint, changes),
            // Applied by `apply`, which knows where in the log it is.
            Command::RaiseFeatureLevel { .. } | Command::CreateGrant(_) => Ok(Applied::Done),
            Command::CreateUser { name, policy } => {
                self.create_user(name, policy.as_deref(), now_ms, changes)
            }
            Command::DeleteUser { name } => self.delete_user(name, changes),
            Command::PutUserPolicy { name, policy } => self.put_user_policy(name, policy.as_deref(), changes),
            Command::CreateUserAccessKey { user, record } => {
                self.create_user_access_key(user, record, changes)
            }
            Command::CreateKeyWithPolicy { key, policy } => {
                self.create_key_with_policy(key, policy, now_ms, changes)
            }
            Command::PutKeyPolicy { key_id, policy } => self.put_key_policy(*key_id, policy, changes),
            Command::RemoveGrant { key_id, grant_id } => self.remove_grant(*key_id, grant_id, changes),
            Command::SetKeyRotation { key_id, period_days } => {
                self.set_key_rotation(*key_id, *period_days, now_ms, changes)
            }
            Command::RotateKey { key_id, kind, material } => {
                self.rotate_key(*key_id, *kind, material.as_ref(), now_ms, changes)
            }
            Command::CreateExternalKey { key_id, draft, policy } => {
                self.create_external_key(*key_id, draft, policy.as_deref(), now_ms, changes)
            }
            Command::CreateImportParameters(parameters) => {
                self.create_import_parameters(parameters, now_ms, changes)
            }
            Command::ImportKeyMaterial { key_id, token_id, import_type, claimed_id, material } => {
                let import = MaterialImport {
                    key_id: *key_id,
                    token_id: *token_id,
                    import_type: *import_type,
                    claimed_id: *claimed_id,
                    material,
                };
                self.import_key_material(&import, now_ms, changes)
            }
            Command::DeleteImportedKeyMaterial { key_id, material_id } => self.remove_imported_material(
                *key_id,
                *material_id,
                MaterialRemoval::Deleted,
                now_ms,
                changes,
            ),
            Command::ExpireImportedKeyMaterial { key_id, material_id, valid_to_ms } => {
                let removal = MaterialRemoval::Expired { valid_to_ms: *valid_to_ms };
                self.remove_imported_material(*key_id, *material_id, removal, now_ms, changes)
            }
            Command::ForgetImportParameters { token_id } => {
                self.forget_import_parameters(*token_id, now_ms, changes)
            }
        }
    }

    /// Raises the feature level to `level`; a level at or below the current one changes nothing.
    fn raise_feature_level(
        &mut self,
        level: u32,
        at: (u64, u32),
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        if level <= self.features.level {
            return Ok(Applied::Done);
        }
        self.features.level = level;
        if self.features.level_one_at.is_none() {
            self.features.level_one_at = Some(at);
        }
        changes.push(RowChange::Features);
        Ok(Applied::Done)
    }

    pub(crate) fn create_key(
        &mut self,
        new_key: &NewKey,
        now_ms: u64,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        if self.keys.contains_key(&new_key.key_id) {
            return Err(Rejection::new(
                ErrorCode::AlreadyExists,
                format!("Key {} already exists", new_key.key_id),
            ));
        }
        if self.keys.len() >= MAX_KEYS {
            return Err(Rejection::new(
                ErrorCode::LimitExceeded,
                "The cluster holds the most keys it allows",
            ));
        }
        let draft = &new_key.draft;
        let tags: std::collections::BTreeMap<String, String> = draft.tags.iter().cloned().collect();
        if tags.len() > MAX_TAGS_PER_KEY {
            return Err(Rejection::new(
                ErrorCode::LimitExceeded,
                format!("A key can have at most {MAX_TAGS_PER_KEY} tags"),
            ));
        }
        let record = KeyRecord {
            key_id: new_key.key_id,
            created_at_ms: now_ms,
            description: draft.description.clone(),
            spec: draft.spec,
            usage: draft.usage,
            origin: draft.origin,
            lifecycle: KeyLifecycle::Enabled,
            tags,
            materials: vec![crate::registry::KeyMaterial::created(1, new_key.material.clone(), now_ms)],
            current_version: 1,
            rotation: crate::materials::KeyRotation::default(),
        };
        let result = Ok(Applied::Key(Box::new(record.reply_view())));
        self.keys.insert(new_key.key_id, record);
        changes.push(RowChange::Key(new_key.key_id));
        result
    }

    fn set_enabled(&mut self, key_id: KeyId, enabled: bool, changes: &mut Vec<RowChange>) -> CommandResult {
        let key = self.live_key_mut(key_id)?;
        if key.lifecycle == KeyLifecycle::PendingImport {
            return Err(Rejection::new(
                ErrorCode::InvalidState,
                format!("Key '{key_id}' is pending import."),
            ));
        }
        key.lifecycle = if enabled { KeyLifecycle::Enabled } else { KeyLifecycle::Disabled };
        changed_key(key, changes)
    }

    fn delete_expired_key(
        &mut self,
        key_id: KeyId,
        now_ms: u64,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        let key = self.existing_key_mut(key_id)?;
        let KeyLifecycle::PendingDeletion { deletion_at_ms, .. } = key.lifecycle else {
            return Err(not_pending_deletion(key_id));
        };
        if deletion_at_ms > now_ms {
            return Err(Rejection::new(
                ErrorCode::InvalidState,
                format!("Key {key_id} is not due for deletion until {deletion_at_ms} ms"),
            ));
        }
        let due_at = crate::rotation::due_at(key);
        let expiring = crate::import::expiring_materials(key);
        self.keys.remove(&key_id);
        self.reindex_expiry(key_id, expiring);
        self.deletion_queue.remove(&(deletion_at_ms, key_id));
        self.reindex_rotation(key_id, due_at, None);
        changes.push(RowChange::Key(key_id));
        let orphaned: Vec<String> = self.aliases_of(key_id).map(|alias| alias.name.clone()).collect();
        for alias in orphaned {
            self.remove_alias(&alias);
            changes.push(RowChange::Alias(alias));
        }
        self.forget_key_access(key_id, changes);
        self.forget_key_import_parameters(key_id, changes);
        Ok(Applied::Done)
    }

    fn existing_key_mut(&mut self, key_id: KeyId) -> Result<&mut KeyRecord, Rejection> {
        self.keys.get_mut(&key_id).ok_or_else(|| key_not_found(key_id))
    }

    /// A key that exists and is not pending deletion.
    fn live_key(&self, key_id: KeyId) -> Result<&KeyRecord, Rejection> {
        let key = self.keys.get(&key_id).ok_or_else(|| key_not_found(key_id))?;
        match key.lifecycle {
            KeyLifecycle::PendingDeletion { .. } => Err(pending_deletion(key_id)),
            KeyLifecycle::Enabled | KeyLifecycle::Disabled | KeyLifecycle::PendingImport => Ok(key),
        }
    }

    fn live_key_mut(&mut self, key_id: KeyId) -> Result<&mut KeyRecord, Rejection> {
        let key = self.existing_key_mut(key_id)?;
        match key.lifecycle {
            KeyLifecycle::PendingDeletion { .. } => Err(pending_deletion(key_id)),
            KeyLifecycle::Enabled | KeyLifecycle::Disabled | KeyLifecycle::PendingImport => Ok(key),
        }
    }

    /// Checks the invariants a command of this kind could have broken.
    fn check_invariants_after(&self, command: &Command) -> Result<(), InvariantViolation> {
        let touched_key = match command {
            Command::CreateAlias { key_id, .. } | Command::UpdateAlias { key_id, .. } => Some(*key_id),
            Command::DeleteExpiredKey { key_id } => Some(*key_id),
            _ => None,
        };
        if let Some(key_id) = touched_key {
            let key_exists = self.keys.contains_key(&key_id);
            if !key_exists && self.aliases_of(key_id).next().is_some() {
                return Err(InvariantViolation(format!("an alias points to missing key {key_id}")));
            }
        }
        if let Some(key_id) = rotated_key(command) {
            if let Some(key) = self.keys.get(&key_id) {
                crate::materials::check_key_record(key)?;
                let indexed =
                    crate::import::expiring_materials(key).into_iter().all(|(valid_to_ms, material_id)| {
                        self.expiry_queue.contains(&(valid_to_ms, key_id, material_id))
                    });
                if !indexed {
                    return Err(InvariantViolation(format!("expiry queue out of step for key {key_id}")));
                }
                if let Some(due_at_ms) = crate::rotation::due_at(key) {
                    if !self.rotation_queue.contains(&(due_at_ms, key_id)) {
                        return Err(InvariantViolation(format!(
                            "rotation queue out of step for key {key_id}"
                        )));
                    }
                }
            }
        }
        if let Some(key_id) = pending_key(command) {
            if let Some(KeyLifecycle::PendingDeletion { deletion_at_ms, .. }) =
                self.keys.get(&key_id).map(|key| key.lifecycle)
            {
                if !self.deletion_queue.contains(&(deletion_at_ms, key_id)) {
                    return Err(InvariantViolation(format!("deletion queue out of step for key {key_id}")));
                }
            }
        }
        Ok(())
    }

    fn evict_dedup(&mut self, now_ms: u64, changes: &mut Vec<RowChange>) {
        while let Some((sequence, request_id)) =
            self.dedup_order.get_min().map(|(sequence, id)| (*sequence, *id))
        {
            let expired = self
                .dedup
                .get(&request_id)
                .is_none_or(|record| record.issued_at_ms.saturating_add(DEDUP_WINDOW_MS) < now_ms);
            if !expired && self.dedup.len() <= MAX_DEDUP_ENTRIES {
                break;
            }
            self.dedup_order.remove(&sequence);
            self.dedup.remove(&request_id);
            changes.push(RowChange::Dedup(request_id));
        }
    }
}

/// The key whose material and rotation schedule a command may change.
fn rotated_key(command: &Command) -> Option<KeyId> {
    match command {
        Command::SetKeyRotation { key_id, .. }
        | Command::RotateKey { key_id, .. }
        | Command::CreateExternalKey { key_id, .. }
        | Command::ImportKeyMaterial { key_id, .. }
        | Command::DeleteImportedKeyMaterial { key_id, .. }
        | Command::ExpireImportedKeyMaterial { key_id, .. } => Some(*key_id),
        _ => None,
    }
}

/// The key whose deletion-queue membership a command may change.
fn pending_key(command: &Command) -> Option<KeyId> {
    match command {
        Command::ScheduleKeyDeletion { key_id, .. } | Command::CancelKeyDeletion { key_id } => Some(*key_id),
        _ => None,
    }
}

pub(crate) fn changed_key(key: &KeyRecord, changes: &mut Vec<RowChange>) -> CommandResult {
    changes.push(RowChange::Key(key.key_id));
    Ok(Applied::Key(Box::new(key.reply_view())))
}

pub(crate) fn key_not_found(key_id: KeyId) -> Rejection {
    Rejection::new(ErrorCode::NotFound, format!("Key '{key_id}' does not exist"))
}

fn alias_not_found(alias: &str) -> Rejection {
    Rejection::new(ErrorCode::NotFound, format!("Alias '{alias}' does not exist"))
}

pub(crate) fn pending_deletion(key_id: KeyId) -> Rejection {
    Rejection::new(ErrorCode::InvalidState, format!("Key '{key_id}' is pending deletion."))
}

pub(crate) fn pending_import(key_id: KeyId) -> Rejection {
    Rejection::new(ErrorCode::InvalidState, format!("Key '{key_id}' is pending import."))
}

fn not_pending_deletion(key_id: KeyId) -> Rejection {
    Rejection::new(ErrorCode::InvalidState, format!("Key '{key_id}' is not pending deletion."))
}
