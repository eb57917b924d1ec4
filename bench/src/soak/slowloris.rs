//! Slow clients against one node: slowloris connections that send a request's headers one byte
//! per `--slow-interval-ms` and never finish them, and correctly SigV4-signed Encrypt requests
//! whose headers arrive at once but whose body trickles in a byte at a time. Each connection is
//! reopened when the server closes or answers it, so the pressure lasts the whole run.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio::task::JoinSet;
use trent_wire::admin::DevCredentials;

use crate::soak::attack::{self, AttackReport, Counters, Ended, Pacer};
use crate::soak::stop;

/// Padding header bytes a slowloris connection has to send: at a byte a second, hours.
const SLOW_HEADER_PADDING: usize = 16 * 1024;

/// The settings of the slow-client attack.
#[derive(Debug, Clone)]
pub struct SlowClients {
    /// The node's client address.
    pub addr: SocketAddr,
    /// The node's id.
    pub node: usize,
    /// Slow-header connections.
    pub headers: usize,
    /// Slow-body connections.
    pub bodies: usize,
    /// Time between bytes.
    pub interval: Duration,
}

/// What one slow connection sends: the part sent at once, then the part sent a byte at a time.
struct Script {
    at_once: Vec<u8>,
    trickled: Vec<u8>,
}

fn slow_header_script(addr: SocketAddr) -> Script {
    let mut trickled = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: TrentService.Encrypt\r\nX-Soak-Padding: "
    )
    .into_bytes();
    trickled.resize(trickled.len() + SLOW_HEADER_PADDING, b'a');
    Script { at_once: Vec::new(), trickled }
}

/// A signed Encrypt whose body is held back: every header at once, then the body.
fn slow_body_script(addr: SocketAddr, credentials: &DevCredentials) -> anyhow::Result<Script> {
    let body =
        format!("{{\"KeyId\":\"alias/trent-soak-slow-body\",\"Plaintext\":\"{}\"}}", "QUFB".repeat(64));
    let host = addr.to_string();
    let headers: [(&str, &[u8]); 3] = [
        ("host", host.as_bytes()),
        ("content-type", b"application/x-amz-json-1.1"),
        ("x-amz-target", b"TrentService.Encrypt"),
    ];
    let request = trent_sigv4::SignedRequest {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: body.as_bytes(),
    };
    let keys = trent_sigv4::Credentials {
        access_key_id: credentials.access_key_id.clone(),
        secret_access_key: zeroize::Zeroizing::new(credentials.secret_access_key.clone()),
    };
    let signature = trent_sigv4::sign(&request, &keys, &credentials.region, "kms", SystemTime::now())
        .map_err(|error| anyhow::anyhow!("cannot sign: {error}"))?;
    let at_once = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: TrentService.Encrypt\r\nX-Amz-Date: {}\r\nX-Amz-Content-Sha256: {}\r\n\
         Authorization: {}\r\nContent-Length: {}\r\n\r\n",
        signature.x_amz_date,
        signature.x_amz_content_sha256,
        signature.authorization,
        body.len()
    );
    Ok(Script { at_once: at_once.into_bytes(), trickled: body.into_bytes() })
}

/// Sends `script` on a new connection, the trickled part a byte per `interval`, until the
/// server answers or hangs up, or `stop`.
async fn play(
    addr: SocketAddr,
    script: &Script,
    interval: Duration,
    counters: &Arc<Counters>,
    stop: &mut watch::Receiver<bool>,
) -> Ended {
    let Some(mut held) = attack::connect(addr, counters).await else {
        return Ended::NotConnected;
    };
    let (mut reader, mut writer) = held.stream.split();
    if writer.write_all(&script.at_once).await.is_err() {
        return Ended::Reset;
    }
    counters.sent(script.at_once.len());
    let answer = attack::answer(&mut reader);
    tokio::pin!(answer);
    let mut ticker = tokio::time::interval(interval);
    let mut next = 0;
    loop {
        tokio::select! {
            ended = &mut answer => return ended,
            _ = stop::until_stopped(stop) => return Ended::Stopped,
            _ = ticker.tick() => {
                if let Some(byte) = script.trickled.get(next) {
                    if writer.write_all(std::slice::from_ref(byte)).await.is_err() {
                        return Ended::Reset;
                    }
                    counters.sent(1);
                    next += 1;
                }
            }
        }
    }
}

/// One connection slot: plays a fresh script from `make` over and over until `stop`, each
/// connection when `pacer` allows.
async fn slot<F>(
    addr: SocketAddr,
    make: F,
    interval: Duration,
    pacer: Arc<Pacer>,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) where
    F: Fn() -> anyhow::Result<Script>,
{
    while !stop::stopped(&stop) {
        tokio::select! {
            _ = pacer.wait() => {}
            _ = stop::until_stopped(&mut stop) => return,
        }
        let Ok(script) = make() else { return };
        let ended = play(addr, &script, interval, &counters, &mut stop).await;
        counters.ended(ended);
        if ended == Ended::Stopped {
            return;
        }
    }
}

/// Runs the slow clients until `stop`; one report for slow headers, one for slow bodies.
pub async fn run(
    settings: SlowClients,
    credentials: DevCredentials,
    stop: watch::Receiver<bool>,
) -> Vec<AttackReport> {
    let headers = Arc::new(Counters::default());
    let bodies = Arc::new(Counters::default());
    let credentials = Arc::new(credentials);
    let mut slots = JoinSet::new();
    let addr = settings.addr;
    // On average each slot reconnects at most once a second, however fast the server hangs up.
    let pacer = Arc::new(Pacer::new((settings.headers + settings.bodies) as f64));
    for _ in 0..settings.headers {
        slots.spawn(slot(
            addr,
            move || Ok(slow_header_script(addr)),
            settings.interval,
            pacer.clone(),
            headers.clone(),
            stop.clone(),
        ));
    }
    for _ in 0..settings.bodies {
        let credentials = credentials.clone();
        let make = move || slow_body_script(addr, &credentials);
        slots.spawn(slot(addr, make, settings.interval, pacer.clone(), bodies.clone(), stop.clone()));
    }
    while slots.join_next().await.is_some() {}
    let interval_ms = settings.interval.as_millis();
    vec![
        AttackReport {
            name: "slow-headers".into(),
            node: settings.node,
            settings: format!("{} connections, a header byte every {interval_ms} ms", settings.headers),
            counters: headers.report(),
        },
        AttackReport {
            name: "slow-bodies".into(),
            node: settings.node,
            settings: format!("{} signed Encrypts, a body byte every {interval_ms} ms", settings.bodies),
            counters: bodies.report(),
        },
    ]
}
