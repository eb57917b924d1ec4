//! The audit checkers, run on the nodes' audit directories read from the host once every node
//! is stopped:
//! - **audit-lost** — every call the history says the cluster acknowledged has, on some node, a
//!   record with its request id (the `x-trent-request-id` the workload chose and sent) and no
//!   `errorCode`, naming the operation it sent. A record is written and synced before its call's
//!   response leaves the node, so no fault may lose one. Calls that failed or timed out promise
//!   nothing (they may or may not be recorded) and are not looked for.
//! - **audit-chain** — every node's log verifies (`trent_audit::verify_dir`): every link, and
//!   every digest under the cluster's public key when one could be fetched. A torn final line of
//!   the newest file is a write no call waited for: the crate reports it apart from problems,
//!   and so does this checker (a note, not an anomaly).
//!
//! Memory: the acknowledged calls are borrowed from the history (bounded by
//! [`crate::history::HistoryLimits`]), each found one is dropped from the set as soon as its
//! record is read, and the logs are streamed a page of [`PAGE`] records at a time.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;
use trent_audit::{query, verify_dir, DigestVerifier, Filter};
use uuid::Uuid;

use super::checks::{Anomaly, AnomalyKind};
use crate::history::{Event, EventType};

/// Records read per query page.
pub const PAGE: usize = 1000;

/// The invocation field holding the request id the call was sent with.
pub const REQUEST_ID_FIELD: &str = "requestId";
/// The invocation field holding the KMS operation the call sent (the record's `eventName`).
pub const OPERATION_FIELD: &str = "operation";

/// One node's audit directory.
#[derive(Debug, Clone)]
pub struct AuditTrail {
    /// Who wrote it, for reports (`node 2`).
    pub node: String,
    /// The directory.
    pub dir: PathBuf,
}

/// What one node's log showed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeAudit {
    /// The node.
    pub node: String,
    /// Call records read (digests aside).
    pub records: u64,
    /// Of them, records of served calls (no `errorCode`).
    pub served: u64,
    /// Log files verified.
    pub files: usize,
    /// Lines (records and digests) whose links verified.
    pub linked: u64,
    /// Digests whose signature verified.
    pub digests_verified: u64,
    /// Digests only link-checked (no public key).
    pub digests_unverified: u64,
    /// The newest file ended in a torn line.
    pub torn_tail: bool,
}

/// What the audit checkers saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditFindings {
    /// Acknowledged calls looked for.
    pub acknowledged_calls: usize,
    /// Acknowledged calls whose invocation carries no request id (an older history): not
    /// looked for.
    pub without_request_id: usize,
    /// Acknowledged calls whose record was found.
    pub found: usize,
    /// Acknowledged calls with no record on any node.
    pub lost: usize,
    /// Where the digest public key came from (`node 1`), if anywhere.
    pub public_key_from: Option<String>,
    /// Each node's numbers.
    pub nodes: Vec<NodeAudit>,
    /// Checks that could not be made (an unreadable directory; acknowledged calls that could
    /// then be neither found nor called lost).
    pub unverified: usize,
    /// Why checks could not be made, and torn tails.
    pub notes: Vec<String>,
    /// Anomalies found.
    #[serde(skip)]
    pub anomalies: Vec<Anomaly>,
}

impl AuditFindings {
    /// Call records read on every node.
    pub fn records(&self) -> u64 {
        self.nodes.iter().map(|node| node.records).sum()
    }
}

/// The calls the history says were acknowledged, by request id: each one's invocation event.
pub fn acknowledged_calls(events: &[Event]) -> (HashMap<Uuid, &Event>, usize) {
    let mut invoked: HashMap<u64, &Event> = HashMap::new();
    let mut acknowledged = HashMap::new();
    let mut without_request_id = 0;
    for event in events {
        match event.kind {
            EventType::Invoke => {
                invoked.insert(event.process, event);
            }
            EventType::Ok => {
                let Some(invocation) = invoked.remove(&event.process) else { continue };
                match request_id(invocation) {
                    Some(id) => {
                        acknowledged.insert(id, invocation);
                    }
                    None => without_request_id += 1,
                }
            }
            EventType::Fail | EventType::Info => {
                invoked.remove(&event.process);
            }
        }
    }
    (acknowledged, without_request_id)
}

fn request_id(invocation: &Event) -> Option<Uuid> {
    invocation.value.get(REQUEST_ID_FIELD).and_then(Value::as_str).and_then(|id| Uuid::try_parse(id).ok())
}

