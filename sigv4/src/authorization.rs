//! Parsing the SigV4 `Authorization` header, `AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/
//! kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=<64 hex digits>`.
//! Components may come in any order, separated by commas and/or whitespace, with whitespace
//! around `=`; everything else is rejected before any work proportional to it is done twice.

use super::error::AuthError;

/// The only algorithm we verify.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The last element of every credential scope.
pub(crate) const SCOPE_TERMINATOR: &str = "aws4_request";
/// The most headers `SignedHeaders` may list; real clients sign fewer than ten.
pub const MAX_SIGNED_HEADERS: usize = 64;
/// Longest access key id, region or service name we accept in a credential.
const MAX_SCOPE_ELEMENT: usize = 128;
/// Longest header name we accept in `SignedHeaders`.
const MAX_HEADER_NAME: usize = 128;

/// The `date/region/service/aws4_request` part of a credential.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CredentialScope {
    /// `YYYYMMDD`.
    pub date: String,
    /// The region the client signed for.
    pub region: String,
    /// The service the client signed for.
    pub service: String,
}

impl CredentialScope {
    /// `date/region/service/aws4_request`, as the string to sign has it.
    pub fn to_scope_string(&self) -> String {
        format!("{}/{}/{}/{SCOPE_TERMINATOR}", self.date, self.region, self.service)
    }
}

/// A parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authorization {
    pub access_key_id: String,
    pub scope: CredentialScope,
    /// Whether the scope ends in `aws4_request`; checked with the rest of the scope.
    pub terminator_ok: bool,
    /// Lowercase, strictly ascending header names.
    pub signed_headers: Vec<String>,
    pub signature: [u8; 32],
}

/// Parses the value of an `Authorization` header.
pub(crate) fn parse_authorization(value: &[u8]) -> Result<Authorization, AuthError> {
    let text = std::str::from_utf8(value).map_err(|_| AuthError::MalformedAuthorization("not UTF-8"))?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let (algorithm, rest) = text.split_once(|c: char| c.is_ascii_whitespace()).unwrap_or((text, ""));
    if algorithm != ALGORITHM {
        return Err(AuthError::UnsupportedAlgorithm);
    }

    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    let compact = components(rest);
    for component in compact.split([',', ' ']).filter(|component| !component.is_empty()) {
        let (name, value) = component
            .split_once('=')
            .ok_or(AuthError::MalformedAuthorization("every component must be Name=value"))?;
        let slot = match name {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err(AuthError::MalformedAuthorization("unknown component")),
        };
        if slot.replace(value).is_some() {
            return Err(AuthError::MalformedAuthorization("a component appears twice"));
        }
    }
    let missing: Vec<&'static str> = [
        ("Credential", credential.is_none()),
        ("Signature", signature.is_none()),
        ("SignedHeaders", signed_headers.is_none()),
    ]
    .into_iter()
    .filter_map(|(name, absent)| absent.then_some(name))
    .collect();
    let (Some(credential), Some(signed_headers), Some(signature)) = (credential, signed_headers, signature)
    else {
        return Err(AuthError::MissingComponents(missing));
    };

    let (access_key_id, scope, terminator_ok) = parse_credential(credential)?;
    Ok(Authorization {
        access_key_id,
        scope,
        terminator_ok,
        signed_headers: parse_signed_headers(signed_headers)?,
        signature: super::canonical::decode_hex_32(signature)
            .ok_or(AuthError::MalformedAuthorization("Signature must be 64 hexadecimal digits"))?,
    })
}

/// The components with whitespace around `=` removed and other whitespace runs made one space,
/// so that commas and single spaces are the only separators left.
fn components(rest: &str) -> std::borrow::Cow<'_, str> {
    // What SDKs send ("Credential=…, SignedHeaders=…, Signature=…") is compact already: single
    // spaces, none next to '='. Borrow it rather than rebuild it on every request.
    let bytes = rest.as_bytes();
    let lone_space = |index: usize| {
        let neighbour_ok = |byte: u8| !byte.is_ascii_whitespace() && byte != b'=';
        bytes[index] == b' '
            && index > 0
            && index + 1 < bytes.len()
            && neighbour_ok(bytes[index - 1])
            && neighbour_ok(bytes[index + 1])
    };
    if (0..bytes.len()).all(|index| !bytes[index].is_ascii_whitespace() || lone_space(index)) {
        return std::borrow::Cow::Borrowed(rest);
    }
    let mut compact = String::with_capacity(rest.len());
    let mut pending_space = false;
    for c in rest.chars() {
        if c.is_ascii_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space && c != '=' && !compact.ends_with('=') {
            compact.push(' ');
        }
        pending_space = false;
        compact.push(c);
    }
    std::borrow::Cow::Owned(compact)
}

