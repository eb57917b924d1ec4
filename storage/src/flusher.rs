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
#[derive(Debug, Clone)]
pub(crate) struct GroupFlusher {
    pending: mpsc::Sender<LogFlushed<TypeConfig>>,
}

impl GroupFlusher {
    /// Starts the flushing task on the current tokio runtime.
    pub(crate) fn start(disk: Disk) -> GroupFlusher {
        let (pending, receiver) = mpsc::channel(MAX_PENDING_FLUSHES);
        tokio::spawn(run(disk, receiver));
        GroupFlusher { pending }
    }

    /// Completes `callback` once everything written before this call is durable.
    pub(crate) async fn flush_then(&self, callback: LogFlushed<TypeConfig>) -> Result<(), io::Error> {
        self.pending.send(callback).await.map_err(|_| io::Error::other("log flusher has stopped"))
    }
}

async fn run(disk: Disk, mut receiver: mpsc::Receiver<LogFlushed<TypeConfig>>) {
    let mut batch = Vec::new();
    while let Some(first) = receiver.recv().await {
        batch.push(first);
        while let Ok(next) = receiver.try_recv() {
            batch.push(next);
        }
        let flushed = disk.flush().await;
        for callback in batch.drain(..) {
            let result = match &flushed {
                Ok(()) => Ok(()),
                Err(error) => Err(io::Error::new(error.kind(), error.to_string())),
            };
            callback.log_io_completed(result);
        }
    }
}
