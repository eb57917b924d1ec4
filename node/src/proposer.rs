//! Batches writes on the leader into one Raft entry.
//!
//! openraft 0.9 flushes the log once per `client_write` and waits for that flush before it takes
//! the next, so one request per entry caps a node at one write per fsync. The proposer instead
//! queues writes, and whenever one of a few in-flight slots is free it takes everything queued
//! (up to [`MAX_BATCH_REQUESTS`] and [`MAX_BATCH_BYTES`]) into a single [`RequestBatch`]. Under load each fsync and each
//! replication round carries many writes; idle, a write goes out alone at once.

use std::sync::Arc;

use openraft::Raft;
use tokio::sync::{mpsc, oneshot, Semaphore};
use trent_storage::{RequestBatch, TypeConfig};
use trent_wire::{ErrorCode, KmsError};

use crate::node::write_error_reply;
use crate::peer::protocol::LeaderReply;
use crate::write_path::{wall_clock_ms, ForwardedProposal};

/// Most requests in one log entry.
pub const MAX_BATCH_REQUESTS: usize = 256;
/// Most encoded bytes of requests in one log entry (a larger single request goes alone). Keeps
/// entries well under sled's 128 KiB inline limit and replication payloads small.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;
/// How long a write waits for its batch to commit before the caller is told to retry; a
/// partitioned leader never steps down in openraft 0.9, so its writes would otherwise wait for
/// the partition to heal. A retry carries the same request id, so it cannot apply twice.
pub const COMMIT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// Batches proposed but not yet committed and applied.
pub const MAX_IN_FLIGHT_BATCHES: usize = 2;
/// Writes waiting for a batch; callers wait when it is full.
pub const MAX_QUEUED_WRITES: usize = 16 * 1024;

struct QueuedWrite {
    proposal: ForwardedProposal,
    encoded_bytes: usize,
    reply: oneshot::Sender<LeaderReply>,
}

/// The leader's write batcher. Cheap to clone.
#[derive(Clone)]
pub struct Proposer {
    queue: mpsc::Sender<QueuedWrite>,
}

impl Proposer {
    /// Starts the batching task for `raft`; stamps use the wall clock shifted by `clock_offset_ms`.
    pub fn start(raft: Raft<TypeConfig>, clock_offset_ms: i64) -> Proposer {
        let (queue, receiver) = mpsc::channel(MAX_QUEUED_WRITES);
        tokio::spawn(run(raft, clock_offset_ms, receiver));
        Proposer { queue }
    }

    /// Proposes one write and waits until it is applied (or refused).
    pub async fn propose(&self, proposal: ForwardedProposal) -> LeaderReply {
        let (reply, answer) = oneshot::channel();
        let encoded_bytes =
            trent_storage::codec::encode(&proposal).map_or(MAX_BATCH_BYTES, |bytes| bytes.len());
        let queued = async {
            self.queue.send(QueuedWrite { proposal, encoded_bytes, reply }).await.map_err(|_| ())?;
            answer.await.map_err(|_| ())
        };
        match tokio::time::timeout(COMMIT_WAIT, queued).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(())) => stopped(),
            Err(_) => LeaderReply::Failed(KmsError::new(
                ErrorCode::DependencyTimeout,
                "The write did not commit in time; the cluster may have lost its quorum. Retry with the same x-trent-request-id.",
            )),
        }
    }
}

fn stopped() -> LeaderReply {
    LeaderReply::Failed(KmsError::new(ErrorCode::ServiceUnavailable, "The node is shutting down"))
}

async fn run(raft: Raft<TypeConfig>, clock_offset_ms: i64, mut receiver: mpsc::Receiver<QueuedWrite>) {
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT_BATCHES));
    // A write taken off the queue that did not fit the previous batch.
    let mut carried: Option<QueuedWrite> = None;
    loop {
        let first = match carried.take() {
            Some(write) => write,
            None => match receiver.recv().await {
                Some(write) => write,
                None => return,
            },
        };
        // Waiting for a slot before draining the queue is what grows batches under load.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut bytes = first.encoded_bytes;
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH_REQUESTS {
            match receiver.try_recv() {
                Ok(write) if bytes + write.encoded_bytes > MAX_BATCH_BYTES => {
                    carried = Some(write);
                    break;
                }
                Ok(write) => {
                    bytes += write.encoded_bytes;
                    batch.push(write);
                }
                Err(_) => break,
            }
        }
        let raft = raft.clone();
        tokio::spawn(async move {
            submit(&raft, batch, wall_clock_ms(clock_offset_ms)).await;
            drop(slot);
        });
    }
}

async fn submit(raft: &Raft<TypeConfig>, batch: Vec<QueuedWrite>, now_ms: u64) {
    let mut requests = Vec::with_capacity(batch.len());
    let mut replies = Vec::with_capacity(batch.len());
    for write in batch {
        requests.push(write.proposal.stamp(now_ms));
        replies.push(write.reply);
    }
    let expected = requests.len();
    match raft.client_write(RequestBatch { requests }).await {
        Ok(response) if response.data.len() == expected => {
            for (reply, result) in replies.into_iter().zip(response.data) {
                let _ = reply.send(LeaderReply::Written(result));
            }
        }
        Ok(response) => {
            let error = KmsError::new(
                ErrorCode::Internal,
                format!("batch of {expected} applied with {} results", response.data.len()),
            );
            for reply in replies {
                let _ = reply.send(LeaderReply::Failed(error.clone()));
            }
        }
        Err(error) => {
            let answer = write_error_reply(error);
            for reply in replies {
                let _ = reply.send(answer.clone());
            }
        }
    }
}
