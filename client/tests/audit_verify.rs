//! `trent audit verify` on real log directories: exit 0 and a summary for an intact log, exit 1
//! naming the tampered record (as text or `--json`), with no endpoint or credentials.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use std::path::Path;
use std::process::Output;
use std::time::{Duration, UNIX_EPOCH};

use trent_audit::{
    rfc3339_seconds, AuditLog, DigestSigner, Event, RotationPolicy, EVENT_SOURCE, EVENT_VERSION,
};

fn event(n: u64) -> Event {
    Event {
        event_version: EVENT_VERSION.to_owned(),
        user_identity: None,
        event_time: rfc3339_seconds(1_796_342_400_000 + n * 1000),
        event_source: EVENT_SOURCE.to_owned(),
        event_name: "Encrypt".to_owned(),
        aws_region: "us-east-1".to_owned(),
        source_ip_address: None,
        user_agent: None,
        request_parameters: None,
        response_elements: None,
        error_code: None,
        error_message: None,
        request_id: format!("req-{n}"),
        client_request_id: None,
        event_id: format!("evt-{n}"),
        read_only: true,
        resources: Vec::new(),
        event_type: "AwsApiCall".to_owned(),
        management_event: true,
        event_category: "Management".to_owned(),
        recipient_account_id: "111122223333".to_owned(),
        node_id: 1,
    }
}

/// Ten events and a signed digest; returns the signer's public key file.
fn write_log(dir: &Path) -> std::path::PathBuf {
    let signer = DigestSigner::from_seed(&[5; 32]).unwrap();
    let mut log = AuditLog::open(&dir.join("audit"), RotationPolicy::default()).unwrap();
    let events: Vec<Event> = (1..=10).map(event).collect();
    log.append(&events, UNIX_EPOCH + Duration::from_secs(1_796_342_410)).unwrap();
    log.append_digest(&signer, 1, rfc3339_seconds(1_796_342_411_000)).unwrap();
    let key = dir.join("audit.pem");
    std::fs::write(&key, signer.public_key_pem()).unwrap();
    key
}

fn trent(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_trent"))
        .args(args)
        // Offline: an endpoint that cannot answer proves no call is made.
        .env("TRENT_ENDPOINTS", "http://127.0.0.1:1")
        .env_remove("AWS_ACCESS_KEY_ID")
        .output()
        .unwrap()
}

#[test]
fn intact_log_exits_zero_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let key = write_log(dir.path());
    let log = dir.path().join("audit");
    let output = trent(&["audit", "verify", log.to_str().unwrap(), "--public-key", key.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout} {}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.starts_with("intact: 11 records in 1 files"), "{stdout}");
    assert!(stdout.contains("1 digests verified"), "{stdout}");
}

#[test]
fn tampered_log_exits_one_naming_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let key = write_log(dir.path());
    let log = dir.path().join("audit");
    let file = log.join("audit-00000000000000000001.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replacen("\"req-4\"", "\"req-X\"", 1)).unwrap();

    let output = trent(&["audit", "verify", log.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("audit-00000000000000000001.jsonl:4: sequence 4: Changed:"), "{stdout}");

    let output =
        trent(&["--json", "audit", "verify", log.to_str().unwrap(), "--public-key", key.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["problem"]["kind"], "Changed");
    assert_eq!(report["problem"]["sequence"], 4);
    assert_eq!(report["problem"]["line"], 4);
    assert_eq!(report["records"], 4, "record 4 itself links; record 5's link names it");
}

#[test]
fn a_missing_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = trent(&["audit", "verify", dir.path().join("nowhere").to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read the audit log"));
}
