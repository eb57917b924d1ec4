//! `trentd healthcheck`: asks a node's health endpoint once and exits 0 only if the node is
//! ready (initialised, unsealed, in touch with a leader, Raft running), or with `--live` only if
//! it is alive (its Raft runs, sealed or not). Made for container healthchecks, where an image
//! built `FROM scratch` has no shell or curl. See [`crate::health`].

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// How long the whole check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// `trentd healthcheck`.
#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// The node's health URL, e.g. `https://trent1:8400/v1/sys/health`.
    #[arg(long, default_value = "http://127.0.0.1:8400/v1/sys/health")]
    pub url: String,
    /// PEM CA that issued the node's certificate (required for an https URL).
    #[arg(long, value_name = "PEM")]
    pub ca: Option<PathBuf>,
    /// Check liveness only (`/v1/sys/health/live`: the process serves and its Raft runs), so a
    /// sealed node passes. Without it the node must be ready.
    #[arg(long)]
    pub live: bool,
}

/// Why the check failed.
#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    /// The URL is not `http(s)://host:port/path`.
    #[error("URL must look like https://host:port/v1/sys/health, not {0:?}")]
    Url(String),
    /// An https URL without `--ca`.
    #[error("an https URL needs --ca")]
    NoCa,
    /// TLS could not be set up.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The node did not answer, or not with its health.
    #[error("{0}")]
    Unhealthy(String),
}

/// Runs the check: `Ok(summary)` when the node answered that it is ready (or, with `--live`,
/// alive); `Err` with the node's own reasons otherwise.
pub async fn run(args: HealthcheckArgs) -> Result<String, HealthcheckError> {
    let (tls, rest) = if let Some(rest) = args.url.strip_prefix("https://") {
        let ca = args.ca.as_deref().ok_or(HealthcheckError::NoCa)?;
        (Some(std::sync::Arc::new(crate::tls::verifying_client_config(ca)?)), rest)
    } else if let Some(rest) = args.url.strip_prefix("http://") {
        (None, rest)
    } else {
        return Err(HealthcheckError::Url(args.url));
    };
    let (addr, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if addr.is_empty() || path.is_empty() {
        return Err(HealthcheckError::Url(args.url));
    }
    // `--url` names the health endpoint; `--live` asks its liveness sibling.
    let path = match (args.live, path.strip_suffix("/ready").unwrap_or(path)) {
        (true, base) if !base.ends_with("/live") => format!("{base}/live"),
        (_, _) => path.to_owned(),
    };
    let client =
        crate::peer::PeerClient::new(tls).map_err(|error| crate::tls::TlsError::Config(error.to_string()))?;
    let (status, body) = client
        .get_any_status(addr, &path, CHECK_TIMEOUT)
        .await
        .map_err(|error| HealthcheckError::Unhealthy(error.to_string()))?;
    let health: trent_wire::admin::HealthResponse = serde_json::from_slice(&body).map_err(|error| {
        HealthcheckError::Unhealthy(format!("HTTP {status}, not a health answer: {error}"))
    })?;
    let passes = if args.live { health.live } else { health.ready };
    if status != 200 || !passes {
        let problems =
            if health.problems.is_empty() { format!("HTTP {status}") } else { health.problems.join("; ") };
        return Err(HealthcheckError::Unhealthy(format!("node {}: {problems}", health.node_id)));
    }
    Ok(format!(
        "node {} {}: {}, leader {}",
        health.node_id,
        if args.live { "is live" } else { "is ready" },
        if health.sealed { "sealed" } else { "unsealed" },
        health.leader_id.map_or("unknown".to_owned(), |id| id.to_string())
    ))
}
