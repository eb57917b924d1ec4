//! The one thread that writes this node's audit log: it takes every record waiting in its
//! queue as one batch, appends the batch and syncs it once (group commit), then tells every
//! caller of the batch how it went. Callers answer their clients only after that, so a record
//! is on disk before its call's response leaves the node; a batch that cannot be written fails
//! every call in it.

use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::{mpsc, oneshot};
use trent_audit::{AuditLog, DigestSigner, EncodedEvent};

use super::Health;

/// Most records written and synced as one batch.
const MAX_BATCH: usize = 1024;

/// What the writer is asked to do.
pub(super) enum Job {
    /// Append a record (encoded by its caller); answer once it is durable.
    Record(EncodedEvent, oneshot::Sender<Result<(), String>>),
    /// Sign the chain head in a digest record (skipped if nothing was appended since the last).
    Digest {
        signer: DigestSigner,
        node_id: u64,
        event_time: String,
        done: oneshot::Sender<Result<(), String>>,
    },
}

/// How long the writer waits for more records when the last batch showed concurrent callers
/// but this one is small: one sync then covers more calls (fewer syncs, fewer wake-ups), for at
/// most this much added latency. A lone caller (last batch of one) never waits.
const LINGER: std::time::Duration = std::time::Duration::from_micros(150);
/// Below this many records a batch is worth lingering for.
const LINGER_BELOW: usize = 16;

/// Runs until every sender is gone.
pub(super) fn run(mut log: AuditLog, mut jobs: mpsc::Receiver<Job>, health: Arc<Health>) {
    let mut events = Vec::with_capacity(MAX_BATCH);
    let mut waiters = Vec::with_capacity(MAX_BATCH);
    let mut appended_since_digest = true;
    let mut last_batch = 0usize;
    #[cfg(feature = "jepsen-planted-bug")]
    let mut last_append = std::time::Instant::now();
    while let Some(first) = jobs.blocking_recv() {
        let mut next = Some(first);
        let mut digest = None;
        while let Some(job) = next.take() {
            match job {
                Job::Record(event, done) => {
                    events.push(event);
                    waiters.push(done);
                }
                Job::Digest { signer, node_id, event_time, done } => {
                    digest = Some((signer, node_id, event_time, done));
                    break;
                }
            }
            if events.len() >= MAX_BATCH {
                break;
            }
            next = jobs.try_recv().ok();
            if next.is_none() && digest.is_none() && last_batch > 1 && events.len() < LINGER_BELOW {
                last_batch = 0; // linger once per batch
                std::thread::sleep(LINGER);
                next = jobs.try_recv().ok();
            }
        }
        last_batch = events.len();
        #[cfg(feature = "jepsen-planted-bug")]
        if crate::planted_bug::audit_buffered() {
            // audit-buffered: every caller hears "written" before its record is.
            for waiter in waiters.drain(..) {
                let _ = waiter.send(Ok(()));
            }
            let full = events.len() >= MAX_BATCH;
            if digest.is_none() && !crate::planted_bug::audit_append_due(&mut last_append, full) {
                continue;
            }
        }
        if !events.is_empty() {
            let result =
                log.append_encoded(&events, SystemTime::now()).map(drop).map_err(|error| error.to_string());
            health.record(&result);
            appended_since_digest |= result.is_ok();
            events.clear();
            for waiter in waiters.drain(..) {
                let _ = waiter.send(result.clone());
            }
        }
        if let Some((signer, node_id, event_time, done)) = digest {
            let result = if appended_since_digest {
                log.append_digest(&signer, node_id, event_time).map(drop).map_err(|error| error.to_string())
            } else {
                Ok(())
            };
            health.record(&result);
            if result.is_ok() {
                appended_since_digest = false;
            }
            let _ = done.send(result);
        }
    }
    #[cfg(feature = "jepsen-planted-bug")]
    if !events.is_empty() {
        let _ = log.append_encoded(&events, SystemTime::now());
    }
}
