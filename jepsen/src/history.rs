//! The operation history, as Jepsen records it: one JSON object per line, each an invocation or a
//! completion of one process's operation on one key.
//!
//! This module writes and reads that file (bounded on both sides: line length and event count) and
//! pairs each invocation with its completion into an [`Operation`] the checker can order. It knows
//! nothing about what the operations mean; that is the [`Model`](crate::model::Model)'s job.

use std::collections::HashMap;
use std::io::{BufRead, Read, Write};

use serde::{Deserialize, Serialize};

/// Whether an event starts an operation or reports how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// The process is about to send the request.
    Invoke,
    /// The operation took effect and its result is known.
    Ok,
    /// The operation definitely did not take effect (for example the server refused it).
    Fail,
    /// Indeterminate: the operation may or may not have taken effect, at any time after its
    /// invocation (a timeout, a dropped connection). The process is not used again.
    Info,
}

/// One line of the history file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The logical client that issued the operation; it runs one operation at a time.
    pub process: u64,
    /// Invocation or completion.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The operation's name, for example `"describe"`.
    pub f: String,
    /// The key the operation acts on; keys are checked independently.
    pub key: String,
    /// On an invocation, the operation's input; on a completion, its output.
    #[serde(default)]
    pub value: serde_json::Value,
    /// When the event happened, in nanoseconds on one monotonic clock shared by all processes.
    pub time_ns: u64,
    /// The event's position in the history; strictly increasing from line to line.
    pub index: u64,
}

/// Bounds on a history file, applied when writing and when reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimits {
    /// The longest line, in bytes, without its newline.
    pub max_line_bytes: usize,
    /// The most events one history may hold.
    pub max_events: usize,
}

impl Default for HistoryLimits {
    fn default() -> Self {
        Self { max_line_bytes: 64 * 1024, max_events: 2_000_000 }
    }
}

/// Why a history could not be written, read or paired.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// Reading or writing the underlying file failed.
    #[error("history I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A line is longer than [`HistoryLimits::max_line_bytes`].
    #[error("line {line}: longer than {limit} bytes")]
    LineTooLong {
        /// 1-based line number.
        line: u64,
        /// The limit it exceeded.
        limit: usize,
    },
    /// The history holds more than [`HistoryLimits::max_events`] events.
    #[error("more than {limit} events")]
    TooManyEvents {
        /// The limit it exceeded.
        limit: usize,
    },
    /// A line is not a valid event.
    #[error("line {line}: {source}")]
    Parse {
        /// 1-based line number.
        line: u64,
        /// What serde_json objected to.
        source: serde_json::Error,
    },
    /// An event could not be encoded.
    #[error("event {index}: {source}")]
    Encode {
        /// The event's index.
        index: u64,
        /// What serde_json objected to.
        source: serde_json::Error,
    },
    /// Event indices must strictly increase.
    #[error("event index {index} does not follow {previous}")]
    IndexNotIncreasing {
        /// The index of the event before.
        previous: u64,
        /// The offending index.
        index: u64,
    },
    /// A process invoked an operation while its previous one was still outstanding.
    #[error("event {index}: process {process} invoked while its previous operation is outstanding")]
    DoubleInvoke {
        /// The process.
        process: u64,
        /// The offending event's index.
        index: u64,
    },
    /// A completion arrived for a process with no outstanding invocation.
    #[error("event {index}: process {process} completed an operation it never invoked")]
    CompletionWithoutInvoke {
        /// The process.
        process: u64,
        /// The offending event's index.
        index: u64,
    },
    /// A completion names a different operation or key than its invocation.
    #[error("event {index}: process {process} completed {completed} but invoked {invoked}")]
    CompletionMismatch {
        /// The process.
        process: u64,
        /// The offending event's index.
        index: u64,
        /// `f` and key of the invocation.
        invoked: String,
        /// `f` and key of the completion.
        completed: String,
    },
    /// A completion is timed before its invocation.
    #[error("event {index}: completes at {return_ns} ns, before its invocation at {call_ns} ns")]
    CompletionBeforeInvoke {
        /// The offending event's index.
        index: u64,
        /// The invocation's time.
        call_ns: u64,
        /// The completion's time.
        return_ns: u64,
    },
}

/// Appends events to a history file, one JSON line each.
///
/// It refuses what the reader would refuse (an index that does not increase, a line over the
/// limit), so a history it wrote can always be read back.
#[derive(Debug)]
pub struct HistoryWriter<W: Write> {
    out: W,
    limits: HistoryLimits,
    written: usize,
    last_index: Option<u64>,
}

