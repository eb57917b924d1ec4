//! Request and response shapes of the operations on asymmetric, HMAC and post-quantum keys:
//! Sign, Verify, GetPublicKey, GenerateMac, VerifyMac, DeriveSharedSecret, Encapsulate,
//! Decapsulate, GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext, field names exactly
//! as AWS spells them. Enum-valued request fields stay strings, so the server answers a bad
//! value with AWS's own `ValidationException` wording; responses carry the typed enums.

use serde::{Deserialize, Serialize};

use crate::data_plane::{unique_context, EncryptionContext};
use crate::model::{
    DataKeyPairSpec, EncapsulationAlgorithm, EncryptionAlgorithm, KeyAgreementAlgorithm, KeySpec, KeyUsage,
    MacAlgorithm, Origin, SigningAlgorithm,
};
use crate::Blob;

/// `Sign` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignRequest {
    /// An asymmetric SIGN_VERIFY key.
    pub key_id: String,
    /// The message (RAW, at most 4096 bytes), its digest (DIGEST) or its μ (EXTERNAL_MU).
    pub message: Blob,
    /// `RAW` (the default), `DIGEST` or `EXTERNAL_MU`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    /// One of the key's signing algorithms.
    pub signing_algorithm: String,
    /// Grant tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    /// Check everything, change nothing, answer `DryRunOperationException`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

/// `Sign` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignResponse {
    /// The key ARN.
    pub key_id: String,
    /// The signature (DER for ECDSA).
    pub signature: Blob,
    /// The algorithm used.
    pub signing_algorithm: SigningAlgorithm,
}

/// `Verify` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyRequest {
    /// An asymmetric SIGN_VERIFY key.
    pub key_id: String,
    /// As for Sign.
    pub message: Blob,
    /// `RAW` (the default), `DIGEST` or `EXTERNAL_MU`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    /// The signature to check.
    pub signature: Blob,
    /// The algorithm it was made with.
    pub signing_algorithm: String,
    /// Grant tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    /// Check everything, change nothing, answer `DryRunOperationException`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

/// `Verify` response (an invalid signature is `KMSInvalidSignatureException` instead).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyResponse {
    /// The key ARN.
    pub key_id: String,
    /// Always true in a response.
    pub signature_valid: bool,
    /// The algorithm used.
    pub signing_algorithm: SigningAlgorithm,
}

/// `GetPublicKey` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPublicKeyRequest {
    /// An asymmetric key.
    pub key_id: String,
    /// Grant tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
}

/// `GetPublicKey` response: the DER SubjectPublicKeyInfo and what the key is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPublicKeyResponse {
    /// The key ARN.
    pub key_id: String,
    /// DER X.509 SubjectPublicKeyInfo.
    pub public_key: Blob,
    /// The key spec.
    pub key_spec: KeySpec,
    /// The deprecated name of the key spec, which AWS still returns.
    pub customer_master_key_spec: KeySpec,
    /// What the key is for.
    pub key_usage: KeyUsage,
    /// For ENCRYPT_DECRYPT keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_algorithms: Option<Vec<EncryptionAlgorithm>>,
    /// For SIGN_VERIFY keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_algorithms: Option<Vec<SigningAlgorithm>>,
    /// For KEY_AGREEMENT keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_agreement_algorithms: Option<Vec<KeyAgreementAlgorithm>>,
    /// For ENCAPSULATE_DECAPSULATE keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encapsulation_algorithms: Option<Vec<EncapsulationAlgorithm>>,
}

/// `GenerateMac` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateMacRequest {
    /// 1–4096 bytes.
    pub message: Blob,
    /// An HMAC key.
    pub key_id: String,
    /// The key's MAC algorithm.
    pub mac_algorithm: String,
    /// Grant tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    /// Check everything, change nothing, answer `DryRunOperationException`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

/// `GenerateMac` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateMacResponse {
    /// The MAC.
    pub mac: Blob,
    /// The algorithm used.
    pub mac_algorithm: MacAlgorithm,
    /// The key ARN.
    pub key_id: String,
}

/// `VerifyMac` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyMacRequest {
    /// 1–4096 bytes.
    pub message: Blob,
    /// An HMAC key.
    pub key_id: String,
    /// The key's MAC algorithm.
    pub mac_algorithm: String,
    /// The MAC to check.
    pub mac: Blob,
    /// Grant tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    /// Check everything, change nothing, answer `DryRunOperationException`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

/// `VerifyMac` response (a wrong MAC is `KMSInvalidMacException` instead).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyMacResponse {
    /// The key ARN.
    pub key_id: String,
    /// Always true in a response.
    pub mac_valid: bool,
    /// The algorithm used.
    pub mac_algorithm: MacAlgorithm,
}

