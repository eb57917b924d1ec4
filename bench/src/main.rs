//! `trent-bench`: a closed-loop load generator for AWS-KMS-compatible servers. Workers keep one
//! call each in flight, spread round-robin over the endpoints through one connection pool, with
//! no retries so every error is seen; latency goes into an HDR histogram after warm-up.

mod report;
mod runner;
mod workload;
mod wrk_script;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use trent_client::{ClientOptions, RetryPolicy, TrentClient};

use report::Report;
use runner::Plan;
use workload::{Op, Workload};

/// Most workers a run may start.
const MAX_CONCURRENCY: usize = 4096;
/// Longest run accepted, seconds (one day).
const MAX_SECONDS: u64 = 86_400;
/// Measured time when neither `--duration` nor `--requests` is given, seconds.
const DEFAULT_DURATION_SECS: u64 = 10;
/// Upper bound on the measured time of a `--requests` run without `--duration`, seconds.
const REQUESTS_RUN_CAP_SECS: u64 = 300;

/// Closed-loop load generator for AWS-KMS-compatible servers.
#[derive(Debug, Parser)]
#[command(name = "trent-bench", version)]
struct Args {
    /// Comma-separated endpoints; calls are spread round-robin across them.
    #[arg(long, env = "TRENT_ENDPOINTS", value_delimiter = ',', default_value = "http://127.0.0.1:8400")]
    endpoints: Vec<String>,
    /// PEM CA bundle to trust for https endpoints (the cluster's ca.pem).
    #[arg(long, env = "TRENT_CA_CERT", value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    /// The operation to load.
    #[arg(long, value_enum, default_value_t = Op::DescribeKey)]
    op: Op,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=MAX_CONCURRENCY as u64))]
    concurrency: u64,
    /// Measured seconds after warm-up (default 10, or at most 300 with --requests).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=MAX_SECONDS))]
    duration: Option<u64>,
    /// Stop after this many measured calls.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    requests: Option<u64>,
    /// Seconds of load before recording starts.
    #[arg(long, value_name = "SECS", default_value_t = 1, value_parser = clap::value_parser!(u64).range(0..=MAX_SECONDS))]
    warmup: u64,
    /// Per-call timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    timeout: u64,
    /// Key the key-based operations use (default: one created before the run).
    #[arg(long)]
    key_id: Option<String>,
    /// Plaintext size of encrypt, decrypt and re-encrypt, bytes (1–4096).
    #[arg(long, value_name = "BYTES", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=4096))]
    plaintext_bytes: u64,
    /// Write a wrk Lua script that sends this operation's request, signed once, and exit (for
    /// measuring with wrk; a signature stays valid for 5 minutes).
    #[arg(long, value_name = "FILE")]
    wrk_script: Option<PathBuf>,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json_out: Option<PathBuf>,
}

impl Args {
    fn plan(&self) -> Plan {
        let default_secs =
            if self.requests.is_some() { REQUESTS_RUN_CAP_SECS } else { DEFAULT_DURATION_SECS };
        Plan {
            concurrency: usize::try_from(self.concurrency).unwrap_or(MAX_CONCURRENCY).min(MAX_CONCURRENCY),
            warmup: Duration::from_secs(self.warmup),
            duration: Duration::from_secs(self.duration.unwrap_or(default_secs)),
            requests: self.requests,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let plan = args.plan();
    let options = ClientOptions {
        timeout: Duration::from_secs(args.timeout),
        retry: RetryPolicy::none(),
        signing: trent_client::signing_from_env(),
        ca_bundle: args.ca_cert.as_deref().map(trent_client::CaBundle::from_pem_file).transpose()?,
        ..ClientOptions::default()
    };
    let client = TrentClient::with_options(args.endpoints.clone(), options)?;
    let setup = client.with_retry_policy(RetryPolicy::default());
    let workload = Workload::prepare(args.op, &setup, args.key_id.clone(), args.plaintext_bytes as usize)
        .await
        .context("preparing the workload")?;
    if let Some(path) = &args.wrk_script {
        let endpoint = client.endpoints().first().context("no endpoint")?;
        let signing = trent_client::signing_from_env()
            .context("--wrk-script needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")?;
        let script = wrk_script::script(&workload, endpoint.authority().as_str(), &signing)?;
        std::fs::write(path, script).with_context(|| format!("writing {}", path.display()))?;
        return Ok(());
    }

    let measurement = runner::run(&client, workload, &plan).await?;
    let endpoints = client.endpoints().iter().map(ToString::to_string).collect();
    let report =
        Report::new(args.op.name(), endpoints, plan.concurrency, plan.warmup.as_secs_f64(), &measurement);
    print!("{}", report.table());
    if let Some(path) = &args.json_out {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(argv: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("trent-bench").chain(argv.iter().copied())).unwrap()
    }

    #[test]
    fn cli_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn duration_defaults_depend_on_request_count() {
        let by_time = parse(&["--endpoints", "a:1"]).plan();
        assert_eq!(by_time.duration, Duration::from_secs(DEFAULT_DURATION_SECS));
        assert_eq!((by_time.concurrency, by_time.requests), (64, None));
        let by_count = parse(&["--endpoints", "a:1", "--requests", "1000"]).plan();
        assert_eq!(by_count.duration, Duration::from_secs(REQUESTS_RUN_CAP_SECS));
        assert_eq!(by_count.requests, Some(1000));
        let both = parse(&["--endpoints", "a:1", "--requests", "5", "--duration", "2"]).plan();
        assert_eq!(both.duration, Duration::from_secs(2));
    }

    #[test]
    fn refuses_unbounded_or_absurd_settings() {
        for argv in [
            &["--concurrency", "0"][..],
            &["--concurrency", "100000"],
            &["--duration", "0"],
            &["--requests", "0"],
            &["--op", "sign"],
            &["--plaintext-bytes", "0"],
            &["--plaintext-bytes", "4097"],
        ] {
            let parsed = Args::try_parse_from(std::iter::once("trent-bench").chain(argv.iter().copied()));
            assert!(parsed.is_err(), "{argv:?}");
        }
    }
}
