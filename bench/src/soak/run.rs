//! One soak, start to end: raise the file limit, start the cluster, make the workload's keys,
//! start the watchers, the signed workload and the chosen attacks, wait out the duration (or a
//! Ctrl-C / SIGTERM), stop everything in order — attacks and workload, then watchers, then the
//! cluster — read the node logs, and return the report.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use trent_client::TrentClient;

use crate::runner::Live;
use crate::soak::args::{Attack, SoakArgs, NODES};
use crate::soak::attack::AttackReport;
use crate::soak::bodies::{self, UnsignedBodies};
use crate::soak::checks::{self, Evidence, Thresholds};
use crate::soak::cluster::Cluster;
use crate::soak::health::{self, NodeHealth};
use crate::soak::idle_flood::{self, IdleFlood};
use crate::soak::large_rows::{self, LargeRowsReport};
use crate::soak::memory::{self, NodeMemory};
use crate::soak::node_logs;
use crate::soak::report::{Report, Setup};
use crate::soak::rlimit;
use crate::soak::signed::{self, Signed, SignedReport};
use crate::soak::slowloris::{self, SlowClients};
use crate::soak::tally::Tally;

/// Open files asked for at least, so the nodes (which inherit the limit) can reach their
/// connection cap without running out of descriptors.
const MIN_NOFILE: u64 = 16_384;
/// How long a component may take to stop before it is cancelled.
const STOP_GRACE: Duration = Duration::from_secs(30);
/// Per-call timeout of the large-row writes.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a soak produced no report.
#[derive(Debug)]
pub enum NotRun {
    /// The flags are out of bounds, or the host cannot give what they need.
    Setup(anyhow::Error),
    /// The cluster did not start or could not be prepared (its data directory and logs are kept).
    Cluster(anyhow::Error, PathBuf),
    /// Interrupted before the run began.
    Interrupted(&'static str),
}

impl std::fmt::Display for NotRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotRun::Setup(error) => write!(f, "{error:#}"),
            NotRun::Cluster(error, dir) => {
                write!(f, "the cluster could not be started: {error:#} (logs in {})", dir.display())
            }
            NotRun::Interrupted(signal) => write!(f, "interrupted by {signal} before the run began"),
        }
    }
}

/// SIGINT and SIGTERM, watched from the start so a Ctrl-C always stops the cluster.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    fn watch() -> anyhow::Result<Signals> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

