//! [`TrentClient`]: endpoints, options, and the generic call path every typed method goes through,
//! including failover to the next endpoint and backoff between attempts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::header::HeaderValue;
use hyper::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use trent_wire::kms::TARGET_PREFIX;

use crate::endpoint::{Endpoint, MAX_ENDPOINTS};
use crate::error::ClientError;
use crate::retry::{Jitter, RetryPolicy};
use crate::transport::{RawResponse, RequestSpec, Transport};

/// Most bytes of a response body the client reads by default.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Longest operation name accepted by [`TrentClient::call`].
const MAX_OPERATION_CHARS: usize = 64;

/// Tunables of a [`TrentClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Limit on one attempt: connecting, sending and reading the whole response. Default 10 s.
    pub timeout: Duration,
    /// How many attempts a call makes and the backoff between them.
    pub retry: RetryPolicy,
    /// Largest response body read; a larger one fails the call. Default 4 MiB.
    pub max_response_bytes: usize,
    /// How long an idle pooled connection is kept for reuse. Default 20 s, below the 30 s after
    /// which a Trent node closes an idle connection.
    pub pool_idle_timeout: Duration,
    /// Sign every request with SigV4 with these credentials; unsigned when `None`.
    pub signing: Option<Signing>,
    /// Trust anchors for `https://` endpoints (the cluster's CA); the system's roots when `None`.
    pub ca_bundle: Option<crate::tls::CaBundle>,
}

/// How requests are signed: credentials, and the region named in the signature's scope.
#[derive(Debug, Clone)]
pub struct Signing {
    /// The access key and secret.
    pub credentials: trent_sigv4::Credentials,
    /// The region, e.g. `us-east-1`.
    pub region: String,
}

impl Signing {
    /// Signing for `access_key_id` / `secret_access_key` in `region`.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        region: impl Into<String>,
    ) -> Self {
        Signing {
            credentials: trent_sigv4::Credentials {
                access_key_id: access_key_id.into(),
                secret_access_key: zeroize::Zeroizing::new(secret_access_key.into()),
            },
            region: region.into(),
        }
    }
}

impl PartialEq for Signing {
    fn eq(&self, other: &Signing) -> bool {
        self.credentials.access_key_id == other.credentials.access_key_id
            && *self.credentials.secret_access_key == *other.credentials.secret_access_key
            && self.region == other.region
    }
}

impl Eq for Signing {}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            pool_idle_timeout: Duration::from_secs(20),
            signing: None,
            ca_bundle: None,
        }
    }
}

/// What all views of one client share: the endpoints, the pool, and the round-robin cursor.
#[derive(Debug)]
struct Shared {
    endpoints: Vec<Endpoint>,
    transport: Transport,
    next_start: AtomicUsize,
}

/// A typed async client for Trent's KMS and admin APIs, spreading calls across a cluster's
/// endpoints and failing over between them.
///
/// Cloning is cheap and clones share one keep-alive connection pool. Each call starts at the
/// next endpoint in round-robin order; on a connection error, a timeout or a retryable server
/// error it retries on the following endpoint, within the [`RetryPolicy`]. Every attempt of one
/// call carries the same `x-trent-request-id`, so the server applies a retried write once.
#[derive(Debug, Clone)]
pub struct TrentClient {
    shared: Arc<Shared>,
    pinned: Option<usize>,
    retry: RetryPolicy,
}

impl TrentClient {
    /// A client for `endpoints` (`https://host:port`, `http://host:port` or `host:port`) with
    /// default options.
    pub fn new(endpoints: Vec<String>) -> Result<TrentClient, ClientError> {
        TrentClient::with_options(endpoints, ClientOptions::default())
    }

    /// A client for `endpoints` with the given options.
    pub fn with_options(endpoints: Vec<String>, options: ClientOptions) -> Result<TrentClient, ClientError> {
        let endpoints = Endpoint::parse_all(endpoints)?;
        TrentClient::from_endpoints(endpoints, options)
    }

    /// A client for already-parsed endpoints (1 to [`MAX_ENDPOINTS`]).
    pub fn from_endpoints(
        endpoints: Vec<Endpoint>,
        options: ClientOptions,
    ) -> Result<TrentClient, ClientError> {
        if endpoints.is_empty() {
            return Err(ClientError::NoEndpoints);
        }
        if endpoints.len() > MAX_ENDPOINTS {
            return Err(ClientError::TooManyEndpoints { max: MAX_ENDPOINTS });
        }
        let tls = match endpoints.iter().any(Endpoint::is_tls) {
            true => Some(crate::tls::client_config(options.ca_bundle.as_ref())?),
            false => None,
        };
        let transport =
            Transport::new(options.timeout, options.pool_idle_timeout, options.max_response_bytes, tls)?
                .with_signing(options.signing.clone());
        Ok(TrentClient {
            shared: Arc::new(Shared { endpoints, transport, next_start: AtomicUsize::new(0) }),
            pinned: None,
            retry: options.retry,
        })
    }

