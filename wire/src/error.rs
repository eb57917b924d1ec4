//! AWS-style errors: the code names AWS KMS uses, their HTTP status, and the JSON body
//! `{"__type": "...", "message": "..."}` that AWS SDKs parse.

use serde::{Deserialize, Serialize};

/// Every error code Trent returns, spelled as AWS KMS spells it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// A named resource does not exist.
    NotFound,
    /// An alias (or other named resource) already exists.
    AlreadyExists,
    /// A parameter is out of range or malformed.
    Validation,
    /// A key ARN or alias ARN is malformed or names another region or account.
    InvalidArn,
    /// An alias name breaks AWS's alias rules.
    InvalidAliasName,
    /// The pagination marker is not one we issued.
    InvalidMarker,
    /// The key is disabled.
    Disabled,
    /// The key's state does not allow the operation.
    InvalidState,
    /// A tag breaks the tagging rules.
    Tag,
    /// A count limit (tags per key, …) would be exceeded.
    LimitExceeded,
    /// The operation is valid but not supported for this key or by this server.
    UnsupportedOperation,
    /// The `X-Amz-Target` names no operation we know.
    UnknownOperation,
    /// The body is not JSON of the expected shape.
    Serialization,
    /// The request body is larger than the server accepts.
    RequestTooLarge,
    /// The caller is not allowed to perform this operation.
    AccessDenied,
    /// A dependency (the Raft leader, a quorum) did not answer in time.
    DependencyTimeout,
    /// The node cannot serve this request now (sealed, no leader, shutting down).
    ServiceUnavailable,
    /// An internal failure.
    Internal,
    /// The request carries no SigV4 signature.
    MissingAuthenticationToken,
    /// The access key is unknown.
    UnrecognizedClient,
    /// The signature does not match, has expired, or is scoped to another region or service.
    InvalidSignature,
    /// The `Authorization` header is malformed or incomplete.
    IncompleteSignature,
    /// A ciphertext blob is malformed, forged, or bound to another encryption context.
    InvalidCiphertext,
    /// Decrypt (or ReEncrypt) named a key that is not the one the blob was encrypted under.
    IncorrectKey,
    /// The key's usage or spec does not allow the operation or algorithm.
    InvalidKeyUsage,
    /// `DryRun` was set and the operation would have succeeded.
    DryRunOperation,
    /// The key cannot be used now: this node has not heard from the cluster's leader within the
    /// consistency bound, so it cannot vouch that the key is still enabled.
    KeyUnavailable,
    /// The node is shedding load (too many request bodies in flight, too many unseal resets):
    /// retry with backoff.
    Throttling,
    /// A key policy or identity policy is not valid (the message says why).
    MalformedPolicyDocument,
    /// A grant id is malformed, or names no grant of the key.
    InvalidGrantId,
    /// A grant token is malformed.
    InvalidGrantToken,
    /// The entity cannot be deleted while something depends on it (IAM's
    /// `DeleteConflictException`: a user that still has access keys).
    DeleteConflict,
    /// Verify: the signature does not verify with the key, algorithm and message given.
    KmsInvalidSignature,
    /// VerifyMac: the MAC does not match the key, algorithm and message given.
    KmsInvalidMac,
    /// ImportKeyMaterial: the material is not the key's (another key's, or not the material
    /// being reimported), or new material the key already has.
    IncorrectKeyMaterial,
    /// ImportKeyMaterial: the import token has expired (GetParametersForImport anew).
    ExpiredImportToken,
    /// ImportKeyMaterial: the import token is malformed or belongs to another key.
    InvalidImportToken,
    /// RotateKeyOnDemand: an automatic rotation of the key is in progress or due within 20 minutes.
    Conflict,
}

