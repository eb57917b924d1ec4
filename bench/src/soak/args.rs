//! `trent-soak` flags: how long, which attacks and how hard, and the bounds the checks hold the
//! cluster to. Every number is checked here before anything starts; the defaults are sized for a
//! two-core machine that also runs the three nodes.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use trent_wire::model::KeySpec;

use crate::target::KeyKind;
use crate::workload::Mix;

/// Longest soak accepted, seconds (one day).
pub const MAX_SECONDS: u64 = 86_400;
/// Most signed clients.
const MAX_CLIENTS: usize = 256;
/// Most connections one attack component may hold.
const MAX_ATTACK_CONNECTIONS: usize = 60_000;
/// Nodes in the soak cluster.
pub const NODES: usize = 3;

/// Attack components, each switched on by naming it in `--attacks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Attack {
    /// CreateKey with maximum descriptions and 50 maximum tags, CreateAlias with maximum names,
    /// TagResource/UntagResource churn and UpdateKeyDescription, at `--large-rate`.
    LargeRows,
    /// Slowloris headers (a byte at a time) and signed requests whose bodies trickle in.
    SlowClients,
    /// Thousands of idle TCP connections to one node, opened and released in waves.
    IdleFlood,
    /// Unsigned `POST /` with a 1 MiB - 1 body, sent whole or held part-way.
    UnsignedBodies,
}

impl Attack {
    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Attack::LargeRows => "large-rows",
            Attack::SlowClients => "slow-clients",
            Attack::IdleFlood => "idle-flood",
            Attack::UnsignedBodies => "unsigned-bodies",
        }
    }
}

/// Soak a three-node Trent cluster under a signed workload and attacks, then check it stayed in
/// service. Exit 0: every check passed; 1: a check failed; 2: the cluster could not be started.
#[derive(Debug, Clone, Parser)]
#[command(name = "trent-soak", version)]
pub struct SoakArgs {
    /// Seconds the workload and the attacks run.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub duration: u64,
    /// The trentd executable to start (`trentd dev --nodes 3`).
    #[arg(long, value_name = "PATH", default_value = "target/release/trentd")]
    pub trentd: PathBuf,
    /// Client port of node 1; node N serves on PORT+N-1, its peer port 1000 higher.
    #[arg(long, default_value_t = 18400)]
    pub port: u16,
    /// Cluster data directory (must be empty or absent); default a fresh one under $TMPDIR.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep the data directory (node logs) after a passing run too; a failing run always keeps it.
    #[arg(long)]
    pub keep_data: bool,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
    /// Seconds between progress lines on stderr (0: none).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub progress_secs: u64,

