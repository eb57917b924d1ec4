//! The two kinds of line in a log file and their exact encoding: an event line is the [`Event`]'s
//! fields at top level plus `sequence` and `previousHash`; a digest line signs the chain head
//! before it. Hashes cover a line's bytes as written, so no canonical JSON is needed.

use serde::{Deserialize, Serialize};

use crate::error::AuditError;
use crate::hash::LineHash;
use crate::record::Event;

/// The longest line a reader accepts (and so the longest record a writer will write).
pub const MAX_LINE_BYTES: usize = 1024 * 1024;
/// Domain separation of the digest signature's message.
const DIGEST_MESSAGE_PREFIX: &[u8] = b"trent-audit-digest-v1\n";

/// One event as stored: its chain position and the event itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainedEvent {
    /// Its place in the log (1 for the first record ever written).
    pub sequence: u64,
    /// SHA-256 hex of the previous line's bytes (64 zeros for sequence 1).
    pub previous_hash: String,
    /// The CloudTrail record.
    #[serde(flatten)]
    pub event: Event,
}

/// A digest line: the node's signature over the chain head just before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestRecord {
    /// Its own place in the log.
    pub sequence: u64,
    /// SHA-256 hex of the previous line's bytes.
    pub previous_hash: String,
    /// The node that signed it.
    pub node_id: u64,
    /// When, RFC 3339 UTC with second precision.
    pub event_time: String,
    /// What is signed and the signature.
    pub trent_digest: TrentDigest,
}

/// The signed part of a [`DigestRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrentDigest {
    /// The sequence of the head it signs (the digest line's own sequence − 1).
    pub signed_sequence: u64,
    /// The head's hash (equal to the digest line's `previousHash`).
    pub head_hash: String,
    /// [`crate::DigestSigner::key_id`] of the signing key.
    pub key_id: String,
    /// Base64 of the DER ECDSA P-256 SHA-256 signature of [`digest_message`].
    pub signature: String,
}

/// Why a line is not a record.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// JSON, but not an object.
    #[error("not a JSON object")]
    NotAnObject,
    /// Has `trentDigest` but is not a digest record.
    #[error("not a digest record: {0}")]
    NotADigest(#[source] serde_json::Error),
    /// Not an event record.
    #[error("not an event record: {0}")]
    NotAnEvent(#[source] serde_json::Error),
    /// `previousHash` is not 64 lowercase hex digits.
    #[error("previousHash is not 64 lowercase hex digits")]
    PreviousHash,
}

/// One parsed line.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A CloudTrail event (boxed: it is much larger than a digest).
    Event(Box<ChainedEvent>),
    /// A signed digest of the head.
    Digest(DigestRecord),
}

impl Line {
    /// Parses one line's bytes (without the newline), checking the chain fields' shape.
    pub fn parse(bytes: &[u8]) -> Result<Line, LineError> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(LineError::NotJson)?;
        let is_digest = value.as_object().ok_or(LineError::NotAnObject)?.contains_key("trentDigest");
        let line = if is_digest {
            Line::Digest(serde_json::from_value(value).map_err(LineError::NotADigest)?)
        } else {
            Line::Event(Box::new(serde_json::from_value(value).map_err(LineError::NotAnEvent)?))
        };
        if LineHash::from_hex(line.previous_hash()).is_none() {
            return Err(LineError::PreviousHash);
        }
        Ok(line)
    }

    /// The line's sequence.
    pub fn sequence(&self) -> u64 {
        match self {
            Line::Event(event) => event.sequence,
            Line::Digest(digest) => digest.sequence,
        }
    }

    /// The line's `previousHash`.
    pub fn previous_hash(&self) -> &str {
        match self {
            Line::Event(event) => &event.previous_hash,
            Line::Digest(digest) => &digest.previous_hash,
        }
    }

    /// The line's `eventTime`.
    pub fn event_time(&self) -> &str {
        match self {
            Line::Event(event) => &event.event.event_time,
            Line::Digest(digest) => &digest.event_time,
        }
    }
}