/// The running components' handles.
struct Components {
    health: Vec<JoinHandle<NodeHealth>>,
    memory: JoinHandle<Vec<NodeMemory>>,
    signed: JoinHandle<anyhow::Result<SignedReport>>,
    large_rows: Option<JoinHandle<LargeRowsReport>>,
    attacks: Vec<(&'static str, JoinHandle<Vec<AttackReport>>)>,
}

/// Runs one soak as `args` say.
pub async fn run(args: SoakArgs) -> Result<Report, NotRun> {
    let attacks = args.validate().map_err(NotRun::Setup)?;
    let mut signals = Signals::watch().map_err(NotRun::Setup)?;
    let needed = args.descriptors_needed(&attacks);
    let file_limit =
        rlimit::raise_nofile(args.nofile.unwrap_or(MIN_NOFILE.max(needed)), needed).map_err(NotRun::Setup)?;
    let (data_dir, made_dir) = match &args.data_dir {
        Some(dir) => (dir.clone(), false),
        None => (fresh_dir(), true),
    };
    eprintln!("trent-soak: starting {NODES} nodes ({}) in {}", args.trentd.display(), data_dir.display());
    let mut cluster = tokio::select! {
        started = Cluster::start(&args.trentd, args.port, NODES, &data_dir) => {
            started.map_err(|error| NotRun::Cluster(error, data_dir.clone()))?
        }
        signal = signals.recv() => return Err(NotRun::Interrupted(signal)),
    };
    let pids: Vec<String> =
        cluster.nodes.iter().map(|node| format!("node {} pid {}", node.id, node.pid)).collect();
    eprintln!("trent-soak: cluster up ({}); making {} keys", pids.join(", "), args.keys);
    let workload = tokio::select! {
        prepared = Signed::prepare(&cluster.credentials, &args) => prepared.map_err(|error| {
            NotRun::Cluster(error.context("making the workload's keys"), data_dir.clone())
        })?,
        signal = signals.recv() => return Err(NotRun::Interrupted(signal)),
    };
    eprintln!(
        "trent-soak: running {} s; attacks: {}",
        args.duration,
        if attacks.is_empty() { "none".to_owned() } else { attack_names(&attacks).join(", ") }
    );

    let log_offsets: Vec<u64> = cluster.nodes.iter().map(|node| node_logs::offset(&node.log)).collect();
    let started = Instant::now();
    let (stop_watchers, watchers_stopped) = watch::channel(false);
    let (stop_attacks, attacks_stopped) = watch::channel(false);
    let (abort, mut aborted) = watch::channel(None::<String>);
    let live_rss: Arc<Vec<AtomicU64>> = Arc::new((0..NODES).map(|_| AtomicU64::new(0)).collect());
    let live_health: Vec<Arc<AtomicU64>> = (0..NODES).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let live_signed = Arc::new(Live::default());
    let signed_tally = Arc::new(Tally::new().map_err(NotRun::Setup)?);
    let large_tally = Arc::new(Tally::new().map_err(NotRun::Setup)?);

    let mut components = Components {
        health: cluster
            .nodes
            .iter()
            .zip(&live_health)
            .map(|(node, live)| {
                tokio::spawn(health::watch(
                    node.clone(),
                    started,
                    started + Duration::from_secs(args.grace_secs),
                    Duration::from_millis(args.health_interval_ms),
                    Duration::from_millis(args.health_timeout_ms),
                    watchers_stopped.clone(),
                    live.clone(),
                ))
            })
            .collect(),
        memory: tokio::spawn(memory::sample(
            cluster.nodes.clone(),
            started,
            Duration::from_millis(args.sample_interval_ms),
            args.abort_rss_mib * 1024,
            abort,
            live_rss.clone(),
            watchers_stopped.clone(),
        )),
        signed: tokio::spawn(workload.run(args.run_time(), live_signed.clone(), signed_tally.clone())),
        large_rows: None,
        attacks: Vec::new(),
    };
    for attack in &attacks {
        let stop = attacks_stopped.clone();
        let addr = |node: usize| cluster.nodes[node - 1].api_addr;
        match attack {
            Attack::LargeRows => {
                let options = signed::client_options(&cluster.credentials, WRITE_TIMEOUT);
                let client = TrentClient::with_options(cluster.credentials.endpoints.clone(), options)
                    .map_err(|error| NotRun::Setup(error.into()))?;
                components.large_rows = Some(tokio::spawn(large_rows::run(
                    client,
                    args.large_rate,
                    args.aliases_per_key,
                    large_tally.clone(),
                    stop,
                )));
            }
            Attack::SlowClients => {
                let settings = SlowClients {
                    addr: addr(args.slow_node),
                    node: args.slow_node,
                    headers: args.slow_headers,
                    bodies: args.slow_bodies,
                    interval: Duration::from_millis(args.slow_interval_ms),
                };
                let handle = tokio::spawn(slowloris::run(settings, cluster.credentials.clone(), stop));
                components.attacks.push((attack.name(), handle));
            }
            Attack::IdleFlood => {
                let settings = IdleFlood {
                    addr: addr(args.idle_node),
                    node: args.idle_node,
                    connections: args.idle_conns,
                    hold: Duration::from_secs(args.idle_hold_secs),
                    pause: Duration::from_secs(args.idle_pause_secs),
                    open_rate: args.idle_open_rate,
                };
                let handle = tokio::spawn(async move { vec![idle_flood::run(settings, stop).await] });
                components.attacks.push((attack.name(), handle));
            }
            Attack::UnsignedBodies => {
                let settings = UnsignedBodies {
                    addr: addr(args.bodies_node),
                    node: args.bodies_node,
                    held: args.bodies_held,
                    held_percent: args.bodies_held_percent,
                    full_rate: args.bodies_full_rate,
                    open_rate: args.bodies_open_rate,
                };
                components.attacks.push((attack.name(), tokio::spawn(bodies::run(settings, stop))));
            }
        }
    }
    let progress = (args.progress_secs > 0).then(|| {
        let (signed, large, rss) = (signed_tally.clone(), large_tally.clone(), live_rss.clone());
        let health = live_health.clone();
        let every = Duration::from_secs(args.progress_secs);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval_at((Instant::now() + every).into(), every);
            loop {
                ticker.tick().await;
                let rss: Vec<String> =
                    rss.iter().map(|kib| format!("{:.0}", kib.load(Ordering::Relaxed) as f64 / 1024.0)).collect();
                let health: Vec<String> = health.iter().map(|failed| failed.load(Ordering::Relaxed).to_string()).collect();
                eprintln!(
                    "t={:>4.0}s  signed ok {} failed {}  large ok {} failed {}  RSS MiB {}  health failures {}",
                    started.elapsed().as_secs_f64(),
                    signed.ok.load(Ordering::Relaxed),
                    signed.failed.load(Ordering::Relaxed),
                    large.ok.load(Ordering::Relaxed),
                    large.failed.load(Ordering::Relaxed),
                    rss.join("/"),
                    health.join("/"),
                );
            }
        })
    });

    // Wait out the run; an abort stops the attacks, the rest goes on to the end.
    let deadline = tokio::time::Instant::from_std(started + args.run_time());
    let mut interrupted = None;
    let mut abort_reason: Option<String> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            signal = signals.recv() => {
                eprintln!("trent-soak: {signal}: stopping and reporting");
                interrupted = Some(format!("{signal} at t={:.0}s", started.elapsed().as_secs_f64()));
                break;
            }
            reason = aborted.wait_for(Option::is_some), if abort_reason.is_none() => {
                let reason = reason.ok().and_then(|reason| reason.clone()).unwrap_or_default();
                eprintln!("trent-soak: {reason}");
                let _ = stop_attacks.send(true);
                abort_reason = Some(reason);
            }
        }
    }
    let ran_secs = started.elapsed().as_secs_f64();

    // Stop in order: load, then the watchers (which see the end of it), then the cluster. Signed
    // calls that fell due but could not be sent because every client was stuck are not sent
    // late: they count as failed (`NotSent`), so the run ends on time.
    let _ = stop_attacks.send(true);
    live_signed.stop.store(true, Ordering::Relaxed);
    let mut unfinished = Vec::new();
    let mut attack_reports = Vec::new();
    for (name, handle) in components.attacks.drain(..) {
        match finish(handle, name, &mut unfinished).await {
            Some(reports) => attack_reports.extend(reports),
            None => attack_reports.push(missing(name)),
        }
    }
    let large_rows = match components.large_rows.take() {
        Some(handle) => Some(finish(handle, "large-rows", &mut unfinished).await.unwrap_or_else(|| {
            LargeRowsReport { calls: large_tally.report(), ..LargeRowsReport::default() }
        })),
        None => None,
    };
    let signed_result = finish(components.signed, "signed workload", &mut unfinished).await;
    let mut signed = match signed_result {
        Some(Ok(report)) => report,
        Some(Err(error)) => {
            eprintln!("trent-soak: the signed workload failed: {error:#}");
            SignedReport { calls: signed_tally.report(), ..SignedReport::default() }
        }
        None => SignedReport { calls: signed_tally.report(), ..SignedReport::default() },
    };
    if interrupted.is_none() {
        signed.count_unsent((args.signed_rate * args.duration as f64).ceil() as u64);
    }
    if args.settle_secs > 0 {
        eprintln!("trent-soak: load stopped; watching {} s more", args.settle_secs);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(args.settle_secs)) => {}
            signal = signals.recv() => eprintln!("trent-soak: {signal}: skipping the settle time"),
        }
    }
    let _ = stop_watchers.send(true);
    let mut health = Vec::new();
    for handle in components.health {
        if let Some(node) = finish(handle, "health watcher", &mut unfinished).await {
            health.push(node);
        }
    }
    let memory = finish(components.memory, "memory sampler", &mut unfinished).await.unwrap_or_default();
    if let Some(progress) = progress {
        progress.abort();
    }
    eprintln!("trent-soak: stopping the cluster");
    let cluster_stop = cluster.stop();
    let node_logs = cluster
        .nodes
        .iter()
        .zip(&log_offsets)
        .map(|(node, from)| node_logs::scan(node.id, &node.log, *from))
        .collect();

    let thresholds = Thresholds {
        max_rss_mib: args.max_rss_mib,
        min_success_pct: args.min_success_pct,
        max_p99_ms: args.max_p99_ms,
        min_write_success_pct: args.min_write_success_pct,
        health_interval_ms: args.health_interval_ms,
        health_timeout_ms: args.health_timeout_ms,
        grace_secs: args.grace_secs,
        max_outage_ms: args.max_outage_ms,
    };
    let evidence = Evidence {
        health: &health,
        memory: &memory,
        signed: &signed,
        large_rows: large_rows.as_ref(),
        duration_secs: args.duration,
        ran_secs,
        interrupted: interrupted.as_deref(),
        aborted: abort_reason.as_deref(),
    };
    let checks = checks::evaluate(&evidence, &thresholds);
    let mut report = Report {
        verdict: String::new(),
        checks,
        setup: Setup {
            duration_secs: args.duration,
            ran_secs,
            settle_secs: args.settle_secs,
            trentd: args.trentd.display().to_string(),
            port: args.port,
            data_dir: data_dir.display().to_string(),
            attacks: attack_names(&attacks),
            file_limit,
            thresholds,
        },
        interrupted,
        aborted: abort_reason,
        signed,
        large_rows,
        attacks: attack_reports,
        health,
        memory,
        node_logs,
        unfinished,
        cluster_stop,
    };
    report.verdict = if report.passed() { "PASS" } else { "FAIL" }.to_owned();
    if report.passed() && made_dir && !args.keep_data && std::fs::remove_dir_all(&data_dir).is_ok() {
        report.setup.data_dir = format!("{} (removed)", data_dir.display());
    }
    Ok(report)
}

/// Waits for `handle` up to [`STOP_GRACE`]; cancels it (and notes `name`) if it does not end.
async fn finish<T>(mut handle: JoinHandle<T>, name: &str, unfinished: &mut Vec<String>) -> Option<T> {
    match tokio::time::timeout(STOP_GRACE, &mut handle).await {
        Ok(Ok(value)) => Some(value),
        Ok(Err(error)) => {
            unfinished.push(format!("{name} ({error})"));
            None
        }
        Err(_) => {
            handle.abort();
            unfinished.push(name.to_owned());
            None
        }
    }
}

fn missing(name: &str) -> AttackReport {
    AttackReport {
        name: name.to_owned(),
        node: 0,
        settings: "did not stop in time: counts lost".into(),
        counters: Default::default(),
    }
}

fn attack_names(attacks: &[Attack]) -> Vec<String> {
    attacks.iter().map(|attack| attack.name().to_owned()).collect()
}

/// A new data directory under $TMPDIR.
fn fresh_dir() -> PathBuf {
    let stamp =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_secs());
    std::env::temp_dir().join(format!("trent-soak-{stamp}-{}", std::process::id()))
}
