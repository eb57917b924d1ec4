//! Field checks with AWS's wording: `1 validation error detected: Value '…' at '…' failed to
//! satisfy constraint: …`. The node runs them on every request whatever the client validated,
//! and the state machine runs them again on apply, so a command that reaches the log by another
//! path (a peer) cannot break a limit either.

use crate::kms::Tag;
use crate::limits::{
    KEY_MATERIAL_ID_CHARS, MAX_ALIAS_NAME_CHARS, MAX_DESCRIPTION_CHARS, MAX_KEY_MATERIAL_DESCRIPTION_CHARS,
    MAX_LIST_LIMIT, MAX_MARKER_CHARS, MAX_ROTATION_PERIOD_DAYS, MAX_TAGS_PER_KEY, MAX_TAG_KEY_CHARS,
    MAX_TAG_VALUE_CHARS, MIN_ROTATION_PERIOD_DAYS,
};
use crate::{Blob, ErrorCode, KmsError};

/// A `ValidationException` in AWS's words.
pub fn constraint(field: &str, value: &str, constraint: &str) -> KmsError {
    // Long values are cut so an error never echoes a large input back.
    let shown: String = value.chars().take(64).collect();
    KmsError::new(
        ErrorCode::Validation,
        format!("1 validation error detected: Value '{shown}' at '{field}' failed to satisfy constraint: {constraint}"),
    )
}

/// Parses an enum-valued field, refusing other values with AWS's enum wording.
pub fn enum_value<T>(
    field: &str,
    value: &str,
    parse: fn(&str) -> Option<T>,
    allowed: fn() -> String,
) -> Result<T, KmsError> {
    parse(value).ok_or_else(|| {
        constraint(field, value, &format!("Member must satisfy enum value set: {}", allowed()))
    })
}

/// Parses an optional enum-valued field, `default` when it is absent.
pub fn enum_value_or<T>(
    field: &str,
    value: Option<&str>,
    default: T,
    parse: fn(&str) -> Option<T>,
    allowed: fn() -> String,
) -> Result<T, KmsError> {
    match value {
        None => Ok(default),
        Some(value) => enum_value(field, value, parse, allowed),
    }
}

/// Checks a string's length in characters.
pub fn check_length(field: &str, value: &str, min: usize, max: usize) -> Result<(), KmsError> {
    let length = value.chars().count();
    if length < min || length > max {
        return Err(constraint(
            field,
            value,
            &format!("Member must have length between {min} and {max}, inclusive"),
        ));
    }
    Ok(())
}

/// Checks an integer is within `min..=max`.
pub fn check_range(field: &str, value: i64, min: i64, max: i64) -> Result<(), KmsError> {
    if !(min..=max).contains(&value) {
        return Err(constraint(
            field,
            &value.to_string(),
            &format!("Member must have value between {min} and {max}, inclusive"),
        ));
    }
    Ok(())
}

/// A binary field's length, `min..=max` bytes. The value is secret or opaque, so the message
/// never shows it.
pub fn check_blob_length(field: &str, blob: &Blob, min: usize, max: usize) -> Result<(), KmsError> {
    let constraint = if blob.len() < min {
        format!("Member must have length greater than or equal to {min}")
    } else if blob.len() > max {
        format!("Member must have length less than or equal to {max}")
    } else {
        return Ok(());
    };
    Err(KmsError::new(
        ErrorCode::Validation,
        format!("1 validation error detected: Value at '{field}' failed to satisfy constraint: {constraint}"),
    ))
}

/// A key description, 0–8192 characters.
pub fn check_description(description: &str) -> Result<(), KmsError> {
    check_length("description", description, 0, MAX_DESCRIPTION_CHARS)
}

/// A page size, 1–`max` (default `default`).
pub fn page_limit(limit: Option<i64>, max: i64, default: i64) -> Result<usize, KmsError> {
    let limit = limit.unwrap_or(default);
    check_range("limit", limit, 1, max.min(MAX_LIST_LIMIT))?;
    Ok(limit as usize)
}

/// EnableKeyRotation's `RotationPeriodInDays`, 90–2560.
pub fn check_rotation_period(days: i64) -> Result<(), KmsError> {
    check_range("rotationPeriodInDays", days, MIN_ROTATION_PERIOD_DAYS, MAX_ROTATION_PERIOD_DAYS)
}

/// A `KeyMaterialDescription`: 0–256 characters, each an ASCII letter or digit, whitespace or
/// one of `:/_.-` (AWS's pattern `^[a-zA-Z0-9:/_\s.-]+$`).
///
/// The pattern asks for one character at least while the length allows none: AWS's model says
/// both, and both are applied, so an empty description is refused by the pattern.
pub fn check_key_material_description(description: &str) -> Result<(), KmsError> {
    const FIELD: &str = "keyMaterialDescription";
    check_length(FIELD, description, 0, MAX_KEY_MATERIAL_DESCRIPTION_CHARS)?;
    // `\s` as the Java regex AWS validates with reads it: ASCII whitespace, vertical tab included.
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(c, ':' | '/' | '_' | '.' | '-' | ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
    };
    if description.is_empty() || !description.chars().all(allowed) {
        return Err(constraint(
            FIELD,
            description,
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_\\s.-]+$",
        ));
    }
    Ok(())
}

