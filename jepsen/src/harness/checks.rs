//! The checkers: what the history and the healed cluster must show, and the anomalies found.
//!
//! From the history:
//! - **key-state register** — each register key's enable/disable/describe history must be
//!   linearizable ([`crate::wgl`] with [`KeyStateRegister`]);
//! - **revocation bound** — once a DisableKey is acknowledged at `t`, no Encrypt under that key
//!   *invoked* after `t + bound` may succeed. (Invocation, not completion: a node may check the
//!   key, be paused, and deliver its answer much later; the bound promises what a node decides
//!   after `t + bound`, and a call invoked then is decided then or later.)
//! - **access revocation bound** — once a RevokeGrant (or a PutKeyPolicy that drops the grantee)
//!   is acknowledged at `t`, no Encrypt by the grantee under that key invoked after `t + bound`
//!   may succeed;
//! - **signing revocation bound** — the same for Sign with an ECDSA signing key: once its
//!   DisableKey is acknowledged at `t`, no Sign invoked after `t + bound` may succeed;
//! - **ciphertexts** — a Decrypt of an acknowledged blob must give its plaintext, and must not be
//!   refused as if the blob or key were unknown (`InvalidCiphertext`, `IncorrectKey`, `NotFound`).
//!
//! From the healed cluster, on every node:
//! - **key set** — every acknowledged CreateKey's key is listed;
//! - **ciphertexts** — every acknowledged blob decrypts to its plaintext;
//! - **split brain** — for (a sample of) the keys created during the run, a blob made on each
//!   node decrypts on every other node: one key id, one key material;
//! - **rotations** — every ciphertext key lists the same rotations on every node, one per
//!   acknowledged RotateKeyOnDemand at least and no more than were attempted
//!   ([`super::rotations`]).
//!
//! From the nodes' audit logs, read once the nodes are stopped: every acknowledged call
//! recorded, every chain intact ([`super::audit`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::Semaphore;
use trent_client::wire::data_plane::{DecryptRequest, EncryptRequest};
use trent_client::wire::{Blob, ErrorCode};
use trent_client::{ClientError, TrentClient};

use super::cluster::{Cluster, NODES};
use super::rotations::{check_rotations, RotationFindings};
use super::workload::{error_name, ops, AckedBlob, Keys, KEYSET};
use super::HarnessError;
use crate::history::{pair_operations, Event, EventType, Operation};
use crate::model::KeyStateRegister;
use crate::verdict::Verdict;
use crate::wgl::{check_key, CheckLimits};

/// Errors that say a blob or its key is unknown: never right for an acknowledged blob.
const REFUSALS_OF_ACKED_BLOBS: [ErrorCode; 3] =
    [ErrorCode::InvalidCiphertext, ErrorCode::IncorrectKey, ErrorCode::NotFound];

/// Whether the history's error name is one of [`REFUSALS_OF_ACKED_BLOBS`].
fn disowns_blob(error_name: &str) -> bool {
    REFUSALS_OF_ACKED_BLOBS.iter().any(|code| code.as_str() == error_name)
}

/// Operations of a counterexample's prefix shown in the report (the full history has them all).
const SHOWN_PREFIX: usize = 8;

/// Which promise an anomaly breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnomalyKind {
    /// A register key's history has no linearization.
    NotLinearizable,
    /// An Encrypt succeeded with a key disabled longer than the bound before it was invoked.
    RevocationLate,
    /// A Sign succeeded longer than the bound after its key's DisableKey was acknowledged.
    SigningRevocationLate,
    /// An Encrypt by the grantee succeeded longer than the bound after its grant was revoked or
    /// the key policy stopped naming it.
    AccessRevocationLate,
    /// A Decrypt gave another plaintext than the one encrypted.
    WrongPlaintext,
    /// A Decrypt refused an acknowledged blob as if it or its key were unknown.
    AckedBlobRefused,
    /// An acknowledged key is missing from a node.
    LostKey,
    /// An acknowledged blob no longer decrypts on a node.
    LostBlob,
    /// Nodes disagree about a key's material (or its rotations).
    SplitBrain,
    /// An acknowledged rotation is missing from a node.
    LostRotation,
    /// A node lists more rotations of a key than were attempted.
    ExtraRotation,
    /// An acknowledged call has no record of its success in any node's audit log.
    AuditLost,
    /// A node's audit log does not verify.
    AuditChain,
}

