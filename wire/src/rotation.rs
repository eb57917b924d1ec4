//! Request and response shapes of key rotation (EnableKeyRotation, GetKeyRotationStatus,
//! ListKeyRotations), field names exactly as AWS spells them. DisableKeyRotation,
//! GetKeyRotationStatus and RotateKeyOnDemand take a [`KeyIdRequest`]; DisableKeyRotation and
//! EnableKeyRotation answer `{}`, RotateKeyOnDemand a [`KeyIdResponse`].
//!
//! [`KeyIdRequest`]: crate::kms::KeyIdRequest
//! [`KeyIdResponse`]: crate::kms::KeyIdResponse

use serde::{Deserialize, Serialize};

use crate::limits::{DEFAULT_LIST_LIMIT, DEFAULT_ROTATION_PERIOD_DAYS, MAX_LIST_LIMIT};
use crate::model::{ExpirationModel, ImportState, IncludeKeyMaterial, KeyMaterialState, RotationType};
use crate::validation::{check_marker, check_rotation_period, enum_value_or, page_limit};
use crate::KmsError;

/// `EnableKeyRotation` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnableKeyRotationRequest {
    /// The key: key id or key ARN.
    pub key_id: String,
    /// Days between automatic rotations, 90–2560 (default 365).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_period_in_days: Option<i64>,
}

impl EnableKeyRotationRequest {
    /// The rotation period asked for, or the default, within AWS's bounds.
    pub fn rotation_period_in_days(&self) -> Result<i64, KmsError> {
        let days = self.rotation_period_in_days.unwrap_or(DEFAULT_ROTATION_PERIOD_DAYS);
        check_rotation_period(days)?;
        Ok(days)
    }

    /// Checks every field but `KeyId` (resolving the key checks that one).
    pub fn validate(&self) -> Result<(), KmsError> {
        self.rotation_period_in_days().map(drop)
    }
}

/// `GetKeyRotationStatus` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyRotationStatusResponse {
    /// Whether automatic rotation is enabled.
    pub key_rotation_enabled: bool,
    /// The key ARN.
    pub key_id: String,
    /// Days between automatic rotations, while they are enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_period_in_days: Option<i64>,
    /// When the next automatic rotation is due, epoch seconds, while they are enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_rotation_date: Option<f64>,
    /// When an on-demand rotation still in progress began, epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_demand_rotation_start_date: Option<f64>,
}

/// `ListKeyRotations` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyRotationsRequest {
    /// The key: key id or key ARN.
    pub key_id: String,
    /// `ALL_KEY_MATERIAL` or `ROTATIONS_ONLY` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_key_material: Option<String>,
    /// Page size, 1–1000 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// `NextMarker` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

impl ListKeyRotationsRequest {
    /// Which materials to list, `ROTATIONS_ONLY` when absent.
    pub fn include_key_material(&self) -> Result<IncludeKeyMaterial, KmsError> {
        enum_value_or(
            "includeKeyMaterial",
            self.include_key_material.as_deref(),
            IncludeKeyMaterial::RotationsOnly,
            IncludeKeyMaterial::parse,
            IncludeKeyMaterial::allowed_values,
        )
    }

    /// The page size, 1–1000, 100 when absent.
    pub fn limit(&self) -> Result<usize, KmsError> {
        page_limit(self.limit, MAX_LIST_LIMIT, DEFAULT_LIST_LIMIT)
    }

    /// Checks every field but `KeyId` (resolving the key checks that one).
    pub fn validate(&self) -> Result<(), KmsError> {
        self.include_key_material()?;
        self.limit()?;
        check_marker(self.marker.as_deref())
    }
}

/// One material of a key, as ListKeyRotations reports it (AWS `RotationsListEntry`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationsListEntry {
    /// The key ARN.
    pub key_id: String,
    /// The material's id, 64 lowercase hex digits.
    pub key_material_id: String,
    /// The description given when the material was imported: imported symmetric keys only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_material_description: Option<String>,
    /// Whether the imported bytes are present: imported symmetric keys only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_state: Option<ImportState>,
    /// Current, no longer current, or waiting to become current.
    pub key_material_state: KeyMaterialState,
    /// Whether the imported material expires: imported symmetric keys only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_model: Option<ExpirationModel>,
    /// When the imported material expires, epoch seconds: expiring imported material only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<f64>,
    /// When a rotation made the material current, epoch seconds: absent for the key's first
    /// material and for material not yet rotated in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_date: Option<f64>,
    /// What made the material current, with `RotationDate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_type: Option<RotationType>,
}

