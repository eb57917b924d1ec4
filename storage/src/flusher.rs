//! Group commit for log appends: many appends, one flush.
//!
//! openraft hands `append` a batch and a callback, and may keep appending while earlier batches
//! are being made durable. The flusher waits for the first pending callback, takes every other
//! one queued behind it, flushes once, and then completes them all in order. Under load one
//! fsync covers dozens of client writes instead of one.

use std::io;

use openraft::storage::LogFlushed;
use tokio::sync::mpsc;

use crate::disk::Disk;
use crate::types::TypeConfig;

/// Most appends waiting for a flush; `append` waits when the queue is full.
const MAX_PENDING_FLUSHES: usize = 4096;

/// The sending half; the flushing task ends when every sender is gone.
///
/// The task holds the database only while it has appends to flush: each one brings its own
/// handle. Dropping the log store therefore closes the database (and releases sled's lock on
/// the directory) without waiting for the task to be polled again.
#[derive(Debug, Clone)]
pub(crate) struct GroupFlusher {
    disk: Disk,
    pending: mpsc::Sender<PendingFlush>,
}

/// An append waiting to be made durable, with the database to flush.
struct PendingFlush {
    disk: Disk,
    callback: LogFlushed<TypeConfig>,
}

impl GroupFlusher {
    /// Starts the flushing task on the current tokio runtime.
    pub(crate) fn start(disk: Disk) -> GroupFlusher {
        let (pending, receiver) = mpsc::channel(MAX_PENDING_FLUSHES);
        tokio::spawn(run(receiver));
        GroupFlusher { disk, pending }
    }

    /// Completes `callback` once everything written before this call is durable.
    pub(crate) async fn flush_then(&self, callback: LogFlushed<TypeConfig>) -> Result<(), io::Error> {
        let pending = PendingFlush { disk: self.disk.clone(), callback };
        self.pending.send(pending).await.map_err(|_| io::Error::other("log flusher has stopped"))
    }
}

async fn run(mut receiver: mpsc::Receiver<PendingFlush>) {
    let mut batch = Vec::new();
    while let Some(PendingFlush { disk, callback }) = receiver.recv().await {
        batch.push(callback);
        while let Ok(next) = receiver.try_recv() {
            batch.push(next.callback);
        }
        let flushed = disk.flush().await;
        // Hold no database handle while idle.
        drop(disk);
        for callback in batch.drain(..) {
            let result = match &flushed {
                Ok(()) => Ok(()),
                Err(error) => Err(io::Error::new(error.kind(), error.to_string())),
            };
            callback.log_io_completed(result);
        }
    }
}
