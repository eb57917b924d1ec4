//! Node configuration: identity, addresses, peers, data directory and Raft timing, from flags or
//! a TOML file.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use trent_storage::{NodeId, TrentNode};

use crate::tls::{NodeTls, TlsFiles};

/// Region and account that key ARNs are built from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ArnScope {
    /// AWS region name, default `us-east-1`.
    pub region: String,
    /// 12-digit account id, default `111122223333`.
    pub account_id: String,
}

impl Default for ArnScope {
    fn default() -> Self {
        ArnScope { region: "us-east-1".into(), account_id: "111122223333".into() }
    }
}

impl ArnScope {
    /// `arn:aws:kms:<region>:<account>:`
    pub fn prefix(&self) -> String {
        format!("arn:aws:kms:{}:{}:", self.region, self.account_id)
    }
}

/// Raft timing and log compaction.
///
/// openraft's defaults (heartbeat 50 ms, election 150–300 ms) flap on a loaded two-core machine:
/// a 64-connection CreateKey load starves the heartbeat task long enough to trigger elections.
/// These defaults were measured there (see docs/operations.md): no spurious election under
/// benchmark load, and a new leader writing about a second after the old one is killed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RaftTiming {
    /// Leader heartbeat interval, ms.
    pub heartbeat_ms: u64,
    /// Lower bound of the randomized election timeout, ms.
    pub election_timeout_min_ms: u64,
    /// Upper bound of the randomized election timeout, ms.
    pub election_timeout_max_ms: u64,
    /// Build a snapshot after this many log entries since the last one.
    pub snapshot_every_entries: u64,
    /// Log entries kept behind a snapshot for followers that are only a little behind.
    pub logs_kept_after_snapshot: u64,
    /// The consistency bound of crypto served from local state, ms: a write acknowledged at `t`
    /// is honoured by every node serving crypto after `t + bound`; a node without evidence that
    /// fresh refuses (see `freshness`). Several heartbeats long, so load does not trip it.
    pub consistency_bound_ms: u64,
}

impl Default for RaftTiming {
    fn default() -> Self {
        RaftTiming {
            heartbeat_ms: 100,
            election_timeout_min_ms: 300,
            election_timeout_max_ms: 600,
            snapshot_every_entries: 5_000,
            logs_kept_after_snapshot: 1_000,
            consistency_bound_ms: 500,
        }
    }
}

impl RaftTiming {
    /// The openraft config for this timing.
    pub fn raft_config(&self, cluster_name: &str) -> Result<openraft::Config, TimingError> {
        let min_bound = 2 * self.heartbeat_ms;
        if self.consistency_bound_ms < min_bound || self.consistency_bound_ms > MAX_CONSISTENCY_BOUND_MS {
            return Err(TimingError::ConsistencyBound { min: min_bound, found: self.consistency_bound_ms });
        }
        openraft::Config {
            cluster_name: cluster_name.to_owned(),
            heartbeat_interval: self.heartbeat_ms,
            election_timeout_min: self.election_timeout_min_ms,
            election_timeout_max: self.election_timeout_max_ms,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(self.snapshot_every_entries),
            max_in_snapshot_log_to_keep: self.logs_kept_after_snapshot,
            install_snapshot_timeout: 2_000,
            // Each entry is at most one batch (64 KiB) or one maximal request (~110 KiB), so an
            // append stays a few MiB and crosses a LAN within the heartbeat-long RPC timeout.
            max_payload_entries: 32,
            ..Default::default()
        }
        .validate()
        .map_err(|error| TimingError::Raft(Box::new(error)))
    }
}

/// Longest consistency bound accepted: a minute of possibly stale crypto is already generous.
pub const MAX_CONSISTENCY_BOUND_MS: u64 = 60_000;

/// Raft timing that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum TimingError {
    /// openraft refused the timing.
    #[error("{0}")]
    Raft(Box<openraft::ConfigError>),
    /// The consistency bound is shorter than two heartbeats (nodes would refuse crypto whenever
    /// a heartbeat is late) or absurdly long.
    #[error("consistency_bound_ms must be between {min} (two heartbeats) and {MAX_CONSISTENCY_BOUND_MS}, not {found}")]
    ConsistencyBound {
        /// The shortest bound for this heartbeat.
        min: u64,
        /// The configured bound.
        found: u64,
    },
}

/// A cluster member named in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PeerSpec {
    /// Its node id.
    pub node_id: NodeId,
    /// Its client API address.
    pub api_addr: String,
    /// Its peer (Raft) address.
    pub peer_addr: String,
}

