//! Helpers for the KMS API tests: a started node with a client, request builders, and
//! assertions on AWS errors.

#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::InProcessNode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trent_client::{ClientError, Signing, TrentClient};
use trent_wire::kms::{
    AliasTargetRequest, CreateKeyRequest, KeyIdRequest, KeyMetadata, ListResourceTagsRequest,
    ScheduleKeyDeletionRequest, Tag,
};
use trent_wire::{ErrorCode, KmsError};

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "111122223333";
pub const SECONDS_PER_DAY: f64 = 24.0 * 60.0 * 60.0;

pub async fn start() -> (InProcessNode, TrentClient) {
    let node = InProcessNode::start().await;
    let client = node.client();
    (node, client)
}

/// The AWS error of a call that must fail with `expected`; panics on success or another error.
#[track_caller]
pub fn refused<T: std::fmt::Debug>(result: Result<T, ClientError>, expected: ErrorCode) -> KmsError {
    match result {
        Err(ClientError::Api(error)) if error.code == expected => error,
        other => panic!("expected {expected}, got {other:?}"),
    }
}

pub async fn create_key(client: &TrentClient) -> KeyMetadata {
    client.create_key(&CreateKeyRequest::default()).await.expect("CreateKey").key_metadata
}

pub async fn describe(client: &TrentClient, key_id: &str) -> KeyMetadata {
    client.describe_key(&key(key_id)).await.expect("DescribeKey").key_metadata
}

pub fn key(key_id: &str) -> KeyIdRequest {
    KeyIdRequest { key_id: key_id.to_owned(), grant_tokens: None }
}

pub fn tag(tag_key: &str, tag_value: &str) -> Tag {
    Tag { tag_key: tag_key.to_owned(), tag_value: tag_value.to_owned() }
}

pub fn alias(alias_name: &str, target_key_id: &str) -> AliasTargetRequest {
    AliasTargetRequest { alias_name: alias_name.to_owned(), target_key_id: target_key_id.to_owned() }
}

pub fn schedule(key_id: &str, days: Option<i64>) -> ScheduleKeyDeletionRequest {
    ScheduleKeyDeletionRequest { key_id: key_id.to_owned(), pending_window_in_days: days }
}

pub fn key_arn(key_id: &str) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}")
}

pub fn alias_arn(alias_name: &str) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT}:{alias_name}")
}

pub fn now_seconds() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after epoch").as_secs_f64()
}

/// Calls `operation` with a raw JSON body, for fields the typed requests cannot express.
pub async fn call_json(client: &TrentClient, operation: &str, body: Value) -> Result<Value, ClientError> {
    client.call(operation, &body).await
}

pub async fn tags_of(client: &TrentClient, key_id: &str) -> Vec<(String, String)> {
    let request = ListResourceTagsRequest { key_id: key_id.to_owned(), limit: None, marker: None };
    let page = client.list_resource_tags(&request).await.expect("ListResourceTags");
    page.tags.into_iter().map(|tag| (tag.tag_key, tag.tag_value)).collect()
}

/// A KMS call as raw HTTP/1.1 on a fresh connection, signed with `signing`, so the test sees the
/// HTTP status the typed client hides: the status and the JSON body.
pub async fn raw_call(endpoint: &str, signing: &Signing, operation: &str, body: &Value) -> (u16, Value) {
    raw_call_over(endpoint, None, signing, operation, body).await
}

/// [`raw_call`] to an `https://` endpoint (with `tls`) or an `http://` one (without).
pub async fn raw_call_over(
    endpoint: &str,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    signing: &Signing,
    operation: &str,
    body: &Value,
) -> (u16, Value) {
    let addr = endpoint.trim_start_matches("http://").trim_start_matches("https://");
    let body = serde_json::to_vec(body).expect("encode body");
    let target = format!("TrentService.{operation}");
    let content_type = "application/x-amz-json-1.1";
    let signed: Vec<(&str, &[u8])> = vec![
        ("host", addr.as_bytes()),
        ("content-type", content_type.as_bytes()),
        ("x-amz-target", target.as_bytes()),
    ];
    let request =
        trent_sigv4::SignedRequest { method: "POST", path: "/", query: "", headers: &signed, body: &body };
    let signature = trent_sigv4::sign(
        &request,
        &signing.credentials,
        &signing.region,
        "kms",
        std::time::SystemTime::now(),
    )
    .expect("sign");
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nX-Amz-Target: {target}\r\n\
         X-Amz-Date: {}\r\nX-Amz-Content-Sha256: {}\r\nAuthorization: {}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        signature.x_amz_date,
        signature.x_amz_content_sha256,
        signature.authorization,
        body.len()
    );
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let raw = match tls {
        None => exchange(stream, head.as_bytes(), &body).await,
        Some(config) => {
            let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host).to_owned();
            let name = rustls::pki_types::ServerName::try_from(host).expect("server name");
            let stream = tokio_rustls::TlsConnector::from(config).connect(name, stream).await.expect("TLS");
            exchange(stream, head.as_bytes(), &body).await
        }
    };
    let split = raw.windows(4).position(|window| window == b"\r\n\r\n").expect("response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|code| code.parse().ok()).expect("status code");
    let body = serde_json::from_slice(&raw[split + 4..])
        .unwrap_or_else(|error| panic!("body is not JSON ({error}): {head}"));
    (status, body)
}

/// Writes `head` and `body`, then reads until the server closes (the request says `close`).
async fn exchange<S>(mut stream: S, head: &[u8], body: &[u8]) -> Vec<u8>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    stream.write_all(head).await.expect("send head");
    stream.write_all(body).await.expect("send body");
    let mut raw = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(15), stream.read_to_end(&mut raw))
        .await
        .expect("response within 15 s");
    // A TLS peer that closes without close_notify still delivered the whole response.
    if let Err(error) = read {
        assert!(!raw.is_empty(), "read response: {error}");
    }
    raw
}
