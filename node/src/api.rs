//! The client API: one HTTP entry point that assigns a request id, bounds the body, and routes
//! to the KMS protocol (`POST /`) or the admin API (`/v1/sys/`).

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use trent_storage::RequestId;
use trent_wire::kms::CONTENT_TYPE as AMZ_JSON;
use trent_wire::limits::MAX_REQUEST_BODY_BYTES;
use trent_wire::{ErrorCode, KmsError};
use uuid::Uuid;

use crate::http::body::{read_body_of, BodyError};
use crate::http::response;
use crate::kms::{self, Call};
use crate::node::Node;

/// Header a client may set to make a write idempotent across its own retries.
pub const IDEMPOTENCY_HEADER: &str = "x-trent-request-id";

/// Handles one client API request.
pub async fn handle(node: Arc<Node>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let request_uuid = crate::crypto::random_uuid();
    let response = route(&node, request, request_uuid).await;
    response::with_request_id(response, &request_uuid.hyphenated().to_string())
}

async fn route(node: &Node, request: Request<Incoming>, request_uuid: Uuid) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let method = &parts.method;
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("");
    let headers = &parts.headers;
    let target = header(headers, "x-amz-target");
    let idempotency = header(headers, IDEMPOTENCY_HEADER);
    let body = match read_body_of(headers, body, MAX_REQUEST_BODY_BYTES).await {
        Ok(body) => body,
        Err(BodyError::TooLarge { limit }) => {
            return response::kms_error(&KmsError::new(
                ErrorCode::RequestTooLarge,
                format!("Request body exceeds {limit} bytes"),
            ))
        }
        Err(error) => {
            return response::kms_error(&KmsError::new(ErrorCode::Serialization, error.to_string()))
        }
    };
    if node.seal.status().sealed && !crate::admin::allowed_while_sealed(method, path) {
        return response::kms_error(&KmsError::from(crate::seal::state::Sealed));
    }
    if !crate::admin::allowed_while_sealed(method, path) {
        let signed = SignedRequestParts { method, path, query, headers, body: &body };
        if let Err(error) = crate::authentication::authenticate(node, &signed) {
            tracing::debug!(code = %error.code, "request refused by authentication");
            return response::kms_error(&error);
        }
    }
    if let Some(response) = crate::admin::route(node, method, path, &body).await {
        return response;
    }
    if method != Method::POST || path != "/" {
        return response::kms_error(&KmsError::new(
            ErrorCode::UnknownOperation,
            format!("No operation at {method} {path}; KMS operations are POST /"),
        ));
    }
    let request_id = match idempotency.map(Uuid::try_parse) {
        None => RequestId(request_uuid),
        Some(Ok(id)) => RequestId(id),
        Some(Err(_)) => {
            return response::kms_error(&KmsError::new(
                ErrorCode::Validation,
                format!("{IDEMPOTENCY_HEADER} must be a UUID"),
            ))
        }
    };
    let call = Call { node, request_id };
    match kms::dispatch(&call, target, &body).await {
        // KMS answers carry plaintexts and data keys: wiped once sent.
        Ok(body) => response::secret_bytes(StatusCode::OK, body, AMZ_JSON),
        Err(error) => {
            tracing::debug!(code = %error.code, "KMS call refused");
            response::kms_error(&error)
        }
    }
}

/// What authentication needs of a request, taken before its body was read.
pub(crate) struct SignedRequestParts<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a hyper::HeaderMap,
    pub body: &'a [u8],
}

fn header<'h>(headers: &'h hyper::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}