impl std::fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AnomalyKind {
    /// The kind's name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::NotLinearizable => "not-linearizable",
            AnomalyKind::RevocationLate => "revocation-late",
            AnomalyKind::SigningRevocationLate => "signing-revocation-late",
            AnomalyKind::AccessRevocationLate => "access-revocation-late",
            AnomalyKind::WrongPlaintext => "wrong-plaintext",
            AnomalyKind::AckedBlobRefused => "acked-blob-refused",
            AnomalyKind::LostKey => "lost-key",
            AnomalyKind::LostBlob => "lost-blob",
            AnomalyKind::SplitBrain => "split-brain",
            AnomalyKind::LostRotation => "lost-rotation",
            AnomalyKind::ExtraRotation => "extra-rotation",
            AnomalyKind::AuditLost => "audit-lost",
            AnomalyKind::AuditChain => "audit-chain",
        }
    }
}

/// One broken promise.
#[derive(Debug, Clone, Serialize)]
pub struct Anomaly {
    /// Which promise.
    pub kind: AnomalyKind,
    /// The key involved.
    pub key: String,
    /// What was seen.
    pub detail: String,
}

/// What the linearizability checker concluded over the register keys.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegisterSummary {
    /// Keys checked.
    pub keys: usize,
    /// Operations checked (ok and info).
    pub operations: usize,
    /// Keys found linearizable.
    pub linearizable: usize,
    /// Keys the search could not decide within its limits.
    pub unknown: usize,
    /// Keys found not linearizable.
    pub violations: usize,
}

/// What the revocation checker saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RevocationSummary {
    /// Keys whose DisableKey was acknowledged.
    pub revoked_keys: usize,
    /// Successful uses (Encrypt, Sign) invoked after the revocation was acknowledged.
    pub succeeded_after_ack: usize,
    /// Of those, the latest invocation after the acknowledgement, ms (must stay under the bound).
    pub latest_ok_invoked_after_ack_ms: Option<f64>,
    /// Encrypts refused after the acknowledgement.
    pub refused_after_ack: usize,
}

/// Everything the history alone shows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HistoryFindings {
    /// The register verdicts.
    pub registers: RegisterSummary,
    /// The revocation numbers.
    pub revocation: RevocationSummary,
    /// The signing-revocation numbers (Sign after DisableKey).
    pub signing_revocation: RevocationSummary,
    /// The access-revocation numbers (grants revoked, key policies tightened).
    pub access_revocation: RevocationSummary,
    /// Decrypts of acknowledged blobs during the run.
    pub decrypts_checked: usize,
    /// Whether some part of the history could not be checked (see `notes`).
    pub unchecked: bool,
    /// Why parts could not be checked.
    pub notes: Vec<String>,
    /// Anomalies found.
    #[serde(skip)]
    pub anomalies: Vec<Anomaly>,
}

/// Checks the history of a run.
pub fn check_history(
    events: &[Event],
    keys: &Keys,
    bound: Duration,
) -> Result<HistoryFindings, HarnessError> {
    let operations = pair_operations(events)?;
    let mut findings = HistoryFindings::default();
    check_registers(&operations, keys, &mut findings);
    check_revocation(events, &operations, keys, bound, &mut findings);
    check_access_revocation(events, &operations, keys, bound, &mut findings);
    check_decrypts(events, &operations, &mut findings);
    Ok(findings)
}

