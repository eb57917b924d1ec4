//! `trent-jepsen-crash`: the storage crash test. `run` cuts the power under a writer many times
//! and checks that every acknowledged write survived; `writer` is the child it runs.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use trent_jepsen::crash::writer::{run_writer, WriterConfig};
use trent_jepsen::crash::{image, plan, run_iteration, IterationConfig, Summary};

#[derive(Parser)]
#[command(version, about = "Power-loss test of trent-storage on a loop-mounted ext4 image (needs root)")]
struct Cli {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Run iterations: write, cut the power at a seeded moment, recover, check.
    Run {
        /// Iterations to run.
        #[arg(long, default_value_t = 20)]
        iterations: u32,
        /// Seed of the whole run (each iteration's seed and cut time are drawn from it).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Earliest cut, milliseconds after the writer starts.
        #[arg(long, default_value_t = 50)]
        min_cut_ms: u64,
        /// Latest cut, milliseconds after the writer starts.
        #[arg(long, default_value_t = 1500)]
        max_cut_ms: u64,
        /// Plant a bug: the writer acknowledges writes with every sync disabled. Losses expected.
        #[arg(long)]
        planted_no_fsync: bool,
    },
    /// The child: write the seeded workload to a store and print an ack after each durable write.
    #[command(hide = true)]
    Writer {
        /// The store's directory.
        #[arg(long)]
        dir: PathBuf,
        /// The workload's seed.
        #[arg(long)]
        seed: u64,
        /// Disable every sync system call in this process before writing.
        #[arg(long)]
        planted_no_fsync: bool,
        /// Stop after this many log entries.
        #[arg(long, default_value_t = 1_000_000)]
        max_entries: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Mode::Run { iterations, seed, min_cut_ms, max_cut_ms, planted_no_fsync } => {
            if let Some(reason) = image::unavailable_reason() {
                anyhow::bail!("cannot run the crash test: {reason}");
            }
            let writer_exe = std::env::current_exe().context("finding this executable")?;
            let mut summary = Summary::default();
            for (n, (seed, cut_after)) in (1..).zip(plan(seed, iterations, (min_cut_ms, max_cut_ms))) {
                let config =
                    IterationConfig { writer_exe: writer_exe.clone(), seed, cut_after, planted_no_fsync };
                let report = run_iteration(config).await.with_context(|| format!("iteration {n}"))?;
                println!("{n:>4} {report}");
                summary.add(&report);
            }
            println!("{}{summary}", if planted_no_fsync { "planted no-fsync: " } else { "" });
            Ok(if summary.is_clean() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Mode::Writer { dir, seed, planted_no_fsync, max_entries } => {
            let config = WriterConfig { dir, seed, planted_no_fsync, max_entries };
            run_writer(&config, &mut std::io::stdout().lock()).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
