//! The SigV4 verifier: checks, in order, that the request uses header authentication, that the
//! `Authorization` header parses and signs `host`, the date header, `content-type` and every
//! `x-amz-*` header present, that the request time is within five minutes of ours and matches
//! the credential scope, that the scope names our region and service — all before the body is
//! read ([`SigV4Verifier::check_head`]) — and then that the access key exists, that any
//! `x-amz-content-sha256` is the body's hash, and recomputes the signature and compares it in
//! constant time ([`SigV4Verifier::verify_body`]). Cheap checks that need no secret come first,
//! so unauthenticated garbage costs little.

use std::time::{Duration, SystemTime};

use super::authorization::{parse_authorization, Authorization};
use super::canonical::{canonical_request, has_presigned_parameters, hex_lower, string_to_sign};
use super::error::AuthError;
use super::signing_key_cache::SigningKeyCache;
use super::timestamp::Timestamp;
use super::{CredentialStore, Principal, RequestHead, SignedRequest};
use crate::crypto::{constant_time_eq, hmac_sha256, sha256};

/// How far a request's date may be from the server's clock, either way.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// Verifies SigV4-signed requests for one region and service, caching derived signing keys.
#[derive(Debug)]
pub struct SigV4Verifier {
    region: String,
    service: String,
    signing_keys: SigningKeyCache,
    /// Header-name prefixes (lowercase) whose headers must be signed, beyond AWS's own.
    signed_prefixes: Vec<String>,
}

/// A request head that passed [`SigV4Verifier::check_head`]: what [`SigV4Verifier::verify_body`]
/// needs to finish, parsed once.
#[derive(Debug)]
pub struct CheckedHead<'r> {
    head: RequestHead<'r>,
    authorization: Authorization,
    request_time: Timestamp,
}

impl CheckedHead<'_> {
    /// The access key id the request claims to be signed by (not yet verified).
    pub fn access_key_id(&self) -> &str {
        &self.authorization.access_key_id
    }
}

impl SigV4Verifier {
    /// A verifier for requests scoped to `region` and `service` (`"kms"`), with a default-sized
    /// signing-key cache.
    pub fn new(region: impl Into<String>, service: impl Into<String>) -> SigV4Verifier {
        SigV4Verifier::with_cache(region, service, SigningKeyCache::default())
    }

    /// A verifier using `signing_keys` as its cache.
    pub fn with_cache(
        region: impl Into<String>,
        service: impl Into<String>,
        signing_keys: SigningKeyCache,
    ) -> SigV4Verifier {
        SigV4Verifier {
            region: region.into(),
            service: service.into(),
            signing_keys,
            signed_prefixes: Vec::new(),
        }
    }

    /// Also requires every header whose name starts with `prefix` to be signed when present
    /// (a server's own semantic headers, such as an idempotency key).
    pub fn require_signed_prefix(mut self, prefix: &str) -> SigV4Verifier {
        self.signed_prefixes.push(prefix.to_ascii_lowercase());
        self
    }

    /// The region requests must be scoped to.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The service requests must be scoped to.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The signing-key cache (for its statistics).
    pub fn signing_keys(&self) -> &SigningKeyCache {
        &self.signing_keys
    }

    /// Drops cached signing keys of `access_key_id`; call when it is deleted or its secret
    /// changes. (Correctness does not depend on it: every request looks the secret up.)
    pub fn forget_access_key(&self, access_key_id: &str) {
        self.signing_keys.forget(access_key_id);
    }

    /// Checks `request`'s signature as of `now` and returns who signed it:
    /// [`SigV4Verifier::check_head`] and then [`SigV4Verifier::verify_body`].
    pub fn verify<C>(
        &self,
        request: &SignedRequest<'_>,
        now: SystemTime,
        credentials: &C,
    ) -> Result<Principal, AuthError>
    where
        C: CredentialStore + ?Sized,
    {
        let head = self.check_head(request.head(), now)?;
        self.verify_body(&head, request.body, credentials)
    }

