//! PEM armour for the digest public key: `-----BEGIN PUBLIC KEY-----`, base64 wrapped at 64
//! columns, as `openssl` writes and reads it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::error::AuditError;

const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const END: &str = "-----END PUBLIC KEY-----";
/// A PEM public key larger than this is not a P-256 key.
const MAX_PEM_BYTES: usize = 16 * 1024;

/// `der` as a PEM `PUBLIC KEY` block, ending in a newline.
pub(crate) fn encode_public_key(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = String::with_capacity(body.len() + body.len() / 64 + 64);
    pem.push_str(BEGIN);
    pem.push('\n');
    for chunk in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str(END);
    pem.push('\n');
    pem
}

/// The DER inside a PEM `PUBLIC KEY` block, or `None` if `bytes` is not PEM at all.
pub(crate) fn decode_public_key(bytes: &[u8]) -> Option<Result<Vec<u8>, AuditError>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let start = text.find(BEGIN)?;
    if bytes.len() > MAX_PEM_BYTES {
        return Some(Err(AuditError::InvalidPublicKey("PEM too large")));
    }
    let after_begin = &text[start + BEGIN.len()..];
    let Some(end) = after_begin.find(END) else {
        return Some(Err(AuditError::InvalidPublicKey("PEM without an END line")));
    };
    let body: String = after_begin[..end].chars().filter(|c| !c.is_ascii_whitespace()).collect();
    Some(STANDARD.decode(body).map_err(|_| AuditError::InvalidPublicKey("PEM body is not base64")))
}
