//! The client API: one HTTP entry point that assigns a request id and runs every request through
//! the same steps, cheapest first, so that what cannot succeed costs the node little:
//!
//! 1. the unsigned calls (health, status, init, unseal) go straight to the admin API, with a
//!    small body cap;
//! 2. a sealed node refuses everything else, unread;
//! 3. the signature's head is checked — `Authorization` shape, signed headers, date, scope —
//!    and the access key must exist, all before a byte of the body is read;
//! 4. the body is read within its cap (KMS 384 KiB, admin 64 KiB) and the memory budget that
//!    every body in flight on this node shares (an unauthenticated address may hold a quarter of
//!    it), or refused as throttled;
//! 5. the signature is verified over the body; the connection is then *proven* (never evicted
//!    to make room, see [`crate::http::connections`]);
//! 6. the KMS protocol (`POST /`) or the admin API (`/v1/sys/`) runs the operation.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use trent_storage::RequestId;
use trent_wire::kms::CONTENT_TYPE as AMZ_JSON;
use trent_wire::limits::{
    MAX_ADMIN_REQUEST_BODY_BYTES, MAX_KMS_REQUEST_BODY_BYTES, MAX_UNSIGNED_REQUEST_BODY_BYTES,
};
use trent_wire::{ErrorCode, KmsError};
use uuid::Uuid;

use crate::http::body::{read_budgeted_body, BodyBudget, BodyError, Reservation, Sender};
use crate::http::connections::ConnectionInfo;
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
    let budget = &node.body_budget;
    let connection = parts.extensions.get::<ConnectionInfo>();

    if crate::admin::allowed_while_sealed(method, path) {
        let sender = Sender::of(connection);
        let (body, _reservation) =
            match read(headers, body, MAX_UNSIGNED_REQUEST_BODY_BYTES, budget, sender).await {
                Ok(read) => read,
                Err(response) => return response,
            };
        // Unauthenticated but past its checks: init hands out shares once, so the connection
        // must not be cut off to make room now.
        let _operating = connection.map(ConnectionInfo::operating);
        // Boxed: the admin API's futures are large, and the KMS hot path should not carry them.
        return match Box::pin(crate::admin::route(node, method, path, &body)).await {
            Some(response) => response,
            None => not_found(method, path),
        };
    }
    if node.seal.status().sealed {
        return response::kms_error(&KmsError::from(crate::seal::state::Sealed));
    }
    let header_list: Vec<(&str, &[u8])> =
        headers.iter().map(|(name, value)| (name.as_str(), value.as_bytes())).collect();
    let head = trent_sigv4::RequestHead { method: method.as_str(), path, query, headers: &header_list };
    let checked = match crate::authentication::check_head(node, head, SystemTime::now()) {
        Ok(checked) => checked,
        Err(error) => return refused_by_authentication(&error),
    };
    let is_kms = method == Method::POST && path == "/";
    let limit = if is_kms { MAX_KMS_REQUEST_BODY_BYTES } else { MAX_ADMIN_REQUEST_BODY_BYTES };
    let (body, _reservation) = match read(headers, body, limit, budget, Sender::of(connection)).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    if let Err(error) = crate::authentication::verify_body(node, &checked, &body) {
        return refused_by_authentication(&error);
    }
    if let Some(connection) = connection {
        connection.prove();
    }

    if path.starts_with("/v1/sys/") {
        if let Some(response) = Box::pin(crate::admin::route(node, method, path, &body)).await {
            return response;
        }
    }
    if !is_kms {
        return not_found(method, path);
    }
    let request_id = match header(headers, IDEMPOTENCY_HEADER).map(Uuid::try_parse) {
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
    match kms::dispatch(&call, header(headers, "x-amz-target"), &body).await {
        // KMS answers carry plaintexts and data keys: wiped once sent.
        Ok(body) => response::secret_bytes(StatusCode::OK, body, AMZ_JSON),
        Err(error) => {
            tracing::debug!(code = %error.code, "KMS call refused");
            response::kms_error(&error)
        }
    }
}

/// Reads the body within `limit` and the node's budget; the AWS error response otherwise.
async fn read(
    headers: &hyper::HeaderMap,
    body: Incoming,
    limit: usize,
    budget: &BodyBudget,
    sender: Sender,
) -> Result<(Bytes, Reservation), Response<Full<Bytes>>> {
    read_budgeted_body(headers, body, limit, budget, sender).await.map_err(|error| {
        let (code, message) = match error {
            BodyError::TooLarge { limit } => {
                (ErrorCode::RequestTooLarge, format!("Request body exceeds {limit} bytes"))
            }
            BodyError::Throttled => (
                ErrorCode::Throttling,
                "Rate exceeded: too many request bodies in flight; retry with backoff".to_owned(),
            ),
            other => (ErrorCode::Serialization, other.to_string()),
        };
        response::kms_error(&KmsError::new(code, message))
    })
}

fn refused_by_authentication(error: &KmsError) -> Response<Full<Bytes>> {
    tracing::debug!(code = %error.code, "request refused by authentication");
    response::kms_error(error)
}

fn not_found(method: &Method, path: &str) -> Response<Full<Bytes>> {
    if path.starts_with("/v1/sys/") {
        return response::kms_error(&KmsError::new(
            ErrorCode::NotFound,
            format!("No admin endpoint {method} {path}"),
        ));
    }
    response::kms_error(&KmsError::new(
        ErrorCode::UnknownOperation,
        format!("No operation at {method} {path}; KMS operations are POST /"),
    ))
}

fn header<'h>(headers: &'h hyper::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}
