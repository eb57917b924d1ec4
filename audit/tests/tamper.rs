//! Verification of whole log directories: an intact multi-file log with digests passes, each
//! kind of tampering is named at the first record it touched, and retention leaves an anchored
//! log that still verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::path::Path;

use support::*;
use trent_audit::{
    verify_dir, AuditLog, DigestSigner, DigestVerifier, ProblemKind, RotationPolicy, VerifyReport,
};

/// 30 events in files of about 6 KiB, a digest after every 10th: 33 records.
fn tampered_log(tamper: impl FnOnce(&Path)) -> (tempfile::TempDir, VerifyReport) {
    let dir = tempfile::tempdir().unwrap();
    drop(write_log(dir.path(), small_files(6000), 30, 10));
    assert!(log_files(dir.path()).len() > 2, "the test needs several files");
    assert!(verify_dir(dir.path(), Some(&verifier())).unwrap().is_intact());
    tamper(dir.path());
    let report = verify_dir(dir.path(), Some(&verifier())).unwrap();
    (dir, report)
}

/// The problem's (file, 1-based line, sequence, kind).
fn named(report: &VerifyReport) -> (String, u64, Option<u64>, ProblemKind) {
    let problem = report.problem.clone().expect("a problem");
    (problem.file, problem.line, problem.sequence, problem.kind)
}

fn position(dir: &Path, sequence: u64) -> (String, u64) {
    let (path, index) = find(dir, sequence);
    (file_name(&path), index as u64 + 1)
}

#[test]
fn intact_multi_file_log_with_digests_verifies() {
    let dir = tempfile::tempdir().unwrap();
    drop(write_log(dir.path(), small_files(3000), 40, 10));
    let files = log_files(dir.path()).len();
    assert!(files > 3, "rotation made {files} files");
    let report = verify_dir(dir.path(), Some(&verifier())).unwrap();
    assert_eq!(report.problem, None);
    assert_eq!(report.files, files);
    assert_eq!(report.records, 44);
    assert_eq!(report.digests_verified, 4);
    assert_eq!((report.first_sequence, report.last_sequence), (Some(1), Some(44)));
    assert_eq!(report.anchored_at_sequence, None);

    let unkeyed = verify_dir(dir.path(), None).unwrap();
    assert!(unkeyed.is_intact());
    assert_eq!((unkeyed.digests_verified, unkeyed.digests_unverified), (0, 4));
}

#[test]
fn edited_record_is_named_changed() {
    let mut expected = None;
    let (_dir, report) = tampered_log(|dir| {
        let (path, index) = find(dir, 7);
        let mut lines = lines(&path);
        lines[index] = edit_json(&lines[index], |value| value["eventName"] = "ScheduleKeyDeletion".into());
        write_lines(&path, &lines);
        expected = Some((file_name(&path), index as u64 + 1));
    });
    let (file, line) = expected.unwrap();
    assert_eq!(named(&report), (file, line, Some(7), ProblemKind::Changed), "{report:?}");
}

#[test]
fn edited_last_record_of_a_file_is_named_changed() {
    let (dir, report) = tampered_log(|dir| {
        let first = &log_files(dir)[0];
        let mut lines = lines(first);
        let last = lines.len() - 1;
        lines[last] = edit_json(&lines[last], |value| value["errorCode"] = "Nothing".into());
        write_lines(first, &lines);
    });
    let first = &log_files(dir.path())[0];
    let last = lines(first).len() as u64;
    let sequence = sequence_of(lines(first).last().unwrap());
    assert_eq!(named(&report), (file_name(first), last, Some(sequence), ProblemKind::Changed));
}

#[test]
fn dropped_record_is_named_removed() {
    for sequence in 1..=33 {
        let mut expected = None;
        let (_dir, report) = tampered_log(|dir| {
            let (path, index) = find(dir, sequence);
            let mut lines = lines(&path);
            if index + 1 == lines.len() {
                return; // the last of a file: that is truncation, tested below
            }
            expected = Some(position(dir, sequence));
            lines.remove(index);
            write_lines(&path, &lines);
        });
        let Some((file, line)) = expected else { continue };
        let problem = (file, line, Some(sequence), ProblemKind::Removed);
        assert_eq!(named(&report), problem, "{report:?}");
    }
}

#[test]
fn swapped_records_are_named_reordered() {
    let (dir, report) = tampered_log(|dir| {
        let (path, index) = find(dir, 7);
        let mut lines = lines(&path);
        assert_eq!(sequence_of(&lines[index + 1]), 8);
        lines.swap(index, index + 1);
        write_lines(&path, &lines);
    });
    // Sequence 8 now stands where 7 was: it is the first record out of place.
    let (file, line) = position(dir.path(), 8);
    assert_eq!(named(&report), (file, line, Some(8), ProblemKind::Reordered), "{report:?}");
}

