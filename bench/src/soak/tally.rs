//! Counting signed calls: every call's outcome by operation, by node and by error code, and its
//! latency from when it was sent (an HDR histogram), shared by the tasks that make the calls.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Longest latency told apart, microseconds (one hour).
const MAX_TRACKED_MICROS: u64 = 3_600_000_000;

/// Successes and failures of one group of calls.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Calls that succeeded.
    pub ok: u64,
    /// Calls that failed.
    pub failed: u64,
    /// Failed calls by error code (`__type`, or the client's name for the failure).
    pub errors: BTreeMap<String, u64>,
}

impl Counts {
    fn add(&mut self, outcome: &Result<(), String>) {
        match outcome {
            Ok(()) => self.ok += 1,
            Err(code) => {
                self.failed += 1;
                *self.errors.entry(code.clone()).or_default() += 1;
            }
        }
    }
}

/// Latency percentiles, milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

impl Percentiles {
    /// The percentiles of a microsecond histogram.
    pub fn of(histogram: &Histogram<u64>) -> Percentiles {
        if histogram.is_empty() {
            return Percentiles::default();
        }
        let ms = |micros: u64| micros as f64 / 1000.0;
        Percentiles {
            p50_ms: ms(histogram.value_at_quantile(0.50)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            max_ms: ms(histogram.max()),
        }
    }
}

/// A group's counts as reported.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TallyReport {
    /// Every call.
    pub total: Counts,
    /// By operation.
    pub by_operation: BTreeMap<String, Counts>,
    /// By node (1-based).
    pub by_node: BTreeMap<usize, Counts>,
    /// Latency of every call, successful or not, from when it was sent.
    pub latency: Percentiles,
}

struct Inner {
    report: TallyReport,
    latency_us: Histogram<u64>,
}

/// Calls counted as they end.
pub struct Tally {
    inner: Mutex<Inner>,
    /// Calls that succeeded so far (for progress lines).
    pub ok: AtomicU64,
    /// Calls that failed so far.
    pub failed: AtomicU64,
}

impl Tally {
    /// An empty tally.
    pub fn new() -> anyhow::Result<Tally> {
        Ok(Tally {
            inner: Mutex::new(Inner {
                report: TallyReport::default(),
                latency_us: Histogram::new_with_bounds(1, MAX_TRACKED_MICROS, 3)?,
            }),
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        })
    }

    /// Counts one call of `operation` on `node` that ended with `outcome` after `elapsed`.
    pub fn record(&self, operation: &str, node: usize, outcome: &Result<(), String>, elapsed: Duration) {
        let counter = if outcome.is_ok() { &self.ok } else { &self.failed };
        counter.fetch_add(1, Ordering::Relaxed);
        let Ok(mut inner) = self.inner.lock() else { return };
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX).max(1);
        inner.latency_us.saturating_record(micros);
        let report = &mut inner.report;
        report.total.add(outcome);
        report.by_operation.entry(operation.to_owned()).or_default().add(outcome);
        report.by_node.entry(node).or_default().add(outcome);
    }

    /// What has been counted.
    pub fn report(&self) -> TallyReport {
        match self.inner.lock() {
            Ok(inner) => TallyReport { latency: Percentiles::of(&inner.latency_us), ..inner.report.clone() },
            Err(_) => TallyReport::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_operation_node_and_code() {
        let tally = Tally::new().unwrap();
        tally.record("Encrypt", 1, &Ok(()), Duration::from_millis(2));
        tally.record("Encrypt", 2, &Err("Timeout".into()), Duration::from_secs(5));
        tally.record("Decrypt", 2, &Err("KeyUnavailableException".into()), Duration::from_millis(3));
        let report = tally.report();
        assert_eq!((report.total.ok, report.total.failed), (1, 2));
        assert_eq!(report.by_operation["Encrypt"].failed, 1);
        assert_eq!(report.by_node[&2].errors["KeyUnavailableException"], 1);
        assert!(report.latency.max_ms >= 4999.0);
    }
}
