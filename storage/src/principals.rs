//! Applying the cluster-level commands: initialisation (sealed keyring and first access key),
//! keyring replacement (barrier rotation), and access keys. Like the rest of `apply`, these
//! handle only sealed bytes and re-check every limit.

use trent_wire::{ErrorCode, KmsError};

use crate::apply::RowChange;
use crate::command::{Applied, CommandResult, Rejection};
use crate::registry::{AccessKeyRecord, Registry};
use crate::sealed::SealedKeyring;

/// The most access keys a cluster holds.
pub const MAX_ACCESS_KEYS: usize = 10_000;
/// The most barrier key versions a keyring holds.
pub const MAX_KEYRING_VERSIONS: usize = 10_000;
/// Access key description length.
pub const MAX_ACCESS_KEY_DESCRIPTION_CHARS: usize = 256;

impl Registry {
    pub(crate) fn initialize_cluster(
        &mut self,
        keyring: &SealedKeyring,
        admin: &AccessKeyRecord,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        if self.keyring.is_some() {
            return Err(Rejection::new(ErrorCode::AlreadyExists, "The cluster is already initialised"));
        }
        self.keyring = Some(keyring.clone());
        changes.push(RowChange::Keyring);
        self.access_keys.insert(admin.access_key_id.clone(), admin.clone());
        changes.push(RowChange::AccessKey(admin.access_key_id.clone()));
        Ok(Applied::Done)
    }

    pub(crate) fn replace_keyring(
        &mut self,
        keyring: &SealedKeyring,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        let Some(current) = &self.keyring else {
            return Err(not_initialized());
        };
        if current.cluster_id != keyring.cluster_id {
            return Err(Rejection::new(ErrorCode::Validation, "The new keyring belongs to another cluster"));
        }
        // Rotation only adds versions: every secret sealed so far must stay openable.
        let keeps_every_version = current.keys.len() < keyring.keys.len()
            && current.keys.iter().zip(&keyring.keys).all(|(old, new)| old.version == new.version);
        if !keeps_every_version {
            return Err(Rejection::new(
                ErrorCode::Validation,
                "The new keyring must keep every barrier key version and add at least one",
            ));
        }
        self.keyring = Some(keyring.clone());
        changes.push(RowChange::Keyring);
        Ok(Applied::Done)
    }

    pub(crate) fn create_access_key(
        &mut self,
        record: &AccessKeyRecord,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        if self.keyring.is_none() {
            return Err(not_initialized());
        }
        if self.access_keys.contains_key(&record.access_key_id) {
            return Err(Rejection::new(
                ErrorCode::AlreadyExists,
                format!("Access key {} already exists", record.access_key_id),
            ));
        }
        if self.access_keys.len() >= MAX_ACCESS_KEYS {
            return Err(Rejection::new(
                ErrorCode::LimitExceeded,
                format!("A cluster holds at most {MAX_ACCESS_KEYS} access keys"),
            ));
        }
        self.access_keys.insert(record.access_key_id.clone(), record.clone());
        changes.push(RowChange::AccessKey(record.access_key_id.clone()));
        Ok(Applied::Done)
    }

    pub(crate) fn delete_access_key(
        &mut self,
        access_key_id: &str,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        if !self.access_keys.contains_key(access_key_id) {
            return Err(Rejection::new(
                ErrorCode::NotFound,
                format!("Access key {access_key_id} does not exist"),
            ));
        }
        if self.access_keys.len() == 1 {
            return Err(Rejection::new(
                ErrorCode::InvalidState,
                "The last access key cannot be deleted: nobody could administer the cluster",
            ));
        }
        self.access_keys.remove(access_key_id);
        changes.push(RowChange::AccessKey(access_key_id.to_owned()));
        if self.access_key_owners.remove(access_key_id).is_some() {
            changes.push(RowChange::AccessKeyOwner(access_key_id.to_owned()));
        }
        Ok(Applied::Done)
    }
}