fn check_registers(operations: &[Operation], keys: &Keys, findings: &mut HistoryFindings) {
    let register_keys: BTreeSet<&str> = keys.register_keys().map(String::as_str).collect();
    let mut by_key: BTreeMap<&str, Vec<&Operation>> = BTreeMap::new();
    for op in operations.iter().filter(|op| register_keys.contains(op.key.as_str())) {
        by_key.entry(op.key.as_str()).or_default().push(op);
    }
    let model = KeyStateRegister::default();
    for (key, ops) in by_key {
        let report = match check_key(&model, key, &ops, &CheckLimits::default()) {
            Ok(report) => report,
            Err(error) => {
                findings.unchecked = true;
                findings.notes.push(format!("register {key} could not be checked: {error}"));
                continue;
            }
        };
        let summary = &mut findings.registers;
        summary.keys += 1;
        summary.operations += ops.len();
        match &report.verdict {
            Verdict::Linearizable => summary.linearizable += 1,
            Verdict::Unknown(_) => summary.unknown += 1,
            Verdict::NotLinearizable(counterexample) => {
                summary.violations += 1;
                let prefix = &counterexample.prefix;
                let shown = &prefix[prefix.len().saturating_sub(SHOWN_PREFIX)..];
                let mut detail = format!(
                    "{} operations; the longest linearizable prefix has {} (the last {} shown):\n",
                    ops.len(),
                    prefix.len(),
                    shown.len()
                );
                for op in shown {
                    detail.push_str(&format!("  {op}\n"));
                }
                detail.push_str(&format!(
                    "state after it: {}\ncannot place: {}",
                    counterexample.state_after_prefix, counterexample.blocked
                ));
                findings.anomalies.push(Anomaly {
                    kind: AnomalyKind::NotLinearizable,
                    key: key.to_owned(),
                    detail,
                });
            }
        }
    }
}

fn check_revocation(
    events: &[Event],
    operations: &[Operation],
    keys: &Keys,
    bound: Duration,
    findings: &mut HistoryFindings,
) {
    let revocation_keys: BTreeSet<&str> = keys.revocation.iter().map(String::as_str).collect();
    let revoked = Revoked {
        revoke: ops::DISABLE,
        by: ops::ENCRYPT,
        refusal: ErrorCode::Disabled,
        keys: revocation_keys,
    };
    let (summary, anomalies) = revoked.check(events, operations, bound, AnomalyKind::RevocationLate);
    findings.revocation = summary;
    findings.anomalies.extend(anomalies);
    let signing_keys: BTreeSet<&str> = keys.signing.iter().map(String::as_str).collect();
    let revoked =
        Revoked { revoke: ops::DISABLE, by: ops::SIGN, refusal: ErrorCode::Disabled, keys: signing_keys };
    let (summary, anomalies) = revoked.check(events, operations, bound, AnomalyKind::SigningRevocationLate);
    findings.signing_revocation = summary;
    findings.anomalies.extend(anomalies);
}

fn check_access_revocation(
    events: &[Event],
    operations: &[Operation],
    keys: &Keys,
    bound: Duration,
    findings: &mut HistoryFindings,
) {
    let access_keys: BTreeSet<&str> = keys.access.iter().map(|access| access.key.as_str()).collect();
    let revoked = Revoked {
        revoke: ops::REVOKE_ACCESS,
        by: ops::ACCESS_ENCRYPT,
        refusal: ErrorCode::AccessDenied,
        keys: access_keys,
    };
    let (summary, anomalies) = revoked.check(events, operations, bound, AnomalyKind::AccessRevocationLate);
    findings.access_revocation = summary;
    findings.anomalies.extend(anomalies);
}

/// One revocation promise: once `revoke` is acknowledged on a key of `keys`, no `by` on it
/// invoked more than the bound later succeeds (refusals are counted by `refusal`).
struct Revoked<'k> {
    revoke: &'static str,
    by: &'static str,
    refusal: ErrorCode,
    keys: BTreeSet<&'k str>,
}

