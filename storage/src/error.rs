//! Errors of opening and maintaining the storage outside openraft's own calls.

/// Opening the data directory failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// sled could not open or read its files.
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    /// A stored value did not decode: the data directory is damaged or from another version.
    #[error("corrupt stored value under {what}: {source}")]
    Corrupt {
        /// Which stored item.
        what: String,
        /// Why it did not decode.
        source: bincode::error::DecodeError,
    },
    /// The stored rows decode but break an invariant of the registry.
    #[error("the stored registry is inconsistent: {0}")]
    Inconsistent(#[from] crate::apply::InvariantViolation),
    /// The snapshot directory could not be read or created.
    #[error("snapshot directory: {0}")]
    Io(#[from] std::io::Error),
}
