//! Shared by the integration tests: events to log, a writer of test logs, and line-level
//! surgery on log files (what a tamperer does).
#![allow(dead_code)] // each test crate uses a different part

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use trent_audit::{
    rfc3339_seconds, AuditLog, DigestSigner, DigestVerifier, Event, LineHash, Resource, RotationPolicy,
    UserIdentity, EVENT_SOURCE, EVENT_VERSION,
};

/// 2026-12-04T00:00:00Z.
pub const BASE_MS: u64 = 1_796_342_400_000;

pub fn at(second: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(BASE_MS + second * 1000)
}

pub fn time(second: u64) -> String {
    rfc3339_seconds(BASE_MS + second * 1000)
}

/// Event number `n`: an `Encrypt` under key `k<n % 3>` by user `u<n % 2>` at second `n`; every
/// fifth one failed with `AccessDeniedException`.
pub fn event(n: u64) -> Event {
    let key = format!("k{}", n % 3);
    let user = format!("u{}", n % 2);
    Event {
        event_version: EVENT_VERSION.to_owned(),
        user_identity: Some(UserIdentity {
            identity_type: "IAMUser".to_owned(),
            principal_id: Some(user.clone()),
            arn: Some(format!("arn:aws:iam::111122223333:user/{user}")),
            account_id: Some("111122223333".to_owned()),
            access_key_id: Some(format!("AK{user}")),
            user_name: Some(user),
            invoked_by: None,
        }),
        event_time: time(n),
        event_source: EVENT_SOURCE.to_owned(),
        event_name: if n.is_multiple_of(4) { "Decrypt".to_owned() } else { "Encrypt".to_owned() },
        aws_region: "us-east-1".to_owned(),
        source_ip_address: Some("127.0.0.1".to_owned()),
        user_agent: Some("test".to_owned()),
        request_parameters: Some(serde_json::json!({ "keyId": key })),
        response_elements: None,
        error_code: n.is_multiple_of(5).then(|| "AccessDeniedException".to_owned()),
        error_message: None,
        request_id: format!("req-{n}"),
        client_request_id: None,
        event_id: format!("evt-{n}"),
        read_only: true,
        resources: vec![Resource::key(
            format!("arn:aws:kms:us-east-1:111122223333:key/{key}"),
            "111122223333".to_owned(),
        )],
        event_type: "AwsApiCall".to_owned(),
        management_event: true,
        event_category: "Management".to_owned(),
        recipient_account_id: "111122223333".to_owned(),
        node_id: 1,
    }
}

pub fn signer() -> DigestSigner {
    DigestSigner::from_seed(&[42; 32]).unwrap()
}

pub fn verifier() -> DigestVerifier {
    DigestVerifier::from_public_key(signer().public_key_pem().as_bytes()).unwrap()
}

/// A policy that rotates after about `bytes` per file.
pub fn small_files(bytes: u64) -> RotationPolicy {
    RotationPolicy { max_file_bytes: bytes, ..RotationPolicy::default() }
}

/// Writes `events` events in batches of 3, with a digest after every `digest_every` events.
pub fn write_log(dir: &Path, policy: RotationPolicy, events: u64, digest_every: u64) -> AuditLog {
    let mut log = AuditLog::open(dir, policy).unwrap();
    let signer = signer();
    let mut n = 1;
    while n <= events {
        // A batch never runs past a digest, so the digest after event 10 is sequence 11.
        let mut last = (n + 2).min(events);
        if digest_every != 0 {
            last = last.min(n.div_ceil(digest_every) * digest_every);
        }
        let batch: Vec<Event> = (n..=last).map(event).collect();
        let end = n + batch.len() as u64;
        log.append(&batch, at(n)).unwrap();
        for done in n..end {
            if digest_every != 0 && done.is_multiple_of(digest_every) {
                log.append_digest(&signer, 1, time(done)).unwrap();
            }
        }
        n = end;
    }
    log
}

/// The log files of `dir`, oldest first.
pub fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .collect();
    files.sort();
    files
}

pub fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// The lines of `path`, without newlines (nor the writer's zero padding after them, while the
/// log is open).
pub fn lines(path: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    bytes
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty() && line.first() != Some(&0))
        .map(<[u8]>::to_vec)
        .collect()
}

pub fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    let mut bytes = Vec::new();
    for line in lines {
        bytes.extend_from_slice(line);
        bytes.push(b'\n');
    }
    std::fs::write(path, bytes).unwrap();
}

pub fn sequence_of(line: &[u8]) -> u64 {
    serde_json::from_slice::<serde_json::Value>(line).unwrap()["sequence"].as_u64().unwrap()
}

/// (file, index in it) of the line with `sequence`.
pub fn find(dir: &Path, sequence: u64) -> (PathBuf, usize) {
    for path in log_files(dir) {
        if let Some(index) = lines(&path).iter().position(|line| sequence_of(line) == sequence) {
            return (path, index);
        }
    }
    panic!("no sequence {sequence}");
}

/// Rewrites one JSON line with `edit`.
pub fn edit_json(line: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut value: serde_json::Value = serde_json::from_slice(line).unwrap();
    edit(&mut value);
    serde_json::to_vec(&value).unwrap()
}

/// What a forger with write access but no signing key does: after editing, re-links every later
/// line (digest heads too) so every link checks out.
pub fn rechain_from(dir: &Path, sequence: u64) {
    let mut previous: Option<LineHash> = None;
    for path in log_files(dir) {
        let mut rewritten = Vec::new();
        for line in lines(&path) {
            let line = match previous {
                Some(hash) if sequence_of(&line) > sequence => edit_json(&line, |value| {
                    value["previousHash"] = hash.to_hex().into();
                    if value.get("trentDigest").is_some() {
                        value["trentDigest"]["headHash"] = hash.to_hex().into();
                    }
                }),
                _ => line,
            };
            previous = Some(LineHash::of(&line));
            rewritten.push(line);
        }
        write_lines(&path, &rewritten);
    }
}
