//! Request and response shapes of the AWS KMS JSON 1.1 protocol (`X-Amz-Target:
//! TrentService.<Op>`), field names exactly as AWS spells them.
//!
//! Requests keep enum-valued fields as strings so the server can answer a bad value with AWS's own
//! `ValidationException` wording instead of a generic parse error. Timestamps are epoch seconds.

use serde::{Deserialize, Serialize};

use crate::model::{ExpirationModel, KeySpec, KeyState, KeyUsage, Origin};

/// The target prefix of every KMS operation.
pub const TARGET_PREFIX: &str = "TrentService.";
/// The content type of the AWS JSON 1.1 protocol.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// A key tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// Tag key, 1–128 characters.
    pub tag_key: String,
    /// Tag value, 0–256 characters.
    pub tag_value: String,
}

/// Everything AWS reports about a key (`KeyMetadata`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadata {
    /// The account id configured for the cluster.
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    /// The key id (a UUID).
    pub key_id: String,
    /// The key ARN.
    pub arn: String,
    /// When the key was created, epoch seconds.
    pub creation_date: f64,
    /// Whether the key is in the `Enabled` state.
    pub enabled: bool,
    /// The description, possibly empty.
    pub description: String,
    /// What the key is for.
    pub key_usage: KeyUsage,
    /// The lifecycle state.
    pub key_state: KeyState,
    /// When a key pending deletion will be deleted, epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<f64>,
    /// The pending window of a key pending deletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_deletion_window_in_days: Option<i64>,
    /// When the first of the key's expiring imported materials expires, epoch seconds:
    /// `EXTERNAL` keys whose material expires only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<f64>,
    /// Where the key material came from.
    pub origin: Origin,
    /// Whether the imported material expires: `EXTERNAL` keys only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_model: Option<ExpirationModel>,
    /// Always `CUSTOMER`: every key in Trent is a customer managed key.
    pub key_manager: String,
    /// The deprecated twin of `KeySpec`, still read by older SDKs.
    pub customer_master_key_spec: KeySpec,
    /// The key material type.
    pub key_spec: KeySpec,
    /// Encryption algorithms of an `ENCRYPT_DECRYPT` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_algorithms: Option<Vec<String>>,
    /// Signing algorithms of a `SIGN_VERIFY` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_algorithms: Option<Vec<String>>,
    /// MAC algorithms of a `GENERATE_VERIFY_MAC` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_algorithms: Option<Vec<String>>,
    /// Key agreement algorithms of a `KEY_AGREEMENT` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_agreement_algorithms: Option<Vec<String>>,
    /// Encapsulation algorithms of an `ENCAPSULATE_DECAPSULATE` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encapsulation_algorithms: Option<Vec<String>>,
    /// Always false: Trent has no multi-region keys.
    pub multi_region: bool,
    /// The id of the material the key encrypts with now: symmetric encryption keys only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_key_material_id: Option<String>,
}

/// `CreateKey` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateKeyRequest {
    /// Description, 0–8192 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `KeyUsage`, defaulting from the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_usage: Option<String>,
    /// `KeySpec`, default `SYMMETRIC_DEFAULT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_spec: Option<String>,
    /// Deprecated twin of `KeySpec`; may not be given together with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_master_key_spec: Option<String>,
    /// `AWS_KMS` (default) or `EXTERNAL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Tags to attach at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    /// A key policy document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Accepted for compatibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bypass_policy_lockout_safety_check: Option<bool>,
    /// Must be false or absent: Trent has no multi-region keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_region: Option<bool>,
    /// Custom key stores are not supported; must be absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_key_store_id: Option<String>,
}

/// Response of operations that return `KeyMetadata` (`CreateKey`, `DescribeKey`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadataResponse {
    /// The key's metadata.
    pub key_metadata: KeyMetadata,
}

