//! `trent-bench` arguments: what to load, how hard, and where the results go. Every number has a
//! bound, checked here before anything starts.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use trent_wire::model::{KeySpec, KeyUsage};

use crate::runner::{Pacing, Plan};
use crate::target::key_kind::{parse_key_spec, parse_key_usage, KeyKind};
use crate::target::kms::MAX_KEYS;
use crate::target::TargetKind;
use crate::workload::{Mix, Op};

/// Most workers a run may start.
pub const MAX_CONCURRENCY: usize = 4096;
/// Longest run accepted, seconds (one day).
pub const MAX_SECONDS: u64 = 86_400;
/// Highest open-loop rate, calls per second.
pub const MAX_RATE: f64 = 1_000_000.0;
/// Measured time when neither `--duration` nor `--requests` is given, seconds.
const DEFAULT_DURATION_SECS: u64 = 10;
/// Upper bound on the measured time of a `--requests` run without `--duration`, seconds.
const REQUESTS_RUN_CAP_SECS: u64 = 300;

/// Load harness for AWS-KMS-compatible servers and their peers.
#[derive(Debug, Parser)]
#[command(name = "trent-bench", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Another command instead of a run.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// A run (the default).
    #[command(flatten)]
    pub run: RunArgs,
}

/// Commands besides a run.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Overlay the latency spectra of several JSON reports in one SVG.
    Plot(PlotArgs),
}

/// `trent-bench plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// The SVG to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The plot's title.
    #[arg(long, default_value = "Latency by percentile")]
    pub title: String,
    /// Reports written by `--json-out`.
    #[arg(required = true, num_args = 1..=8, value_name = "REPORT.json")]
    pub reports: Vec<PathBuf>,
}

