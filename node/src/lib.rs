//! The Trent node: everything `trentd` runs.
//!
//! A node wires openraft to `trent-storage` ([`network`] is the Raft network seam), serves Raft
//! RPCs and leader-bound operations to its peers ([`peer`]), and serves clients the AWS KMS JSON
//! protocol ([`kms`]) and the admin API ([`admin`]) over HTTP ([`http`]). Writes are stamped and
//! proposed by the leader ([`write_path`]); [`dev`] runs a throwaway cluster for development.

pub mod admin;
pub mod api;
pub mod audit;
pub mod authentication;
pub mod authorization;
pub mod cli;
pub mod clock;
pub mod config;
pub mod cpu_pool;
pub mod crypto;
pub mod dev;
pub mod feature_level;
pub mod freshness;
pub mod health;
pub mod healthcheck;
pub mod http;
pub mod key_generation;
pub mod key_usage;
pub mod kms;
pub mod log_budget;
pub mod network;
pub mod node;
pub mod peer;
#[cfg(feature = "jepsen-planted-bug")]
pub mod planted_bug;
pub mod private_files;
pub mod promotion;
pub mod proposer;
pub mod seal;
pub mod secret_file;
pub mod server;
pub mod sweeper;
pub mod tls;
pub mod write_path;

pub use config::NodeConfig;
pub use node::Node;
/// SigV4 verification, from `trent-sigv4`.
pub use trent_sigv4 as auth;

/// Ctrl-C or SIGTERM, listened for from the moment it is installed: a signal that arrives while
/// the process is still starting is kept for [`ShutdownSignal::wait`] instead of killing the
/// process outright (the default action), which would orphan a dev cluster's node processes.
pub struct ShutdownSignal {
    interrupt: Option<tokio::signal::unix::Signal>,
    terminate: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignal {
    /// Starts listening. Must run inside a Tokio runtime.
    pub fn install() -> ShutdownSignal {
        use tokio::signal::unix::{signal, SignalKind};
        let listen = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(stream) => Some(stream),
            Err(error) => {
                tracing::warn!(%error, "cannot listen for {name}");
                None
            }
        };
        ShutdownSignal {
            interrupt: listen(SignalKind::interrupt(), "SIGINT"),
            terminate: listen(SignalKind::terminate(), "SIGTERM"),
        }
    }

    /// Resolves once Ctrl-C or SIGTERM has arrived (possibly before this was called).
    pub async fn wait(mut self) {
        async fn next(stream: &mut Option<tokio::signal::unix::Signal>) {
            match stream {
                Some(stream) => {
                    stream.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            _ = next(&mut self.interrupt) => {}
            _ = next(&mut self.terminate) => {}
        }
        tracing::info!("shutdown requested");
    }
}