/// The chain fields an event line starts with, at their longest:
/// `{"sequence":<20 digits>,"previousHash":"<64 hex digits>",`.
const CHAIN_FIELDS_MAX_BYTES: usize = br#"{"sequence":,"previousHash":"","#.len() + 20 + 64;

/// An event encoded once, by the caller that made it, so the writer thread only puts the
/// chain fields in front: the JSON object of the [`Event`], whose first field follows its
/// opening brace. A line is then `{"sequence":N,"previousHash":"…",` and the rest of that
/// object: the same bytes as serializing [`ChainedEvent`], which is how readers parse it.
#[derive(Debug, Clone)]
pub struct EncodedEvent(Vec<u8>);

impl EncodedEvent {
    /// Encodes `event`, refusing one whose line could pass [`MAX_LINE_BYTES`] (counting the
    /// chain fields at their longest).
    pub fn new(event: &Event) -> Result<EncodedEvent, AuditError> {
        let mut bytes = Vec::with_capacity(1024);
        serde_json::to_writer(&mut bytes, event).map_err(AuditError::Encode)?;
        // `{` and at least `eventVersion`: an event always has fields, so the chain fields'
        // trailing comma is always followed by one.
        let len = CHAIN_FIELDS_MAX_BYTES + bytes.len();
        if len > MAX_LINE_BYTES {
            return Err(AuditError::LineTooLong { len, max: MAX_LINE_BYTES });
        }
        Ok(EncodedEvent(bytes))
    }

    /// The most bytes its line can take, newline included.
    pub(crate) fn max_line_bytes(&self) -> usize {
        CHAIN_FIELDS_MAX_BYTES + self.0.len() + 1
    }

