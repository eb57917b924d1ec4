//! The numbers a run produced, printed as a table for people and written as JSON for
//! `docs/benchmarks.md` and comparisons between runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::runner::Measurement;

/// Latency percentiles of successful calls, microseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Slowest call.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

/// One run's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The operation, e.g. `describe-key`.
    pub op: String,
    /// Endpoints the calls were spread across.
    pub endpoints: Vec<String>,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Warm-up time, seconds.
    pub warmup_secs: f64,
    /// Measured time, seconds.
    pub measured_secs: f64,
    /// Successful measured calls.
    pub ok: u64,
    /// Failed measured calls.
    pub errors_total: u64,
    /// Successful calls per second of measured time.
    pub ops_per_sec: f64,
    /// Latency of successful calls.
    pub latency_us: Latency,
    /// Failed calls by error type.
    pub errors: BTreeMap<String, u64>,
}

impl Report {
    /// Summarises `measurement` of `op` run with the given setup.
    pub fn new(
        op: &str,
        endpoints: Vec<String>,
        concurrency: usize,
        warmup_secs: f64,
        measurement: &Measurement,
    ) -> Report {
        let histogram = &measurement.latency_us;
        let measured_secs = measurement.measured.as_secs_f64();
        let ok = measurement.ok();
        let empty = histogram.is_empty();
        let quantile = |q: f64| if empty { 0 } else { histogram.value_at_quantile(q) };
        Report {
            op: op.to_owned(),
            endpoints,
            concurrency,
            warmup_secs,
            measured_secs,
            ok,
            errors_total: measurement.error_count(),
            ops_per_sec: if measured_secs > 0.0 { ok as f64 / measured_secs } else { 0.0 },
            latency_us: Latency {
                p50: quantile(0.50),
                p90: quantile(0.90),
                p99: quantile(0.99),
                p999: quantile(0.999),
                max: if empty { 0 } else { histogram.max() },
                mean: if empty { 0.0 } else { histogram.mean() },
            },
            errors: measurement.errors.clone(),
        }
    }

    /// The report as a short text table.
    pub fn table(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "op           {}", self.op);
        let _ = writeln!(text, "endpoints    {}", self.endpoints.join(", "));
        let _ = writeln!(text, "concurrency  {}", self.concurrency);
        let _ = writeln!(
            text,
            "measured     {:.2} s after {:.2} s warm-up",
            self.measured_secs, self.warmup_secs
        );
        let _ = writeln!(text, "calls        {} ok, {} failed", self.ok, self.errors_total);
        let _ = writeln!(text);
        let _ = writeln!(
            text,
            "{:>12}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}",
            "ops/s", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs"
        );
        let latency = &self.latency_us;
        let _ = writeln!(
            text,
            "{:>12.1}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}",
            self.ops_per_sec, latency.p50, latency.p90, latency.p99, latency.p999, latency.max
        );
        if !self.errors.is_empty() {
            let _ = writeln!(text);
            let width = self.errors.keys().map(String::len).max().unwrap_or(0);
            let _ = writeln!(text, "errors by type");
            for (error_type, count) in &self.errors {
                let _ = writeln!(text, "  {error_type:<width$}  {count}");
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hdrhistogram::Histogram;

    use super::*;

    fn measurement(latencies: &[u64], errors: &[(&str, u64)], secs: u64) -> Measurement {
        let mut histogram = Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for &latency in latencies {
            histogram.record(latency).unwrap();
        }
        Measurement {
            latency_us: histogram,
            errors: errors.iter().map(|(t, n)| ((*t).to_owned(), *n)).collect(),
            measured: Duration::from_secs(secs),
            warmup_calls: 0,
        }
    }

    #[test]
    fn computes_throughput_and_percentiles() {
        let latencies: Vec<u64> = (1..=1000).collect();
        let report =
            Report::new("describe-key", vec!["http://a:1".into()], 8, 1.0, &measurement(&latencies, &[], 2));
        assert_eq!(report.ok, 1000);
        assert!((report.ops_per_sec - 500.0).abs() < 1e-9);
        assert_eq!(report.latency_us.p50, 500);
        assert_eq!(report.latency_us.p90, 900);
        assert_eq!(report.latency_us.p99, 990);
        assert_eq!(report.latency_us.max, 1000);
    }

    #[test]
    fn empty_run_reports_zeros_and_errors() {
        let report = Report::new(
            "create-key",
            vec![],
            1,
            0.0,
            &measurement(&[], &[("ServiceUnavailableException", 3), ("Timeout", 1)], 0),
        );
        assert_eq!((report.ok, report.errors_total, report.ops_per_sec), (0, 4, 0.0));
        assert_eq!(report.latency_us.max, 0);
        let table = report.table();
        assert!(table.contains("ServiceUnavailableException  3"), "{table}");
        assert!(table.contains("Timeout                      1"), "{table}");
    }

    #[test]
    fn json_has_the_table_numbers() {
        let report = Report::new("describe-key", vec![], 2, 0.0, &measurement(&[10, 20], &[("X", 1)], 1));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["ok"], 2);
        assert_eq!(json["errors"]["X"], 1);
        assert_eq!(json["latency_us"]["max"], 20);
        assert_eq!(json["ops_per_sec"], 2.0);
    }
}
