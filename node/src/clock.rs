//! The node's clock: what "now" is for every decision that depends on the date — a write's
//! `issued_at_ms`, when a key's deletion window has passed, `aws:CurrentTime` in policies.
//!
//! It is the wall clock, shifted by two test seams that production leaves unset:
//! - a fixed offset (`--clock-offset-ms`), with which the fault harness gives a node a skewed
//!   clock;
//! - a **test clock file** (`--test-clock-file`): a file holding a signed offset in milliseconds,
//!   read on every reading, so a test moves the date of a running cluster (every node pointed at
//!   the same file) by rewriting it, instead of waiting days for a deletion window or a rotation
//!   period. A missing, unreadable or malformed file counts as 0 (warned once).
//!
//! Request signatures (SigV4's 15-minute window) are checked against the real wall clock, not
//! this one, so moving the test clock never makes a client's signature stale.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The longest test clock file read (an i64 in decimal, with whitespace, fits easily).
const MAX_TEST_CLOCK_FILE_BYTES: u64 = 64;

/// A node's clock.
#[derive(Debug)]
pub struct Clock {
    offset_ms: i64,
    test_clock_file: Option<PathBuf>,
    warned: AtomicBool,
}

impl Clock {
    /// The wall clock shifted by `offset_ms` and, if given, by the offset in `test_clock_file`.
    pub fn new(offset_ms: i64, test_clock_file: Option<PathBuf>) -> Clock {
        Clock { offset_ms, test_clock_file, warned: AtomicBool::new(false) }
    }

    /// Milliseconds since the Unix epoch (0 if before it).
    pub fn now_ms(&self) -> u64 {
        wall_clock_ms(self.offset_ms.saturating_add(self.test_offset_ms()))
    }

    fn test_offset_ms(&self) -> i64 {
        let Some(path) = &self.test_clock_file else {
            return 0;
        };
        match read_offset(path) {
            Ok(offset) => offset,
            Err(reason) => {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(path = %path.display(), %reason, "test clock file unusable; counting its offset as 0");
                }
                0
            }
        }
    }
}

fn read_offset(path: &std::path::Path) -> Result<i64, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|error| error.to_string())?;
    let mut text = String::new();
    file.take(MAX_TEST_CLOCK_FILE_BYTES).read_to_string(&mut text).map_err(|error| error.to_string())?;
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    text.parse::<i64>().map_err(|error| format!("not a millisecond offset: {error}"))
}

/// The wall clock in ms since the Unix epoch, shifted by `offset_ms` (0 if before the epoch).
pub fn wall_clock_ms(offset_ms: i64) -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as u64);
    now.saturating_add_signed(offset_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 24 * 60 * 60 * 1000;

    fn close(a: u64, b: u64) -> bool {
        a.abs_diff(b) < 5_000
    }

    #[test]
    fn without_seams_it_is_the_wall_clock() {
        assert!(close(Clock::new(0, None).now_ms(), wall_clock_ms(0)));
    }

    #[test]
    fn the_fixed_offset_shifts_it() {
        assert!(close(Clock::new(-DAY_MS, None).now_ms() + DAY_MS as u64, wall_clock_ms(0)));
    }

    #[test]
    fn the_test_clock_file_moves_it_while_running() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clock");
        let clock = Clock::new(DAY_MS, Some(path.clone()));
        // Missing: counts as 0.
        assert!(close(clock.now_ms(), wall_clock_ms(DAY_MS)));
        std::fs::write(&path, format!("{}\n", 30 * DAY_MS)).unwrap();
        assert!(close(clock.now_ms(), wall_clock_ms(31 * DAY_MS)));
        std::fs::write(&path, format!("{}", -DAY_MS)).unwrap();
        assert!(close(clock.now_ms(), wall_clock_ms(0)));
        std::fs::write(&path, "").unwrap();
        assert!(close(clock.now_ms(), wall_clock_ms(DAY_MS)));
    }

    #[test]
    fn a_malformed_or_oversized_file_counts_as_zero() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clock");
        let clock = Clock::new(0, Some(path.clone()));
        std::fs::write(&path, "tomorrow").unwrap();
        assert!(close(clock.now_ms(), wall_clock_ms(0)));
        std::fs::write(&path, "9".repeat(100)).unwrap();
        assert!(close(clock.now_ms(), wall_clock_ms(0)));
    }
}
