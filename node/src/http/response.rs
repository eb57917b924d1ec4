//! Response builders: JSON bodies, AWS-style error bodies, and the `x-amzn-RequestId` header
//! every client API response carries.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde::Serialize;
use trent_wire::kms::CONTENT_TYPE as AMZ_JSON;
use trent_wire::{ErrorCode, KmsError};

/// The header naming a request in every response.
pub const REQUEST_ID_HEADER: &str = "x-amzn-RequestId";

/// A response with `body` serialised as JSON.
pub fn json<T: Serialize>(
    status: StatusCode,
    value: &T,
    content_type: &'static str,
) -> Response<Full<Bytes>> {
    match serde_json::to_vec(value) {
        Ok(body) => bytes(status, body, content_type),
        Err(error) => {
            kms_error(&KmsError::new(ErrorCode::Internal, format!("cannot encode response: {error}")))
        }
    }
}

/// A response whose body may hold secrets (a plaintext, a data key): the body's memory is
/// zeroized when hyper has sent it and drops the last reference.
pub fn secret_bytes(status: StatusCode, body: Vec<u8>, content_type: &'static str) -> Response<Full<Bytes>> {
    with_body(status, Bytes::from_owner(ZeroizedOnDrop(body)), content_type)
}

/// Bytes that zeroize themselves when dropped, as the owner of a [`Bytes`].
struct ZeroizedOnDrop(Vec<u8>);

impl AsRef<[u8]> for ZeroizedOnDrop {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for ZeroizedOnDrop {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// A response with raw bytes.
pub fn bytes(status: StatusCode, body: Vec<u8>, content_type: &'static str) -> Response<Full<Bytes>> {
    with_body(status, Bytes::from(body), content_type)
}

fn with_body(status: StatusCode, body: Bytes, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The AWS JSON error response for `error`.
pub fn kms_error(error: &KmsError) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&error.to_body()).unwrap_or_default();
    bytes(status, body, AMZ_JSON)
}

/// Adds the request id header.
pub fn with_request_id(mut response: Response<Full<Bytes>>, request_id: &str) -> Response<Full<Bytes>> {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}
