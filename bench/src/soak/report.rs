//! The soak report: everything the run saw, serialised as JSON for `--json-out`, and rendered as
//! the text tables printed at the end (the checks first, PASS or FAIL each, then the evidence).

use std::fmt::Write as _;

use serde::Serialize;

use crate::soak::attack::AttackReport;
use crate::soak::checks::{success_pct, Check, Thresholds, NAMED_ERRORS};
use crate::soak::cluster::StopOutcome;
use crate::soak::health::NodeHealth;
use crate::soak::large_rows::LargeRowsReport;
use crate::soak::memory::NodeMemory;
use crate::soak::node_logs::NodeLog;
use crate::soak::rlimit::FileLimit;
use crate::soak::signed::SignedReport;
use crate::soak::tally::{Counts, TallyReport};

/// How the run was set up.
#[derive(Debug, Clone, Serialize)]
pub struct Setup {
    /// Seconds asked for.
    pub duration_secs: u64,
    /// Seconds the load lasted.
    pub ran_secs: f64,
    /// Seconds the watchers went on after it.
    pub settle_secs: u64,
    /// The trentd started.
    pub trentd: String,
    /// Client port of node 1.
    pub port: u16,
    /// The data directory (node logs).
    pub data_dir: String,
    /// Attack components run.
    pub attacks: Vec<String>,
    /// Open-file limits of this process and the cluster.
    pub file_limit: FileLimit,
    /// The bounds checked.
    pub thresholds: Thresholds,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `PASS` when every check passed, else `FAIL`.
    pub verdict: String,
    /// The checks.
    pub checks: Vec<Check>,
    /// The setup.
    pub setup: Setup,
    /// Why the run ended early, if it did.
    pub interrupted: Option<String>,
    /// Why the attacks were stopped early, if they were.
    pub aborted: Option<String>,
    /// The signed workload.
    pub signed: SignedReport,
    /// The large rows, when they ran.
    pub large_rows: Option<LargeRowsReport>,
    /// The raw-TCP attacks.
    pub attacks: Vec<AttackReport>,
    /// Health per node.
    pub health: Vec<NodeHealth>,
    /// Memory per node.
    pub memory: Vec<NodeMemory>,
    /// What each node's log holds.
    pub node_logs: Vec<NodeLog>,
    /// Components that did not stop in time and were cancelled (their counts are missing).
    pub unfinished: Vec<String>,
    /// How the cluster stopped.
    pub cluster_stop: StopOutcome,
}