    /// A client for one endpoint with default options.
    pub fn single(endpoint: &str) -> Result<TrentClient, ClientError> {
        TrentClient::new(vec![endpoint.to_owned()])
    }

    /// A view of this client that sends every call to endpoint `index` only (retries included),
    /// sharing the connection pool. For "ask this node" in tests and operator commands.
    pub fn on_endpoint(&self, index: usize) -> Result<TrentClient, ClientError> {
        let count = self.shared.endpoints.len();
        if index >= count {
            return Err(ClientError::EndpointIndex { index, count });
        }
        Ok(TrentClient { pinned: Some(index), ..self.clone() })
    }

    /// A view of this client with another retry policy, sharing the connection pool;
    /// [`RetryPolicy::none`] makes every failure visible (load generation).
    pub fn with_retry_policy(&self, retry: RetryPolicy) -> TrentClient {
        TrentClient { retry, ..self.clone() }
    }

    /// The endpoints, in the order given.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.shared.endpoints
    }

    /// The endpoint this view is pinned to, if any.
    pub fn pinned_endpoint(&self) -> Option<usize> {
        self.pinned
    }

    /// The retry policy of this view.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// Calls KMS operation `operation` (e.g. `"CreateKey"`) with `request`, decoding the
    /// success body as `Resp`. A fresh request id is used for this call and all its retries.
    pub async fn call<Req, Resp>(&self, operation: &str, request: &Req) -> Result<Resp, ClientError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        self.call_with_request_id(operation, request, &new_request_id()).await
    }

    /// Like [`call`](Self::call) with a caller-chosen request id, so a caller can repeat a logical
    /// write across calls (the server applies it once).
    pub async fn call_with_request_id<Req, Resp>(
        &self,
        operation: &str,
        request: &Req,
        request_id: &str,
    ) -> Result<Resp, ClientError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let spec = RequestSpec {
            method: Method::POST,
            path: "/".to_owned(),
            target: Some(target_header(operation)?),
            body: encode_body(request)?,
            request_id: Some(request_id_header(request_id)?),
        };
        // Every attempt carries the same request id, so the server applies a repeated write once.
        let response = self.execute(&spec, Delivery::Repeatable).await?;
        decode_success(&response)
    }

    /// Sends an admin API request (`path` under `/v1/sys/`) with failover and decodes the answer.
    pub(crate) async fn admin<Req, Resp>(
        &self,
        method: Method,
        path: String,
        request: Option<&Req>,
        delivery: Delivery,
    ) -> Result<Resp, ClientError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let body = match request {
            Some(request) => encode_body(request)?,
            None => Bytes::new(),
        };
        self.admin_body(method, path, body, delivery).await
    }

    /// Like [`admin`](Self::admin) with a body already encoded, sent as it is (a document the
    /// server stores as given).
    pub(crate) async fn admin_body<Resp>(
        &self,
        method: Method,
        path: String,
        body: Bytes,
        delivery: Delivery,
    ) -> Result<Resp, ClientError>
    where
        Resp: DeserializeOwned,
    {
        let request_id =
            if method == Method::GET { None } else { Some(request_id_header(&new_request_id())?) };
        let spec = RequestSpec { method, path, target: None, body, request_id };
        let response = self.execute(&spec, delivery).await?;
        decode_success(&response)
    }

    /// Sends `spec` once to endpoint `index`, returning whatever came back (no status check).
    pub(crate) async fn send_once(
        &self,
        index: usize,
        spec: &RequestSpec,
    ) -> Result<RawResponse, ClientError> {
        let count = self.shared.endpoints.len();
        let endpoint = self.shared.endpoints.get(index).ok_or(ClientError::EndpointIndex { index, count })?;
        self.shared.transport.send(endpoint, spec).await
    }

    /// Sends `spec` until an attempt succeeds (2xx), fails for good, or the budget is spent.
    async fn execute(&self, spec: &RequestSpec, delivery: Delivery) -> Result<RawResponse, ClientError> {
        let count = self.shared.endpoints.len();
        let start = match self.pinned {
            Some(index) => index,
            None => self.shared.next_start.fetch_add(1, Ordering::Relaxed) % count.max(1),
        };
        let mut jitter = Jitter::from_clock();
        let mut attempt: u32 = 0;
        loop {
            let index = match self.pinned {
                Some(index) => index,
                None => (start + attempt as usize) % count.max(1),
            };
            let error = match self.send_once(index, spec).await {
                Ok(response) if response.status.is_success() => return Ok(response),
                Ok(response) => ClientError::from_error_response(response.status.as_u16(), &response.body),
                Err(error) => error,
            };
            attempt += 1;
            let may_repeat = match delivery {
                Delivery::Repeatable => error.is_retryable(),
                // Only a request that never left this client can be sent again.
                Delivery::AtMostOnce => matches!(error, ClientError::Connect { .. }),
            };
            if !may_repeat || attempt >= self.retry.max_attempts() {
                return Err(error);
            }
            tokio::time::sleep(self.retry.backoff(attempt - 1, &mut jitter)).await;
        }
    }
}

