//! The one error type of the crate: what can go wrong writing, reading or keying an audit log.
//! Tampering is not an error here; [`crate::verify_dir`] reports it as a [`crate::Problem`].

use std::path::PathBuf;

/// Why an audit log operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file system call on `path` failed (ENOSPC, EIO, permissions, …).
    #[error("audit log I/O on {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// An event could not be serialized.
    #[error("cannot encode an audit record: {0}")]
    Encode(#[source] serde_json::Error),
    /// A chain hash that is not 64 lowercase hex digits.
    #[error("a previousHash must be 64 lowercase hex digits")]
    InvalidPreviousHash,
    /// One encoded record is longer than readers accept.
    #[error("an audit record line is {len} bytes, over the {max}-byte limit")]
    LineTooLong {
        /// The line's length.
        len: usize,
        /// [`crate::MAX_LINE_BYTES`].
        max: usize,
    },
    /// `append` was given no events.
    #[error("an audit batch needs at least one event")]
    EmptyBatch,
    /// `append` was given more events than one group commit takes.
    #[error("an audit batch of {len} events is over the {max}-event limit")]
    BatchTooLarge {
        /// Events given.
        len: usize,
        /// [`crate::MAX_BATCH_EVENTS`].
        max: usize,
    },
    /// `append` was given events that encode to more bytes than one group commit takes.
    #[error("an audit batch encodes to more than {max} bytes")]
    BatchTooBig {
        /// [`crate::MAX_BATCH_BYTES`].
        max: usize,
    },
    /// The sequence counter would overflow.
    #[error("the audit log's sequence numbers are exhausted")]
    SequenceExhausted,
    /// A line that should be a record is not one.
    #[error("malformed audit record at {file}:{line}: {detail}")]
    Malformed {
        /// The file's name.
        file: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        detail: String,
    },
    /// The directory holds more log files than the crate will list.
    #[error("the audit directory holds more than {max} log files")]
    TooManyFiles {
        /// [`crate::MAX_LOG_FILES`].
        max: usize,
    },
    /// A digest's `eventTime` is not RFC 3339 UTC with second precision.
    #[error("invalid audit event time {0:?}: expected YYYY-MM-DDTHH:MM:SSZ")]
    InvalidEventTime(String),
    /// The digest signing key could not be derived or used.
    #[error("audit digest signing key: {0}")]
    SigningKey(&'static str),
    /// A digest verification key is neither PEM nor DER SubjectPublicKeyInfo of a P-256 key.
    #[error("invalid audit digest public key: {0}")]
    InvalidPublicKey(&'static str),
}

impl AuditError {
    /// An [`AuditError::Io`] on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> AuditError {
        let path = path.into();
        move |source| AuditError::Io { path, source }
    }
}
