//! Who is calling: every call but health, status, init and unseal must carry a SigV4 signature
//! by a known access key. Secrets live sealed in the replicated state and are opened with the
//! keyring on first use, then kept unwrapped while the node is unsealed (`seal::unwrap_cache`);
//! the verifier caches the signing keys derived from them.
//!
//! Authentication runs in two halves around the body (see [`crate::api`]): `check_head` before
//! it is read (the signature's shape, signed headers, date and scope, and that the access key
//! exists), `verify_body` after (the signature itself).

use std::time::SystemTime;

use trent_sigv4::{AuthError, AuthErrorKind, CheckedHead, CredentialUnavailable, RequestHead};
use trent_wire::{ErrorCode, KmsError};
use zeroize::Zeroizing;

use crate::node::Node;

/// Who a call is from: the access key whose signature verified. Made only by `verify_body`,
/// so holding one means the signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    access_key_id: String,
}

impl Principal {
    /// A principal taken on trust, for in-process harnesses (fuzz targets) that call an
    /// operation directly; never made on a request path, where only `verify_body` makes one.
    #[doc(hidden)]
    pub fn assumed(access_key_id: &str) -> Principal {
        Principal { access_key_id: access_key_id.to_owned() }
    }

    /// The access key that signed the call.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.access_key_id)
    }
}

/// Most request headers considered for a signature.
const MAX_HEADERS: usize = 128;

/// The checks that need no body: on success the request may be worth reading.
pub(crate) fn check_head<'r>(
    node: &Node,
    head: RequestHead<'r>,
    now: SystemTime,
) -> Result<CheckedHead<'r>, KmsError> {
    if head.headers.len() > MAX_HEADERS {
        return Err(KmsError::new(ErrorCode::IncompleteSignature, "The request has too many headers"));
    }
    let checked = node.verifier.check_head(head, now).map_err(|error| to_kms_error(&error))?;
    if node.registry.read().access_key(checked.access_key_id()).is_none() {
        return Err(to_kms_error(&AuthError::UnknownAccessKey));
    }
    Ok(checked)
}

/// Verifies the signature of a request whose head passed `check_head` over its `body`; the
/// caller it proves.
pub(crate) fn verify_body(
    node: &Node,
    checked: &CheckedHead<'_>,
    body: &[u8],
) -> Result<Principal, KmsError> {
    node.verifier
        .verify_body(checked, body, &Secrets(node))
        .map(|_| Principal { access_key_id: checked.access_key_id().to_owned() })
        .map_err(|error| to_kms_error(&error))
}

/// Access key secrets, opened from the replicated state with this node's keyring.
struct Secrets<'n>(&'n Node);

impl trent_sigv4::CredentialStore for Secrets<'_> {
    fn secret_access_key(
        &self,
        access_key_id: &str,
    ) -> Result<Option<Zeroizing<String>>, CredentialUnavailable> {
        let node = self.0;
        let Some(record) = node.registry.read().access_key(access_key_id).cloned() else {
            return Ok(None);
        };
        // The key exists: failing to open its secret is this node's fault, never the caller's,
        // and must not read as "unknown access key".
        let secret = match node
            .with_current_keyring(|seal| seal.access_key_secret(access_key_id, &record.secret))
        {
            Ok(Ok(secret)) => secret,
            Ok(Err(error)) => {
                tracing::error!(access_key_id, %error, "the sealed secret of an access key does not open");
                return Err(CredentialUnavailable);
            }
            Err(sealed) => {
                tracing::warn!(access_key_id, %sealed, "access key secret needed while sealed");
                return Err(CredentialUnavailable);
            }
        };
        match std::str::from_utf8(&secret) {
            Ok(text) => Ok(Some(Zeroizing::new(text.to_owned()))),
            Err(_) => {
                tracing::error!(access_key_id, "the secret of an access key is not UTF-8");
                Err(CredentialUnavailable)
            }
        }
    }
}

fn to_kms_error(error: &AuthError) -> KmsError {
    let code = match error.kind() {
        AuthErrorKind::MissingAuthenticationToken => ErrorCode::MissingAuthenticationToken,
        AuthErrorKind::UnrecognizedClient => ErrorCode::UnrecognizedClient,
        AuthErrorKind::InvalidSignature => ErrorCode::InvalidSignature,
        AuthErrorKind::IncompleteSignature => ErrorCode::IncompleteSignature,
        AuthErrorKind::Internal => ErrorCode::Internal,
    };
    KmsError::new(code, error.message())
}