fn parse_credential(credential: &str) -> Result<(String, CredentialScope, bool), AuthError> {
    // Split from the right: the scope elements never contain '/', so an access key id that does
    // still parses unambiguously.
    let mut elements = credential.rsplitn(5, '/');
    let (Some(terminator), Some(service), Some(region), Some(date), Some(access_key_id)) =
        (elements.next(), elements.next(), elements.next(), elements.next(), elements.next())
    else {
        return Err(AuthError::MalformedCredential);
    };
    // Printable ASCII only: region and service are echoed in error messages.
    let bounded = |element: &str| {
        !element.is_empty()
            && element.len() <= MAX_SCOPE_ELEMENT
            && element.bytes().all(|byte| byte.is_ascii_graphic())
    };
    let well_formed = [access_key_id, region, service].into_iter().all(bounded)
        && date.len() == 8
        && date.bytes().all(|byte| byte.is_ascii_digit());
    if !well_formed {
        return Err(AuthError::MalformedCredential);
    }
    let scope =
        CredentialScope { date: date.to_owned(), region: region.to_owned(), service: service.to_owned() };
    Ok((access_key_id.to_owned(), scope, terminator == SCOPE_TERMINATOR))
}

fn parse_signed_headers(list: &str) -> Result<Vec<String>, AuthError> {
    let mut names: Vec<String> = Vec::new();
    for name in list.split(';') {
        if names.len() == MAX_SIGNED_HEADERS {
            return Err(AuthError::TooManySignedHeaders { limit: MAX_SIGNED_HEADERS });
        }
        let token = !name.is_empty()
            && name.len() <= MAX_HEADER_NAME
            && name.bytes().all(|byte| is_token_byte(byte) && !byte.is_ascii_uppercase());
        if !token {
            return Err(AuthError::MalformedAuthorization("SignedHeaders must list lowercase header names"));
        }
        if names.last().is_some_and(|previous| previous.as_str() >= name) {
            return Err(AuthError::MalformedAuthorization("SignedHeaders must be sorted and unique"));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

/// RFC 9110 `tchar`.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNATURE: &str = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";

    fn header(credential: &str, signed: &str) -> String {
        format!("AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={signed}, Signature={SIGNATURE}")
    }

    #[test]
    fn parses_the_form_botocore_sends() {
        let parsed = parse_authorization(
            header("AKIDEXAMPLE/20150830/us-east-1/kms/aws4_request", "content-type;host;x-amz-date")
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(parsed.access_key_id, "AKIDEXAMPLE");
        assert_eq!(parsed.scope.to_scope_string(), "20150830/us-east-1/kms/aws4_request");
        assert!(parsed.terminator_ok);
        assert_eq!(parsed.signed_headers, ["content-type", "host", "x-amz-date"]);
        assert_eq!(super::super::canonical::hex_lower(&parsed.signature), SIGNATURE);
    }

    #[test]
    fn accepts_any_component_order_and_whitespace() {
        let expected =
            parse_authorization(header("AK/20150830/r/s/aws4_request", "host").as_bytes()).unwrap();
        let credential = "Credential=AK/20150830/r/s/aws4_request";
        let spaced = "Credential =\tAK/20150830/r/s/aws4_request";
        let upper = SIGNATURE.to_uppercase();
        for text in [
            format!("AWS4-HMAC-SHA256 Signature={SIGNATURE},SignedHeaders=host,{credential}"),
            format!("  AWS4-HMAC-SHA256\t{credential} ,\n SignedHeaders= host ,Signature ={SIGNATURE}  "),
            format!("AWS4-HMAC-SHA256 {spaced},Signature={upper},SignedHeaders  = host"),
            format!("AWS4-HMAC-SHA256 {credential} SignedHeaders=host Signature={SIGNATURE}"),
            format!("AWS4-HMAC-SHA256 {credential},, SignedHeaders=host, Signature={upper}"),
        ] {
            assert_eq!(parse_authorization(text.as_bytes()).as_ref(), Ok(&expected), "{text:?}");
        }
    }

    #[test]
    fn rejects_other_schemes_and_algorithms() {
        for text in
            ["Bearer abc", "AWS AKID:sig", "AWS4-ECDSA-P256-SHA256 Credential=x", "aws4-hmac-sha256 x", ""]
        {
            assert_eq!(
                parse_authorization(text.as_bytes()),
                Err(AuthError::UnsupportedAlgorithm),
                "{text:?}"
            );
        }
    }

    #[test]
    fn names_every_missing_component() {
        assert_eq!(
            parse_authorization(b"AWS4-HMAC-SHA256"),
            Err(AuthError::MissingComponents(vec!["Credential", "Signature", "SignedHeaders"]))
        );
        let text = "AWS4-HMAC-SHA256 Credential=AK/20150830/r/s/aws4_request, SignedHeaders=host";
        assert_eq!(
            parse_authorization(text.as_bytes()),
            Err(AuthError::MissingComponents(vec!["Signature"]))
        );
    }

    #[test]
    fn compacts_whitespace_and_borrows_what_is_compact_already() {
        let sdk = "Credential=AK/20150830/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=ab";
        assert!(matches!(components(sdk), std::borrow::Cow::Borrowed(_)));
        assert_eq!(components(sdk), sdk);
        for (loose, compact) in [
            ("Credential = a,  Signature=b", "Credential=a, Signature=b"),
            (" Credential=a,\tSignature =b", " Credential=a, Signature=b"),
            ("Credential=a ,Signature=b", "Credential=a ,Signature=b"),
        ] {
            assert_eq!(components(loose), compact, "{loose:?}");
        }
    }

    #[test]
    fn rejects_malformed_components() {
        let good_credential = "AK/20150830/r/s/aws4_request";
        let cases = [
            format!("AWS4-HMAC-SHA256 Credential={good_credential}, SignedHeaders=host, Signature=abc"),
            format!(
                "AWS4-HMAC-SHA256 Credential={good_credential}, SignedHeaders=host, Signature={SIGNATURE}0"
            ),
            format!(
                "AWS4-HMAC-SHA256 Credential={good_credential}, SignedHeaders=host, Signature={}",
                "zz".repeat(32)
            ),
            format!("{}, Credential={good_credential}", header(good_credential, "host")),
            format!("{}, Region=us-east-1", header(good_credential, "host")),
            format!("{}, junk", header(good_credential, "host")),
            header(good_credential, "Host"),
            header(good_credential, "x-amz-date;host"),
            header(good_credential, "host;host"),
            header(good_credential, "host;;x-amz-date"),
            header(good_credential, ""),
        ];
        for text in cases {
            assert!(
                matches!(parse_authorization(text.as_bytes()), Err(AuthError::MalformedAuthorization(_))),
                "{text:?}"
            );
        }
        assert!(parse_authorization(b"AWS4-HMAC-SHA256 Credential=\xff").is_err());
    }

    #[test]
    fn rejects_malformed_credentials() {
        for credential in [
            "AK/20150830/r/aws4_request",
            "/20150830/r/s/aws4_request",
            "AK/2015083/r/s/aws4_request",
            "AK/2015083x/r/s/aws4_request",
            "AK/20150830//s/aws4_request",
            "AK/20150830/r//aws4_request",
            "AK/20150830/r\u{7}/s/aws4_request",
            "AK\u{e9}/20150830/r/s/aws4_request",
        ] {
            assert_eq!(
                parse_authorization(header(credential, "host").as_bytes()),
                Err(AuthError::MalformedCredential),
                "{credential:?}"
            );
        }
        let odd_key = parse_authorization(header("A/B/20150830/r/s/other", "host").as_bytes()).unwrap();
        assert_eq!(odd_key.access_key_id, "A/B");
        assert!(!odd_key.terminator_ok);
    }

    #[test]
    fn caps_the_signed_header_list() {
        let names: Vec<String> = (0..=MAX_SIGNED_HEADERS).map(|index| format!("h{index:03}")).collect();
        let text = header("AK/20150830/r/s/aws4_request", &names.join(";"));
        assert_eq!(
            parse_authorization(text.as_bytes()),
            Err(AuthError::TooManySignedHeaders { limit: MAX_SIGNED_HEADERS })
        );
        let text = header("AK/20150830/r/s/aws4_request", &names[..MAX_SIGNED_HEADERS].join(";"));
        assert_eq!(parse_authorization(text.as_bytes()).unwrap().signed_headers.len(), MAX_SIGNED_HEADERS);
    }
}