impl<W: Write> HistoryWriter<W> {
    /// A writer appending to `out`.
    pub fn new(out: W, limits: HistoryLimits) -> Self {
        Self { out, limits, written: 0, last_index: None }
    }

    /// Appends one event.
    pub fn write(&mut self, event: &Event) -> Result<(), HistoryError> {
        if self.written >= self.limits.max_events {
            return Err(HistoryError::TooManyEvents { limit: self.limits.max_events });
        }
        check_index(self.last_index, event.index)?;
        let mut line = serde_json::to_vec(event)
            .map_err(|source| HistoryError::Encode { index: event.index, source })?;
        if line.len() > self.limits.max_line_bytes {
            let line_number = u64::try_from(self.written).unwrap_or(u64::MAX).saturating_add(1);
            return Err(HistoryError::LineTooLong { line: line_number, limit: self.limits.max_line_bytes });
        }
        line.push(b'\n');
        self.out.write_all(&line)?;
        self.written += 1;
        self.last_index = Some(event.index);
        Ok(())
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> Result<(), HistoryError> {
        self.out.flush()?;
        Ok(())
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> Result<W, HistoryError> {
        self.flush()?;
        Ok(self.out)
    }
}

/// Reads events from a history file, one JSON line each, never buffering more than one line of
/// [`HistoryLimits::max_line_bytes`] and never yielding more than [`HistoryLimits::max_events`].
/// Blank lines are skipped.
#[derive(Debug)]
pub struct HistoryReader<R: BufRead> {
    input: R,
    limits: HistoryLimits,
    line_number: u64,
    read: usize,
    last_index: Option<u64>,
    buffer: Vec<u8>,
    finished: bool,
}

impl<R: BufRead> HistoryReader<R> {
    /// A reader over `input`.
    pub fn new(input: R, limits: HistoryLimits) -> Self {
        Self { input, limits, line_number: 0, read: 0, last_index: None, buffer: Vec::new(), finished: false }
    }

    /// Reads the next event, or `None` at the end of the input.
    pub fn next_event(&mut self) -> Result<Option<Event>, HistoryError> {
        loop {
            self.buffer.clear();
            // One byte beyond the limit (plus the newline) tells an over-long line from a full one.
            let cap = u64::try_from(self.limits.max_line_bytes).unwrap_or(u64::MAX).saturating_add(2);
            let n = (&mut self.input).take(cap).read_until(b'\n', &mut self.buffer)?;
            if n == 0 {
                return Ok(None);
            }
            self.line_number += 1;
            if self.buffer.last() == Some(&b'\n') {
                self.buffer.pop();
                if self.buffer.last() == Some(&b'\r') {
                    self.buffer.pop();
                }
            } else if n as u64 == cap {
                return Err(HistoryError::LineTooLong {
                    line: self.line_number,
                    limit: self.limits.max_line_bytes,
                });
            }
            if self.buffer.len() > self.limits.max_line_bytes {
                return Err(HistoryError::LineTooLong {
                    line: self.line_number,
                    limit: self.limits.max_line_bytes,
                });
            }
            if self.buffer.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if self.read >= self.limits.max_events {
                return Err(HistoryError::TooManyEvents { limit: self.limits.max_events });
            }
            let event: Event = serde_json::from_slice(&self.buffer)
                .map_err(|source| HistoryError::Parse { line: self.line_number, source })?;
            check_index(self.last_index, event.index)?;
            self.last_index = Some(event.index);
            self.read += 1;
            return Ok(Some(event));
        }
    }

    /// Reads every remaining event.
    pub fn read_all(mut self) -> Result<Vec<Event>, HistoryError> {
        let mut events = Vec::new();
        while let Some(event) = self.next_event()? {
            events.push(event);
        }
        Ok(events)
    }
}

impl<R: BufRead> Iterator for HistoryReader<R> {
    type Item = Result<Event, HistoryError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let item = self.next_event().transpose();
        // After an error the stream position is meaningless; stop rather than guess.
        if !matches!(item, Some(Ok(_))) {
            self.finished = true;
        }
        item
    }
}

fn check_index(previous: Option<u64>, index: u64) -> Result<(), HistoryError> {
    match previous {
        Some(previous) if index <= previous => Err(HistoryError::IndexNotIncreasing { previous, index }),
        _ => Ok(()),
    }
}

/// One operation: an invocation paired with its completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The process that ran it.
    pub process: u64,
    /// The operation's name.
    pub f: String,
    /// The key it acted on.
    pub key: String,
    /// The invocation's value.
    pub input: serde_json::Value,
    /// The completion's value; meaningful only when [`return_ns`](Self::return_ns) is `Some`.
    pub output: serde_json::Value,
    /// When it was invoked.
    pub call_ns: u64,
    /// When it completed, or `None` when it is indeterminate (an `info` completion or none at all):
    /// it may have taken effect at any time after `call_ns`, or never.
    pub return_ns: Option<u64>,
    /// The index of its invocation event, to point back into the history file.
    pub invoke_index: u64,
}

