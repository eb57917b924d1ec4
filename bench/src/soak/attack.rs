//! What the raw-TCP attacks share: counters (connections opened, refused, timed out, reset or
//! closed by the server, answers by status, bytes sent, connections held), a connect that counts
//! how it failed, and waiting on a connection until the server answers or hangs up.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpStream;

/// How long an attack connection may take to connect before it counts as timed out.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Live counters of one attack component.
#[derive(Debug, Default)]
pub struct Counters {
    opened: AtomicU64,
    refused: AtomicU64,
    connect_timeouts: AtomicU64,
    connect_errors: AtomicU64,
    reset: AtomicU64,
    closed_by_server: AtomicU64,
    bytes_sent: AtomicU64,
    held: AtomicU64,
    held_peak: AtomicU64,
    statuses: Mutex<BTreeMap<u16, u64>>,
    first_connect_error: Mutex<Option<String>>,
}

/// The counters as reported.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CountersReport {
    /// Connections established.
    pub opened: u64,
    /// Connection attempts refused (RST to the SYN).
    pub refused: u64,
    /// Connection attempts that did not complete within the connect timeout (SYN queue full).
    pub connect_timeouts: u64,
    /// Connection attempts that failed otherwise (e.g. out of descriptors or ports).
    pub connect_errors: u64,
    /// The first such error.
    pub first_connect_error: Option<String>,
    /// Established connections reset, or broken while sending.
    pub reset: u64,
    /// Established connections the server closed without answering.
    pub closed_by_server: u64,
    /// Answers received, by HTTP status.
    pub answers_by_status: BTreeMap<u16, u64>,
    /// Bytes written to the server.
    pub bytes_sent: u64,
    /// Most connections held open at once.
    pub held_peak: u64,
}

impl Counters {
    /// A snapshot.
    pub fn report(&self) -> CountersReport {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CountersReport {
            opened: get(&self.opened),
            refused: get(&self.refused),
            connect_timeouts: get(&self.connect_timeouts),
            connect_errors: get(&self.connect_errors),
            first_connect_error: self.first_connect_error.lock().ok().and_then(|first| first.clone()),
            reset: get(&self.reset),
            closed_by_server: get(&self.closed_by_server),
            answers_by_status: self.statuses.lock().map(|statuses| statuses.clone()).unwrap_or_default(),
            bytes_sent: get(&self.bytes_sent),
            held_peak: get(&self.held_peak),
        }
    }

    /// Connections held open now.
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// Counts `bytes` written.
    pub fn sent(&self, bytes: usize) {
        self.bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts an I/O error on an established connection.
    pub fn broken(&self) {
        self.reset.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts how a connection ended.
    pub fn ended(&self, ended: Ended) {
        match ended {
            Ended::Answered(status) => {
                if let Ok(mut statuses) = self.statuses.lock() {
                    *statuses.entry(status).or_default() += 1;
                }
            }
            Ended::Closed => {
                self.closed_by_server.fetch_add(1, Ordering::Relaxed);
            }
            Ended::Reset => self.broken(),
            Ended::Stopped | Ended::NotConnected => {}
        }
    }
}

/// An open attack connection; counted as held until dropped.
pub struct Held {
    /// The connection.
    pub stream: TcpStream,
    counters: Arc<Counters>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.counters.held.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Connects to `addr`, counting the connection or how the attempt failed.
pub async fn connect(addr: SocketAddr, counters: &Arc<Counters>) -> Option<Held> {
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => {
            counters.opened.fetch_add(1, Ordering::Relaxed);
            let held = counters.held.fetch_add(1, Ordering::Relaxed) + 1;
            counters.held_peak.fetch_max(held, Ordering::Relaxed);
            Some(Held { stream, counters: counters.clone() })
        }
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
            counters.refused.fetch_add(1, Ordering::Relaxed);
            None
        }
        Ok(Err(error)) => {
            counters.connect_errors.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut first) = counters.first_connect_error.lock() {
                first.get_or_insert_with(|| error.to_string());
            }
            None
        }
        Err(_) => {
            counters.connect_timeouts.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The server answered with this status.
    Answered(u16),
    /// The server closed the connection without an answer.
    Closed,
    /// The connection was reset.
    Reset,
    /// The attack stopped first.
    Stopped,
    /// No connection was made (counted by [`connect`]).
    NotConnected,
}

/// Reads until the server answers (its status line) or hangs up.
pub async fn answer<R: AsyncRead + Unpin>(reader: &mut R) -> Ended {
    let mut seen = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) => return if seen.is_empty() { Ended::Closed } else { status_of(&seen) },
            Ok(read) => {
                seen.extend_from_slice(&chunk[..read]);
                if seen.windows(2).any(|pair| pair == b"\r\n") || seen.len() > 64 {
                    return status_of(&seen);
                }
            }
            Err(_) => return Ended::Reset,
        }
    }
}

fn status_of(seen: &[u8]) -> Ended {
    let text = String::from_utf8_lossy(seen);
    let status = text.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    Ended::Answered(status)
}

/// Spaces connection attempts shared by many tasks at most `per_second` a second, so that a
/// server that answers or hangs up at once does not turn an attack's reconnects into a flood
/// that only measures the host.
#[derive(Debug)]
pub struct Pacer {
    gap: Duration,
    next: Mutex<tokio::time::Instant>,
}

impl Pacer {
    /// A pacer for `per_second` attempts a second (at least one).
    pub fn new(per_second: f64) -> Pacer {
        Pacer {
            gap: Duration::from_secs_f64(1.0 / per_second.max(1.0)),
            next: Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits for this task's turn.
    pub async fn wait(&self) {
        let at = match self.next.lock() {
            Ok(mut next) => {
                let at = (*next).max(tokio::time::Instant::now());
                *next = at + self.gap;
                at
            }
            Err(_) => tokio::time::Instant::now(),
        };
        tokio::time::sleep_until(at).await;
    }
}

/// One component's report.
#[derive(Debug, Clone, Serialize)]
pub struct AttackReport {
    /// The component's name.
    pub name: String,
    /// The node attacked.
    pub node: usize,
    /// Its settings, as text.
    pub settings: String,
    /// What its connections did.
    pub counters: CountersReport,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_are_read_by_status_and_hang_ups_counted() {
        let mut answered: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(answer(&mut answered).await, Ended::Answered(400));
        let mut closed: &[u8] = b"";
        assert_eq!(answer(&mut closed).await, Ended::Closed);
        let counters = Counters::default();
        counters.ended(Ended::Answered(408));
        counters.ended(Ended::Closed);
        counters.sent(10);
        let report = counters.report();
        assert_eq!(report.answers_by_status[&408], 1);
        assert_eq!((report.closed_by_server, report.bytes_sent), (1, 10));
    }
}
