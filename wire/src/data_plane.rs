//! Request and response shapes of the KMS data plane: Encrypt, Decrypt, ReEncrypt,
//! GenerateDataKey, GenerateDataKeyWithoutPlaintext and GenerateRandom, field names exactly as
//! AWS spells them. Binary fields are [`Blob`]s (base64 in JSON); enum-valued request fields stay
//! strings so the server answers a bad value with AWS's own `ValidationException` wording.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::EncryptionAlgorithm;
use crate::Blob;

/// An encryption context: string pairs bound to a ciphertext as associated data. A `BTreeMap`,
/// so its order is the canonical one (sorted by key). Request fields read it with
/// [`unique_context`]: a key given twice is refused, not silently resolved to its last value,
/// as policy conditions will read the context.
pub type EncryptionContext = BTreeMap<String, String>;

/// Reads an optional encryption context, refusing a key that appears twice (JSON objects may
/// repeat keys; serde's maps keep the last).
pub fn unique_context<'de, D>(deserializer: D) -> Result<Option<EncryptionContext>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct UniqueKeys;

    impl<'de> serde::de::Visitor<'de> for UniqueKeys {
        type Value = Option<EncryptionContext>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("an object of string pairs")
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_map(self)
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut context = EncryptionContext::new();
            while let Some((key, value)) = map.next_entry::<String, String>()? {
                if context.contains_key(&key) {
                    let shown: String = key.chars().take(64).collect();
                    return Err(serde::de::Error::custom(format!(
                        "duplicate key `{shown}` in an encryption context"
                    )));
                }
                context.insert(key, value);
            }
            Ok(Some(context))
        }
    }

    deserializer.deserialize_option(UniqueKeys)
}

/// `Encrypt` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptRequest {
    /// Key id, key ARN, alias name or alias ARN.
    pub key_id: String,
    /// 1–4096 bytes to encrypt.
    pub plaintext: Blob,
    /// Pairs bound to the ciphertext; Decrypt must present the same.
    #[serde(default, deserialize_with = "unique_context", skip_serializing_if = "Option::is_none")]
    pub encryption_context: Option<EncryptionContext>,
    /// Accepted and checked for shape; grants are not modelled yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    /// `SYMMETRIC_DEFAULT` (the default) for symmetric keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_algorithm: Option<String>,
    /// Check everything, change nothing, answer `DryRunOperationException`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

/// `Encrypt` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptResponse {
    /// The ciphertext blob.
    pub ciphertext_blob: Blob,
    /// The key ARN.
    pub key_id: String,
    /// The algorithm used.
    pub encryption_algorithm: EncryptionAlgorithm,
}

/// `Decrypt` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecryptRequest {
    /// 1–6144 bytes that Encrypt (or GenerateDataKey, ReEncrypt) returned. Required unless a
    /// dry run ignores the ciphertext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphertext_blob: Option<Blob>,
    /// The context given when encrypting.
    #[serde(default, deserialize_with = "unique_context", skip_serializing_if = "Option::is_none")]
    pub encryption_context: Option<EncryptionContext>,
    /// Accepted and checked for shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    /// Optional for symmetric blobs (the blob names its key); if given, must be that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// `SYMMETRIC_DEFAULT` (the default) for symmetric keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_algorithm: Option<String>,
    /// Nitro Enclaves attestation; not supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<serde_json::Value>,
    /// Check everything, change nothing, answer `DryRunOperationException`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// `IGNORE_CIPHERTEXT`: a dry run checks the request without a ciphertext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run_modifiers: Option<Vec<String>>,
}

/// `Decrypt` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecryptResponse {
    /// The ARN of the key that decrypted.
    pub key_id: String,
    /// The plaintext.
    pub plaintext: Blob,
    /// The algorithm used.
    pub encryption_algorithm: EncryptionAlgorithm,
}

/// `ReEncrypt` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReEncryptRequest {
    /// The blob to re-encrypt. Required unless a dry run ignores the ciphertext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphertext_blob: Option<Blob>,
    /// The context it was encrypted with.
    #[serde(default, deserialize_with = "unique_context", skip_serializing_if = "Option::is_none")]
    pub source_encryption_context: Option<EncryptionContext>,
    /// If given, must be the key the blob was encrypted under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_key_id: Option<String>,
    /// The key to encrypt under.
    pub destination_key_id: String,
    /// The context to bind the new blob to.
    #[serde(default, deserialize_with = "unique_context", skip_serializing_if = "Option::is_none")]
    pub destination_encryption_context: Option<EncryptionContext>,
    /// `SYMMETRIC_DEFAULT` (the default) for symmetric keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_encryption_algorithm: Option<String>,
    /// `SYMMETRIC_DEFAULT` (the default) for symmetric keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_encryption_algorithm: Option<String>,
    /// Accepted and checked for shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    /// Check everything, change nothing, answer `DryRunOperationException`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// `IGNORE_CIPHERTEXT`: a dry run checks the request without a ciphertext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run_modifiers: Option<Vec<String>>,
}

