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
//! 6. the KMS protocol (`POST /`) or the admin API (`/v1/sys/`) runs the operation, as a
//!    [`Call`] that carries the verified [`Principal`] and the typed [`Operation`].
//!
//! Every step's refusal is a typed [`Refusal`], and every call — served or refused — ends as one
//! [`Outcome`] that passes `finish`: the one place authorization, audit and metrics hook in.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use trent_storage::RequestId;
use trent_wire::kms::CONTENT_TYPE as AMZ_JSON;
use trent_wire::limits::{
    MAX_ADMIN_REQUEST_BODY_BYTES, MAX_KMS_REQUEST_BODY_BYTES, MAX_UNSIGNED_REQUEST_BODY_BYTES,
};
use trent_wire::{ErrorCode, KmsError, Operation};
use uuid::Uuid;

use crate::authentication::Principal;
use crate::http::body::{read_budgeted_body, BodyBudget, BodyError, Reservation, Sender};
use crate::http::connections::ConnectionInfo;
use crate::http::response;
use crate::kms::{self, Call};
use crate::node::Node;

/// Header a client may set to make a write idempotent across its own retries.
pub const IDEMPOTENCY_HEADER: &str = "x-trent-request-id";

/// How one call ended: the value every step's outcome becomes, refusals included, so that one
/// place (`finish`) sees every call — what it was, who made it, how it went.
pub struct Outcome {
    /// The operation, once known (a request for no known operation has none).
    pub operation: Option<Operation>,
    /// The caller, once its signature verified.
    pub principal: Option<Principal>,
    /// The reply, or why there is none.
    pub result: Result<Reply, Refusal>,
}

/// A successful call's reply.
pub enum Reply {
    /// A KMS answer (JSON): it may carry plaintexts and data keys, so it is wiped once sent.
    Kms(Vec<u8>),
    /// An admin answer.
    Admin(Response<Full<Bytes>>),
}

/// Why a call got no reply, by the step that refused it.
#[derive(Debug)]
pub enum Refusal {
    /// No KMS operation or admin call at this method, path or target.
    NoSuchOperation(KmsError),
    /// The node is sealed and the call needs the keyring.
    Sealed,
    /// The signature is missing, malformed, expired, by an unknown key, or wrong.
    Unauthenticated(KmsError),
    /// The body is too large, too slow, or over the memory budget.
    Body(KmsError),
    /// The request is malformed outside its body (a bad `x-trent-request-id`).
    BadRequest(KmsError),
    /// The operation ran and failed.
    Failed(KmsError),
}

impl Refusal {
    /// The AWS error the caller gets.
    pub fn into_error(self) -> KmsError {
        match self {
            Refusal::Sealed => KmsError::from(crate::seal::state::Sealed),
            Refusal::NoSuchOperation(error)
            | Refusal::Unauthenticated(error)
            | Refusal::Body(error)
            | Refusal::BadRequest(error)
            | Refusal::Failed(error) => error,
        }
    }
}

/// Handles one client API request.
pub async fn handle(node: Arc<Node>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let request_uuid = crate::crypto::random_uuid();
    let outcome = run(&node, request, request_uuid).await;
    response::with_request_id(finish(outcome, started), &request_uuid.hyphenated().to_string())
}

/// The one exit every call passes: logs it (debug) and turns it into its response.
fn finish(outcome: Outcome, started: Instant) -> Response<Full<Bytes>> {
    let operation = outcome.operation.map_or("-", Operation::name);
    let principal = outcome.principal.as_ref().map_or("-", Principal::access_key_id);
    let micros = started.elapsed().as_micros() as u64;
    match outcome.result {
        Ok(reply) => {
            tracing::debug!(operation, principal, micros, "call served");
            match reply {
                // KMS answers carry plaintexts and data keys: wiped once sent.
                Reply::Kms(body) => response::secret_bytes(StatusCode::OK, body, AMZ_JSON),
                Reply::Admin(response) => response,
            }
        }
        Err(refusal) => {
            let error = refusal.into_error();
            tracing::debug!(operation, principal, micros, code = %error.code, "call refused");
            response::kms_error(&error)
        }
    }
}

