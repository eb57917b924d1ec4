//! Why a request failed authentication, and how AWS names and reports each reason. Messages follow
//! AWS's wording where clients or people match on it; none ever carries the secret, the signature
//! we computed, or any byte of the body.

use super::timestamp::Timestamp;

/// The four AWS error types authentication failures are reported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthErrorKind {
    /// No `Authorization` header at all.
    MissingAuthenticationToken,
    /// The access key id is unknown (or the request carries a session token we never issued).
    UnrecognizedClient,
    /// The signature, its scope or its time window is wrong.
    InvalidSignature,
    /// The `Authorization` header or the date header is malformed or incomplete.
    IncompleteSignature,
    /// The server could not check the signature (a secret that does not open).
    Internal,
}

impl AuthErrorKind {
    /// The `__type` AWS clients match on.
    pub fn aws_error_name(&self) -> &'static str {
        match self {
            AuthErrorKind::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            AuthErrorKind::UnrecognizedClient => "UnrecognizedClientException",
            AuthErrorKind::InvalidSignature => "InvalidSignatureException",
            AuthErrorKind::IncompleteSignature => "IncompleteSignatureException",
            AuthErrorKind::Internal => "KMSInternalException",
        }
    }

    /// The HTTP status. AWS's JSON-protocol services (KMS, DynamoDB) answer all four with 400;
    /// the 403 in the generic "common errors" pages is what Query-protocol services send.
    pub fn http_status(&self) -> u16 {
        match self {
            AuthErrorKind::MissingAuthenticationToken
            | AuthErrorKind::UnrecognizedClient
            | AuthErrorKind::InvalidSignature
            | AuthErrorKind::IncompleteSignature => 400,
            AuthErrorKind::Internal => 500,
        }
    }
}

/// A request failed Signature Version 4 verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("Request is missing Authentication Token")]
    MissingAuthorization,
    /// The query carries presigned-URL parameters (`X-Amz-Signature`, …).
    #[error(
        "Query-string (presigned URL) authentication is not supported by this service; sign the \
         request with an 'Authorization' header."
    )]
    PresignedQueryNotSupported,
    /// A header that must appear at most once appears more often.
    #[error("Only one '{0}' header is allowed.")]
    RepeatedHeader(&'static str),
    /// The `Authorization` header uses another scheme or algorithm.
    #[error("Unsupported AWS 'algorithm': only 'AWS4-HMAC-SHA256' (Signature Version 4) is accepted.")]
    UnsupportedAlgorithm,
    /// Components (`Credential`, `SignedHeaders`, `Signature`) are missing.
    #[error("{}", missing_components_message(.0))]
    MissingComponents(Vec<&'static str>),
    /// The `Authorization` header does not parse; the reason is fixed text, never request bytes.
    #[error("Authorization header is malformed: {0}.")]
    MalformedAuthorization(&'static str),
    /// `Credential` is not `keyid/date/region/service/aws4_request`.
    #[error(
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, \
         with an 8-digit date."
    )]
    MalformedCredential,
    /// `SignedHeaders` lists more headers than we accept.
    #[error("SignedHeaders lists more than {limit} headers.")]
    TooManySignedHeaders {
        /// The most we accept.
        limit: usize,
    },
    /// Neither `X-Amz-Date` nor `Date` is present.
    #[error("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")]
    MissingDate,
    /// The date header does not parse.
    #[error(
        "Date must be in ISO-8601 'basic format' in 'X-Amz-Date' (e.g. 20150830T123600Z), or an \
         RFC 1123 date in 'Date'."
    )]
    MalformedDate,
    /// `host`, or the date header in use, is not among the signed headers.
    #[error("'{0}' must be a 'SignedHeader' in the AWS Authorization.")]
    RequiredHeaderNotSigned(&'static str),
    /// `content-type` or an `x-amz-*` header is present but not signed.
    #[error("There were headers present in the request which were not signed: '{0}'. Sign content-type and every x-amz-* header sent (curl --aws-sigv4 signs a Content-Type given with -H, not the one -d adds).")]
    HeaderNotSigned(String),
    /// A header named in `SignedHeaders` is absent from the request.
    #[error("Signed header '{0}' is not present in the request.")]
    SignedHeaderAbsent(String),
    /// The request time is more than the allowed skew before `now`.
    #[error("Signature expired: {request} is now earlier than {earliest} ({now} - 5 min.)")]
    Expired {
        /// The request's date.
        request: Timestamp,
        /// The earliest date accepted.
        earliest: Timestamp,
        /// The server's clock.
        now: Timestamp,
    },
    /// The request time is more than the allowed skew after `now`.
    #[error("Signature not yet current: {request} is still later than {latest} ({now} + 5 min.)")]
    NotYetCurrent {
        /// The request's date.
        request: Timestamp,
        /// The latest date accepted.
        latest: Timestamp,
        /// The server's clock.
        now: Timestamp,
    },
    /// The credential scope names another day than the request date.
    #[error(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: \
         '{scope}' != '{request}'."
    )]
    ScopeDateMismatch {
        /// The scope's date.
        scope: String,
        /// The request's day.
        request: String,
    },
    /// The credential scope names another region.
    #[error("Credential should be scoped to a valid region: '{expected}', not '{found}'.")]
    WrongRegion {
        /// Our region.
        expected: String,
        /// The scope's region.
        found: String,
    },
    /// The credential scope names another service.
    #[error("Credential should be scoped to correct service: '{expected}', not '{found}'.")]
    WrongService {
        /// Our service.
        expected: String,
        /// The scope's service.
        found: String,
    },
    /// The credential scope does not end in `aws4_request`.
    #[error("Credential should be scoped with a valid terminator: 'aws4_request'.")]
    WrongTerminator,
    /// The request carries `X-Amz-Security-Token`; Trent issues no temporary credentials.
    #[error("The security token included in the request is invalid.")]
    SessionTokenNotSupported,
    /// The access key exists but its secret cannot be opened (a server fault).
    #[error("The request could not be authenticated because of an internal error; retry later.")]
    CredentialUnavailable,
    /// No secret is known for the access key id.
    #[error("The security token included in the request is invalid.")]
    UnknownAccessKey,
    /// `x-amz-content-sha256` asks us to skip the body hash.
    #[error("Unsigned or streaming payloads are not accepted: sign the SHA-256 of the request body.")]
    UnsignedPayload,
    /// `x-amz-content-sha256` is not the body's SHA-256.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    PayloadHashMismatch,
    /// The signature is wrong.
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your \
         AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    SignatureMismatch,
}

