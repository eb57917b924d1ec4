//! The retry budget and backoff between attempts: capped exponential backoff with jitter, so that
//! clients that failed together (a leader election, a node restart) do not retry together.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Most attempts a policy may allow, whatever it is built with.
pub const MAX_ATTEMPTS: u32 = 32;

/// How many times a call is attempted and how long to wait between attempts.
///
/// Each attempt after the first goes to the next endpoint (unless the client is pinned to one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl RetryPolicy {
    /// A policy of at most `max_attempts` attempts (clamped to 1..=[`MAX_ATTEMPTS`]), waiting
    /// about `initial_backoff` before the second, doubling each time up to `max_backoff`.
    pub fn new(max_attempts: u32, initial_backoff: Duration, max_backoff: Duration) -> RetryPolicy {
        RetryPolicy {
            max_attempts: max_attempts.clamp(1, MAX_ATTEMPTS),
            initial_backoff,
            max_backoff: max_backoff.max(initial_backoff),
        }
    }

    /// One attempt, no retries: every failure is returned as it happened (load generators, tests).
    pub fn none() -> RetryPolicy {
        RetryPolicy::new(1, Duration::ZERO, Duration::ZERO)
    }

    /// The most attempts a call makes, at least 1.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The wait before retry number `retry` (0 for the wait after the first attempt).
    ///
    /// The ceiling is `initial_backoff * 2^retry`, capped at `max_backoff`; the wait is drawn
    /// uniformly from `[ceiling / 2, ceiling]` so it never collapses to zero.
    pub fn backoff(&self, retry: u32, jitter: &mut Jitter) -> Duration {
        let factor = 1u32 << retry.min(20);
        let ceiling = self.initial_backoff.saturating_mul(factor).min(self.max_backoff);
        let ceiling_micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
        let floor_micros = ceiling_micros / 2;
        let spread = ceiling_micros - floor_micros;
        Duration::from_micros(floor_micros + jitter.below(spread.saturating_add(1)))
    }
}

impl Default for RetryPolicy {
    /// Eight attempts, 50 ms doubling to at most 1 s between them (1.8–3.6 s of waiting in all):
    /// enough to ride out a leader election on a three-node cluster, and the few hundred
    /// milliseconds survivors need to prove their state fresh again, without hiding a cluster
    /// that is down.
    fn default() -> RetryPolicy {
        RetryPolicy::new(8, Duration::from_millis(50), Duration::from_secs(1))
    }
}

/// A small xorshift generator for backoff jitter. Not for anything secret.
#[derive(Debug, Clone)]
pub struct Jitter {
    state: u64,
}

impl Jitter {
    /// A generator seeded from the clock and a process-wide counter, so two calls started in the
    /// same instant still draw different waits.
    pub fn from_clock() -> Jitter {
        static CALLS: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos() as u64)
            .unwrap_or(0);
        let count = CALLS.fetch_add(1, Ordering::Relaxed);
        Jitter::with_seed(nanos ^ count.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// A generator with a fixed seed (tests).
    pub fn with_seed(seed: u64) -> Jitter {
        // Xorshift never leaves the all-zero state, so avoid it.
        let state = if seed == 0 { 0x2545_F491_4F6C_DD1D } else { seed };
        Jitter { state }
    }

    /// The next raw value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    /// A value in `0..bound`, or 0 when `bound` is 0.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_between_half_ceiling_and_ceiling() {
        let policy = RetryPolicy::new(10, Duration::from_millis(50), Duration::from_secs(1));
        let mut jitter = Jitter::with_seed(42);
        for retry in 0..12 {
            let ceiling = Duration::from_millis(50 * (1u64 << retry)).min(Duration::from_secs(1));
            for _ in 0..200 {
                let wait = policy.backoff(retry, &mut jitter);
                assert!(wait >= ceiling / 2, "retry {retry}: {wait:?} < {ceiling:?}/2");
                assert!(wait <= ceiling, "retry {retry}: {wait:?} > {ceiling:?}");
            }
        }
    }

    #[test]
    fn backoff_never_overflows_on_huge_retry_numbers() {
        let policy = RetryPolicy::new(3, Duration::from_secs(1), Duration::from_secs(30));
        let wait = policy.backoff(u32::MAX, &mut Jitter::with_seed(7));
        assert!(wait <= Duration::from_secs(30) && wait >= Duration::from_secs(15));
    }

    #[test]
    fn jitter_actually_varies() {
        let policy = RetryPolicy::default();
        let mut jitter = Jitter::with_seed(1);
        let waits: std::collections::HashSet<Duration> =
            (0..50).map(|_| policy.backoff(3, &mut jitter)).collect();
        assert!(waits.len() > 10);
    }

    #[test]
    fn attempts_are_clamped() {
        assert_eq!(RetryPolicy::new(0, Duration::ZERO, Duration::ZERO).max_attempts(), 1);
        assert_eq!(RetryPolicy::new(1000, Duration::ZERO, Duration::ZERO).max_attempts(), MAX_ATTEMPTS);
        assert_eq!(RetryPolicy::none().max_attempts(), 1);
        let none = RetryPolicy::none();
        assert_eq!(none.backoff(0, &mut Jitter::with_seed(3)), Duration::ZERO);
    }

    #[test]
    fn zero_seed_does_not_stick_at_zero() {
        let mut jitter = Jitter::with_seed(0);
        assert_ne!(jitter.next_u64(), 0);
    }
}
