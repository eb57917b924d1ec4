//! The rotation checker: on the healed cluster, every ciphertext key lists on every node the
//! same rotations, at least one per acknowledged RotateKeyOnDemand and no more than were
//! attempted (acknowledged plus indeterminate). A rotation applied twice, lost after its
//! acknowledgement, or applied on some nodes only breaks it. That every blob acknowledged
//! before or after a rotation still decrypts on every node is the ciphertext checker's
//! (`checks::check_final_state`), over the same blobs.

use std::collections::BTreeMap;

use serde::Serialize;
use trent_client::wire::model::RotationType;
use trent_client::TrentClient;

use super::checks::{Anomaly, AnomalyKind};
use super::workload::ops;
use crate::history::{Event, EventType};

/// What the rotation checker saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RotationFindings {
    /// Ciphertext keys checked.
    pub keys: usize,
    /// RotateKeyOnDemand calls acknowledged.
    pub acknowledged: usize,
    /// RotateKeyOnDemand calls whose outcome is unknown.
    pub indeterminate: usize,
    /// Rotations the healed cluster lists, over every key (as node-by-node agreement requires,
    /// counted once).
    pub listed: usize,
    /// Keys whose rotations could not be read on some node.
    pub unverified: usize,
    /// Why reads could not be made.
    pub notes: Vec<String>,
    /// Anomalies found.
    #[serde(skip)]
    pub anomalies: Vec<Anomaly>,
}

/// Acknowledged and indeterminate RotateKeyOnDemand calls per key, from the history.
fn attempts(events: &[Event]) -> BTreeMap<&str, (usize, usize)> {
    let mut attempts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for event in events.iter().filter(|event| event.f == ops::ROTATE) {
        let entry = attempts.entry(event.key.as_str()).or_default();
        match event.kind {
            EventType::Ok => entry.0 += 1,
            EventType::Info => entry.1 += 1,
            _ => {}
        }
    }
    attempts
}

/// Reads every ciphertext key's on-demand rotations (their material ids, oldest first) on every
/// live node and judges them against the history.
pub async fn check_rotations(
    live: &[(u8, TrentClient)],
    cipher_keys: &[String],
    events: &[Event],
) -> RotationFindings {
    let attempts = attempts(events);
    let mut findings = RotationFindings { keys: cipher_keys.len(), ..RotationFindings::default() };
    findings.acknowledged = attempts.values().map(|(ok, _)| ok).sum();
    findings.indeterminate = attempts.values().map(|(_, info)| info).sum();
    for key in cipher_keys {
        let (acknowledged, indeterminate) = attempts.get(key.as_str()).copied().unwrap_or_default();
        let mut seen: Vec<(u8, Vec<String>)> = Vec::new();
        for (node, client) in live {
            match client.list_all_key_rotations(key, None).await {
                Ok(rotations) => seen.push((
                    *node,
                    rotations
                        .into_iter()
                        .filter(|entry| entry.rotation_type == Some(RotationType::OnDemand))
                        .map(|entry| entry.key_material_id)
                        .collect(),
                )),
                Err(error) => {
                    findings.notes.push(format!("ListKeyRotations of {key} on node {node} failed: {error}"));
                    findings.unverified += 1;
                }
            }
        }
        let mut anomaly = |kind, detail: String| {
            findings.anomalies.push(Anomaly { kind, key: key.clone(), detail });
        };
        for (node, rotations) in &seen {
            if rotations.len() < acknowledged {
                anomaly(
                    AnomalyKind::LostRotation,
                    format!(
                        "node {node} lists {} rotations; {acknowledged} were acknowledged",
                        rotations.len()
                    ),
                );
            } else if rotations.len() > acknowledged + indeterminate {
                anomaly(
                    AnomalyKind::ExtraRotation,
                    format!(
                        "node {node} lists {} rotations; {} were attempted",
                        rotations.len(),
                        acknowledged + indeterminate
                    ),
                );
            }
        }
        if let Some((first, expected)) = seen.first() {
            for (node, rotations) in seen.iter().skip(1).filter(|(_, rotations)| rotations != expected) {
                anomaly(
                    AnomalyKind::SplitBrain,
                    format!(
                        "node {node} lists other rotations ({}) than node {first} ({})",
                        rotations.len(),
                        expected.len()
                    ),
                );
            }
            findings.listed += expected.len();
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn event(kind: EventType, key: &str) -> Event {
        Event {
            index: 0,
            process: 0,
            kind,
            f: ops::ROTATE.to_owned(),
            key: key.to_owned(),
            value: Value::Null,
            time_ns: 0,
        }
    }

    #[test]
    fn attempts_count_acknowledged_and_indeterminate_rotations_per_key() {
        let events = [
            event(EventType::Invoke, "a"),
            event(EventType::Ok, "a"),
            event(EventType::Invoke, "a"),
            event(EventType::Info, "a"),
            event(EventType::Invoke, "b"),
            event(EventType::Fail, "b"),
        ];
        let attempts = attempts(&events);
        assert_eq!(attempts.get("a"), Some(&(1, 1)));
        assert_eq!(attempts.get("b"), Some(&(0, 0)));
    }
}
