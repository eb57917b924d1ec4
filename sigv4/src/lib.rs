//! AWS Signature Version 4, as AWS KMS does it: the verifier Trent nodes run on every call and
//! the signer Trent's clients use, built on one canonical-request builder.
//!
//! [`SigV4Verifier::verify`] takes a framework-neutral view of a request whose body has been read
//! ([`SignedRequest`]), the server's clock, and a [`CredentialStore`], and returns the
//! authenticated [`Principal`] or an [`AuthError`] that names the AWS error to answer with. Only
//! `Authorization`-header signing is accepted: no presigned URLs, no session tokens, no unsigned
//! payloads. Authorisation (what the principal may do) is not this module's job.

mod authorization;
mod canonical;
mod crypto;
mod error;
mod signer;
mod signing_key_cache;
mod sigv4;
#[cfg(test)]
mod test_support;
mod timestamp;
#[cfg(test)]
mod vector_tests;

use zeroize::Zeroizing;

pub use authorization::{CredentialScope, MAX_SIGNED_HEADERS};
pub use canonical::{percent_decode, percent_encode};
pub use error::{AuthError, AuthErrorKind};
pub use signer::{sign, Credentials, SignatureHeaders};
pub use signing_key_cache::{CacheStats, SigningKeyCache, DEFAULT_CAPACITY};
pub use sigv4::{CheckedHead, SigV4Verifier, MAX_CLOCK_SKEW};
pub use timestamp::Timestamp;

/// A request as received, for verification. The caller bounds header count and sizes and the
/// body (≤ 1 MiB) before building this. Its `Debug` output shows header names and the body's
/// length only: bodies carry plaintext and `Authorization` a replayable signature.
#[derive(Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The method, as sent (`POST`).
    pub method: &'a str,
    /// The path as received, still percent-encoded (`/`, `/v1/a%20b`).
    pub path: &'a str,
    /// The raw query string without the `?`, or `""`.
    pub query: &'a str,
    /// Every header as received, names in any case, repeated names repeated. Must include
    /// `host` (for HTTP/2, the `:authority` as a `host` header).
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The whole body.
    pub body: &'a [u8],
}

impl std::fmt::Debug for SignedRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("header_names", &self.headers.iter().map(|(name, _)| name).collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A request without its body: what [`SigV4Verifier::check_head`] checks before the body is
/// read.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    /// The method, as sent (`POST`).
    pub method: &'a str,
    /// The path as received, still percent-encoded.
    pub path: &'a str,
    /// The raw query string without the `?`, or `""`.
    pub query: &'a str,
    /// Every header as received (see [`SignedRequest::headers`]).
    pub headers: &'a [(&'a str, &'a [u8])],
}

impl<'a> SignedRequest<'a> {
    /// The request without its body.
    pub fn head(&self) -> RequestHead<'a> {
        RequestHead { method: self.method, path: self.path, query: self.query, headers: self.headers }
    }
}

/// Who signed a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    /// The access key id whose secret produced the signature.
    pub access_key_id: String,
}

/// A secret that exists but cannot be read now (its sealed form did not open): a server fault,
/// never an answer about the caller. The store logs why; the caller gets an internal error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the secret of this access key cannot be opened")]
pub struct CredentialUnavailable;

/// Where the verifier looks up secret access keys.
pub trait CredentialStore {
    /// The secret for `access_key_id`, `None` if there is no such (live) access key, or
    /// [`CredentialUnavailable`] if there is one whose secret cannot be read.
    fn secret_access_key(
        &self,
        access_key_id: &str,
    ) -> Result<Option<Zeroizing<String>>, CredentialUnavailable>;
}

/// A store that always can answer: a function from access key id to secret.
impl<F> CredentialStore for F
where
    F: Fn(&str) -> Option<Zeroizing<String>>,
{
    fn secret_access_key(
        &self,
        access_key_id: &str,
    ) -> Result<Option<Zeroizing<String>>, CredentialUnavailable> {
        Ok(self(access_key_id))
    }
}
