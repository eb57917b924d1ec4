//! What can stop a harness run before it reaches a verdict.

use std::time::Duration;

/// A failure of the harness itself (not an anomaly in the system under test).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A host command (`ip`, `iptables`) failed.
    #[error(transparent)]
    Command(#[from] crate::host_command::HostCommandError),
    /// Reading or writing a file or starting a process failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A call the harness needs (set-up, unseal, final reads) kept failing.
    #[error("{context}: {source}")]
    Client {
        /// What was being done.
        context: String,
        /// The last error.
        source: trent_client::ClientError,
    },
    /// The cluster did not reach a state the harness waits for.
    #[error("{what} did not happen within {within:?}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long the harness waited.
        within: Duration,
    },
    /// A task of the harness panicked.
    #[error("a harness task panicked: {0}")]
    Panicked(String),
    /// Certificates for the cluster could not be made.
    #[error("certificates: {0}")]
    Certificates(String),
    /// The history could not be written or read back.
    #[error("history: {0}")]
    History(#[from] crate::history::HistoryError),
    /// The linearizability checker could not run.
    #[error("checker: {0}")]
    Check(#[from] crate::wgl::CheckError),
}

impl HarnessError {
    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> HarnessError {
        HarnessError::Io { context: context.into(), source }
    }

    /// A task that panicked (or was cancelled).
    pub fn panicked(error: tokio::task::JoinError) -> HarnessError {
        HarnessError::Panicked(error.to_string())
    }

    /// A client error with what was being done.
    pub fn client(context: impl Into<String>, source: trent_client::ClientError) -> HarnessError {
        HarnessError::Client { context: context.into(), source }
    }
}
