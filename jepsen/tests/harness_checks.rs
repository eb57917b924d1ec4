//! The harness's checkers, schedule and outcome rules on hand-made histories: each rule must
//! flag what breaks it and pass what does not (the cluster-driven runs are in
//! `scripts/jepsen.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};
use trent_client::wire::{ErrorCode, KmsError};
use trent_client::ClientError;
use trent_jepsen::harness::checks::{acknowledged_keys, check_history, HistoryFindings};
use trent_jepsen::harness::nemesis::{draw, Fault, NemesisKind, Target};
use trent_jepsen::harness::report::{RunFacts, RunReport, Verdict};
use trent_jepsen::harness::workload::{AccessKey, AccessRevocation, Call, Keys, KEYSET};
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
        signing: vec!["signer".into()],
        access: vec![AccessKey {
            key: "granted".into(),
            revocation: AccessRevocation::Grant("ab".repeat(32)),
        }],
        grantee: None,
    }
}

fn kinds(findings: &HistoryFindings) -> Vec<&'static str> {
    findings.anomalies.iter().map(|anomaly| anomaly.kind.as_str()).collect()
}

#[test]
fn an_encrypt_invoked_past_the_bound_after_a_disable_is_an_anomaly() {
    let mut history = History::default();
    history.op(1, "disable", "revoked", Value::Null, (1_000, 1_010), (EventType::Ok, Value::Null));
    history.op(2, "encrypt", "revoked", json!({}), (1_400, 1_401), (EventType::Ok, json!({"blob": "x"})));
    history.op(3, "encrypt", "revoked", json!({}), (1_600, 1_601), (EventType::Ok, json!({"blob": "y"})));
    let findings = check_history(&history.events, &keys(), BOUND).expect("checked");
    assert_eq!(kinds(&findings), ["revocation-late"]);
    assert_eq!(findings.revocation.succeeded_after_ack, 2);
    assert_eq!(findings.revocation.latest_ok_invoked_after_ack_ms, Some(590.0));
}

