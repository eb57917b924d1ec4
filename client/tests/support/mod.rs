//! A scripted HTTP server on loopback standing in for a Trent node: it records every request and
//! answers each with whatever the test's responder returns.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A request as the fake node saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub target: Option<String>,
    pub content_type: Option<String>,
    pub request_id: Option<String>,
    pub body: serde_json::Value,
    /// The body exactly as sent.
    #[allow(dead_code)] // not every test binary reads it
    pub text: String,
}

/// What the fake node answers.
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn ok(body: serde_json::Value) -> Reply {
        Reply { status: 200, body: body.to_string(), delay: Duration::ZERO }
    }

    pub fn error(status: u16, error_type: &str, message: &str) -> Reply {
        let body = serde_json::json!({"__type": error_type, "message": message});
        Reply { status, body: body.to_string(), delay: Duration::ZERO }
    }
}

type Responder = dyn Fn(&Seen) -> Reply + Send + Sync;

/// A running fake node.
pub struct FakeNode {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeNode {
    /// Starts a node answering every request with `respond`.
    pub async fn start(respond: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> FakeNode {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let respond: Arc<Responder> = Arc::new(respond);
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let respond = respond.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let respond = respond.clone();
                        let log = log.clone();
                        async move { Ok::<_, Infallible>(handle(request, &*respond, &log).await) }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        FakeNode { addr, seen }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn handle(
    request: Request<Incoming>,
    respond: &Responder,
    log: &Mutex<Vec<Seen>>,
) -> Response<Full<Bytes>> {
    let header = |name: &str| request.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let target = header("x-amz-target");
    let content_type = header("content-type");
    let request_id = header("x-trent-request-id");
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let bytes = request.into_body().collect().await.unwrap().to_bytes();
    let body =
        if bytes.is_empty() { serde_json::Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let seen = Seen { method, path, target, content_type, request_id, body, text };
    log.lock().unwrap().push(seen.clone());
    let reply = respond(&seen);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap())
        .header("x-amzn-RequestId", "fake-request")
        .body(Full::new(Bytes::from(reply.body)))
        .unwrap()
}

/// A closed loopback port: nothing listens there.
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// A KeyMetadataResponse body for key `id`.
pub fn key_metadata(id: &str) -> serde_json::Value {
    serde_json::json!({"KeyMetadata": {
        "AWSAccountId": "111122223333",
        "KeyId": id,
        "Arn": format!("arn:aws:kms:us-east-1:111122223333:key/{id}"),
        "CreationDate": 1700000000.0,
        "Enabled": true,
        "Description": "",
        "KeyUsage": "ENCRYPT_DECRYPT",
        "KeyState": "Enabled",
        "Origin": "AWS_KMS",
        "KeyManager": "CUSTOMER",
        "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
        "KeySpec": "SYMMETRIC_DEFAULT",
        "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
        "MultiRegion": false
    }})
}