impl Registry {
    pub(crate) fn record_unseal_split(
        &mut self,
        split: &crate::sealed::UnsealSplit,
        replaces: Option<&[u8; 32]>,
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        if self.keyring.is_none() {
            return Err(not_initialized());
        }
        let current = self.unseal_splits.as_ref().map(|splits| &splits.current.fingerprint);
        if current != replaces {
            return Err(Rejection::new(
                ErrorCode::InvalidState,
                "The unseal split changed while this one was being made (another rekey?); nothing was changed, retry",
            ));
        }
        // While a rekey is unconfirmed, the last confirmed split stays accepted: a second rekey
        // replaces the unconfirmed one, never the one the operators are known to hold.
        let retiring = self.unseal_splits.take().map(|splits| splits.retiring.unwrap_or(splits.current));
        self.unseal_splits = Some(crate::sealed::UnsealSplits { current: split.clone(), retiring });
        changes.push(RowChange::UnsealSplit);
        Ok(Applied::Done)
    }

    pub(crate) fn confirm_unseal_split(
        &mut self,
        fingerprint: &[u8; 32],
        changes: &mut Vec<RowChange>,
    ) -> CommandResult {
        match &mut self.unseal_splits {
            Some(splits) if &splits.current.fingerprint == fingerprint => {
                if splits.retiring.take().is_some() {
                    changes.push(RowChange::UnsealSplit);
                }
                Ok(Applied::Done)
            }
            _ => Err(Rejection::new(
                ErrorCode::InvalidState,
                "That split is not the current one; nothing to confirm",
            )),
        }
    }
}

fn not_initialized() -> Rejection {
    Rejection::new(ErrorCode::InvalidState, "The cluster is not initialised")
}

/// A keyring is non-empty, bounded, and numbers its versions 1, 2, 3, ...
pub(crate) fn check_keyring(keyring: &SealedKeyring) -> Result<(), KmsError> {
    let numbered = keyring.keys.iter().zip(1u32..).all(|(key, expected)| key.version == expected);
    if keyring.keys.is_empty() || keyring.keys.len() > MAX_KEYRING_VERSIONS || !numbered {
        return Err(KmsError::new(
            ErrorCode::Validation,
            "A keyring numbers its barrier key versions 1, 2, 3, ...",
        ));
    }
    Ok(())
}

/// An access key id: 1–128 letters, digits and underscores (AWS's pattern `\w+`). Generated
/// ids are 20 upper-case characters; dev mode accepts whatever the operator chose.
pub(crate) fn check_access_key_id(id: &str) -> Result<(), KmsError> {
    let well_formed =
        (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !well_formed {
        return Err(KmsError::new(
            ErrorCode::Validation,
            "An access key id is 1-128 letters, digits and underscores",
        ));
    }
    Ok(())
}

/// A whole access key record.
pub(crate) fn check_access_key(record: &AccessKeyRecord) -> Result<(), KmsError> {
    check_access_key_id(&record.access_key_id)?;
    if record.description.chars().count() > MAX_ACCESS_KEY_DESCRIPTION_CHARS {
        return Err(KmsError::new(
            ErrorCode::Validation,
            format!("An access key description is at most {MAX_ACCESS_KEY_DESCRIPTION_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Every split recorded takes between 1 and all of its shares.
pub(crate) fn check_unseal_splits(splits: &crate::sealed::UnsealSplits) -> Result<(), KmsError> {
    splits.accepted().try_for_each(check_unseal_split)
}

/// A split takes between 1 and all of its (at most 255) shares.
pub(crate) fn check_unseal_split(split: &crate::sealed::UnsealSplit) -> Result<(), KmsError> {
    if split.threshold == 0 || (split.shares != 0 && split.threshold > split.shares) {
        return Err(KmsError::new(
            ErrorCode::Validation,
            format!("An unseal split needs 1 to {} shares, not {}", split.shares, split.threshold),
        ));
    }
    Ok(())
}