/// A `KeyMaterialId`: exactly 64 lowercase hex digits (AWS `BackingKeyIdType`).
pub fn check_key_material_id(id: &str) -> Result<(), KmsError> {
    const FIELD: &str = "keyMaterialId";
    check_length(FIELD, id, KEY_MATERIAL_ID_CHARS, KEY_MATERIAL_ID_CHARS)?;
    if !id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) {
        return Err(constraint(FIELD, id, "Member must satisfy regular expression pattern: ^[a-f0-9]+$"));
    }
    Ok(())
}

/// A pagination marker's length.
pub fn check_marker(marker: Option<&str>) -> Result<(), KmsError> {
    match marker {
        Some(marker) => check_length("marker", marker, 1, MAX_MARKER_CHARS),
        None => Ok(()),
    }
}

/// An alias name: `alias/` followed by letters, digits, `/`, `_`, `-`; not under `alias/aws/` in
/// any case.
pub fn check_alias_name(name: &str) -> Result<(), KmsError> {
    check_length("aliasName", name, 1, MAX_ALIAS_NAME_CHARS)?;
    let Some(rest) = name.strip_prefix("alias/") else {
        return Err(KmsError::new(
            ErrorCode::Validation,
            format!("Alias must start with the prefix \"alias/\": {name}"),
        ));
    };
    let well_formed =
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-'));
    if !well_formed {
        return Err(constraint(
            "aliasName",
            name,
            "Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$",
        ));
    }
    // Reserved whatever its case: AWS refuses alias/AWS/x as it refuses alias/aws/x.
    if rest.len() >= 4 && rest[..4].eq_ignore_ascii_case("aws/") {
        return Err(KmsError::new(
            ErrorCode::InvalidAliasName,
            format!("Alias {name} is reserved: the alias/aws/ prefix belongs to AWS managed keys"),
        ));
    }
    Ok(())
}

/// A tag key as AWS allows it.
pub fn check_tag_key(key: &str) -> Result<(), KmsError> {
    check_length("tagKey", key, 1, MAX_TAG_KEY_CHARS)?;
    check_tag_characters("tagKey", key)?;
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(KmsError::new(ErrorCode::Tag, format!("Tag keys may not start with aws: ('{key}')")));
    }
    Ok(())
}

/// One tag: key and value well formed.
pub fn check_tag(key: &str, value: &str) -> Result<(), KmsError> {
    check_tag_key(key)?;
    check_length("tagValue", value, 0, MAX_TAG_VALUE_CHARS)?;
    check_tag_characters("tagValue", value)
}

