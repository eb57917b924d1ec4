//! HTTP client for the peer API: one keep-alive connection pool shared by Raft replication and
//! forwarded operations, with a timeout on every call and a cap on every response.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
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
    http: Client<HttpConnector, Full<Bytes>>,
}

impl Default for PeerClient {
    fn default() -> Self {
        Self::new()
    }
}

impl PeerClient {
    /// A client with keep-alive pooling.
    pub fn new() -> PeerClient {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_millis(500)));
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(20))
            .pool_max_idle_per_host(32)
            .build(connector);
        PeerClient { http }
    }

    /// POSTs `body` to `http://<addr><path>` and returns the response body.
    pub async fn post(
        &self,
        addr: &str,
        path: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Bytes, PeerError> {
        let request = hyper::Request::post(format!("http://{addr}{path}"))
            .header(hyper::header::CONTENT_TYPE, "application/octet-stream")
            .body(Full::new(Bytes::from(body)));
        self.exchange(addr, request, timeout).await
    }

    /// GETs `http://<addr><path>` and returns the response body.
    pub async fn get(&self, addr: &str, path: &str, timeout: Duration) -> Result<Bytes, PeerError> {
        let request = hyper::Request::get(format!("http://{addr}{path}")).body(Full::new(Bytes::new()));
        self.exchange(addr, request, timeout).await
    }

    async fn exchange(
        &self,
        addr: &str,
        request: Result<hyper::Request<Full<Bytes>>, hyper::http::Error>,
        timeout: Duration,
    ) -> Result<Bytes, PeerError> {
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
            if status != 200 {
                return Err(PeerError::Status { addr: addr.to_owned(), status });
            }
            Ok(body)
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(PeerError::Timeout { addr: addr.to_owned(), timeout }),
        }
    }
}