impl AuthError {
    /// Which AWS error type reports this failure.
    pub fn kind(&self) -> AuthErrorKind {
        match self {
            AuthError::MissingAuthorization => AuthErrorKind::MissingAuthenticationToken,
            AuthError::SessionTokenNotSupported | AuthError::UnknownAccessKey => {
                AuthErrorKind::UnrecognizedClient
            }
            AuthError::PresignedQueryNotSupported
            | AuthError::RepeatedHeader(_)
            | AuthError::UnsupportedAlgorithm
            | AuthError::MissingComponents(_)
            | AuthError::MalformedAuthorization(_)
            | AuthError::MalformedCredential
            | AuthError::TooManySignedHeaders { .. }
            | AuthError::MissingDate
            | AuthError::MalformedDate => AuthErrorKind::IncompleteSignature,
            AuthError::CredentialUnavailable => AuthErrorKind::Internal,
            AuthError::RequiredHeaderNotSigned(_)
            | AuthError::HeaderNotSigned(_)
            | AuthError::SignedHeaderAbsent(_)
            | AuthError::Expired { .. }
            | AuthError::NotYetCurrent { .. }
            | AuthError::ScopeDateMismatch { .. }
            | AuthError::WrongRegion { .. }
            | AuthError::WrongService { .. }
            | AuthError::WrongTerminator
            | AuthError::UnsignedPayload
            | AuthError::PayloadHashMismatch
            | AuthError::SignatureMismatch => AuthErrorKind::InvalidSignature,
        }
    }

    /// The `__type` AWS clients match on.
    pub fn aws_error_name(&self) -> &'static str {
        self.kind().aws_error_name()
    }

    /// The HTTP status to answer with.
    pub fn http_status(&self) -> u16 {
        self.kind().http_status()
    }

    /// The message for the response body (the `Display` text).
    pub fn message(&self) -> String {
        self.to_string()
    }
}

fn missing_components_message(components: &[&'static str]) -> String {
    components.iter().map(|name| format!("Authorization header requires '{name}' parameter. ")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_maps_to_an_aws_error_name_and_a_400() {
        assert_eq!(AuthError::MissingAuthorization.aws_error_name(), "MissingAuthenticationTokenException");
        assert_eq!(AuthError::UnknownAccessKey.aws_error_name(), "UnrecognizedClientException");
        assert_eq!(AuthError::SignatureMismatch.aws_error_name(), "InvalidSignatureException");
        assert_eq!(AuthError::MalformedCredential.aws_error_name(), "IncompleteSignatureException");
        assert_eq!(AuthError::MissingAuthorization.http_status(), 400);
        assert_eq!(
            AuthError::UnknownAccessKey.message(),
            "The security token included in the request is invalid."
        );
    }

    #[test]
    fn messages_read_like_aws() {
        let now = Timestamp::parse_iso8601_basic("20150830T125100Z").unwrap();
        let expired = AuthError::Expired {
            request: Timestamp::parse_iso8601_basic("20150830T123600Z").unwrap(),
            earliest: now.offset_by(-300),
            now,
        };
        assert_eq!(
            expired.message(),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T124600Z \
             (20150830T125100Z - 5 min.)"
        );
        assert_eq!(
            AuthError::MissingComponents(vec!["Credential", "Signature"]).message(),
            "Authorization header requires 'Credential' parameter. Authorization header requires \
             'Signature' parameter. "
        );
    }
}
