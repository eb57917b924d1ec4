//! `trentd` command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{NodeConfig, PeerSpec};

/// The Trent key management node.
#[derive(Debug, Parser)]
#[command(
    name = "trentd",
    version,
    about = "Trent: a self-hosted, AWS KMS compatible key management service"
)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Mode,
}

/// How to run.
#[derive(Debug, Subcommand)]
pub enum Mode {
    /// A throwaway development cluster on loopback (one node, or `--nodes 3`).
    Dev(DevArgs),
    /// One production node.
    Server(Box<ServerArgs>),
    /// Ask a node's health endpoint once: exit 0 if it answers (for container healthchecks).
    Healthcheck(crate::healthcheck::HealthcheckArgs),
}

/// `trentd dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// Client API address of the first node; further nodes take the next ports.
    #[arg(long, default_value = "127.0.0.1:8400")]
    pub addr: String,
    /// Where the nodes keep their data.
    #[arg(long, default_value_os_t = std::env::temp_dir().join("trent-dev"))]
    pub data_dir: PathBuf,
    /// Number of nodes: 1 (in this process) or 3 (three processes).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=7))]
    pub nodes: u8,
    /// Hidden flags for tests and benchmarks.
    #[command(flatten)]
    pub test_hooks: TestHooks,
}

/// `trentd server`: a config file, flags, or both (flags win).
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// TOML config file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// This node's id.
    #[arg(long)]
    pub node_id: Option<u64>,
    /// Client API listen address.
    #[arg(long)]
    pub api_addr: Option<String>,
    /// Peer API listen address.
    #[arg(long)]
    pub peer_addr: Option<String>,
    /// Client API address others should use, if not the listen address.
    #[arg(long)]
    pub advertise_api_addr: Option<String>,
    /// Peer API address others should use, if not the listen address.
    #[arg(long)]
    pub advertise_peer_addr: Option<String>,
    /// Data directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// An initial member as ID,API_ADDR,PEER_ADDR (repeat for each).
    #[arg(long = "peer", value_parser = PeerSpec::parse)]
    pub peers: Vec<PeerSpec>,
    /// Initialise a fresh cluster from the peers (no effect on an initialised one).
    #[arg(long)]
    pub bootstrap: bool,
    /// Region used in ARNs.
    #[arg(long)]
    pub region: Option<String>,
    /// Account id used in ARNs.
    #[arg(long)]
    pub account_id: Option<String>,
    /// Raft heartbeat interval, ms.
    #[arg(long)]
    pub heartbeat_ms: Option<u64>,
    /// Raft election timeout lower bound, ms.
    #[arg(long)]
    pub election_timeout_min_ms: Option<u64>,
    /// Raft election timeout upper bound, ms.
    #[arg(long)]
    pub election_timeout_max_ms: Option<u64>,
    /// How stale a node's view of key state may be while it serves crypto, ms (default 500).
    #[arg(long)]
    pub consistency_bound_ms: Option<u64>,
    /// Build a snapshot every this many log entries.
    #[arg(long)]
    pub snapshot_every: Option<u64>,
    /// Log entries kept behind a snapshot.
    #[arg(long)]
    pub logs_kept_after_snapshot: Option<u64>,
    /// sled page cache in MiB.
    #[arg(long)]
    pub sled_cache_mib: Option<u64>,
    /// Longest a storage flush may take before the node treats its disk as failed and stops, ms
    /// (default 20000).
    #[arg(long)]
    pub flush_deadline_ms: Option<u64>,
    /// PEM certificate (chain) this node presents on both ports.
    #[arg(long, value_name = "PEM", requires_all = ["tls_key", "tls_ca"])]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `--tls-cert`.
    #[arg(long, value_name = "PEM", requires_all = ["tls_cert", "tls_ca"])]
    pub tls_key: Option<PathBuf>,
    /// PEM cluster CA: peers must present a certificate it issued (mutual TLS).
    #[arg(long, value_name = "PEM", requires_all = ["tls_cert", "tls_key"])]
    pub tls_ca: Option<PathBuf>,
    /// With --insecure-plaintext: the file with the secret every node shares to sign peer
    /// requests (required when the cluster has more than one node).
    #[arg(long, value_name = "FILE", requires = "insecure_plaintext")]
    pub peer_secret_file: Option<PathBuf>,
    /// A file holding the token `POST /v1/sys/init` must present (`trent operator init
    /// --init-token`); without it, the first caller to reach an uninitialised node initialises
    /// the cluster.
    #[arg(long, value_name = "FILE")]
    pub init_token_file: Option<PathBuf>,
    /// Serve plain HTTP on both ports (no TLS): only for loopback or a network you trust.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key", "tls_ca"])]
    pub insecure_plaintext: bool,
    /// Most client connections open at once (default 4096).
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Most client connections from one address (default 1024; 0 for no cap, e.g. behind a proxy).
    #[arg(long)]
    pub max_connections_per_address: Option<usize>,
    /// Memory all request bodies in flight may hold together, MiB (default 64).
    #[arg(long)]
    pub max_request_memory_mib: Option<usize>,
    /// Where the audit log lives (default `<data-dir>/audit`); its own disk keeps a full audit
    /// disk from stopping Raft, and a full data disk from stopping the audit trail.
    #[arg(long, value_name = "DIR")]
    pub audit_dir: Option<PathBuf>,
    /// How often an unsealed node signs its audit chain head in a digest record, seconds
    /// (default 300).
    #[arg(long)]
    pub audit_digest_interval_s: Option<u64>,
    /// Hidden flags for tests and benchmarks.
    #[command(flatten)]
    pub test_hooks: TestHooks,
}

