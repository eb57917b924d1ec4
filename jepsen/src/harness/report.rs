//! The report of one run: what was done, what was injected, what was found. Written as
//! `report.json` (for tools) and `report.md` (for people) beside the history.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::audit::AuditFindings;
use super::checks::{Anomaly, FinalFindings, HistoryFindings};
use super::nemesis::FaultRecord;
use crate::history::{Event, EventType};

/// The outcome of a run in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every check ran and found nothing.
    Valid,
    /// Some promise was broken.
    Anomalies,
    /// Nothing was found broken, but some promise could not be fully checked.
    Incomplete,
}

/// How many operations ended each way.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcomes {
    /// Took effect, result known.
    pub ok: usize,
    /// Certainly did not take effect.
    pub fail: usize,
    /// Indeterminate.
    pub info: usize,
}

/// What a run was: its settings.
#[derive(Debug, Clone, Serialize)]
pub struct RunFacts {
    /// The schedule's seed.
    pub seed: u64,
    /// Workload time, s.
    pub duration_s: u64,
    /// Nemeses enabled.
    pub nemeses: Vec<String>,
    /// Concurrent clients.
    pub workers: usize,
    /// The nodes' consistency bound, ms.
    pub consistency_bound_ms: u64,
}

/// Everything about one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The run's settings.
    #[serde(flatten)]
    pub facts: RunFacts,
    /// Operations by name and outcome.
    pub operations: BTreeMap<String, Outcomes>,
    /// Faults injected, in order.
    pub faults: Vec<FaultRecord>,
    /// Recovery times after heals, ms: fastest, median, slowest.
    pub recovery_ms: Option<[u64; 3]>,
    /// Heals after which the cluster did not recover within the limit.
    pub unrecovered: usize,
    /// What the history showed.
    pub history: HistoryFindings,
    /// What the healed cluster showed.
    pub final_state: FinalFindings,
    /// What the nodes' audit logs showed.
    pub audit: AuditFindings,
    /// Every anomaly.
    pub anomalies: Vec<Anomaly>,
    /// Anomalies by kind.
    pub anomaly_counts: BTreeMap<String, usize>,
    /// What got in the harness's way (a node that did not come back, a check that could not run).
    pub notes: Vec<String>,
    /// The verdict.
    pub verdict: Verdict,
}

impl RunReport {
    /// Assembles the report and its verdict: anomalies if any check found one; incomplete if
    /// none did but something could not be checked.
    pub fn new(
        facts: RunFacts,
        events: &[Event],
        faults: Vec<FaultRecord>,
        history: HistoryFindings,
        final_state: FinalFindings,
        audit: AuditFindings,
        notes: Vec<String>,
    ) -> RunReport {
        let mut operations: BTreeMap<String, Outcomes> = BTreeMap::new();
        for event in events {
            let outcomes = operations.entry(event.f.clone()).or_default();
            match event.kind {
                EventType::Invoke => {}
                EventType::Ok => outcomes.ok += 1,
                EventType::Fail => outcomes.fail += 1,
                EventType::Info => outcomes.info += 1,
            }
        }
        let mut recoveries: Vec<u64> = faults.iter().filter_map(|fault| fault.recovery_ms).collect();
        recoveries.sort_unstable();
        let recovery_ms = match (recoveries.first(), recoveries.last()) {
            (Some(first), Some(last)) => Some([*first, recoveries[recoveries.len() / 2], *last]),
            _ => None,
        };
        let unrecovered = faults.iter().filter(|fault| fault.recovery_ms.is_none()).count();
        let anomalies: Vec<Anomaly> =
            history.anomalies.iter().chain(&final_state.anomalies).chain(&audit.anomalies).cloned().collect();
        let mut anomaly_counts = BTreeMap::new();
        for anomaly in &anomalies {
            *anomaly_counts.entry(anomaly.kind.to_string()).or_insert(0) += 1;
        }
        let verdict = if !anomalies.is_empty() {
            Verdict::Anomalies
        } else if history.registers.unknown > 0
            || history.unchecked
            || final_state.unverified > 0
            || audit.unverified > 0
        {
            Verdict::Incomplete
        } else {
            Verdict::Valid
        };
        RunReport {
            facts,
            operations,
            faults,
            recovery_ms,
            unrecovered,
            history,
            final_state,
            audit,
            anomalies,
            anomaly_counts,
            notes,
            verdict,
        }
    }