impl Revoked<'_> {
    fn check(
        &self,
        events: &[Event],
        operations: &[Operation],
        bound: Duration,
        kind: AnomalyKind,
    ) -> (RevocationSummary, Vec<Anomaly>) {
        let limit_ns = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
        // The first acknowledged revocation of each key, by when it returned.
        let mut disabled_at: BTreeMap<&str, u64> = BTreeMap::new();
        for op in operations.iter().filter(|op| op.f == self.revoke && self.keys.contains(op.key.as_str())) {
            if let Some(returned) = op.return_ns {
                let entry = disabled_at.entry(op.key.as_str()).or_insert(returned);
                *entry = (*entry).min(returned);
            }
        }
        let mut anomalies = Vec::new();
        let mut summary =
            RevocationSummary { revoked_keys: disabled_at.len(), ..RevocationSummary::default() };
        for op in operations.iter().filter(|op| op.f == self.by) {
            let Some(&acked) = disabled_at.get(op.key.as_str()) else {
                continue;
            };
            if op.call_ns <= acked || op.is_indeterminate() {
                continue;
            }
            let after_ms = (op.call_ns - acked) as f64 / 1e6;
            summary.succeeded_after_ack += 1;
            summary.latest_ok_invoked_after_ack_ms =
                Some(summary.latest_ok_invoked_after_ack_ms.map_or(after_ms, |latest| latest.max(after_ms)));
            if op.call_ns - acked > limit_ns {
                anomalies.push(Anomaly {
                    kind,
                    key: op.key.clone(),
                    detail: format!(
                        "{} invoked {after_ms:.1} ms after {} was acknowledged succeeded (bound {} ms)",
                        self.by,
                        self.revoke,
                        bound.as_millis()
                    ),
                });
            }
        }
        summary.refused_after_ack = self.count_refused_after(events, &disabled_at);
        (summary, anomalies)
    }

    /// Calls refused with `refusal` after the acknowledgement (pairing drops failures, so they
    /// are counted from the completions).
    fn count_refused_after(&self, events: &[Event], disabled_at: &BTreeMap<&str, u64>) -> usize {
        events
            .iter()
            .filter(|event| event.f == self.by && event.kind == EventType::Fail)
            .filter(|event| disabled_at.get(event.key.as_str()).is_some_and(|acked| event.time_ns > *acked))
            .filter(|event| event.value.get("error").and_then(Value::as_str) == Some(self.refusal.as_str()))
            .count()
    }
}

fn check_decrypts(events: &[Event], operations: &[Operation], findings: &mut HistoryFindings) {
    for op in operations.iter().filter(|op| op.f == ops::DECRYPT && !op.is_indeterminate()) {
        findings.decrypts_checked += 1;
        let expected = op.input.get("plaintext").and_then(Value::as_str);
        let got = op.output.get("plaintext").and_then(Value::as_str);
        if expected != got {
            findings.anomalies.push(Anomaly {
                kind: AnomalyKind::WrongPlaintext,
                key: op.key.clone(),
                detail: format!(
                    "Decrypt on node {} gave another plaintext than the one encrypted",
                    op.input["node"]
                ),
            });
        }
    }
    for event in events.iter().filter(|event| event.f == ops::DECRYPT && event.kind == EventType::Fail) {
        let error = event.value.get("error").and_then(Value::as_str).unwrap_or_default();
        if disowns_blob(error) {
            findings.anomalies.push(Anomaly {
                kind: AnomalyKind::AckedBlobRefused,
                key: event.key.clone(),
                detail: format!(
                    "Decrypt of an acknowledged blob refused with {error} (event {})",
                    event.index
                ),
            });
        }
    }
}