/// Hidden flags that tests and benchmarks use to move time and to act as an older build; an
/// operator leaves them unset. `trentd dev` passes them to every node it starts.
#[derive(Debug, Clone, Default, Args)]
pub struct TestHooks {
    /// Shift this node's clock (fault injection for tests; keep unset).
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub clock_offset_ms: Option<i64>,
    /// Add the millisecond offset in this file to the clock on every reading (tests move the
    /// date with it; keep unset).
    #[arg(long, hide = true)]
    pub test_clock_file: Option<PathBuf>,
    /// How often the leader sweeps for due keys, ms (default 1000; tests shorten it).
    #[arg(long, hide = true)]
    pub sweep_interval_ms: Option<u64>,
    /// Support cluster feature levels up to this one only, as an older build would (rolling
    /// upgrade tests, benchmarks of older formats; keep unset).
    #[arg(long, hide = true)]
    pub feature_level_cap: Option<u32>,
    /// How often an unsealed node writes an audit digest record, ms (tests shorten it).
    #[arg(long, hide = true)]
    pub audit_digest_interval_ms: Option<u64>,
    /// Benchmarks only: serve without an audit trail, to measure its cost. Never in service.
    #[arg(long, hide = true)]
    pub unaudited_bench_only: bool,
}

impl TestHooks {
    /// Lays the given hooks over `config`.
    pub fn apply(self, config: &mut NodeConfig) {
        overlay(&mut config.clock_offset_ms, self.clock_offset_ms);
        overlay(&mut config.sweep_interval_ms, self.sweep_interval_ms);
        config.test_clock_file = self.test_clock_file.or(config.test_clock_file.take());
        if let Some(cap) = self.feature_level_cap {
            config.feature_level_cap = Some(cap);
        }
        if let Some(interval) = self.audit_digest_interval_ms {
            config.audit.digest_interval_ms = Some(interval);
        }
        config.audit.unaudited_bench_only |= self.unaudited_bench_only;
    }

    /// The same hooks as `trentd server` flags.
    pub fn to_args(&self) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = Vec::new();
        if let Some(offset) = self.clock_offset_ms {
            args.push(format!("--clock-offset-ms={offset}").into());
        }
        if let Some(path) = &self.test_clock_file {
            args.push("--test-clock-file".into());
            args.push(path.clone().into_os_string());
        }
        if let Some(interval) = self.sweep_interval_ms {
            args.push(format!("--sweep-interval-ms={interval}").into());
        }
        if let Some(cap) = self.feature_level_cap {
            args.push(format!("--feature-level-cap={cap}").into());
        }
        if let Some(interval) = self.audit_digest_interval_ms {
            args.push(format!("--audit-digest-interval-ms={interval}").into());
        }
        if self.unaudited_bench_only {
            args.push("--unaudited-bench-only".into());
        }
        args
    }
}

impl ServerArgs {
    /// The node config: the file (if any) with every given flag laid over it.
    pub fn into_config(self) -> Result<NodeConfig, String> {
        let mut config = match &self.config {
            Some(path) => NodeConfig::from_toml_file(path).map_err(|error| error.to_string())?,
            None => NodeConfig::new(
                self.node_id.ok_or("--node-id is required without --config")?,
                self.api_addr.clone().ok_or("--api-addr is required without --config")?,
                self.peer_addr.clone().ok_or("--peer-addr is required without --config")?,
                self.data_dir.clone().ok_or("--data-dir is required without --config")?,
            ),
        };
        overlay(&mut config.node_id, self.node_id);
        overlay(&mut config.api_addr, self.api_addr);
        overlay(&mut config.peer_addr, self.peer_addr);
        overlay(&mut config.data_dir, self.data_dir);
        config.advertise_api_addr = self.advertise_api_addr.or(config.advertise_api_addr);
        config.advertise_peer_addr = self.advertise_peer_addr.or(config.advertise_peer_addr);
        if !self.peers.is_empty() {
            config.peers = self.peers;
        }
        config.bootstrap |= self.bootstrap;
        overlay(&mut config.arn.region, self.region);
        overlay(&mut config.arn.account_id, self.account_id);
        overlay(&mut config.raft.heartbeat_ms, self.heartbeat_ms);
        overlay(&mut config.raft.election_timeout_min_ms, self.election_timeout_min_ms);
        overlay(&mut config.raft.election_timeout_max_ms, self.election_timeout_max_ms);
        overlay(&mut config.raft.consistency_bound_ms, self.consistency_bound_ms);
        overlay(&mut config.raft.snapshot_every_entries, self.snapshot_every);
        overlay(&mut config.raft.logs_kept_after_snapshot, self.logs_kept_after_snapshot);
        overlay(&mut config.sled_cache_mib, self.sled_cache_mib);
        overlay(&mut config.flush_deadline_ms, self.flush_deadline_ms);
        overlay(&mut config.limits.max_connections, self.max_connections);
        overlay(&mut config.limits.max_connections_per_address, self.max_connections_per_address);
        overlay(&mut config.limits.max_request_memory_mib, self.max_request_memory_mib);
        config.audit.dir = self.audit_dir.or(config.audit.dir.take());
        overlay(&mut config.audit.digest_interval_s, self.audit_digest_interval_s);
        self.test_hooks.apply(&mut config);
        if let (Some(cert), Some(key), Some(ca)) = (self.tls_cert, self.tls_key, self.tls_ca) {
            config.tls = Some(crate::tls::TlsFiles { cert, key, ca });
        }
        config.insecure_plaintext |= self.insecure_plaintext;
        config.peer_secret_file = self.peer_secret_file.or(config.peer_secret_file);
        config.init_token_file = self.init_token_file.or(config.init_token_file);
        Ok(config)
    }
}

fn overlay<T>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}
