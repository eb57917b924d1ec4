//! Request and response shapes of bring-your-own-key import (GetParametersForImport,
//! ImportKeyMaterial, DeleteImportedKeyMaterial), field names exactly as AWS spells them, with
//! binary fields as [`Blob`]s.
//!
//! The checks here are those of each field alone; what depends on the key or the clock
//! (`ValidTo` in the future and at most 365 days away, required exactly when the material
//! expires; `KeyMaterialId` refused with `NEW_KEY_MATERIAL`) is the operation's.

use serde::{Deserialize, Serialize};

use crate::limits::MAX_CIPHERTEXT_BYTES;
use crate::model::{ExpirationModel, ImportType, WrappingAlgorithm, WrappingKeySpec};
use crate::validation::{
    check_blob_length, check_key_material_description, check_key_material_id, enum_value, enum_value_or,
};
use crate::{Blob, KmsError};

/// `GetParametersForImport` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersForImportRequest {
    /// The key: key id or key ARN of an `EXTERNAL` key.
    pub key_id: String,
    /// How the material will be wrapped.
    pub wrapping_algorithm: String,
    /// The RSA key to wrap it under.
    pub wrapping_key_spec: String,
}

impl GetParametersForImportRequest {
    /// `WrappingAlgorithm`, one of AWS's (those Trent refuses included).
    pub fn wrapping_algorithm(&self) -> Result<WrappingAlgorithm, KmsError> {
        enum_value(
            "wrappingAlgorithm",
            &self.wrapping_algorithm,
            WrappingAlgorithm::parse,
            WrappingAlgorithm::allowed_values,
        )
    }

    /// `WrappingKeySpec`, one of AWS's (`SM2`, which Trent refuses, included).
    pub fn wrapping_key_spec(&self) -> Result<WrappingKeySpec, KmsError> {
        enum_value(
            "wrappingKeySpec",
            &self.wrapping_key_spec,
            WrappingKeySpec::parse,
            WrappingKeySpec::allowed_values,
        )
    }

    /// Checks every field but `KeyId` (resolving the key checks that one).
    pub fn validate(&self) -> Result<(), KmsError> {
        self.wrapping_algorithm()?;
        self.wrapping_key_spec().map(drop)
    }
}

/// `GetParametersForImport` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersForImportResponse {
    /// The key ARN.
    pub key_id: String,
    /// The token ImportKeyMaterial must present with material wrapped under `PublicKey`.
    pub import_token: Blob,
    /// The wrapping key, DER SubjectPublicKeyInfo.
    pub public_key: Blob,
    /// When the token and the wrapping key stop being accepted, epoch seconds.
    pub parameters_valid_to: f64,
}

/// `ImportKeyMaterial` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportKeyMaterialRequest {
    /// The key: key id or key ARN, the one GetParametersForImport named.
    pub key_id: String,
    /// GetParametersForImport's token, 1–6144 bytes.
    pub import_token: Blob,
    /// The material wrapped under GetParametersForImport's public key, 1–6144 bytes.
    pub encrypted_key_material: Blob,
    /// When the material expires, epoch seconds: with `KEY_MATERIAL_EXPIRES` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<f64>,
    /// `KEY_MATERIAL_EXPIRES` (the default) or `KEY_MATERIAL_DOES_NOT_EXPIRE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_model: Option<String>,
    /// `NEW_KEY_MATERIAL` or `EXISTING_KEY_MATERIAL`; by default new for a key that never had
    /// material, existing after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_type: Option<String>,
    /// A description of the material, 0–256 characters: symmetric keys only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_material_description: Option<String>,
    /// The id of the material being reimported: symmetric keys only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}

impl ImportKeyMaterialRequest {
    /// `ExpirationModel`, `KEY_MATERIAL_EXPIRES` when absent.
    pub fn expiration_model(&self) -> Result<ExpirationModel, KmsError> {
        enum_value_or(
            "expirationModel",
            self.expiration_model.as_deref(),
            ExpirationModel::KeyMaterialExpires,
            ExpirationModel::parse,
            ExpirationModel::allowed_values,
        )
    }

