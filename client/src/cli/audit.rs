//! `trent audit verify`: runs `trent_audit::verify_dir` on a directory and prints the report, as
//! one line per outcome or `--json`; the exit status says whether the log is intact.

use std::process::ExitCode;

use anyhow::Context;
use trent_audit::{DigestVerifier, VerifyReport};

use super::args::{AuditCommand, VerifyArgs};

/// The largest public key file read.
const MAX_PUBLIC_KEY_BYTES: u64 = 16 * 1024;

/// Runs an audit command; needs no cluster.
pub fn run(json: bool, command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify(args) => verify(json, &args),
    }
}

fn verify(json: bool, args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let verifier = match &args.public_key {
        Some(path) => Some(read_verifier(path)?),
        None => None,
    };
    let report = trent_audit::verify_dir(&args.dir, verifier.as_ref())
        .with_context(|| format!("cannot read the audit log in {}", args.dir.display()))?;
    super::show(json, &report, || render(&report))?;
    Ok(if report.is_intact() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn read_verifier(path: &std::path::Path) -> anyhow::Result<DigestVerifier> {
    let size = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.len();
    anyhow::ensure!(size <= MAX_PUBLIC_KEY_BYTES, "{} is too large to be a public key", path.display());
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    DigestVerifier::from_public_key(&bytes)
        .with_context(|| format!("{} is not a digest public key", path.display()))
}

/// One line: the first problem (`file:line: sequence N: Kind: detail`), or what was checked.
fn render(report: &VerifyReport) -> String {
    if let Some(problem) = &report.problem {
        let sequence = problem.sequence.map_or_else(String::new, |sequence| format!(" sequence {sequence}:"));
        return format!(
            "{}:{}:{sequence} {:?}: {}",
            problem.file, problem.line, problem.kind, problem.detail
        );
    }
    let range = match (report.first_sequence, report.last_sequence) {
        (Some(first), Some(last)) => format!(", sequences {first}..={last}"),
        _ => String::new(),
    };
    let mut line = format!(
        "intact: {} records in {} files{range}; {} digests verified, {} unverified",
        report.records, report.files, report.digests_verified, report.digests_unverified
    );
    if let Some(anchor) = report.anchored_at_sequence {
        line.push_str(&format!("; anchored at sequence {anchor} (older files were removed by retention)"));
    }
    if report.unterminated_tail {
        line.push_str("; the newest file ends in a partial, unacknowledged line");
    }
    line
}
