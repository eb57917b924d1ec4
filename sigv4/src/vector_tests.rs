//! The verifier against requests signed by others: the AWS SigV4 test suite (as botocore keeps it,
//! `sigv4/tests/data/sigv4/aws4_testsuite/`), and fixtures signed by botocore/boto3 and by
//! `curl --aws-sigv4` (`tests/wire/sign_fixtures.py` wrote them).

use serde::Deserialize;
use zeroize::Zeroizing;

use super::authorization::parse_authorization;
use super::test_support::{at, one_key, OwnedRequest};
use super::{AuthError, AuthErrorKind, Principal, SigV4Verifier};

const SUITE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sigv4/aws4_testsuite");
/// Every vector in the suite's non-S3 part; all are run (see `suite_expectation`).
const SUITE_SIZE: usize = 34;

/// What the verifier must say about a suite vector. All of them apply to KMS, including the
/// `normalize-path` group (every service but S3 normalises paths, as botocore does), except that
/// Trent issues no temporary credentials: the three vectors carrying `X-Amz-Security-Token` must be
/// refused — after their canonical requests have been checked like every other's.
fn suite_expectation(name: &str) -> Result<Principal, AuthError> {
    match name {
        "get-vanilla-with-session-token" | "post-sts-header-before" | "post-sts-header-after" => {
            Err(AuthError::SessionTokenNotSupported)
        }
        _ => Ok(Principal { access_key_id: "AKIDEXAMPLE".to_owned() }),
    }
}

#[test]
fn aws_sigv4_test_suite_vectors_verify() {
    let mut names: Vec<String> = std::fs::read_dir(SUITE_DIR)
        .unwrap()
        .filter_map(|entry| entry.unwrap().file_name().into_string().ok())
        .filter_map(|file| file.strip_suffix(".sreq").map(str::to_owned))
        .collect();
    names.sort();
    assert_eq!(names.len(), SUITE_SIZE, "vectors found: {names:?}");

    let verifier = SigV4Verifier::new("us-east-1", "service");
    let credentials = one_key("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let now = at("20150830T123600Z");
    for name in &names {
        let read =
            |extension: &str| std::fs::read_to_string(format!("{SUITE_DIR}/{name}.{extension}")).unwrap();
        let request = OwnedRequest::parse_http_message(&read("sreq"));

        let authorization = parse_authorization(request.header_value("authorization").unwrap().as_bytes());
        let canonical = request.canonical_request(&authorization.unwrap().signed_headers);
        assert_eq!(canonical, read("creq").trim_end_matches(['\r', '\n']), "canonical request of {name}");

        assert_eq!(request.verify(&verifier, now, &credentials), suite_expectation(name), "{name}");

        let mut tampered = request.clone();
        let host = format!("{}.", tampered.header_value("host").unwrap());
        tampered.set_header("Host", &host);
        let expected = suite_expectation(name).and(Err(AuthError::SignatureMismatch));
        assert_eq!(tampered.verify(&verifier, now, &credentials), expected, "tampered {name}");
    }
}

#[derive(Deserialize)]
struct FixtureFile {
    generator: String,
    access_key_id: String,
    secret_access_key: String,
    region: String,
    service: String,
    requests: Vec<Fixture>,
}

#[derive(Deserialize)]
struct Fixture {
    name: String,
    now: String,
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: String,
    /// The AWS error the request must fail with (the fixture's `note` says why); `None`: it verifies.
    #[serde(default)]
    expect: Option<String>,
}

impl Fixture {
    fn request(&self) -> OwnedRequest {
        OwnedRequest {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            headers: self
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), value.as_bytes().to_vec()))
                .collect(),
            body: self.body.as_bytes().to_vec(),
        }
    }
}

/// Every fixture verifies as signed (or fails as its `expect` says), and fails once tampered with
/// in each way it can be.
fn check_fixtures(json: &str, minimum: usize) {
    let file: FixtureFile = serde_json::from_str(json).unwrap();
    assert!(file.requests.len() >= minimum, "{}: too few fixtures", file.generator);
    let verifier = SigV4Verifier::new(file.region.as_str(), file.service.as_str());
    let secret = file.secret_access_key.clone();
    let akid = file.access_key_id.clone();
    let credentials = move |id: &str| (id == akid).then(|| Zeroizing::new(secret.clone()));
    let expected = Ok(Principal { access_key_id: file.access_key_id.clone() });

    for fixture in &file.requests {
        let context = format!("{} ({})", fixture.name, file.generator);
        let request = fixture.request();
        let now = at(&fixture.now);
        let outcome = request.verify(&verifier, now, &credentials);
        if let Some(error_name) = &fixture.expect {
            assert_eq!(
                outcome.map_err(|error| error.aws_error_name()),
                Err(error_name.as_str()),
                "{context}"
            );
            continue;
        }
        assert_eq!(outcome, expected, "{context}");

        let mismatch = Err(AuthError::SignatureMismatch);
        let mut tampered: Vec<(&str, OwnedRequest)> = Vec::new();
        let mut method = request.clone();
        method.method = if request.method == "GET" { "HEAD".into() } else { "PUT".into() };
        tampered.push(("method", method));
        let mut path = request.clone();
        path.path.push('x');
        tampered.push(("path", path));
        let mut query = request.clone();
        query.query.push_str(if request.query.is_empty() { "x=1" } else { "&x=1" });
        tampered.push(("query", query));
        let mut host = request.clone();
        host.set_header("Host", "elsewhere.example");
        tampered.push(("host", host));
        let mut body = request.clone();
        body.body.push(b' ');
        tampered.push(("body", body));
        for (what, changed) in &tampered {
            let outcome = changed.verify(&verifier, now, &credentials);
            let acceptable =
                outcome == mismatch || (*what == "body" && outcome == Err(AuthError::PayloadHashMismatch));
            assert!(acceptable, "{context}: tampered {what} gave {outcome:?}");
        }
        let wrong_secret = request.verify(&verifier, now, &one_key("AKIDTRENTFIXTURE0001", "not the secret"));
        assert_eq!(wrong_secret, mismatch, "{context}: wrong secret");
        let stale = request.verify(&verifier, now + super::MAX_CLOCK_SKEW * 2, &credentials);
        assert_eq!(stale.map_err(|error| error.kind()), Err(AuthErrorKind::InvalidSignature), "{context}");
    }
}

#[test]
fn botocore_signed_kms_requests_verify_and_tampered_copies_do_not() {
    check_fixtures(include_str!("../tests/data/sigv4/botocore_kms.json"), 10);
}

#[test]
fn curl_signed_requests_verify_and_tampered_copies_do_not() {
    check_fixtures(include_str!("../tests/data/sigv4/curl_kms.json"), 4);
}