impl PeerSpec {
    /// Parses `ID,API_ADDR,PEER_ADDR`.
    pub fn parse(text: &str) -> Result<PeerSpec, String> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let [id, api_addr, peer_addr] = parts.as_slice() else {
            return Err(format!("peer '{text}' is not ID,API_ADDR,PEER_ADDR"));
        };
        let node_id = id.parse().map_err(|_| format!("peer id '{id}' is not a number"))?;
        Ok(PeerSpec { node_id, api_addr: api_addr.to_string(), peer_addr: peer_addr.to_string() })
    }

    /// The membership entry for this peer.
    pub fn node(&self) -> TrentNode {
        TrentNode { api_addr: self.api_addr.clone(), peer_addr: self.peer_addr.clone() }
    }
}

/// Everything one node needs to start.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NodeConfig {
    /// This node's id, unique in the cluster.
    pub node_id: NodeId,
    /// Client API listen address.
    pub api_addr: String,
    /// Peer API listen address.
    pub peer_addr: String,
    /// Address other nodes and clients should use for the client API, if not `api_addr`.
    #[serde(default)]
    pub advertise_api_addr: Option<String>,
    /// Address peers should use for the peer API, if not `peer_addr`.
    #[serde(default)]
    pub advertise_peer_addr: Option<String>,
    /// Where sled and snapshots live.
    pub data_dir: PathBuf,
    /// The initial members (including this node) used by `bootstrap`.
    #[serde(default)]
    pub peers: Vec<PeerSpec>,
    /// Initialise a fresh cluster from `peers` (safe on every initial member: all propose the
    /// same membership at log index 0).
    #[serde(default)]
    pub bootstrap: bool,
    /// ARN region and account.
    #[serde(default)]
    pub arn: ArnScope,
    /// Raft timing.
    #[serde(default)]
    pub raft: RaftTiming,
    /// sled page cache, MiB.
    #[serde(default = "default_cache_mib")]
    pub sled_cache_mib: u64,
    /// Longest a storage flush may take before the node treats its disk as failed, ms.
    #[serde(default = "default_flush_deadline_ms")]
    pub flush_deadline_ms: u64,
    /// Added to this node's wall clock: a fault-injection seam for clock-skew tests. Keep 0.
    #[serde(default)]
    pub clock_offset_ms: i64,
    /// A file whose millisecond offset is added to this node's clock on every reading (`clock`):
    /// tests move the date of a running cluster with it. Keep unset.
    #[serde(default)]
    pub test_clock_file: Option<PathBuf>,
    /// How often the leader looks for keys whose deletion date has passed, ms (tests shorten it).
    #[serde(default = "default_sweep_interval_ms")]
    pub sweep_interval_ms: u64,
    /// TLS on the client API and mutual TLS between peers; required unless `insecure_plaintext`.
    #[serde(default)]
    pub tls: Option<TlsFiles>,
    /// Serve plain HTTP on both ports instead: for development and tests on loopback only.
    #[serde(default)]
    pub insecure_plaintext: bool,
    /// Plaintext mode: the file holding the secret every node of the cluster shares, with which
    /// peers sign their requests to each other. Required for a plaintext cluster of more than
    /// one node.
    #[serde(default)]
    pub peer_secret_file: Option<PathBuf>,
    /// A file holding the token `POST /v1/sys/init` must present: without one, whoever reaches
    /// an uninitialised node first initialises the cluster (and receives its shares).
    #[serde(default)]
    pub init_token_file: Option<PathBuf>,
    /// What the client port lets callers hold: connections and request memory.
    #[serde(default)]
    pub limits: ServingLimits,
    /// Support cluster feature levels up to this one only, as an older build would (for
    /// rolling-upgrade tests; `None`: everything this build supports).
    #[serde(default)]
    pub feature_level_cap: Option<u32>,
    /// The audit trail's files: rotation, retention, digests (`[audit]`).
    #[serde(default)]
    pub audit: AuditSettings,
}

/// `[audit]`: how this node keeps its audit log (see docs/audit.md). There is no setting that
/// turns it off.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSettings {
    /// Where the log lives; `<data_dir>/audit` when unset.
    pub dir: Option<PathBuf>,
    /// A new file once the current one reaches this size, MiB.
    pub rotate_mib: u64,
    /// A new file once the current one is this old, hours.
    pub rotate_hours: u64,
    /// Delete the oldest closed files while all of them together exceed this, MiB (unset: keep
    /// everything).
    pub retain_mib: Option<u64>,
    /// Delete closed files whose newest record is older than this, days (unset: keep all).
    pub retain_days: Option<u64>,
    /// How often an unsealed node signs its chain head in a digest record, seconds.
    pub digest_interval_s: u64,
    /// The same, in ms, when a test sets it (hidden hook; overrides `digest_interval_s`).
    #[serde(skip)]
    pub digest_interval_ms: Option<u64>,
    /// Benchmarks only (hidden hook `--unaudited-bench-only`): serve without writing records,
    /// to measure what the audit trail costs. Never read from a config file.
    #[serde(skip)]
    pub unaudited_bench_only: bool,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            dir: None,
            rotate_mib: 64,
            rotate_hours: 24,
            retain_mib: None,
            retain_days: None,
            digest_interval_s: 300,
            digest_interval_ms: None,
            unaudited_bench_only: false,
        }
    }
}

