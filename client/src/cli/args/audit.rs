//! `trent audit`: commands on an audit log directory. `verify` works offline on the files alone
//! (no endpoint, no credentials); reading the log through a node (`query`, `tail`) belongs here
//! too once the node serves it.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `trent audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every link and digest of a log directory; exits 1 naming the first tampered record.
    Verify(VerifyArgs),
}

/// `trent audit verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The audit log directory (the node's `audit/` directory, or a copy of it).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The node's digest public key (PEM or DER), to check digest signatures; without it digests
    /// are only link-checked.
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,
}
