//! Log lines that anyone can cause (a refused peer request, a wrong init token) are rationed to
//! one a second per call site, so a flood of bad requests cannot flood the log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// One log line per second, shared by the callers of one site.
pub struct LogBudget {
    last_second: AtomicU64,
}

impl LogBudget {
    /// A budget that allows the first line.
    pub const fn new() -> LogBudget {
        LogBudget { last_second: AtomicU64::new(0) }
    }

    /// Whether a line may be logged now: true at most once per wall-clock second.
    pub fn allow(&self) -> bool {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs()) + 1;
        let last = self.last_second.load(Ordering::Relaxed);
        last != now
            && self.last_second.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }
}

impl Default for LogBudget {
    fn default() -> Self {
        LogBudget::new()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_line_a_second() {
        let budget = super::LogBudget::new();
        assert!(budget.allow());
        assert!(!budget.allow());
        assert!(!budget.allow());
    }
}