/// A request that names one key and nothing else (`DescribeKey`, `EnableKey`, `DisableKey`,
/// `CancelKeyDeletion`, `DisableKeyRotation`, `GetKeyRotationStatus`, `RotateKeyOnDemand`,
/// `GetKeyLastUsage`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyIdRequest {
    /// Key id, key ARN, alias name or alias ARN.
    pub key_id: String,
    /// Accepted and ignored, as grants are not yet modelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
}

/// Response that names one key (`CancelKeyDeletion`, `RotateKeyOnDemand`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyIdResponse {
    /// The key ARN.
    pub key_id: String,
}

/// `GetKeyLastUsage` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyLastUsageResponse {
    /// The key ARN.
    pub key_id: String,
    /// The last successful cryptographic use; every field absent (`{}`) when the key has not
    /// been used since `TrackingStartDate`.
    pub key_last_usage: KeyLastUsage,
    /// Since when uses of this key are known, epoch seconds: never before its creation.
    pub tracking_start_date: f64,
    /// When the key was created, epoch seconds.
    pub key_creation_date: f64,
}

/// The last successful cryptographic use of a key (AWS's `KeyLastUsageData`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyLastUsage {
    /// The operation (`Encrypt`, `Decrypt`, `Sign`, ...: AWS's `KeyLastUsageTrackingOperation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// When, epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<f64>,
    /// The audit record's event id of that call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_trail_event_id: Option<String>,
    /// The request id of that call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_request_id: Option<String>,
}

/// `ListKeys` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeysRequest {
    /// Page size, 1–1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// `NextMarker` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

/// One entry of `ListKeys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyListEntry {
    /// The key id.
    pub key_id: String,
    /// The key ARN.
    pub key_arn: String,
}

/// `ListKeys` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeysResponse {
    /// This page.
    pub keys: Vec<KeyListEntry>,
    /// Marker for the next page, present when `truncated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more entries follow.
    pub truncated: bool,
}

/// `UpdateKeyDescription` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateKeyDescriptionRequest {
    /// The key.
    pub key_id: String,
    /// The new description.
    pub description: String,
}

/// `ScheduleKeyDeletion` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleKeyDeletionRequest {
    /// The key.
    pub key_id: String,
    /// Waiting period, 7–30 days (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_window_in_days: Option<i64>,
}

/// `ScheduleKeyDeletion` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleKeyDeletionResponse {
    /// The key ARN.
    pub key_id: String,
    /// When the key will be deleted, epoch seconds.
    pub deletion_date: f64,
    /// `PendingDeletion`.
    pub key_state: KeyState,
    /// The waiting period.
    pub pending_window_in_days: i64,
}

/// `CreateAlias` and `UpdateAlias` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasTargetRequest {
    /// `alias/<name>`.
    pub alias_name: String,
    /// Key id or key ARN (not an alias).
    pub target_key_id: String,
}

/// `DeleteAlias` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteAliasRequest {
    /// `alias/<name>`.
    pub alias_name: String,
}

/// `ListAliases` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesRequest {
    /// Only aliases of this key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Page size, 1–1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// `NextMarker` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

/// One entry of `ListAliases`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasListEntry {
    /// `alias/<name>`.
    pub alias_name: String,
    /// The alias ARN.
    pub alias_arn: String,
    /// The key id the alias points to.
    pub target_key_id: String,
    /// When the alias was created, epoch seconds.
    pub creation_date: f64,
    /// When the alias last changed target, epoch seconds.
    pub last_updated_date: f64,
}

/// `ListAliases` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesResponse {
    /// This page.
    pub aliases: Vec<AliasListEntry>,
    /// Marker for the next page, present when `truncated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more entries follow.
    pub truncated: bool,
}

/// `TagResource` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceRequest {
    /// The key.
    pub key_id: String,
    /// Tags to add or overwrite.
    pub tags: Vec<Tag>,
}

/// `UntagResource` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceRequest {
    /// The key.
    pub key_id: String,
    /// Tag keys to remove.
    pub tag_keys: Vec<String>,
}

/// `ListResourceTags` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourceTagsRequest {
    /// The key.
    pub key_id: String,
    /// Page size, 1–50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// `NextMarker` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