    /// Appends its line at `sequence` after the line hashing to `previous_hex` (no newline).
    pub(crate) fn write_line(&self, sequence: u64, previous_hex: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"sequence":"#);
        out.extend_from_slice(sequence.to_string().as_bytes());
        out.extend_from_slice(br#","previousHash":""#);
        out.extend_from_slice(previous_hex);
        out.extend_from_slice(br#"","#);
        out.extend_from_slice(self.0.get(1..).unwrap_or_default());
    }
}

/// The bytes of the event line for `event` at `sequence` after the line hashing to
/// `previous_hash` (64 lowercase hex digits, else refused), without the newline: what the
/// writer writes.
pub fn encode_event_line(event: &Event, sequence: u64, previous_hash: &str) -> Result<Vec<u8>, AuditError> {
    let previous = LineHash::from_hex(previous_hash).ok_or(AuditError::InvalidPreviousHash)?;
    let encoded = EncodedEvent::new(event)?;
    let mut line = Vec::with_capacity(encoded.max_line_bytes());
    encoded.write_line(sequence, &previous.hex_digits(), &mut line);
    bounded(line)
}

/// The bytes of a digest line, without the newline.
pub(crate) fn encode_digest_line(digest: &DigestRecord) -> Result<Vec<u8>, AuditError> {
    bounded(serde_json::to_vec(digest).map_err(AuditError::Encode)?)
}

fn bounded(line: Vec<u8>) -> Result<Vec<u8>, AuditError> {
    if line.len() > MAX_LINE_BYTES {
        return Err(AuditError::LineTooLong { len: line.len(), max: MAX_LINE_BYTES });
    }
    Ok(line)
}

/// The message a digest's signature covers:
/// `trent-audit-digest-v1\n<nodeId>\n<signedSequence>\n<headHash>\n<eventTime>`.
pub fn digest_message(node_id: u64, signed_sequence: u64, head_hash: &str, event_time: &str) -> Vec<u8> {
    let mut message = DIGEST_MESSAGE_PREFIX.to_vec();
    message.extend_from_slice(format!("{node_id}\n{signed_sequence}\n{head_hash}\n{event_time}").as_bytes());
    message
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::record::EVENT_SOURCE;

    pub(crate) fn event(name: &str) -> Event {
        Event {
            event_version: crate::record::EVENT_VERSION.to_owned(),
            user_identity: None,
            event_time: "2026-12-04T01:02:03Z".to_owned(),
            event_source: EVENT_SOURCE.to_owned(),
            event_name: name.to_owned(),
            aws_region: "us-east-1".to_owned(),
            source_ip_address: None,
            user_agent: None,
            request_parameters: None,
            response_elements: None,
            error_code: None,
            error_message: None,
            request_id: "r".to_owned(),
            client_request_id: None,
            event_id: "e".to_owned(),
            read_only: true,
            resources: Vec::new(),
            event_type: "AwsApiCall".to_owned(),
            management_event: true,
            event_category: "Management".to_owned(),
            recipient_account_id: "111122223333".to_owned(),
            node_id: 1,
        }
    }

    #[test]
    fn an_event_line_is_the_event_flattened_with_its_chain_fields() {
        let zero = LineHash::GENESIS.to_hex();
        let bytes = encode_event_line(&event("Encrypt"), 1, &zero).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["sequence"], 1);
        assert_eq!(value["previousHash"], zero.as_str());
        assert_eq!(value["eventName"], "Encrypt");
        assert!(bytes.starts_with(b"{\"sequence\":1,\"previousHash\":"));
        // Byte for byte what serde makes of the stored shape, which is how readers parse it.
        let stored = ChainedEvent { sequence: 1, previous_hash: zero.clone(), event: event("Encrypt") };
        assert_eq!(bytes, serde_json::to_vec(&stored).unwrap());
        let mut full = event("Encrypt");
        full.user_identity = Some(crate::record::UserIdentity {
            identity_type: "IAMUser".to_owned(),
            principal_id: Some("alice".to_owned()),
            arn: Some("arn:aws:iam::111122223333:user/alice".to_owned()),
            account_id: Some("111122223333".to_owned()),
            access_key_id: Some("AKID".to_owned()),
            user_name: Some("alice".to_owned()),
            invoked_by: None,
        });
        full.request_parameters =
            Some(serde_json::json!({"keyId": "k", "encryptionContext": {"a": "\"b\n"}}));
        full.error_code = Some("AccessDeniedException".to_owned());
        full.client_request_id = Some("c".to_owned());
        let stored = ChainedEvent { sequence: u64::MAX, previous_hash: "ab".repeat(32), event: full.clone() };
        let line = encode_event_line(&full, u64::MAX, &"ab".repeat(32)).unwrap();
        assert_eq!(line, serde_json::to_vec(&stored).unwrap());
        let Line::Event(parsed) = Line::parse(&bytes).unwrap() else { panic!("not an event") };
        assert_eq!(parsed.event, event("Encrypt"));
    }

    #[test]
    fn a_digest_line_parses_as_a_digest() {
        let digest = DigestRecord {
            sequence: 2,
            previous_hash: "ab".repeat(32),
            node_id: 3,
            event_time: "2026-12-04T01:02:03Z".to_owned(),
            trent_digest: TrentDigest {
                signed_sequence: 1,
                head_hash: "ab".repeat(32),
                key_id: "00".repeat(16),
                signature: "AA==".to_owned(),
            },
        };
        let bytes = encode_digest_line(&digest).unwrap();
        assert_eq!(Line::parse(&bytes).unwrap(), Line::Digest(digest));
    }

    #[test]
    fn lines_without_a_valid_previous_hash_are_refused() {
        assert!(matches!(
            encode_event_line(&event("Encrypt"), 1, "nothex\",\"x\":\"y"),
            Err(AuditError::InvalidPreviousHash)
        ));
        let zero = LineHash::GENESIS.to_hex();
        let good = String::from_utf8(encode_event_line(&event("Encrypt"), 1, &zero).unwrap()).unwrap();
        let bytes = good.replace(&zero, "nothex").into_bytes();
        assert!(Line::parse(&bytes).is_err());
        assert!(Line::parse(b"[1]").is_err());
        assert!(Line::parse(b"{\"sequence\":1}").is_err());
    }
}
