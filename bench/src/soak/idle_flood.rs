//! Idle-connection floods against one node: waves of `--idle-conns` TCP connections that never
//! send a byte, opened at `--idle-open-rate`, held for `--idle-hold-secs`, then released all at
//! once; the next wave follows `--idle-pause-secs` later. A node that serves a fixed number of
//! connections and keeps idle ones for long is locked up for new clients while a wave stands.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::soak::attack::{self, AttackReport, Counters};
use crate::soak::stop;

/// How often a building wave opens a batch of connections.
const BATCH_EVERY: Duration = Duration::from_millis(10);

/// The settings of the idle flood.
#[derive(Debug, Clone)]
pub struct IdleFlood {
    /// The node's client address.
    pub addr: SocketAddr,
    /// The node's id.
    pub node: usize,
    /// Connections per wave.
    pub connections: usize,
    /// How long a wave holds its connections.
    pub hold: Duration,
    /// Time between waves.
    pub pause: Duration,
    /// Connections opened per second while a wave builds.
    pub open_rate: u64,
}

/// Holds one idle connection until `release`, or until the server closes it.
async fn hold_one(addr: SocketAddr, counters: Arc<Counters>, mut release: watch::Receiver<bool>) {
    let Some(mut held) = attack::connect(addr, &counters).await else { return };
    let (mut reader, _writer) = held.stream.split();
    tokio::select! {
        ended = attack::answer(&mut reader) => counters.ended(ended),
        _ = stop::until_stopped(&mut release) => {}
    }
}

/// Runs waves until `stop`.
pub async fn run(settings: IdleFlood, mut stop: watch::Receiver<bool>) -> AttackReport {
    let counters = Arc::new(Counters::default());
    let per_batch = (settings.open_rate as f64 * BATCH_EVERY.as_secs_f64()).ceil().max(1.0) as usize;
    let mut waves = 0u64;
    'waves: while !stop::stopped(&stop) {
        waves += 1;
        let (release, released) = watch::channel(false);
        let mut connections = JoinSet::new();
        let mut ticker = tokio::time::interval(BATCH_EVERY);
        let mut opened = 0;
        while opened < settings.connections {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop::until_stopped(&mut stop) => {
                    let _ = release.send(true);
                    while connections.join_next().await.is_some() {}
                    break 'waves;
                }
            }
            for _ in 0..per_batch.min(settings.connections - opened) {
                connections.spawn(hold_one(settings.addr, counters.clone(), released.clone()));
                opened += 1;
            }
        }
        let stopped = tokio::select! {
            _ = tokio::time::sleep(settings.hold) => false,
            _ = stop::until_stopped(&mut stop) => true,
        };
        let _ = release.send(true);
        while connections.join_next().await.is_some() {}
        if stopped {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.pause) => {}
            _ = stop::until_stopped(&mut stop) => break,
        }
    }
    AttackReport {
        name: "idle-flood".into(),
        node: settings.node,
        settings: format!(
            "{} idle connections per wave opened at {}/s, held {} s, {} s apart; {waves} wave(s)",
            settings.connections,
            settings.open_rate,
            settings.hold.as_secs(),
            settings.pause.as_secs()
        ),
        counters: counters.report(),
    }
}
