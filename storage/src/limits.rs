//! The field limits the node checks before proposing a command, checked again when it is
//! applied: a command that reached the log another way (a peer, a bug) still cannot store an
//! oversized or malformed value.

use trent_wire::ErrorCode;

use crate::apply::MAX_TAGS_PER_KEY;
use crate::command::Command;

/// Refuses a command with a field out of its limits.
pub(crate) fn check_limits(command: &Command) -> Result<(), trent_wire::KmsError> {
    use trent_wire::validation::{check_alias_name, check_description, check_tag, check_tag_key};
    let check_tags =
        |tags: &[(String, String)]| tags.iter().try_for_each(|(key, value)| check_tag(key, value));
    let check_draft = |draft: &crate::command::KeyDraft| {
        check_description(&draft.description)?;
        check_tags(&draft.tags)
    };
    match command {
        Command::CreateKey(new_key) => check_draft(&new_key.draft),
        Command::UpdateKeyDescription { description, .. } => check_description(description),
        Command::CreateAlias { alias, .. }
        | Command::UpdateAlias { alias, .. }
        | Command::DeleteAlias { alias } => check_alias_name(alias),
        Command::TagKey { tags, .. } => check_tags(tags),
        Command::UntagKey { tag_keys, .. } => {
            if tag_keys.len() > MAX_TAGS_PER_KEY {
                return Err(trent_wire::KmsError::new(
                    ErrorCode::LimitExceeded,
                    format!("At most {MAX_TAGS_PER_KEY} tag keys per call"),
                ));
            }
            tag_keys.iter().try_for_each(|tag_key| check_tag_key(tag_key))
        }
        Command::InitializeCluster { keyring, admin } => {
            crate::principals::check_keyring(keyring)?;
            crate::principals::check_access_key(admin)
        }
        Command::ReplaceKeyring { keyring } => crate::principals::check_keyring(keyring),
        Command::CreateAccessKey(record) => crate::principals::check_access_key(record),
        Command::DeleteAccessKey { access_key_id } => crate::principals::check_access_key_id(access_key_id),
        Command::RecordUnsealSplit { split, .. } => crate::principals::check_unseal_split(split),
        Command::ConfirmUnsealSplit { .. } | Command::RaiseFeatureLevel { .. } => Ok(()),
        Command::CreateUser { name, policy } | Command::PutUserPolicy { name, policy } => {
            crate::access::check_user_name(name)?;
            policy.as_deref().map_or(Ok(()), crate::access::check_policy_size)
        }
        Command::DeleteUser { name } => crate::access::check_user_name(name),
        Command::CreateUserAccessKey { user, record } => {
            crate::access::check_user_name(user)?;
            crate::principals::check_access_key(record)
        }
        Command::CreateKeyWithPolicy { key, policy } => {
            check_draft(&key.draft)?;
            crate::access::check_policy_size(policy)
        }
        Command::PutKeyPolicy { policy, .. } => crate::access::check_policy_size(policy),
        Command::CreateGrant(record) => crate::access::check_grant(record),
        Command::RemoveGrant { grant_id, .. } => crate::access::check_grant_id(grant_id),
        Command::EnableKey { .. }
        | Command::DisableKey { .. }
        | Command::ScheduleKeyDeletion { .. }
        | Command::CancelKeyDeletion { .. }
        | Command::DeleteExpiredKey { .. }
        | Command::SetKeyRotation { .. }
        | Command::RotateKey { .. }
        | Command::DeleteImportedKeyMaterial { .. }
        | Command::ExpireImportedKeyMaterial { .. }
        | Command::ForgetImportParameters { .. } => Ok(()),
        Command::CreateExternalKey { draft, policy, .. } => {
            check_draft(draft)?;
            policy.as_deref().map_or(Ok(()), crate::access::check_policy_size)
        }
        Command::CreateImportParameters(record) => crate::import::check_import_parameters(record),
        Command::ImportKeyMaterial { material, .. } => {
            crate::import::check_material_description(material.description.as_deref())
        }
    }
}
