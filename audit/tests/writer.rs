//! The writer: group commit and head recovery across reopen, rotation by size and age, file
//! modes, digests, and limits.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::time::Duration;

use support::*;
use trent_audit::{verify_dir, AuditError, AuditLog, LineHash, RotationPolicy, MAX_BATCH_EVENTS};

#[test]
fn a_batch_is_one_range_and_the_head_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = AuditLog::open(&dir.path().join("audit"), RotationPolicy::default()).unwrap();
    assert_eq!(log.head().sequence, 0);
    assert_eq!(log.head().hash, LineHash::GENESIS.to_hex());
    let range = log.append(&[event(1), event(2), event(3)], at(1)).unwrap();
    assert_eq!((range.first_sequence, range.last_sequence), (1, 3));
    let range = log.append(&[event(4)], at(2)).unwrap();
    assert_eq!((range.first_sequence, range.last_sequence), (4, 4));
    let file = log_files(&dir.path().join("audit")).pop().unwrap();
    let last = lines(&file).pop().unwrap();
    assert_eq!(log.head().sequence, 4);
    assert_eq!(log.head().hash, LineHash::of(&last).to_hex());
}

#[test]
fn reopening_continues_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let head = write_log(dir.path(), small_files(6000), 10, 5).head();
    let mut log = AuditLog::open(dir.path(), small_files(6000)).unwrap();
    assert_eq!(log.head(), head);
    log.append(&[event(11)], at(11)).unwrap();
    let report = verify_dir(dir.path(), Some(&verifier())).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.last_sequence, Some(head.sequence + 1));
}

#[test]
fn an_unparseable_final_line_is_cut_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let head = write_log(dir.path(), RotationPolicy::default(), 4, 0).head();
    let path = log_files(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let good_len = bytes.len();
    bytes.extend_from_slice(b"\0\0\0\0\n");
    std::fs::write(&path, &bytes).unwrap();
    let log = AuditLog::open(dir.path(), RotationPolicy::default()).unwrap();
    assert_eq!(log.head(), head);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), good_len as u64);
}

#[test]
fn an_empty_newest_file_is_dropped_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let head = write_log(dir.path(), RotationPolicy::default(), 4, 0).head();
    std::fs::write(dir.path().join("audit-00000000000000000005.jsonl"), b"").unwrap();
    let mut log = AuditLog::open(dir.path(), RotationPolicy::default()).unwrap();
    assert_eq!(log.head(), head);
    assert_eq!(log_files(dir.path()).len(), 1);
    log.append(&[event(5)], at(5)).unwrap();
    assert!(verify_dir(dir.path(), None).unwrap().is_intact());
}

#[test]
fn files_rotate_by_size_and_are_named_for_their_first_sequence() {
    let dir = tempfile::tempdir().unwrap();
    drop(write_log(dir.path(), small_files(4000), 30, 0));
    let files = log_files(dir.path());
    assert!(files.len() > 3);
    for path in &files {
        let first = sequence_of(&lines(path)[0]);
        assert_eq!(file_name(path), format!("audit-{first:020}.jsonl"));
        // A file only grows past the limit by a batch that does not fit anywhere else.
        assert!(path.metadata().unwrap().len() <= 4000 || lines(path).len() <= 3);
    }
}

#[test]
fn files_rotate_by_age() {
    let dir = tempfile::tempdir().unwrap();
    let policy = RotationPolicy { max_file_age: Duration::from_secs(60), ..RotationPolicy::default() };
    let mut log = AuditLog::open(dir.path(), policy.clone()).unwrap();
    log.append(&[event(0)], at(0)).unwrap();
    log.append(&[event(59)], at(59)).unwrap();
    assert_eq!(log_files(dir.path()).len(), 1);
    log.append(&[event(60)], at(60)).unwrap();
    assert_eq!(log_files(dir.path()).len(), 2);
    drop(log);
    // After a restart the age still counts from the current file's first record.
    let mut log = AuditLog::open(dir.path(), policy).unwrap();
    log.append(&[event(100)], at(100)).unwrap();
    assert_eq!(log_files(dir.path()).len(), 2);
    log.append(&[event(120)], at(120)).unwrap();
    assert_eq!(log_files(dir.path()).len(), 3);
    assert!(verify_dir(dir.path(), None).unwrap().is_intact());
}

#[test]
fn retention_by_age_deletes_old_closed_files_only() {
    let dir = tempfile::tempdir().unwrap();
    let policy = RotationPolicy {
        max_file_age: Duration::from_secs(10),
        retain_age: Some(Duration::from_secs(100)),
        ..RotationPolicy::default()
    };
    let mut log = AuditLog::open(dir.path(), policy).unwrap();
    for second in [0, 20, 40, 60] {
        log.append(&[event(second)], at(second)).unwrap();
    }
    assert_eq!(log_files(dir.path()).len(), 4);
    log.append(&[event(130)], at(130)).unwrap();
    // Newest records at 0 and 20 are over 100 s old; 40 and 60 are not yet.
    assert_eq!(log_files(dir.path()).len(), 3);
    log.append(&[event(1000)], at(1000)).unwrap();
    // Only the current file is left: retention never deletes it.
    assert_eq!(log_files(dir.path()).len(), 1);
    let report = verify_dir(dir.path(), None).unwrap();
    assert!(report.is_intact());
    assert_eq!(report.anchored_at_sequence, Some(6));
}

#[cfg(unix)]
#[test]
fn the_directory_and_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("nested/audit");
    drop(write_log(&log_dir, RotationPolicy::default(), 2, 0));
    assert_eq!(std::fs::metadata(&log_dir).unwrap().permissions().mode() & 0o777, 0o700);
    let file = log_files(&log_dir).pop().unwrap();
    assert_eq!(std::fs::metadata(file).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn batches_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = AuditLog::open(dir.path(), RotationPolicy::default()).unwrap();
    assert!(matches!(log.append(&[], at(0)), Err(AuditError::EmptyBatch)));
    let too_many = vec![event(1); MAX_BATCH_EVENTS + 1];
    assert!(matches!(log.append(&too_many, at(0)), Err(AuditError::BatchTooLarge { .. })));
    let mut huge = event(1);
    huge.user_agent = Some("x".repeat(trent_audit::MAX_LINE_BYTES));
    assert!(matches!(log.append(&[huge], at(0)), Err(AuditError::LineTooLong { .. })));
    assert_eq!(log.head().sequence, 0);
}

#[test]
fn a_digest_signs_the_head_and_needs_a_well_formed_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = AuditLog::open(dir.path(), RotationPolicy::default()).unwrap();
    log.append(&[event(1), event(2)], at(2)).unwrap();
    let head = log.head();
    let sequence = log.append_digest(&signer(), 7, time(3)).unwrap();
    assert_eq!(sequence, 3);
    let last = lines(&log_files(dir.path())[0]).pop().unwrap();
    let value: serde_json::Value = serde_json::from_slice(&last).unwrap();
    assert_eq!(value["trentDigest"]["signedSequence"], 2);
    assert_eq!(value["trentDigest"]["headHash"], head.hash.as_str());
    assert_eq!(value["previousHash"], head.hash.as_str());
    assert_eq!(value["nodeId"], 7);
    assert_eq!(value["trentDigest"]["keyId"], signer().key_id());
    assert!(matches!(
        log.append_digest(&signer(), 7, "yesterday".into()),
        Err(AuditError::InvalidEventTime(_))
    ));
    assert_eq!(verify_dir(dir.path(), Some(&verifier())).unwrap().digests_verified, 1);
}
