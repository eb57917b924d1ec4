//! `trent-jepsen`: runs Trent's fault harness — a three-node cluster in network namespaces, the
//! workloads, the nemeses — and checks what happened. Needs root.
//!
//! Exit status: 1 when any run found an anomaly; otherwise 2 when a run could not finish or
//! could not check everything; 0 when every run is valid.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use trent_jepsen::harness::nemesis::NemesisKind;
use trent_jepsen::harness::report::Verdict;
use trent_jepsen::harness::run::{run, RunConfig};

/// Runs schedules of faults against a three-node Trent cluster and checks its promises.
#[derive(Debug, Parser)]
#[command(name = "trent-jepsen", version)]
struct Args {
    /// The trentd binary to test.
    #[arg(long, default_value = "target/release/trentd")]
    trentd: PathBuf,
    /// Where each run's directory goes.
    #[arg(long, default_value = "results")]
    results: PathBuf,
    /// Seed of the first schedule; schedule i uses seed + i.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How many schedules to run, one after another.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000))]
    schedules: u64,
    /// Seconds of workload per schedule (at most 30 minutes: a history holds up to 2,000,000
    /// events, about 600 a second at the default rates).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(30..=1_800))]
    duration: u64,
    /// Faults to inject (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "partition,kill,pause,rolling")]
    nemesis: Vec<NemesisKind>,
    /// Inject no faults at all (a baseline run).
    #[arg(long, conflicts_with = "nemesis")]
    no_faults: bool,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=256))]
    workers: u64,
    /// How long a client waits for one call, ms; a write that times out is indeterminate.
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(100..=120_000))]
    op_timeout_ms: u64,
    /// Mean pause of a client between calls, ms.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    stagger_ms: u64,
    /// The nodes' consistency bound, ms.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(50..=60_000))]
    consistency_bound_ms: u64,
    /// Created keys whose material is compared across nodes at the end.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    split_brain_sample: u64,
    /// Network id (1–250): namespaces tj<net>-*, addresses 10.77.<net>.0/24.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=250))]
    net: u8,
    /// Keep the nodes' data directories.
    #[arg(long)]
    keep_data: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("trent-jepsen: cannot start the runtime: {error}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        tokio::select! {
            code = run_schedules(&args) => code,
            signal = interrupted() => {
                eprintln!("trent-jepsen: {signal}; stopping the nodes and removing the namespaces");
                ExitCode::from(2)
            }
        }
    })
}

/// Waits for SIGINT, SIGTERM or SIGHUP; dropping the run then stops its nodes and removes its
/// namespaces. (If the signals cannot be watched, waits forever: the nodes still die with us.)
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut interrupt), Ok(mut terminate), Ok(mut hangup)) =
        (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup()))
    else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = interrupt.recv() => "interrupted",
        _ = terminate.recv() => "terminated",
        _ = hangup.recv() => "hung up",
    }
}

async fn run_schedules(args: &Args) -> ExitCode {
    let nemeses: Vec<NemesisKind> = if args.no_faults { Vec::new() } else { args.nemesis.clone() };
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs());
    let mut worst = 0u8;
    let mut summary = Vec::new();
    for schedule in 0..args.schedules {
        let seed = args.seed.wrapping_add(schedule);
        let config = RunConfig {
            trentd: args.trentd.clone(),
            dir: args.results.join(format!("{stamp}-seed{seed}")),
            net: args.net,
            seed,
            duration: Duration::from_secs(args.duration),
            nemeses: nemeses.clone(),
            workers: usize::try_from(args.workers).unwrap_or(1),
            stagger: Duration::from_millis(args.stagger_ms),
            op_timeout: Duration::from_millis(args.op_timeout_ms),
            consistency_bound_ms: args.consistency_bound_ms,
            split_brain_sample: usize::try_from(args.split_brain_sample).unwrap_or(usize::MAX),
            keep_data: args.keep_data,
        };
        let started = Instant::now();
        eprintln!(
            "== schedule {} of {}: seed {seed}, {} s, results in {}",
            schedule + 1,
            args.schedules,
            args.duration,
            config.dir.display()
        );
        let progress = |message: &str| eprintln!("[{:>6.1} s] {message}", started.elapsed().as_secs_f64());
        match run(&config, progress).await {
            Ok(report) => {
                println!("{}", report.to_markdown());
                worst = worst.max(severity(report.verdict));
                let operations: usize = report
                    .operations
                    .values()
                    .map(|outcomes| outcomes.ok + outcomes.fail + outcomes.info)
                    .sum();
                summary.push(format!(
                    "seed {seed}: {:?}, {operations} operations, {} faults, {} anomalies ({} s in all)",
                    report.verdict,
                    report.faults.len(),
                    report.anomalies.len(),
                    started.elapsed().as_secs()
                ));
            }
            Err(error) => {
                eprintln!("trent-jepsen: seed {seed}: {error}");
                worst = worst.max(severity(Verdict::Incomplete));
                summary.push(format!("seed {seed}: did not finish: {error}"));
            }
        }
    }
    eprintln!("== summary");
    for line in &summary {
        eprintln!("{line}");
    }
    ExitCode::from(match worst {
        0 => 0,
        1 => 2,
        _ => 1,
    })
}

/// Orders outcomes: an anomaly anywhere outranks a run that could not finish or check
/// everything, which outranks a valid one.
fn severity(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Valid => 0,
        Verdict::Incomplete => 1,
        Verdict::Anomalies => 2,
    }
}