impl AuditSettings {
    /// How often digests are written.
    pub fn digest_interval(&self) -> std::time::Duration {
        let ms = self.digest_interval_ms.unwrap_or(self.digest_interval_s.saturating_mul(1000));
        std::time::Duration::from_millis(ms.max(10))
    }

    /// The log's rotation and retention.
    pub fn rotation(&self) -> trent_audit::RotationPolicy {
        const MIB: u64 = 1024 * 1024;
        const HOUR: u64 = 60 * 60;
        trent_audit::RotationPolicy {
            max_file_bytes: self.rotate_mib.max(1).saturating_mul(MIB),
            max_file_age: std::time::Duration::from_secs(self.rotate_hours.max(1).saturating_mul(HOUR)),
            retain_bytes: self.retain_mib.map(|mib| mib.saturating_mul(MIB)),
            retain_age: self
                .retain_days
                .map(|days| std::time::Duration::from_secs(days.saturating_mul(24 * HOUR))),
        }
    }
}

/// What the client port lets callers hold at once (see `http::connections` and `http::body`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ServingLimits {
    /// Most client connections open at once.
    pub max_connections: usize,
    /// Most client connections from one address; 0 for no cap (behind a proxy).
    pub max_connections_per_address: usize,
    /// Memory all request bodies in flight may hold together, MiB.
    pub max_request_memory_mib: usize,
}

impl Default for ServingLimits {
    fn default() -> Self {
        let connections = crate::http::connections::ConnectionLimits::CLIENT;
        ServingLimits {
            max_connections: connections.max_connections,
            max_connections_per_address: connections.max_connections_per_address,
            max_request_memory_mib: 64,
        }
    }
}

impl ServingLimits {
    /// The client port's connection limits.
    pub fn connections(&self) -> crate::http::connections::ConnectionLimits {
        crate::http::connections::ConnectionLimits {
            max_connections: self.max_connections.max(1),
            max_connections_per_address: self.max_connections_per_address,
        }
    }
}

fn default_cache_mib() -> u64 {
    32
}

fn default_flush_deadline_ms() -> u64 {
    trent_storage::DEFAULT_FLUSH_DEADLINE.as_millis() as u64
}

fn default_sweep_interval_ms() -> u64 {
    1_000
}

impl NodeConfig {
    /// A node with these identity and addresses and every other setting at its default: no
    /// peers, no bootstrap, TLS required (neither TLS files nor plain HTTP chosen yet).
    pub fn new(node_id: NodeId, api_addr: String, peer_addr: String, data_dir: PathBuf) -> NodeConfig {
        NodeConfig {
            node_id,
            api_addr,
            peer_addr,
            advertise_api_addr: None,
            advertise_peer_addr: None,
            data_dir,
            peers: Vec::new(),
            bootstrap: false,
            arn: ArnScope::default(),
            raft: RaftTiming::default(),
            sled_cache_mib: default_cache_mib(),
            flush_deadline_ms: default_flush_deadline_ms(),
            clock_offset_ms: 0,
            test_clock_file: None,
            sweep_interval_ms: default_sweep_interval_ms(),
            tls: None,
            insecure_plaintext: false,
            peer_secret_file: None,
            init_token_file: None,
            limits: ServingLimits::default(),
            feature_level_cap: None,
            audit: AuditSettings::default(),
        }
    }

    /// The audit log's directory.
    pub fn audit_dir(&self) -> PathBuf {
        self.audit.dir.clone().unwrap_or_else(|| self.data_dir.join("audit"))
    }

    /// The highest cluster feature level this node supports.
    pub fn supported_feature_level(&self) -> u32 {
        self.feature_level_cap
            .map_or(trent_storage::SUPPORTED_LEVEL, |cap| cap.min(trent_storage::SUPPORTED_LEVEL))
    }

    /// The storage options this config asks for.
    pub fn disk_options(&self) -> trent_storage::DiskOptions {
        trent_storage::DiskOptions {
            cache_capacity_bytes: self.sled_cache_mib * 1024 * 1024,
            flush_deadline: std::time::Duration::from_millis(self.flush_deadline_ms),
        }
    }

