//! One crash-test iteration, from a fresh file system to a verdict, and the seeded plan and
//! summary of many.
//!
//! The cut: after a seeded delay the writer is stopped with SIGSTOP and the parent waits until
//! every one of its threads has stopped, so a sync already in the kernel completes (its
//! acknowledgement cannot be printed any more) and nothing moves while the image file is copied.
//! Nothing is synced: whatever the mounted file system still holds in the page cache is missing
//! from the copy, as it would be after a power cut.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

use crate::crash::check::{self, Recovery};
use crate::crash::image::{copy_image, make_ext4_image, run_tool, MountedImage};
use crate::crash::{Ack, CrashError};

/// Size of the sparse image file under test.
pub const IMAGE_BYTES: u64 = 256 * 1024 * 1024;
/// Longest wait for the stopped writer's threads to leave the kernel.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Most acknowledgement lines read from one writer (a bound, far above what a cut leaves).
const MAX_ACKS: usize = 10_000_000;

/// One iteration's settings.
#[derive(Debug, Clone)]
pub struct IterationConfig {
    /// The `trent-jepsen-crash` executable, run as `writer`.
    pub writer_exe: PathBuf,
    /// The workload's seed.
    pub seed: u64,
    /// When to cut the power, after starting the writer.
    pub cut_after: Duration,
    /// Run the writer with every sync disabled (the planted fault).
    pub planted_no_fsync: bool,
}

/// What one iteration found.
#[derive(Debug, Clone)]
pub struct IterationReport {
    /// Its settings.
    pub config: IterationConfig,
    /// What survived.
    pub recovery: Recovery,
    /// Votes acknowledged before the cut.
    pub acked_votes: u64,
    /// How long the whole iteration took.
    pub elapsed: Duration,
}

impl fmt::Display for IterationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.recovery;
        let show = |value: Option<u64>| value.map_or("-".to_owned(), |value| value.to_string());
        write!(
            f,
            "seed {:#018x} cut {:>4} ms: acked {} entries + {} votes, survived {}, lost {}; \
             vote {}/{}; last log {}, applied {} (acked applied {})",
            self.config.seed,
            self.config.cut_after.as_millis(),
            r.acked_logs,
            self.acked_votes,
            r.survived_logs,
            r.lost(),
            show(r.recovered_vote),
            show(r.acked_vote),
            show(r.recovered_last_log),
            show(r.recovered_applied),
            show(r.acked_applied),
        )?;
        if let (Some(first), Some(last)) = (r.lost_logs.first(), r.lost_logs.last()) {
            write!(f, "; lost entries {first}..={last}")?;
        }
        for problem in &r.problems {
            write!(f, "; PROBLEM: {problem}")?;
        }
        Ok(())
    }
}

/// Seeds and cut delays for `iterations` iterations, drawn from `seed`.
pub fn plan(seed: u64, iterations: u32, cut_range_ms: (u64, u64)) -> Vec<(u64, Duration)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (low, high) = (cut_range_ms.0.min(cut_range_ms.1), cut_range_ms.0.max(cut_range_ms.1));
    (0..iterations).map(|_| (rng.random(), Duration::from_millis(rng.random_range(low..=high)))).collect()
}

/// Runs one iteration: make and mount a file system, write, cut, recover, check. Every mount,
/// loop device and temporary file is gone when it returns, whatever happened.
pub async fn run_iteration(config: IterationConfig) -> Result<IterationReport, CrashError> {
    let started = Instant::now();
    let scratch = tempfile::Builder::new()
        .prefix("trent-crash-")
        .tempdir()
        .map_err(CrashError::io("creating a scratch directory"))?;
    let image = scratch.path().join("device.img");
    let cut_image = scratch.path().join("cut.img");
    make_ext4_image(&image, IMAGE_BYTES)?;

    let live = MountedImage::mount(&image, &make_dir(scratch.path(), "live")?)?;
    let acks = write_and_cut(&config, live.mount_point(), &image, &cut_image, scratch.path()).await?;
    live.unmount()?;

    let recovered = MountedImage::mount(&cut_image, &make_dir(scratch.path(), "recovered")?)?;
    let reference = make_dir(scratch.path(), "reference")?;
    let store = recovered.mount_point().join("store");
    let recovery = check::verify(&store, config.seed, &acks, &reference).await?;
    recovered.unmount()?;

    let acked_votes = acks.iter().filter(|ack| matches!(ack, Ack::Vote(_))).count() as u64;
    Ok(IterationReport { config, recovery, acked_votes, elapsed: started.elapsed() })
}