impl Operation {
    /// Whether the operation may or may not have taken effect.
    pub fn is_indeterminate(&self) -> bool {
        self.return_ns.is_none()
    }

    /// The output the client observed, or `None` when the operation is indeterminate and its
    /// output says nothing.
    pub fn observed_output(&self) -> Option<&serde_json::Value> {
        self.return_ns.map(|_| &self.output)
    }
}

impl std::fmt::Display for Operation {
    /// `p3 describe null -> "Enabled" [1200, 1900] ns`, with `?` for an indeterminate end.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "p{} {} {}", self.process, self.f, self.input)?;
        match self.return_ns {
            Some(return_ns) => write!(f, " -> {} [{}, {}] ns", self.output, self.call_ns, return_ns),
            None => write!(f, " -> ? [{}, ?] ns", self.call_ns),
        }
    }
}

/// Pairs each invocation with the same process's next completion.
///
/// `ok` gives a completed operation; `fail` means it did not happen, so it is dropped; `info` and
/// an invocation never completed (the history ended first) give an indeterminate operation. The
/// result is in invocation order.
pub fn pair_operations(events: &[Event]) -> Result<Vec<Operation>, HistoryError> {
    // Operations under construction, by position in `slots`; `None` once dropped as failed.
    let mut slots: Vec<Option<Operation>> = Vec::new();
    let mut outstanding: HashMap<u64, usize> = HashMap::new();
    for event in events {
        match event.kind {
            EventType::Invoke => {
                if outstanding.contains_key(&event.process) {
                    return Err(HistoryError::DoubleInvoke { process: event.process, index: event.index });
                }
                outstanding.insert(event.process, slots.len());
                slots.push(Some(Operation {
                    process: event.process,
                    f: event.f.clone(),
                    key: event.key.clone(),
                    input: event.value.clone(),
                    output: serde_json::Value::Null,
                    call_ns: event.time_ns,
                    return_ns: None,
                    invoke_index: event.index,
                }));
            }
            EventType::Ok | EventType::Fail | EventType::Info => {
                let slot =
                    outstanding.remove(&event.process).ok_or(HistoryError::CompletionWithoutInvoke {
                        process: event.process,
                        index: event.index,
                    })?;
                let Some(Some(op)) = slots.get_mut(slot) else {
                    // The slot was pushed when the invocation was seen and is cleared only here.
                    return Err(HistoryError::CompletionWithoutInvoke {
                        process: event.process,
                        index: event.index,
                    });
                };
                complete(op, event)?;
                if event.kind == EventType::Fail {
                    slots[slot] = None;
                }
            }
        }
    }
    Ok(slots.into_iter().flatten().collect())
}

