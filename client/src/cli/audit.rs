//! `trent audit`: `verify` runs `trent_audit::verify_dir` on a directory and prints the report,
//! as one line per outcome or `--json`, the exit status saying whether the log is intact;
//! `query`, `tail` and `public-key` read the trail through a node.

use std::process::ExitCode;

use anyhow::Context;
use trent_audit::{DigestVerifier, Event, Filter, VerifyReport};

use super::args::{AuditCommand, FilterArgs, QueryArgs, TailArgs, VerifyArgs};
use trent_client::audit::AuditQuery;
use trent_client::TrentClient;

/// Most records one request asks for.
const PAGE_LIMIT: u32 = 1000;

/// The largest public key file read.
const MAX_PUBLIC_KEY_BYTES: u64 = 16 * 1024;

/// Runs `trent audit verify`, which needs no cluster.
pub fn verify_offline(json: bool, args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    verify(json, args)
}

/// Runs an audit command through `client` (`verify` reads only files).
pub async fn run(client: &TrentClient, json: bool, command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify(args) => verify(json, &args),
        AuditCommand::Query(args) => query(client, json, args).await,
        AuditCommand::Tail(args) => tail(client, json, args).await,
        AuditCommand::PublicKey => {
            let key = client.audit_public_key().await?;
            super::show(json, &key, || key.public_key.trim_end().to_owned())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn audit_query(filter: FilterArgs) -> AuditQuery {
    AuditQuery {
        filter: Filter {
            event_name: filter.event_name,
            key_id: filter.key_id,
            principal: filter.principal,
            error_code: filter.error_code,
            start_time: filter.since,
            end_time: filter.until,
        },
        cluster: filter.cluster,
        ..AuditQuery::default()
    }
}

/// `trent audit query`: up to `--limit` records, following pages; `--json` prints them as one
/// page with the token that goes on.
async fn query(client: &TrentClient, json: bool, args: QueryArgs) -> anyhow::Result<ExitCode> {
    let mut query = AuditQuery { next_token: args.next_token, ..audit_query(args.filter) };
    let mut events = Vec::new();
    let mut unreachable = Vec::new();
    let next_token = loop {
        let wanted = args.limit.saturating_sub(events.len() as u32);
        if wanted == 0 {
            break query.next_token;
        }
        query.limit = Some(wanted.min(PAGE_LIMIT));
        let page = client.audit_page(&query).await?;
        events.extend(page.events);
        unreachable.extend(page.unreachable_nodes);
        match page.next_token {
            Some(token) => query.next_token = Some(token),
            None => break None,
        }
    };
    unreachable.sort_unstable();
    unreachable.dedup();
    let page =
        trent_audit::AuditPage { events, next_token, resume_token: None, unreachable_nodes: unreachable };
    super::show(json, &page, || {
        let mut lines: Vec<String> = page.events.iter().map(line).collect();
        if let Some(token) = &page.next_token {
            lines.push(format!("(more: --next-token {token})"));
        }
        if !page.unreachable_nodes.is_empty() {
            lines.push(format!("(nodes that did not answer: {:?})", page.unreachable_nodes));
        }
        lines.join("\n")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `trent audit tail`: skips what is there (unless `--from-start`), then polls with the
/// page's resume token and prints each new record as it comes.
async fn tail(client: &TrentClient, json: bool, args: TailArgs) -> anyhow::Result<ExitCode> {
    let mut query = AuditQuery { limit: Some(PAGE_LIMIT), ..audit_query(args.filter) };
    let mut printed: u64 = 0;
    let mut skipping = !args.from_start;
    let interval = std::time::Duration::from_millis(args.interval_ms.max(50));
    loop {
        let page = client.audit_page(&query).await?;
        if !skipping {
            for event in &page.events {
                if json {
                    println!("{}", serde_json::to_string(event)?);
                } else {
                    println!("{}", line(event));
                }
                printed += 1;
                if args.count.is_some_and(|count| printed >= count) {
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
        let caught_up = page.next_token.is_none();
        query.next_token = page.next_token.or(page.resume_token).or(query.next_token);
        if caught_up {
            skipping = false;
            tokio::time::sleep(interval).await;
        }
    }
}

/// One record for people: time, node, operation, caller, key, outcome, address.
fn line(event: &Event) -> String {
    let caller = event.user_identity.as_ref().and_then(|identity| {
        identity
            .user_name
            .clone()
            .or_else(|| identity.access_key_id.clone())
            .or_else(|| identity.invoked_by.clone())
    });
    let key =
        event.resources.first().map(|resource| resource.arn.rsplit('/').next().unwrap_or(&resource.arn));
    let outcome = event.error_code.as_deref().unwrap_or("OK");
    format!(
        "{} node{} {} {} {} {} {}",
        event.event_time,
        event.node_id,
        event.event_name,
        caller.as_deref().unwrap_or("-"),
        key.unwrap_or("-"),
        outcome,
        event.source_ip_address.as_deref().unwrap_or("-"),
    )
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