    /// `ImportType` as given: its default depends on the key.
    pub fn import_type(&self) -> Result<Option<ImportType>, KmsError> {
        self.import_type
            .as_deref()
            .map(|value| enum_value("importType", value, ImportType::parse, ImportType::allowed_values))
            .transpose()
    }

    /// Checks every field but `KeyId` (resolving the key checks that one).
    pub fn validate(&self) -> Result<(), KmsError> {
        check_blob_length("importToken", &self.import_token, 1, MAX_CIPHERTEXT_BYTES)?;
        check_blob_length("encryptedKeyMaterial", &self.encrypted_key_material, 1, MAX_CIPHERTEXT_BYTES)?;
        self.expiration_model()?;
        self.import_type()?;
        if let Some(description) = &self.key_material_description {
            check_key_material_description(description)?;
        }
        match &self.key_material_id {
            Some(id) => check_key_material_id(id),
            None => Ok(()),
        }
    }
}

/// `DeleteImportedKeyMaterial` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteImportedKeyMaterialRequest {
    /// The key: key id or key ARN.
    pub key_id: String,
    /// The material to delete; the current one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}

impl DeleteImportedKeyMaterialRequest {
    /// Checks every field but `KeyId` (resolving the key checks that one).
    pub fn validate(&self) -> Result<(), KmsError> {
        match &self.key_material_id {
            Some(id) => check_key_material_id(id),
            None => Ok(()),
        }
    }
}

