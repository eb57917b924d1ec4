//! A pooled plain-HTTP client for the peers' own protocols (OpenBao transit, etcd's JSON
//! gateway, the echo ceiling): round-robin over endpoints, a timeout per call and a cap on every
//! response body.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Largest response body read.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A pool over several `http://host:port` endpoints.
pub struct RawHttp {
    client: Client<HttpConnector, Full<Bytes>>,
    endpoints: Vec<String>,
    next: AtomicUsize,
    timeout: Duration,
}

impl RawHttp {
    /// A pool for `endpoints` (`http://host:port`, no trailing slash).
    pub fn new(endpoints: &[String], timeout: Duration) -> anyhow::Result<RawHttp> {
        anyhow::ensure!(!endpoints.is_empty(), "no endpoints");
        for endpoint in endpoints {
            anyhow::ensure!(
                endpoint.starts_with("http://"),
                "{endpoint}: peers are measured over plain http://"
            );
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(4096).build(connector);
        let endpoints = endpoints.iter().map(|e| e.trim_end_matches('/').to_owned()).collect();
        Ok(RawHttp { client, endpoints, next: AtomicUsize::new(0), timeout })
    }

    /// Sends `method path` with `headers` and `body` to the next endpoint; the status and body, or
    /// an error type (`ConnectError`, `Timeout`, `TransportError`).
    pub async fn send(
        &self,
        method: hyper::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<(u16, Bytes), String> {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.endpoints.len();
        let mut request =
            hyper::Request::builder().method(method).uri(format!("{}{path}", self.endpoints[index]));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body)).map_err(|_| "InvalidRequest".to_owned())?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|error| {
                if error.is_connect() { "ConnectError" } else { "TransportError" }.to_owned()
            })?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|_| "TransportError".to_owned())?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(self.timeout, exchange).await.map_err(|_| "Timeout".to_owned())?
    }

    /// [`send`](Self::send), with any status but 2xx reported as `HTTP <status>`.
    pub async fn send_ok(
        &self,
        method: hyper::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Bytes, String> {
        let (status, body) = self.send(method, path, headers, body).await?;
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(format!("HTTP {status}"))
        }
    }
}