impl ErrorCode {
    /// The `__type` string AWS clients match on.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "NotFoundException",
            ErrorCode::AlreadyExists => "AlreadyExistsException",
            ErrorCode::Validation => "ValidationException",
            ErrorCode::InvalidArn => "InvalidArnException",
            ErrorCode::InvalidAliasName => "InvalidAliasNameException",
            ErrorCode::InvalidMarker => "InvalidMarkerException",
            ErrorCode::Disabled => "DisabledException",
            ErrorCode::InvalidState => "KMSInvalidStateException",
            ErrorCode::Tag => "TagException",
            ErrorCode::LimitExceeded => "LimitExceededException",
            ErrorCode::UnsupportedOperation => "UnsupportedOperationException",
            ErrorCode::UnknownOperation => "UnknownOperationException",
            ErrorCode::Serialization => "SerializationException",
            ErrorCode::RequestTooLarge => "RequestEntityTooLargeException",
            ErrorCode::AccessDenied => "AccessDeniedException",
            ErrorCode::DependencyTimeout => "DependencyTimeoutException",
            // AWS KMS has no "unavailable" error name; SDKs retry KMSInternalException, and the
            // 503 status tells this case apart from a 500.
            ErrorCode::ServiceUnavailable => "KMSInternalException",
            ErrorCode::Internal => "KMSInternalException",
            ErrorCode::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            ErrorCode::UnrecognizedClient => "UnrecognizedClientException",
            ErrorCode::InvalidSignature => "InvalidSignatureException",
            ErrorCode::IncompleteSignature => "IncompleteSignatureException",
            ErrorCode::InvalidCiphertext => "InvalidCiphertextException",
            ErrorCode::IncorrectKey => "IncorrectKeyException",
            ErrorCode::InvalidKeyUsage => "InvalidKeyUsageException",
            ErrorCode::DryRunOperation => "DryRunOperationException",
            ErrorCode::KeyUnavailable => "KeyUnavailableException",
            ErrorCode::Throttling => "ThrottlingException",
            ErrorCode::MalformedPolicyDocument => "MalformedPolicyDocumentException",
            ErrorCode::InvalidGrantId => "InvalidGrantIdException",
            ErrorCode::InvalidGrantToken => "InvalidGrantTokenException",
            ErrorCode::DeleteConflict => "DeleteConflictException",
            ErrorCode::KmsInvalidSignature => "KMSInvalidSignatureException",
            ErrorCode::KmsInvalidMac => "KMSInvalidMacException",
            ErrorCode::IncorrectKeyMaterial => "IncorrectKeyMaterialException",
            ErrorCode::ExpiredImportToken => "ExpiredImportTokenException",
            ErrorCode::InvalidImportToken => "InvalidImportTokenException",
            ErrorCode::Conflict => "ConflictException",
        }
    }

    /// Parses a `__type` string, tolerating the `namespace#Name` form some services send.
    /// `KMSInternalException` parses as [`ErrorCode::Internal`] (also what
    /// [`ErrorCode::ServiceUnavailable`] is called on the wire).
    pub fn parse(type_name: &str) -> Option<ErrorCode> {
        let name = type_name.rsplit('#').next().unwrap_or(type_name);
        ALL_CODES.iter().copied().find(|code| code.as_str() == name)
    }

    /// The HTTP status AWS uses for this error.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::RequestTooLarge => 413,
            ErrorCode::ServiceUnavailable | ErrorCode::KeyUnavailable => 503,
            ErrorCode::DryRunOperation => 412,
            ErrorCode::DependencyTimeout => 500,
            ErrorCode::DeleteConflict => 409,
            ErrorCode::Internal => 500,
            _ => 400,
        }
    }

    /// Whether a client may retry the same request unchanged and hope for another answer.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::ServiceUnavailable
                | ErrorCode::DependencyTimeout
                | ErrorCode::Internal
                | ErrorCode::KeyUnavailable
                | ErrorCode::Throttling
        )
    }
}

