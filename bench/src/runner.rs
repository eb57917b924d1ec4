//! The closed loop: `concurrency` workers each send one call, wait for its answer, and send the
//! next, until the duration or the request count runs out. Calls that start during warm-up are
//! sent but not recorded.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use trent_client::TrentClient;

use crate::workload::Workload;

/// Largest latency the histogram tells apart, in microseconds (one hour); longer calls are
/// recorded as this.
const MAX_TRACKED_MICROS: u64 = 3_600_000_000;
/// Significant decimal digits the histogram keeps.
const HISTOGRAM_PRECISION: u8 = 3;

/// How long and how hard to push.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Workers, each with one call in flight.
    pub concurrency: usize,
    /// Time spent before recording starts.
    pub warmup: Duration,
    /// Longest measured time after warm-up.
    pub duration: Duration,
    /// Stop after this many measured calls, if set.
    pub requests: Option<u64>,
}

/// What the measured calls did.
#[derive(Debug)]
pub struct Measurement {
    /// Latency of successful calls, microseconds.
    pub latency_us: Histogram<u64>,
    /// Failed calls by error type (`__type` or a client-side kind).
    pub errors: BTreeMap<String, u64>,
    /// From the end of warm-up to the last measured call's answer.
    pub measured: Duration,
    /// Calls sent during warm-up.
    pub warmup_calls: u64,
}

impl Measurement {
    fn empty() -> anyhow::Result<Measurement> {
        Ok(Measurement {
            latency_us: Histogram::new_with_bounds(1, MAX_TRACKED_MICROS, HISTOGRAM_PRECISION)?,
            errors: BTreeMap::new(),
            measured: Duration::ZERO,
            warmup_calls: 0,
        })
    }

    fn merge(&mut self, other: Measurement) -> anyhow::Result<()> {
        self.latency_us.add(&other.latency_us)?;
        for (error_type, count) in other.errors {
            *self.errors.entry(error_type).or_default() += count;
        }
        self.measured = self.measured.max(other.measured);
        self.warmup_calls += other.warmup_calls;
        Ok(())
    }

    /// Successful measured calls.
    pub fn ok(&self) -> u64 {
        self.latency_us.len()
    }

    /// Failed measured calls.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// When recording starts and stops, shared by all workers.
struct Clock {
    measure_from: Instant,
    deadline: Instant,
    requests: Option<u64>,
    issued: AtomicU64,
}

impl Clock {
    /// Whether a worker may send another call now, and whether that call is measured.
    fn next_call(&self) -> Option<bool> {
        let now = Instant::now();
        if now >= self.deadline {
            return None;
        }
        let measured = now >= self.measure_from;
        if measured {
            if let Some(limit) = self.requests {
                if self.issued.fetch_add(1, Ordering::Relaxed) >= limit {
                    return None;
                }
            }
        }
        Some(measured)
    }
}

/// Runs `workload` against `client` as `plan` says and gathers what the measured calls did.
pub async fn run(client: &TrentClient, workload: Workload, plan: &Plan) -> anyhow::Result<Measurement> {
    let start = Instant::now();
    let measure_from = start + plan.warmup;
    let clock = Arc::new(Clock {
        measure_from,
        deadline: measure_from + plan.duration,
        requests: plan.requests,
        issued: AtomicU64::new(0),
    });
    let workload = Arc::new(workload);
    let workers: Vec<_> = (0..plan.concurrency.max(1))
        .map(|_| tokio::spawn(worker(client.clone(), workload.clone(), clock.clone())))
        .collect();
    let mut total = Measurement::empty()?;
    for worker in workers {
        total.merge(worker.await??)?;
    }
    Ok(total)
}

async fn worker(
    client: TrentClient,
    workload: Arc<Workload>,
    clock: Arc<Clock>,
) -> anyhow::Result<Measurement> {
    let mut measurement = Measurement::empty()?;
    while let Some(measured) = clock.next_call() {
        let sent = Instant::now();
        let outcome = workload.issue(&client).await;
        let answered = Instant::now();
        if !measured {
            measurement.warmup_calls += 1;
            continue;
        }
        measurement.measured = answered.saturating_duration_since(clock.measure_from);
        match outcome {
            Ok(()) => {
                let micros = u64::try_from(answered.duration_since(sent).as_micros()).unwrap_or(u64::MAX);
                measurement.latency_us.saturating_record(micros.max(1));
            }
            Err(error) => *measurement.errors.entry(error.error_type().to_owned()).or_default() += 1,
        }
    }
    Ok(measurement)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trent_client::{ClientOptions, RetryPolicy};

    fn closed_port_client() -> TrentClient {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let options = ClientOptions { retry: RetryPolicy::none(), ..ClientOptions::default() };
        TrentClient::with_options(vec![format!("http://127.0.0.1:{port}")], options).unwrap()
    }

    #[tokio::test]
    async fn stops_after_the_request_count_and_counts_errors_by_type() {
        let plan = Plan {
            concurrency: 4,
            warmup: Duration::ZERO,
            duration: Duration::from_secs(30),
            requests: Some(50),
        };
        let workload = Workload { target: "DescribeKey", body: serde_json::json!({"KeyId": "k"}) };
        let measurement = run(&closed_port_client(), workload, &plan).await.unwrap();
        assert_eq!(measurement.ok(), 0);
        assert_eq!(measurement.errors.get("ConnectError"), Some(&50));
        assert_eq!(measurement.error_count(), 50);
    }

    #[tokio::test]
    async fn stops_at_the_deadline_and_skips_warmup() {
        let plan = Plan {
            concurrency: 2,
            warmup: Duration::from_millis(100),
            duration: Duration::from_millis(100),
            requests: None,
        };
        let workload = Workload { target: "DescribeKey", body: serde_json::json!({"KeyId": "k"}) };
        let started = Instant::now();
        let measurement = run(&closed_port_client(), workload, &plan).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(measurement.warmup_calls > 0);
        assert!(measurement.error_count() > 0);
    }
}
