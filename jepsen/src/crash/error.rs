//! What can go wrong in a crash-test run, apart from a lost write (which is a finding, not an
//! error: see [`crate::crash::check::Recovery`]).

/// A failure of the test machinery or of the storage under test.
#[derive(Debug, thiserror::Error)]
pub enum CrashError {
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// An external tool (`mkfs.ext4`, `losetup`, `mount`, …) failed.
    #[error(transparent)]
    Tool(#[from] crate::host_command::HostCommandError),
    /// trent-storage refused to open the directory.
    #[error("opening the store: {0}")]
    Open(#[from] trent_storage::OpenError),
    /// trent-storage returned an error from an openraft storage call.
    #[error("storage: {0}")]
    Storage(Box<trent_storage::types::StorageError>),
    /// The seccomp filter that disables syncs (planted mode) could not be installed.
    #[error("installing the no-sync seccomp filter: {0}")]
    Seccomp(#[from] seccompiler::Error),
    /// The checker could not do its work.
    #[error("check: {0}")]
    Check(String),
    /// The writer child misbehaved (exited early, printed garbage, never stopped).
    #[error("writer: {0}")]
    Writer(String),
}

impl From<trent_storage::types::StorageError> for CrashError {
    fn from(error: trent_storage::types::StorageError) -> CrashError {
        CrashError::Storage(Box::new(error))
    }
}

impl CrashError {
    /// Wraps an I/O error with what was being done.
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CrashError {
        let what = what.into();
        move |source| CrashError::Io { what, source }
    }
}
