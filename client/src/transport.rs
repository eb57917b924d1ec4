//! One HTTP exchange with one endpoint: build the request, send it over the shared keep-alive
//! connection pool, and read a size-capped response body, all within the per-attempt timeout.
//!
//! [`Transport::build_request`] is the only place a request is assembled; request signing
//! (SigV4) belongs there, after the body and headers are final.

use std::error::Error as StdError;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Method, Request, StatusCode};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use trent_wire::kms::CONTENT_TYPE as AMZ_JSON;

use crate::endpoint::Endpoint;
use crate::error::ClientError;

/// Header naming the KMS operation.
pub const TARGET_HEADER: &str = "x-amz-target";
/// Header carrying the caller's idempotency id; the server deduplicates writes that repeat it.
pub const REQUEST_ID_HEADER: &str = "x-trent-request-id";
/// Header carrying the server's id for the exchange, present on every response.
pub const AMZN_REQUEST_ID_HEADER: &str = "x-amzn-requestid";
/// Content type of admin API bodies.
const ADMIN_CONTENT_TYPE: &str = "application/json";
/// Sent as `User-Agent`.
const USER_AGENT_VALUE: &str = concat!("trent-client/", env!("CARGO_PKG_VERSION"));

/// Everything that identifies a request, independent of which endpoint it is sent to, so that
/// every retry sends the same bytes (and the same request id).
#[derive(Debug, Clone)]
pub(crate) struct RequestSpec {
    /// HTTP method.
    pub method: Method,
    /// Path on the endpoint, starting with `/`.
    pub path: String,
    /// `X-Amz-Target` of a KMS call; `None` for admin calls.
    pub target: Option<HeaderValue>,
    /// JSON body; empty for GET and DELETE.
    pub body: Bytes,
    /// Idempotency id, shared by all attempts of one logical call.
    pub request_id: Option<HeaderValue>,
}

/// A response as it came back, before it is judged a success or an error.
#[derive(Debug, Clone)]
pub(crate) struct RawResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// The server's `x-amzn-RequestId`, when sent.
    pub server_request_id: Option<String>,
    /// The body, at most the transport's cap.
    pub body: Bytes,
}

/// The shared connection pool and the limits applied to each exchange.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
    max_response_bytes: usize,
    signing: Option<crate::client::Signing>,
}

