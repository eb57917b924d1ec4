//! The KMS protocol below the typed client, on one in-process node: HTTP/1.1 written by hand so
//! tests can send what no SDK would (no target, broken JSON, oversized or chunked bodies) and
//! see every status code and header that comes back.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::time::Duration;

use serde_json::Value;
use support::InProcessNode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The KMS request body cap (384 KiB: what the protocol needs, see `trent_wire::limits`).
const BODY_CAP: usize = trent_wire::limits::MAX_KMS_REQUEST_BODY_BYTES;
const AMZ_JSON: &str = "application/x-amz-json-1.1";

/// A response as it came off the socket.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!("body is not JSON ({error}): {:?}", String::from_utf8_lossy(&self.body))
        })
    }

    /// The `__type` of an AWS error body.
    fn error_type(&self) -> String {
        let body = self.json();
        assert!(body["message"].is_string(), "an error body carries a message: {body}");
        body["__type"].as_str().unwrap_or_else(|| panic!("no __type in {body}")).to_owned()
    }

    /// The `x-amzn-RequestId`, which every response must carry, as a UUID.
    fn request_id(&self) -> uuid::Uuid {
        let value =
            self.header("x-amzn-RequestId").unwrap_or_else(|| panic!("no x-amzn-RequestId: {self:?}"));
        uuid::Uuid::parse_str(value).unwrap_or_else(|_| panic!("x-amzn-RequestId {value:?} is not a UUID"))
    }
}

/// One request on a fresh connection (`Connection: close`); the body is written by a separate
/// task so a server that answers before reading it all cannot deadlock the test, and write
/// errors after the server has answered are ignored.
async fn exchange(addr: &str, head: String, body: Vec<u8>) -> RawResponse {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    // The write half is handed back, not dropped: dropping it half-closes the connection, and
    // the server drops a connection whose client stopped sending before it has answered.
    let write = tokio::spawn(async move {
        let sent = async {
            writer.write_all(head.as_bytes()).await?;
            writer.write_all(&body).await?;
            writer.flush().await
        }
        .await;
        (writer, sent)
    });
    let mut raw = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), reader.read_to_end(&mut raw)).await;
    assert!(read.is_ok(), "no complete response within 15 s; got {:?}", String::from_utf8_lossy(&raw));
    drop(write.await);
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> RawResponse {
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..split]).expect("response head is text");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let length = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.parse::<usize>().ok());
    if let Some(length) = length {
        assert!(body.len() >= length, "truncated body: {} of {length} bytes", body.len());
        body.truncate(length);
    }
    RawResponse { status, headers, body }
}

/// A request head with the given extra header lines (each `Name: value`).
fn request_head(method: &str, path: &str, addr: &str, extra: &[String]) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for line in extra {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head
}

struct Node {
    node: InProcessNode,
    addr: String,
}

impl Node {
    async fn start() -> Node {
        let node = InProcessNode::start().await;
        let addr = node.endpoint.trim_start_matches("http://").to_owned();
        Node { node, addr }
    }

    /// `POST /` with an optional `X-Amz-Target` (`TrentService.` is not added) and extra headers,
    /// signed as the administrator.
    async fn post(&self, target: Option<&str>, body: &[u8], extra: &[String]) -> RawResponse {
        let mut headers = vec![format!("Content-Type: {AMZ_JSON}")];
        headers.extend(target.map(|target| format!("X-Amz-Target: {target}")));
        headers.extend(extra.iter().cloned());
        headers.extend(self.signature("POST", "/", &headers, body));
        headers.push(format!("Content-Length: {}", body.len()));
        exchange(&self.addr, request_head("POST", "/", &self.addr, &headers), body.to_vec()).await
    }