/// A list of tags to set: each well formed, no key twice, at most 50.
pub fn check_tags(tags: &[Tag]) -> Result<Vec<(String, String)>, KmsError> {
    if tags.len() > MAX_TAGS_PER_KEY {
        return Err(KmsError::new(
            ErrorCode::LimitExceeded,
            format!("A key can have at most {MAX_TAGS_PER_KEY} tags"),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut checked = Vec::with_capacity(tags.len());
    for tag in tags {
        check_tag(&tag.tag_key, &tag.tag_value)?;
        if !seen.insert(tag.tag_key.as_str()) {
            return Err(KmsError::new(ErrorCode::Tag, format!("Duplicate tag key '{}'", tag.tag_key)));
        }
        checked.push((tag.tag_key.clone(), tag.tag_value.clone()));
    }
    Ok(checked)
}

fn check_tag_characters(field: &str, value: &str) -> Result<(), KmsError> {
    let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
    if value.chars().all(allowed) {
        Ok(())
    } else {
        Err(KmsError::new(
            ErrorCode::Tag,
            format!("{field} has characters outside letters, digits, spaces and _.:/=+-@"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_names_follow_aws_rules() {
        assert!(check_alias_name("alias/app-1/prod_key").is_ok());
        assert_eq!(check_alias_name("app").unwrap_err().code, ErrorCode::Validation);
        assert_eq!(check_alias_name("alias/").unwrap_err().code, ErrorCode::Validation);
        assert_eq!(check_alias_name("alias/a b").unwrap_err().code, ErrorCode::Validation);
        assert_eq!(check_alias_name("alias/aws/s3").unwrap_err().code, ErrorCode::InvalidAliasName);
        for reserved in ["alias/AWS/x", "alias/Aws/x", "alias/aWs/x"] {
            assert_eq!(
                check_alias_name(reserved).unwrap_err().code,
                ErrorCode::InvalidAliasName,
                "{reserved}"
            );
        }
        assert!(check_alias_name("alias/awsome").is_ok(), "only the aws/ prefix is reserved");
        assert_eq!(
            check_alias_name(&format!("alias/{}", "a".repeat(251))).unwrap_err().code,
            ErrorCode::Validation
        );
    }

    #[test]
    fn tags_are_checked_for_shape_duplicates_and_count() {
        let tag = |k: &str, v: &str| Tag { tag_key: k.into(), tag_value: v.into() };
        assert!(check_tags(&[tag("team", "payments"), tag("env", "")]).is_ok());
        assert_eq!(check_tags(&[tag("", "x")]).unwrap_err().code, ErrorCode::Validation);
        assert_eq!(check_tags(&[tag("aws:x", "x")]).unwrap_err().code, ErrorCode::Tag);
        assert_eq!(check_tags(&[tag("a", "1"), tag("a", "2")]).unwrap_err().code, ErrorCode::Tag);
        let many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert_eq!(check_tags(&many).unwrap_err().code, ErrorCode::LimitExceeded);
    }

    #[test]
    fn page_limits_are_bounded() {
        assert_eq!(page_limit(None, 1000, 100).unwrap(), 100);
        assert_eq!(page_limit(Some(1000), 1000, 100).unwrap(), 1000);
        assert!(page_limit(Some(0), 1000, 100).is_err());
        assert!(page_limit(Some(51), 50, 50).is_err());
        assert_eq!(
            page_limit(Some(1001), 1000, 100).unwrap_err().message,
            "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: \
             Member must have value between 1 and 1000, inclusive"
        );
    }

    #[test]
    fn rotation_periods_are_90_to_2560_days() {
        for days in [90, 365, 2560] {
            assert!(check_rotation_period(days).is_ok(), "{days}");
        }
        for days in [89, 2561, 0, -1] {
            assert_eq!(check_rotation_period(days).unwrap_err().code, ErrorCode::Validation, "{days}");
        }
        assert_eq!(
            check_rotation_period(89).unwrap_err().message,
            "1 validation error detected: Value '89' at 'rotationPeriodInDays' failed to satisfy constraint: \
             Member must have value between 90 and 2560, inclusive"
        );
    }

    #[test]
    fn key_material_descriptions_follow_the_aws_pattern_and_length() {
        for good in ["a", "Imported 2025-01-01: HSM/partition_1", "tab\tand\nnewline", &"x".repeat(256)] {
            assert!(check_key_material_description(good).is_ok(), "{good:?}");
        }
        let too_long = check_key_material_description(&"x".repeat(257)).unwrap_err();
        assert_eq!(too_long.code, ErrorCode::Validation);
        assert!(
            too_long.message.ends_with("at 'keyMaterialDescription' failed to satisfy constraint: Member must have length between 0 and 256, inclusive"),
            "{}",
            too_long.message
        );
        for bad in ["", "semi;colon", "caf\u{e9}", "a*b", "\u{2003}"] {
            let error = check_key_material_description(bad).unwrap_err();
            assert_eq!(error.code, ErrorCode::Validation, "{bad:?}");
            assert!(
                error.message.ends_with(
                    "failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_\\s.-]+$"
                ),
                "{bad:?}: {}",
                error.message
            );
        }
    }

    #[test]
    fn key_material_ids_are_64_lowercase_hex_digits() {
        let id = "0123456789abcdef".repeat(4);
        assert!(check_key_material_id(&id).is_ok());
        assert_eq!(
            check_key_material_id(&id[..63]).unwrap_err().message,
            format!(
                "1 validation error detected: Value '{}' at 'keyMaterialId' failed to satisfy constraint: \
                 Member must have length between 64 and 64, inclusive",
                &id[..63]
            )
        );
        assert!(check_key_material_id(&format!("{id}0")).is_err());
        for bad in [id.to_uppercase(), format!("{}g", &id[..63])] {
            let error = check_key_material_id(&bad).unwrap_err();
            assert_eq!(error.code, ErrorCode::Validation);
            assert!(
                error.message.ends_with("Member must satisfy regular expression pattern: ^[a-f0-9]+$"),
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn blob_lengths_are_checked_without_showing_the_bytes() {
        let blob = |n: usize| Blob(vec![7; n]);
        assert!(check_blob_length("importToken", &blob(1), 1, 6144).is_ok());
        assert!(check_blob_length("importToken", &blob(6144), 1, 6144).is_ok());
        assert_eq!(
            check_blob_length("importToken", &blob(0), 1, 6144).unwrap_err().message,
            "1 validation error detected: Value at 'importToken' failed to satisfy constraint: \
             Member must have length greater than or equal to 1"
        );
        assert_eq!(
            check_blob_length("encryptedKeyMaterial", &blob(6145), 1, 6144).unwrap_err().message,
            "1 validation error detected: Value at 'encryptedKeyMaterial' failed to satisfy constraint: \
             Member must have length less than or equal to 6144"
        );
    }
}