impl Transport {
    /// A pool that keeps idle connections open for `pool_idle_timeout`, and exchanges that
    /// give up after `timeout` or on a body over `max_response_bytes`. `https://` endpoints are
    /// verified against `tls` (see [`crate::tls`]); without it only `http://` ones can be reached.
    pub fn new(
        timeout: Duration,
        pool_idle_timeout: Duration,
        max_response_bytes: usize,
        tls: Option<rustls::ClientConfig>,
    ) -> Result<Self, ClientError> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        connector.enforce_http(false);
        let tls = match tls {
            Some(config) => config,
            None => crate::tls::plain_http_only()?,
        };
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(pool_idle_timeout)
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(Transport { http, timeout, max_response_bytes, signing: None })
    }

    /// Signs every request with `signing` (SigV4, service `kms`).
    pub fn with_signing(mut self, signing: Option<crate::client::Signing>) -> Self {
        self.signing = signing;
        self
    }

    /// Assembles the HTTP request for `spec` on `endpoint`.
    ///
    /// This is the single point where outgoing requests are built; a signer (SigV4) slots in
    /// at the end, once method, URI, headers and body are final.
    pub fn build_request(
        &self,
        endpoint: &Endpoint,
        spec: &RequestSpec,
    ) -> Result<Request<Full<Bytes>>, ClientError> {
        let mut builder = Request::builder()
            .method(spec.method.clone())
            .uri(endpoint.uri(&spec.path)?)
            .header(USER_AGENT, USER_AGENT_VALUE);
        if let Some(target) = &spec.target {
            builder = builder.header(TARGET_HEADER, target.clone()).header(CONTENT_TYPE, AMZ_JSON);
        } else if !spec.body.is_empty() {
            builder = builder.header(CONTENT_TYPE, ADMIN_CONTENT_TYPE);
        }
        if let Some(request_id) = &spec.request_id {
            builder = builder.header(REQUEST_ID_HEADER, request_id.clone());
        }
        if let Some(signing) = &self.signing {
            // Host is set here, not left to hyper, because the signature covers it.
            builder = builder.header(HOST, endpoint.authority().as_str());
            let headers = builder.headers_ref().cloned().unwrap_or_default();
            let signed: Vec<(&str, &[u8])> = headers
                .iter()
                .filter(|(name, _)| *name != USER_AGENT)
                .map(|(name, value)| (name.as_str(), value.as_bytes()))
                .collect();
            let (path, query) = spec.path.split_once('?').unwrap_or((spec.path.as_str(), ""));
            let request = trent_sigv4::SignedRequest {
                method: spec.method.as_str(),
                path,
                query,
                headers: &signed,
                body: &spec.body,
            };
            let signature = trent_sigv4::sign(
                &request,
                &signing.credentials,
                &signing.region,
                "kms",
                std::time::SystemTime::now(),
            )
            .map_err(|err| ClientError::InvalidRequest {
                reason: format!("cannot sign the request: {err}"),
            })?;
            builder = builder
                .header("x-amz-date", signature.x_amz_date)
                .header("x-amz-content-sha256", signature.x_amz_content_sha256)
                .header(AUTHORIZATION, signature.authorization);
        }
        builder
            .body(Full::new(spec.body.clone()))
            .map_err(|err| ClientError::InvalidRequest { reason: err.to_string() })
    }

    /// Sends `spec` to `endpoint` once and reads the whole response, within the timeout.
    pub async fn send(&self, endpoint: &Endpoint, spec: &RequestSpec) -> Result<RawResponse, ClientError> {
        let request = self.build_request(endpoint, spec)?;
        match tokio::time::timeout(self.timeout, self.exchange(endpoint, request)).await {
            Ok(result) => result,
            Err(_elapsed) => {
                Err(ClientError::Timeout { endpoint: endpoint.to_string(), after: self.timeout })
            }
        }
    }

    async fn exchange(
        &self,
        endpoint: &Endpoint,
        request: Request<Full<Bytes>>,
    ) -> Result<RawResponse, ClientError> {
        let transport_error = |err: &(dyn StdError + 'static)| ClientError::Transport {
            endpoint: endpoint.to_string(),
            message: error_chain(err),
        };
        let response = self.http.request(request).await.map_err(|err| {
            // The pool's own wrapper ("client error (Connect)") says less than its cause.
            match (err.is_connect(), err.source()) {
                (true, Some(cause)) => {
                    ClientError::Connect { endpoint: endpoint.to_string(), message: error_chain(cause) }
                }
                (true, None) => {
                    ClientError::Connect { endpoint: endpoint.to_string(), message: err.to_string() }
                }
                _ => transport_error(&err),
            }
        })?;
        let status = response.status();
        let server_request_id = response
            .headers()
            .get(AMZN_REQUEST_ID_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let limited = Limited::new(response.into_body(), self.max_response_bytes);
        let body = match limited.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(err) if err.is::<http_body_util::LengthLimitError>() => {
                return Err(ClientError::ResponseTooLarge { limit: self.max_response_bytes })
            }
            Err(err) => return Err(transport_error(err.as_ref())),
        };
        Ok(RawResponse { status, server_request_id, body })
    }
}

