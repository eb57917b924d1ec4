//! The SigV4 canonical request and string to sign, built from the request exactly as received, the
//! way AWS does it for every service but S3 (and as botocore signs): the path has its dot segments
//! and empty segments removed and is then percent-encoded *again* (so `%20` becomes `%2520`); query
//! parameters are decoded, re-encoded strictly and sorted; header values are trimmed, inner
//! whitespace runs become one space, and repeated headers are joined with commas.

use super::authorization::{CredentialScope, ALGORITHM};
use super::error::AuthError;
use super::timestamp::Timestamp;
use super::RequestHead;

/// Query parameters that mark a presigned URL.
const PRESIGNED_QUERY_PARAMETERS: [&str; 3] = ["X-Amz-Signature", "X-Amz-Credential", "X-Amz-Algorithm"];

/// The canonical request: method, URI, query, headers, signed header list and payload hash, one
/// per line. Fails if a signed header is absent from the request.
pub(crate) fn canonical_request(
    request: &RequestHead<'_>,
    signed_headers: &[String],
    payload_hash: &str,
) -> Result<Vec<u8>, AuthError> {
    let mut out = Vec::with_capacity(256 + request.path.len() + request.query.len());
    out.extend_from_slice(request.method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(request.path).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query(request.query).as_bytes());
    out.push(b'\n');
    for name in signed_headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let mut values = request.headers.iter().filter(|(header, _)| header.eq_ignore_ascii_case(name));
        let Some((_, first)) = values.next() else {
            return Err(AuthError::SignedHeaderAbsent(name.clone()));
        };
        push_trimmed(&mut out, first);
        for (_, value) in values {
            out.push(b',');
            push_trimmed(&mut out, value);
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    Ok(out)
}

/// `AWS4-HMAC-SHA256\n<time>\n<scope>\n<hex sha256 of the canonical request>`.
pub(crate) fn string_to_sign(time: Timestamp, scope: &CredentialScope, canonical_request: &[u8]) -> String {
    let digest = hex_lower(&crate::crypto::sha256(canonical_request));
    format!("{ALGORITHM}\n{time}\n{}\n{digest}", scope.to_scope_string())
}

/// The path with dot segments and empty segments removed (keeping a trailing slash), then
/// percent-encoded with `/` kept — botocore's `quote(remove_dot_segments(path), safe='/~')`.
pub(crate) fn canonical_uri(raw_path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in raw_path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(segment),
        }
    }
    let mut normalized = String::with_capacity(raw_path.len() + 1);
    if raw_path.is_empty() || raw_path.starts_with('/') {
        normalized.push('/');
    }
    normalized.push_str(&segments.join("/"));
    if raw_path.ends_with('/') && !segments.is_empty() {
        normalized.push('/');
    }
    let mut encoded = String::with_capacity(normalized.len() * 3);
    percent_encode_into(normalized.as_bytes(), true, &mut encoded);
    encoded
}

/// Parameters percent-decoded, re-encoded with only unreserved characters left bare, sorted by
/// name then value, joined as `name=value&…`; a parameter without `=` gets an empty value.
pub(crate) fn canonical_query(raw_query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query_parameters(raw_query)
        .map(|(name, value)| (percent_encode(&percent_decode(name)), percent_encode(&percent_decode(value))))
        .collect();
    pairs.sort_unstable();
    let mut out = String::with_capacity(raw_query.len() + 8);
    for (index, (name, value)) in pairs.iter().enumerate() {
        if index > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// Whether the query carries presigned-URL authentication parameters.
pub(crate) fn has_presigned_parameters(raw_query: &str) -> bool {
    query_parameters(raw_query).any(|(name, _)| {
        let name = percent_decode(name);
        PRESIGNED_QUERY_PARAMETERS.iter().any(|marker| marker.as_bytes().eq_ignore_ascii_case(&name))
    })
}

fn query_parameters(raw_query: &str) -> impl Iterator<Item = (&str, &str)> {
    raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// Appends `value` with leading and trailing whitespace dropped and inner runs made one space.
fn push_trimmed(out: &mut Vec<u8>, value: &[u8]) {
    for (index, word) in value.split(u8::is_ascii_whitespace).filter(|word| !word.is_empty()).enumerate() {
        if index > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(word);
    }
}

/// `%XX` sequences decoded; a `%` not followed by two hex digits stays literal, and so does `+`
/// (AWS signers never use `+` for a space).
pub fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = (byte == b'%')
            .then(|| Some((hex_value(*bytes.get(index + 1)?)?, hex_value(*bytes.get(index + 2)?)?)))
            .flatten();
        match escaped {
            Some((high, low)) => {
                out.push(high << 4 | low);
                index += 3;
            }
            None => {
                out.push(byte);
                index += 1;
            }
        }
    }
    out
}

/// RFC 3986 percent-encoding with only unreserved characters left bare: a query string value.
pub fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    percent_encode_into(bytes, false, &mut out);
    out
}