    /// Every check that needs neither the body nor a secret: header authentication, the
    /// `Authorization` header's shape, which headers it signs, the request time against `now`
    /// and the credential scope. A server runs this before it reads the body, so a request
    /// that could never verify costs it no body memory.
    pub fn check_head<'r>(
        &self,
        head: RequestHead<'r>,
        now: SystemTime,
    ) -> Result<CheckedHead<'r>, AuthError> {
        if has_presigned_parameters(head.query) {
            return Err(AuthError::PresignedQueryNotSupported);
        }
        let header = single_header(&head, "Authorization")?.ok_or(AuthError::MissingAuthorization)?;
        let authorization = parse_authorization(header)?;
        if !is_signed(&authorization, "host") {
            return Err(AuthError::RequiredHeaderNotSigned("Host"));
        }
        let request_time = request_time(&head, &authorization)?;
        check_clock(request_time, Timestamp::from_system_time(now))?;
        self.check_scope(&authorization, request_time)?;
        if single_header(&head, "X-Amz-Security-Token")?.is_some() {
            return Err(AuthError::SessionTokenNotSupported);
        }
        self.check_every_header_that_must_be_signed_is(&head, &authorization)?;
        Ok(CheckedHead { head, authorization, request_time })
    }

    /// Finishes verifying a request whose head passed [`SigV4Verifier::check_head`]: the body's
    /// hash, the access key's secret, and the signature, compared in constant time.
    pub fn verify_body<C>(
        &self,
        checked: &CheckedHead<'_>,
        body: &[u8],
        credentials: &C,
    ) -> Result<Principal, AuthError>
    where
        C: CredentialStore + ?Sized,
    {
        let CheckedHead { head, authorization, request_time } = checked;
        let secret = credentials
            .secret_access_key(&authorization.access_key_id)
            .map_err(|_| AuthError::CredentialUnavailable)?
            .ok_or(AuthError::UnknownAccessKey)?;
        let payload_hash = payload_hash(head, body)?;
        let canonical = canonical_request(head, &authorization.signed_headers, &payload_hash)?;
        let string_to_sign = string_to_sign(*request_time, &authorization.scope, &canonical);
        let signing_key =
            self.signing_keys.signing_key(&authorization.access_key_id, &authorization.scope, &secret);
        let expected = hmac_sha256(signing_key.as_slice(), string_to_sign.as_bytes());
        if !constant_time_eq(&expected, &authorization.signature) {
            return Err(AuthError::SignatureMismatch);
        }
        Ok(Principal { access_key_id: authorization.access_key_id.clone() })
    }

    /// `content-type` and every `x-amz-*` header (and every header under a prefix added with
    /// [`SigV4Verifier::require_signed_prefix`]) present must be signed: otherwise a captured
    /// request could be replayed with another `X-Amz-Target` (another operation) under the same
    /// signature. AWS asks the same of its signers.
    fn check_every_header_that_must_be_signed_is(
        &self,
        head: &RequestHead<'_>,
        authorization: &Authorization,
    ) -> Result<(), AuthError> {
        for (name, _) in head.headers {
            let must = name.eq_ignore_ascii_case("content-type")
                || starts_with_ignore_case(name, "x-amz-")
                || self.signed_prefixes.iter().any(|prefix| starts_with_ignore_case(name, prefix));
            // SignedHeaders are few (five from botocore): a scan that ignores case allocates nothing.
            let signed = authorization.signed_headers.iter().any(|signed| signed.eq_ignore_ascii_case(name));
            if must && !signed {
                return Err(AuthError::HeaderNotSigned(name.to_ascii_lowercase()));
            }
        }
        Ok(())
    }

    fn check_scope(&self, authorization: &Authorization, request_time: Timestamp) -> Result<(), AuthError> {
        let scope = &authorization.scope;
        if !authorization.terminator_ok {
            return Err(AuthError::WrongTerminator);
        }
        if scope.region != self.region {
            return Err(AuthError::WrongRegion {
                expected: self.region.clone(),
                found: scope.region.clone(),
            });
        }
        if scope.service != self.service {
            return Err(AuthError::WrongService {
                expected: self.service.clone(),
                found: scope.service.clone(),
            });
        }
        let request_day = request_time.date_stamp();
        if scope.date != request_day {
            return Err(AuthError::ScopeDateMismatch { scope: scope.date.clone(), request: request_day });
        }
        Ok(())
    }
}