/// `ListKeyRotations` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeyRotationsResponse {
    /// This page, oldest material first.
    pub rotations: Vec<RotationsListEntry>,
    /// Marker for the next page, present when `truncated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more entries follow.
    pub truncated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn enable_key_rotation_defaults_to_365_days_and_bounds_the_period() {
        let request = |days: Option<i64>| EnableKeyRotationRequest {
            key_id: "k".into(),
            rotation_period_in_days: days,
        };
        assert_eq!(request(None).rotation_period_in_days().unwrap(), 365);
        assert_eq!(request(Some(90)).rotation_period_in_days().unwrap(), 90);
        assert_eq!(request(Some(2560)).rotation_period_in_days().unwrap(), 2560);
        for days in [89, 2561] {
            let error = request(Some(days)).validate().unwrap_err();
            assert_eq!(error.code, ErrorCode::Validation);
            assert_eq!(
                error.message,
                format!(
                    "1 validation error detected: Value '{days}' at 'rotationPeriodInDays' failed to satisfy \
                     constraint: Member must have value between 90 and 2560, inclusive"
                )
            );
        }
        let parsed: EnableKeyRotationRequest =
            serde_json::from_str(r#"{"KeyId": "k", "RotationPeriodInDays": 180}"#).unwrap();
        assert_eq!(parsed, request(Some(180)));
    }

    #[test]
    fn list_key_rotations_checks_its_enum_limit_and_marker() {
        let request: ListKeyRotationsRequest = serde_json::from_str(r#"{"KeyId": "k"}"#).unwrap();
        assert_eq!(request.include_key_material().unwrap(), IncludeKeyMaterial::RotationsOnly);
        assert_eq!(request.limit().unwrap(), 100);
        assert!(request.validate().is_ok());

        let all = ListKeyRotationsRequest {
            include_key_material: Some("ALL_KEY_MATERIAL".into()),
            ..request.clone()
        };
        assert_eq!(all.include_key_material().unwrap(), IncludeKeyMaterial::AllKeyMaterial);
        let unknown =
            ListKeyRotationsRequest { include_key_material: Some("SOME".into()), ..request.clone() };
        assert_eq!(
            unknown.validate().unwrap_err().message,
            "1 validation error detected: Value 'SOME' at 'includeKeyMaterial' failed to satisfy constraint: \
             Member must satisfy enum value set: [ALL_KEY_MATERIAL, ROTATIONS_ONLY]"
        );
        for limit in [0, 1001] {
            let bad = ListKeyRotationsRequest { limit: Some(limit), ..request.clone() };
            assert_eq!(bad.validate().unwrap_err().code, ErrorCode::Validation, "{limit}");
        }
        assert_eq!(ListKeyRotationsRequest { limit: Some(1000), ..request.clone() }.limit().unwrap(), 1000);
        let empty_marker = ListKeyRotationsRequest { marker: Some(String::new()), ..request.clone() };
        assert_eq!(empty_marker.validate().unwrap_err().code, ErrorCode::Validation);
        let long_marker = ListKeyRotationsRequest { marker: Some("m".repeat(1025)), ..request };
        assert_eq!(long_marker.validate().unwrap_err().code, ErrorCode::Validation);
    }

    #[test]
    fn rotation_entries_use_aws_field_names_and_leave_out_what_is_absent() {
        let entry = RotationsListEntry {
            key_id: "arn".into(),
            key_material_id: "0f".repeat(32),
            key_material_description: None,
            import_state: None,
            key_material_state: KeyMaterialState::Current,
            expiration_model: None,
            valid_to: None,
            rotation_date: Some(1.5),
            rotation_type: Some(RotationType::OnDemand),
        };
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(json["KeyMaterialId"], "0f".repeat(32));
        assert_eq!(json["KeyMaterialState"], "CURRENT");
        assert_eq!(json["RotationType"], "ON_DEMAND");
        assert_eq!(json["RotationDate"], 1.5);
        for absent in ["KeyMaterialDescription", "ImportState", "ExpirationModel", "ValidTo"] {
            assert!(json.get(absent).is_none(), "{absent}");
        }
        let page = ListKeyRotationsResponse { rotations: vec![entry], next_marker: None, truncated: false };
        let json = serde_json::to_value(&page).unwrap();
        assert_eq!(json["Truncated"], false);
        assert!(json.get("NextMarker").is_none());
        assert_eq!(serde_json::from_value::<ListKeyRotationsResponse>(json).unwrap(), page);

        let status = GetKeyRotationStatusResponse {
            key_rotation_enabled: false,
            key_id: "arn".into(),
            rotation_period_in_days: None,
            next_rotation_date: None,
            on_demand_rotation_start_date: None,
        };
        assert_eq!(serde_json::to_string(&status).unwrap(), r#"{"KeyRotationEnabled":false,"KeyId":"arn"}"#);
    }
}
