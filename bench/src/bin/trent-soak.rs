//! `trent-soak`: starts a three-node Trent cluster (`trentd dev --nodes 3`), keeps it for a
//! bounded time under a signed workload and the chosen attacks (large AWS-legal rows, slow
//! clients, idle-connection floods, unsigned maximum-size bodies), and checks that every node
//! stayed in service, memory stayed bounded and the signed clients kept their success rate and
//! latency. Prints the checks (PASS/FAIL) and the evidence; `--json-out` writes the same as JSON.
//!
//! Exit status: 0 every check passed, 1 a check failed, 2 the cluster could not be started (or
//! the flags were refused). See `scripts/soak.sh` and `trent-soak --help`.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use trent_bench::soak::args::SoakArgs;
use trent_bench::soak::run::{self, NotRun};

#[tokio::main]
async fn main() -> ExitCode {
    let args = SoakArgs::parse();
    let json_out = args.json_out.clone();
    let report = match run::run(args).await {
        Ok(report) => report,
        Err(NotRun::Interrupted(signal)) => {
            eprintln!("trent-soak: interrupted by {signal} before the run began; the cluster is stopped");
            return ExitCode::from(2);
        }
        Err(error) => {
            eprintln!("trent-soak: {error}");
            return ExitCode::from(2);
        }
    };
    print!("{}", report.table());
    if let Some(path) = json_out {
        let written = serde_json::to_string_pretty(&report).context("encoding the report").and_then(|json| {
            std::fs::write(&path, json + "\n").with_context(|| format!("writing {}", path.display()))
        });
        if let Err(error) = written {
            eprintln!("trent-soak: {error:#}");
            return ExitCode::FAILURE;
        }
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
