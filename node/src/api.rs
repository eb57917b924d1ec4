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
//! [`Outcome`] that passes `finish`: the one place audit and metrics hook in. `finish` writes
//! the call's audit record (see [`crate::audit`]) and answers only once it is durable.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Collected, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use trent_storage::RequestId;
use trent_wire::kms::CONTENT_TYPE as AMZ_JSON;
use trent_wire::limits::{
    MAX_ADMIN_REQUEST_BODY_BYTES, MAX_KMS_REQUEST_BODY_BYTES, MAX_UNSIGNED_REQUEST_BODY_BYTES,
};
use trent_wire::{ErrorCode, KmsError, Operation};
use uuid::Uuid;

use crate::audit::events::{self, CallFacts, Caller};
use crate::audit::parameters;
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
    let mut facts = CallFacts {
        request_id: request_uuid,
        event_id: crate::crypto::random_uuid(),
        source_ip: request.extensions().get::<ConnectionInfo>().map(ConnectionInfo::address),
        user_agent: header(request.headers(), "user-agent").map(events::user_agent),
        caller: match header(request.headers(), "authorization").and_then(events::claimed_access_key) {
            Some(claimed) => Caller::Claimed(claimed),
            None => Caller::Anonymous,
        },
        ..CallFacts::default()
    };
    let outcome = run(&node, request, &mut facts).await;
    let response = finish(&node, outcome, facts, started).await;
    response::with_request_id(response, &request_uuid.hyphenated().to_string())
}

/// Whether a call is recorded in the audit trail: every call but the probes a load balancer or
/// a verifier makes unsigned and often (health, seal status, the audit public key), which
/// change nothing and name no caller — as Vault leaves its health endpoints out of its audit log.
fn is_audited(operation: Option<Operation>) -> bool {
    !matches!(operation, Some(Operation::Health | Operation::SealStatus | Operation::GetAuditPublicKey))
}

/// The one exit every call passes: records it in the audit trail (durably, before anything is
/// answered; a call that cannot be recorded is answered with `KMSInternalException` instead),
/// logs it (debug) and turns it into its response.
async fn finish(
    node: &Node,
    outcome: Outcome,
    mut facts: CallFacts,
    started: Instant,
) -> Response<Full<Bytes>> {
    let operation_name = outcome.operation.map_or("-", Operation::name);
    let principal = outcome.principal.as_ref().map_or("-", Principal::access_key_id);
    // A benchmark's unaudited node skips the record entirely, so that what the pair measures is
    // all the audit trail costs.
    let audited = is_audited(outcome.operation) && node.audit.is_recording();
    facts.operation = outcome.operation;
    if let Some(principal) = &outcome.principal {
        facts.caller = Caller::Verified(principal.access_key_id().to_owned());
    }
    let result = match outcome.result {
        Ok(Reply::Kms(body)) => {
            if let Some(operation) = outcome.operation.filter(|_| audited) {
                facts.response_elements = parameters::kms_response(operation, &body);
                facts.created_key_arn = created_key_arn(facts.response_elements.as_ref());
            }
            Ok(Reply::Kms(body))
        }
        Ok(Reply::Admin(response)) if audited => {
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map(Collected::to_bytes).unwrap_or_default();
            if let Some(operation) = outcome.operation {
                facts.response_elements = parameters::admin_response(operation, &body);
            }
            Ok(Reply::Admin(Response::from_parts(parts, Full::new(body))))
        }
        Ok(reply) => Ok(reply),
        Err(refusal) => {
            let error = refusal.into_error();
            facts.error = Some((error.code.as_str().to_owned(), error.message.clone()));
            Err(error)
        }
    };
    let recorded = if audited {
        let event = crate::audit::events::call_event(node, facts);
        node.audit.record(event).await
    } else {
        Ok(())
    };
    let micros = started.elapsed().as_micros() as u64;
    match (result, recorded) {
        (Ok(reply), Ok(())) => {
            tracing::debug!(operation = operation_name, principal, micros, "call served");
            match reply {
                // KMS answers carry plaintexts and data keys: wiped once sent.
                Reply::Kms(body) => response::secret_bytes(StatusCode::OK, body, AMZ_JSON),
                Reply::Admin(response) => response,
            }
        }
        (Ok(reply), Err(unrecorded)) => {
            // The answer is not given: it might carry a plaintext no record accounts for.
            if let Reply::Kms(mut body) = reply {
                zeroize::Zeroize::zeroize(&mut body);
            }
            let error = KmsError::from(unrecorded);
            tracing::debug!(operation = operation_name, principal, micros, code = %error.code, "call not recorded");
            response::kms_error(&error)
        }
        (Err(error), recorded) => {
            let error = match recorded {
                Ok(()) => error,
                Err(unrecorded) => KmsError::from(unrecorded),
            };
            tracing::debug!(operation = operation_name, principal, micros, code = %error.code, "call refused");
            response::kms_error(&error)
        }
    }
}

