//! Who is calling: every call but health, status, init and unseal must carry a SigV4 signature
//! by a known access key. Secrets live sealed in the replicated state and are opened with the
//! keyring on first use, then kept unwrapped while the node is unsealed (`seal::unwrap_cache`);
//! the verifier caches the signing keys derived from them.

use std::time::SystemTime;

use trent_sigv4::{AuthErrorKind, Principal, SignedRequest};
use trent_wire::{ErrorCode, KmsError};
use zeroize::Zeroizing;

use crate::api::SignedRequestParts;
use crate::node::Node;

/// Most request headers considered for a signature.
const MAX_HEADERS: usize = 128;

/// Verifies the request's signature; the principal on success, AWS's error otherwise.
pub(crate) fn authenticate(node: &Node, request: &SignedRequestParts<'_>) -> Result<Principal, KmsError> {
    if request.headers.len() > MAX_HEADERS {
        return Err(KmsError::new(ErrorCode::IncompleteSignature, "The request has too many headers"));
    }
    let headers: Vec<(&str, &[u8])> =
        request.headers.iter().map(|(name, value)| (name.as_str(), value.as_bytes())).collect();
    let view = SignedRequest {
        method: request.method.as_str(),
        path: request.path,
        query: request.query,
        headers: &headers,
        body: request.body,
    };
    let secrets = |access_key_id: &str| -> Option<Zeroizing<String>> {
        let record = node.registry.read().access_key(access_key_id).cloned()?;
        let secret = node
            .with_current_keyring(|seal| seal.access_key_secret(access_key_id, &record.secret))
            .ok()?
            .ok()?;
        std::str::from_utf8(&secret).ok().map(|text| Zeroizing::new(text.to_owned()))
    };
    node.verifier.verify(&view, SystemTime::now(), &secrets).map_err(|error| {
        let code = match error.kind() {
            AuthErrorKind::MissingAuthenticationToken => ErrorCode::MissingAuthenticationToken,
            AuthErrorKind::UnrecognizedClient => ErrorCode::UnrecognizedClient,
            AuthErrorKind::InvalidSignature => ErrorCode::InvalidSignature,
            AuthErrorKind::IncompleteSignature => ErrorCode::IncompleteSignature,
        };
        KmsError::new(code, error.message())
    })
}
