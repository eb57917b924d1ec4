//! Behaviour of [`SigV4Verifier`]: AWS's worked example and every way a request can fail.

use super::*;
use crate::test_support::{at, one_key, OwnedRequest};
use crate::AuthErrorKind;

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const WHEN: &str = "20150830T123600Z";

/// docs.aws.amazon.com, "Create a signed AWS API request": IAM ListUsers.
fn iam_list_users() -> OwnedRequest {
    OwnedRequest::new("GET", "/?Action=ListUsers&Version=2010-05-08")
        .header("Host", "iam.amazonaws.com")
        .header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
        .header("X-Amz-Date", WHEN)
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
        )
}

fn iam() -> SigV4Verifier {
    SigV4Verifier::new("us-east-1", "iam")
}

fn kms() -> SigV4Verifier {
    SigV4Verifier::new("us-east-1", "kms")
}

/// A KMS request signed (by the reference signer) at `when`.
fn kms_request_at(when: &str) -> OwnedRequest {
    OwnedRequest::new("POST", "/")
        .header("Host", "kms.us-east-1.amazonaws.com")
        .header("Content-Type", "application/x-amz-json-1.1")
        .header("X-Amz-Target", "TrentService.ListKeys")
        .header("X-Amz-Date", when)
        .body(b"{}")
        .signed((AKID, SECRET), "us-east-1", "kms", &["content-type", "host", "x-amz-date", "x-amz-target"])
}

fn verify(request: &OwnedRequest, verifier: &SigV4Verifier, now: &str) -> Result<Principal, AuthError> {
    request.verify(verifier, at(now), &one_key(AKID, SECRET))
}

#[test]
fn aws_documentation_example_verifies() {
    let principal = verify(&iam_list_users(), &iam(), WHEN).unwrap();
    assert_eq!(principal, Principal { access_key_id: AKID.to_owned() });
}