/// `ListResourceTags` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourceTagsResponse {
    /// This page.
    pub tags: Vec<Tag>,
    /// Marker for the next page, present when `truncated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more entries follow.
    pub truncated: bool,
}

/// An operation with an empty JSON response body (`{}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmptyResponse {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_metadata_uses_aws_field_names() {
        let metadata = KeyMetadata {
            aws_account_id: "111122223333".into(),
            key_id: "k".into(),
            arn: "arn".into(),
            creation_date: 1.5,
            enabled: true,
            description: String::new(),
            key_usage: KeyUsage::EncryptDecrypt,
            key_state: KeyState::Enabled,
            deletion_date: None,
            pending_deletion_window_in_days: None,
            origin: Origin::AwsKms,
            key_manager: "CUSTOMER".into(),
            customer_master_key_spec: KeySpec::SymmetricDefault,
            key_spec: KeySpec::SymmetricDefault,
            encryption_algorithms: Some(vec!["SYMMETRIC_DEFAULT".into()]),
            signing_algorithms: None,
            mac_algorithms: None,
            key_agreement_algorithms: None,
            encapsulation_algorithms: None,
            multi_region: false,
            valid_to: None,
            expiration_model: None,
            current_key_material_id: None,
        };
        let json = serde_json::to_value(&metadata).unwrap();
        assert_eq!(json["AWSAccountId"], "111122223333");
        assert_eq!(json["KeySpec"], "SYMMETRIC_DEFAULT");
        assert_eq!(json["KeyState"], "Enabled");
        for absent in ["DeletionDate", "ValidTo", "ExpirationModel", "CurrentKeyMaterialId"] {
            assert!(json.get(absent).is_none(), "{absent}");
        }

        let imported = KeyMetadata {
            origin: Origin::External,
            valid_to: Some(1_700_000_000.0),
            expiration_model: Some(ExpirationModel::KeyMaterialExpires),
            current_key_material_id: Some("ab".repeat(32)),
            ..metadata
        };
        let json = serde_json::to_value(&imported).unwrap();
        assert_eq!(json["ValidTo"], 1_700_000_000.0);
        assert_eq!(json["ExpirationModel"], "KEY_MATERIAL_EXPIRES");
        assert_eq!(json["CurrentKeyMaterialId"], "ab".repeat(32));
        assert_eq!(serde_json::from_value::<KeyMetadata>(json).unwrap(), imported);
    }

    #[test]
    fn requests_accept_absent_optional_fields() {
        let request: CreateKeyRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(request, CreateKeyRequest::default());
        let request: ListKeysRequest = serde_json::from_str(r#"{"Limit": 5}"#).unwrap();
        assert_eq!(request.limit, Some(5));
    }

    #[test]
    fn an_unused_key_has_an_empty_last_usage_object() {
        let unused = GetKeyLastUsageResponse {
            key_id: "arn".into(),
            key_last_usage: KeyLastUsage::default(),
            tracking_start_date: 2.5,
            key_creation_date: 1.5,
        };
        let json = serde_json::to_value(&unused).unwrap();
        assert_eq!(json["KeyLastUsage"], serde_json::json!({}));
        assert_eq!(json["TrackingStartDate"], 2.5);
        assert_eq!(json["KeyCreationDate"], 1.5);
        let used = GetKeyLastUsageResponse {
            key_last_usage: KeyLastUsage {
                operation: Some("Encrypt".into()),
                timestamp: Some(3.25),
                cloud_trail_event_id: Some("e".into()),
                kms_request_id: Some("r".into()),
            },
            ..unused
        };
        let json = serde_json::to_value(&used).unwrap();
        assert_eq!(
            json["KeyLastUsage"],
            serde_json::json!({"Operation": "Encrypt", "Timestamp": 3.25, "CloudTrailEventId": "e", "KmsRequestId": "r"})
        );
        assert_eq!(serde_json::from_value::<GetKeyLastUsageResponse>(json).unwrap(), used);
    }
}