    /// Attacks to run, comma-separated, or `none` for a baseline (default: all four).
    #[arg(long, value_delimiter = ',', value_name = "LIST", value_parser = parse_attack,
          default_value = "large-rows,slow-clients,idle-flood,unsigned-bodies")]
    pub attacks: Vec<AttackChoice>,

    /// Check: every node's peak RSS (VmHWM and sampled VmRSS) stays at or below this, MiB.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    pub max_rss_mib: u64,
    /// Stop the attacks (the run then fails) once a node's RSS passes this, MiB, to spare the host.
    #[arg(long, value_name = "MIB", default_value_t = 4096)]
    pub abort_rss_mib: u64,
    /// Check: at least this percentage of signed workload calls succeed.
    #[arg(long, value_name = "PERCENT", default_value_t = 99.0)]
    pub min_success_pct: f64,
    /// Check: p99 latency of successful signed calls (from when each was due) at most this, ms.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub max_p99_ms: u64,
    /// Check: at least this percentage of the large-row management writes succeed.
    #[arg(long, value_name = "PERCENT", default_value_t = 99.0)]
    pub min_write_success_pct: f64,
    /// Seconds the watchers go on after the load stops (health still checked; "RSS end" is read
    /// at the end of it, so it shows whether a node gave back what an attack made it take).
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub settle_secs: u64,
    /// Seconds at the start in which health failures are not counted.
    #[arg(long, value_name = "SECS", default_value_t = 2)]
    pub grace_secs: u64,
    /// Health probe period per node, ms (`GET /v1/sys/health` on a fresh connection).
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub health_interval_ms: u64,
    /// A health probe that takes longer than this counts as no answer, ms.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub health_timeout_ms: u64,
    /// Longest a node may be out of service, ms: a leader election after a disk stall makes
    /// every node answer 503 for a moment by design (out of touch with a leader beyond the
    /// consistency bound); what the attacks did before they were fixed lasted tens of seconds.
    /// 0: no failed probe at all.
    #[arg(long, value_name = "MS", default_value_t = 1500)]
    pub max_outage_ms: u64,
    /// Memory sampling period, ms (VmRSS and VmHWM of each node from /proc).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub sample_interval_ms: u64,

    /// Signed workload: calls in flight at most (the clients).
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub clients: usize,
    /// Signed workload: calls per second, open loop, each to a random node.
    #[arg(long, value_name = "CALLS_PER_SEC", default_value_t = 200.0)]
    pub signed_rate: f64,
    /// Signed workload: the operation mix.
    #[arg(
        long,
        value_name = "MIX",
        default_value = "encrypt=40,decrypt=30,generate-data-key=20,describe-key=10"
    )]
    pub signed_mix: String,
    /// Signed workload: keys the calls spread over, made before the run.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub keys: usize,
    /// Signed workload: every Nth call goes out on a new connection (a client that comes and
    /// goes); the others reuse the pool. 0: always the pool.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub fresh_connection_every: u64,
    /// Signed workload: per-call timeout, ms (no retries: every failure counts).
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    pub signed_timeout_ms: u64,

    /// Large rows: management calls per second (one in four a CreateKey).
    #[arg(long, value_name = "CALLS_PER_SEC", default_value_t = 4.0)]
    pub large_rate: f64,
    /// Large rows: aliases made per key (AWS's default quota is 50).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub aliases_per_key: usize,

    /// Slow clients: node attacked (1-3).
    #[arg(long, value_name = "NODE", default_value_t = 3)]
    pub slow_node: usize,
    /// Slow clients: connections sending request headers a byte at a time.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub slow_headers: usize,
    /// Slow clients: connections sending a signed request whose body trickles in a byte at a time.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub slow_bodies: usize,
    /// Slow clients: ms between bytes.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub slow_interval_ms: u64,

    /// Idle flood: node attacked (1-3).
    #[arg(long, value_name = "NODE", default_value_t = 1)]
    pub idle_node: usize,
    /// Idle flood: connections per wave.
    #[arg(long, value_name = "N", default_value_t = 5000)]
    pub idle_conns: usize,
    /// Idle flood: seconds a wave holds its connections before releasing them.
    #[arg(long, value_name = "SECS", default_value_t = 20)]
    pub idle_hold_secs: u64,
    /// Idle flood: seconds between waves.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub idle_pause_secs: u64,
    /// Idle flood: connections opened per second while a wave builds.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub idle_open_rate: u64,

    /// Unsigned bodies: node attacked (1-3).
    #[arg(long, value_name = "NODE", default_value_t = 2)]
    pub bodies_node: usize,
    /// Unsigned bodies: connections that send part of a 1 MiB - 1 body and hold the rest back.
    #[arg(long, value_name = "N", default_value_t = 400)]
    pub bodies_held: usize,
    /// Unsigned bodies: percentage of the body a held connection sends.
    #[arg(long, value_name = "PERCENT", default_value_t = 99)]
    pub bodies_held_percent: u8,
    /// Unsigned bodies: whole 1 MiB - 1 bodies sent per second (each on its own connection).
    #[arg(long, value_name = "N", default_value_t = 10.0)]
    pub bodies_full_rate: f64,
    /// Unsigned bodies: held connections opened (and reopened once the server answers) per
    /// second at most.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub bodies_open_rate: u64,

    /// Soft RLIMIT_NOFILE to set for this process and the cluster it starts (default: what the
    /// attacks need plus headroom, at least 16384, at most the hard limit).
    #[arg(long, value_name = "N")]
    pub nofile: Option<u64>,
}

