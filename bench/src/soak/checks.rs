//! The verdict: each check's bound, what was observed, PASS or FAIL. Nodes stay in service
//! (health and processes), memory stays under the bound, the signed clients keep their success
//! rate and p99 latency, the large-row writes succeed, and the run lasted its full duration.

use serde::Serialize;

use crate::soak::health::NodeHealth;
use crate::soak::large_rows::LargeRowsReport;
use crate::soak::memory::NodeMemory;
use crate::soak::signed::SignedReport;
use crate::soak::tally::Counts;

/// Error codes reported on their own under the success-rate check.
pub const NAMED_ERRORS: [&str; 2] = ["KeyUnavailableException", "ThrottlingException"];

/// The bounds the checks hold the cluster to.
#[derive(Debug, Clone, Serialize)]
pub struct Thresholds {
    /// Peak RSS per node, MiB.
    pub max_rss_mib: u64,
    /// Signed calls that must succeed, percent.
    pub min_success_pct: f64,
    /// p99 of successful signed calls, ms.
    pub max_p99_ms: u64,
    /// Large-row writes that must succeed, percent.
    pub min_write_success_pct: f64,
    /// Health probe period, ms.
    pub health_interval_ms: u64,
    /// Health probe timeout, ms.
    pub health_timeout_ms: u64,
    /// Start-up grace for health, seconds.
    pub grace_secs: u64,
    /// Longest outage allowed per node, ms (0: none).
    pub max_outage_ms: u64,
}

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What is checked.
    pub name: String,
    /// The bound.
    pub bound: String,
    /// What was seen.
    pub observed: String,
    /// Whether it held.
    pub pass: bool,
}

/// What the checks look at.
pub struct Evidence<'a> {
    /// The health watchers' results.
    pub health: &'a [NodeHealth],
    /// The memory sampler's results.
    pub memory: &'a [NodeMemory],
    /// The signed workload's results.
    pub signed: &'a SignedReport,
    /// The large rows' results, when they ran.
    pub large_rows: Option<&'a LargeRowsReport>,
    /// Seconds the run was asked to last.
    pub duration_secs: u64,
    /// Seconds it lasted.
    pub ran_secs: f64,
    /// Why it ended early, if it did.
    pub interrupted: Option<&'a str>,
    /// Why the attacks were stopped early, if they were.
    pub aborted: Option<&'a str>,
}

/// Evaluates every check.
pub fn evaluate(evidence: &Evidence<'_>, thresholds: &Thresholds) -> Vec<Check> {
    let mut checks = vec![
        in_service(evidence.health, thresholds),
        memory(evidence.memory, thresholds),
        success_rate(evidence.signed, thresholds),
        latency(evidence.signed, thresholds),
    ];
    if let Some(large_rows) = evidence.large_rows {
        checks.push(writes(large_rows, thresholds));
    }
    checks.push(full_duration(evidence));
    checks
}

fn in_service(health: &[NodeHealth], thresholds: &Thresholds) -> Check {
    let observed = health
        .iter()
        .map(|node| {
            let mut text = format!("node {}: {} of {} probes failed", node.node, node.failed, node.probes);
            if let Some(first) = node.first_failures.first() {
                text.push_str(&format!(" (first {first}; longest outage {:.1} s)", node.longest_outage_secs));
            }
            if let Some(exited) = node.process_exited_secs {
                text.push_str(&format!(", process gone at t={exited:.1}s"));
            }
            text
        })
        .collect::<Vec<_>>()
        .join("; ");
    Check {
        name: "nodes stay in service".into(),
        bound: format!(
            "every GET /v1/sys/health (every {} ms per node, fresh connection, after {} s grace) answers 200 \
             in service within {} ms, but for outages of at most {} ms (a leader election); no node process exits",
            thresholds.health_interval_ms, thresholds.grace_secs, thresholds.health_timeout_ms, thresholds.max_outage_ms
        ),
        observed,
        pass: !health.is_empty() && health.iter().all(|node| node.in_service(thresholds.max_outage_ms)),
    }
}

