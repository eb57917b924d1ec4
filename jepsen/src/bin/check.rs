//! `trent-jepsen-check`: reads a JSON-lines history and prints a linearizability verdict per key;
//! with `--audit DIR` (once per node) it checks instead that every call the history says was
//! acknowledged is recorded in those audit logs and that each log verifies (a run kept with
//! `trent-jepsen --keep-data`: `results/<run>/cluster/node-<i>/audit`).
//!
//! Exit status: 0 when every key is linearizable (every call recorded, every log intact), 1 when
//! some key is not (an anomaly), 2 when some key is unknown (a search limit was reached, a log
//! could not be read) or the history could not be read.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use trent_jepsen::harness::audit::{check_audit_trails, AuditTrail};
use trent_jepsen::{
    check, pair_operations, CheckLimits, HistoryLimits, HistoryReader, KeyState, KeyStateRegister, Model,
    Register, Report, Summary,
};

const USAGE: &str = "usage: trent-jepsen-check [--model key-state|register] [--initial Enabled|Disabled] \
                     [--max-steps N] [--only f,f,...] <history.jsonl | ->\n\
                     --only keeps operations with these names (a trent-jepsen history: --only enable,disable,describe)\n\
                     trent-jepsen-check --audit DIR [--audit DIR ...] [--audit-public-key PEM] <history.jsonl | ->\n\
                     checks the acknowledged calls against the nodes' audit logs instead";

/// The sequential specification to check against.
enum ModelChoice {
    KeyState,
    Register,
}

/// What the command line asked for.
struct Args {
    path: String,
    model: ModelChoice,
    initial: KeyState,
    limits: CheckLimits,
    /// Keep only operations with these names; all when empty.
    only: Vec<String>,
    /// Audit directories to check the history against, instead of linearizability.
    audit: Vec<PathBuf>,
    /// The PEM public key digests verify with.
    audit_public_key: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run() {
        Ok(Summary::Linearizable) => ExitCode::from(0),
        Ok(Summary::NotLinearizable) => ExitCode::from(1),
        Ok(Summary::Unknown) => ExitCode::from(2),
        Err(error) => {
            eprintln!("trent-jepsen-check: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<Summary> {
    let args = parse_args(std::env::args().skip(1))?;
    let limits = HistoryLimits::default();
    let events = if args.path == "-" {
        HistoryReader::new(io::stdin().lock(), limits).read_all()
    } else {
        let file = File::open(&args.path).with_context(|| format!("opening {}", args.path))?;
        HistoryReader::new(BufReader::new(file), limits).read_all()
    }
    .with_context(|| format!("reading {}", args.path))?;
    if !args.audit.is_empty() {
        return check_audit(&args, &events);
    }
    let mut operations = pair_operations(&events).context("pairing invocations with completions")?;
    if !args.only.is_empty() {
        operations.retain(|op| args.only.contains(&op.f));
    }
    let started = Instant::now();
    let report = match args.model {
        ModelChoice::KeyState => {
            run_check(&KeyStateRegister { initial: args.initial }, &operations, &args.limits)?
        }
        ModelChoice::Register => run_check(&Register, &operations, &args.limits)?,
    };
    for key in &report.keys {
        println!("{key}");
    }
    let summary = report.summary();
    println!(
        "{summary:?}: {} keys, {} operations from {} events, checked in {:.3} s",
        report.keys.len(),
        operations.len(),
        events.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(summary)
}

/// The audit checkers over `args.audit`; a lost record or broken chain is `NotLinearizable`'s
/// exit status, an unreadable log `Unknown`'s.
fn check_audit(args: &Args, events: &[trent_jepsen::Event]) -> anyhow::Result<Summary> {
    let trails: Vec<AuditTrail> = args
        .audit
        .iter()
        .map(|dir| AuditTrail { node: dir.display().to_string(), dir: dir.clone() })
        .collect();
    let public_key = match &args.audit_public_key {
        Some(path) => {
            let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            Some((path.display().to_string(), pem))
        }
        None => None,
    };
    let findings = check_audit_trails(&trails, events, public_key);
    println!("{}", serde_json::to_string_pretty(&findings)?);
    for anomaly in &findings.anomalies {
        println!("{}: {}: {}", anomaly.kind, anomaly.key, anomaly.detail);
    }
    Ok(if !findings.anomalies.is_empty() {
        Summary::NotLinearizable
    } else if findings.unverified > 0 {
        Summary::Unknown
    } else {
        Summary::Linearizable
    })
}

fn run_check<M: Model>(
    model: &M,
    operations: &[trent_jepsen::Operation],
    limits: &CheckLimits,
) -> anyhow::Result<Report> {
    Ok(check(model, operations, limits)?)
}

fn parse_args(mut raw: impl Iterator<Item = String>) -> anyhow::Result<Args> {
    let mut path = None;
    let mut model = ModelChoice::KeyState;
    let mut initial = KeyState::Enabled;
    let mut limits = CheckLimits::default();
    let mut only = Vec::new();
    let mut audit = Vec::new();
    let mut audit_public_key = None;
    while let Some(arg) = raw.next() {
        let mut value = |name: &str| raw.next().with_context(|| format!("{name} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--model" => {
                model = match value("--model")?.as_str() {
                    "key-state" => ModelChoice::KeyState,
                    "register" => ModelChoice::Register,
                    other => bail!("unknown model {other:?}\n{USAGE}"),
                }
            }
            "--initial" => {
                initial = match value("--initial")?.as_str() {
                    "Enabled" => KeyState::Enabled,
                    "Disabled" => KeyState::Disabled,
                    other => bail!("--initial must be Enabled or Disabled, not {other:?}"),
                }
            }
            "--max-steps" => {
                limits.max_steps_per_key = value("--max-steps")?.parse().context("--max-steps")?;
            }
            "--only" => only = value("--only")?.split(',').map(str::to_owned).collect(),
            "--audit" => audit.push(PathBuf::from(value("--audit")?)),
            "--audit-public-key" => audit_public_key = Some(PathBuf::from(value("--audit-public-key")?)),
            "-h" | "--help" => bail!("{USAGE}"),
            _ if path.is_none() && (arg == "-" || !arg.starts_with('-')) => path = Some(arg),
            _ => bail!("unexpected argument {arg:?}\n{USAGE}"),
        }
    }
    let path = path.with_context(|| format!("no history file given\n{USAGE}"))?;
    Ok(Args { path, model, initial, limits, only, audit, audit_public_key })
}
