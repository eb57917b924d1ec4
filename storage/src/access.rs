//! Applying the authorization commands (feature level 2): users and their identity policies,
//! the access keys that act as them, key policies, and grants. Policies arrive validated by the
//! node that proposed them (validation needs the cluster's account); apply re-checks every size
//! and name rule, and the references between records, so nothing malformed is stored.

use trent_wire::{ErrorCode, KmsError};

use crate::apply::RowChange;
use crate::command::{Applied, CommandResult, KeyId, NewKey, Rejection};
use crate::records::{AccessKeyRecord, GrantRecord, UserRecord, ADMIN_POLICY, ADMIN_USER};
use crate::registry::Registry;

/// The most users a cluster holds (IAM's default quota per account).
pub const MAX_USERS: usize = 5_000;
/// The most grants a cluster holds.
pub const MAX_GRANTS: usize = 100_000;
/// The most grants on one key (AWS's quota).
pub const MAX_GRANTS_PER_KEY: usize = 50_000;
/// The most grants on one key for one grantee (AWS's quota).
pub const MAX_GRANTS_PER_GRANTEE: usize = 500;
/// The most operations one grant lists (every grant operation AWS has).
pub const MAX_GRANT_OPERATIONS: usize = 32;
/// The longest principal ARN a grant names.
pub const MAX_PRINCIPAL_CHARS: usize = 256;
/// The longest grant name (AWS's limit).
pub const MAX_GRANT_NAME_CHARS: usize = 256;
/// The most encryption context pairs a grant constraint holds.
pub const MAX_CONSTRAINT_PAIRS: usize = 64;
/// The longest encryption context key or value in a grant constraint.
pub const MAX_CONSTRAINT_CHARS: usize = 8_192;

impl Registry {
    pub(crate) fn create_user(
        &mut self,
        name: &str,
        policy: Option<&str>,
        now_ms: u64,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        self.require_initialized()?;
        if self.user(name).is_some() {
            return Err(Rejection::new(
                ErrorCode::AlreadyExists,
                format!("User with name {name} already exists."),
            ));
        }
        if self.users.len() >= MAX_USERS {
            return Err(Rejection::new(
                ErrorCode::LimitExceeded,
                format!("A cluster holds at most {MAX_USERS} users"),
            ));
        }
        let record =
            UserRecord { name: name.to_owned(), created_at_ms: now_ms, policy: policy.map(str::to_owned) };
        self.users.insert(user_key(name), record);
        changes.push(RowChange::User(user_key(name)));
        Ok(Applied::Done)
    }

    pub(crate) fn delete_user(&mut self, name: &str, changes: &mut Vec<RowChange>) -> CommandResult {
        let stored = self.existing_user(name)?.name.clone();
        if self.access_keys_of(&stored).next().is_some() {
            return Err(Rejection::new(
                ErrorCode::DeleteConflict,
                format!("Cannot delete user {stored}: it still has access keys; delete them first."),
            ));
        }
        self.users.remove(&user_key(&stored));
        changes.push(RowChange::User(user_key(&stored)));
        Ok(Applied::Done)
    }

    pub(crate) fn put_user_policy(
        &mut self,
        name: &str,
        policy: Option<&str>,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        self.existing_user(name)?;
        if let Some(user) = self.users.get_mut(&user_key(name)) {
            user.policy = policy.map(str::to_owned);
        }
        changes.push(RowChange::User(user_key(name)));
        Ok(Applied::Done)
    }

    pub(crate) fn create_user_access_key(
        &mut self,
        user: &str,
        record: &AccessKeyRecord,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        let stored = self.existing_user(user)?.name.clone();
        self.create_access_key(record, changes)?;
        self.access_key_owners.insert(record.access_key_id.clone(), stored);
        changes.push(RowChange::AccessKeyOwner(record.access_key_id.clone()));
        Ok(Applied::Done)
    }

    pub(crate) fn create_key_with_policy(
        &mut self,
        key: &NewKey,
        policy: &str,
        now_ms: u64,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        let created = self.create_key(key, now_ms, changes)?;
        self.key_policies.insert(key.key_id, policy.to_owned());
        changes.push(RowChange::KeyPolicy(key.key_id));
        Ok(created)
    }

    pub(crate) fn put_key_policy(
        &mut self,
        key_id: KeyId,
        policy: &str,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        if !self.keys.contains_key(&key_id) {
            return Err(crate::apply::key_not_found(key_id));
        }
        self.key_policies.insert(key_id, policy.to_owned());
        changes.push(RowChange::KeyPolicy(key_id));
        Ok(Applied::Done)
    }