const ALL_CODES: [ErrorCode; 38] = [
    ErrorCode::NotFound,
    ErrorCode::AlreadyExists,
    ErrorCode::Validation,
    ErrorCode::InvalidArn,
    ErrorCode::InvalidAliasName,
    ErrorCode::InvalidMarker,
    ErrorCode::Disabled,
    ErrorCode::InvalidState,
    ErrorCode::Tag,
    ErrorCode::LimitExceeded,
    ErrorCode::UnsupportedOperation,
    ErrorCode::UnknownOperation,
    ErrorCode::Serialization,
    ErrorCode::RequestTooLarge,
    ErrorCode::AccessDenied,
    ErrorCode::DependencyTimeout,
    // Before ServiceUnavailable, which shares its wire name: parsing finds Internal.
    ErrorCode::Internal,
    ErrorCode::ServiceUnavailable,
    ErrorCode::MissingAuthenticationToken,
    ErrorCode::UnrecognizedClient,
    ErrorCode::InvalidSignature,
    ErrorCode::IncompleteSignature,
    ErrorCode::InvalidCiphertext,
    ErrorCode::IncorrectKey,
    ErrorCode::InvalidKeyUsage,
    ErrorCode::DryRunOperation,
    ErrorCode::KeyUnavailable,
    ErrorCode::Throttling,
    ErrorCode::MalformedPolicyDocument,
    ErrorCode::InvalidGrantId,
    ErrorCode::InvalidGrantToken,
    ErrorCode::DeleteConflict,
    ErrorCode::KmsInvalidSignature,
    ErrorCode::KmsInvalidMac,
    ErrorCode::IncorrectKeyMaterial,
    ErrorCode::ExpiredImportToken,
    ErrorCode::InvalidImportToken,
    ErrorCode::Conflict,
];

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as the API reports it: a code and a human message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{code}: {message}")]
pub struct KmsError {
    /// What kind of error, as AWS names it.
    pub code: ErrorCode,
    /// A message for people; never contains key material, plaintext or ciphertext.
    pub message: String,
}

impl KmsError {
    /// Builds an error from a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> KmsError {
        KmsError { code, message: message.into() }
    }

    /// The JSON body for this error.
    pub fn to_body(&self) -> ErrorBody {
        ErrorBody { error_type: self.code.as_str().to_owned(), message: self.message.clone() }
    }
}

/// The JSON error body of the AWS JSON 1.1 protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error code name.
    #[serde(rename = "__type")]
    pub error_type: String,
    /// Human-readable message.
    #[serde(rename = "message", alias = "Message", default)]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_parses_back_from_its_name() {
        for code in ALL_CODES {
            let expected = if code == ErrorCode::ServiceUnavailable { ErrorCode::Internal } else { code };
            assert_eq!(ErrorCode::parse(code.as_str()), Some(expected));
        }
        assert_eq!(ErrorCode::parse("com.amazonaws.kms#NotFoundException"), Some(ErrorCode::NotFound));
        assert_eq!(ErrorCode::parse("NoSuchThing"), None);
    }

    #[test]
    fn import_and_rotation_errors_are_client_errors_with_aws_names() {
        // botocore gives these no HTTP status of their own: 400, as every KMS client error.
        for (code, name) in [
            (ErrorCode::IncorrectKeyMaterial, "IncorrectKeyMaterialException"),
            (ErrorCode::ExpiredImportToken, "ExpiredImportTokenException"),
            (ErrorCode::InvalidImportToken, "InvalidImportTokenException"),
            (ErrorCode::Conflict, "ConflictException"),
            (ErrorCode::LimitExceeded, "LimitExceededException"),
        ] {
            assert_eq!((code.as_str(), code.http_status(), code.is_retryable()), (name, 400, false));
        }
    }

    #[test]
    fn error_body_uses_aws_field_names() {
        let body = KmsError::new(ErrorCode::Disabled, "key is disabled").to_body();
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["__type"], "DisabledException");
        assert_eq!(json["message"], "key is disabled");
    }
}
