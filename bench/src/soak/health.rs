//! Watching that no node leaves service: every node's unsigned `GET /v1/sys/health` on a fresh
//! connection (as a load balancer or an orchestrator would probe it) every half second, and its
//! process's liveness. A probe fails on no answer within the timeout, a refused or broken
//! connection, a status other than 200, or a 200 that says the node is out of service
//! (`"role": "shutdown"`, or sealed).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::soak::cluster::{self, Node};
use crate::soak::stop;

/// Largest health answer read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Failed probes whose text the report keeps per node.
const KEPT_FAILURES: usize = 5;

/// One probe's result.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// `role` from the body.
    pub role: Option<String>,
    /// `sealed` from the body.
    pub sealed: Option<bool>,
    /// Whether the body names a leader.
    pub leader_known: bool,
    /// What went wrong on the way, if anything.
    pub error: Option<String>,
}

impl Probe {
    /// Why this probe counts as out of service, or `None` when the node is in service.
    pub fn problem(&self) -> Option<String> {
        if let Some(error) = &self.error {
            return Some(error.clone());
        }
        match self.status {
            Some(200) => {}
            Some(status) => return Some(format!("HTTP {status}")),
            None => return Some("no status line".into()),
        }
        match (self.role.as_deref(), self.sealed) {
            (Some("shutdown"), _) => Some("role shutdown (Raft stopped)".into()),
            (_, Some(true)) => Some("sealed".into()),
            (None, _) => Some("200 without a role".into()),
            _ => None,
        }
    }
}

/// `GET /v1/sys/health` on a new connection to `addr`, within `timeout`.
pub async fn probe(addr: SocketAddr, timeout: Duration) -> Probe {
    match tokio::time::timeout(timeout, exchange(addr)).await {
        Ok(Ok(answer)) => parse(&answer),
        Ok(Err(error)) => Probe { error: Some(error), ..Probe::default() },
        Err(_) => {
            Probe { error: Some(format!("no answer within {} ms", timeout.as_millis())), ..Probe::default() }
        }
    }
}

async fn exchange(addr: SocketAddr) -> Result<Vec<u8>, String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|error| format!("connect: {error}"))?;
    let request = format!("GET /v1/sys/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(|error| format!("send: {error}"))?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk).await.map_err(|error| format!("receive: {error}"))?;
        if read == 0 || answer.len() + read > MAX_ANSWER_BYTES {
            break;
        }
        answer.extend_from_slice(&chunk[..read]);
    }
    if answer.is_empty() {
        return Err("connection closed without an answer".into());
    }
    Ok(answer)
}

fn parse(answer: &[u8]) -> Probe {
    let text = String::from_utf8_lossy(answer);
    let status = text.split_whitespace().nth(1).and_then(|code| code.parse().ok());
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    // The body may be chunked; the JSON object is what lies between the outer braces.
    let json = match (body.find('{'), body.rfind('}')) {
        (Some(start), Some(end)) if end > start => &body[start..=end],
        _ => "",
    };
    let value: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    Probe {
        status,
        role: value.get("role").and_then(|role| role.as_str()).map(str::to_lowercase),
        sealed: value.get("sealed").and_then(serde_json::Value::as_bool),
        leader_known: value.get("leader_id").is_some_and(|leader| !leader.is_null()),
        error: None,
    }
}

/// What the probes of one node saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeHealth {
    /// The node.
    pub node: usize,
    /// Probes sent after the grace window.
    pub probes: u64,
    /// Of those, probes that failed.
    pub failed: u64,
    /// Failed probes by reason.
    pub failures_by_reason: std::collections::BTreeMap<String, u64>,
    /// Seconds into the run of the first failed probe.
    pub first_failure_secs: Option<f64>,
    /// Longest run of consecutive failed probes, seconds from the first to the next good one
    /// (or the end).
    pub longest_outage_secs: f64,
    /// The first few failures, as `t=…s: reason`.
    pub first_failures: Vec<String>,
    /// Seconds into the run at which the node's process was found gone.
    pub process_exited_secs: Option<f64>,
    /// Roles seen in good answers, with counts (leader changes show here).
    pub roles: std::collections::BTreeMap<String, u64>,
}

impl NodeHealth {
    /// Whether the node stayed in service throughout, but for outages of at most `max_outage_ms`
    /// (0: no failed probe at all).
    pub fn in_service(&self, max_outage_ms: u64) -> bool {
        let outages_short = self.failed == 0 || self.longest_outage_secs * 1000.0 <= max_outage_ms as f64;
        outages_short && self.process_exited_secs.is_none()
    }
}

/// Probes `node` every `interval` until `stop`, counting failures from `grace_until` on.
pub async fn watch(
    node: Node,
    started: Instant,
    grace_until: Instant,
    interval: Duration,
    timeout: Duration,
    mut stop: watch::Receiver<bool>,
    live: Arc<std::sync::atomic::AtomicU64>,
) -> NodeHealth {
    let mut health = NodeHealth { node: node.id, ..NodeHealth::default() };
    let mut outage_from: Option<Instant> = None;
    let mut next = Instant::now();
    loop {
        let at = Instant::now();
        let result = probe(node.api_addr, timeout).await;
        let counted = at >= grace_until;
        let problem = result.problem();
        if health.process_exited_secs.is_none() && !cluster::is_alive(node.pid) {
            health.process_exited_secs = Some(started.elapsed().as_secs_f64());
        }
        match (problem, counted) {
            (Some(reason), true) => {
                health.probes += 1;
                health.failed += 1;
                live.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let secs = at.duration_since(started).as_secs_f64();
                health.first_failure_secs.get_or_insert(secs);
                if health.first_failures.len() < KEPT_FAILURES {
                    health.first_failures.push(format!("t={secs:.1}s: {reason}"));
                }
                *health.failures_by_reason.entry(reason).or_default() += 1;
                outage_from.get_or_insert(at);
            }
            (None, counted) => {
                if counted {
                    health.probes += 1;
                }
                if let Some(from) = outage_from.take() {
                    health.longest_outage_secs = health.longest_outage_secs.max(from.elapsed().as_secs_f64());
                }
                if let Some(role) = result.role {
                    *health.roles.entry(role).or_default() += 1;
                }
            }
            (Some(_), false) => {}
        }
        next += interval;
        let now = Instant::now();
        if next < now {
            next = now;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()) => {}
            _ = stop::until_stopped(&mut stop) => break,
        }
    }
    if let Some(from) = outage_from {
        health.longest_outage_secs = health.longest_outage_secs.max(from.elapsed().as_secs_f64());
    }
    health
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_healthy_answer_is_in_service_and_shutdown_or_sealed_is_not() {
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 60\r\n\r\n{\"node_id\":1,\"role\":\"Leader\",\"sealed\":false,\"leader_id\":1}";
        let probe = parse(ok);
        assert_eq!(probe.problem(), None);
        assert!(probe.leader_known);
        let shutdown = b"HTTP/1.1 200 OK\r\n\r\n{\"role\":\"Shutdown\",\"sealed\":false}";
        assert!(parse(shutdown).problem().unwrap().contains("shutdown"));
        let sealed = b"HTTP/1.1 200 OK\r\n\r\n{\"role\":\"Follower\",\"sealed\":true}";
        assert_eq!(parse(sealed).problem().as_deref(), Some("sealed"));
        let refused = b"HTTP/1.1 503 Service Unavailable\r\n\r\n{\"role\":\"Follower\"}";
        assert_eq!(parse(refused).problem().as_deref(), Some("HTTP 503"));
    }
}