    pub(crate) fn create_grant(
        &mut self,
        record: &GrantRecord,
        log_index: u64,
        now_ms: u64,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        let key_id = record.key_id;
        if let Some(key) = self.keys.get(&key_id) {
            if matches!(key.lifecycle, crate::records::KeyLifecycle::PendingDeletion { .. }) {
                return Err(Rejection::new(
                    ErrorCode::InvalidState,
                    format!("Key '{key_id}' is pending deletion."),
                ));
            }
        } else {
            return Err(crate::apply::key_not_found(key_id));
        }
        // A named grant asked for again with the same parameters is the same grant.
        if record.name.is_some() {
            let existing = self.grants_of(key_id).find(|grant| grant.same_parameters(record));
            if let Some(existing) = existing {
                return Ok(Applied::Grant { grant_id: existing.grant.grant_id.clone(), log_index });
            }
        }
        let grant_id = &record.grant.grant_id;
        if self.grants.contains_key(grant_id) {
            return Err(Rejection::new(ErrorCode::AlreadyExists, format!("Grant {grant_id} already exists")));
        }
        let on_key = self.grants_of(key_id).count();
        let for_grantee = self.grants_for(key_id, &record.grant.grantee_principal).count();
        let limit = if self.grants.len() >= MAX_GRANTS {
            Some(format!("A cluster holds at most {MAX_GRANTS} grants"))
        } else if on_key >= MAX_GRANTS_PER_KEY {
            Some(format!("A key can have at most {MAX_GRANTS_PER_KEY} grants"))
        } else if for_grantee >= MAX_GRANTS_PER_GRANTEE {
            Some(format!("A key can have at most {MAX_GRANTS_PER_GRANTEE} grants for one grantee principal"))
        } else {
            None
        };
        if let Some(message) = limit {
            return Err(Rejection::new(ErrorCode::LimitExceeded, message));
        }
        let mut stored = record.clone();
        stored.created_at_ms = now_ms;
        self.put_grant(stored);
        changes.push(RowChange::Grant(grant_id.clone()));
        Ok(Applied::Grant { grant_id: grant_id.clone(), log_index })
    }

    pub(crate) fn remove_grant(
        &mut self,
        key_id: KeyId,
        grant_id: &str,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        if !self.keys.contains_key(&key_id) {
            return Err(crate::apply::key_not_found(key_id));
        }
        match self.grants.get(grant_id) {
            Some(grant) if grant.key_id == key_id => {}
            _ => {
                return Err(Rejection::new(
                    ErrorCode::NotFound,
                    format!("Grant ID {grant_id} not found for key {key_id}"),
                ))
            }
        }
        self.take_grant(grant_id);
        changes.push(RowChange::Grant(grant_id.to_owned()));
        Ok(Applied::Done)
    }

    /// Drops what belongs to a key that was deleted: its policy and grants.
    pub(crate) fn forget_key_access(&mut self, key_id: KeyId, changes: &mut Vec<RowChange>) {
        if self.key_policies.remove(&key_id).is_some() {
            changes.push(RowChange::KeyPolicy(key_id));
        }
        let grants: Vec<String> = self.grants_of(key_id).map(|grant| grant.grant.grant_id.clone()).collect();
        for grant_id in grants {
            self.take_grant(&grant_id);
            changes.push(RowChange::Grant(grant_id));
        }
    }

    /// Creates the `admin` user if the cluster is initialised, at feature level 2 or later, and
    /// has none: on the raise to level 2, and at initialisation once the level is 2.
    pub(crate) fn ensure_admin_user(&mut self, now_ms: u64, changes: &mut Vec<RowChange>) {
        if self.features.level < 2 || self.keyring.is_none() || self.user(ADMIN_USER).is_some() {
            return;
        }
        let admin = UserRecord {
            name: ADMIN_USER.to_owned(),
            created_at_ms: now_ms,
            policy: Some(ADMIN_POLICY.to_owned()),
        };
        self.users.insert(ADMIN_USER.to_owned(), admin);
        changes.push(RowChange::User(ADMIN_USER.to_owned()));
    }

    /// Adds a grant, keeping both grant indexes in step.
    pub(crate) fn put_grant(&mut self, record: GrantRecord) {
        let grant_id = record.grant.grant_id.clone();
        self.grants_by_key.insert((record.key_id, grant_id.clone()));
        self.grants_by_grantee.insert((
            record.key_id,
            record.grant.grantee_principal.clone(),
            grant_id.clone(),
        ));
        self.grants.insert(grant_id, record);
    }