/// The ARN of the key a CreateKey made, from its reply's `keyMetadata`.
fn created_key_arn(response_elements: Option<&serde_json::Value>) -> Option<String> {
    let arn = response_elements?.get("keyMetadata")?.get("Arn")?.as_str()?;
    Some(arn.to_owned())
}

/// Runs the steps in order, cheapest first; each refusal ends the call as a typed value.
async fn run(node: &Node, request: Request<Incoming>, facts: &mut CallFacts) -> Outcome {
    let request_uuid = facts.request_id;
    let (parts, body) = request.into_parts();
    let method = &parts.method;
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("");
    let headers = &parts.headers;
    let budget = &node.body_budget;
    let connection = parts.extensions.get::<ConnectionInfo>();
    let is_kms = method == Method::POST && path == "/";
    let admin = if is_kms { None } else { crate::admin::resolve(method, path) };
    // Named before anything is checked, so that a refused call's record says what it asked.
    let named = match admin {
        Some((operation, _)) => Some(operation),
        None if is_kms => header(headers, "x-amz-target").and_then(Operation::from_target),
        None => None,
    };
    let mut outcome = Outcome { operation: named, principal: None, result: Err(Refusal::Sealed) };

    // Fail closed: while the audit trail cannot write, nothing that would be recorded runs.
    if let Some(failure) = node.audit.failure().filter(|_| is_audited(outcome.operation)) {
        outcome.result = Err(Refusal::Failed(crate::audit::AuditUnavailable(failure).into()));
        return outcome;
    }
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
        facts.request_parameters = parameters::admin_request(operation, id, &body);
        // Boxed: the admin API's futures are large, and the KMS hot path should not carry them.
        outcome.result = Box::pin(crate::admin::run(node, operation, id, query, &body))
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
    // A KMS call's parameters come from its typed request once it parses (below); an admin
    // call's from its body.
    if let Some((operation, id)) = admin.filter(|_| node.audit.is_recording()) {
        facts.request_parameters = parameters::admin_request(operation, id, &body);
    }
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
        outcome.result = Box::pin(crate::admin::run(node, operation, id, query, &body))
            .await
            .map(Reply::Admin)
            .map_err(Refusal::Failed);
        return outcome;
    }
    if !is_kms {
        facts.request_parameters = logged_body(node, &body);
        outcome.result = Err(Refusal::NoSuchOperation(not_found(method, path)));
        return outcome;
    }
    let request_id = match header(headers, IDEMPOTENCY_HEADER).map(Uuid::try_parse) {
        None => RequestId(request_uuid),
        Some(Ok(id)) => {
            // A signed id of the client's own, shared by its retries: in the record beside the
            // attempt's own request id, so a client (and the fault harness) finds each call's.
            facts.client_request_id = Some(id);
            RequestId(id)
        }
        Some(Err(_)) => {
            facts.request_parameters = logged_body(node, &body);
            let error = KmsError::new(ErrorCode::Validation, format!("{IDEMPOTENCY_HEADER} must be a UUID"));
            outcome.result = Err(Refusal::BadRequest(error));
            return outcome;
        }
    };
    let operation = match kms::resolve_target(header(headers, "x-amz-target")) {
        Ok(operation) => operation,
        Err(error) => {
            facts.unknown_name =
                header(headers, "x-amz-target").map(|target| target.chars().take(128).collect());
            facts.request_parameters = logged_body(node, &body);
            outcome.result = Err(Refusal::NoSuchOperation(error));
            return outcome;
        }
    };
    outcome.operation = Some(operation);
    let mut call =
        Call::new(node, request_id, principal, operation).from_origin(origin).answered_as(request_uuid);
    outcome.result = kms::dispatch(&call, &body).await.map(Reply::Kms).map_err(Refusal::Failed);
    if node.audit.is_recording() {
        facts.request_parameters = call.take_logged_request().unwrap_or_else(|| logged_body(node, &body));
    }
    facts.keys = call.authorized_keys().to_vec();
    // The id GetKeyLastUsage reports for this use is the record's.
    facts.event_id = call.event_id();
    outcome
}

/// `requestParameters` read from a KMS call's body, for a call refused before its request was
/// parsed into its type (nothing on a node that keeps no trail).
fn logged_body(node: &Node, body: &[u8]) -> Option<serde_json::Value> {
    node.audit.is_recording().then(|| parameters::kms_request(body)).flatten()
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