#[test]
fn inserted_copy_is_named_inserted() {
    let (dir, report) = tampered_log(|dir| {
        let (path, index) = find(dir, 7);
        let mut lines = lines(&path);
        let copy = lines[index].clone();
        lines.insert(index + 1, copy);
        write_lines(&path, &lines);
    });
    let (path, index) = find(dir.path(), 7);
    let expected = (file_name(&path), index as u64 + 2, Some(7), ProblemKind::Inserted);
    assert_eq!(named(&report), expected, "{report:?}");
}

#[test]
fn inserted_forged_record_that_links_is_named_inserted() {
    let (dir, report) = tampered_log(|dir| {
        let (path, index) = find(dir, 7);
        let mut lines = lines(&path);
        // A new record that links to 7 and takes sequence 8, as a forger without the rest of the
        // chain would write it.
        let hash = trent_audit::LineHash::of(&lines[index]);
        let forged = edit_json(&lines[index], |value| {
            value["sequence"] = 8.into();
            value["previousHash"] = hash.to_hex().into();
            value["eventName"] = "DisableKey".into();
        });
        lines.insert(index + 1, forged);
        write_lines(&path, &lines);
    });
    let (path, index) = find(dir.path(), 7);
    let expected = (file_name(&path), index as u64 + 2, Some(8), ProblemKind::Inserted);
    assert_eq!(named(&report), expected, "{report:?}");
}

#[test]
fn truncated_closed_file_is_named_truncated() {
    let (dir, report) = tampered_log(|dir| {
        let first = &log_files(dir)[0];
        let mut lines = lines(first);
        lines.truncate(lines.len() - 2);
        write_lines(first, &lines);
    });
    let first = &log_files(dir.path())[0];
    let kept = lines(first);
    let expected_sequence = sequence_of(kept.last().unwrap()) + 1;
    let expected = (file_name(first), kept.len() as u64 + 1, Some(expected_sequence), ProblemKind::Truncated);
    assert_eq!(named(&report), expected, "{report:?}");
}

#[test]
fn closed_file_cut_mid_line_is_named_truncated() {
    let (dir, report) = tampered_log(|dir| {
        let first = &log_files(dir)[0];
        let bytes = std::fs::read(first).unwrap();
        std::fs::write(first, &bytes[..bytes.len() - 40]).unwrap();
    });
    let first = &log_files(dir.path())[0];
    let complete = lines(first).len() as u64; // the partial line counts as a line here
    let problem = report.problem.unwrap();
    assert_eq!(
        (problem.file, problem.line, problem.kind),
        (file_name(first), complete, ProblemKind::Truncated)
    );
}

#[test]
fn forged_chain_is_caught_by_the_next_digest() {
    let (dir, report) = tampered_log(|dir| {
        let (path, index) = find(dir, 5);
        let mut lines = lines(&path);
        lines[index] = edit_json(&lines[index], |value| value["eventName"] = "ScheduleKeyDeletion".into());
        write_lines(&path, &lines);
        rechain_from(dir, 5);
    });
    // Every link checks out; the digest after the 10th event (sequence 11) does not.
    let (file, line) = position(dir.path(), 11);
    assert_eq!(named(&report), (file, line, Some(11), ProblemKind::BadDigest), "{report:?}");
    // Without the key only the links are checked, and those a forger can fix.
    assert!(verify_dir(dir.path(), None).unwrap().is_intact());
}

#[test]
fn digest_whose_head_was_edited_is_a_bad_digest() {
    let (dir, report) = tampered_log(|dir| {
        let (path, index) = find(dir, 11);
        let mut lines = lines(&path);
        lines[index] = edit_json(&lines[index], |value| value["trentDigest"]["signedSequence"] = 3.into());
        write_lines(&path, &lines);
        rechain_from(dir, 11);
    });
    let (file, line) = position(dir.path(), 11);
    assert_eq!(named(&report), (file, line, Some(11), ProblemKind::BadDigest));
}

#[test]
fn digest_under_another_key_is_an_unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    drop(write_log(dir.path(), RotationPolicy::default(), 12, 10));
    let other = DigestSigner::from_seed(&[1; 32]).unwrap();
    let verifier = DigestVerifier::from_public_key(&other.public_key_der()).unwrap();
    let report = verify_dir(dir.path(), Some(&verifier)).unwrap();
    assert_eq!(report.problem.unwrap().kind, ProblemKind::UnknownDigestKey);
}