/// Runs both checkers over `trails` against the acknowledged calls of `events`, verifying
/// digests with `public_key` (PEM, and who gave it) when there is one.
pub fn check_audit_trails(
    trails: &[AuditTrail],
    events: &[Event],
    public_key: Option<(String, Vec<u8>)>,
) -> AuditFindings {
    let (mut expected, without_request_id) = acknowledged_calls(events);
    let mut findings =
        AuditFindings { acknowledged_calls: expected.len(), without_request_id, ..AuditFindings::default() };
    let verifier = match public_key {
        Some((from, pem)) => match DigestVerifier::from_public_key(&pem) {
            Ok(verifier) => {
                findings.public_key_from = Some(from);
                Some(verifier)
            }
            Err(error) => {
                findings.notes.push(format!("the audit public key from {from} is unusable: {error}"));
                None
            }
        },
        None => None,
    };
    if verifier.is_none() {
        findings.notes.push(
            "no audit public key (no node answered unsealed): digests only link-checked, not their signatures"
                .to_owned(),
        );
    }
    let mut unreadable = false;
    for trail in trails {
        let mut node = NodeAudit { node: trail.node.clone(), ..NodeAudit::default() };
        if let Err(error) = find_records(trail, &mut expected, &mut node, &mut findings) {
            findings.notes.push(format!("reading the audit log of {} failed: {error}", trail.node));
            unreadable = true;
        }
        verify_trail(trail, verifier.as_ref(), &mut node, &mut findings);
        findings.nodes.push(node);
    }
    findings.found = findings.acknowledged_calls - expected.len();
    if unreadable {
        // The missing records may be in the part that could not be read.
        findings.unverified += expected.len();
        return findings;
    }
    findings.lost = expected.len();
    let mut lost: Vec<&Event> = expected.into_values().collect();
    lost.sort_by_key(|invocation| invocation.index);
    for invocation in lost {
        let operation = invocation.value.get(OPERATION_FIELD).and_then(Value::as_str).unwrap_or("?");
        findings.anomalies.push(Anomaly {
            kind: AnomalyKind::AuditLost,
            key: invocation.key.clone(),
            detail: format!(
                "{operation} ({}) acknowledged by node {}, invoked at {:.3} s (history event {}, request id {}): no record without errorCode on any node",
                invocation.f,
                invocation.value.get("node").unwrap_or(&Value::Null),
                invocation.time_ns as f64 / 1e9,
                invocation.index,
                invocation.value.get(REQUEST_ID_FIELD).and_then(Value::as_str).unwrap_or("?"),
            ),
        });
    }
    findings
}