/// One run.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The protocol the endpoints speak.
    #[arg(long, value_enum, default_value_t = TargetKind::Kms)]
    pub target: TargetKind,
    /// Comma-separated endpoints; calls are spread round-robin across them.
    #[arg(long, env = "TRENT_ENDPOINTS", value_delimiter = ',', default_value = "http://127.0.0.1:8400")]
    pub endpoints: Vec<String>,
    /// PEM CA bundle to trust for https endpoints (the cluster's ca.pem).
    #[arg(long, env = "TRENT_CA_CERT", value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// A single operation to load (see `--mix` for several).
    #[arg(long, value_enum, conflicts_with = "mix")]
    pub op: Option<Op>,
    /// A weighted operation mix, e.g. `encrypt=70,decrypt=20,generate-data-key=10`.
    #[arg(long)]
    pub mix: Option<String>,
    /// Keys the calls spread over (1 to 1,000,000), made before the run.
    #[arg(long, default_value_t = 1)]
    pub keys: usize,
    /// Reuse the key ids in this file (one per line) and append the ones this run makes.
    #[arg(long, value_name = "FILE")]
    pub keys_file: Option<PathBuf>,
    /// Decrypt the blobs in this file (base64, one per line, e.g. made under many material
    /// versions of one key by bench/rotation-setup.py) instead of one made per key.
    #[arg(long, value_name = "FILE")]
    pub ciphertexts_file: Option<PathBuf>,
    /// The spec of the keys the run makes, as AWS spells it (ECC_NIST_P256, RSA_2048, HMAC_256,
    /// ML_KEM_768, …); sign, verify, generate-mac, derive-shared-secret and encapsulate need one
    /// that serves them.
    #[arg(long, value_name = "SPEC", value_parser = parse_key_spec, default_value = "SYMMETRIC_DEFAULT")]
    pub key_spec: KeySpec,
    /// The usage of the keys the run makes (default: what the operations need, else the spec's
    /// default), e.g. KEY_AGREEMENT.
    #[arg(long, value_name = "USAGE", value_parser = parse_key_usage)]
    pub key_usage: Option<KeyUsage>,
    /// Closed loop: calls in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Open loop at this many calls per second (latency counted from when each call was due).
    #[arg(long, value_name = "CALLS_PER_SEC")]
    pub rate: Option<f64>,
    /// Open loop: most calls in flight (default: --concurrency).
    #[arg(long, value_name = "N")]
    pub max_in_flight: Option<usize>,
    /// Measured seconds after warm-up (default 10, or at most 300 with --requests).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
    /// Stop after this many measured calls.
    #[arg(long, value_name = "N")]
    pub requests: Option<u64>,
    /// Seconds of load before recording starts.
    #[arg(long, value_name = "SECS", default_value_t = 1)]
    pub warmup: u64,
    /// Per-call timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub timeout: u64,
    /// Plaintext size of encrypt-like calls, and message size of sign, verify and generate-mac,
    /// bytes (1–4096).
    #[arg(long, value_name = "BYTES", default_value_t = 1024)]
    pub plaintext_bytes: usize,
    /// A name for the run in the table, JSON and plots.
    #[arg(long)]
    pub label: Option<String>,
    /// Write a wrk Lua script that sends this operation's request, signed once, and exit.
    #[arg(long, value_name = "FILE")]
    pub wrk_script: Option<PathBuf>,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
    /// Also write the latency spectrum as SVG to this file.
    #[arg(long, value_name = "FILE")]
    pub plot_out: Option<PathBuf>,
    /// Fail (exit 3) when more than this share of measured calls failed, or none succeeded.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.01)]
    pub max_error_rate: f64,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl RunArgs {
    /// The operation mix: `--mix`, `--op`, or Encrypt.
    pub fn mix(&self) -> anyhow::Result<Mix> {
        match (&self.mix, self.op) {
            (Some(text), _) => Mix::parse(text).map_err(anyhow::Error::msg),
            (None, Some(op)) => Ok(Mix::single(op)),
            (None, None) => Ok(Mix::single(Op::Encrypt)),
        }
    }

    /// The kind of key the run makes, checked to serve every operation of the mix.
    pub fn key_kind(&self, mix: &Mix) -> anyhow::Result<KeyKind> {
        let ops: Vec<Op> = mix.ops().collect();
        KeyKind::for_ops(self.key_spec, self.key_usage, &ops).map_err(anyhow::Error::msg)
    }

    /// The run's plan, with every number checked against its bound.
    pub fn plan(&self) -> anyhow::Result<Plan> {
        let in_range = |value: u64, low: u64, high: u64| (low..=high).contains(&value);
        anyhow::ensure!(
            in_range(self.concurrency as u64, 1, MAX_CONCURRENCY as u64),
            "--concurrency must be 1 to {MAX_CONCURRENCY}"
        );
        anyhow::ensure!(in_range(self.keys as u64, 1, MAX_KEYS as u64), "--keys must be 1 to {MAX_KEYS}");
        anyhow::ensure!(
            in_range(self.plaintext_bytes as u64, 1, 4096),
            "--plaintext-bytes must be 1 to 4096"
        );
        anyhow::ensure!(in_range(self.warmup, 0, MAX_SECONDS), "--warmup must be at most {MAX_SECONDS}");
        anyhow::ensure!(in_range(self.timeout, 1, 600), "--timeout must be 1 to 600");
        anyhow::ensure!((0.0..=1.0).contains(&self.max_error_rate), "--max-error-rate must be 0 to 1");
        if let Some(duration) = self.duration {
            anyhow::ensure!(in_range(duration, 1, MAX_SECONDS), "--duration must be 1 to {MAX_SECONDS}");
        }
        if let Some(requests) = self.requests {
            anyhow::ensure!(requests >= 1, "--requests must be at least 1");
        }
        let duration = match (self.duration, self.requests) {
            (Some(secs), _) => secs,
            (None, Some(_)) => REQUESTS_RUN_CAP_SECS,
            (None, None) => DEFAULT_DURATION_SECS,
        };
        let pacing = match self.rate {
            Some(rate) => {
                anyhow::ensure!(
                    rate > 0.0 && rate <= MAX_RATE,
                    "--rate must be above 0 and at most {MAX_RATE}"
                );
                let max_in_flight = self.max_in_flight.unwrap_or(self.concurrency);
                anyhow::ensure!(
                    in_range(max_in_flight as u64, 1, MAX_CONCURRENCY as u64),
                    "--max-in-flight must be 1 to {MAX_CONCURRENCY}"
                );
                Pacing::Open { rate, max_in_flight }
            }
            None => Pacing::Closed { concurrency: self.concurrency },
        };
        Ok(Plan {
            pacing,
            warmup: Duration::from_secs(self.warmup),
            duration: Duration::from_secs(duration),
            requests: self.requests,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(argv: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("trent-bench").chain(argv.iter().copied()))
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn duration_defaults_depend_on_request_count() {
        let by_time = parse(&["--endpoints", "a:1"]).unwrap().run.plan().unwrap();
        assert_eq!(by_time.duration, Duration::from_secs(DEFAULT_DURATION_SECS));
        assert_eq!((by_time.pacing, by_time.requests), (Pacing::Closed { concurrency: 64 }, None));
        let by_count = parse(&["--requests", "1000"]).unwrap().run.plan().unwrap();
        assert_eq!(by_count.duration, Duration::from_secs(REQUESTS_RUN_CAP_SECS));
        let both = parse(&["--requests", "5", "--duration", "2"]).unwrap().run.plan().unwrap();
        assert_eq!(both.duration, Duration::from_secs(2));
    }

    #[test]
    fn a_rate_means_an_open_loop() {
        let plan = parse(&["--rate", "2500", "--max-in-flight", "128"]).unwrap().run.plan().unwrap();
        assert_eq!(plan.pacing, Pacing::Open { rate: 2500.0, max_in_flight: 128 });
    }

    #[test]
    fn refuses_unbounded_or_absurd_settings() {
        for argv in [
            &["--concurrency", "0"][..],
            &["--concurrency", "100000"],
            &["--duration", "0"],
            &["--requests", "0"],
            &["--plaintext-bytes", "0"],
            &["--plaintext-bytes", "4097"],
            &["--keys", "0"],
            &["--keys", "1000001"],
            &["--rate", "0"],
            &["--rate", "-5"],
            &["--rate", "1e9"],
        ] {
            let refused = match parse(argv) {
                Err(_) => true,
                Ok(cli) => cli.run.plan().is_err(),
            };
            assert!(refused, "{argv:?}");
        }
        assert!(parse(&["--op", "frobnicate"]).is_err());
        assert!(parse(&["--key-spec", "AES_256"]).is_err());
        assert!(parse(&["--op", "encrypt", "--mix", "decrypt"]).is_err(), "one of --op and --mix");
        assert!(parse(&["--mix", "encrypt=0"]).unwrap().run.mix().is_err());
    }

    #[test]
    fn the_key_spec_chooses_the_keys_and_the_usage_follows_the_operation() {
        let default = parse(&[]).unwrap().run;
        assert!(default.key_kind(&default.mix().unwrap()).unwrap().is_default());
        let sign = parse(&["--op", "sign", "--key-spec", "ECC_NIST_P256"]).unwrap().run;
        assert_eq!(sign.key_kind(&sign.mix().unwrap()).unwrap().usage(), KeyUsage::SignVerify);
        let wrong = parse(&[
            "--op",
            "derive-shared-secret",
            "--key-spec",
            "ECC_NIST_P256",
            "--key-usage",
            "SIGN_VERIFY",
        ])
        .unwrap()
        .run;
        assert!(wrong.key_kind(&wrong.mix().unwrap()).is_err());
        assert!(parse(&["--op", "sign"]).unwrap().run.key_kind(&Mix::single(Op::Sign)).is_err());
    }

    #[test]
    fn plot_takes_reports() {
        let cli = parse(&["plot", "--out", "x.svg", "a.json", "b.json"]).unwrap();
        let Some(Command::Plot(args)) = cli.command else { panic!("not a plot") };
        assert_eq!(args.reports.len(), 2);
    }
}
