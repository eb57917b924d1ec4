//! What can go wrong in a call: an AWS-style error from the server, or a failure on the way there
//! and back. Also decodes an error response body (`{"__type": ..., "message": ...}`) into one.

use std::time::Duration;

use trent_wire::{ErrorBody, ErrorCode, KmsError};

/// `__type`s that AWS services use for "slow down": retried with backoff like a 5xx.
const THROTTLING_TYPES: [&str; 4] =
    ["ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"];

/// Whether `error_type` (possibly namespaced, e.g. `com.amazonaws.kms#ThrottlingException`)
/// asks the caller to slow down.
fn is_throttling(error_type: &str) -> bool {
    let name = error_type.rsplit('#').next().unwrap_or(error_type);
    THROTTLING_TYPES.contains(&name)
}

/// How much of an unparseable error body is kept in the error message.
const BODY_EXCERPT_CHARS: usize = 200;

/// An error from a [`TrentClient`](crate::TrentClient) call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an AWS KMS error it names with a code we know.
    #[error("{0}")]
    Api(KmsError),
    /// The server answered with an error status whose `__type` we do not know, or without an
    /// AWS error body at all (a proxy, a node not yet serving the API).
    #[error("{}", http_error_text(*.status, .error_type.as_deref(), .message))]
    Http {
        /// The HTTP status.
        status: u16,
        /// The `__type` of the body, if it had one.
        error_type: Option<String>,
        /// The body's message, or the start of the body when it was not an AWS error body.
        message: String,
    },
    /// No connection could be made (refused, unreachable, TLS handshake failed): the request
    /// was never sent.
    #[error("cannot connect to {endpoint}: {message}")]
    Connect {
        /// The endpoint the attempt went to.
        endpoint: String,
        /// What failed, with its causes.
        message: String,
    },
    /// Sending or receiving failed on an established connection.
    #[error("transport error talking to {endpoint}: {message}")]
    Transport {
        /// The endpoint the attempt went to.
        endpoint: String,
        /// What failed, with its causes.
        message: String,
    },
    /// No complete response arrived within the per-attempt timeout.
    #[error("no response from {endpoint} within {after:?}")]
    Timeout {
        /// The endpoint the attempt went to.
        endpoint: String,
        /// The timeout that elapsed.
        after: Duration,
    },
    /// A success response whose body is not the JSON shape the operation returns.
    #[error("cannot decode the response: {message}")]
    Decode {
        /// The parse error.
        message: String,
    },
    /// The response body was larger than the client accepts.
    #[error("response body exceeds {limit} bytes")]
    ResponseTooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// An endpoint could not be parsed or is not supported.
    #[error("invalid endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint {
        /// The text given.
        endpoint: String,
        /// Why it was refused.
        reason: String,
    },
    /// The client was given no endpoints.
    #[error("no endpoints given")]
    NoEndpoints,
    /// The client was given more endpoints than it accepts.
    #[error("too many endpoints (at most {max})")]
    TooManyEndpoints {
        /// The limit.
        max: usize,
    },
    /// An endpoint index beyond the client's endpoint list.
    #[error("endpoint index {index} out of range: the client has {count} endpoints")]
    EndpointIndex {
        /// The index asked for.
        index: usize,
        /// How many endpoints the client has.
        count: usize,
    },
    /// The CA bundle for `https://` endpoints could not be read or holds no usable certificate.
    #[error("invalid CA bundle: {reason}")]
    InvalidCaBundle {
        /// Why.
        reason: String,
    },
    /// The request could not be built (bad operation name, unserialisable body).
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// Why.
        reason: String,
    },
}

impl ClientError {
    /// Builds the error an unsuccessful response (status `status`, body `body`) stands for.
    pub fn from_error_response(status: u16, body: &[u8]) -> ClientError {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(parsed) => match ErrorCode::parse(&parsed.error_type) {
                Some(code) => ClientError::Api(KmsError::new(code, parsed.message)),
                None => {
                    ClientError::Http { status, error_type: Some(parsed.error_type), message: parsed.message }
                }
            },
            Err(_) => ClientError::Http { status, error_type: None, message: body_excerpt(body) },
        }
    }

    /// Whether the same request may be sent again, to this or another endpoint, in the hope of
    /// another answer: connection failures, timeouts, and server errors the server calls
    /// retryable (or any 5xx it does not name).
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Api(error) => error.code.is_retryable(),
            ClientError::Http { status, error_type, .. } => {
                *status >= 500 || *status == 429 || error_type.as_deref().is_some_and(is_throttling)
            }
            ClientError::Connect { .. } | ClientError::Transport { .. } | ClientError::Timeout { .. } => true,
            ClientError::Decode { .. }
            | ClientError::ResponseTooLarge { .. }
            | ClientError::InvalidEndpoint { .. }
            | ClientError::NoEndpoints
            | ClientError::TooManyEndpoints { .. }
            | ClientError::EndpointIndex { .. }
            | ClientError::InvalidCaBundle { .. }
            | ClientError::InvalidRequest { .. } => false,
        }
    }

    /// A short name for the kind of error, for counting: the AWS `__type` of server errors
    /// (e.g. `NotFoundException`), else a name for the client-side failure (e.g. `Timeout`).
    pub fn error_type(&self) -> &str {
        match self {
            ClientError::Api(error) => error.code.as_str(),
            ClientError::Http { error_type: Some(error_type), .. } => error_type,
            ClientError::Http { error_type: None, .. } => "HttpError",
            ClientError::Connect { .. } => "ConnectError",
            ClientError::Transport { .. } => "TransportError",
            ClientError::Timeout { .. } => "Timeout",
            ClientError::Decode { .. } => "DecodeError",
            ClientError::ResponseTooLarge { .. } => "ResponseTooLarge",
            ClientError::InvalidEndpoint { .. }
            | ClientError::NoEndpoints
            | ClientError::TooManyEndpoints { .. }
            | ClientError::EndpointIndex { .. } => "InvalidEndpoint",
            ClientError::InvalidCaBundle { .. } => "InvalidCaBundle",
            ClientError::InvalidRequest { .. } => "InvalidRequest",
        }
    }

    /// The AWS error code, when the server named one we know.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api(error) => Some(error.code),
            _ => None,
        }
    }
}

