//! Driving the load. **Closed loop**: `concurrency` workers each send a call, wait for its answer
//! and send the next, so the server sets the pace. **Open loop**: calls are due at a fixed rate
//! whatever the server does; a pool of workers takes them in order, and each call's latency is
//! counted from when it was *due*, not when a worker got to it, so a stalled server shows as
//! latency instead of hiding as fewer calls (no coordinated omission). Calls that start during
//! warm-up are sent but not recorded; latencies go into an HDR histogram.
//!
//! The open loop starts each call in a task of its own, at most `max_in_flight` at once.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::{mpsc, Semaphore};

/// Largest latency the histogram tells apart, in microseconds (one hour); longer calls are
/// recorded as this.
const MAX_TRACKED_MICROS: u64 = 3_600_000_000;
/// Significant decimal digits the histogram keeps.
const HISTOGRAM_PRECISION: u8 = 3;
/// How late the open-loop scheduler may start a call before the lateness counts as latency (a
/// thread's sleep overshoots by up to about this much).
const SCHEDULER_SLACK: Duration = Duration::from_micros(200);

/// How the load is paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// `concurrency` calls always in flight.
    Closed {
        /// Workers, each with one call in flight.
        concurrency: usize,
    },
    /// `rate` calls per second, at most `max_in_flight` at once (later ones wait, and their
    /// wait counts as latency).
    Open {
        /// Calls per second.
        rate: f64,
        /// Workers taking due calls.
        max_in_flight: usize,
    },
}

/// How long and how hard to push.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Closed or open loop.
    pub pacing: Pacing,
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
    /// Latency of successful calls, microseconds (open loop: from when each call was due).
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

    fn record(
        &mut self,
        outcome: Result<(), String>,
        started: Instant,
        answered: Instant,
        measure_from: Instant,
    ) {
        self.measured = answered.saturating_duration_since(measure_from);
        match outcome {
            Ok(()) => {
                let micros = u64::try_from(answered.saturating_duration_since(started).as_micros())
                    .unwrap_or(u64::MAX);
                self.latency_us.saturating_record(micros.max(1));
            }
            Err(error_type) => *self.errors.entry(error_type).or_default() += 1,
        }
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

/// What a run shares with its caller while it goes: live counts for the progress display, and a
/// switch that ends it early.
#[derive(Debug, Default)]
pub struct Live {
    /// Measured calls answered successfully so far.
    pub ok: AtomicU64,
    /// Measured calls failed so far.
    pub failed: AtomicU64,
    /// Set to start no more calls (those in flight finish and are recorded).
    pub stop: AtomicBool,
}

/// When recording starts and stops, shared by all workers.
struct Clock {
    measure_from: Instant,
    deadline: Instant,
    requests: Option<u64>,
    issued: AtomicU64,
    sequence: AtomicU64,
    exhausted: AtomicBool,
}

impl Clock {
    /// Whether a call may start at `at`, and whether it is measured.
    fn admit(&self, at: Instant) -> Option<bool> {
        if at >= self.deadline || self.exhausted.load(Ordering::Relaxed) {
            return None;
        }
        let measured = at >= self.measure_from;
        if measured {
            if let Some(limit) = self.requests {
                if self.issued.fetch_add(1, Ordering::Relaxed) >= limit {
                    self.exhausted.store(true, Ordering::Relaxed);
                    return None;
                }
            }
        }
        Some(measured)
    }
}

/// Runs calls of `call(sequence)` as `plan` says and gathers what the measured calls did.
pub async fn run<F, Fut>(call: Arc<F>, plan: &Plan, live: Arc<Live>) -> anyhow::Result<Measurement>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let start = Instant::now();
    let measure_from = start + plan.warmup;
    let clock = Arc::new(Clock {
        measure_from,
        deadline: measure_from + plan.duration,
        requests: plan.requests,
        issued: AtomicU64::new(0),
        sequence: AtomicU64::new(0),
        exhausted: AtomicBool::new(false),
    });
    let mut total = Measurement::empty()?;
    match plan.pacing {
        Pacing::Closed { concurrency } => {
            let workers: Vec<_> = (0..concurrency.max(1))
                .map(|_| tokio::spawn(closed_worker(call.clone(), clock.clone(), live.clone())))
                .collect();
            for worker in workers {
                total.merge(worker.await??)?;
            }
        }
        Pacing::Open { rate, max_in_flight } => {
            anyhow::ensure!(rate > 0.0 && rate.is_finite(), "the rate must be positive");
            let (results, mut collected) =
                mpsc::unbounded_channel::<(Result<(), String>, Instant, Instant, bool)>();
            let collector = tokio::spawn(async move {
                let mut measurement = Measurement::empty()?;
                while let Some((outcome, counted_from, answered, measured)) = collected.recv().await {
                    if measured {
                        measurement.record(outcome, counted_from, answered, measure_from);
                    } else {
                        measurement.warmup_calls += 1;
                    }
                }
                Ok::<_, anyhow::Error>(measurement)
            });
            // The scheduler gets an OS thread of its own: it sleeps until each call is due with
            // the kernel's timer (tens of microseconds) instead of the runtime's 1 ms wheel, so
            // calls go out spread as they are due, not in bursts once a millisecond.
            let scheduler_clock = clock.clone();
            tokio::task::spawn_blocking(move || {
                schedule(&scheduler_clock, start, rate, max_in_flight, call, results, live)
            })
            .await?;
            total.merge(collector.await??)?;
        }
    }
    Ok(total)
}