/// One `--attacks` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttackChoice {
    /// Run this attack.
    Run(Attack),
    /// No attacks (a baseline).
    None,
}

fn parse_attack(text: &str) -> Result<AttackChoice, String> {
    if text.trim() == "none" {
        return Ok(AttackChoice::None);
    }
    Attack::from_str(text.trim(), true).map(AttackChoice::Run).map_err(|_| {
        format!("unknown attack {text:?} (large-rows, slow-clients, idle-flood, unsigned-bodies or none)")
    })
}

impl SoakArgs {
    /// Checks every bound; the attacks to run, in a fixed order.
    pub fn validate(&self) -> anyhow::Result<Vec<Attack>> {
        anyhow::ensure!((1..=MAX_SECONDS).contains(&self.duration), "--duration must be 1 to {MAX_SECONDS}");
        anyhow::ensure!((1..=MAX_CLIENTS).contains(&self.clients), "--clients must be 1 to {MAX_CLIENTS}");
        anyhow::ensure!(
            self.signed_rate > 0.0 && self.signed_rate <= 100_000.0,
            "--signed-rate must be above 0 and at most 100000"
        );
        self.signed_key_kind()?;
        anyhow::ensure!((1..=10_000).contains(&self.keys), "--keys must be 1 to 10000");
        anyhow::ensure!(self.signed_timeout_ms >= 100, "--signed-timeout-ms must be at least 100");
        anyhow::ensure!((0.0..=100.0).contains(&self.min_success_pct), "--min-success-pct must be 0 to 100");
        anyhow::ensure!(
            (0.0..=100.0).contains(&self.min_write_success_pct),
            "--min-write-success-pct must be 0 to 100"
        );
        anyhow::ensure!(
            self.max_rss_mib > 0 && self.abort_rss_mib >= self.max_rss_mib,
            "--abort-rss-mib must be at least --max-rss-mib, which must be positive"
        );
        anyhow::ensure!(self.settle_secs <= 600, "--settle-secs must be at most 600");
        anyhow::ensure!(self.health_interval_ms >= 50, "--health-interval-ms must be at least 50");
        anyhow::ensure!(self.health_timeout_ms >= 100, "--health-timeout-ms must be at least 100");
        anyhow::ensure!(self.sample_interval_ms >= 100, "--sample-interval-ms must be at least 100");
        anyhow::ensure!(
            self.large_rate > 0.0 && self.large_rate <= 1000.0,
            "--large-rate must be above 0 and at most 1000"
        );
        anyhow::ensure!((1..=10_000).contains(&self.aliases_per_key), "--aliases-per-key must be 1 to 10000");
        for (flag, node) in [
            ("--slow-node", self.slow_node),
            ("--idle-node", self.idle_node),
            ("--bodies-node", self.bodies_node),
        ] {
            anyhow::ensure!((1..=NODES).contains(&node), "{flag} must be 1 to {NODES}");
        }
        for (flag, count) in [
            ("--slow-headers", self.slow_headers),
            ("--slow-bodies", self.slow_bodies),
            ("--idle-conns", self.idle_conns),
            ("--bodies-held", self.bodies_held),
        ] {
            anyhow::ensure!(
                count <= MAX_ATTACK_CONNECTIONS,
                "{flag} must be at most {MAX_ATTACK_CONNECTIONS}"
            );
        }
        anyhow::ensure!(self.slow_interval_ms >= 10, "--slow-interval-ms must be at least 10");
        anyhow::ensure!(self.idle_hold_secs >= 1, "--idle-hold-secs must be at least 1");
        anyhow::ensure!(self.idle_open_rate >= 1, "--idle-open-rate must be at least 1");
        anyhow::ensure!(self.bodies_open_rate >= 1, "--bodies-open-rate must be at least 1");
        anyhow::ensure!(self.bodies_held_percent <= 100, "--bodies-held-percent must be 0 to 100");
        anyhow::ensure!(
            (0.0..=1000.0).contains(&self.bodies_full_rate),
            "--bodies-full-rate must be 0 to 1000"
        );
        anyhow::ensure!(self.port <= u16::MAX - 1000 - NODES as u16, "--port is too high");
        let mut attacks = Vec::new();
        let mut none = false;
        for choice in &self.attacks {
            match choice {
                AttackChoice::Run(attack) if !attacks.contains(attack) => attacks.push(*attack),
                AttackChoice::Run(_) => {}
                AttackChoice::None => none = true,
            }
        }
        anyhow::ensure!(!none || attacks.is_empty(), "--attacks none cannot be combined with attacks");
        attacks.sort();
        Ok(attacks)
    }

