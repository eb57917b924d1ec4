//! Unsigned maximum-size bodies against one node: `POST /` with `Content-Length: 1048575` (one
//! byte under the node's 1 MiB cap) and no signature. `--bodies-held` connections send
//! `--bodies-held-percent` of the body and hold the rest back until the server answers or hangs
//! up, then start over; besides them, `--bodies-full-rate` whole bodies a second are sent, each
//! on its own connection. A node that buffers bodies before it checks who sent them holds about
//! a MiB per held connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::soak::attack::{self, AttackReport, Counters, Ended, Pacer};
use crate::soak::stop;

/// The declared body length: one byte under the node's cap, so it is not refused unread.
pub const BODY_BYTES: usize = 1024 * 1024 - 1;
/// Bytes written per write call.
const WRITE_CHUNK: usize = 64 * 1024;
/// Whole-body sends in flight at most.
const MAX_FULL_IN_FLIGHT: usize = 16;
/// Longest wait for the answer to a whole body.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(40);

/// The settings of the unsigned-bodies attack.
#[derive(Debug, Clone)]
pub struct UnsignedBodies {
    /// The node's client address.
    pub addr: SocketAddr,
    /// The node's id.
    pub node: usize,
    /// Connections holding part of a body.
    pub held: usize,
    /// Percentage of the body those send.
    pub held_percent: u8,
    /// Whole bodies per second.
    pub full_rate: f64,
    /// Held connections opened (and reopened after the server answers) per second at most.
    pub open_rate: u64,
}

/// The request's head and the whole body (the body is shared by every connection).
struct Request {
    head: Vec<u8>,
    body: Vec<u8>,
}

fn request(addr: SocketAddr) -> Request {
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: TrentService.Encrypt\r\nContent-Length: {BODY_BYTES}\r\n\r\n"
    )
    .into_bytes();
    let mut body = b"{\"KeyId\":\"alias/trent-soak\",\"Plaintext\":\"".to_vec();
    body.resize(BODY_BYTES - 2, b'A');
    body.extend_from_slice(b"\"}");
    Request { head, body }
}

/// Sends the head and the first `bytes` of the body on a new connection, then waits for the
/// answer (at most `wait`) or `stop`.
async fn send(
    addr: SocketAddr,
    request: &Request,
    bytes: usize,
    wait: Option<Duration>,
    counters: &Arc<Counters>,
    stop: &mut watch::Receiver<bool>,
) -> Ended {
    let Some(mut held) = attack::connect(addr, counters).await else {
        return Ended::NotConnected;
    };
    let (mut reader, mut writer) = held.stream.split();
    let answer = attack::answer(&mut reader);
    tokio::pin!(answer);
    let parts = std::iter::once(&request.head[..]).chain(request.body[..bytes].chunks(WRITE_CHUNK));
    for part in parts {
        tokio::select! {
            written = writer.write_all(part) => {
                if written.is_err() {
                    return Ended::Reset;
                }
                counters.sent(part.len());
            }
            ended = &mut answer => return ended,
            _ = stop::until_stopped(stop) => return Ended::Stopped,
        }
    }
    let waited = async {
        match wait {
            Some(wait) => tokio::time::sleep(wait).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        ended = &mut answer => ended,
        _ = stop::until_stopped(stop) => Ended::Stopped,
        _ = waited => Ended::Stopped,
    }
}

/// One held connection slot, over and over until `stop`, each connection when `pacer` allows.
async fn held_slot(
    addr: SocketAddr,
    request: Arc<Request>,
    bytes: usize,
    pacer: Arc<Pacer>,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) {
    while !stop::stopped(&stop) {
        tokio::select! {
            _ = pacer.wait() => {}
            _ = stop::until_stopped(&mut stop) => return,
        }
        let ended = send(addr, &request, bytes, None, &counters, &mut stop).await;
        counters.ended(ended);
        if ended == Ended::Stopped {
            return;
        }
    }
}

/// Sends whole bodies at `rate` a second until `stop`.
async fn full_bodies(
    addr: SocketAddr,
    request: Arc<Request>,
    rate: f64,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) {
    if rate <= 0.0 {
        return;
    }
    let in_flight = Arc::new(Semaphore::new(MAX_FULL_IN_FLIGHT));
    let mut sends = JoinSet::new();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop::until_stopped(&mut stop) => break,
        }
        let Ok(permit) = in_flight.clone().try_acquire_owned() else { continue };
        let (request, counters, mut stop) = (request.clone(), counters.clone(), stop.clone());
        sends.spawn(async move {
            let _permit = permit;
            let bytes = request.body.len();
            let ended = send(addr, &request, bytes, Some(ANSWER_TIMEOUT), &counters, &mut stop).await;
            counters.ended(ended);
        });
        while sends.try_join_next().is_some() {}
    }
    while sends.join_next().await.is_some() {}
}

/// Runs the attack until `stop`; one report for held bodies, one for whole ones.
pub async fn run(settings: UnsignedBodies, stop: watch::Receiver<bool>) -> Vec<AttackReport> {
    let request = Arc::new(request(settings.addr));
    let held = Arc::new(Counters::default());
    let full = Arc::new(Counters::default());
    let held_bytes = BODY_BYTES * usize::from(settings.held_percent.min(100)) / 100;
    let mut tasks = JoinSet::new();
    tasks.spawn(full_bodies(settings.addr, request.clone(), settings.full_rate, full.clone(), stop.clone()));
    let pacer = Arc::new(Pacer::new(settings.open_rate as f64));
    for _ in 0..settings.held {
        let (request, pacer, held, stop) = (request.clone(), pacer.clone(), held.clone(), stop.clone());
        tasks.spawn(held_slot(settings.addr, request, held_bytes, pacer, held, stop));
    }
    while tasks.join_next().await.is_some() {}
    vec![
        AttackReport {
            name: "unsigned-bodies-held".into(),
            node: settings.node,
            settings: format!(
                "{} connections sending {}% of a {BODY_BYTES}-byte unsigned body, then holding; \
                 (re)opened at most {}/s",
                settings.held, settings.held_percent, settings.open_rate
            ),
            counters: held.report(),
        },
        AttackReport {
            name: "unsigned-bodies-full".into(),
            node: settings.node,
            settings: format!("{} whole {BODY_BYTES}-byte unsigned bodies per second", settings.full_rate),
            counters: full.report(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_exactly_its_declared_length() {
        let request = request(SocketAddr::from(([127, 0, 0, 1], 1)));
        assert_eq!(request.body.len(), BODY_BYTES);
        assert!(String::from_utf8_lossy(&request.head).contains("Content-Length: 1048575\r\n\r\n"));
    }
}