impl From<KmsError> for ClientError {
    fn from(error: KmsError) -> ClientError {
        ClientError::Api(error)
    }
}

fn http_error_text(status: u16, error_type: Option<&str>, message: &str) -> String {
    match error_type {
        Some(error_type) => format!("{error_type}: {message} (HTTP {status})"),
        None if message.is_empty() => format!("HTTP {status}"),
        None => format!("HTTP {status}: {message}"),
    }
}

/// The start of a body as text, for an error message.
fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut excerpt: String = text.trim().chars().take(BODY_EXCERPT_CHARS).collect();
    if text.trim().chars().count() > BODY_EXCERPT_CHARS {
        excerpt.push('…');
    }
    excerpt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_retried_like_a_server_error_and_other_client_errors_are_not() {
        let throttled = ClientError::from_error_response(
            400,
            br#"{"__type":"ThrottlingException","message":"slow down"}"#,
        );
        assert!(throttled.is_retryable(), "{throttled:?}");
        let namespaced = ClientError::from_error_response(
            400,
            br#"{"__type":"com.amazonaws.kms#ThrottlingException","message":"slow down"}"#,
        );
        assert!(namespaced.is_retryable(), "{namespaced:?}");
        assert!(ClientError::from_error_response(429, b"busy").is_retryable());
        let unknown = ClientError::from_error_response(400, br#"{"__type":"SomethingElse","message":"no"}"#);
        assert!(!unknown.is_retryable());
    }

    #[test]
    fn decodes_known_error_body_into_api_error() {
        let body = br#"{"__type": "NotFoundException", "message": "Key 'x' does not exist"}"#;
        let error = ClientError::from_error_response(400, body);
        assert_eq!(error, ClientError::Api(KmsError::new(ErrorCode::NotFound, "Key 'x' does not exist")));
        assert_eq!(error.to_string(), "NotFoundException: Key 'x' does not exist");
        assert_eq!(error.error_type(), "NotFoundException");
        assert!(!error.is_retryable());
    }

    #[test]
    fn accepts_namespaced_type_and_capitalised_message() {
        let body = br#"{"__type": "com.amazonaws.kms#KMSInternalException", "Message": "no leader"}"#;
        let error = ClientError::from_error_response(503, body);
        assert_eq!(error.code(), Some(ErrorCode::Internal));
        assert!(error.is_retryable());
        assert_eq!(error.to_string(), "KMSInternalException: no leader");
    }

    #[test]
    fn unknown_type_keeps_its_name() {
        let body = br#"{"__type": "CloudHsmClusterInUseException", "message": "busy"}"#;
        let error = ClientError::from_error_response(400, body);
        assert_eq!(error.error_type(), "CloudHsmClusterInUseException");
        assert_eq!(error.to_string(), "CloudHsmClusterInUseException: busy (HTTP 400)");
        assert!(!error.is_retryable());
    }

    #[test]
    fn non_json_body_becomes_http_error_with_excerpt() {
        let body = "x".repeat(1000);
        let error = ClientError::from_error_response(502, body.as_bytes());
        let ClientError::Http { status, error_type, message } = &error else {
            panic!("expected Http, got {error:?}");
        };
        assert_eq!((*status, error_type.as_deref()), (502, None));
        assert_eq!(message.chars().count(), BODY_EXCERPT_CHARS + 1);
        assert!(error.is_retryable(), "5xx without a known type is retryable");
        assert_eq!(error.error_type(), "HttpError");
        assert_eq!(ClientError::from_error_response(404, b"").to_string(), "HTTP 404");
    }

    #[test]
    fn transport_failures_and_timeouts_are_retryable() {
        let transport =
            ClientError::Transport { endpoint: "http://a:1".into(), message: "connection refused".into() };
        let timeout = ClientError::Timeout { endpoint: "http://a:1".into(), after: Duration::from_secs(1) };
        assert!(transport.is_retryable() && timeout.is_retryable());
        let decode = ClientError::Decode { message: "eof".into() };
        assert!(!decode.is_retryable());
    }
}
