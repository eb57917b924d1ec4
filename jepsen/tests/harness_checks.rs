//! The harness's checkers, schedule and outcome rules on hand-made histories: each rule must
//! flag what breaks it and pass what does not (the cluster-driven runs are in
//! `scripts/jepsen.sh`).

use std::collections::BTreeSet;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use trent_client::wire::{ErrorCode, KmsError};
use trent_client::ClientError;
use trent_jepsen::harness::checks::{acknowledged_keys, check_history};
use trent_jepsen::harness::nemesis::{draw, Fault, NemesisKind};
use trent_jepsen::harness::report::{RunReport, Verdict};
use trent_jepsen::harness::workload::{Call, Keys, KEYSET};
use trent_jepsen::{Event, EventType};

const BOUND: Duration = Duration::from_millis(500);
const MS: u64 = 1_000_000;

/// Builds a history one operation at a time, in time order.
#[derive(Default)]
struct History {
    events: Vec<Event>,
}

impl History {
    fn push(&mut self, process: u64, kind: EventType, f: &str, key: &str, value: Value, time_ns: u64) {
        let index = self.events.len() as u64;
        self.events.push(Event { process, kind, f: f.into(), key: key.into(), value, time_ns, index });
    }

    /// One whole operation from `call_ms` to `end_ms` (sequential histories only).
    fn op(
        &mut self,
        process: u64,
        f: &str,
        key: &str,
        input: Value,
        (call_ms, end_ms): (u64, u64),
        (end, output): (EventType, Value),
    ) {
        self.push(process, EventType::Invoke, f, key, input, call_ms * MS);
        self.push(process, end, f, key, output, end_ms * MS);
    }
}

fn keys() -> Keys {
    Keys {
        cipher: vec!["cipher".into()],
        registers: vec![vec!["register".into()]],
        revocation: vec!["revoked".into()],
    }
}

fn kinds(findings: &trent_jepsen::harness::checks::HistoryFindings) -> Vec<&'static str> {
    findings.anomalies.iter().map(|anomaly| anomaly.kind).collect()
}

#[test]
fn an_encrypt_invoked_past_the_bound_after_a_disable_is_an_anomaly() {
    let mut history = History::default();
    history.op(1, "disable", "revoked", Value::Null, (1_000, 1_010), (EventType::Ok, Value::Null));
    history.op(2, "encrypt", "revoked", json!({}), (1_400, 1_401), (EventType::Ok, json!({"blob": "x"})));
    history.op(3, "encrypt", "revoked", json!({}), (1_600, 1_601), (EventType::Ok, json!({"blob": "y"})));
    let findings = check_history(&history.events, &keys(), BOUND).expect("checked");
    assert_eq!(kinds(&findings), ["revocation-late"]);
    assert_eq!(findings.revocation.encrypts_after_ack, 2);
    assert_eq!(findings.revocation.latest_ok_invoked_after_ack_ms, Some(590.0));
}

#[test]
fn encrypts_inside_the_bound_refusals_and_late_completions_are_fine() {
    let mut history = History::default();
    // Invoked before the acknowledgement, completed long after it: decided in time.
    history.push(2, EventType::Invoke, "encrypt", "revoked", json!({}), 900 * MS);
    history.op(1, "disable", "revoked", Value::Null, (1_000, 1_010), (EventType::Ok, Value::Null));
    history.op(3, "encrypt", "revoked", json!({}), (1_300, 1_302), (EventType::Ok, json!({"blob": "x"})));
    history.op(
        4,
        "encrypt",
        "revoked",
        json!({}),
        (1_700, 1_701),
        (EventType::Fail, json!({"error": "DisabledException"})),
    );
    history.push(2, EventType::Ok, "encrypt", "revoked", json!({"blob": "y"}), 5_000 * MS);
    let findings = check_history(&history.events, &keys(), BOUND).expect("checked");
    assert!(findings.anomalies.is_empty(), "{:?}", findings.anomalies);
    assert_eq!(findings.revocation.refused_after_ack, 1);
}

#[test]
fn a_stale_describe_after_an_acknowledged_disable_is_not_linearizable() {
    let mut history = History::default();
    history.op(1, "disable", "register", Value::Null, (10, 20), (EventType::Ok, Value::Null));
    history.op(2, "describe", "register", Value::Null, (30, 40), (EventType::Ok, json!("Enabled")));
    let findings = check_history(&history.events, &keys(), BOUND).expect("checked");
    assert_eq!(kinds(&findings), ["not-linearizable"]);
    assert_eq!(findings.registers.violations, 1);
}

#[test]
fn an_indeterminate_disable_may_land_late() {
    let mut history = History::default();
    history.op(
        1,
        "disable",
        "register",
        Value::Null,
        (10, 20),
        (EventType::Info, json!({"error": "timeout"})),
    );
    history.op(2, "describe", "register", Value::Null, (30, 40), (EventType::Ok, json!("Enabled")));
    history.op(2, "describe", "register", Value::Null, (50, 60), (EventType::Ok, json!("Disabled")));
    let findings = check_history(&history.events, &keys(), BOUND).expect("checked");
    assert!(findings.anomalies.is_empty(), "{:?}", findings.anomalies);
    assert_eq!(findings.registers.linearizable, 1);
}