/// `ReEncrypt` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReEncryptResponse {
    /// The new blob.
    pub ciphertext_blob: Blob,
    /// The ARN of the key that decrypted the source blob.
    pub source_key_id: String,
    /// The ARN of the key that encrypted the new blob.
    pub key_id: String,
    /// The algorithm the source blob was decrypted with.
    pub source_encryption_algorithm: EncryptionAlgorithm,
    /// The algorithm the new blob was encrypted with.
    pub destination_encryption_algorithm: EncryptionAlgorithm,
}

/// `GenerateDataKey` and `GenerateDataKeyWithoutPlaintext` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyRequest {
    /// The symmetric key that encrypts the data key.
    pub key_id: String,
    /// Pairs bound to the encrypted data key.
    #[serde(default, deserialize_with = "unique_context", skip_serializing_if = "Option::is_none")]
    pub encryption_context: Option<EncryptionContext>,
    /// 1–1024; exactly one of this and `KeySpec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_bytes: Option<i64>,
    /// `AES_256` or `AES_128`; exactly one of this and `NumberOfBytes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_spec: Option<String>,
    /// Accepted and checked for shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    /// Nitro Enclaves attestation; not supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<serde_json::Value>,
    /// Check everything, change nothing, answer `DryRunOperationException`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

/// `GenerateDataKey` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyResponse {
    /// The data key encrypted under the KMS key (a blob Decrypt accepts).
    pub ciphertext_blob: Blob,
    /// The data key in plaintext.
    pub plaintext: Blob,
    /// The key ARN.
    pub key_id: String,
}

/// `GenerateDataKeyWithoutPlaintext` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyWithoutPlaintextResponse {
    /// The data key encrypted under the KMS key.
    pub ciphertext_blob: Blob,
    /// The key ARN.
    pub key_id: String,
}

/// `GenerateRandom` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateRandomRequest {
    /// 1–1024.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_bytes: Option<i64>,
    /// Custom key stores are not supported; must be absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_key_store_id: Option<String>,
    /// Nitro Enclaves attestation; not supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<serde_json::Value>,
}

/// `GenerateRandom` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateRandomResponse {
    /// The random bytes.
    pub plaintext: Blob,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_as_aws_sdks_send_them() {
        let request: EncryptRequest = serde_json::from_str(
            r#"{"KeyId":"alias/app","Plaintext":"aGk=","EncryptionContext":{"b":"2","a":"1"}}"#,
        )
        .unwrap();
        assert_eq!(request.plaintext.as_bytes(), b"hi");
        let context = request.encryption_context.unwrap();
        assert_eq!(context.keys().collect::<Vec<_>>(), ["a", "b"]);

        let response = EncryptResponse {
            ciphertext_blob: Blob(vec![1, 2, 3]),
            key_id: "arn".into(),
            encryption_algorithm: EncryptionAlgorithm::SymmetricDefault,
        };
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(json["CiphertextBlob"], "AQID");
        assert_eq!(json["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
    }

    #[test]
    fn an_encryption_context_key_given_twice_is_refused_everywhere_a_context_is_read() {
        let twice = r#"{"KeyId":"k","Plaintext":"aGk=","EncryptionContext":{"purpose":"a","purpose":"b"}}"#;
        let error = serde_json::from_str::<EncryptRequest>(twice).unwrap_err();
        assert!(error.to_string().contains("duplicate key `purpose`"), "{error}");
        let decrypt = r#"{"CiphertextBlob":"AQID","EncryptionContext":{"x":"1","x":"1"}}"#;
        assert!(serde_json::from_str::<DecryptRequest>(decrypt).is_err());
        let reencrypt = r#"{"DestinationKeyId":"k","SourceEncryptionContext":{"a":"1"},"DestinationEncryptionContext":{"b":"1","b":"2"}}"#;
        assert!(serde_json::from_str::<ReEncryptRequest>(reencrypt).is_err());
        let data_key = r#"{"KeyId":"k","EncryptionContext":{"b":"1","b":"2"}}"#;
        assert!(serde_json::from_str::<GenerateDataKeyRequest>(data_key).is_err());
        // Absent, null and distinct keys are all fine.
        let absent: EncryptRequest = serde_json::from_str(r#"{"KeyId":"k","Plaintext":"aGk="}"#).unwrap();
        assert_eq!(absent.encryption_context, None);
        let null: EncryptRequest =
            serde_json::from_str(r#"{"KeyId":"k","Plaintext":"aGk=","EncryptionContext":null}"#).unwrap();
        assert_eq!(null.encryption_context, None);
        let distinct: EncryptRequest =
            serde_json::from_str(r#"{"KeyId":"k","Plaintext":"aGk=","EncryptionContext":{"a":"1","b":"2"}}"#)
                .unwrap();
        assert_eq!(distinct.encryption_context.map(|context| context.len()), Some(2));
    }
}