/// Reads `trail`'s records a page at a time, taking every served call's request id out of
/// `expected`; a found record naming another operation than the call sent is an anomaly.
fn find_records(
    trail: &AuditTrail,
    expected: &mut HashMap<Uuid, &Event>,
    node: &mut NodeAudit,
    findings: &mut AuditFindings,
) -> Result<(), trent_audit::AuditError> {
    let mut after = None;
    loop {
        let page = query(&trail.dir, &Filter::default(), after, PAGE)?;
        for stored in &page.events {
            let event = &stored.event;
            node.records += 1;
            if event.error_code.is_some() {
                continue;
            }
            node.served += 1;
            // The harness's request id is the record's clientRequestId (its requestID is the
            // attempt's own x-amzn-RequestId).
            let sent_id = event.client_request_id.as_deref().and_then(|id| Uuid::try_parse(id).ok());
            let Some(invocation) = sent_id.and_then(|id| expected.remove(&id)) else {
                continue;
            };
            let sent = invocation.value.get(OPERATION_FIELD).and_then(Value::as_str);
            if sent.is_some_and(|sent| sent != event.event_name) {
                findings.anomalies.push(Anomaly {
                    kind: AnomalyKind::AuditLost,
                    key: invocation.key.clone(),
                    detail: format!(
                        "the record of request {} on {} (sequence {}) names {}, but the call sent {}",
                        event.client_request_id.as_deref().unwrap_or("?"),
                        trail.node,
                        stored.sequence,
                        event.event_name,
                        sent.unwrap_or("?")
                    ),
                });
            }
        }
        match page.next_after {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

/// Verifies `trail`'s chain and digests; a problem is an `audit-chain` anomaly.
fn verify_trail(
    trail: &AuditTrail,
    verifier: Option<&DigestVerifier>,
    node: &mut NodeAudit,
    findings: &mut AuditFindings,
) {
    let report = match verify_dir(&trail.dir, verifier) {
        Ok(report) => report,
        Err(error) => {
            findings.notes.push(format!("verifying the audit log of {} failed: {error}", trail.node));
            findings.unverified += 1;
            return;
        }
    };
    node.files = report.files;
    node.linked = report.records;
    node.digests_verified = report.digests_verified;
    node.digests_unverified = report.digests_unverified;
    node.torn_tail = report.unterminated_tail;
    if report.unterminated_tail {
        findings.notes.push(format!(
            "the newest audit file of {} ends in a torn line (a write no call waited for)",
            trail.node
        ));
    }
    if let Some(problem) = report.problem {
        findings.anomalies.push(Anomaly {
            kind: AnomalyKind::AuditChain,
            key: trail.node.clone(),
            detail: format!(
                "{} line {} (sequence {}): {:?}: {}",
                problem.file,
                problem.line,
                problem.sequence.map_or_else(|| "?".to_owned(), |sequence| sequence.to_string()),
                problem.kind,
                problem.detail
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(index: u64, process: u64, kind: EventType, value: Value) -> Event {
        Event { index, process, kind, f: "encrypt".to_owned(), key: "k".to_owned(), value, time_ns: index }
    }

    #[test]
    fn only_acknowledged_calls_with_a_request_id_are_looked_for() {
        let id = |n: u8| format!("00000000-0000-4000-8000-0000000000{n:02}");
        let invoke = |n: u8| json!({"node": 1, "operation": "Encrypt", "requestId": id(n)});
        let events = [
            event(0, 1, EventType::Invoke, invoke(1)),
            event(1, 2, EventType::Invoke, invoke(2)),
            event(2, 3, EventType::Invoke, invoke(3)),
            event(3, 4, EventType::Invoke, json!({"node": 1})),
            event(4, 1, EventType::Ok, json!(null)),
            event(5, 2, EventType::Fail, json!({"error": "timeout"})),
            event(6, 3, EventType::Info, json!({"error": "timeout"})),
            event(7, 4, EventType::Ok, json!(null)),
        ];
        let (acknowledged, without_request_id) = acknowledged_calls(&events);
        assert_eq!(acknowledged.len(), 1);
        assert!(acknowledged.contains_key(&Uuid::try_parse(&id(1)).unwrap()));
        assert_eq!(without_request_id, 1);
    }

    fn record(name: &str, request_id: &str, error: Option<&str>) -> trent_audit::Event {
        serde_json::from_value(json!({
            "eventVersion": "1.08", "eventTime": "2026-12-04T01:02:03Z", "eventSource": "kms.amazonaws.com",
            "eventName": name, "awsRegion": "us-east-1", "requestParameters": null, "responseElements": null,
            "errorCode": error, "requestID": "attempt", "clientRequestId": request_id, "eventID": "e", "readOnly": true,
            "eventType": "AwsApiCall", "managementEvent": true, "eventCategory": "Management",
            "recipientAccountId": "000000000000", "nodeId": 1
        }))
        .unwrap()
    }

    #[test]
    fn an_acknowledged_call_without_a_served_record_is_lost_and_an_edited_log_is_broken() {
        let id = |n: u8| format!("00000000-0000-4000-8000-0000000000{n:02}");
        let mut events = Vec::new();
        for n in 1..=3u8 {
            let index = u64::from(n) * 2;
            let invoke = json!({"node": 1, "operation": "Encrypt", "requestId": id(n)});
            events.push(event(index, u64::from(n), EventType::Invoke, invoke));
            events.push(event(index + 1, u64::from(n), EventType::Ok, json!(null)));
        }
        let dir = tempfile::tempdir().unwrap();
        let mut log =
            trent_audit::AuditLog::open(dir.path(), trent_audit::RotationPolicy::default()).unwrap();
        // Call 1 recorded as served, call 2 only as refused, call 3 not at all.
        let records =
            [record("Encrypt", &id(1), None), record("Encrypt", &id(2), Some("KMSInternalException"))];
        log.append(&records, std::time::SystemTime::now()).unwrap();
        drop(log);
        let trail = AuditTrail { node: "node 1".to_owned(), dir: dir.path().to_owned() };
        let findings = check_audit_trails(std::slice::from_ref(&trail), &events, None);
        assert_eq!((findings.acknowledged_calls, findings.found, findings.lost), (3, 1, 2));
        assert_eq!(findings.records(), 2);
        assert!(findings.anomalies.iter().all(|anomaly| anomaly.kind == AnomalyKind::AuditLost));
        assert!(findings.anomalies[0].detail.contains(&id(2)), "{}", findings.anomalies[0].detail);

        // The first record edited: the second's link breaks.
        let file = std::fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap().path();
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, text.replacen(r#""eventID":"e""#, r#""eventID":"f""#, 1)).unwrap();
        let findings = check_audit_trails(&[trail], &events, None);
        let chain: Vec<&Anomaly> =
            findings.anomalies.iter().filter(|anomaly| anomaly.kind == AnomalyKind::AuditChain).collect();
        assert_eq!(chain.len(), 1, "{:?}", findings.anomalies);
        assert!(chain[0].detail.contains("line 1 (sequence 1): Changed"), "{}", chain[0].detail);
    }
}