fn complete(op: &mut Operation, event: &Event) -> Result<(), HistoryError> {
    if op.f != event.f || op.key != event.key {
        return Err(HistoryError::CompletionMismatch {
            process: event.process,
            index: event.index,
            invoked: format!("{} on {}", op.f, op.key),
            completed: format!("{} on {}", event.f, event.key),
        });
    }
    if event.time_ns < op.call_ns {
        return Err(HistoryError::CompletionBeforeInvoke {
            index: event.index,
            call_ns: op.call_ns,
            return_ns: event.time_ns,
        });
    }
    op.output = event.value.clone();
    if event.kind == EventType::Ok {
        op.return_ns = Some(event.time_ns);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(index: u64, process: u64, kind: EventType, f: &str, value: serde_json::Value) -> Event {
        Event { process, kind, f: f.into(), key: "k".into(), value, time_ns: index * 10, index }
    }

    #[test]
    fn events_round_trip_through_writer_and_reader() {
        let events = vec![
            event(0, 1, EventType::Invoke, "describe", json!(null)),
            event(1, 1, EventType::Ok, "describe", json!("Enabled")),
        ];
        let mut writer = HistoryWriter::new(Vec::new(), HistoryLimits::default());
        for e in &events {
            writer.write(e).unwrap();
        }
        let bytes = writer.into_inner().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.lines().next().unwrap().contains(r#""type":"invoke""#));
        let read = HistoryReader::new(&bytes[..], HistoryLimits::default()).read_all().unwrap();
        assert_eq!(read, events);
    }

    #[test]
    fn reader_rejects_a_line_over_the_limit() {
        let limits = HistoryLimits { max_line_bytes: 40, max_events: 10 };
        let line = format!("{}\n", "x".repeat(100));
        let err = HistoryReader::new(line.as_bytes(), limits).read_all().unwrap_err();
        assert!(matches!(err, HistoryError::LineTooLong { line: 1, limit: 40 }), "{err}");
    }

    #[test]
    fn reader_rejects_more_events_than_the_limit() {
        let limits = HistoryLimits { max_line_bytes: 1024, max_events: 1 };
        let mut text = String::new();
        for i in 0..2 {
            text.push_str(
                &serde_json::to_string(&event(i, 1, EventType::Invoke, "enable", json!(null))).unwrap(),
            );
            text.push('\n');
        }
        let err = HistoryReader::new(text.as_bytes(), limits).read_all().unwrap_err();
        assert!(matches!(err, HistoryError::TooManyEvents { limit: 1 }), "{err}");
    }

    #[test]
    fn reader_rejects_indices_that_do_not_increase() {
        let a = serde_json::to_string(&event(5, 1, EventType::Invoke, "enable", json!(null))).unwrap();
        let text = format!("{a}\n\n{a}\n");
        let err = HistoryReader::new(text.as_bytes(), HistoryLimits::default()).read_all().unwrap_err();
        assert!(matches!(err, HistoryError::IndexNotIncreasing { previous: 5, index: 5 }), "{err}");
    }

    #[test]
    fn writer_refuses_what_the_reader_would_refuse() {
        let limits = HistoryLimits { max_line_bytes: 200, max_events: 10 };
        let mut writer = HistoryWriter::new(Vec::new(), limits);
        writer.write(&event(3, 1, EventType::Invoke, "enable", json!(null))).unwrap();
        assert!(matches!(
            writer.write(&event(2, 1, EventType::Ok, "enable", json!(null))),
            Err(HistoryError::IndexNotIncreasing { .. })
        ));
        let big = event(4, 1, EventType::Ok, "enable", json!("y".repeat(300)));
        assert!(matches!(writer.write(&big), Err(HistoryError::LineTooLong { .. })));
    }

    #[test]
    fn pairing_keeps_ok_drops_fail_and_leaves_info_and_unfinished_open() {
        let events = vec![
            event(0, 1, EventType::Invoke, "disable", json!(null)),
            event(1, 2, EventType::Invoke, "enable", json!(null)),
            event(2, 3, EventType::Invoke, "describe", json!(null)),
            event(3, 4, EventType::Invoke, "disable", json!(null)),
            event(4, 1, EventType::Ok, "disable", json!(null)),
            event(5, 2, EventType::Fail, "enable", json!(null)),
            event(6, 3, EventType::Info, "describe", json!(null)),
        ];
        let ops = pair_operations(&events).unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!((ops[0].process, ops[0].return_ns), (1, Some(40)));
        assert_eq!((ops[1].process, ops[1].return_ns), (3, None));
        assert_eq!((ops[2].process, ops[2].return_ns), (4, None));
        assert!(ops[1].observed_output().is_none());
    }

    #[test]
    fn pairing_rejects_inconsistent_processes() {
        let double = vec![
            event(0, 1, EventType::Invoke, "enable", json!(null)),
            event(1, 1, EventType::Invoke, "enable", json!(null)),
        ];
        assert!(matches!(pair_operations(&double), Err(HistoryError::DoubleInvoke { process: 1, index: 1 })));
        let orphan = vec![event(0, 1, EventType::Ok, "enable", json!(null))];
        assert!(matches!(pair_operations(&orphan), Err(HistoryError::CompletionWithoutInvoke { .. })));
        let mismatch = vec![
            event(0, 1, EventType::Invoke, "enable", json!(null)),
            event(1, 1, EventType::Ok, "disable", json!(null)),
        ];
        assert!(matches!(pair_operations(&mismatch), Err(HistoryError::CompletionMismatch { .. })));
    }
}