#[test]
fn decrypts_must_give_the_plaintext_and_not_disown_the_blob() {
    let mut history = History::default();
    let input = json!({"node": 1, "blob": "YmxvYg==", "plaintext": "cGxhaW4="});
    history.op(
        1,
        "decrypt",
        "cipher",
        input.clone(),
        (10, 11),
        (EventType::Ok, json!({"plaintext": "cGxhaW4="})),
    );
    history.op(
        1,
        "decrypt",
        "cipher",
        input.clone(),
        (20, 21),
        (EventType::Ok, json!({"plaintext": "b3RoZXI="})),
    );
    history.op(
        1,
        "decrypt",
        "cipher",
        input.clone(),
        (30, 31),
        (EventType::Fail, json!({"error": "InvalidCiphertextException"})),
    );
    history.op(
        1,
        "decrypt",
        "cipher",
        input,
        (40, 41),
        (EventType::Fail, json!({"error": "KeyUnavailableException"})),
    );
    let findings = check_history(&history.events, &keys(), BOUND).expect("checked");
    assert_eq!(kinds(&findings), ["wrong-plaintext", "acked-blob-refused"]);
    assert_eq!(findings.decrypts_checked, 2);
}

#[test]
fn only_acknowledged_creates_count_as_keys() {
    let mut history = History::default();
    history.op(1, "create", KEYSET, Value::Null, (1, 2), (EventType::Ok, json!("k1")));
    history.op(2, "create", KEYSET, Value::Null, (3, 4), (EventType::Info, json!({"error": "timeout"})));
    history.op(
        3,
        "create",
        KEYSET,
        Value::Null,
        (5, 6),
        (EventType::Fail, json!({"error": "ValidationException"})),
    );
    assert_eq!(acknowledged_keys(&history.events), ["k1"]);
}

#[test]
fn only_writes_that_may_have_happened_are_indeterminate() {
    let api = |code| ClientError::Api(KmsError::new(code, "refused"));
    let timeout = || ClientError::Timeout { endpoint: "n1".into(), after: Duration::from_secs(1) };
    let connect = || ClientError::Connect { endpoint: "n1".into(), message: "refused".into() };
    let disable = Call::Disable("k".into());
    let describe = Call::Describe("k".into());
    assert_eq!(disable.outcome_of(&timeout()), EventType::Info);
    assert_eq!(disable.outcome_of(&api(ErrorCode::DependencyTimeout)), EventType::Info);
    assert_eq!(disable.outcome_of(&api(ErrorCode::ServiceUnavailable)), EventType::Info);
    assert_eq!(disable.outcome_of(&api(ErrorCode::NotFound)), EventType::Fail);
    assert_eq!(disable.outcome_of(&connect()), EventType::Fail);
    assert_eq!(describe.outcome_of(&timeout()), EventType::Fail);
    assert_eq!(Call::Create.outcome_of(&timeout()), EventType::Info);
}

#[test]
fn a_seed_reproduces_its_schedule() {
    let all = [NemesisKind::Partition, NemesisKind::Kill, NemesisKind::Pause, NemesisKind::Rolling];
    let schedule = |seed| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..50).map(|i| draw(&mut rng, &all, Some(1 + (i % 3) as u8))).collect::<Vec<Fault>>()
    };
    assert_eq!(schedule(7), schedule(7));
    assert_ne!(schedule(7), schedule(8));
}

#[test]
fn schedules_use_every_enabled_nemesis_and_no_other() {
    let all = [NemesisKind::Partition, NemesisKind::Kill, NemesisKind::Pause, NemesisKind::Rolling];
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut seen = BTreeSet::new();
    for _ in 0..400 {
        let fault = draw(&mut rng, &all, Some(2));
        let parts = match &fault {
            Fault::Combined(parts) => {
                assert_eq!(parts.len(), 2);
                let nodes: Vec<u8> = parts
                    .iter()
                    .filter_map(|part| match part {
                        Fault::Kill { node, .. } | Fault::Pause { node } => Some(*node),
                        _ => None,
                    })
                    .collect();
                assert!(nodes.len() < 2 || nodes[0] != nodes[1], "one node targeted twice: {fault}");
                seen.insert("combined");
                parts.clone()
            }
            single => vec![single.clone()],
        };
        for part in parts {
            match part {
                Fault::Partition { name, cuts } => {
                    assert!(cuts.iter().all(|(a, b)| a < b && (1..=3).contains(a) && (1..=3).contains(b)));
                    seen.insert(name);
                }
                Fault::Kill { clock_offset_ms, .. } => {
                    assert!(clock_offset_ms.abs() <= 30_000);
                    seen.insert("kill");
                }
                Fault::Pause { .. } => {
                    seen.insert("pause");
                }
                Fault::Rolling { .. } => {
                    seen.insert("rolling");
                }
                Fault::Combined(_) => panic!("nested combination"),
            }
        }
    }
    let expected = ["bridge", "combined", "isolate-leader", "kill", "minority", "pause", "rolling"];
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), expected);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..100 {
        assert!(matches!(draw(&mut rng, &[NemesisKind::Pause], None), Fault::Pause { .. }));
    }
}

#[test]
fn the_verdict_is_the_worst_finding() {
    let report = |history: &History| {
        let findings = check_history(&history.events, &keys(), BOUND).expect("checked");
        RunReport::new(1, 10, vec![], 1, 500, &history.events, vec![], findings, Default::default())
    };
    let mut clean = History::default();
    clean.op(1, "describe", "register", Value::Null, (1, 2), (EventType::Ok, json!("Enabled")));
    let clean_report = report(&clean);
    assert_eq!(clean_report.verdict, Verdict::Valid);
    assert_eq!(clean_report.operations["describe"].ok, 1);
    let mut broken = History::default();
    broken.op(1, "describe", "register", Value::Null, (1, 2), (EventType::Ok, json!("Disabled")));
    let broken_report = report(&broken);
    assert_eq!(broken_report.verdict, Verdict::Anomalies);
    assert_eq!(broken_report.anomaly_counts["not-linearizable"], 1);
    assert!(broken_report.to_markdown().contains("not-linearizable: 1"));
}