    fn take_grant(&mut self, grant_id: &str) -> Option<GrantRecord> {
        let record = self.grants.remove(grant_id)?;
        self.grants_by_key.remove(&(record.key_id, grant_id.to_owned()));
        self.grants_by_grantee.remove(&(
            record.key_id,
            record.grant.grantee_principal.clone(),
            grant_id.to_owned(),
        ));
        Some(record)
    }

    fn existing_user(&self, name: &str) -> Result<&UserRecord, Rejection> {
        self.user(name).ok_or_else(|| {
            Rejection::new(ErrorCode::NotFound, format!("The user with name {name} cannot be found."))
        })
    }

    fn require_initialized(&self) -> Result<(), Rejection> {
        match self.keyring {
            Some(_) => Ok(()),
            None => Err(Rejection::new(ErrorCode::InvalidState, "The cluster is not initialised")),
        }
    }
}

/// The row and map key of a user: IAM user names are unique without regard to case.
pub(crate) fn user_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// A user name as IAM allows it: 1–64 of `[A-Za-z0-9+=,.@_-]`.
pub fn check_user_name(name: &str) -> Result<(), KmsError> {
    let well_formed = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if !well_formed {
        return Err(KmsError::new(
            ErrorCode::Validation,
            format!(
                "1 validation error detected: Value '{}' at 'userName' failed to satisfy constraint: Member must have length less than or equal to 64 and match [\\w+=,.@-]+",
                name.chars().take(80).collect::<String>()
            ),
        ));
    }
    Ok(())
}

/// A policy document within its size (its language was checked by the proposer).
pub(crate) fn check_policy_size(policy: &str) -> Result<(), KmsError> {
    if policy.is_empty() || policy.len() > trent_policy::MAX_POLICY_BYTES {
        return Err(KmsError::new(
            ErrorCode::MalformedPolicyDocument,
            format!("A policy is 1 to {} bytes", trent_policy::MAX_POLICY_BYTES),
        ));
    }
    Ok(())
}

/// A grant id: 64 lower-case hex characters.
pub fn check_grant_id(grant_id: &str) -> Result<(), KmsError> {
    if grant_id.len() != 64 || !grant_id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(KmsError::new(
            ErrorCode::InvalidGrantId,
            format!("Invalid grant ID {}", grant_id.chars().take(80).collect::<String>()),
        ));
    }
    Ok(())
}

/// Every size a grant record keeps.
pub(crate) fn check_grant(record: &GrantRecord) -> Result<(), KmsError> {
    check_grant_id(&record.grant.grant_id)?;
    let too_long = |text: &str, limit: usize| text.chars().count() > limit;
    let grant = &record.grant;
    let principals =
        [Some(&grant.grantee_principal), record.retiring_principal.as_ref(), Some(&record.issuing_principal)];
    if principals
        .into_iter()
        .flatten()
        .any(|principal| principal.is_empty() || too_long(principal, MAX_PRINCIPAL_CHARS))
    {
        return Err(KmsError::new(
            ErrorCode::Validation,
            format!("A grant's principals are 1 to {MAX_PRINCIPAL_CHARS} characters"),
        ));
    }
    if grant.operations.is_empty() || grant.operations.len() > MAX_GRANT_OPERATIONS {
        return Err(KmsError::new(
            ErrorCode::Validation,
            format!("A grant allows 1 to {MAX_GRANT_OPERATIONS} operations"),
        ));
    }
    if grant.operations.iter().any(|operation| too_long(operation, 64)) {
        return Err(KmsError::new(ErrorCode::Validation, "A grant operation is at most 64 characters"));
    }
    if record.name.as_deref().is_some_and(|name| name.is_empty() || too_long(name, MAX_GRANT_NAME_CHARS)) {
        return Err(KmsError::new(
            ErrorCode::Validation,
            format!("A grant name is 1 to {MAX_GRANT_NAME_CHARS} characters"),
        ));
    }
    if let Some(constraints) = &grant.constraints {
        for map in [&constraints.equals, &constraints.subset].into_iter().flatten() {
            let oversized = map.len() > MAX_CONSTRAINT_PAIRS
                || map.iter().any(|(key, value)| {
                    too_long(key, MAX_CONSTRAINT_CHARS) || too_long(value, MAX_CONSTRAINT_CHARS)
                });
            if oversized {
                return Err(KmsError::new(
                    ErrorCode::Validation,
                    format!("A grant constraint holds at most {MAX_CONSTRAINT_PAIRS} pairs of at most {MAX_CONSTRAINT_CHARS} characters"),
                ));
            }
        }
    }
    Ok(())
}

/// A stored user record keeps its name and policy limits.
pub(crate) fn check_user(user: &UserRecord) -> Result<(), KmsError> {
    check_user_name(&user.name)?;
    user.policy.as_deref().map_or(Ok(()), check_policy_size)
}