/// What the final reads covered.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FinalFindings {
    /// Acknowledged created keys looked for on every node.
    pub created_keys: usize,
    /// Acknowledged blobs decrypted on every node.
    pub blobs: usize,
    /// Created keys whose material was compared across nodes.
    pub split_brain_keys: usize,
    /// Reads that kept failing even on the healed cluster (the promise could not be checked).
    pub unverified: usize,
    /// Why reads could not be made.
    pub notes: Vec<String>,
    /// What the rotation checker saw.
    pub rotations: RotationFindings,
    /// Anomalies found.
    #[serde(skip)]
    pub anomalies: Vec<Anomaly>,
}

/// Keys the history says CreateKey acknowledged.
pub fn acknowledged_keys(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|event| event.f == ops::CREATE && event.key == KEYSET && event.kind == EventType::Ok)
        .filter_map(|event| event.value.as_str().map(str::to_owned))
        .collect()
}

/// Most time the final reads may take; past it the rest counts as unverified.
pub const FINAL_CHECK_LIMIT: Duration = Duration::from_secs(600);

/// Reads the healed cluster: every acknowledged key listed on every node, every acknowledged
/// blob decrypted on every node, up to `split_brain_sample` created keys (spread over the
/// run) compared across nodes, and the ciphertext keys' rotations against `events`. A node
/// that does not answer, unsealed, has its reads counted as unverified rather than tried;
/// everything is done within [`FINAL_CHECK_LIMIT`].
pub async fn check_final_state(
    cluster: &Cluster,
    created: &[String],
    blobs: &[AckedBlob],
    split_brain_sample: usize,
    rotated: (&[String], &[Event]),
) -> FinalFindings {
    let mut findings =
        FinalFindings { created_keys: created.len(), blobs: blobs.len(), ..FinalFindings::default() };
    let mut live = Vec::new();
    for node in 1..=NODES {
        let client = match cluster.health(node).await {
            Some(health) if !health.sealed => cluster.final_client(node),
            _ => None,
        };
        match client {
            Some(client) => live.push((node, client)),
            None => {
                findings.notes.push(format!("node {node} was not up and unsealed for the final reads"));
                findings.unverified += created.len() + blobs.len();
            }
        }
    }
    let reads = async {
        read_final_state(&live, created, blobs, split_brain_sample, &mut findings).await;
        check_rotations(&live, rotated.0, rotated.1).await
    };
    match tokio::time::timeout(FINAL_CHECK_LIMIT, reads).await {
        Ok(mut rotations) => {
            findings.unverified += rotations.unverified;
            findings.notes.append(&mut rotations.notes);
            findings.anomalies.append(&mut rotations.anomalies);
            findings.rotations = rotations;
        }
        Err(_) => {
            findings.notes.push(format!("the final reads took over {FINAL_CHECK_LIMIT:?}"));
            findings.unverified += 1;
        }
    }
    findings
}