/// Runs the steps in order, cheapest first; each refusal ends the call as a typed value.
async fn run(node: &Node, request: Request<Incoming>, request_uuid: Uuid) -> Outcome {
    let (parts, body) = request.into_parts();
    let method = &parts.method;
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("");
    let headers = &parts.headers;
    let budget = &node.body_budget;
    let connection = parts.extensions.get::<ConnectionInfo>();
    let is_kms = method == Method::POST && path == "/";
    let admin = if is_kms { None } else { crate::admin::resolve(method, path) };
    let mut outcome = Outcome {
        operation: admin.map(|(operation, _)| operation),
        principal: None,
        result: Err(Refusal::Sealed),
    };

    if let Some((operation, id)) = admin.filter(|(operation, _)| operation.is_unsigned()) {
        let sender = Sender::of(connection);
        let (body, _reservation) =
            match read(headers, body, MAX_UNSIGNED_REQUEST_BODY_BYTES, budget, sender).await {
                Ok(read) => read,
                Err(refusal) => return Outcome { result: Err(refusal), ..outcome },
            };
        // Unauthenticated but past its checks: init hands out shares once, so the connection
        // must not be cut off to make room now.
        let _operating = connection.map(ConnectionInfo::operating);
        // Boxed: the admin API's futures are large, and the KMS hot path should not carry them.
        outcome.result = Box::pin(crate::admin::run(node, operation, id, &body))
            .await
            .map(Reply::Admin)
            .map_err(Refusal::Failed);
        return outcome;
    }
    if node.seal.status().sealed {
        return outcome;
    }
    let header_list: Vec<(&str, &[u8])> =
        headers.iter().map(|(name, value)| (name.as_str(), value.as_bytes())).collect();
    let head = trent_sigv4::RequestHead { method: method.as_str(), path, query, headers: &header_list };
    let checked = match crate::authentication::check_head(node, head, SystemTime::now()) {
        Ok(checked) => checked,
        Err(error) => return Outcome { result: Err(Refusal::Unauthenticated(error)), ..outcome },
    };
    let limit = if is_kms { MAX_KMS_REQUEST_BODY_BYTES } else { MAX_ADMIN_REQUEST_BODY_BYTES };
    let (body, _reservation) = match read(headers, body, limit, budget, Sender::of(connection)).await {
        Ok(read) => read,
        Err(refusal) => return Outcome { result: Err(refusal), ..outcome },
    };
    let principal = match crate::authentication::verify_body(node, &checked, &body) {
        Ok(principal) => principal,
        Err(error) => return Outcome { result: Err(Refusal::Unauthenticated(error)), ..outcome },
    };
    if let Some(connection) = connection {
        connection.prove();
    }
    outcome.principal = Some(principal.clone());
    let origin = crate::authorization::Origin {
        source_ip: connection.map(ConnectionInfo::address),
        secure_transport: node.config.tls.is_some(),
    };

    if let Some((operation, id)) = admin {
        // Admin calls act on no key: decided here by the identity policy alone; KMS calls are
        // decided in `kms::dispatch`, once their request (key, context) is parsed.
        if let Err(denied) = crate::authorization::authorize_admin(node, &principal, operation, origin) {
            outcome.result = Err(Refusal::Failed(denied));
            return outcome;
        }
        outcome.result = Box::pin(crate::admin::run(node, operation, id, &body))
            .await
            .map(Reply::Admin)
            .map_err(Refusal::Failed);
        return outcome;
    }
    if !is_kms {
        outcome.result = Err(Refusal::NoSuchOperation(not_found(method, path)));
        return outcome;
    }
    let request_id = match header(headers, IDEMPOTENCY_HEADER).map(Uuid::try_parse) {
        None => RequestId(request_uuid),
        Some(Ok(id)) => RequestId(id),
        Some(Err(_)) => {
            let error = KmsError::new(ErrorCode::Validation, format!("{IDEMPOTENCY_HEADER} must be a UUID"));
            outcome.result = Err(Refusal::BadRequest(error));
            return outcome;
        }
    };
    let operation = match kms::resolve_target(header(headers, "x-amz-target")) {
        Ok(operation) => operation,
        Err(error) => {
            outcome.result = Err(Refusal::NoSuchOperation(error));
            return outcome;
        }
    };
    outcome.operation = Some(operation);
    let call = Call::new(node, request_id, principal, operation).from_origin(origin);
    outcome.result = kms::dispatch(&call, &body).await.map(Reply::Kms).map_err(Refusal::Failed);
    outcome
}

/// Reads the body within `limit` and the node's budget; the refusal otherwise.
async fn read(
    headers: &hyper::HeaderMap,
    body: Incoming,
    limit: usize,
    budget: &BodyBudget,
    sender: Sender,
) -> Result<(Bytes, Reservation), Refusal> {
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
        Refusal::Body(KmsError::new(code, message))
    })
}

fn not_found(method: &Method, path: &str) -> KmsError {
    if path.starts_with("/v1/sys/") {
        return KmsError::new(ErrorCode::NotFound, format!("No admin endpoint {method} {path}"));
    }
    KmsError::new(
        ErrorCode::UnknownOperation,
        format!("No operation at {method} {path}; KMS operations are POST /"),
    )
}

fn header<'h>(headers: &'h hyper::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}
