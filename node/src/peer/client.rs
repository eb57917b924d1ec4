//! HTTP client for the peer API: one keep-alive connection pool shared by Raft replication and
//! forwarded operations, with a timeout on every call and a cap on every response. Over mutual
//! TLS when the node has TLS (it presents its own certificate and trusts only the cluster CA).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::protocol::MAX_PEER_BODY_BYTES;

/// Why a peer call failed.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The peer could not be reached or the connection broke.
    #[error("peer {addr} unreachable: {reason}")]
    Unreachable {
        /// The peer.
        addr: String,
        /// What went wrong.
        reason: String,
    },
    /// The peer did not answer in time.
    #[error("peer {addr} did not answer within {timeout:?}")]
    Timeout {
        /// The peer.
        addr: String,
        /// The limit.
        timeout: Duration,
    },
    /// The peer answered with a non-200 status.
    #[error("peer {addr} answered HTTP {status}")]
    Status {
        /// The peer.
        addr: String,
        /// The status.
        status: u16,
    },
}

/// A pooled HTTP client for peers.
#[derive(Clone)]
pub struct PeerClient {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    scheme: &'static str,
    /// The plaintext cluster's shared secret: every POST carries its MAC (see [`super::auth`]).
    auth: Option<std::sync::Arc<super::auth::PeerSecret>>,
}

impl PeerClient {
    /// A client with keep-alive pooling: plain HTTP without `tls`, HTTPS only with it.
    pub fn new(tls: Option<std::sync::Arc<rustls::ClientConfig>>) -> Result<PeerClient, rustls::Error> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_millis(500)));
        connector.enforce_http(false);
        let (connector, scheme) = match tls {
            Some(config) => (
                HttpsConnectorBuilder::new()
                    .with_tls_config((*config).clone())
                    .https_only()
                    .enable_http1()
                    .wrap_connector(connector),
                "https",
            ),
            None => (
                HttpsConnectorBuilder::new()
                    .with_tls_config(plain_only_tls_config()?)
                    .https_or_http()
                    .enable_http1()
                    .wrap_connector(connector),
                "http",
            ),
        };
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(20))
            .pool_max_idle_per_host(32)
            .build(connector);
        Ok(PeerClient { http, scheme, auth: None })
    }

    /// This client, signing every POST with `secret` (plaintext peers).
    pub fn with_peer_secret(mut self, secret: std::sync::Arc<super::auth::PeerSecret>) -> PeerClient {
        self.auth = Some(secret);
        self
    }

    /// `scheme://addr/path` for this client's scheme.
    fn url(&self, addr: &str, path: &str) -> String {
        format!("{}://{addr}{path}", self.scheme)
    }

    /// POSTs `body` to `<addr><path>` and returns the response body.
    pub async fn post(
        &self,
        addr: &str,
        path: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Bytes, PeerError> {
        let (status, body) = self.post_any_status(addr, path, body, timeout).await?;
        ok_body(addr, status, body)
    }

    /// POSTs `body` to `<addr><path>` and returns the status and body, whatever the status.
    pub async fn post_any_status(
        &self,
        addr: &str,
        path: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<(u16, Bytes), PeerError> {
        let mut request = hyper::Request::post(self.url(addr, path))
            .header(hyper::header::CONTENT_TYPE, "application/octet-stream");
        if let Some(secret) = &self.auth {
            let mac = secret.sign("POST", path, &body, std::time::SystemTime::now());
            request = request.header(super::auth::PEER_AUTH_HEADER, mac);
        }
        let request = request.body(Full::new(Bytes::from(body)));
        self.exchange(addr, request, timeout).await
    }

    /// GETs `<addr><path>` and returns the response body.
    pub async fn get(&self, addr: &str, path: &str, timeout: Duration) -> Result<Bytes, PeerError> {
        let (status, body) = self.get_any_status(addr, path, timeout).await?;
        ok_body(addr, status, body)
    }

    /// GETs `<addr><path>` and returns the status and body, whatever the status (a health
    /// endpoint answers 503 with a body that says why).
    pub async fn get_any_status(
        &self,
        addr: &str,
        path: &str,
        timeout: Duration,
    ) -> Result<(u16, Bytes), PeerError> {
        let request = hyper::Request::get(self.url(addr, path)).body(Full::new(Bytes::new()));
        self.exchange(addr, request, timeout).await
    }

    async fn exchange(
        &self,
        addr: &str,
        request: Result<hyper::Request<Full<Bytes>>, hyper::http::Error>,
        timeout: Duration,
    ) -> Result<(u16, Bytes), PeerError> {
        let unreachable = |reason: String| PeerError::Unreachable { addr: addr.to_owned(), reason };
        let request = request.map_err(|e| unreachable(e.to_string()))?;
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| unreachable(e.to_string()))?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), MAX_PEER_BODY_BYTES)
                .collect()
                .await
                .map_err(|e| unreachable(e.to_string()))?
                .to_bytes();
            Ok((status, body))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(PeerError::Timeout { addr: addr.to_owned(), timeout }),
        }
    }
}

fn ok_body(addr: &str, status: u16, body: Bytes) -> Result<Bytes, PeerError> {
    if status == 200 {
        Ok(body)
    } else {
        Err(PeerError::Status { addr: addr.to_owned(), status })
    }
}

/// The TLS config of a plain-HTTP client: never used (its URLs are all `http://`), but the
/// connector type is the same either way so that one pool type serves both modes. It trusts
/// nothing, so even a stray `https://` URL could not connect.
fn plain_only_tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth())
}
