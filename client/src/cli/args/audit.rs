//! `trent audit`: the audit trail read through a node (`query`, `tail`, `public-key`), and the
//! offline check of a log directory (`verify`, which needs no endpoint and no credentials).

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `trent audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every link and digest of a log directory; exits 1 naming the first tampered record.
    Verify(VerifyArgs),
    /// Records that match the filters, oldest first (`GET /v1/sys/audit`, action trent:ReadAudit).
    Query(QueryArgs),
    /// Follow new records as they are written, one line each (JSON lines with --json).
    Tail(TailArgs),
    /// The public key the cluster's digest records verify with (PEM), for `verify --public-key`.
    PublicKey,
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

/// Which records (every given filter must match).
#[derive(Debug, Clone, Args)]
pub struct FilterArgs {
    /// Only this operation (`Encrypt`, `CreateKey`, `Unseal`, …).
    #[arg(long)]
    pub event_name: Option<String>,
    /// Only calls on this key (id, ARN, or the alias the call named).
    #[arg(long)]
    pub key_id: Option<String>,
    /// Only this caller (user name, user ARN or access key id).
    #[arg(long)]
    pub principal: Option<String>,
    /// Only calls that failed with this error (`*`: any error).
    #[arg(long)]
    pub error_code: Option<String>,
    /// Not before this time (`2026-12-04T01:02:03Z`).
    #[arg(long)]
    pub since: Option<String>,
    /// Not after this time.
    #[arg(long)]
    pub until: Option<String>,
    /// Every member's records merged by time, not only the answering node's.
    #[arg(long)]
    pub cluster: bool,
}

/// `trent audit query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Which records.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Most records to print (pages of up to 1000 are fetched until this many).
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Go on from an earlier answer's `NextToken`.
    #[arg(long)]
    pub next_token: Option<String>,
}

/// `trent audit tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    /// Which records.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// How often to ask for new records, ms.
    #[arg(long, default_value_t = 1000)]
    pub interval_ms: u64,
    /// Print the records already written too, not only new ones.
    #[arg(long)]
    pub from_start: bool,
    /// Stop after this many records (default: follow until interrupted).
    #[arg(long)]
    pub count: Option<u64>,
}