    /// The report for people.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# Jepsen run, seed {}\n", self.facts.seed);
        let _ = writeln!(
            out,
            "**Verdict: {:?}** — {} s, {} workers, nemeses {}, consistency bound {} ms.\n",
            self.verdict,
            self.facts.duration_s,
            self.facts.workers,
            if self.facts.nemeses.is_empty() { "none".to_owned() } else { self.facts.nemeses.join(", ") },
            self.facts.consistency_bound_ms
        );
        let _ = writeln!(out, "## Operations\n\n| op | ok | fail | info |\n|---|---:|---:|---:|");
        for (f, outcomes) in &self.operations {
            let _ = writeln!(out, "| {f} | {} | {} | {} |", outcomes.ok, outcomes.fail, outcomes.info);
        }
        let _ = writeln!(
            out,
            "\n## Faults ({})\n\n| at s | healed s | fault | recovery ms | notes |\n|---:|---:|---|---:|---|",
            self.faults.len()
        );
        for fault in &self.faults {
            let recovery = fault.recovery_ms.map_or_else(|| "not recovered".to_owned(), |ms| ms.to_string());
            let _ = writeln!(
                out,
                "| {:.1} | {:.1} | {} | {recovery} | {} |",
                fault.started_ms as f64 / 1e3,
                fault.healed_ms as f64 / 1e3,
                fault.fault,
                fault.notes.join("; ")
            );
        }
        if let Some([fastest, median, slowest]) = self.recovery_ms {
            let _ = writeln!(
                out,
                "\nRecovery after a heal: {fastest} / {median} / {slowest} ms (fastest / median / slowest)."
            );
        }
        let registers = &self.history.registers;
        let revocation = &self.history.revocation;
        let final_state = &self.final_state;
        let _ = writeln!(out, "\n## Checks\n");
        let _ = writeln!(
            out,
            "- key-state register: {} keys, {} operations: {} linearizable, {} unknown, {} not linearizable",
            registers.keys,
            registers.operations,
            registers.linearizable,
            registers.unknown,
            registers.violations
        );
        let _ = writeln!(
            out,
            "- revocation: {} keys disabled; {} Encrypts succeeded after the acknowledgement, the latest invoked {} after it; {} refused as disabled",
            revocation.revoked_keys,
            revocation.succeeded_after_ack,
            revocation.latest_ok_invoked_after_ack_ms.map_or_else(|| "—".to_owned(), |ms| format!("{ms:.1} ms")),
            revocation.refused_after_ack
        );
        let signing = &self.history.signing_revocation;
        let _ = writeln!(
            out,
            "- signing revocation: {} ECDSA keys disabled; {} Signs succeeded after the acknowledgement, the latest invoked {} after it; {} refused as disabled",
            signing.revoked_keys,
            signing.succeeded_after_ack,
            signing.latest_ok_invoked_after_ack_ms.map_or_else(|| "—".to_owned(), |ms| format!("{ms:.1} ms")),
            signing.refused_after_ack
        );
        let access = &self.history.access_revocation;
        let _ = writeln!(
            out,
            "- access revocation: {} grants revoked or key policies tightened; {} of the grantee's Encrypts succeeded after the acknowledgement, the latest invoked {} after it; {} refused as access denied",
            access.revoked_keys,
            access.succeeded_after_ack,
            access.latest_ok_invoked_after_ack_ms.map_or_else(|| "—".to_owned(), |ms| format!("{ms:.1} ms")),
            access.refused_after_ack
        );
        let _ = writeln!(
            out,
            "- decrypts of acknowledged blobs during the run: {}",
            self.history.decrypts_checked
        );
        let _ = writeln!(
            out,
            "- final state on every node: {} acknowledged keys listed, {} acknowledged blobs decrypted, {} keys' material compared across nodes, {} reads unverified",
            final_state.created_keys, final_state.blobs, final_state.split_brain_keys, final_state.unverified
        );
        let rotations = &final_state.rotations;
        let _ = writeln!(
            out,
            "- rotations: {} RotateKeyOnDemand acknowledged, {} indeterminate; {} listed alike on every node over {} ciphertext keys",
            rotations.acknowledged, rotations.indeterminate, rotations.listed, rotations.keys
        );
        self.audit_markdown(&mut out);
        if !self.notes.is_empty() {
            let _ = writeln!(out, "\n## Harness notes\n");
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        let _ = writeln!(out, "\n## Anomalies ({})\n", self.anomalies.len());
        for (kind, count) in &self.anomaly_counts {
            let _ = writeln!(out, "- {kind}: {count}");
        }
        for anomaly in self.anomalies.iter().take(20) {
            let _ =
                writeln!(out, "\n### {} on {}\n\n```\n{}\n```", anomaly.kind, anomaly.key, anomaly.detail);
        }
        out
    }

    fn audit_markdown(&self, out: &mut String) {
        let audit = &self.audit;
        let served: u64 = audit.nodes.iter().map(|node| node.served).sum();
        let _ = writeln!(
            out,
            "- audit completeness: {} acknowledged calls checked against {} records read on {} nodes ({served} of them served calls): {} found, {} lost, {} unverified",
            audit.acknowledged_calls,
            audit.records(),
            audit.nodes.len(),
            audit.found,
            audit.lost,
            audit.unverified
        );
        let chains: Vec<String> = audit
            .nodes
            .iter()
            .map(|node| {
                format!(
                    "{}: {} files, {} lines linked, {} digests verified{}{}",
                    node.node,
                    node.files,
                    node.linked,
                    node.digests_verified,
                    if node.digests_unverified > 0 {
                        format!(", {} only link-checked", node.digests_unverified)
                    } else {
                        String::new()
                    },
                    if node.torn_tail { ", torn last line" } else { "" }
                )
            })
            .collect();
        let key = audit.public_key_from.as_deref().map_or_else(
            || "no public key: signatures not checked".to_owned(),
            |from| format!("public key from {from}"),
        );
        let _ = writeln!(out, "- audit chains ({key}): {}", chains.join("; "));
    }
}
