//! Signing: the headers a client adds so that a Trent node (or AWS) accepts its request. Built
//! from the same canonical request and key derivation the verifier checks against.

use std::time::SystemTime;

use zeroize::Zeroizing;

use crate::authorization::{CredentialScope, ALGORITHM};
use crate::canonical::{canonical_request, hex_lower, string_to_sign};
use crate::crypto::{hmac_sha256, sha256};
use crate::signing_key_cache::derive_signing_key;
use crate::timestamp::Timestamp;
use crate::{AuthError, SignedRequest};

/// An access key and its secret.
#[derive(Clone)]
pub struct Credentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key, zeroized when dropped.
    pub secret_access_key: Zeroizing<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

/// The headers a signature adds to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// `X-Amz-Date`, ISO 8601 basic.
    pub x_amz_date: String,
    /// `X-Amz-Content-Sha256`: the body's SHA-256, hex.
    pub x_amz_content_sha256: String,
    /// `Authorization`.
    pub authorization: String,
}

/// Signs `request` at `now` for `region` and `service`. The request must carry a `host` header;
/// every header it carries is signed, together with the `x-amz-date` and
/// `x-amz-content-sha256` headers returned (which the caller must add unchanged).
pub fn sign(
    request: &SignedRequest<'_>,
    credentials: &Credentials,
    region: &str,
    service: &str,
    now: SystemTime,
) -> Result<SignatureHeaders, AuthError> {
    let time = Timestamp::from_system_time(now);
    let x_amz_date = time.to_string();
    let payload_hash = hex_lower(&sha256(request.body));
    let mut headers: Vec<(&str, &[u8])> = request.headers.to_vec();
    headers.push(("x-amz-date", x_amz_date.as_bytes()));
    headers.push(("x-amz-content-sha256", payload_hash.as_bytes()));
    let mut signed_headers: Vec<String> = headers.iter().map(|(name, _)| name.to_ascii_lowercase()).collect();
    signed_headers.sort();
    signed_headers.dedup();
    let with_date = SignedRequest { headers: &headers, ..*request };
    let canonical = canonical_request(&with_date.head(), &signed_headers, &payload_hash)?;
    let scope =
        CredentialScope { date: time.date_stamp(), region: region.to_owned(), service: service.to_owned() };
    let to_sign = string_to_sign(time, &scope, &canonical);
    let signing_key = derive_signing_key(&credentials.secret_access_key, &scope);
    let signature = hmac_sha256(signing_key.as_slice(), to_sign.as_bytes());
    let authorization = format!(
        "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={}",
        credentials.access_key_id,
        scope.to_scope_string(),
        signed_headers.join(";"),
        hex_lower(&signature)
    );
    Ok(SignatureHeaders { x_amz_date, x_amz_content_sha256: payload_hash, authorization })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::one_key;
    use crate::SigV4Verifier;

    fn credentials() -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Zeroizing::new("s3cr3t-key".into()),
        }
    }

    #[test]
    fn what_the_signer_signs_the_verifier_accepts_and_tampering_breaks() {
        let headers: Vec<(&str, &[u8])> = vec![
            ("host", b"127.0.0.1:8400"),
            ("content-type", b"application/x-amz-json-1.1"),
            ("x-amz-target", b"TrentService.CreateKey"),
        ];
        let body = br#"{"Description":"signed"}"#;
        let request = SignedRequest { method: "POST", path: "/", query: "", headers: &headers, body };
        let now = SystemTime::now();
        let signature = sign(&request, &credentials(), "us-east-1", "kms", now).unwrap();

        let mut signed: Vec<(&str, &[u8])> = headers.clone();
        signed.push(("x-amz-date", signature.x_amz_date.as_bytes()));
        signed.push(("x-amz-content-sha256", signature.x_amz_content_sha256.as_bytes()));
        signed.push(("authorization", signature.authorization.as_bytes()));
        let verifier = SigV4Verifier::new("us-east-1", "kms");
        let store = one_key("AKIDEXAMPLE", "s3cr3t-key");
        let accepted = SignedRequest { headers: &signed, ..request };
        assert_eq!(verifier.verify(&accepted, now, &store).unwrap().access_key_id, "AKIDEXAMPLE");

        let tampered = SignedRequest { body: br#"{"Description":"tampered"}"#, ..accepted };
        assert!(verifier.verify(&tampered, now, &store).is_err());
        let elsewhere = SigV4Verifier::new("eu-west-1", "kms");
        assert!(elsewhere.verify(&accepted, now, &store).is_err());
    }

    #[test]
    fn credentials_never_print_their_secret() {
        assert!(!format!("{:?}", credentials()).contains("s3cr3t"));
    }
}
