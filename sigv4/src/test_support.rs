//! Test helpers: an owned request that can be tampered with, a reader for raw HTTP messages (the
//! AWS test suite's `.sreq` files), and a reference signer built from this module's parts.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zeroize::Zeroizing;

use super::authorization::CredentialScope;
use super::canonical::{canonical_request, hex_lower, string_to_sign};
use super::signing_key_cache::derive_signing_key;
use super::timestamp::Timestamp;
use super::{AuthError, CredentialStore, Principal, SigV4Verifier, SignedRequest};
use crate::crypto::{hmac_sha256, sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl OwnedRequest {
    /// `target` is `path` or `path?query`.
    pub fn new(method: &str, target: &str) -> OwnedRequest {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        OwnedRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Reads `METHOD target HTTP/1.1`, header lines (continuation lines kept, joined by a
    /// newline), a blank line and the body.
    pub fn parse_http_message(text: &str) -> OwnedRequest {
        let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
        let mut lines = head.lines().map(|line| line.trim_end_matches('\r'));
        let request_line = lines.next().expect("request line");
        let (method, rest) = request_line.split_once(' ').expect("method");
        let target = rest.rsplit_once(" HTTP/").map_or(rest, |(target, _)| target);
        let mut request = OwnedRequest::new(method, target);
        for line in lines {
            if line.starts_with([' ', '\t']) {
                let (_, value) = request.headers.last_mut().expect("continuation follows a header");
                value.push(b'\n');
                value.extend_from_slice(line.as_bytes());
            } else {
                let (name, value) = line.split_once(':').expect("header line");
                request.headers.push((name.to_owned(), value.as_bytes().to_vec()));
            }
        }
        request.body = body.as_bytes().to_vec();
        request
    }

    pub fn header(mut self, name: &str, value: &str) -> OwnedRequest {
        self.headers.push((name.to_owned(), value.as_bytes().to_vec()));
        self
    }

    pub fn body(mut self, body: &[u8]) -> OwnedRequest {
        self.body = body.to_vec();
        self
    }

    /// Replaces every `name` header by one with `value`.
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.remove_header(name);
        self.headers.push((name.to_owned(), value.as_bytes().to_vec()));
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(header, _)| !header.eq_ignore_ascii_case(name));
    }

    pub fn header_value(&self, name: &str) -> Option<&str> {
        let (_, value) = self.headers.iter().find(|(header, _)| header.eq_ignore_ascii_case(name))?;
        std::str::from_utf8(value).ok()
    }

    pub fn with_view<T>(&self, use_view: impl FnOnce(&SignedRequest<'_>) -> T) -> T {
        let headers: Vec<(&str, &[u8])> =
            self.headers.iter().map(|(name, value)| (name.as_str(), value.as_slice())).collect();
        let view = SignedRequest {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &headers,
            body: &self.body,
        };
        use_view(&view)
    }

    pub fn verify(
        &self,
        verifier: &SigV4Verifier,
        now: SystemTime,
        credentials: &dyn CredentialStore,
    ) -> Result<Principal, AuthError> {
        self.with_view(|view| verifier.verify(view, now, credentials))
    }

    /// The canonical request for `signed_headers` with the body's hash, as text.
    pub fn canonical_request(&self, signed_headers: &[String]) -> String {
        let payload_hash = hex_lower(&sha256(&self.body));
        let bytes =
            self.with_view(|view| canonical_request(&view.head(), signed_headers, &payload_hash)).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    /// Adds an `Authorization` header signing `signed_headers` at the time of its `X-Amz-Date`
    /// (or `Date`) header — the reference signer, for tests whose subject is not the arithmetic.
    pub fn signed(mut self, key: (&str, &str), region: &str, service: &str, signed_headers: &[&str]) -> Self {
        let (access_key_id, secret) = key;
        let time = self
            .header_value("x-amz-date")
            .and_then(Timestamp::parse_iso8601_basic)
            .or_else(|| self.header_value("date").and_then(Timestamp::parse_http_date))
            .expect("a date header");
        let scope = CredentialScope {
            date: time.date_stamp(),
            region: region.to_owned(),
            service: service.to_owned(),
        };
        let names: Vec<String> = signed_headers.iter().map(|name| (*name).to_owned()).collect();
        let canonical = self.canonical_request(&names);
        let to_sign = string_to_sign(time, &scope, canonical.as_bytes());
        let signature = hmac_sha256(derive_signing_key(secret, &scope).as_slice(), to_sign.as_bytes());
        let value = format!(
            "AWS4-HMAC-SHA256 Credential={access_key_id}/{}, SignedHeaders={}, Signature={}",
            scope.to_scope_string(),
            names.join(";"),
            hex_lower(&signature)
        );
        self.set_header("Authorization", &value);
        self
    }
}

/// A credential store holding exactly one key.
pub(crate) fn one_key(access_key_id: &'static str, secret: &'static str) -> impl CredentialStore {
    move |requested: &str| (requested == access_key_id).then(|| Zeroizing::new(secret.to_owned()))
}

/// The instant named by `YYYYMMDDTHHMMSSZ`.
pub(crate) fn at(iso8601_basic: &str) -> SystemTime {
    let seconds = Timestamp::parse_iso8601_basic(iso8601_basic).expect("a basic-format time").unix_seconds();
    UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).expect("after 1970"))
}
