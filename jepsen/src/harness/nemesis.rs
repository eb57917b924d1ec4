//! Nemeses: the faults a run injects from outside the nodes, drawn from a seeded schedule.
//!
//! - **partition**: `iptables` DROP between nodes — the leader isolated, one node cut off from
//!   the other two, or a bridge (two nodes that cannot talk, both talking to the third);
//! - **kill**: SIGKILL, later restarted on the same data directory and unsealed, its wall clock
//!   shifted by up to ±30 s (clock skew: nothing Trent promises may depend on wall clocks);
//! - **pause**: SIGSTOP, later SIGCONT;
//! - **rolling**: every node in turn stopped with SIGTERM, restarted (skewed) and unsealed, the
//!   next one once the cluster serves again;
//! - and, when several are enabled, a quarter of the faults are two at once.
//!
//! Kill and pause hit the leader half the time, partitions isolate it a third of the time: the
//! schedule draws that role, resolved to a node when the fault is injected, so a seed gives the
//! same schedule whatever the cluster does. Each fault is held for 3–12 s, then healed, and the
//! time until the cluster again takes a write and answers a linearizable read on every node is
//! measured; anything the heal left broken (a node that did not come back) is then mended, so
//! faults do not pile up. Between faults the cluster gets 2–6 s of quiet.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use trent_client::wire::kms::KeyIdRequest;

use super::cluster::{Cluster, NODES};
use super::recorder::Recorder;

/// The kinds of fault a run may inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum NemesisKind {
    /// Network partitions between nodes.
    Partition,
    /// SIGKILL and restart (with clock skew).
    Kill,
    /// SIGSTOP and SIGCONT.
    Pause,
    /// Rolling restarts.
    Rolling,
}

/// Who a fault hits. The schedule draws roles, not nodes, so a seed gives the same schedule
/// whatever the cluster does; a role becomes a node when the fault is injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Whichever node leads when the fault is injected.
    Leader,
    /// A fixed node.
    Node(u8),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Leader => write!(f, "leader"),
            Target::Node(node) => write!(f, "n{node}"),
        }
    }
}

/// One fault, with its targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// One node cut off from both others.
    Isolate { target: Target },
    /// The two nodes other than `bridge` cut off from each other; both still reach `bridge`.
    Bridge { bridge: u8 },
    /// SIGKILL of a node; healed by a restart with this wall-clock offset.
    Kill { target: Target, clock_offset_ms: i64 },
    /// SIGSTOP of a node; healed by SIGCONT.
    Pause { target: Target },
    /// Every node restarted in turn, with these wall-clock offsets.
    Rolling { clock_offsets_ms: Vec<i64> },
    /// Several faults at once, healed in reverse order.
    Combined(Vec<Fault>),
}

impl Fault {
    /// This fault with every [`Target::Leader`] replaced by `leader` (node 1 when there is
    /// none); a kill or pause never hits a node an earlier part of a combination killed or
    /// paused, moving on to the next node instead.
    pub fn resolve(&self, leader: Option<u8>) -> Fault {
        self.resolve_avoiding(leader, &mut Vec::new())
    }

    fn resolve_avoiding(&self, leader: Option<u8>, busy: &mut Vec<u8>) -> Fault {
        let node_of = |target: &Target| match target {
            Target::Leader => leader.unwrap_or(1),
            Target::Node(node) => *node,
        };
        let mut free = |target: &Target| {
            let mut node = node_of(target);
            while busy.contains(&node) && busy.len() < usize::from(NODES) {
                node = node % NODES + 1;
            }
            busy.push(node);
            Target::Node(node)
        };
        match self {
            Fault::Isolate { target } => Fault::Isolate { target: Target::Node(node_of(target)) },
            Fault::Kill { target, clock_offset_ms } => {
                Fault::Kill { target: free(target), clock_offset_ms: *clock_offset_ms }
            }
            Fault::Pause { target } => Fault::Pause { target: free(target) },
            Fault::Combined(faults) => {
                Fault::Combined(faults.iter().map(|fault| fault.resolve_avoiding(leader, busy)).collect())
            }
            other => other.clone(),
        }
    }

    /// The links an isolation or bridge cuts, as (lower, higher) node pairs.
    pub fn cuts(&self) -> BTreeSet<(u8, u8)> {
        let pair = |a: u8, b: u8| (a.min(b), a.max(b));
        match self {
            Fault::Isolate { target: Target::Node(node) } => {
                (1..=NODES).filter(|other| other != node).map(|other| pair(*node, other)).collect()
            }
            Fault::Bridge { bridge } => {
                let ends: Vec<u8> = (1..=NODES).filter(|node| node != bridge).collect();
                ends.windows(2).map(|ends| pair(ends[0], ends[1])).collect()
            }
            _ => BTreeSet::new(),
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Isolate { target } => write!(f, "isolate {target}"),
            Fault::Bridge { bridge } => write!(f, "bridge through n{bridge}"),
            Fault::Kill { target, clock_offset_ms } => {
                write!(f, "kill {target} (restart skewed {clock_offset_ms:+} ms)")
            }
            Fault::Pause { target } => write!(f, "pause {target}"),
            Fault::Rolling { .. } => write!(f, "rolling restart"),
            Fault::Combined(faults) => {
                let parts: Vec<String> = faults.iter().map(ToString::to_string).collect();
                write!(f, "{}", parts.join(" + "))
            }
        }
    }
}