/// RFC 3986 encoding: unreserved characters (and `/` if `keep_slash`) bare, all else `%XX`.
fn percent_encode_into(bytes: &[u8], keep_slash: bool, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) || (keep_slash && byte == b'/') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
}

/// Lowercase hex.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

/// Exactly 64 hex digits (either case) as 32 bytes.
pub(crate) fn decode_hex_32(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let (high, low) =
            (pair.first().copied().and_then(hex_value)?, pair.get(1).copied().and_then(hex_value)?);
        *slot = high << 4 | low;
    }
    Some(out)
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_is_normalised_then_encoded_once_more() {
        for (raw, canonical) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example1/example2/../..", "/"),
            ("/example1/../example2", "/example2"),
            ("//example//", "/example/"),
            ("/v1/sys/status", "/v1/sys/status"),
            ("/example space/", "/example%20space/"),
            ("/a%20b", "/a%2520b"),
            ("/example/$delete", "/example/%24delete"),
            ("/\u{1234}", "/%E1%88%B4"),
            ("/-._~AZaz09", "/-._~AZaz09"),
        ] {
            assert_eq!(canonical_uri(raw), canonical, "{raw:?}");
        }
    }

    #[test]
    fn query_is_decoded_reencoded_and_sorted() {
        for (raw, canonical) in [
            ("", ""),
            ("Param2=value2&Param1=value1", "Param1=value1&Param2=value2"),
            ("Param1=value2&Param1=Value1", "Param1=Value1&Param1=value2"),
            ("Param-3=Value3&Param=Value2&%E1%88%B4=Value1", "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"),
            ("Param1", "Param1="),
            ("a=%7e&b=~&c=%2f&d=/", "a=~&b=~&c=%2F&d=%2F"),
            ("a=b+c&&=x", "=x&a=b%2Bc"),
            ("a=100%&b=%zz", "a=100%25&b=%25zz"),
        ] {
            assert_eq!(canonical_query(raw), canonical, "{raw:?}");
        }
    }

    #[test]
    fn presigned_parameters_are_recognised_in_any_encoding() {
        assert!(has_presigned_parameters("X-Amz-Signature=abc"));
        assert!(has_presigned_parameters("a=b&x-amz-credential=AK%2F..."));
        assert!(has_presigned_parameters("X%2DAmz%2DAlgorithm=AWS4-HMAC-SHA256"));
        assert!(!has_presigned_parameters("Action=ListKeys&X-Amz-Date=20150830T123600Z"));
    }

    #[test]
    fn header_values_are_trimmed_collapsed_and_joined() {
        let headers: [(&str, &[u8]); 4] = [
            ("Host", b"example.amazonaws.com"),
            ("My-Header1", b"  a   b \t c  "),
            ("my-header1", b"value2"),
            ("Unsigned", b"ignored"),
        ];
        let request =
            crate::SignedRequest { method: "GET", path: "/", query: "", headers: &headers, body: b"" };
        let signed = ["host".to_owned(), "my-header1".to_owned()];
        let canonical = canonical_request(&request.head(), &signed, "UNUSED").unwrap();
        assert_eq!(
            String::from_utf8(canonical).unwrap(),
            "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:a b c,value2\n\nhost;my-header1\nUNUSED"
        );
        let missing = ["host".to_owned(), "x-amz-date".to_owned()];
        assert_eq!(
            canonical_request(&request.head(), &missing, ""),
            Err(AuthError::SignedHeaderAbsent("x-amz-date".to_owned()))
        );
    }

    #[test]
    fn hex_round_trips_and_rejects_bad_digits() {
        let bytes: [u8; 32] = std::array::from_fn(|index| (index * 8) as u8);
        let text = hex_lower(&bytes);
        assert_eq!(decode_hex_32(&text), Some(bytes));
        assert_eq!(decode_hex_32(&text.to_uppercase()), Some(bytes));
        assert_eq!(decode_hex_32(&text[1..]), None);
        assert_eq!(decode_hex_32(&format!("g{}", &text[1..])), None);
    }
}
