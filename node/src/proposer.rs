//! Batches writes into one Raft entry, on every node.
//!
//! openraft 0.9 flushes the log once per `client_write` and waits for that flush before it takes
//! the next, so one request per entry caps a node at one write per fsync. The proposer instead
//! queues writes, and whenever one of a few in-flight slots is free it takes everything queued
//! (up to [`MAX_BATCH_REQUESTS`] and [`MAX_BATCH_BYTES`]) as one batch. On the leader the batch
//! becomes one [`trent_storage::RequestBatch`] entry; on a follower it travels to the leader as
//! one peer request, so forwarding costs one round trip per batch, not per write. Under load
//! each fsync and each replication round carries many writes; idle, a write goes out alone.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Semaphore};
use trent_storage::{Applied, CommandResult};
use trent_wire::{ErrorCode, KmsError};

use crate::node::Node;
use crate::write_path::ForwardedProposal;

/// Most requests in one batch.
pub const MAX_BATCH_REQUESTS: usize = 256;
/// Most encoded bytes of requests in one batch (a larger single request goes alone). Keeps log
/// entries well under sled's 128 KiB inline limit and replication payloads small.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;
/// Batches sent but not yet answered.
pub const MAX_IN_FLIGHT_BATCHES: usize = 2;
/// Writes waiting for a batch; callers wait when it is full.
pub const MAX_QUEUED_WRITES: usize = 16 * 1024;
/// How long a write waits for its batch to commit before the caller is told to retry; a
/// partitioned leader never steps down in openraft 0.9, so its writes would otherwise wait for
/// the partition to heal. A retry carries the same request id, so it cannot apply twice.
pub const COMMIT_WAIT: Duration = Duration::from_secs(8);

struct QueuedWrite {
    proposal: ForwardedProposal,
    encoded_bytes: usize,
    reply: oneshot::Sender<CommandResult>,
}

/// A node's write batcher. Cheap to clone.
#[derive(Clone)]
pub struct Proposer {
    queue: mpsc::Sender<QueuedWrite>,
}

impl Proposer {
    /// Starts the batching task for `node` (held weakly: the node owns its proposer).
    pub fn start(node: Weak<Node>) -> Proposer {
        let (queue, receiver) = mpsc::channel(MAX_QUEUED_WRITES);
        tokio::spawn(run(node, receiver));
        Proposer { queue }
    }

    /// Proposes one write and waits until it is applied (or refused).
    pub async fn propose(&self, proposal: ForwardedProposal) -> Result<Applied, KmsError> {
        let (reply, answer) = oneshot::channel();
        let encoded_bytes =
            trent_storage::codec::encode(&proposal).map_or(MAX_BATCH_BYTES, |bytes| bytes.len());
        #[cfg(feature = "jepsen-planted-bug")]
        if crate::planted_bug::acknowledges_early(&proposal) {
            self.queue.send(QueuedWrite { proposal, encoded_bytes, reply }).await.map_err(|_| stopped())?;
            return Ok(Applied::Done);
        }
        let queued = async {
            self.queue.send(QueuedWrite { proposal, encoded_bytes, reply }).await.map_err(|_| ())?;
            answer.await.map_err(|_| ())
        };
        match tokio::time::timeout(COMMIT_WAIT, queued).await {
            Ok(Ok(result)) => result.map_err(KmsError::from),
            Ok(Err(())) => Err(stopped()),
            Err(_) => Err(KmsError::new(
                ErrorCode::DependencyTimeout,
                "The write did not commit in time; the cluster may have lost its quorum. Retry with the same x-trent-request-id.",
            )),
        }
    }
}

fn stopped() -> KmsError {
    KmsError::new(ErrorCode::ServiceUnavailable, "The node is shutting down")
}

async fn run(node: Weak<Node>, mut receiver: mpsc::Receiver<QueuedWrite>) {
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
        let Some(node) = node.upgrade() else {
            return;
        };
        tokio::spawn(async move {
            submit(&node, batch).await;
            drop(slot);
        });
    }
}

async fn submit(node: &Node, batch: Vec<QueuedWrite>) {
    let mut proposals = Vec::with_capacity(batch.len());
    let mut replies = Vec::with_capacity(batch.len());
    for write in batch {
        proposals.push(write.proposal);
        replies.push(write.reply);
    }
    let expected = proposals.len();
    let results = match node.write_batch(proposals).await {
        Ok(results) if results.len() == expected => results,
        Ok(results) => {
            let error = KmsError::new(
                ErrorCode::Internal,
                format!("batch of {expected} applied with {} results", results.len()),
            );
            vec![Err(error.into()); expected]
        }
        Err(error) => vec![Err(error.into()); expected],
    };
    for (reply, result) in replies.into_iter().zip(results) {
        let _ = reply.send(result);
    }
}
