//! Trent's audit trail as files, free of the node: the CloudTrail-shaped [`Event`], the log
//! directory that chains every record to the one before it with SHA-256 across file rotation,
//! the signed digest records that pin the chain head, and the offline verification and filtering
//! of such a directory.
//!
//! The files: `audit-<first sequence, 20 digits>.jsonl`, one JSON object per line. An event line
//! is an [`Event`]'s fields plus `sequence` and `previousHash`; a digest line
//! ([`DigestRecord`]) carries `trentDigest`, an ECDSA P-256 signature over [`digest_message`] by
//! the node's [`DigestSigner`]. `previousHash` is SHA-256 of the exact bytes of the line before
//! (64 zeros before sequence 1), across files, so checking needs no canonical JSON.
//!
//! It is not the node's audit pipeline (batching, the writer thread, back-pressure): the node
//! drives an [`AuditLog`] and this crate only promises what reaches the files.

mod crypto;
mod error;
mod files;
mod hash;
mod line;
mod page;
mod pem;
mod query;
mod record;
mod time;
mod verify;
mod writer;

pub use crypto::{DigestSigner, DigestVerifier};
pub use error::AuditError;
pub use files::MAX_LOG_FILES;
pub use hash::LineHash;
pub use line::{
    digest_message, encode_event_line, ChainedEvent, DigestRecord, EncodedEvent, Line, LineError,
    TrentDigest, MAX_LINE_BYTES,
};
pub use page::{AuditPage, AuditPublicKey};
pub use query::{query, Filter, QueryPage, StoredEvent, MAX_QUERY_LIMIT};
pub use record::{Event, Resource, UserIdentity, EVENT_SOURCE, EVENT_VERSION};
pub use time::{parse_rfc3339_seconds, rfc3339_seconds, unix_ms};
pub use verify::{verify_dir, Problem, ProblemKind, VerifyReport};
pub use writer::{
    AppendedRange, AuditLog, ChainHead, RotationPolicy, MAX_BATCH_BYTES, MAX_BATCH_EVENTS,
    PREALLOCATION_BYTES,
};