    /// File descriptors this process needs with `attacks` running: every attack connection at
    /// once, the clients' pools, the health probes, and headroom.
    pub fn descriptors_needed(&self, attacks: &[Attack]) -> u64 {
        let mut needed = 1024 + 4 * self.clients as u64;
        for attack in attacks {
            needed += match attack {
                Attack::LargeRows => 16,
                Attack::SlowClients => (self.slow_headers + self.slow_bodies) as u64,
                Attack::IdleFlood => self.idle_conns as u64,
                Attack::UnsignedBodies => self.bodies_held as u64 + 64,
            };
        }
        needed
    }

    /// The mix of signed calls and the kind of key they use: symmetric keys, so a mix they cannot
    /// serve (sign, generate-mac, …) is refused.
    pub fn signed_key_kind(&self) -> anyhow::Result<(Mix, KeyKind)> {
        let mix = Mix::parse(&self.signed_mix).map_err(|error| anyhow::anyhow!("--signed-mix: {error}"))?;
        let ops: Vec<_> = mix.ops().collect();
        let kind = KeyKind::for_ops(KeySpec::SymmetricDefault, None, &ops)
            .map_err(|error| anyhow::anyhow!("--signed-mix: {error}"))?;
        Ok((mix, kind))
    }

    /// The run's length.
    pub fn run_time(&self) -> Duration {
        Duration::from_secs(self.duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_run_every_attack() {
        let args = SoakArgs::parse_from(["trent-soak"]);
        let attacks = args.validate().unwrap();
        assert_eq!(attacks.len(), 4);
        assert!(args.descriptors_needed(&attacks) > 5000);
    }

    #[test]
    fn attacks_are_chosen_by_name_or_none() {
        let args = SoakArgs::parse_from(["trent-soak", "--attacks", "idle-flood,large-rows"]);
        assert_eq!(args.validate().unwrap(), vec![Attack::LargeRows, Attack::IdleFlood]);
        let args = SoakArgs::parse_from(["trent-soak", "--attacks", "none"]);
        assert!(args.validate().unwrap().is_empty());
        let args = SoakArgs::parse_from(["trent-soak", "--attacks", "none,idle-flood"]);
        assert!(args.validate().is_err());
        assert!(SoakArgs::try_parse_from(["trent-soak", "--attacks", "ddos"]).is_err());
    }

    #[test]
    fn bounds_are_checked() {
        for bad in [
            vec!["--duration", "0"],
            vec!["--idle-node", "4"],
            vec!["--signed-mix", "frobnicate=1"],
            vec!["--signed-mix", "encrypt=1,sign=1"],
            vec!["--abort-rss-mib", "100"],
        ] {
            let args = SoakArgs::parse_from(std::iter::once("trent-soak").chain(bad.iter().copied()));
            assert!(args.validate().is_err(), "{bad:?}");
        }
    }
}