async fn read_final_state(
    live: &[(u8, TrentClient)],
    created: &[String],
    blobs: &[AckedBlob],
    split_brain_sample: usize,
    findings: &mut FinalFindings,
) {
    for (node, client) in live {
        let listed = match client.list_all_keys().await {
            Ok(listed) => listed,
            Err(error) => {
                findings.notes.push(format!("ListKeys on node {node} failed: {error}"));
                findings.unverified += created.len();
                continue;
            }
        };
        let listed: BTreeSet<&str> = listed.iter().map(|entry| entry.key_id.as_str()).collect();
        for key in created.iter().filter(|key| !listed.contains(key.as_str())) {
            findings.anomalies.push(Anomaly {
                kind: AnomalyKind::LostKey,
                key: key.clone(),
                detail: format!("acknowledged by CreateKey, not listed by node {node}"),
            });
        }
    }
    let limiter = Arc::new(Semaphore::new(16));
    let mut tasks = tokio::task::JoinSet::new();
    for blob in blobs {
        for (node, client) in live {
            let (node, client, blob, limiter) = (*node, client.clone(), blob.clone(), limiter.clone());
            tasks.spawn(async move {
                let _permit = limiter.acquire_owned().await;
                let outcome = decrypt(&client, &blob.key, &blob.blob).await;
                judge_decrypt(outcome, &blob.plaintext, &blob.key, node, AnomalyKind::LostBlob)
            });
        }
    }
    if live.len() > 1 {
        let clients: Vec<(u8, TrentClient)> = live.to_vec();
        for key in spread(created, split_brain_sample) {
            findings.split_brain_keys += 1;
            let (clients, key, limiter) = (clients.clone(), key.clone(), limiter.clone());
            tasks.spawn(async move {
                let _permit = limiter.acquire_owned().await;
                compare_material(&clients, &key).await
            });
        }
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Judged::Fine) => {}
            Ok(Judged::Unverified) => findings.unverified += 1,
            Ok(Judged::Anomaly(anomaly)) => findings.anomalies.push(anomaly),
            Err(error) => {
                findings.unverified += 1;
                findings.notes.push(format!("a final read panicked: {error}"));
            }
        }
    }
}

/// Up to `count` of `items`, evenly spread over them.
fn spread<T>(items: &[T], count: usize) -> impl Iterator<Item = &T> {
    let step = items.len().div_ceil(count.max(1)).max(1);
    items.iter().step_by(step).take(count)
}

enum Judged {
    Fine,
    Unverified,
    Anomaly(Anomaly),
}

async fn decrypt(client: &TrentClient, key: &str, blob: &[u8]) -> Result<Vec<u8>, ClientError> {
    let request = DecryptRequest {
        ciphertext_blob: Some(Blob(blob.to_vec())),
        key_id: Some(key.to_owned()),
        ..DecryptRequest::default()
    };
    Ok(client.decrypt(&request).await?.plaintext.as_bytes().to_vec())
}

fn judge_decrypt(
    outcome: Result<Vec<u8>, ClientError>,
    expected: &[u8],
    key: &str,
    node: u8,
    kind: AnomalyKind,
) -> Judged {
    match outcome {
        Ok(plaintext) if plaintext == expected => Judged::Fine,
        Ok(_) => Judged::Anomaly(Anomaly {
            kind,
            key: key.to_owned(),
            detail: format!("node {node} decrypted it to another plaintext"),
        }),
        Err(error) if error.code().is_some_and(|code| REFUSALS_OF_ACKED_BLOBS.contains(&code)) => {
            let detail = format!("node {node} refused it: {}", error_name(&error));
            Judged::Anomaly(Anomaly { kind, key: key.to_owned(), detail })
        }
        Err(_) => Judged::Unverified,
    }
}

/// Encrypts on each node and decrypts on every other: all must agree on the key's material.
async fn compare_material(clients: &[(u8, TrentClient)], key: &str) -> Judged {
    for (maker, client) in clients {
        let plaintext = format!("split-brain probe {key} {maker}").into_bytes();
        let request = EncryptRequest {
            key_id: key.to_owned(),
            plaintext: Blob(plaintext.clone()),
            ..EncryptRequest::default()
        };
        let blob = match client.encrypt(&request).await {
            Ok(answer) => answer.ciphertext_blob.as_bytes().to_vec(),
            Err(_) => return Judged::Unverified,
        };
        for (reader, other) in clients.iter().filter(|(reader, _)| reader != maker) {
            let outcome = decrypt(other, key, &blob).await;
            match judge_decrypt(outcome, &plaintext, key, *reader, AnomalyKind::SplitBrain) {
                Judged::Fine => {}
                Judged::Anomaly(mut anomaly) => {
                    anomaly.detail = format!("blob made on node {maker}: {}", anomaly.detail);
                    return Judged::Anomaly(anomaly);
                }
                Judged::Unverified => return Judged::Unverified,
            }
        }
    }
    Judged::Fine
}
