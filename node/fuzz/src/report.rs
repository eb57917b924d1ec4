//! When the harnesses print their counters, and what they call error codes.

use std::sync::atomic::{AtomicU64, Ordering};

use trent_wire::ErrorCode;

/// Reports at 1024, 2048, … 65,536 calls and then every 65,536.
pub struct Schedule(AtomicU64);

impl Schedule {
    /// The schedule, first report at 1024.
    pub const fn new() -> Schedule {
        Schedule(AtomicU64::new(1024))
    }

    /// Whether a report is due at `calls` (and, if so, moves to the next one).
    pub fn due(&self, calls: u64) -> bool {
        let next = self.0.load(Ordering::Relaxed);
        if calls < next {
            return false;
        }
        self.0.store(if next < 65536 { next * 2 } else { next + 65536 }, Ordering::Relaxed);
        true
    }
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::new()
    }
}

/// `ErrorCode`'s variant name (`ServiceUnavailable` and `Internal` share the `__type` string).
pub fn code_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::ServiceUnavailable => "ServiceUnavailable",
        other => other.as_str(),
    }
}
