//! The numbers a run produced, printed as a table for people and written as JSON for
//! `docs/benchmarks.md` and comparisons between runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::runner::Measurement;

/// Points per halving of the remaining tail in the percentile spectrum (HdrHistogram's usual 5).
const SPECTRUM_TICKS_PER_HALF: u32 = 5;
/// Highest percentile kept in the spectrum.
const SPECTRUM_TOP_PERCENTILE: f64 = 99.999;

/// Latency percentiles of successful calls, microseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// How a run was set up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Setup {
    /// A name for the run in reports and plots, e.g. `trent-3-nodes`.
    pub label: String,
    /// The protocol adapter, e.g. `kms`, `transit`.
    pub target: String,
    /// The operation mix, e.g. `encrypt` or `encrypt=70,decrypt=30`.
    pub mix: String,
    /// Endpoints the calls were spread across.
    pub endpoints: Vec<String>,
    /// `closed` or `open`.
    pub pacing: String,
    /// Closed loop: calls in flight; open loop: most calls in flight.
    pub concurrency: usize,
    /// Open loop: calls per second offered.
    pub offered_rate: Option<f64>,
    /// Keys the calls spread over.
    pub keys: usize,
    /// Plaintext bytes of encrypt-like calls.
    pub plaintext_bytes: usize,
    /// Warm-up time, seconds.
    pub warmup_secs: f64,
}

/// One run's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// How the run was set up.
    pub setup: Setup,
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
    /// The percentile spectrum: (percentile, latency µs) points for plots.
    pub spectrum: Vec<(f64, u64)>,
}

impl Report {
    /// Summarises `measurement` of a run set up as `setup`.
    pub fn new(setup: Setup, measurement: &Measurement) -> Report {
        let histogram = &measurement.latency_us;
        let measured_secs = measurement.measured.as_secs_f64();
        let ok = measurement.ok();
        let empty = histogram.is_empty();
        let quantile = |q: f64| if empty { 0 } else { histogram.value_at_quantile(q) };
        let spectrum = if empty {
            Vec::new()
        } else {
            histogram
                .iter_quantiles(SPECTRUM_TICKS_PER_HALF)
                .map(|point| (point.percentile(), point.value_iterated_to()))
                .take_while(|(percentile, _)| *percentile <= SPECTRUM_TOP_PERCENTILE)
                .collect()
        };
        Report {
            setup,
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
            spectrum,
        }
    }

    /// The report as a short text table.
    pub fn table(&self) -> String {
        let mut text = String::new();
        let setup = &self.setup;
        let _ = writeln!(text, "run          {} ({} target)", setup.label, setup.target);
        let _ = writeln!(
            text,
            "operations   {}, {} keys, {} B plaintext",
            setup.mix, setup.keys, setup.plaintext_bytes
        );
        let _ = writeln!(text, "endpoints    {}", setup.endpoints.join(", "));
        match setup.offered_rate {
            Some(rate) => {
                let _ = writeln!(
                    text,
                    "pacing       open loop, {rate:.0} calls/s offered, at most {} in flight",
                    setup.concurrency
                );
            }
            None => {
                let _ = writeln!(text, "pacing       closed loop, {} in flight", setup.concurrency);
            }
        }
        let _ = writeln!(
            text,
            "measured     {:.2} s after {:.2} s warm-up",
            self.measured_secs, setup.warmup_secs
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

    fn setup(mix: &str) -> Setup {
        Setup {
            label: "test".into(),
            target: "kms".into(),
            mix: mix.into(),
            endpoints: vec!["http://a:1".into()],
            pacing: "closed".into(),
            concurrency: 8,
            offered_rate: None,
            keys: 1,
            plaintext_bytes: 1024,
            warmup_secs: 1.0,
        }
    }

    #[test]
    fn computes_throughput_and_percentiles() {
        let latencies: Vec<u64> = (1..=1000).collect();
        let report = Report::new(setup("describe-key"), &measurement(&latencies, &[], 2));
        assert_eq!(report.ok, 1000);
        assert!((report.ops_per_sec - 500.0).abs() < 1e-9);
        assert_eq!(report.latency_us.p50, 500);
        assert_eq!(report.latency_us.p90, 900);
        assert_eq!(report.latency_us.p99, 990);
        assert_eq!(report.latency_us.max, 1000);
        let (first, last) = (report.spectrum.first().unwrap(), report.spectrum.last().unwrap());
        assert!(first.0 < 1.0 && last.0 > 99.0 && last.1 >= 990, "{first:?} .. {last:?}");
        assert!(report.spectrum.windows(2).all(|pair| pair[0].1 <= pair[1].1), "monotone");
    }

    #[test]
    fn empty_run_reports_zeros_and_errors() {
        let report = Report::new(
            setup("create-key"),
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
        let report = Report::new(setup("describe-key"), &measurement(&[10, 20], &[("X", 1)], 1));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["ok"], 2);
        assert_eq!(json["errors"]["X"], 1);
        assert_eq!(json["latency_us"]["max"], 20);
        assert_eq!(json["ops_per_sec"], 2.0);
    }
}