/// Response naming a key and one of its materials (`ImportKeyMaterial`, `DeleteImportedKeyMaterial`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMaterialResponse {
    /// The key ARN.
    pub key_id: String,
    /// The material's id, 64 lowercase hex digits.
    pub key_material_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn import_request() -> ImportKeyMaterialRequest {
        serde_json::from_str(
            r#"{"KeyId": "k", "ImportToken": "dG9rZW4=", "EncryptedKeyMaterial": "d3JhcHBlZA=="}"#,
        )
        .unwrap()
    }

    #[test]
    fn get_parameters_for_import_accepts_every_aws_algorithm_and_spec_and_nothing_else() {
        for algorithm in WrappingAlgorithm::ALL {
            for spec in WrappingKeySpec::ALL {
                let request = GetParametersForImportRequest {
                    key_id: "k".into(),
                    wrapping_algorithm: algorithm.as_str().into(),
                    wrapping_key_spec: spec.as_str().into(),
                };
                assert!(request.validate().is_ok(), "{algorithm} {spec}");
                assert_eq!(
                    (request.wrapping_algorithm().unwrap(), request.wrapping_key_spec().unwrap()),
                    (*algorithm, *spec)
                );
            }
        }
        let request = GetParametersForImportRequest {
            key_id: "k".into(),
            wrapping_algorithm: "RSAES_OAEP_SHA_512".into(),
            wrapping_key_spec: "RSA_2048".into(),
        };
        assert_eq!(
            request.validate().unwrap_err().message,
            "1 validation error detected: Value 'RSAES_OAEP_SHA_512' at 'wrappingAlgorithm' failed to satisfy \
             constraint: Member must satisfy enum value set: [RSAES_PKCS1_V1_5, RSAES_OAEP_SHA_1, \
             RSAES_OAEP_SHA_256, RSA_AES_KEY_WRAP_SHA_1, RSA_AES_KEY_WRAP_SHA_256, SM2PKE]"
        );
        let request = GetParametersForImportRequest {
            wrapping_algorithm: "RSAES_OAEP_SHA_256".into(),
            wrapping_key_spec: "RSA_1024".into(),
            ..request
        };
        let error = request.validate().unwrap_err();
        assert_eq!(error.code, ErrorCode::Validation);
        assert!(error.message.contains("at 'wrappingKeySpec'"), "{}", error.message);
        assert!(serde_json::from_str::<GetParametersForImportRequest>(r#"{"KeyId": "k"}"#).is_err());
    }

    #[test]
    fn import_key_material_defaults_and_checks_its_fields() {
        let request = import_request();
        assert_eq!(request.import_token.as_bytes(), b"token");
        assert!(request.validate().is_ok());
        assert_eq!(request.expiration_model().unwrap(), ExpirationModel::KeyMaterialExpires);
        assert_eq!(request.import_type().unwrap(), None);

        let full: ImportKeyMaterialRequest = serde_json::from_value(serde_json::json!({
            "KeyId": "k", "ImportToken": "dG9rZW4=", "EncryptedKeyMaterial": "d3JhcHBlZA==",
            "ValidTo": 1_900_000_000, "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
            "ImportType": "EXISTING_KEY_MATERIAL", "KeyMaterialDescription": "hsm export 1",
            "KeyMaterialId": "ab".repeat(32),
        }))
        .unwrap();
        assert!(full.validate().is_ok());
        assert_eq!(full.valid_to, Some(1_900_000_000.0));
        assert_eq!(full.expiration_model().unwrap(), ExpirationModel::KeyMaterialDoesNotExpire);
        assert_eq!(full.import_type().unwrap(), Some(ImportType::ExistingKeyMaterial));

        let field_of = |request: ImportKeyMaterialRequest| {
            let error = request.validate().unwrap_err();
            assert_eq!(error.code, ErrorCode::Validation, "{}", error.message);
            error.message.split('\'').rev().nth(1).map(str::to_owned).unwrap_or_default()
        };
        let base = import_request;
        assert_eq!(
            field_of(ImportKeyMaterialRequest { import_token: Blob(Vec::new()), ..base() }),
            "importToken"
        );
        assert_eq!(
            field_of(ImportKeyMaterialRequest { import_token: Blob(vec![0; 6145]), ..base() }),
            "importToken"
        );
        assert_eq!(
            field_of(ImportKeyMaterialRequest { encrypted_key_material: Blob(vec![0; 6145]), ..base() }),
            "encryptedKeyMaterial"
        );
        assert!(ImportKeyMaterialRequest { encrypted_key_material: Blob(vec![0; 6144]), ..base() }
            .validate()
            .is_ok());
        assert_eq!(
            field_of(ImportKeyMaterialRequest { expiration_model: Some("NEVER".into()), ..base() }),
            "expirationModel"
        );
        assert_eq!(
            field_of(ImportKeyMaterialRequest { import_type: Some("NEW".into()), ..base() }),
            "importType"
        );
        assert_eq!(
            field_of(ImportKeyMaterialRequest { key_material_description: Some("a;b".into()), ..base() }),
            "keyMaterialDescription"
        );
        assert_eq!(
            field_of(ImportKeyMaterialRequest { key_material_id: Some("AB".repeat(32)), ..base() }),
            "keyMaterialId"
        );
    }

    #[test]
    fn delete_imported_key_material_checks_the_material_id() {
        let request = DeleteImportedKeyMaterialRequest { key_id: "k".into(), key_material_id: None };
        assert!(request.validate().is_ok());
        let request = DeleteImportedKeyMaterialRequest { key_material_id: Some("ab".repeat(32)), ..request };
        assert!(request.validate().is_ok());
        let request = DeleteImportedKeyMaterialRequest { key_material_id: Some("ab".into()), ..request };
        assert_eq!(request.validate().unwrap_err().code, ErrorCode::Validation);
    }

    #[test]
    fn import_responses_use_aws_field_names() {
        let parameters = GetParametersForImportResponse {
            key_id: "arn".into(),
            import_token: Blob(b"token".to_vec()),
            public_key: Blob(b"spki".to_vec()),
            parameters_valid_to: 1.5,
        };
        let json = serde_json::to_value(&parameters).unwrap();
        assert_eq!(json["ImportToken"], "dG9rZW4=");
        assert_eq!(json["PublicKey"], "c3BraQ==");
        assert_eq!(json["ParametersValidTo"], 1.5);
        let material = KeyMaterialResponse { key_id: "arn".into(), key_material_id: "ab".repeat(32) };
        assert_eq!(
            serde_json::to_string(&material).unwrap(),
            format!(r#"{{"KeyId":"arn","KeyMaterialId":"{}"}}"#, "ab".repeat(32))
        );
    }
}
