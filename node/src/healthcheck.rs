//! `trentd healthcheck`: asks a node's health endpoint once and exits 0 if it answers. Made for
//! container healthchecks, where an image built `FROM scratch` has no shell or curl.

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

/// Runs the check: `Ok(summary)` when the node answered its health endpoint.
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
    let client =
        crate::peer::PeerClient::new(tls).map_err(|error| crate::tls::TlsError::Config(error.to_string()))?;
    let body = client
        .get(addr, path, CHECK_TIMEOUT)
        .await
        .map_err(|error| HealthcheckError::Unhealthy(error.to_string()))?;
    let health: trent_wire::admin::HealthResponse = serde_json::from_slice(&body)
        .map_err(|error| HealthcheckError::Unhealthy(format!("not a health answer: {error}")))?;
    Ok(format!(
        "node {} answers: {}, leader {}",
        health.node_id,
        if health.sealed { "sealed" } else { "unsealed" },
        health.leader_id.map_or("unknown".to_owned(), |id| id.to_string())
    ))
}