/// What happened to one fault, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct FaultRecord {
    /// The fault, described.
    pub fault: String,
    /// When it was injected, ms into the run.
    pub started_ms: u64,
    /// When it was healed, ms into the run.
    pub healed_ms: u64,
    /// From heal until the cluster took a write and every node answered a linearizable read;
    /// `None` if that did not happen within the recovery limit.
    pub recovery_ms: Option<u64>,
    /// Anything that went wrong injecting or healing it.
    pub notes: Vec<String>,
}

/// How faults are drawn.
#[derive(Debug, Clone)]
pub struct NemesisPlan {
    /// The kinds enabled.
    pub kinds: Vec<NemesisKind>,
    /// Seeds the schedule.
    pub seed: u64,
    /// No fault starts after this much of the run.
    pub last_start: Duration,
    /// A key the recovery probe writes and reads (not part of any workload).
    pub probe_key: String,
}

/// The longest injecting or healing one fault may take (a rolling restart restarts, unseals
/// and waits for three nodes) before the run notes it and moves on.
pub const STEP_LIMIT: Duration = Duration::from_secs(360);

/// How long a healed cluster may take to recover before the run notes it and moves on.
pub const RECOVERY_LIMIT: Duration = Duration::from_secs(30);

/// Injects faults until `plan.last_start`, healing each; returns what happened.
pub async fn run(
    cluster: &mut Cluster,
    plan: &NemesisPlan,
    recorder: &Recorder,
    progress: &dyn Fn(&str),
) -> Vec<FaultRecord> {
    let mut rng = super::seeded(plan.seed, super::NEMESIS_STREAM);
    let mut records = Vec::new();
    if plan.kinds.is_empty() {
        return records;
    }
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(rng.random_range(2_000..=6_000))).await;
        if started.elapsed() >= plan.last_start {
            return records;
        }
        let drawn = draw(&mut rng, &plan.kinds);
        let hold = Duration::from_millis(rng.random_range(3_000..=12_000));
        let fault = drawn.resolve(cluster.leader().await);
        let description = if drawn == fault { fault.to_string() } else { format!("{drawn}: {fault}") };
        let mut notes = Vec::new();
        let started_ms = recorder.now_ns() / 1_000_000;
        progress(&format!("fault: {description}"));
        if tokio::time::timeout(STEP_LIMIT, apply(cluster, &fault, &plan.probe_key, &mut notes))
            .await
            .is_err()
        {
            notes.push(format!("injecting took over {STEP_LIMIT:?}"));
        }
        if !matches!(fault, Fault::Rolling { .. }) {
            tokio::time::sleep(hold).await;
        }
        if tokio::time::timeout(STEP_LIMIT, heal(cluster, &fault, &mut notes)).await.is_err() {
            notes.push(format!("healing took over {STEP_LIMIT:?}"));
        }
        let healed = Instant::now();
        let healed_ms = recorder.now_ns() / 1_000_000;
        progress(&format!(
            "healed{}",
            if notes.is_empty() { String::new() } else { format!(" ({})", notes.join("; ")) }
        ));
        let recovery_ms = recover(cluster, &plan.probe_key).await.then(|| millis(healed.elapsed()));
        match recovery_ms {
            Some(ms) => progress(&format!("recovered in {ms} ms")),
            None => progress("NOT recovered"),
        }
        // Whatever the heal left broken (a node that did not restart, say) is mended before the
        // next fault, so faults do not pile up into a cluster that stays down.
        notes.extend(heal_everything(cluster).await);
        records.push(FaultRecord { fault: description, started_ms, healed_ms, recovery_ms, notes });
    }
}

/// Heals whatever may still be broken: partitions, pauses, dead nodes (restarted unskewed).
pub async fn heal_everything(cluster: &mut Cluster) -> Vec<String> {
    let mut notes = Vec::new();
    if let Err(error) = cluster.network().heal().await {
        notes.push(format!("heal network: {error}"));
    }
    for node in 1..=NODES {
        if cluster.is_paused(node) {
            cluster.resume(node);
        }
        if let Err(error) = cluster.restart(node, 0).await {
            notes.push(format!("restart n{node}: {error}"));
        }
    }
    notes
}