/// Runs the writer on the mounted file system, cuts the power after `config.cut_after` by
/// copying `image` to `cut_image`, and returns the acknowledgements printed before the cut.
async fn write_and_cut(
    config: &IterationConfig,
    mount_point: &Path,
    image: &Path,
    cut_image: &Path,
    scratch: &Path,
) -> Result<Vec<Ack>, CrashError> {
    let writer_log = scratch.join("writer.stderr");
    let stderr = std::fs::File::create(&writer_log).map_err(CrashError::io("creating the writer's log"))?;
    let mut command = Command::new(&config.writer_exe);
    command
        .arg("writer")
        .arg("--dir")
        .arg(mount_point.join("store"))
        .arg("--seed")
        .arg(config.seed.to_string());
    if config.planted_no_fsync {
        command.arg("--planted-no-fsync");
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .map_err(CrashError::io(format!("starting {}", config.writer_exe.display())))?;
    let stdout = child.stdout.take().ok_or_else(|| CrashError::Writer("no stdout pipe".to_owned()))?;
    let reader = tokio::spawn(read_acks(stdout));

    tokio::select! {
        () = tokio::time::sleep(config.cut_after) => {}
        status = child.wait() => {
            let status = status.map_err(CrashError::io("waiting for the writer"))?;
            let log = std::fs::read_to_string(&writer_log).unwrap_or_default();
            return Err(CrashError::Writer(format!("exited before the cut ({status}): {}", log.trim())));
        }
    }
    let pid = child.id().ok_or_else(|| CrashError::Writer("no pid".to_owned()))?;
    run_tool("kill", &["-STOP", &pid.to_string()])?;
    wait_until_stopped(pid).await?;
    copy_image(image, cut_image)?;
    kill(&mut child).await?;
    // Killed, the writer's end of the pipe is closed: the reader sees every line it printed.
    reader.await.map_err(|error| CrashError::Writer(format!("ack reader: {error}")))?
}

async fn read_acks(stdout: ChildStdout) -> Result<Vec<Ack>, CrashError> {
    let mut lines = BufReader::new(stdout).lines();
    let mut acks = Vec::new();
    while let Some(line) = lines.next_line().await.map_err(CrashError::io("reading the writer's acks"))? {
        if acks.len() >= MAX_ACKS {
            return Err(CrashError::Writer(format!("more than {MAX_ACKS} acknowledgements")));
        }
        acks.push(Ack::parse(&line).ok_or_else(|| CrashError::Writer(format!("unexpected line {line:?}")))?);
    }
    Ok(acks)
}

/// Waits until every thread of `pid` is stopped (or gone): none is still inside a system call.
async fn wait_until_stopped(pid: u32) -> Result<(), CrashError> {
    let deadline = Instant::now() + STOP_TIMEOUT;
    while !all_threads_stopped(pid)? {
        if Instant::now() > deadline {
            return Err(CrashError::Writer(format!("did not stop within {STOP_TIMEOUT:?}")));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

fn all_threads_stopped(pid: u32) -> Result<bool, CrashError> {
    let tasks = match std::fs::read_dir(format!("/proc/{pid}/task")) {
        Ok(tasks) => tasks,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(error) => {
            return Err(CrashError::Io { what: format!("listing /proc/{pid}/task"), source: error })
        }
    };
    for task in tasks {
        let task = task.map_err(CrashError::io(format!("listing /proc/{pid}/task")))?;
        // A thread that exits while we look has nothing left to write.
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        // The state follows the command name, which is in parentheses and may contain anything.
        let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next());
        if !matches!(state, Some('T' | 't' | 'Z' | 'X')) {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn kill(child: &mut Child) -> Result<(), CrashError> {
    child.start_kill().map_err(CrashError::io("killing the writer"))?;
    child.wait().await.map_err(CrashError::io("waiting for the killed writer"))?;
    Ok(())
}

fn make_dir(parent: &Path, name: &str) -> Result<PathBuf, CrashError> {
    let dir = parent.join(name);
    std::fs::create_dir(&dir).map_err(CrashError::io(format!("creating {}", dir.display())))?;
    Ok(dir)
}

/// Totals over many iterations.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Iterations run.
    pub iterations: u64,
    /// Log entries acknowledged, over all iterations.
    pub acked_logs: u64,
    /// Votes acknowledged, over all iterations.
    pub acked_votes: u64,
    /// Acknowledged writes lost, over all iterations.
    pub lost: u64,
    /// Iterations that lost at least one acknowledged write.
    pub iterations_with_loss: u64,
    /// Iterations whose recovered store had another problem.
    pub iterations_with_problems: u64,
}

impl Summary {
    /// Counts one iteration in.
    pub fn add(&mut self, report: &IterationReport) {
        self.iterations += 1;
        self.acked_logs += report.recovery.acked_logs;
        self.acked_votes += report.acked_votes;
        self.lost += report.recovery.lost();
        self.iterations_with_loss += u64::from(report.recovery.lost() > 0);
        self.iterations_with_problems += u64::from(!report.recovery.problems.is_empty());
    }

    /// Whether every iteration kept every acknowledged write and recovered consistently.
    pub fn is_clean(&self) -> bool {
        self.lost == 0 && self.iterations_with_problems == 0
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} iterations: {} entries + {} votes acknowledged ({:.0} entries per iteration), {} lost, \
             {} iterations with loss, {} with other problems",
            self.iterations,
            self.acked_logs,
            self.acked_votes,
            self.acked_logs as f64 / self.iterations.max(1) as f64,
            self.lost,
            self.iterations_with_loss,
            self.iterations_with_problems,
        )
    }
}