#[test]
fn retention_deleting_old_files_still_verifies_anchored() {
    let dir = tempfile::tempdir().unwrap();
    let policy =
        RotationPolicy { max_file_bytes: 3000, retain_bytes: Some(9000), ..RotationPolicy::default() };
    drop(write_log(dir.path(), policy, 60, 10));
    let files = log_files(dir.path());
    let first = lines(&files[0]);
    let anchor = sequence_of(&first[0]);
    assert!(anchor > 1, "retention deleted the oldest files");
    let total: u64 = files.iter().map(|path| path.metadata().unwrap().len()).sum();
    assert!(total <= 9000 + 3000, "about the budget: {total}");
    let report = verify_dir(dir.path(), Some(&verifier())).unwrap();
    assert_eq!(report.problem, None);
    assert_eq!(report.anchored_at_sequence, Some(anchor));
    assert_eq!(report.first_sequence, Some(anchor));
    assert_eq!(report.last_sequence, Some(66));
}

#[test]
fn records_cut_from_the_start_of_the_oldest_file_are_removed() {
    let (dir, report) = tampered_log(|dir| {
        let first = &log_files(dir)[0];
        let mut lines = lines(first);
        lines.remove(0);
        write_lines(first, &lines);
    });
    let first = &log_files(dir.path())[0];
    assert_eq!(named(&report), (file_name(first), 1, Some(1), ProblemKind::Removed), "{report:?}");
}

#[test]
fn torn_tail_of_the_newest_file_is_reported_and_recovered_on_open() {
    let dir = tempfile::tempdir().unwrap();
    drop(write_log(dir.path(), RotationPolicy::default(), 9, 0));
    let path = log_files(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"{\"sequence\":10,\"previ");
    std::fs::write(&path, &bytes).unwrap();
    let report = verify_dir(dir.path(), None).unwrap();
    assert!(report.is_intact());
    assert!(report.unterminated_tail);
    assert_eq!(report.last_sequence, Some(9));

    let mut log = AuditLog::open(dir.path(), RotationPolicy::default()).unwrap();
    assert_eq!(log.head().sequence, 9);
    log.append(&[event(10)], at(10)).unwrap();
    let report = verify_dir(dir.path(), None).unwrap();
    assert!(report.is_intact() && !report.unterminated_tail, "{report:?}");
    assert_eq!(report.last_sequence, Some(10));
}

#[test]
fn malformed_line_is_named() {
    let mut expected = None;
    let (_dir, report) = tampered_log(|dir| {
        expected = Some(position(dir, 4));
        let (path, index) = find(dir, 4);
        let mut lines = lines(&path);
        lines[index] = b"not json".to_vec();
        write_lines(&path, &lines);
    });
    let (file, line) = expected.unwrap();
    let problem = report.problem.unwrap();
    assert_eq!((problem.file, problem.line, problem.kind), (file, line, ProblemKind::Malformed));
}

#[test]
fn records_swapped_across_a_file_boundary_are_named_reordered() {
    let mut expected = None;
    let (_dir, report) = tampered_log(|dir| {
        let files = log_files(dir);
        let (mut first, mut second) = (lines(&files[0]), lines(&files[1]));
        let last = first.len() - 1;
        expected = Some((file_name(&files[0]), last as u64 + 1, sequence_of(&second[0])));
        std::mem::swap(&mut first[last], &mut second[0]);
        write_lines(&files[0], &first);
        write_lines(&files[1], &second);
    });
    let (file, line, sequence) = expected.unwrap();
    assert_eq!(named(&report), (file, line, Some(sequence), ProblemKind::Reordered), "{report:?}");
}

#[test]
fn dropped_digest_is_named_removed_or_truncated() {
    let mut expected = None;
    let (_dir, report) = tampered_log(|dir| {
        let (path, index) = find(dir, 11);
        let mut lines = lines(&path);
        assert!(lines[index].windows(11).any(|w| w == b"trentDigest"), "11 is a digest");
        // The last line of a closed file is missing at its end; any other is missing in place.
        let kind = if index + 1 == lines.len() { ProblemKind::Truncated } else { ProblemKind::Removed };
        expected = Some((file_name(&path), index as u64 + 1, Some(11), kind));
        lines.remove(index);
        write_lines(&path, &lines);
    });
    assert_eq!(named(&report), expected.unwrap(), "{report:?}");
}

#[test]
fn a_whole_file_removed_from_the_middle_is_named_truncated() {
    let mut expected = None;
    let (_dir, report) = tampered_log(|dir| {
        let files = log_files(dir);
        let kept = lines(&files[0]);
        expected = Some((file_name(&files[0]), kept.len() as u64 + 1, sequence_of(kept.last().unwrap()) + 1));
        std::fs::remove_file(&files[1]).unwrap();
    });
    let (file, line, sequence) = expected.unwrap();
    assert_eq!(named(&report), (file, line, Some(sequence), ProblemKind::Truncated), "{report:?}");
}