fn starts_with_ignore_case(name: &str, prefix: &str) -> bool {
    name.len() >= prefix.len() && name.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// The value of header `name` if it appears once; an error if it appears more often.
fn single_header<'a>(request: &RequestHead<'a>, name: &'static str) -> Result<Option<&'a [u8]>, AuthError> {
    let mut values = request.headers.iter().filter(|(header, _)| header.eq_ignore_ascii_case(name));
    let first = values.next().map(|(_, value)| *value);
    if values.next().is_some() {
        return Err(AuthError::RepeatedHeader(name));
    }
    Ok(first)
}

fn is_signed(authorization: &Authorization, name: &str) -> bool {
    authorization.signed_headers.binary_search_by(|signed| signed.as_str().cmp(name)).is_ok()
}

/// The request time from `X-Amz-Date` (preferred, basic format only) or `Date` (either format);
/// whichever is used must be signed.
fn request_time(request: &RequestHead<'_>, authorization: &Authorization) -> Result<Timestamp, AuthError> {
    if let Some(value) = single_header(request, "X-Amz-Date")? {
        if !is_signed(authorization, "x-amz-date") {
            return Err(AuthError::RequiredHeaderNotSigned("X-Amz-Date"));
        }
        return Timestamp::parse_iso8601_basic(as_text(value)?).ok_or(AuthError::MalformedDate);
    }
    let value = single_header(request, "Date")?.ok_or(AuthError::MissingDate)?;
    if !is_signed(authorization, "date") {
        return Err(AuthError::RequiredHeaderNotSigned("Date"));
    }
    let text = as_text(value)?;
    Timestamp::parse_iso8601_basic(text)
        .or_else(|| Timestamp::parse_http_date(text))
        .ok_or(AuthError::MalformedDate)
}

fn as_text(value: &[u8]) -> Result<&str, AuthError> {
    std::str::from_utf8(value).map(str::trim).map_err(|_| AuthError::MalformedDate)
}

fn check_clock(request: Timestamp, now: Timestamp) -> Result<(), AuthError> {
    let skew = i64::try_from(MAX_CLOCK_SKEW.as_secs()).unwrap_or(i64::MAX);
    let (earliest, latest) = (now.offset_by(-skew), now.offset_by(skew));
    if request < earliest {
        return Err(AuthError::Expired { request, earliest, now });
    }
    if request > latest {
        return Err(AuthError::NotYetCurrent { request, latest, now });
    }
    Ok(())
}

/// The hex SHA-256 of the body. An `x-amz-content-sha256` header may repeat it but not replace it:
/// KMS clients always sign the body, so unsigned and streaming payloads are refused.
fn payload_hash(request: &RequestHead<'_>, body: &[u8]) -> Result<String, AuthError> {
    let computed = hex_lower(&sha256(body));
    let Some(declared) = single_header(request, "X-Amz-Content-SHA256")? else {
        return Ok(computed);
    };
    let declared = std::str::from_utf8(declared).map(str::trim).unwrap_or_default();
    if declared == computed {
        Ok(computed)
    } else if declared == "UNSIGNED-PAYLOAD" || declared.starts_with("STREAMING-") {
        Err(AuthError::UnsignedPayload)
    } else {
        Err(AuthError::PayloadHashMismatch)
    }
}

#[cfg(test)]
#[path = "sigv4_tests.rs"]
mod tests;
