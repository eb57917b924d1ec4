//! `verify_dir` and `query` never panic, whatever the files hold: random bytes, logs cut at
//! every length, and logs with random bytes flipped. (A deterministic generator, so a failure
//! reproduces.)
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use support::*;
use trent_audit::{query, verify_dir, Filter, RotationPolicy};

/// xorshift64*: enough randomness for inputs, no dependency.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn survives(dir: &std::path::Path) {
    let _ = verify_dir(dir, Some(&verifier()));
    let _ = verify_dir(dir, None);
    let _ = query(dir, &Filter::default(), None, 1000);
}

#[test]
fn random_bytes_never_panic() {
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let alphabet: &[u8] = b"{}[]\":,0123456789abcdef-\n sequencepreviousHashtrentDigest\\\0\xff";
    for _ in 0..300 {
        let dir = tempfile::tempdir().unwrap();
        for file in 0..(1 + noise.below(3)) {
            let len = noise.below(600);
            let bytes: Vec<u8> = (0..len).map(|_| alphabet[noise.below(alphabet.len())]).collect();
            std::fs::write(dir.path().join(format!("audit-{:020}.jsonl", file * 7 + 1)), bytes).unwrap();
        }
        survives(dir.path());
    }
}

#[test]
fn logs_cut_at_any_length_never_panic() {
    let source = tempfile::tempdir().unwrap();
    drop(write_log(source.path(), RotationPolicy::default(), 6, 3));
    let path = log_files(source.path()).pop().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join(file_name(&path));
    for len in (0..bytes.len()).step_by(7) {
        std::fs::write(&target, &bytes[..len]).unwrap();
        survives(dir.path());
        let report = verify_dir(dir.path(), None).unwrap();
        assert!(report.is_intact(), "a cut newest file is only a torn tail: {report:?}");
    }
}

#[test]
fn flipped_bytes_never_panic_and_never_pass_with_the_key() {
    let source = tempfile::tempdir().unwrap();
    drop(write_log(source.path(), small_files(6000), 12, 4));
    let files = log_files(source.path());
    let mut noise = Noise(42);
    for _ in 0..200 {
        let dir = tempfile::tempdir().unwrap();
        for path in &files {
            std::fs::copy(path, dir.path().join(file_name(path))).unwrap();
        }
        let victim = dir.path().join(file_name(&files[noise.below(files.len() - 1)]));
        let mut bytes = std::fs::read(&victim).unwrap();
        let at = noise.below(bytes.len());
        let flipped = bytes[at] ^ (1 << noise.below(8)) as u8;
        bytes[at] = flipped;
        std::fs::write(&victim, &bytes).unwrap();
        survives(dir.path());
        // Any change to a closed file breaks a link (JSON that still means the same, such as a
        // flipped escape, does not exist in these lines, which carry no escapes).
        let report = verify_dir(dir.path(), Some(&verifier())).unwrap();
        assert!(!report.is_intact(), "flip at {at} of {} went unnoticed", victim.display());
    }
}
