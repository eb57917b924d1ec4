//! Records every client operation of a run as it happens: invocations and completions, stamped
//! on one monotonic clock, kept in memory for the checkers and written to `history.jsonl`.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::Value;

use crate::history::{Event, EventType, HistoryLimits, HistoryWriter};

use super::HarnessError;

/// The run's history, shared by every worker.
pub struct Recorder {
    origin: Instant,
    next_process: AtomicU64,
    inner: Mutex<Inner>,
}

struct Inner {
    events: Vec<Event>,
    writer: HistoryWriter<BufWriter<File>>,
    next_index: u64,
}

impl Recorder {
    /// A recorder writing to `path` (created or truncated).
    pub fn create(path: &Path) -> Result<Recorder, HarnessError> {
        let file = File::create(path)
            .map_err(|error| HarnessError::io(format!("cannot create {}", path.display()), error))?;
        let writer = HistoryWriter::new(BufWriter::new(file), HistoryLimits::default());
        Ok(Recorder {
            origin: Instant::now(),
            next_process: AtomicU64::new(0),
            inner: Mutex::new(Inner { events: Vec::new(), writer, next_index: 0 }),
        })
    }

    /// Nanoseconds since the run started, on the clock every event uses.
    pub fn now_ns(&self) -> u64 {
        self.ns_at(Instant::now())
    }

    /// `instant` on the history's clock.
    pub fn ns_at(&self, instant: Instant) -> u64 {
        u64::try_from(instant.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX)
    }

    /// A fresh process id: a worker takes one at start and after each indeterminate operation,
    /// since that operation may still be in flight.
    pub fn new_process(&self) -> u64 {
        self.next_process.fetch_add(1, Ordering::Relaxed)
    }

    /// Records that `process` is invoking `f` on `key` with `value`.
    pub fn invoke(&self, process: u64, f: &str, key: &str, value: Value) -> Result<(), HarnessError> {
        self.record(process, EventType::Invoke, f, key, value)
    }

    /// Flushes the file and returns every event recorded.
    pub fn finish(&self) -> Result<Vec<Event>, HarnessError> {
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        inner.writer.flush()?;
        Ok(inner.events.clone())
    }

    /// Records an event of `process`: an invocation, or how its current operation ended.
    pub fn record(
        &self,
        process: u64,
        kind: EventType,
        f: &str,
        key: &str,
        value: Value,
    ) -> Result<(), HarnessError> {
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Stamped under the lock, so time and index increase together.
        let event = Event {
            process,
            kind,
            f: f.to_owned(),
            key: key.to_owned(),
            value,
            time_ns: self.now_ns(),
            index: inner.next_index,
        };
        inner.writer.write(&event)?;
        inner.next_index += 1;
        inner.events.push(event);
        Ok(())
    }
}