/// Waits until a write through some node succeeds and every node answers a linearizable read
/// of `probe_key`; false if that takes longer than [`RECOVERY_LIMIT`].
pub async fn recover(cluster: &Cluster, probe_key: &str) -> bool {
    let request = KeyIdRequest { key_id: probe_key.to_owned(), ..KeyIdRequest::default() };
    let probe = async {
        let mut wrote = false;
        let mut read = [false; NODES as usize];
        let mut turn = 0u8;
        loop {
            if !wrote {
                turn = turn % NODES + 1;
                wrote = cluster.op_client(turn).enable_key(&request).await.is_ok();
            }
            for node in 1..=NODES {
                let done = &mut read[usize::from(node - 1)];
                if !*done {
                    *done = cluster.op_client(node).describe_key(&request).await.is_ok();
                }
            }
            if wrote && read.iter().all(|done| *done) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(RECOVERY_LIMIT, probe).await.is_ok()
}

/// Draws the next fault from `rng`: the schedule is the sequence of draws from the seed, and
/// depends on nothing else.
pub fn draw(rng: &mut ChaCha8Rng, kinds: &[NemesisKind]) -> Fault {
    let single: Vec<NemesisKind> =
        kinds.iter().copied().filter(|kind| *kind != NemesisKind::Rolling).collect();
    let combine = rng.random_bool(0.25);
    if single.len() >= 2 && combine {
        let mut picked: Vec<NemesisKind> = single.choose_multiple(rng, 2).copied().collect();
        picked.sort();
        return Fault::Combined(picked.into_iter().map(|kind| draw_one(rng, kind)).collect());
    }
    let kind = kinds.choose(rng).copied().unwrap_or(NemesisKind::Partition);
    draw_one(rng, kind)
}

fn draw_one(rng: &mut ChaCha8Rng, kind: NemesisKind) -> Fault {
    let target = |rng: &mut ChaCha8Rng| {
        if rng.random_bool(0.5) {
            Target::Leader
        } else {
            Target::Node(rng.random_range(1..=NODES))
        }
    };
    match kind {
        NemesisKind::Partition => match rng.random_range(0..3) {
            0 => Fault::Isolate { target: Target::Leader },
            1 => Fault::Bridge { bridge: rng.random_range(1..=NODES) },
            _ => Fault::Isolate { target: Target::Node(rng.random_range(1..=NODES)) },
        },
        NemesisKind::Kill => Fault::Kill { target: target(rng), clock_offset_ms: skew(rng) },
        NemesisKind::Pause => Fault::Pause { target: target(rng) },
        NemesisKind::Rolling => Fault::Rolling { clock_offsets_ms: (0..NODES).map(|_| skew(rng)).collect() },
    }
}

fn skew(rng: &mut ChaCha8Rng) -> i64 {
    rng.random_range(-30_000..=30_000)
}

/// The node a resolved target names.
fn node(target: &Target) -> u8 {
    match target {
        Target::Leader => 1,
        Target::Node(node) => *node,
    }
}

async fn apply(cluster: &mut Cluster, fault: &Fault, probe_key: &str, notes: &mut Vec<String>) {
    match fault {
        Fault::Isolate { .. } | Fault::Bridge { .. } => {
            if let Err(error) = cluster.network().partition(&fault.cuts()).await {
                notes.push(format!("partition: {error}"));
            }
        }
        Fault::Kill { target, .. } => cluster.kill(node(target)).await,
        Fault::Pause { target } => cluster.pause(node(target)),
        Fault::Rolling { clock_offsets_ms } => {
            for (node, offset) in (1..=NODES).zip(clock_offsets_ms) {
                cluster.terminate(node).await;
                if let Err(error) = cluster.restart(node, *offset).await {
                    notes.push(format!("restart n{node}: {error}"));
                }
                // As an operator would: the next node goes only once the cluster serves again.
                if !recover(cluster, probe_key).await {
                    notes.push(format!("no recovery after restarting n{node}"));
                }
            }
        }
        Fault::Combined(faults) => {
            for fault in faults {
                Box::pin(apply(cluster, fault, probe_key, notes)).await;
            }
        }
    }
}

async fn heal(cluster: &mut Cluster, fault: &Fault, notes: &mut Vec<String>) {
    match fault {
        Fault::Isolate { .. } | Fault::Bridge { .. } => {
            if let Err(error) = cluster.network().heal().await {
                notes.push(format!("heal: {error}"));
            }
        }
        Fault::Kill { target, clock_offset_ms } => {
            if let Err(error) = cluster.restart(node(target), *clock_offset_ms).await {
                notes.push(format!("restart {target}: {error}"));
            }
        }
        Fault::Pause { target } => cluster.resume(node(target)),
        Fault::Rolling { .. } => {}
        Fault::Combined(faults) => {
            for fault in faults.iter().rev() {
                Box::pin(heal(cluster, fault, notes)).await;
            }
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