    /// SigV4 header lines for a request with `headers` (`Name: value` lines) plus `Host`.
    fn signature(&self, method: &str, path: &str, headers: &[String], body: &[u8]) -> Vec<String> {
        let mut pairs: Vec<(String, String)> = vec![("host".into(), self.addr.clone())];
        for line in headers {
            if let Some((name, value)) = line.split_once(':') {
                pairs.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let view: Vec<(&str, &[u8])> =
            pairs.iter().map(|(name, value)| (name.as_str(), value.as_bytes())).collect();
        let request = trent_sigv4::SignedRequest { method, path, query: "", headers: &view, body };
        let signature = trent_sigv4::sign(
            &request,
            &self.node.signing.credentials,
            "us-east-1",
            "kms",
            std::time::SystemTime::now(),
        )
        .expect("sign");
        vec![
            format!("X-Amz-Date: {}", signature.x_amz_date),
            format!("X-Amz-Content-Sha256: {}", signature.x_amz_content_sha256),
            format!("Authorization: {}", signature.authorization),
        ]
    }

    /// The head of a `POST /` calling `target`, signed (over an empty body) as the
    /// administrator, with `extra` header lines: what the server checks before reading a body.
    fn signed_head(&self, target: &str, extra: &[String]) -> String {
        let mut headers = vec![format!("Content-Type: {AMZ_JSON}"), format!("X-Amz-Target: {target}")];
        headers.extend(self.signature("POST", "/", &headers, b""));
        headers.extend(extra.iter().cloned());
        request_head("POST", "/", &self.addr, &headers)
    }

    /// `POST /` calling `TrentService.<operation>`.
    async fn kms(&self, operation: &str, body: &str) -> RawResponse {
        self.post(Some(&format!("TrentService.{operation}")), body.as_bytes(), &[]).await
    }

    async fn get(&self, path: &str) -> RawResponse {
        let headers = self.signature("GET", path, &[], b"");
        exchange(&self.addr, request_head("GET", path, &self.addr, &headers), Vec::new()).await
    }

    async fn stop(self) {
        self.node.stop().await;
    }
}

#[track_caller]
fn assert_error(response: &RawResponse, status: u16, error_type: &str) {
    assert_eq!(response.status, status, "{response:?}");
    assert_eq!(response.error_type(), error_type, "{:?}", String::from_utf8_lossy(&response.body));
    assert_eq!(response.header("content-type"), Some(AMZ_JSON));
    response.request_id();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_well_formed_call_answers_200_with_amz_json() {
    let node = Node::start().await;
    let response = node.kms("CreateKey", r#"{"Description": "raw"}"#).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.header("content-type"), Some(AMZ_JSON));
    assert_eq!(response.json()["KeyMetadata"]["Description"], "raw");
    response.request_id();
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_target_is_an_unknown_operation() {
    let node = Node::start().await;
    for target in
        ["TrentService.Frobnicate", "TrentService.", "KMS.CreateKey", "CreateKey", "trentservice.ListKeys"]
    {
        let response = node.post(Some(target), b"{}", &[]).await;
        assert_error(&response, 400, "UnknownOperationException");
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_target_is_an_unknown_operation() {
    let node = Node::start().await;
    let response = node.post(None, b"{}", &[]).await;
    assert_error(&response, 400, "UnknownOperationException");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_calls_are_post_to_the_root_only() {
    // Signed, so that what is refused is the path, not the caller.
    let node = Node::start().await;
    assert_error(&node.get("/").await, 400, "UnknownOperationException");
    let mut headers = vec!["X-Amz-Target: TrentService.ListKeys".to_owned()];
    headers.extend(node.signature("POST", "/keys", &headers, b"{}"));
    headers.push("Content-Length: 2".into());
    let head = request_head("POST", "/keys", &node.addr, &headers);
    assert_error(&exchange(&node.addr, head, b"{}".to_vec()).await, 400, "UnknownOperationException");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_a_serialization_error() {
    let node = Node::start().await;
    for body in [r#"{"KeyId": "#, "not json", r#"{"KeyId": "a",}"#, "[]", "null", "\"KeyId\""] {
        let response = node.kms("DescribeKey", body).await;
        assert_error(&response, 400, "SerializationException");
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_of_the_wrong_type_is_a_serialization_error() {
    let node = Node::start().await;
    for (operation, body) in [
        ("ListKeys", r#"{"Limit": "x"}"#),
        ("ListKeys", r#"{"Limit": 1.5}"#),
        ("ListKeys", "[5]"),
        ("DescribeKey", r#"{"KeyId": 5}"#),
        ("DescribeKey", r#"{"KeyId": ["a"]}"#),
        ("TagResource", r#"{"KeyId": "k", "Tags": "t"}"#),
    ] {
        assert_error(&node.kms(operation, body).await, 400, "SerializationException");
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_required_field_is_a_validation_error() {
    let node = Node::start().await;
    for (operation, body, field) in [
        ("DescribeKey", "{}", "'keyId'"),
        ("DescribeKey", "", "'keyId'"),
        ("CreateAlias", r#"{"AliasName": "alias/x"}"#, "'targetKeyId'"),
        ("TagResource", r#"{"KeyId": "k"}"#, "'tags'"),
    ] {
        let response = node.kms(operation, body).await;
        assert_error(&response, 400, "ValidationException");
        let message = response.json()["message"].as_str().expect("message").to_owned();
        assert!(message.contains(field) && message.contains("must not be null"), "{operation}: {message}");
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_operations_are_served_and_check_their_requests() {
    let node = Node::start().await;
    let created = node.kms("CreateKey", "{}").await.json();
    let key_id = created["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let id = |body: &str| body.replace("@id", &key_id);
    let served = [
        ("EnableKeyRotation", id(r#"{"KeyId": "@id"}"#), "{}"),
        ("EnableKeyRotation", id(r#"{"KeyId": "@id", "RotationPeriodInDays": 90}"#), "{}"),
        ("DisableKeyRotation", id(r#"{"KeyId": "@id"}"#), "{}"),
        ("GetKeyRotationStatus", id(r#"{"KeyId": "@id"}"#), "KeyRotationEnabled"),
        ("RotateKeyOnDemand", id(r#"{"KeyId": "@id"}"#), "KeyId"),
        (
            "ListKeyRotations",
            id(r#"{"KeyId": "@id", "IncludeKeyMaterial": "ALL_KEY_MATERIAL", "Limit": 1000}"#),
            "Rotations",
        ),
    ];
    for (operation, body, field) in &served {
        let response = node.kms(operation, body).await;
        assert_eq!(response.status, 200, "{operation} {body}: {:?}", response.json());
        if *field != "{}" {
            assert!(response.json().get(field).is_some(), "{operation}: {:?}", response.json());
        }
        assert_error(&node.kms(operation, "{}").await, 400, "ValidationException");
        assert_error(&node.kms(operation, "not json").await, 400, "SerializationException");
        let unknown_key = body.replace(&key_id, &uuid::Uuid::new_v4().to_string());
        assert_error(&node.kms(operation, &unknown_key).await, 400, "NotFoundException");
    }
    let listed = node
        .kms("ListKeyRotations", &id(r#"{"KeyId": "@id", "IncludeKeyMaterial": "ALL_KEY_MATERIAL"}"#))
        .await;
    assert_eq!(
        listed.json()["Rotations"].as_array().map(Vec::len),
        Some(2),
        "the first material and one rotation"
    );
    let alias = id(r#"{"AliasName": "alias/app", "TargetKeyId": "@id"}"#);
    assert_eq!(node.kms("CreateAlias", &alias).await.status, 200);
    let invalid = [
        (
            "EnableKeyRotation",
            id(r#"{"KeyId": "@id", "RotationPeriodInDays": 89}"#),
            "'rotationPeriodInDays'",
        ),
        (
            "EnableKeyRotation",
            id(r#"{"KeyId": "@id", "RotationPeriodInDays": 2561}"#),
            "'rotationPeriodInDays'",
        ),
        ("ListKeyRotations", id(r#"{"KeyId": "@id", "Limit": 0}"#), "'limit'"),
        ("ListKeyRotations", id(r#"{"KeyId": "@id", "IncludeKeyMaterial": "ALL"}"#), "'includeKeyMaterial'"),
        ("ListKeyRotations", id(r#"{"KeyId": "@id", "Marker": ""}"#), "'marker'"),
        (
            "GetParametersForImport",
            id(
                r#"{"KeyId": "@id", "WrappingAlgorithm": "RSAES_OAEP_SHA_512", "WrappingKeySpec": "RSA_2048"}"#,
            ),
            "'wrappingAlgorithm'",
        ),
        (
            "GetParametersForImport",
            id(r#"{"KeyId": "@id", "WrappingAlgorithm": "RSAES_OAEP_SHA_256"}"#),
            "'wrappingKeySpec'",
        ),
        (
            "ImportKeyMaterial",
            id(r#"{"KeyId": "@id", "ImportToken": "", "EncryptedKeyMaterial": "d3JhcHBlZA=="}"#),
            "'importToken'",
        ),
        (
            "ImportKeyMaterial",
            id(
                r#"{"KeyId": "@id", "ImportToken": "dG9rZW4=", "EncryptedKeyMaterial": "d3JhcHBlZA==", "ImportType": "NEW"}"#,
            ),
            "'importType'",
        ),
        ("DeleteImportedKeyMaterial", id(r#"{"KeyId": "@id", "KeyMaterialId": "ABC"}"#), "'keyMaterialId'"),
        ("RotateKeyOnDemand", r#"{"KeyId": "alias/app"}"#.to_owned(), "alias"),
    ];
    for (operation, body, field) in &invalid {
        let response = node.kms(operation, body).await;
        assert_error(&response, 400, "ValidationException");
        let message = response.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains(field), "{operation} {body}: {message}");
    }
    let wrong_type = id(r#"{"KeyId": "@id", "RotationPeriodInDays": "ninety"}"#);
    assert_error(&node.kms("EnableKeyRotation", &wrong_type).await, 400, "SerializationException");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_operations_check_their_requests_and_refuse_keys_trent_made() {
    let node = Node::start().await;
    let created = node.kms("CreateKey", "{}").await.json();
    let key_id = created["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let id = |body: &str| body.replace("@id", &key_id);
    let material_id = "ab".repeat(32);
    let well_formed = [
        (
            "GetParametersForImport",
            id(
                r#"{"KeyId": "@id", "WrappingAlgorithm": "RSA_AES_KEY_WRAP_SHA_256", "WrappingKeySpec": "RSA_4096"}"#,
            ),
        ),
        (
            "ImportKeyMaterial",
            id(r#"{"KeyId": "@id", "ImportToken": "dG9rZW4=", "EncryptedKeyMaterial": "d3JhcHBlZA==",
                   "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE", "KeyMaterialDescription": "hsm 1"}"#),
        ),
        (
            "DeleteImportedKeyMaterial",
            id(&format!(r#"{{"KeyId": "@id", "KeyMaterialId": "{material_id}"}}"#)),
        ),
    ];
    for (operation, body) in &well_formed {
        let response = node.kms(operation, body).await;
        assert_error(&response, 400, "UnsupportedOperationException");
        let message = response.json()["message"].as_str().unwrap().to_owned();
        assert!(
            message.contains("origin is AWS_KMS which is not valid for this operation"),
            "{operation}: {message}"
        );
        assert_error(&node.kms(operation, "{}").await, 400, "ValidationException");
        assert_error(&node.kms(operation, "not json").await, 400, "SerializationException");
        let unknown_key = body.replace(&key_id, &uuid::Uuid::new_v4().to_string());
        assert_error(&node.kms(operation, &unknown_key).await, 400, "NotFoundException");
    }
    let external = node.kms("CreateKey", r#"{"Origin": "EXTERNAL"}"#).await.json();
    assert_eq!(external["KeyMetadata"]["KeyState"], "PendingImport", "{external}");
    assert_eq!(external["KeyMetadata"]["Origin"], "EXTERNAL");
    let external_id = external["KeyMetadata"]["KeyId"].as_str().unwrap();
    let foreign_token = format!(
        r#"{{"KeyId": "{external_id}", "ImportToken": "dG9rZW4=", "EncryptedKeyMaterial": "d3JhcHBlZA==", "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}}"#
    );
    assert_error(&node.kms("ImportKeyMaterial", &foreign_token).await, 400, "InvalidImportTokenException");
    let sm2 =
        format!(r#"{{"KeyId": "{external_id}", "WrappingAlgorithm": "SM2PKE", "WrappingKeySpec": "SM2"}}"#);
    assert_error(&node.kms("GetParametersForImport", &sm2).await, 400, "UnsupportedOperationException");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_body_reads_as_an_empty_object() {
    let node = Node::start().await;
    let response = node.kms("ListKeys", "").await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.json()["Truncated"], false);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_of_exactly_the_cap_is_read() {
    let node = Node::start().await;
    let mut body = vec![b' '; BODY_CAP];
    body[0] = b'{';
    body[BODY_CAP - 1] = b'}';
    let response = node.post(Some("TrentService.ListKeys"), &body, &[]).await;
    assert_eq!(response.status, 200, "{response:?}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_cap_is_refused_with_413() {
    let node = Node::start().await;
    let mut body = vec![b' '; BODY_CAP + 1];
    body[0] = b'{';
    body[BODY_CAP] = b'}';
    let response = node.post(Some("TrentService.ListKeys"), &body, &[]).await;
    assert_error(&response, 413, "RequestEntityTooLargeException");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_length_over_the_cap_is_refused_before_the_body_is_sent() {
    let node = Node::start().await;
    let head = node.signed_head("TrentService.CreateKey", &[format!("Content-Length: {}", 64 * BODY_CAP)]);
    let response = exchange(&node.addr, head, Vec::new()).await;
    assert_error(&response, 413, "RequestEntityTooLargeException");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_over_the_cap_is_refused_with_413() {
    let node = Node::start().await;
    let chunk = vec![b' '; 64 * 1024];
    let mut body = b"1\r\n{\r\n".to_vec();
    for _ in 0..(BODY_CAP / chunk.len() + 1) {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(&chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"1\r\n}\r\n0\r\n\r\n");
    let head = node.signed_head("TrentService.CreateKey", &["Transfer-Encoding: chunked".to_owned()]);
    let response = exchange(&node.addr, head, body).await;
    assert_error(&response, 413, "RequestEntityTooLargeException");
    let keys = node.node.client().list_all_keys().await.expect("ListKeys");
    assert!(keys.is_empty(), "nothing was created: {keys:?}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_a_fresh_request_id() {
    let node = Node::start().await;
    let mut seen = std::collections::HashSet::new();
    let responses = [
        node.kms("CreateKey", "{}").await,
        node.kms("ListKeys", "{}").await,
        node.kms("DescribeKey", r#"{"KeyId": "alias/none"}"#).await,
        node.kms("DescribeKey", "{").await,
        node.kms("Frobnicate", "{}").await,
        node.post(None, b"{}", &[]).await,
        node.get("/v1/sys/health").await,
        node.get("/v1/sys/nothing-here").await,
        node.get("/").await,
        exchange(
            &node.addr,
            node.signed_head("TrentService.ListKeys", &[format!("Content-Length: {}", 2 * BODY_CAP)]),
            Vec::new(),
        )
        .await,
    ];
    for response in &responses {
        assert!(seen.insert(response.request_id()), "request ids are unique: {response:?}");
    }
    assert_eq!(responses[0].status, 200);
    assert_eq!(responses[6].status, 200);
    assert_eq!(responses[9].status, 413);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_idempotency_header_creates_one_key() {
    let node = Node::start().await;
    let idempotency = [format!("x-trent-request-id: {}", uuid::Uuid::new_v4())];
    let first = node.post(Some("TrentService.CreateKey"), b"{}", &idempotency).await;
    let second = node.post(Some("TrentService.CreateKey"), b"{}", &idempotency).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(second.status, 200, "{second:?}");
    let key_id = first.json()["KeyMetadata"]["KeyId"].clone();
    assert!(key_id.is_string());
    assert_eq!(second.json()["KeyMetadata"]["KeyId"], key_id);
    assert_ne!(first.request_id(), second.request_id(), "each response has its own x-amzn-RequestId");

    let listed = node.kms("ListKeys", "{}").await.json();
    let keys = listed["Keys"].as_array().expect("Keys");
    assert_eq!(keys.len(), 1, "{listed}");
    assert_eq!(keys[0]["KeyId"], key_id);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_header_must_be_a_uuid() {
    let node = Node::start().await;
    let response =
        node.post(Some("TrentService.CreateKey"), b"{}", &["x-trent-request-id: retry-1".to_owned()]).await;
    assert_error(&response, 400, "ValidationException");
    let listed = node.kms("ListKeys", "{}").await.json();
    assert_eq!(listed["Keys"].as_array().map(Vec::len), Some(0), "{listed}");
    node.stop().await;
}

/// A ListKeys call signed with `credentials` for `region` at `at`, whose body may then be
/// swapped for `sent_body`.
async fn list_keys_signed(
    node: &Node,
    credentials: &trent_sigv4::Credentials,
    region: &str,
    at: std::time::SystemTime,
    sent_body: &[u8],
) -> RawResponse {
    let signed_body = b"{}";
    let mut headers =
        vec![format!("Content-Type: {AMZ_JSON}"), "X-Amz-Target: TrentService.ListKeys".to_owned()];
    let mut pairs: Vec<(String, String)> = vec![("host".into(), node.addr.clone())];
    for line in &headers {
        let (name, value) = line.split_once(':').expect("header");
        pairs.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let view: Vec<(&str, &[u8])> =
        pairs.iter().map(|(name, value)| (name.as_str(), value.as_bytes())).collect();
    let request = trent_sigv4::SignedRequest {
        method: "POST",
        path: "/",
        query: "",
        headers: &view,
        body: signed_body,
    };
    let signature = trent_sigv4::sign(&request, credentials, region, "kms", at).expect("sign");
    headers.push(format!("X-Amz-Date: {}", signature.x_amz_date));
    headers.push(format!("X-Amz-Content-Sha256: {}", trent_sigv4_hash(sent_body)));
    headers.push(format!("Authorization: {}", signature.authorization));
    headers.push(format!("Content-Length: {}", sent_body.len()));
    exchange(&node.addr, request_head("POST", "/", &node.addr, &headers), sent_body.to_vec()).await
}

/// The hex SHA-256 the client declares for a body (the signature still covers the original).
fn trent_sigv4_hash(body: &[u8]) -> String {
    let credentials =
        trent_sigv4::Credentials { access_key_id: "x".into(), secret_access_key: "y".to_owned().into() };
    let view =
        trent_sigv4::SignedRequest { method: "POST", path: "/", query: "", headers: &[("host", b"h")], body };
    trent_sigv4::sign(&view, &credentials, "r", "s", std::time::SystemTime::now())
        .expect("sign")
        .x_amz_content_sha256
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_calls_are_refused_but_health_and_status_answer() {
    let node = Node::start().await;
    let unsigned = exchange(
        &node.addr,
        request_head(
            "POST",
            "/",
            &node.addr,
            &["X-Amz-Target: TrentService.ListKeys".into(), "Content-Length: 2".into()],
        ),
        b"{}".to_vec(),
    )
    .await;
    assert_error(&unsigned, 400, "MissingAuthenticationTokenException");
    let cluster =
        exchange(&node.addr, request_head("GET", "/v1/sys/cluster", &node.addr, &[]), Vec::new()).await;
    assert_error(&cluster, 400, "MissingAuthenticationTokenException");
    for path in ["/v1/sys/health", "/v1/sys/status"] {
        let open = exchange(&node.addr, request_head("GET", path, &node.addr, &[]), Vec::new()).await;
        assert_eq!(open.status, 200, "{path}");
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_foreign_expired_and_unknown_signatures_are_refused() {
    let node = Node::start().await;
    let admin = node.node.signing.credentials.clone();
    let now = std::time::SystemTime::now();
    assert_eq!(
        list_keys_signed(&node, &admin, "us-east-1", now, b"{}").await.status,
        200,
        "a good signature"
    );

    let tampered = list_keys_signed(&node, &admin, "us-east-1", now, b"{ }").await;
    assert_error(&tampered, 400, "InvalidSignatureException");
    let wrong_region = list_keys_signed(&node, &admin, "eu-west-1", now, b"{}").await;
    assert_error(&wrong_region, 400, "InvalidSignatureException");
    let stale =
        list_keys_signed(&node, &admin, "us-east-1", now - std::time::Duration::from_secs(6 * 60), b"{}")
            .await;
    assert_error(&stale, 400, "InvalidSignatureException");
    assert!(stale.json()["message"].as_str().unwrap_or_default().contains("expired"), "{:?}", stale.json());
    let stranger = trent_sigv4::Credentials {
        access_key_id: "TRNTNOBODY0000000000".into(),
        secret_access_key: "nobody-knows-this".to_owned().into(),
    };
    assert_error(
        &list_keys_signed(&node, &stranger, "us-east-1", now, b"{}").await,
        400,
        "UnrecognizedClientException",
    );
    let wrong_secret =
        trent_sigv4::Credentials { secret_access_key: "wrong-secret".to_owned().into(), ..admin };
    assert_error(
        &list_keys_signed(&node, &wrong_secret, "us-east-1", now, b"{}").await,
        400,
        "InvalidSignatureException",
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_that_leaves_the_target_unsigned_cannot_be_replayed_as_another_operation() {
    let node = Node::start().await;
    let created = node.kms("CreateKey", "{}").await.json();
    let key_id = created["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let body = format!(r#"{{"KeyId":"{key_id}"}}"#);
    // Signed over host and x-amz-date only (legal SigV4), as a DescribeKey...
    let mut headers = node.signature("POST", "/", &[], body.as_bytes());
    headers.push(format!("Content-Length: {}", body.len()));
    headers.push(format!("Content-Type: {AMZ_JSON}"));
    for target in ["TrentService.DescribeKey", "TrentService.ScheduleKeyDeletion"] {
        let mut replayed = headers.clone();
        replayed.push(format!("X-Amz-Target: {target}"));
        let response =
            exchange(&node.addr, request_head("POST", "/", &node.addr, &replayed), body.as_bytes().to_vec())
                .await;
        assert_error(&response, 400, "InvalidSignatureException");
        assert!(response.json()["message"].as_str().unwrap().contains("not signed"), "{response:?}");
    }
    let described = node.kms("DescribeKey", &body).await.json();
    assert_eq!(described["KeyMetadata"]["KeyState"], "Enabled", "the replay changed nothing");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encryption_context_key_given_twice_is_refused_not_resolved() {
    let node = Node::start().await;
    let created = node.kms("CreateKey", "{}").await.json();
    let key_id = created["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    // serde's maps once kept the last value silently; top-level fields given twice were refused.
    let body = format!(
        r#"{{"KeyId":"{key_id}","Plaintext":"aGk=","EncryptionContext":{{"tenant":"a","tenant":"b"}}}}"#
    );
    let response = node.kms("Encrypt", &body).await;
    assert_error(&response, 400, "SerializationException");
    assert!(response.json()["message"].as_str().unwrap().contains("duplicate key `tenant`"), "{response:?}");
    let once = format!(r#"{{"KeyId":"{key_id}","Plaintext":"aGk=","EncryptionContext":{{"tenant":"a"}}}}"#);
    assert_eq!(node.kms("Encrypt", &once).await.status, 200);
    node.stop().await;
}
