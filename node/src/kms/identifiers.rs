//! Key identifiers as AWS accepts them: key id, key ARN, alias name, alias ARN; and the ARNs we
//! answer with.

use trent_storage::{KeyId, KeyRecord, Registry};
use trent_wire::limits::MAX_KEY_ID_CHARS;
use trent_wire::{ErrorCode, KmsError};

use crate::config::ArnScope;
use trent_wire::validation::check_length;

/// A parsed key reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    /// A key id (from a bare id or a key ARN).
    Id(KeyId),
    /// An alias name `alias/...` (from a bare name or an alias ARN).
    Alias(String),
}

/// Whether an operation accepts aliases where it takes a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliasUse {
    /// Key id, key ARN, alias name or alias ARN.
    Allowed,
    /// Key id or key ARN only.
    Refused,
}

/// Parses a `KeyId`-style argument named `field`.
pub fn parse_key_ref(
    input: &str,
    field: &str,
    scope: &ArnScope,
    aliases: AliasUse,
) -> Result<KeyRef, KmsError> {
    check_length(field, input, 1, MAX_KEY_ID_CHARS)?;
    let invalid = || KmsError::new(ErrorCode::NotFound, format!("Invalid keyId '{input}'"));
    let reference = if let Some(resource) = input.strip_prefix("arn:") {
        let prefix = scope.prefix();
        let Some(resource) = input.strip_prefix(prefix.as_str()) else {
            let _ = resource;
            return Err(KmsError::new(
                ErrorCode::NotFound,
                format!(
                    "Invalid arn '{input}': this cluster serves region {} account {}",
                    scope.region, scope.account_id
                ),
            ));
        };
        if let Some(id) = resource.strip_prefix("key/") {
            KeyRef::Id(KeyId::parse(id).ok_or_else(invalid)?)
        } else if resource.starts_with("alias/") {
            KeyRef::Alias(resource.to_owned())
        } else {
            return Err(KmsError::new(ErrorCode::InvalidArn, format!("'{input}' is not a key or alias ARN")));
        }
    } else if input.starts_with("alias/") {
        KeyRef::Alias(input.to_owned())
    } else {
        KeyRef::Id(KeyId::parse(input).ok_or_else(invalid)?)
    };
    match (&reference, aliases) {
        (KeyRef::Alias(_), AliasUse::Refused) => Err(KmsError::new(
            ErrorCode::Validation,
            format!("{field} must be a key id or key ARN; '{input}' is an alias"),
        )),
        _ => Ok(reference),
    }
}

/// Parses a key id or key ARN (no alias).
pub fn parse_key_id(input: &str, field: &str, scope: &ArnScope) -> Result<KeyId, KmsError> {
    match parse_key_ref(input, field, scope, AliasUse::Refused)? {
        KeyRef::Id(key_id) => Ok(key_id),
        KeyRef::Alias(_) => {
            Err(KmsError::new(ErrorCode::Validation, format!("{field} must be a key id or key ARN")))
        }
    }
}

/// Finds the key a reference names in `registry`.
pub fn resolve<'r>(
    registry: &'r Registry,
    reference: &KeyRef,
    scope: &ArnScope,
) -> Result<&'r KeyRecord, KmsError> {
    let key_id = match reference {
        KeyRef::Id(key_id) => *key_id,
        KeyRef::Alias(name) => match registry.alias(name) {
            Some(alias) => alias.key_id,
            None => {
                return Err(KmsError::new(
                    ErrorCode::NotFound,
                    format!("Alias {} is not found.", alias_arn(scope, name)),
                ))
            }
        },
    };
    registry.key(&key_id).ok_or_else(|| {
        KmsError::new(ErrorCode::NotFound, format!("Key '{}' does not exist", key_arn(scope, key_id)))
    })
}

/// `arn:aws:kms:<region>:<account>:key/<id>`
pub fn key_arn(scope: &ArnScope, key_id: KeyId) -> String {
    // Pieced together rather than formatted: every audit record of a key names its ARN.
    let mut id = uuid::Uuid::encode_buffer();
    let id = key_id.0.hyphenated().encode_lower(&mut id);
    let parts = ["arn:aws:kms:", &scope.region, ":", &scope.account_id, ":key/", id];
    let mut arn = String::with_capacity(parts.iter().map(|part| part.len()).sum());
    parts.iter().for_each(|part| arn.push_str(part));
    arn
}

/// `arn:aws:kms:<region>:<account>:alias/<name>`
pub fn alias_arn(scope: &ArnScope, alias: &str) -> String {
    format!("{}{alias}", scope.prefix())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn accepts_the_four_aws_forms() {
        let scope = ArnScope::default();
        let id = KeyId::parse(ID).unwrap();
        assert_eq!(parse_key_ref(ID, "keyId", &scope, AliasUse::Allowed).unwrap(), KeyRef::Id(id));
        let arn = key_arn(&scope, id);
        assert_eq!(parse_key_ref(&arn, "keyId", &scope, AliasUse::Allowed).unwrap(), KeyRef::Id(id));
        assert_eq!(
            parse_key_ref("alias/app", "keyId", &scope, AliasUse::Allowed).unwrap(),
            KeyRef::Alias("alias/app".into())
        );
        let alias = alias_arn(&scope, "alias/app");
        assert_eq!(
            parse_key_ref(&alias, "keyId", &scope, AliasUse::Allowed).unwrap(),
            KeyRef::Alias("alias/app".into())
        );
    }

    #[test]
    fn refuses_other_regions_garbage_and_aliases_where_not_allowed() {
        let scope = ArnScope::default();
        let foreign = format!("arn:aws:kms:eu-west-1:111122223333:key/{ID}");
        assert_eq!(
            parse_key_ref(&foreign, "keyId", &scope, AliasUse::Allowed).unwrap_err().code,
            ErrorCode::NotFound
        );
        assert_eq!(
            parse_key_ref("nope", "keyId", &scope, AliasUse::Allowed).unwrap_err().code,
            ErrorCode::NotFound
        );
        assert_eq!(
            parse_key_ref("", "keyId", &scope, AliasUse::Allowed).unwrap_err().code,
            ErrorCode::Validation
        );
        assert_eq!(
            parse_key_ref("alias/app", "keyId", &scope, AliasUse::Refused).unwrap_err().code,
            ErrorCode::Validation
        );
    }
}
