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
//! Kill and pause pick the leader half of the time. Each fault is held for 3–12 s, then healed,
//! and the time until the cluster again takes a write and answers a linearizable read on every
//! node is measured. Between faults the cluster gets 2–6 s of quiet.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
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

/// One fault, with its targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Links cut both ways.
    Partition { name: &'static str, cuts: BTreeSet<(u8, u8)> },
    /// SIGKILL of a node; healed by a restart with this wall-clock offset.
    Kill { node: u8, clock_offset_ms: i64 },
    /// SIGSTOP of a node; healed by SIGCONT.
    Pause { node: u8 },
    /// Every node restarted in turn, with these wall-clock offsets.
    Rolling { clock_offsets_ms: Vec<i64> },
    /// Several faults at once, healed in reverse order.
    Combined(Vec<Fault>),
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Partition { name, cuts } => {
                let cuts: Vec<String> = cuts.iter().map(|(a, b)| format!("{a}-{b}")).collect();
                write!(f, "partition {name} (cut {})", cuts.join(" "))
            }
            Fault::Kill { node, clock_offset_ms } => {
                write!(f, "kill n{node} (restart skewed {clock_offset_ms:+} ms)")
            }
            Fault::Pause { node } => write!(f, "pause n{node}"),
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
pub const STEP_LIMIT: Duration = Duration::from_secs(180);

/// How long a healed cluster may take to recover before the run notes it and moves on.
pub const RECOVERY_LIMIT: Duration = Duration::from_secs(30);

/// Injects faults until `plan.last_start`, healing each; returns what happened.
pub async fn run(
    cluster: &mut Cluster,
    plan: &NemesisPlan,
    recorder: &Recorder,
    progress: &dyn Fn(&str),
) -> Vec<FaultRecord> {
    let mut rng = ChaCha8Rng::seed_from_u64(plan.seed);
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
        let leader = cluster.leader().await;
        let fault = draw(&mut rng, &plan.kinds, leader);
        let mut notes = Vec::new();
        let started_ms = recorder.now_ns() / 1_000_000;
        progress(&format!("fault: {fault}"));
        if tokio::time::timeout(STEP_LIMIT, apply(cluster, &fault, &plan.probe_key, &mut notes))
            .await
            .is_err()
        {
            notes.push(format!("injecting took over {STEP_LIMIT:?}"));
        }
        if !matches!(fault, Fault::Rolling { .. }) {
            tokio::time::sleep(Duration::from_millis(rng.random_range(3_000..=12_000))).await;
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
        records.push(FaultRecord { fault: fault.to_string(), started_ms, healed_ms, recovery_ms, notes });
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

/// Draws the next fault from `rng` (the schedule is the sequence of draws from the seed).
pub fn draw(rng: &mut ChaCha8Rng, kinds: &[NemesisKind], leader: Option<u8>) -> Fault {
    let single: Vec<NemesisKind> =
        kinds.iter().copied().filter(|kind| *kind != NemesisKind::Rolling).collect();
    if single.len() >= 2 && rng.random_bool(0.25) {
        let mut picked: Vec<NemesisKind> = single.choose_multiple(rng, 2).copied().collect();
        picked.sort();
        let first = draw_one(rng, picked[0], leader, None);
        let busy = targeted_node(&first);
        let second = draw_one(rng, picked[1], leader, busy);
        return Fault::Combined(vec![first, second]);
    }
    let kind = kinds.choose(rng).copied().unwrap_or(NemesisKind::Partition);
    draw_one(rng, kind, leader, None)
}

/// One fault of `kind`; a kill or pause avoids node `busy`.
fn draw_one(rng: &mut ChaCha8Rng, kind: NemesisKind, leader: Option<u8>, busy: Option<u8>) -> Fault {
    let pick_node = |rng: &mut ChaCha8Rng| {
        let candidates: Vec<u8> = (1..=NODES).filter(|node| Some(*node) != busy).collect();
        match leader {
            Some(leader) if Some(leader) != busy && rng.random_bool(0.5) => leader,
            _ => *candidates.choose(rng).unwrap_or(&1),
        }
    };
    match kind {
        NemesisKind::Partition => partition(rng, leader),
        NemesisKind::Kill => Fault::Kill { node: pick_node(rng), clock_offset_ms: skew(rng) },
        NemesisKind::Pause => Fault::Pause { node: pick_node(rng) },
        NemesisKind::Rolling => Fault::Rolling { clock_offsets_ms: (0..NODES).map(|_| skew(rng)).collect() },
    }
}

fn partition(rng: &mut ChaCha8Rng, leader: Option<u8>) -> Fault {
    let isolate = |node: u8| -> BTreeSet<(u8, u8)> {
        (1..=NODES).filter(|other| *other != node).map(|other| (node.min(other), node.max(other))).collect()
    };
    match (rng.random_range(0..3), leader) {
        (0, Some(leader)) => Fault::Partition { name: "isolate-leader", cuts: isolate(leader) },
        (1, _) => {
            let bridge = rng.random_range(1..=NODES);
            let ends: Vec<u8> = (1..=NODES).filter(|node| *node != bridge).collect();
            Fault::Partition { name: "bridge", cuts: BTreeSet::from([(ends[0], ends[1])]) }
        }
        _ => Fault::Partition { name: "minority", cuts: isolate(rng.random_range(1..=NODES)) },
    }
}

fn skew(rng: &mut ChaCha8Rng) -> i64 {
    rng.random_range(-30_000..=30_000)
}

fn targeted_node(fault: &Fault) -> Option<u8> {
    match fault {
        Fault::Kill { node, .. } | Fault::Pause { node } => Some(*node),
        _ => None,
    }
}

async fn apply(cluster: &mut Cluster, fault: &Fault, probe_key: &str, notes: &mut Vec<String>) {
    match fault {
        Fault::Partition { cuts, .. } => {
            if let Err(error) = cluster.network().partition(cuts).await {
                notes.push(format!("partition: {error}"));
            }
        }
        Fault::Kill { node, .. } => cluster.kill(*node).await,
        Fault::Pause { node } => cluster.pause(*node),
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
        Fault::Partition { .. } => {
            if let Err(error) = cluster.network().heal().await {
                notes.push(format!("heal: {error}"));
            }
        }
        Fault::Kill { node, clock_offset_ms } => {
            if let Err(error) = cluster.restart(*node, *clock_offset_ms).await {
                notes.push(format!("restart n{node}: {error}"));
            }
        }
        Fault::Pause { node } => cluster.resume(*node),
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