impl Report {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|check| check.pass)
    }

    /// The report as text tables.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let setup = &self.setup;
        let attacks = if setup.attacks.is_empty() { "none".to_owned() } else { setup.attacks.join(", ") };
        let _ = writeln!(
            out,
            "\ntrent-soak: {:.0} s of {} s; attacks: {attacks}",
            setup.ran_secs, setup.duration_secs
        );
        let _ = writeln!(out, "\nChecks");
        for check in &self.checks {
            let _ = writeln!(out, "  {:<4}  {}", if check.pass { "PASS" } else { "FAIL" }, check.name);
            let _ = writeln!(out, "        bound:    {}", check.bound);
            let _ = writeln!(out, "        observed: {}", check.observed);
        }

        let signed = &self.signed;
        let _ = writeln!(
            out,
            "\nSigned workload ({} calls/s offered, at most {} in flight, mix {})",
            signed.rate, signed.clients, signed.mix
        );
        let total = if signed.not_sent > 0 { "all (incl. not sent)" } else { "all" };
        calls_table(&mut out, total, &signed.calls);
        let _ = writeln!(
            out,
            "  latency of successful calls from when due: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            signed.success_latency.p50_ms, signed.success_latency.p99_ms, signed.success_latency.max_ms
        );
        let _ = writeln!(
            out,
            "  latency of every call from when sent:      p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            signed.calls.latency.p50_ms, signed.calls.latency.p99_ms, signed.calls.latency.max_ms
        );
        if signed.not_sent > 0 {
            let _ = writeln!(
                out,
                "  not sent: {} calls fell due while all {} clients were waiting on earlier ones",
                signed.not_sent, signed.clients
            );
        }
        let named: Vec<String> = NAMED_ERRORS
            .iter()
            .map(|code| format!("{code} {}", signed.calls.total.errors.get(*code).copied().unwrap_or(0)))
            .collect();
        let _ = writeln!(out, "  {}", named.join(", "));

        if let Some(large) = &self.large_rows {
            let _ = writeln!(
                out,
                "\nLarge rows ({} calls/s; {} keys and {} aliases created)",
                large.rate, large.keys_created, large.aliases_created
            );
            calls_table(&mut out, "all", &large.calls);
            let sizes: Vec<String> =
                large.request_bytes.iter().map(|(op, bytes)| format!("{op} {bytes} B")).collect();
            let _ = writeln!(out, "  request bodies: {}", sizes.join(", "));
        }

        if !self.attacks.is_empty() {
            let _ = writeln!(out, "\nAttacks");
            let _ = writeln!(
                out,
                "  {:<22} {:>4} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>12}  answers",
                "component", "node", "opened", "refused", "conn-to", "reset", "closed", "peak", "bytes sent"
            );
            for attack in &self.attacks {
                let c = &attack.counters;
                let answers: Vec<String> =
                    c.answers_by_status.iter().map(|(status, count)| format!("{status}:{count}")).collect();
                let _ = writeln!(
                    out,
                    "  {:<22} {:>4} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>12}  {}",
                    attack.name,
                    attack.node,
                    c.opened,
                    c.refused,
                    c.connect_timeouts + c.connect_errors,
                    c.reset,
                    c.closed_by_server,
                    c.held_peak,
                    c.bytes_sent,
                    if answers.is_empty() { "-".to_owned() } else { answers.join(" ") }
                );
                let _ = writeln!(out, "  {:<22} {}", "", attack.settings);
                if let Some(error) = &c.first_connect_error {
                    let _ = writeln!(out, "  {:<22} first connect error: {error}", "");
                }
            }
        }

        let _ = writeln!(out, "\nNodes");
        let _ = writeln!(
            out,
            "  {:<5} {:>7} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>7} {:>7} {:>6}",
            "node",
            "pid",
            "RSS start",
            "RSS peak",
            "VmHWM",
            "RSS end",
            "probes",
            "failed",
            "outage",
            "errors",
            "raft!"
        );
        for memory in &self.memory {
            let health = self.health.iter().find(|health| health.node == memory.node);
            let log = self.node_logs.iter().find(|log| log.node == memory.node);
            let _ = writeln!(
                out,
                "  {:<5} {:>7} {:>5.0} MiB {:>5.0} MiB {:>5.0} MiB {:>5.0} MiB {:>8} {:>8} {:>6.1}s {:>7} {:>6}",
                memory.node,
                memory.pid,
                memory.start_rss_mib,
                memory.peak_rss_mib,
                memory.hwm_mib,
                memory.end_rss_mib,
                health.map_or(0, |health| health.probes),
                health.map_or(0, |health| health.failed),
                health.map_or(0.0, |health| health.longest_outage_secs),
                log.map_or(0, |log| log.errors),
                log.map_or(0, |log| log.raft_stopped),
            );
        }
        for health in &self.health {
            for (reason, count) in &health.failures_by_reason {
                let _ = writeln!(out, "  node {} health: {count} x {reason}", health.node);
            }
            if let Some(exited) = health.process_exited_secs {
                let _ = writeln!(out, "  node {} process gone at t={exited:.1}s", health.node);
            }
        }
        for log in &self.node_logs {
            for message in &log.first_messages {
                let _ = writeln!(out, "  node {} log: {message}", log.node);
            }
        }
        let _ = writeln!(
            out,
            "  (errors = ERROR lines logged during the run; raft! = lines saying Raft stopped; logs in {})",
            setup.data_dir
        );
        if !self.unfinished.is_empty() {
            let _ = writeln!(out, "  cancelled, did not stop in time: {}", self.unfinished.join(", "));
        }
        if !self.cluster_stop.clean || !self.cluster_stop.leftover_nodes.is_empty() {
            let _ = writeln!(
                out,
                "  cluster stop: {} (nodes left running: {:?})",
                self.cluster_stop.status, self.cluster_stop.leftover_nodes
            );
        }
        let _ = writeln!(out, "\n{}", if self.passed() { "PASS" } else { "FAIL" });
        out
    }
}

/// The calls by outcome: all of them (labelled `total`), by operation, by node.
fn calls_table(out: &mut String, total: &str, calls: &TallyReport) {
    let row = |out: &mut String, name: &str, counts: &Counts| {
        let errors: Vec<String> =
            counts.errors.iter().map(|(code, count)| format!("{code} {count}")).collect();
        let _ = writeln!(
            out,
            "  {:<22} {:>9} {:>8} {:>8.2}%  {}",
            name,
            counts.ok,
            counts.failed,
            success_pct(counts),
            errors.join(", ")
        );
    };
    let _ = writeln!(out, "  {:<22} {:>9} {:>8} {:>9}  errors", "", "ok", "failed", "success");
    row(out, total, &calls.total);
    for (operation, counts) in &calls.by_operation {
        row(out, operation, counts);
    }
    for (node, counts) in &calls.by_node {
        row(out, &format!("node {node}"), counts);
    }
}
