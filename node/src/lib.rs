//! The Trent node: everything `trentd` runs.
//!
//! A node wires openraft to `trent-storage` ([`network`] is the Raft network seam), serves Raft
//! RPCs and leader-bound operations to its peers ([`peer`]), and serves clients the AWS KMS JSON
//! protocol ([`kms`]) and the admin API ([`admin`]) over HTTP ([`http`]). Writes are stamped and
//! proposed by the leader ([`write_path`]); [`dev`] runs a throwaway cluster for development.

pub mod admin;
pub mod api;
mod authentication;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod dev;
pub mod freshness;
pub mod http;
pub mod kms;
pub mod network;
pub mod node;
pub mod peer;
pub mod proposer;
pub mod seal;
pub mod server;
pub mod sweeper;
pub mod write_path;

pub use config::NodeConfig;
pub use node::Node;
/// SigV4 verification, from `trent-sigv4`.
pub use trent_sigv4 as auth;

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    tracing::info!("shutdown requested");
}
