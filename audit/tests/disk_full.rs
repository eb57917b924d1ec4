//! A write that fails part-way (here: the file size limit, as a full disk would) leaves no
//! partial line and no moved head, and the log recovers once space returns. Its own test binary:
//! it changes the process's RLIMIT_FSIZE.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use support::*;
use trent_audit::{verify_dir, AuditError, AuditLog, RotationPolicy};

fn limit_file_size(bytes: u64) {
    let limit = libc::rlimit { rlim_cur: bytes, rlim_max: libc::RLIM_INFINITY };
    // SAFETY: plain system calls with valid arguments; a write past the limit then fails with
    // EFBIG instead of raising SIGXFSZ.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
}

#[test]
fn a_failed_write_is_rolled_back_and_the_log_recovers_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = AuditLog::open(dir.path(), RotationPolicy::default()).unwrap();
    log.append(&[event(1), event(2)], at(1)).unwrap();
    let head = log.head();
    let path = log_files(dir.path()).pop().unwrap();
    // The writer preallocated zeros after the two records; room for those only, so a batch
    // larger than what is left must grow the file, and fails part-way.
    let allocated = std::fs::metadata(&path).unwrap().len();
    assert!(allocated >= trent_audit::PREALLOCATION_BYTES, "{allocated}");
    let big: Vec<_> = (3..1003).map(event).collect();
    limit_file_size(allocated);
    let failed = log.append(&big, at(3));
    assert!(matches!(failed, Err(AuditError::Io { .. })), "{failed:?}");
    assert_eq!(log.head(), head);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.iter().filter(|&&byte| byte == b'\n').count(), 2, "no partial line remains");
    assert_eq!(bytes.last(), Some(&b'\n'), "nothing after the two records");
    assert!(log.append(&big, at(3)).is_err(), "still full");

    limit_file_size(libc::RLIM_INFINITY);
    let range = log.append(&big, at(4)).unwrap();
    assert_eq!((range.first_sequence, range.last_sequence), (3, 1002));
    let report = verify_dir(dir.path(), None).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.last_sequence, Some(1002));
}