fn memory(memory: &[NodeMemory], thresholds: &Thresholds) -> Check {
    let observed = memory
        .iter()
        .map(|node| format!("node {}: {:.0} MiB", node.node, node.peak_mib()))
        .collect::<Vec<_>>()
        .join(", ");
    Check {
        name: "memory stays bounded".into(),
        bound: format!("each node's peak RSS (VmHWM, sampled VmRSS) <= {} MiB", thresholds.max_rss_mib),
        observed,
        pass: !memory.is_empty()
            && memory.iter().all(|node| node.peak_mib() <= thresholds.max_rss_mib as f64),
    }
}

/// Percentage of `counts` that succeeded (0 when there were none).
pub fn success_pct(counts: &Counts) -> f64 {
    let total = counts.ok + counts.failed;
    if total == 0 {
        0.0
    } else {
        100.0 * counts.ok as f64 / total as f64
    }
}

fn success_rate(signed: &SignedReport, thresholds: &Thresholds) -> Check {
    let total = &signed.calls.total;
    let pct = success_pct(total);
    let mut observed = format!("{pct:.2}% ({} of {} succeeded", total.ok, total.ok + total.failed);
    for named in NAMED_ERRORS {
        observed.push_str(&format!("; {named} {}", total.errors.get(named).copied().unwrap_or(0)));
    }
    let others: Vec<String> = total
        .errors
        .iter()
        .filter(|(code, _)| !NAMED_ERRORS.contains(&code.as_str()))
        .map(|(code, count)| format!("{code} {count}"))
        .collect();
    if !others.is_empty() {
        observed.push_str(&format!("; {}", others.join(", ")));
    }
    observed.push(')');
    Check {
        name: "signed clients succeed".into(),
        bound: format!(
            ">= {:.2}% of signed calls succeed (KeyUnavailableException and ThrottlingException count as failures)",
            thresholds.min_success_pct
        ),
        observed,
        pass: total.ok > 0 && pct >= thresholds.min_success_pct,
    }
}

fn latency(signed: &SignedReport, thresholds: &Thresholds) -> Check {
    let latency = signed.success_latency;
    Check {
        name: "signed latency".into(),
        bound: format!("p99 of successful signed calls, from when due, <= {} ms", thresholds.max_p99_ms),
        observed: format!(
            "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            latency.p50_ms, latency.p99_ms, latency.max_ms
        ),
        pass: signed.calls.total.ok > 0 && latency.p99_ms <= thresholds.max_p99_ms as f64,
    }
}

fn writes(large_rows: &LargeRowsReport, thresholds: &Thresholds) -> Check {
    let total = &large_rows.calls.total;
    let pct = success_pct(total);
    let errors: Vec<String> = total.errors.iter().map(|(code, count)| format!("{code} {count}")).collect();
    let mut observed = format!("{pct:.2}% ({} of {} succeeded", total.ok, total.ok + total.failed);
    if !errors.is_empty() {
        observed.push_str(&format!("; {}", errors.join(", ")));
    }
    observed.push(')');
    Check {
        name: "large-row writes succeed".into(),
        bound: format!(
            ">= {:.2}% of the large-row management calls succeed",
            thresholds.min_write_success_pct
        ),
        observed,
        pass: total.ok > 0 && pct >= thresholds.min_write_success_pct,
    }
}

fn full_duration(evidence: &Evidence<'_>) -> Check {
    let mut observed = format!("ran {:.0} s", evidence.ran_secs);
    if let Some(reason) = evidence.interrupted {
        observed.push_str(&format!("; interrupted: {reason}"));
    }
    if let Some(reason) = evidence.aborted {
        observed.push_str(&format!("; {reason}"));
    }
    Check {
        name: "ran the full course".into(),
        bound: format!("{} s with every chosen attack running to the end", evidence.duration_secs),
        observed,
        pass: evidence.interrupted.is_none() && evidence.aborted.is_none(),
    }
}