    /// Reads a TOML config file.
    pub fn from_toml_file(path: &Path) -> Result<NodeConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.to_path_buf(), source })
    }

    /// The node's TLS, loaded and checked; `None` when it was explicitly told to serve plain HTTP.
    pub fn load_tls(&self) -> Result<Option<NodeTls>, TransportError> {
        match (&self.tls, self.insecure_plaintext) {
            (Some(files), false) => Ok(Some(NodeTls::load(files)?)),
            (None, true) => Ok(None),
            (Some(_), true) => Err(TransportError::Both),
            (None, false) => Err(TransportError::Neither),
        }
    }

    /// This node as the membership records it.
    pub fn self_node(&self) -> TrentNode {
        TrentNode {
            api_addr: self.advertise_api_addr.clone().unwrap_or_else(|| self.api_addr.clone()),
            peer_addr: self.advertise_peer_addr.clone().unwrap_or_else(|| self.peer_addr.clone()),
        }
    }

    /// The initial membership: the configured peers, plus this node if it is not listed.
    pub fn initial_members(&self) -> std::collections::BTreeMap<NodeId, TrentNode> {
        let mut members: std::collections::BTreeMap<NodeId, TrentNode> =
            self.peers.iter().map(|peer| (peer.node_id, peer.node())).collect();
        members.entry(self.node_id).or_insert_with(|| self.self_node());
        members
    }
}

/// The node was told to use TLS and plain HTTP, or neither, or its TLS files are unusable.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// Plain HTTP between several nodes without a shared peer secret.
    #[error("plain HTTP between nodes needs --peer-secret-file (the same secret on every node, e.g. from `openssl rand -hex 32`): without it anyone who reaches the peer port could speak Raft to this node")]
    PeerSecretRequired,
    /// A secret file (peer secret, init token) is unusable.
    #[error(transparent)]
    SecretFile(#[from] crate::secret_file::SecretFileError),
    /// Neither TLS files nor `insecure_plaintext` were given.
    #[error("TLS is required: give --tls-cert, --tls-key and --tls-ca (or [tls] in the config file), or --insecure-plaintext for plain HTTP")]
    Neither,
    /// Both were given.
    #[error("TLS files and --insecure-plaintext were both given; choose one")]
    Both,
    /// The TLS files could not be used.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// A configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("cannot parse {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: toml::de::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_spec_parses_id_and_both_addresses() {
        let peer = PeerSpec::parse("2,127.0.0.1:8401,127.0.0.1:9401").unwrap();
        assert_eq!(peer.node_id, 2);
        assert_eq!(peer.api_addr, "127.0.0.1:8401");
        assert_eq!(peer.peer_addr, "127.0.0.1:9401");
        assert!(PeerSpec::parse("x,a,b").is_err());
        assert!(PeerSpec::parse("1,a").is_err());
    }

    #[test]
    fn default_raft_timing_is_a_valid_openraft_config() {
        RaftTiming::default().raft_config("test").unwrap();
    }

    #[test]
    fn the_consistency_bound_must_cover_two_heartbeats_and_stay_sane() {
        for bound in [0, 199, 60_001, u64::MAX] {
            let timing = RaftTiming { consistency_bound_ms: bound, ..RaftTiming::default() };
            assert!(
                matches!(timing.raft_config("test"), Err(TimingError::ConsistencyBound { .. })),
                "{bound}"
            );
        }
        let timing = RaftTiming { consistency_bound_ms: 200, ..RaftTiming::default() };
        timing.raft_config("test").unwrap();
    }

    #[test]
    fn config_file_fills_defaults() {
        let config: NodeConfig = toml::from_str(
            r#"
            node_id = 1
            api_addr = "0.0.0.0:8400"
            peer_addr = "0.0.0.0:9400"
            data_dir = "/data"
            bootstrap = true
            [tls]
            cert = "/certs/n1.pem"
            key = "/certs/n1.key"
            ca = "/certs/ca.pem"
            [[peers]]
            node_id = 2
            api_addr = "n2:8400"
            peer_addr = "n2:9400"
            "#,
        )
        .unwrap();
        assert_eq!(config.arn, ArnScope::default());
        assert_eq!(config.raft, RaftTiming::default());
        assert_eq!(config.initial_members().len(), 2);
        assert_eq!(config.tls.map(|tls| tls.ca), Some(PathBuf::from("/certs/ca.pem")));
        assert!(!config.insecure_plaintext);
    }

    #[test]
    fn a_node_needs_exactly_one_of_tls_and_plain_http() {
        let mut config: NodeConfig =
            toml::from_str("node_id = 1\napi_addr = \"a:1\"\npeer_addr = \"a:2\"\ndata_dir = \"/d\"")
                .unwrap();
        assert!(matches!(config.load_tls(), Err(TransportError::Neither)));
        config.insecure_plaintext = true;
        assert!(matches!(config.load_tls(), Ok(None)));
        config.tls = Some(TlsFiles { cert: "/no/c".into(), key: "/no/k".into(), ca: "/no/ca".into() });
        assert!(matches!(config.load_tls(), Err(TransportError::Both)));
        config.insecure_plaintext = false;
        assert!(matches!(config.load_tls(), Err(TransportError::Tls(crate::tls::TlsError::Read { .. }))));
    }
}
