//! Watching the nodes' memory: VmRSS and VmHWM (the kernel's peak RSS) of every node process
//! from `/proc/<pid>/status`, sampled once a second. Keeps start, sampled peak, VmHWM and end, a
//! coarse series for the report, and trips the abort switch when a node passes the abort bound,
//! so a blow-up stops the attacks before it takes the host down.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

use crate::soak::cluster::Node;
use crate::soak::stop;

/// One sample in five goes into the report's series.
const SERIES_EVERY: u64 = 5;

/// What one node's memory did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeMemory {
    /// The node.
    pub node: usize,
    /// Its pid.
    pub pid: u32,
    /// VmRSS at the first sample, MiB.
    pub start_rss_mib: f64,
    /// Highest sampled VmRSS, MiB.
    pub peak_rss_mib: f64,
    /// Highest VmHWM read (the kernel's own peak RSS, between samples too), MiB.
    pub hwm_mib: f64,
    /// VmRSS at the last sample, MiB.
    pub end_rss_mib: f64,
    /// `[seconds into the run, VmRSS MiB]`, every fifth sample.
    pub series: Vec<(f64, f64)>,
}

impl NodeMemory {
    /// The larger of the sampled peak and VmHWM, MiB.
    pub fn peak_mib(&self) -> f64 {
        self.peak_rss_mib.max(self.hwm_mib)
    }
}

/// `(VmRSS, VmHWM)` of `pid` in KiB, or `None` once it is gone.
pub fn read_status(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Samples every node every `interval` until `stop`. `live` holds each node's latest VmRSS in
/// KiB for the progress lines. When a node's RSS passes `abort_kib`, `abort` is set with the
/// reason.
pub async fn sample(
    nodes: Vec<Node>,
    started: Instant,
    interval: Duration,
    abort_kib: u64,
    abort: watch::Sender<Option<String>>,
    live: Arc<Vec<AtomicU64>>,
    mut stop: watch::Receiver<bool>,
) -> Vec<NodeMemory> {
    let mut memory: Vec<NodeMemory> = nodes
        .iter()
        .map(|node| NodeMemory { node: node.id, pid: node.pid, ..NodeMemory::default() })
        .collect();
    let mut ticks: u64 = 0;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let last = tokio::select! {
            _ = ticker.tick() => false,
            _ = stop::until_stopped(&mut stop) => true,
        };
        for (index, (node, record)) in nodes.iter().zip(memory.iter_mut()).enumerate() {
            let Some((rss, hwm)) = read_status(node.pid) else { continue };
            let rss_mib = mib(rss);
            if ticks == 0 {
                record.start_rss_mib = rss_mib;
            }
            record.peak_rss_mib = record.peak_rss_mib.max(rss_mib);
            record.hwm_mib = record.hwm_mib.max(mib(hwm));
            record.end_rss_mib = rss_mib;
            let at = round1(started.elapsed().as_secs_f64());
            let fresh = !matches!(record.series.last(), Some((previous, _)) if *previous >= at);
            if (ticks.is_multiple_of(SERIES_EVERY) || last) && fresh {
                record.series.push((at, round1(rss_mib)));
            }
            if let Some(slot) = live.get(index) {
                slot.store(rss, Ordering::Relaxed);
            }
            if rss.max(hwm) > abort_kib && abort.borrow().is_none() {
                let reason = format!(
                    "node {} reached {:.0} MiB RSS (abort bound {:.0} MiB) at t={:.1}s: attacks stopped",
                    node.id,
                    mib(rss.max(hwm)),
                    mib(abort_kib),
                    started.elapsed().as_secs_f64()
                );
                let _ = abort.send(Some(reason));
            }
        }
        ticks += 1;
        if last {
            return memory;
        }
    }
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let (rss, hwm) = read_status(std::process::id()).unwrap();
        assert!(rss > 0 && hwm >= rss);
    }
}