/// `DeriveSharedSecret` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeriveSharedSecretRequest {
    /// A KEY_AGREEMENT key.
    pub key_id: String,
    /// `ECDH`.
    pub key_agreement_algorithm: String,
    /// The peer's public key, DER SubjectPublicKeyInfo on the key's curve.
    pub public_key: Blob,
    /// Grant tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    /// Check everything, change nothing, answer `DryRunOperationException`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// Nitro Enclaves attestation; not supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<serde_json::Value>,
}

/// `DeriveSharedSecret` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeriveSharedSecretResponse {
    /// The key ARN.
    pub key_id: String,
    /// The raw ECDH shared secret (the x-coordinate).
    pub shared_secret: Blob,
    /// `ECDH`.
    pub key_agreement_algorithm: KeyAgreementAlgorithm,
    /// Where the key's material came from.
    pub key_origin: Origin,
}

/// `Encapsulate` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncapsulateRequest {
    /// An ENCAPSULATE_DECAPSULATE key.
    pub key_id: String,
    /// `ML_KEM`.
    pub encapsulation_algorithm: String,
    /// Grant tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    /// Check everything, change nothing, answer `DryRunOperationException`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

/// `Encapsulate` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncapsulateResponse {
    /// The key ARN.
    pub key_id: String,
    /// The shared secret.
    pub shared_secret: Blob,
    /// The ML-KEM ciphertext that Decapsulate turns back into the shared secret.
    pub shared_secret_ciphertext_blob: Blob,
    /// `ML_KEM`.
    pub encapsulation_algorithm: EncapsulationAlgorithm,
}

/// `Decapsulate` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecapsulateRequest {
    /// An ENCAPSULATE_DECAPSULATE key.
    pub key_id: String,
    /// The ML-KEM ciphertext.
    pub shared_secret_ciphertext_blob: Blob,
    /// `ML_KEM`.
    pub encapsulation_algorithm: String,
    /// Grant tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    /// Check everything, change nothing, answer `DryRunOperationException`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

/// `Decapsulate` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecapsulateResponse {
    /// The key ARN.
    pub key_id: String,
    /// The shared secret.
    pub shared_secret: Blob,
    /// `ML_KEM`.
    pub encapsulation_algorithm: EncapsulationAlgorithm,
}

/// `GenerateDataKeyPair` and `GenerateDataKeyPairWithoutPlaintext` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyPairRequest {
    /// The symmetric key that encrypts the private key.
    pub key_id: String,
    /// The kind of key pair.
    pub key_pair_spec: String,
    /// Pairs bound to the encrypted private key.
    #[serde(default, deserialize_with = "unique_context", skip_serializing_if = "Option::is_none")]
    pub encryption_context: Option<EncryptionContext>,
    /// Grant tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    /// Nitro Enclaves attestation; not supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<serde_json::Value>,
    /// Check everything, change nothing, answer `DryRunOperationException`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

/// `GenerateDataKeyPair` (and, without `private_key_plaintext`, `…WithoutPlaintext`) response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyPairResponse {
    /// The private key (PKCS#8 DER) encrypted under the symmetric key.
    pub private_key_ciphertext_blob: Blob,
    /// The private key, PKCS#8 DER; absent without plaintext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_plaintext: Option<Blob>,
    /// The public key, DER SubjectPublicKeyInfo.
    pub public_key: Blob,
    /// The ARN of the symmetric key.
    pub key_id: String,
    /// The kind of key pair.
    pub key_pair_spec: DataKeyPairSpec,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_use_aws_field_names() {
        let request: SignRequest = serde_json::from_str(
            r#"{"KeyId":"k","Message":"AAE=","MessageType":"DIGEST","SigningAlgorithm":"ECDSA_SHA_256"}"#,
        )
        .unwrap();
        assert_eq!(request.message.as_bytes(), [0, 1]);
        assert_eq!(request.message_type.as_deref(), Some("DIGEST"));
        let response = VerifyMacResponse {
            key_id: "k".into(),
            mac_valid: true,
            mac_algorithm: MacAlgorithm::HmacSha256,
        };
        assert_eq!(
            serde_json::to_string(&response).unwrap(),
            r#"{"KeyId":"k","MacValid":true,"MacAlgorithm":"HMAC_SHA_256"}"#
        );
        let pair = GenerateDataKeyPairResponse {
            private_key_ciphertext_blob: Blob::from(vec![1]),
            private_key_plaintext: None,
            public_key: Blob::from(vec![2]),
            key_id: "k".into(),
            key_pair_spec: DataKeyPairSpec::EccNistP256,
        };
        let text = serde_json::to_string(&pair).unwrap();
        assert!(!text.contains("PrivateKeyPlaintext"), "{text}");
        assert!(text.contains(r#""KeyPairSpec":"ECC_NIST_P256""#), "{text}");
    }
}