/// An error and its causes on one line, e.g. `client error (Connect): tcp connect error:
/// Connection refused (os error 111)`.
fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_requests_verify_with_the_node_s_verifier_and_unsigned_ones_carry_no_signature() {
        let signing = crate::client::Signing::new("TRNTEXAMPLE0000001", "example-secret-key", "us-east-1");
        let transport = Transport::new(Duration::from_secs(1), Duration::from_secs(1), 1024, None)
            .unwrap()
            .with_signing(Some(signing));
        let endpoint = Endpoint::parse("http://127.0.0.1:8400").unwrap();
        for spec in [kms_spec(), RequestSpec { path: "/v1/sys/cluster?verbose=1".into(), ..kms_spec() }] {
            let request = transport.build_request(&endpoint, &spec).unwrap();
            let headers: Vec<(&str, &[u8])> =
                request.headers().iter().map(|(name, value)| (name.as_str(), value.as_bytes())).collect();
            let (path, query) = spec.path.split_once('?').unwrap_or((spec.path.as_str(), ""));
            let view = trent_sigv4::SignedRequest {
                method: "POST",
                path,
                query,
                headers: &headers,
                body: &spec.body,
            };
            let store = |id: &str| {
                (id == "TRNTEXAMPLE0000001").then(|| zeroize::Zeroizing::new("example-secret-key".to_owned()))
            };
            let verifier = trent_sigv4::SigV4Verifier::new("us-east-1", "kms");
            let principal = verifier.verify(&view, std::time::SystemTime::now(), &store).unwrap();
            assert_eq!(principal.access_key_id, "TRNTEXAMPLE0000001");
        }
        let unsigned = Transport::new(Duration::from_secs(1), Duration::from_secs(1), 1024, None).unwrap();
        assert!(unsigned
            .build_request(&endpoint, &kms_spec())
            .unwrap()
            .headers()
            .get(AUTHORIZATION)
            .is_none());
    }

    fn kms_spec() -> RequestSpec {
        RequestSpec {
            method: Method::POST,
            path: "/".into(),
            target: Some(HeaderValue::from_static("TrentService.CreateKey")),
            body: Bytes::from_static(b"{}"),
            request_id: Some(HeaderValue::from_static("0f0e")),
        }
    }

    #[tokio::test]
    async fn kms_request_carries_target_content_type_and_request_id() {
        let transport = Transport::new(Duration::from_secs(1), Duration::from_secs(1), 1024, None).unwrap();
        let endpoint = Endpoint::parse("http://127.0.0.1:8400").unwrap();
        let request = transport.build_request(&endpoint, &kms_spec()).unwrap();
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.uri().to_string(), "http://127.0.0.1:8400/");
        let headers = request.headers();
        assert_eq!(headers[TARGET_HEADER], "TrentService.CreateKey");
        assert_eq!(headers[CONTENT_TYPE], AMZ_JSON);
        assert_eq!(headers[REQUEST_ID_HEADER], "0f0e");
    }

    #[tokio::test]
    async fn admin_get_has_no_kms_headers() {
        let transport = Transport::new(Duration::from_secs(1), Duration::from_secs(1), 1024, None).unwrap();
        let endpoint = Endpoint::parse("http://127.0.0.1:8400").unwrap();
        let spec = RequestSpec {
            method: Method::GET,
            path: "/v1/sys/health".into(),
            target: None,
            body: Bytes::new(),
            request_id: None,
        };
        let request = transport.build_request(&endpoint, &spec).unwrap();
        assert!(request.headers().get(TARGET_HEADER).is_none());
        assert!(request.headers().get(CONTENT_TYPE).is_none());
        assert_eq!(request.uri().path(), "/v1/sys/health");
    }

    #[tokio::test]
    async fn refused_connection_is_a_retryable_connect_error() {
        // Bind then drop a listener so the port is (very likely) closed.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let transport = Transport::new(Duration::from_secs(5), Duration::from_secs(1), 1024, None).unwrap();
        let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let err = transport.send(&endpoint, &kms_spec()).await.unwrap_err();
        assert!(matches!(err, ClientError::Connect { .. }), "{err:?}");
        assert!(err.is_retryable());
    }
}
