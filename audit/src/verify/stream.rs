//! The log as one stream of records across its files, in order: each complete line parsed and
//! hashed, with its position; a line that is not a record ends the stream as a [`Problem`].

use std::fs::File;
use std::io::BufReader;

use super::{Problem, ProblemKind};
use crate::error::AuditError;
use crate::files::{read_line, LineRead, LogFile, MAX_LOG_FILES};
use crate::hash::LineHash;
use crate::line::{DigestRecord, Line, MAX_LINE_BYTES};

/// Where a record is and what it hashes to: all that the chain needs to remember of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Seen {
    /// Index of its file in the listing.
    pub file: usize,
    /// 1-based line in that file.
    pub line: u64,
    /// Its sequence.
    pub sequence: u64,
    /// SHA-256 of its line.
    pub hash: LineHash,
}

/// One record read from the stream.
#[derive(Debug, Clone)]
pub(super) struct Record {
    /// Position and hash.
    pub at: Seen,
    /// Its `previousHash`.
    pub previous: LineHash,
    /// Whether it is the first line of its file.
    pub first_in_file: bool,
    /// The digest, for a digest line.
    pub digest: Option<DigestRecord>,
}

/// Whether `record` follows `previous` in the chain.
pub(super) fn links(previous: &Seen, record: &Record) -> bool {
    previous.sequence.checked_add(1) == Some(record.at.sequence) && record.previous == previous.hash
}

/// Why the stream stopped early.
pub(super) enum Fault {
    /// A line that is not a record.
    Problem(Problem),
    /// A file could not be read.
    Io(AuditError),
}

/// Reads the records of a listing of files, oldest first.
pub(super) struct RecordStream {
    files: Vec<LogFile>,
    /// Index of the file being read; `files.len()` once done.
    file: usize,
    reader: Option<BufReader<File>>,
    line: u64,
    buf: Vec<u8>,
    unterminated_tail: bool,
}

impl RecordStream {
    pub(super) fn new(mut files: Vec<LogFile>) -> RecordStream {
        files.truncate(MAX_LOG_FILES);
        RecordStream { files, file: 0, reader: None, line: 0, buf: Vec::new(), unterminated_tail: false }
    }

    /// Whether the newest file ended in a line without a newline.
    pub(super) fn unterminated_tail(&self) -> bool {
        self.unterminated_tail
    }

    /// Up to `limit` further records, stopping quietly at the end or at a bad line.
    pub(super) fn read_ahead(&mut self, limit: usize) -> Vec<Record> {
        let mut ahead = Vec::new();
        while ahead.len() < limit {
            match self.next_record() {
                Ok(Some(record)) => ahead.push(record),
                Ok(None) | Err(_) => break,
            }
        }
        ahead
    }

    /// The next record, `None` after the last one.
    pub(super) fn next_record(&mut self) -> Result<Option<Record>, Fault> {
        loop {
            let Some(log_file) = self.files.get(self.file) else { return Ok(None) };
            let reader = match &mut self.reader {
                Some(reader) => reader,
                None => {
                    let file = File::open(&log_file.path)
                        .map_err(|err| Fault::Io(AuditError::io(&log_file.path)(err)))?;
                    self.line = 0;
                    self.reader.insert(BufReader::new(file))
                }
            };
            let read = read_line(reader, &mut self.buf)
                .map_err(|err| Fault::Io(AuditError::io(&log_file.path)(err)))?;
            let is_last_file = self.file + 1 == self.files.len();
            match read {
                LineRead::End => {
                    self.reader = None;
                    self.file += 1;
                    continue;
                }
                LineRead::Complete => {}
                LineRead::Unterminated if is_last_file => {
                    self.unterminated_tail = true;
                    self.file += 1;
                    self.reader = None;
                    return Ok(None);
                }
                LineRead::Unterminated => {
                    let line = self.line + 1;
                    let detail = "the file ends in a partial record: it was cut mid-line".to_owned();
                    return Err(self.fault(ProblemKind::Truncated, line, detail));
                }
                LineRead::TooLong => {
                    let line = self.line + 1;
                    return Err(self.fault(
                        ProblemKind::Malformed,
                        line,
                        format!("line over {MAX_LINE_BYTES} bytes"),
                    ));
                }
            }
            self.line += 1;
            let parsed = Line::parse(&self.buf)
                .map_err(|err| self.fault(ProblemKind::Malformed, self.line, err.to_string()))?;
            let previous = LineHash::from_hex(parsed.previous_hash()).unwrap_or(LineHash::GENESIS);
            let at = Seen {
                file: self.file,
                line: self.line,
                sequence: parsed.sequence(),
                hash: LineHash::of(&self.buf),
            };
            let digest = match parsed {
                Line::Digest(digest) => Some(digest),
                Line::Event(_) => None,
            };
            return Ok(Some(Record { at, previous, first_in_file: self.line == 1, digest }));
        }
    }

    /// A problem at `line` of the file being read; the stream ends there.
    fn fault(&mut self, kind: ProblemKind, line: u64, detail: String) -> Fault {
        let file = self.files.get(self.file).map(LogFile::name).unwrap_or_default();
        // Stop the stream: nothing after a bad line is read.
        self.file = self.files.len();
        self.reader = None;
        Fault::Problem(Problem { file, line, sequence: None, kind, detail })
    }
}