async fn closed_worker<F, Fut>(
    call: Arc<F>,
    clock: Arc<Clock>,
    live: Arc<Live>,
) -> anyhow::Result<Measurement>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let mut measurement = Measurement::empty()?;
    while let Some(measured) = clock.admit(Instant::now()) {
        if live.stop.load(Ordering::Relaxed) {
            break;
        }
        let sequence = clock.sequence.fetch_add(1, Ordering::Relaxed);
        let sent = Instant::now();
        let outcome = call(sequence).await;
        let answered = Instant::now();
        if measured {
            count(&live, &outcome);
            measurement.record(outcome, sent, answered, clock.measure_from);
        } else {
            measurement.warmup_calls += 1;
        }
    }
    Ok(measurement)
}

/// Starts calls as they come due, `rate` per second from `start`, each in a task of its own on
/// the runtime, until the clock says stop; runs on a blocking thread. With `max_in_flight` calls
/// outstanding it waits for one to finish; the waiting calls keep the times they were due, so
/// the wait counts as their latency.
///
/// A call's latency is counted from when it was due, or from when its task started if that was
/// within [`SCHEDULER_SLACK`] of it: how late the scheduler itself woke is the harness's delay,
/// not the server's.
fn schedule<F, Fut>(
    clock: &Clock,
    start: Instant,
    rate: f64,
    max_in_flight: usize,
    call: Arc<F>,
    results: mpsc::UnboundedSender<(Result<(), String>, Instant, Instant, bool)>,
    live: Arc<Live>,
) where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let runtime = tokio::runtime::Handle::current();
    let permits = Arc::new(Semaphore::new(max_in_flight.max(1)));
    let mut released: u64 = 0;
    loop {
        let intended = start + Duration::from_secs_f64(released as f64 / rate);
        let now = Instant::now();
        if intended > now {
            std::thread::sleep(intended - now);
        }
        let admitted = if live.stop.load(Ordering::Relaxed) { None } else { clock.admit(intended) };
        let Some(measured) = admitted else {
            // Let the calls in flight finish before the results channel closes.
            let _ = runtime.block_on(permits.acquire_many(max_in_flight.max(1) as u32));
            return;
        };
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => match runtime.block_on(permits.clone().acquire_owned()) {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let (call, results, live) = (call.clone(), results.clone(), live.clone());
        let sequence = released;
        runtime.spawn(async move {
            let _permit = permit;
            let counted_from = Instant::now().min(intended + SCHEDULER_SLACK);
            let outcome = call(sequence).await;
            let answered = Instant::now();
            if measured {
                count(&live, &outcome);
            }
            let _ = results.send((outcome, counted_from, answered, measured));
        });
        released += 1;
    }
}

fn count(live: &Live, outcome: &Result<(), String>) {
    let counter = if outcome.is_ok() { &live.ok } else { &live.failed };
    counter.fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(pacing: Pacing, duration_ms: u64, requests: Option<u64>) -> Plan {
        Plan { pacing, warmup: Duration::ZERO, duration: Duration::from_millis(duration_ms), requests }
    }

    #[tokio::test]
    async fn stops_after_the_request_count_and_counts_errors_by_type() {
        let call = Arc::new(|sequence: u64| async move {
            if sequence.is_multiple_of(2) {
                Ok(())
            } else {
                Err("Odd".to_owned())
            }
        });
        let measurement =
            run(call, &plan(Pacing::Closed { concurrency: 4 }, 30_000, Some(50)), Arc::default())
                .await
                .unwrap();
        assert_eq!(measurement.ok() + measurement.error_count(), 50);
        assert_eq!(measurement.errors.get("Odd").copied(), Some(measurement.error_count()));
    }

    #[tokio::test]
    async fn stops_at_the_deadline_and_skips_warmup() {
        let call = Arc::new(|_| async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok(())
        });
        let plan = Plan {
            pacing: Pacing::Closed { concurrency: 2 },
            warmup: Duration::from_millis(100),
            duration: Duration::from_millis(100),
            requests: None,
        };
        let measurement = run(call, &plan, Arc::default()).await.unwrap();
        assert!(measurement.warmup_calls > 0);
        assert!(measurement.ok() > 0);
        assert!(measurement.measured <= Duration::from_millis(200), "{:?}", measurement.measured);
    }

    #[tokio::test]
    async fn the_open_loop_keeps_its_rate_and_counts_a_stall_as_latency() {
        // 200 calls/s for 1 s against a server that stalls every call for 50 ms while at most two
        // are in flight: only ~40 calls/s can be served, so calls wait for a worker, and that
        // wait must show in the latencies (a closed loop would report ~50 ms throughout).
        let call = Arc::new(|_| async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(())
        });
        let open = Pacing::Open { rate: 200.0, max_in_flight: 2 };
        let measurement = run(call, &plan(open, 1_000, None), Arc::default()).await.unwrap();
        let p99 = measurement.latency_us.value_at_quantile(0.99);
        assert!(p99 > 200_000, "queueing delay must count: p99 {p99} µs");

        let quick = Arc::new(|_| async { Ok(()) });
        let open = Pacing::Open { rate: 500.0, max_in_flight: 8 };
        let measurement = run(quick, &plan(open, 1_000, None), Arc::default()).await.unwrap();
        let calls = measurement.ok();
        assert!((450..=520).contains(&calls), "500/s for 1 s gave {calls} calls");
    }
}