#[test]
fn any_single_change_to_the_documentation_example_fails() {
    let mismatch = Err(AuthError::SignatureMismatch);
    let changed = |change: fn(&mut OwnedRequest)| {
        let mut request = iam_list_users();
        change(&mut request);
        request
    };
    assert_eq!(verify(&changed(|r| r.method = "POST".into()), &iam(), WHEN), mismatch);
    assert_eq!(verify(&changed(|r| r.path = "/users".into()), &iam(), WHEN), mismatch);
    assert_eq!(
        verify(&changed(|r| r.query = "Action=ListUsers&Version=2010-05-09".into()), &iam(), WHEN),
        mismatch
    );
    assert_eq!(verify(&changed(|r| r.query = "Action=ListUsers".into()), &iam(), WHEN), mismatch);
    assert_eq!(
        verify(&changed(|r| r.set_header("Content-Type", "application/json")), &iam(), WHEN),
        mismatch
    );
    assert_eq!(verify(&changed(|r| r.set_header("Host", "iam.amazonaws.com:443")), &iam(), WHEN), mismatch);
    assert_eq!(verify(&changed(|r| r.body = b"x".to_vec()), &iam(), WHEN), mismatch);
    assert_eq!(verify(&changed(|r| r.set_header("X-Amz-Date", "20150830T123601Z")), &iam(), WHEN), mismatch);

    let other_region =
        iam_list_users().header_value("authorization").unwrap().replace("us-east-1", "us-west-2");
    let mut request = iam_list_users();
    request.set_header("Authorization", &other_region);
    assert_eq!(verify(&request, &SigV4Verifier::new("us-west-2", "iam"), WHEN), mismatch);

    let other_secret =
        iam_list_users().verify(&iam(), at(WHEN), &one_key(AKID, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEz"));
    assert_eq!(other_secret, mismatch);

    // Headers the client did not sign may change freely.
    let unsigned = changed(|r| r.headers.push(("User-Agent".into(), b"anything".to_vec())));
    assert!(verify(&unsigned, &iam(), WHEN).is_ok());
}

#[test]
fn clock_window_is_five_minutes_either_way() {
    let request = kms_request_at(WHEN);
    assert!(verify(&request, &kms(), "20150830T124100Z").is_ok(), "exactly 5 minutes late");
    assert!(verify(&request, &kms(), "20150830T123100Z").is_ok(), "exactly 5 minutes early");
    let late = verify(&request, &kms(), "20150830T124101Z").unwrap_err();
    assert_eq!(
        late.message(),
        "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z \
         (20150830T124101Z - 5 min.)"
    );
    assert_eq!(late.kind(), AuthErrorKind::InvalidSignature);
    let early = verify(&request, &kms(), "20150830T123059Z").unwrap_err();
    assert_eq!(
        early.message(),
        "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z \
         (20150830T123059Z + 5 min.)"
    );
}

#[test]
fn scope_date_must_be_the_request_day() {
    let mut request = kms_request_at("20150830T235900Z");
    let authorization = request.header_value("authorization").unwrap().replace("/20150830/", "/20150831/");
    request.set_header("Authorization", &authorization);
    let error = verify(&request, &kms(), "20150830T235900Z").unwrap_err();
    assert_eq!(error, AuthError::ScopeDateMismatch { scope: "20150831".into(), request: "20150830".into() });
}

#[test]
fn date_header_is_accepted_when_there_is_no_x_amz_date() {
    let mut request = OwnedRequest::new("POST", "/")
        .header("Host", "kms.us-east-1.amazonaws.com")
        .header("Date", "Sun, 30 Aug 2015 12:36:00 GMT")
        .signed((AKID, SECRET), "us-east-1", "kms", &["date", "host"]);
    assert!(verify(&request, &kms(), WHEN).is_ok());
    request.set_header("Date", "Sun, 30 Aug 2015 12:36:00 -0000");
    assert_eq!(verify(&request, &kms(), WHEN), Err(AuthError::SignatureMismatch));
    request.set_header("Date", "yesterday");
    assert_eq!(verify(&request, &kms(), WHEN), Err(AuthError::MalformedDate));
    request.remove_header("Date");
    assert_eq!(verify(&request, &kms(), WHEN), Err(AuthError::MissingDate));
}

#[test]
fn the_date_header_in_use_and_host_must_be_signed() {
    let request = kms_request_at(WHEN);
    let unsigned_date = request.clone().signed((AKID, SECRET), "us-east-1", "kms", &["host"]);
    assert_eq!(verify(&unsigned_date, &kms(), WHEN), Err(AuthError::RequiredHeaderNotSigned("X-Amz-Date")));
    let unsigned_host = request.clone().signed((AKID, SECRET), "us-east-1", "kms", &["x-amz-date"]);
    assert_eq!(verify(&unsigned_host, &kms(), WHEN), Err(AuthError::RequiredHeaderNotSigned("Host")));
    let mut absent_host = request;
    absent_host.remove_header("Host");
    assert_eq!(verify(&absent_host, &kms(), WHEN), Err(AuthError::SignedHeaderAbsent("host".into())));
}

#[test]
fn unknown_access_key_is_unrecognized_client() {
    let request = kms_request_at(WHEN);
    let error = request.verify(&kms(), at(WHEN), &one_key("AKIDOTHER", SECRET)).unwrap_err();
    assert_eq!(error, AuthError::UnknownAccessKey);
    assert_eq!(error.aws_error_name(), "UnrecognizedClientException");
    assert_eq!(error.message(), "The security token included in the request is invalid.");
}

#[test]
fn missing_authorization_is_missing_authentication_token() {
    let mut request = kms_request_at(WHEN);
    request.remove_header("Authorization");
    let error = verify(&request, &kms(), WHEN).unwrap_err();
    assert_eq!(error.aws_error_name(), "MissingAuthenticationTokenException");
}

#[test]
fn malformed_authorization_headers_are_incomplete_signatures() {
    let good = kms_request_at(WHEN).header_value("authorization").unwrap().to_owned();
    for bad in [
        "AWS4-HMAC-SHA256".to_owned(),
        "Bearer token".to_owned(),
        good.replace("Signature=", "Signature=0"),
        good.replace("Credential=AKIDEXAMPLE/", "Credential="),
        good.replace("SignedHeaders=", "SignedHeaders=X-Custom;"),
        good.replace(", SignedHeaders", ", Foo=bar, SignedHeaders"),
    ] {
        let mut request = kms_request_at(WHEN);
        request.set_header("Authorization", &bad);
        let error = verify(&request, &kms(), WHEN).unwrap_err();
        assert_eq!(error.kind(), AuthErrorKind::IncompleteSignature, "{bad:?} gave {error:?}");
    }
    let mut twice = kms_request_at(WHEN);
    twice.headers.push(("authorization".into(), good.into_bytes()));
    assert_eq!(verify(&twice, &kms(), WHEN), Err(AuthError::RepeatedHeader("Authorization")));
}

#[test]
fn scope_must_name_our_region_service_and_terminator() {
    let request = kms_request_at(WHEN);
    let error = verify(&request, &SigV4Verifier::new("eu-west-1", "kms"), WHEN).unwrap_err();
    assert_eq!(
        error.message(),
        "Credential should be scoped to a valid region: 'eu-west-1', not 'us-east-1'."
    );
    assert_eq!(error.kind(), AuthErrorKind::InvalidSignature);
    let error = verify(&request, &SigV4Verifier::new("us-east-1", "iam"), WHEN).unwrap_err();
    assert_eq!(error, AuthError::WrongService { expected: "iam".into(), found: "kms".into() });
    let mut request = request;
    let authorization =
        request.header_value("authorization").unwrap().replace("aws4_request", "aws5_request");
    request.set_header("Authorization", &authorization);
    assert_eq!(verify(&request, &kms(), WHEN), Err(AuthError::WrongTerminator));
}

/// A KMS request signed at `when` that also carries (and signs) `X-Amz-Content-SHA256: hash`.
fn kms_request_with_content_hash(hash: &str) -> OwnedRequest {
    OwnedRequest::new("POST", "/")
        .header("Host", "kms.us-east-1.amazonaws.com")
        .header("Content-Type", "application/x-amz-json-1.1")
        .header("X-Amz-Target", "TrentService.ListKeys")
        .header("X-Amz-Date", WHEN)
        .header("X-Amz-Content-SHA256", hash)
        .body(b"{}")
        .signed(
            (AKID, SECRET),
            "us-east-1",
            "kms",
            &["content-type", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-target"],
        )
}

#[test]
fn content_sha256_header_must_equal_the_body_hash() {
    let body_hash = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    let request = kms_request_with_content_hash(body_hash);
    assert!(verify(&request, &kms(), WHEN).is_ok());
    let mut wrong = request.clone();
    wrong.set_header("X-Amz-Content-SHA256", &"0".repeat(64));
    assert_eq!(verify(&wrong, &kms(), WHEN), Err(AuthError::PayloadHashMismatch));
    let mut unsigned = request.clone();
    unsigned.set_header("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    assert_eq!(verify(&unsigned, &kms(), WHEN), Err(AuthError::UnsignedPayload));
    let mut tampered_body = request;
    tampered_body.body = b"{\"Limit\":1}".to_vec();
    assert_eq!(verify(&tampered_body, &kms(), WHEN), Err(AuthError::PayloadHashMismatch));
}

#[test]
fn presigned_query_and_session_tokens_are_refused() {
    let presigned = OwnedRequest::new("GET", "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc");
    let error = verify(&presigned, &kms(), WHEN).unwrap_err();
    assert_eq!(error, AuthError::PresignedQueryNotSupported);
    assert_eq!(error.kind(), AuthErrorKind::IncompleteSignature);
    let with_token = kms_request_at(WHEN).header("X-Amz-Security-Token", "token");
    assert_eq!(verify(&with_token, &kms(), WHEN), Err(AuthError::SessionTokenNotSupported));
}

#[test]
fn signing_keys_are_cached_and_forgotten_with_the_access_key() {
    let verifier = kms();
    let request = kms_request_at(WHEN);
    for _ in 0..3 {
        verify(&request, &verifier, WHEN).unwrap();
    }
    let stats = verifier.signing_keys().stats();
    assert_eq!((stats.entries, stats.misses, stats.hits), (1, 1, 2));

    verifier.forget_access_key("someone else");
    assert_eq!(verifier.signing_keys().stats().entries, 1);
    verifier.forget_access_key(AKID);
    assert_eq!(verifier.signing_keys().stats().entries, 0);
    verify(&request, &verifier, WHEN).unwrap();
    assert_eq!(verifier.signing_keys().stats().misses, 2);

    // A deleted key fails even while its signing key is still cached.
    let deleted = request.verify(&verifier, at(WHEN), &|_: &str| None);
    assert_eq!(deleted, Err(AuthError::UnknownAccessKey));
    // And a rotated secret does not match the cached key for the old one.
    let rotated = request.verify(&verifier, at(WHEN), &one_key(AKID, "a new secret"));
    assert_eq!(rotated, Err(AuthError::SignatureMismatch));
}

#[test]
fn messages_never_contain_the_secret_signature_or_body() {
    let request = kms_request_at(WHEN).body(b"{\"Plaintext\":\"c2VjcmV0\"}");
    let signature = request.header_value("authorization").unwrap().rsplit('=').next().unwrap().to_owned();
    let error = verify(&request, &kms(), WHEN).unwrap_err();
    let message = error.message();
    assert!(!message.contains(SECRET) && !message.contains(&signature) && !message.contains("c2VjcmV0"));
}

#[test]
fn absurd_inputs_are_rejected_without_panicking() {
    let headers: [(&str, &[u8]); 3] = [
        ("Authorization", b"AWS4-HMAC-SHA256 Credential=\xff\xfe, SignedHeaders=;;;, Signature=\x00"),
        ("X-Amz-Date", b"\xff"),
        ("Host", b""),
    ];
    for (path, query) in [("", ""), ("%", "%"), ("/../../..", "=&=&%zz=%"), ("\u{1234}", "\u{1234}=\u{1234}")]
    {
        let request = SignedRequest { method: "", path, query, headers: &headers, body: &[0xff; 3] };
        assert!(kms().verify(&request, at(WHEN), &one_key(AKID, SECRET)).is_err());
    }
}

#[test]
fn debug_output_hides_header_values_and_the_body() {
    let request = kms_request_at(WHEN).body(b"plaintext");
    let debug = request.with_view(|view| format!("{view:?}"));
    assert!(debug.contains("Authorization") && debug.contains("body_len: 9"), "{debug}");
    assert!(!debug.contains("plaintext") && !debug.contains("Signature="), "{debug}");
}

#[test]
fn every_truncation_and_byte_flip_of_the_authorization_header_is_rejected() {
    let request = kms_request_at(WHEN);
    let good = request.header_value("authorization").unwrap().as_bytes().to_vec();
    let mut mutants: Vec<Vec<u8>> = (0..good.len()).map(|end| good[..end].to_vec()).collect();
    for index in 0..good.len() {
        for flip in [0x01, 0x20, 0x80] {
            let mut mutant = good.clone();
            mutant[index] ^= flip;
            mutants.push(mutant);
        }
    }
    let credentials = one_key(AKID, SECRET);
    let parsed_good = super::parse_authorization(&good).unwrap();
    for mutant in mutants {
        let mut changed = request.clone();
        changed.set_header("Authorization", "");
        changed.headers.last_mut().unwrap().1 = mutant.clone();
        let outcome = changed.verify(&kms(), at(WHEN), &credentials);
        // Accepted only if it says the same thing (a separator became other whitespace, a hex
        // digit changed case).
        let same = super::parse_authorization(&mutant).is_ok_and(|parsed| parsed == parsed_good);
        assert_eq!(outcome.is_ok(), same, "{:?}", String::from_utf8_lossy(&mutant));
    }
}

#[test]
fn content_type_and_every_x_amz_header_must_be_signed() {
    // Signed over host and x-amz-date only, then replayed as another operation: refused.
    let narrow = OwnedRequest::new("POST", "/")
        .header("Host", "kms.us-east-1.amazonaws.com")
        .header("X-Amz-Date", WHEN)
        .body(b"{}")
        .signed((AKID, SECRET), "us-east-1", "kms", &["host", "x-amz-date"]);
    assert!(verify(&narrow, &kms(), WHEN).is_ok(), "nothing unsigned is present yet");
    let replayed = narrow.clone().header("X-Amz-Target", "TrentService.ScheduleKeyDeletion");
    let error = verify(&replayed, &kms(), WHEN).unwrap_err();
    assert_eq!(error, AuthError::HeaderNotSigned("x-amz-target".into()));
    assert_eq!(error.kind(), AuthErrorKind::InvalidSignature);
    let typed = narrow.clone().header("Content-Type", "application/x-amz-json-1.1");
    assert_eq!(verify(&typed, &kms(), WHEN), Err(AuthError::HeaderNotSigned("content-type".into())));
    let odd = narrow.clone().header("X-AMZ-Whatever", "1");
    assert_eq!(verify(&odd, &kms(), WHEN), Err(AuthError::HeaderNotSigned("x-amz-whatever".into())));
    // Headers that mean nothing to the server may stay unsigned, as botocore leaves them.
    let traced = narrow.clone().header("User-Agent", "x").header("X-Amzn-Trace-Id", "Root=1");
    assert!(verify(&traced, &kms(), WHEN).is_ok());
    // A server's own semantic headers can be added to the rule.
    let strict = kms().require_signed_prefix("X-Trent-");
    let idempotent = narrow.header("x-trent-request-id", "0f0e");
    assert_eq!(
        verify(&idempotent, &strict, WHEN),
        Err(AuthError::HeaderNotSigned("x-trent-request-id".into()))
    );
    assert!(verify(&idempotent, &kms(), WHEN).is_ok());
}

#[test]
fn the_head_is_checked_before_the_body_and_the_body_completes_it() {
    let request = kms_request_at(WHEN);
    let verifier = kms();
    request.with_view(|view| {
        let head = verifier.check_head(view.head(), at(WHEN)).unwrap();
        assert_eq!(head.access_key_id(), AKID);
        let store = one_key(AKID, SECRET);
        assert!(verifier.verify_body(&head, view.body, &store).is_ok());
        assert_eq!(verifier.verify_body(&head, b"{\"x\":1}", &store), Err(AuthError::SignatureMismatch));
    });
    // Too old to ever verify: refused before any body is read.
    request.with_view(|view| {
        let error = verifier.check_head(view.head(), at("20150830T125000Z")).unwrap_err();
        assert!(matches!(error, AuthError::Expired { .. }), "{error:?}");
    });
    let unsigned = OwnedRequest::new("POST", "/").header("Host", "h").body(b"{}");
    unsigned.with_view(|view| {
        assert_eq!(verifier.check_head(view.head(), at(WHEN)).unwrap_err(), AuthError::MissingAuthorization);
    });
}

#[test]
fn a_secret_that_cannot_be_opened_is_an_internal_error_not_an_unknown_key() {
    struct Broken;
    impl CredentialStore for Broken {
        fn secret_access_key(
            &self,
            _: &str,
        ) -> Result<Option<zeroize::Zeroizing<String>>, crate::CredentialUnavailable> {
            Err(crate::CredentialUnavailable)
        }
    }
    let error = kms_request_at(WHEN).verify(&kms(), at(WHEN), &Broken).unwrap_err();
    assert_eq!(error, AuthError::CredentialUnavailable);
    assert_eq!((error.aws_error_name(), error.http_status()), ("KMSInternalException", 500));
}