#[test]
fn a_sign_invoked_past_the_bound_after_a_disable_is_an_anomaly_of_its_own() {
    let mut history = History::default();
    history.op(1, "disable", "signer", Value::Null, (1_000, 1_010), (EventType::Ok, Value::Null));
    history.op(2, "sign", "signer", json!({}), (1_300, 1_301), (EventType::Ok, json!({"signature": "x"})));
    history.op(3, "sign", "signer", json!({}), (1_700, 1_701), (EventType::Ok, json!({"signature": "y"})));
    // An Encrypt under a signing key is not a Sign, and a Sign under a revocation key is not
    // watched: each promise is checked on its own keys.
    history.op(4, "encrypt", "signer", json!({}), (1_800, 1_801), (EventType::Ok, json!({"blob": "z"})));
    history.op(
        5,
        "sign",
        "signer",
        json!({}),
        (1_900, 1_901),
        (EventType::Fail, json!({"error": "DisabledException"})),
    );
    let findings = check_history(&history.events, &keys(), BOUND).expect("checked");
    assert_eq!(kinds(&findings), ["signing-revocation-late"]);
    assert_eq!(findings.signing_revocation.revoked_keys, 1);
    assert_eq!(findings.signing_revocation.succeeded_after_ack, 2);
    assert_eq!(findings.signing_revocation.refused_after_ack, 1);
    assert_eq!(findings.revocation.revoked_keys, 0);
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
fn a_grantee_encrypt_invoked_past_the_bound_after_a_revocation_is_an_anomaly() {
    let mut history = History::default();
    history.op(1, "revoke-access", "granted", Value::Null, (1_000, 1_010), (EventType::Ok, Value::Null));
    // Inside the bound; refused; and one past it that still succeeded.
    history.op(
        2,
        "access-encrypt",
        "granted",
        json!({}),
        (1_300, 1_301),
        (EventType::Ok, json!({"blob": "x"})),
    );
    history.op(
        3,
        "access-encrypt",
        "granted",
        json!({}),
        (1_400, 1_401),
        (EventType::Fail, json!({"error": "AccessDeniedException"})),
    );
    history.op(
        4,
        "access-encrypt",
        "granted",
        json!({}),
        (1_700, 1_701),
        (EventType::Ok, json!({"blob": "y"})),
    );
    // The admin's own Encrypts under other keys are not the grantee's.
    history.op(5, "encrypt", "granted", json!({}), (1_800, 1_801), (EventType::Ok, json!({"blob": "z"})));
    let findings = check_history(&history.events, &keys(), BOUND).expect("checked");
    assert_eq!(kinds(&findings), ["access-revocation-late"]);
    assert_eq!(findings.access_revocation.revoked_keys, 1);
    assert_eq!(findings.access_revocation.succeeded_after_ack, 2);
    assert_eq!(findings.access_revocation.refused_after_ack, 1);
    assert!(findings.revocation.revoked_keys == 0 && findings.revocation.succeeded_after_ack == 0);
}

#[test]
fn an_unacknowledged_revocation_promises_nothing() {
    let mut history = History::default();
    history.op(
        1,
        "revoke-access",
        "granted",
        Value::Null,
        (1_000, 1_010),
        (EventType::Info, json!({"error": "timeout"})),
    );
    history.op(
        2,
        "access-encrypt",
        "granted",
        json!({}),
        (3_000, 3_001),
        (EventType::Ok, json!({"blob": "x"})),
    );
    let findings = check_history(&history.events, &keys(), BOUND).expect("checked");
    assert!(findings.anomalies.is_empty(), "{:?}", findings.anomalies);
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

const ALL: [NemesisKind; 4] =
    [NemesisKind::Partition, NemesisKind::Kill, NemesisKind::Pause, NemesisKind::Rolling];

#[test]
fn a_seed_reproduces_its_schedule() {
    let schedule = |seed| {
        let mut rng = trent_jepsen::harness::seeded(seed, trent_jepsen::harness::NEMESIS_STREAM);
        (0..50).map(|_| draw(&mut rng, &ALL)).collect::<Vec<Fault>>()
    };
    assert_eq!(schedule(7), schedule(7));
    assert_ne!(schedule(7), schedule(8));
}

#[test]
fn roles_resolve_to_nodes_and_a_combination_never_hits_one_node_twice() {
    let kill_leader = Fault::Kill { target: Target::Leader, clock_offset_ms: 5 };
    assert_eq!(kill_leader.resolve(Some(2)), Fault::Kill { target: Target::Node(2), clock_offset_ms: 5 });
    assert_eq!(kill_leader.resolve(None), Fault::Kill { target: Target::Node(1), clock_offset_ms: 5 });
    let both = Fault::Combined(vec![kill_leader, Fault::Pause { target: Target::Node(3) }]);
    let resolved = both.resolve(Some(3));
    assert_eq!(
        resolved,
        Fault::Combined(vec![
            Fault::Kill { target: Target::Node(3), clock_offset_ms: 5 },
            Fault::Pause { target: Target::Node(1) },
        ])
    );
    assert_eq!(
        Fault::Isolate { target: Target::Leader }.resolve(Some(2)).cuts(),
        BTreeSet::from([(1, 2), (2, 3)])
    );
    assert_eq!(Fault::Bridge { bridge: 2 }.cuts(), BTreeSet::from([(1, 3)]));
}

#[test]
fn schedules_use_every_enabled_nemesis_and_no_other() {
    let mut rng = trent_jepsen::harness::seeded(3, trent_jepsen::harness::NEMESIS_STREAM);
    let mut seen = BTreeSet::new();
    for _ in 0..400 {
        let fault = draw(&mut rng, &ALL);
        let parts = match &fault {
            Fault::Combined(parts) => {
                assert_eq!(parts.len(), 2);
                seen.insert("combined");
                parts.clone()
            }
            single => vec![single.clone()],
        };
        for part in parts {
            match part {
                Fault::Isolate { target: Target::Leader } => seen.insert("isolate-leader"),
                Fault::Isolate { target: Target::Node(node) } | Fault::Bridge { bridge: node } => {
                    assert!((1..=3).contains(&node));
                    seen.insert("partition-node")
                }
                Fault::Kill { clock_offset_ms, .. } => {
                    assert!(clock_offset_ms.abs() <= 30_000);
                    seen.insert("kill")
                }
                Fault::Pause { .. } => seen.insert("pause"),
                Fault::Rolling { .. } => seen.insert("rolling"),
                Fault::Combined(_) => panic!("nested combination"),
            };
        }
    }
    let expected = ["combined", "isolate-leader", "kill", "partition-node", "pause", "rolling"];
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), expected);
    for _ in 0..100 {
        assert!(matches!(draw(&mut rng, &[NemesisKind::Pause]), Fault::Pause { .. }));
    }
}

#[test]
fn the_verdict_is_the_worst_finding() {
    let report = |history: &History| {
        let findings = check_history(&history.events, &keys(), BOUND).expect("checked");
        let facts =
            RunFacts { seed: 1, duration_s: 10, nemeses: vec![], workers: 1, consistency_bound_ms: 500 };
        RunReport::new(
            facts,
            &history.events,
            vec![],
            findings,
            Default::default(),
            Default::default(),
            vec![],
        )
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
