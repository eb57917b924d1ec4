//! `trent-bench`: a load harness for AWS-KMS-compatible servers and their peers. It drives one
//! target (Trent or any AWS KMS protocol server, OpenBao transit, etcd, the bare-HTTP and
//! in-process crypto ceilings) with an operation mix over a key set, in a closed or open loop,
//! records latencies in an HDR histogram, and reports a table, JSON and an SVG percentile plot.
//! `trent-bench plot` overlays the spectra of several JSON reports in one SVG.

mod args;
mod plot;
mod progress;
mod report;
mod wrk_script;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use trent_bench::{runner, target, workload};
use trent_client::{ClientOptions, RetryPolicy, TrentClient};

use args::{Cli, Command, PlotArgs, RunArgs};
use report::{Report, Setup};
use runner::{Live, Pacing};
use target::{EchoTarget, EtcdTarget, KmsTarget, LocalCrypto, Target, TargetKind, TransitTarget};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Plot(args)) => plot(args),
        None => run(cli.run).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let plan = args.plan()?;
    let mix = args.mix()?;
    let key_kind = args.key_kind(&mix)?;
    let ops: Vec<_> = mix.ops().collect();
    let timeout = Duration::from_secs(args.timeout);
    let kms_client = || -> anyhow::Result<TrentClient> {
        let options = ClientOptions {
            timeout,
            retry: RetryPolicy::none(),
            signing: trent_client::signing_from_env(),
            ca_bundle: args.ca_cert.as_deref().map(trent_client::CaBundle::from_pem_file).transpose()?,
            ..ClientOptions::default()
        };
        Ok(TrentClient::with_options(args.endpoints.clone(), options)?)
    };
    let target = match args.target {
        TargetKind::Kms => {
            let client = kms_client()?;
            let setup = client.with_retry_policy(RetryPolicy::default());
            let mut kms = KmsTarget::prepare(
                client,
                &setup,
                &ops,
                key_kind,
                args.keys,
                args.keys_file.as_deref(),
                args.plaintext_bytes,
            )
            .await
            .context("preparing keys and ciphertexts")?;
            if let Some(path) = &args.ciphertexts_file {
                kms.use_ciphertexts_file(path)?;
            }
            if let Some(path) = &args.wrk_script {
                let op = ops.first().copied().context("no operation")?;
                let endpoint = setup.endpoints().first().context("no endpoint")?;
                let signing = trent_client::signing_from_env()
                    .context("--wrk-script needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")?;
                let body = kms.sample_request(op)?;
                let script = wrk_script::script(op.target(), &body, endpoint.authority().as_str(), &signing)?;
                std::fs::write(path, script).with_context(|| format!("writing {}", path.display()))?;
                return Ok(());
            }
            Target::Kms(kms)
        }
        TargetKind::Transit => {
            let token = std::env::var("VAULT_TOKEN")
                .or_else(|_| std::env::var("BAO_TOKEN"))
                .context("the transit target needs VAULT_TOKEN (or BAO_TOKEN)")?;
            Target::Transit(
                TransitTarget::prepare(
                    &args.endpoints,
                    token,
                    &ops,
                    key_kind,
                    args.keys,
                    args.plaintext_bytes,
                    timeout,
                )
                .await?,
            )
        }
        TargetKind::Etcd => Target::Etcd(EtcdTarget::new(&args.endpoints, args.plaintext_bytes, timeout)?),
        TargetKind::Echo => Target::Echo(EchoTarget::new(kms_client()?, args.plaintext_bytes)),
        TargetKind::Local => Target::Local(LocalCrypto::new(key_kind, args.plaintext_bytes)?),
    };
    let target = Arc::new(target);
    let setup = Setup {
        label: args.label.clone().unwrap_or_else(|| format!("{} {}", args.target.name(), mix.describe())),
        target: args.target.name().to_owned(),
        mix: mix.describe(),
        endpoints: match args.target {
            TargetKind::Local => vec!["(in process)".to_owned()],
            _ => args.endpoints.clone(),
        },
        pacing: match plan.pacing {
            Pacing::Closed { .. } => "closed".to_owned(),
            Pacing::Open { .. } => "open".to_owned(),
        },
        concurrency: match plan.pacing {
            Pacing::Closed { concurrency } => concurrency,
            Pacing::Open { max_in_flight, .. } => max_in_flight,
        },
        offered_rate: match plan.pacing {
            Pacing::Open { rate, .. } => Some(rate),
            Pacing::Closed { .. } => None,
        },
        keys: target.key_count(),
        plaintext_bytes: args.plaintext_bytes,
        warmup_secs: plan.warmup.as_secs_f64(),
    };

    let live = Arc::new(Live::default());
    let progress =
        progress::Progress::start(&setup.label, plan.warmup, plan.duration, live.clone(), args.quiet);
    let call = {
        let target = target.clone();
        Arc::new(move |sequence: u64| {
            let target = target.clone();
            let op = mix.pick(sequence);
            async move { target.call(op, sequence).await }
        })
    };
    let measurement = runner::run(call, &plan, live).await;
    progress.finish();
    let report = Report::new(setup, &measurement?);
    print!("{}", report.table());
    if let Some(path) = &args.json_out {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.plot_out {
        let svg = plot::spectrum_svg(&report.setup.label, std::slice::from_ref(&report));
        std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))?;
    }
    let calls = report.ok + report.errors_total;
    let error_rate = if calls == 0 { 1.0 } else { report.errors_total as f64 / calls as f64 };
    if report.ok == 0 || error_rate > args.max_error_rate {
        return Err(anyhow::anyhow!(
            "{} of {calls} measured calls failed (more than --max-error-rate {})",
            report.errors_total,
            args.max_error_rate
        ));
    }
    Ok(())
}

fn plot(args: PlotArgs) -> anyhow::Result<()> {
    let mut reports = Vec::new();
    for path in &args.reports {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let report: Report = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a trent-bench report", path.display()))?;
        reports.push(report);
    }
    let svg = plot::spectrum_svg(&args.title, &reports);
    std::fs::write(&args.out, svg).with_context(|| format!("writing {}", args.out.display()))
}