/// Whether a call may reach the server more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Repeating the call is harmless: a read, an idempotent change, or a write the server
    /// deduplicates by its request id. Retried on every retryable error.
    Repeatable,
    /// The answer holds something shown once (unseal shares, a new secret) or a repeat would
    /// change more (another keyring version): retried only when the request never left the
    /// client (it could not connect). After any other failure the caller must look before it
    /// tries again.
    AtMostOnce,
}

/// A new random request id (UUID v4).
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The `X-Amz-Target` value of `operation`, which must be a plain ASCII name.
fn target_header(operation: &str) -> Result<HeaderValue, ClientError> {
    let plain = !operation.is_empty()
        && operation.len() <= MAX_OPERATION_CHARS
        && operation.bytes().all(|b| b.is_ascii_alphanumeric());
    if !plain {
        return Err(ClientError::InvalidRequest {
            reason: format!("operation name {operation:?} is not a plain ASCII name"),
        });
    }
    HeaderValue::from_str(&format!("{TARGET_PREFIX}{operation}"))
        .map_err(|err| ClientError::InvalidRequest { reason: err.to_string() })
}

fn request_id_header(request_id: &str) -> Result<HeaderValue, ClientError> {
    HeaderValue::from_str(request_id).map_err(|_| ClientError::InvalidRequest {
        reason: format!("request id {request_id:?} is not a valid header value"),
    })
}

pub(crate) fn encode_body<Req: Serialize + ?Sized>(request: &Req) -> Result<Bytes, ClientError> {
    serde_json::to_vec(request)
        .map(Bytes::from)
        .map_err(|err| ClientError::InvalidRequest { reason: format!("cannot encode the request: {err}") })
}

/// Decodes a 2xx body; an empty body reads as `{}` (operations with no output).
pub(crate) fn decode_success<Resp: DeserializeOwned>(response: &RawResponse) -> Result<Resp, ClientError> {
    let body: &[u8] = if response.body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &response.body };
    serde_json::from_slice(body).map_err(|err| ClientError::Decode {
        message: match &response.server_request_id {
            Some(id) => format!("{err} (request {id})"),
            None => err.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_header_accepts_plain_names_only() {
        assert_eq!(target_header("CreateKey").unwrap(), "TrentService.CreateKey");
        for bad in ["", "Create Key", "Create\nKey", "a.b", &"x".repeat(65)] {
            assert!(target_header(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn empty_success_body_decodes_as_empty_object() {
        let response =
            RawResponse { status: hyper::StatusCode::OK, server_request_id: None, body: Bytes::new() };
        let decoded: trent_wire::kms::EmptyResponse = decode_success(&response).unwrap();
        assert_eq!(decoded, trent_wire::kms::EmptyResponse {});
    }

    #[test]
    fn pinning_checks_the_index() {
        let client = TrentClient::new(vec!["http://a:1".into(), "http://b:2".into()]).unwrap();
        assert_eq!(client.on_endpoint(1).unwrap().pinned_endpoint(), Some(1));
        assert!(matches!(client.on_endpoint(2), Err(ClientError::EndpointIndex { index: 2, count: 2 })));
        assert!(matches!(TrentClient::new(vec![]), Err(ClientError::NoEndpoints)));
        let none = TrentClient::from_endpoints(vec![], ClientOptions::default());
        assert!(matches!(none, Err(ClientError::NoEndpoints)));
    }
}
