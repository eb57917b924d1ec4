//! The writer of a log directory: group commit of a batch of events (one write, one fdatasync,
//! then the head moves), rollback of a failed write so no partial line stays, rotation to a new
//! file, retention of old files, and recovery of the head (dropping a torn tail) on open.
//!
//! A record is acknowledged only once `append` returns `Ok`, which is after `sync_data`; so a
//! torn or unparseable final line found on open was never acknowledged and is cut away.
//!
//! A file's age, for [`RotationPolicy::max_file_age`], counts from its first record: the `at` of
//! the append that started it, or after a restart the `eventTime` of its first line (the open
//! time if that does not parse).
//!
//! **Preallocation.** The current file is extended [`PREALLOCATION_BYTES`] at a time with zeros
//! (written and synced once), and batches are written into that space: a group commit's
//! `fdatasync` then flushes only the batch's data, not a new file size and new blocks with it,
//! which on a virtio disk halves what each commit costs. The zeros past the last record are
//! padding: a reader stops at a line that starts with a NUL byte, a closed file is cut to its
//! records, and recovery on open cuts the padding away with any torn tail.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;

use crate::crypto::DigestSigner;
use crate::error::AuditError;
use crate::files::{self, display_name, list_log_files, LineRead, LogFile};
use crate::hash::LineHash;
use crate::line::{digest_message, encode_digest_line, DigestRecord, EncodedEvent, Line, TrentDigest};
use crate::record::Event;
use crate::time::{parse_rfc3339_seconds, unix_ms};

/// The most events one `append` (one group commit) takes.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// The most bytes one `append` encodes before writing.
pub const MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;
/// How far the current file is extended with zeros at a time.
pub const PREALLOCATION_BYTES: u64 = 256 * 1024;
/// The zeros go in writes of one page each, so the page cache holds them in page-sized folios:
/// a commit then dirties (and its sync writes back) only the pages its batch touched. One large
/// write of zeros would make large folios (ext4 has them since Linux 6.16), and every later
/// commit into one would write the whole folio back — 256 KiB per commit for ~14 KiB of records.
const ZERO_WRITE_BYTES: usize = 4096;
static ZEROS: [u8; ZERO_WRITE_BYTES] = [0; ZERO_WRITE_BYTES];
/// Once this much more of the current file is durable, its synced pages are dropped from the
/// page cache: the log is written once and read rarely, so its pages would only crowd out the
/// registry's, and a page cache that keeps growing costs every write a fresh page.
const DROP_CACHED_EVERY_BYTES: u64 = 1024 * 1024;

/// When the writer starts a new file and which old files it deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationPolicy {
    /// Start a new file before the current one would grow past this (a batch larger than this
    /// still goes whole into one file).
    pub max_file_bytes: u64,
    /// Start a new file once the current one's first record is this old.
    pub max_file_age: Duration,
    /// Delete the oldest closed files while all files together exceed this.
    pub retain_bytes: Option<u64>,
    /// Delete the oldest closed files whose newest record is older than this.
    pub retain_age: Option<Duration>,
}

impl Default for RotationPolicy {
    /// 64 MiB or 24 hours per file; keep everything.
    fn default() -> Self {
        RotationPolicy {
            max_file_bytes: 64 * 1024 * 1024,
            max_file_age: Duration::from_secs(24 * 3600),
            retain_bytes: None,
            retain_age: None,
        }
    }
}

/// The last record written: the next record's `sequence - 1` and `previousHash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainHead {
    /// Its sequence (0 for an empty log).
    pub sequence: u64,
    /// SHA-256 hex of its line (64 zeros for an empty log).
    pub hash: String,
}

/// The sequences one `append` wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppendedRange {
    /// The first event's sequence.
    pub first_sequence: u64,
    /// The last event's sequence.
    pub last_sequence: u64,
}

/// The file being appended to.
#[derive(Debug)]
struct CurrentFile {
    file: File,
    path: PathBuf,
    /// Bytes acknowledged (fsynced) so far; a failed write is cut back to this.
    len: u64,
    /// Bytes the file holds, records and the zeros after them (see the module doc).
    allocated: u64,
    /// Bytes from the start already dropped from the page cache (see
    /// [`DROP_CACHED_EVERY_BYTES`]).
    uncached: u64,
    /// Unix seconds of its first record, for rotation by age.
    started_at: u64,
    /// Unix seconds of its newest record, for retention once closed.
    newest_at: Option<u64>,
}

/// A file no longer appended to, as retention sees it.
#[derive(Debug)]
struct ClosedFile {
    path: PathBuf,
    bytes: u64,
    newest_at: Option<u64>,
}

/// The writer of one log directory. Synchronous: the node runs it on a thread of its own.
#[derive(Debug)]
pub struct AuditLog {
    dir: PathBuf,
    policy: RotationPolicy,
    sequence: u64,
    hash: LineHash,
    current: Option<CurrentFile>,
    closed: VecDeque<ClosedFile>,
    /// A failed write could not be cut back: the next append first repairs the file.
    poisoned: bool,
}

impl AuditLog {
    /// Opens (creating, mode 0700) the log directory `dir` and recovers the head from the newest
    /// file's last line, cutting away a torn final line.
    pub fn open(dir: &Path, policy: RotationPolicy) -> Result<AuditLog, AuditError> {
        create_dir(dir)?;
        let mut files = list_log_files(dir)?;
        let mut log = AuditLog {
            dir: dir.to_owned(),
            policy,
            sequence: 0,
            hash: LineHash::GENESIS,
            current: None,
            closed: VecDeque::new(),
            poisoned: false,
        };
        while let Some(newest) = files.pop() {
            if log.recover_newest(&newest)? {
                break;
            }
            // No record in it: it was created for a rotation whose first write never landed.
            std::fs::remove_file(&newest.path).map_err(AuditError::io(&newest.path))?;
            sync_dir(dir)?;
        }
        for file in files {
            let bytes = file.path.metadata().map_err(AuditError::io(&file.path))?.len();
            let newest_at = log.policy.retain_age.and_then(|_| newest_record_time(&file.path));
            log.closed.push_back(ClosedFile { path: file.path, bytes, newest_at });
        }
        log.apply_retention(unix_ms(SystemTime::now()) / 1000);
        Ok(log)
    }

    /// The last record written.
    pub fn head(&self) -> ChainHead {
        ChainHead { sequence: self.sequence, hash: self.hash.to_hex() }
    }

    /// Appends `events` as one group commit: all lines are written, then fsynced once, and only
    /// then does the head move. On failure nothing of the batch remains and the head is
    /// unchanged, so the same call may be retried (once space returns, say).
    pub fn append(&mut self, events: &[Event], at: SystemTime) -> Result<AppendedRange, AuditError> {
        let encoded = events.iter().map(EncodedEvent::new).collect::<Result<Vec<_>, _>>()?;
        self.append_encoded(&encoded, at)
    }

    /// [`AuditLog::append`] of events encoded by their callers ([`EncodedEvent::new`]), so the
    /// writer only chains them: the node's path.
    pub fn append_encoded(
        &mut self,
        events: &[EncodedEvent],
        at: SystemTime,
    ) -> Result<AppendedRange, AuditError> {
        if events.is_empty() {
            return Err(AuditError::EmptyBatch);
        }
        if events.len() > MAX_BATCH_EVENTS {
            return Err(AuditError::BatchTooLarge { len: events.len(), max: MAX_BATCH_EVENTS });
        }
        let room: usize = events.iter().map(EncodedEvent::max_line_bytes).sum();
        if room > MAX_BATCH_BYTES {
            return Err(AuditError::BatchTooBig { max: MAX_BATCH_BYTES });
        }
        let first_sequence = self.sequence.checked_add(1).ok_or(AuditError::SequenceExhausted)?;
        let mut batch = Vec::with_capacity(room);
        let (mut sequence, mut hash) = (self.sequence, self.hash);
        for event in events {
            sequence = sequence.checked_add(1).ok_or(AuditError::SequenceExhausted)?;
            let start = batch.len();
            event.write_line(sequence, &hash.hex_digits(), &mut batch);
            hash = LineHash::of(&batch[start..]);
            batch.push(b'\n');
        }
        self.commit(&batch, sequence, hash, unix_ms(at) / 1000)?;
        Ok(AppendedRange { first_sequence, last_sequence: sequence })
    }

    /// Appends a digest line signing the current head with `signer`, fsynced; returns its
    /// sequence. `event_time` must be `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn append_digest(
        &mut self,
        signer: &DigestSigner,
        node_id: u64,
        event_time: String,
    ) -> Result<u64, AuditError> {
        let at = parse_rfc3339_seconds(&event_time)
            .ok_or_else(|| AuditError::InvalidEventTime(event_time.clone()))?;
        let sequence = self.sequence.checked_add(1).ok_or(AuditError::SequenceExhausted)?;
        let head_hash = self.hash.to_hex();
        let signature = signer.sign(&digest_message(node_id, self.sequence, &head_hash, &event_time))?;
        let record = DigestRecord {
            sequence,
            previous_hash: head_hash.clone(),
            node_id,
            event_time,
            trent_digest: TrentDigest {
                signed_sequence: self.sequence,
                head_hash,
                key_id: signer.key_id().to_owned(),
                signature: STANDARD.encode(signature),
            },
        };
        let mut line = encode_digest_line(&record)?;
        let hash = LineHash::of(&line);
        line.push(b'\n');
        self.commit(&line, sequence, hash, at)?;
        Ok(sequence)
    }

    /// Writes `batch` (whole lines) ending at (`sequence`, `hash`), rotating first if due.
    fn commit(&mut self, batch: &[u8], sequence: u64, hash: LineHash, at: u64) -> Result<(), AuditError> {
        if self.poisoned {
            self.repair()?;
        }
        self.rotate_if_due(batch.len() as u64, at)?;
        let current = match self.current.take() {
            Some(current) => current,
            None => start_file(&self.dir, self.sequence + 1, at)?,
        };
        let current = self.current.insert(current);
        let before = current.len;
        let end = before + batch.len() as u64;
        let written = preallocate(current, end)
            .and_then(|()| write_all_at(&current.file, batch, before))
            .and_then(|()| current.file.sync_data());
        if let Err(source) = written {
            // Cut the partial batch (and the padding) away so no torn line precedes the next
            // record.
            let cut = current.file.set_len(before).and_then(|()| current.file.sync_data());
            current.allocated = before;
            self.poisoned = cut.is_err();
            return Err(AuditError::Io { path: current.path.clone(), source });
        }
        current.len = end;
        current.newest_at = Some(at);
        if end - current.uncached >= DROP_CACHED_EVERY_BYTES {
            current.uncached = drop_cached_pages(&current.file, current.uncached, end);
        }
        self.sequence = sequence;
        self.hash = hash;
        self.apply_retention(at);
        Ok(())
    }

    /// Reopens the current file and cuts it back to its last acknowledged length: stronger than
    /// dropping a torn tail, since whole lines of the failed batch were not acknowledged either.
    fn repair(&mut self) -> Result<(), AuditError> {
        if let Some(current) = &mut self.current {
            let file = open_append(&current.path)?;
            file.set_len(current.len)
                .and_then(|()| file.sync_data())
                .map_err(AuditError::io(&current.path))?;
            current.file = file;
            current.allocated = current.len;
        }
        self.poisoned = false;
        Ok(())
    }

    /// Closes the current file when `adding` more bytes would pass the size limit or it is too
    /// old; the next write then starts a new file.
    fn rotate_if_due(&mut self, adding: u64, at: u64) -> Result<(), AuditError> {
        let Some(current) = &self.current else { return Ok(()) };
        if current.len == 0 {
            return Ok(());
        }
        let too_big = current.len.saturating_add(adding) > self.policy.max_file_bytes;
        let too_old = at.saturating_sub(current.started_at) >= self.policy.max_file_age.as_secs();
        if !(too_big || too_old) {
            return Ok(());
        }
        let next = start_file(&self.dir, self.sequence + 1, at)?;
        if let Some(closed) = self.current.replace(next) {
            // A closed file holds its records only. Had this failed, its padding would still
            // read as the end of the file.
            let _ = closed.file.set_len(closed.len).and_then(|()| closed.file.sync_data());
            drop_cached_pages(&closed.file, closed.uncached, closed.len);
            self.closed.push_back(ClosedFile {
                path: closed.path,
                bytes: closed.len,
                newest_at: closed.newest_at,
            });
        }
        Ok(())
    }

    /// Deletes the oldest closed files while the log is over its byte budget or they are past
    /// the retention age; never the current file. Best effort: a file that cannot be deleted
    /// stays listed and is tried again after the next write.
    fn apply_retention(&mut self, now: u64) {
        let current_bytes = self.current.as_ref().map_or(0, |current| current.len);
        let mut total: u64 = self.closed.iter().map(|file| file.bytes).sum::<u64>() + current_bytes;
        while let Some(oldest) = self.closed.front() {
            let too_big = self.policy.retain_bytes.is_some_and(|budget| total > budget);
            let too_old = self.policy.retain_age.is_some_and(|age| {
                oldest.newest_at.is_some_and(|newest| newest.saturating_add(age.as_secs()) < now)
            });
            if !(too_big || too_old) || std::fs::remove_file(&oldest.path).is_err() {
                break;
            }
            total -= oldest.bytes;
            self.closed.pop_front();
        }
    }

    /// Makes `file` the current file if it holds a record, cutting a torn or unparseable final
    /// line; `false` if no record is left in it.
    fn recover_newest(&mut self, log_file: &LogFile) -> Result<bool, AuditError> {
        let path = &log_file.path;
        let mut file = OpenOptions::new().read(true).write(true).open(path).map_err(AuditError::io(path))?;
        // The padding after the records (and whatever a crash left in it) goes first.
        let records_end = files::records_end(&file, path)?;
        if records_end != file.metadata().map_err(AuditError::io(path))?.len() {
            cut(&file, path, records_end)?;
        }
        let mut tail = files::read_tail(&mut file, path)?;
        let len = file.metadata().map_err(AuditError::io(path))?.len();
        if len != tail.complete_len {
            cut(&file, path, tail.complete_len)?;
        }
        let mut last = tail.last_line.as_deref().map(Line::parse);
        if matches!(last, Some(Err(_))) {
            cut(&file, path, tail.last_line_start)?;
            tail = files::read_tail(&mut file, path)?;
            last = tail.last_line.as_deref().map(Line::parse);
        }
        let (line, bytes) = match (last, &tail.last_line) {
            (None, _) | (_, None) => return Ok(false),
            (Some(Err(err)), _) => {
                let detail = format!("the last two lines are not records: {err}");
                return Err(AuditError::Malformed { file: display_name(path), line: 0, detail });
            }
            (Some(Ok(line)), Some(bytes)) => (line, bytes),
        };
        self.sequence = line.sequence();
        self.hash = LineHash::of(bytes);
        let newest_at = parse_rfc3339_seconds(line.event_time());
        let started_at = first_record_time(path)?.unwrap_or_else(|| unix_ms(SystemTime::now()) / 1000);
        let file = open_append(path)?;
        let len = tail.complete_len;
        self.current = Some(CurrentFile {
            file,
            path: path.clone(),
            len,
            allocated: len,
            uncached: 0,
            started_at,
            newest_at,
        });
        Ok(true)
    }
}

impl Drop for AuditLog {
    /// A log closed cleanly leaves its current file holding its records only (best effort: the
    /// padding reads as the end of the file anyway).
    fn drop(&mut self) {
        if let Some(current) = &self.current {
            if current.allocated > current.len {
                let _ = current.file.set_len(current.len).and_then(|()| current.file.sync_data());
            }
        }
    }
}

/// Creates the file whose first record will be `first_sequence`, and makes its name durable.
fn start_file(dir: &Path, first_sequence: u64, at: u64) -> Result<CurrentFile, AuditError> {
    let path = dir.join(files::file_name(first_sequence));
    let file = open_append(&path)?;
    let len = file.metadata().map_err(AuditError::io(&path))?.len();
    if len != 0 {
        // Only a leftover of a failed rotation can exist, and that one is empty.
        return Err(AuditError::Malformed {
            file: display_name(&path),
            line: 0,
            detail: "a new log file's name is taken by a file with records".to_owned(),
        });
    }
    sync_dir(dir)?;
    Ok(CurrentFile { file, path, len: 0, allocated: 0, uncached: 0, started_at: at, newest_at: None })
}

/// Extends `current` with zeros to the next multiple of [`PREALLOCATION_BYTES`] at or past
/// `end`, in page-sized writes on page boundaries (see [`ZERO_WRITE_BYTES`]).
fn preallocate(current: &mut CurrentFile, end: u64) -> std::io::Result<()> {
    if end <= current.allocated {
        return Ok(());
    }
    let target = end.div_ceil(PREALLOCATION_BYTES).saturating_mul(PREALLOCATION_BYTES);
    let page = ZERO_WRITE_BYTES as u64;
    let mut offset = current.allocated;
    while offset < target {
        // Up to the next page boundary: after a restart or a rollback the file ends mid-page.
        let len = (page - offset % page).min(target - offset);
        write_all_at(&current.file, &ZEROS[..len as usize], offset)?;
        offset += len;
    }
    current.allocated = target;
    Ok(())
}

/// Drops `file`'s cached pages from `from` to the last page boundary at or below `synced`
/// (all of it durable, so the pages are clean) and returns that boundary. Only advice: the
/// data stays on disk either way.
fn drop_cached_pages(file: &File, from: u64, synced: u64) -> u64 {
    let page = ZERO_WRITE_BYTES as u64;
    let from = from / page * page;
    let below = synced / page * page;
    if below <= from {
        return from;
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let offset = libc::off_t::try_from(from).unwrap_or(libc::off_t::MAX);
        let len = libc::off_t::try_from(below - from).unwrap_or(libc::off_t::MAX);
        // SAFETY: posix_fadvise only reads its integer arguments; `file` keeps the descriptor
        // open for the call. (A length of 0 would mean "to the end": `below > from` here.)
        unsafe { libc::posix_fadvise(file.as_raw_fd(), offset, len, libc::POSIX_FADV_DONTNEED) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
    below
}

fn write_all_at(file: &File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::Seek;
        let mut file = file;
        file.seek(std::io::SeekFrom::Start(offset))?;
        file.write_all(bytes)
    }
}

/// Opens (creating, mode 0600) a log file for writing at chosen offsets: not `O_APPEND`, which
/// would put every write after the padding.
fn open_append(path: &Path) -> Result<File, AuditError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(AuditError::io(path))
}

fn cut(file: &File, path: &Path, len: u64) -> Result<(), AuditError> {
    file.set_len(len).and_then(|()| file.sync_data()).map_err(AuditError::io(path))
}

fn create_dir(dir: &Path) -> Result<(), AuditError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(AuditError::io(dir))
}

/// Makes a created or deleted name in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), AuditError> {
    #[cfg(unix)]
    File::open(dir).and_then(|handle| handle.sync_all()).map_err(AuditError::io(dir))?;
    Ok(())
}

/// Unix seconds of the first line's `eventTime`, if it parses.
fn first_record_time(path: &Path) -> Result<Option<u64>, AuditError> {
    let file = File::open(path).map_err(AuditError::io(path))?;
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    let read = files::read_line(&mut reader, &mut buf).map_err(AuditError::io(path))?;
    Ok((read == LineRead::Complete)
        .then(|| Line::parse(&buf).ok().and_then(|line| parse_rfc3339_seconds(line.event_time())))
        .flatten())
}

/// Unix seconds of a closed file's last `eventTime`, if it can be read: a damaged closed file is
/// evidence for the verifier, not a reason to refuse to open, so it is simply never aged out.
fn newest_record_time(path: &Path) -> Option<u64> {
    let mut file = File::open(path).ok()?;
    let tail = files::read_tail(&mut file, path).ok()?;
    let line = Line::parse(&tail.last_line?).ok()?;
    parse_rfc3339_seconds(line.event_time())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::tests::event;
    use std::io::Write;

    #[test]
    fn a_poisoned_log_cuts_back_to_its_acknowledged_length_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = AuditLog::open(dir.path(), RotationPolicy::default()).unwrap();
        log.append(&[event("Encrypt")], SystemTime::now()).unwrap();
        let path = list_log_files(dir.path()).unwrap().pop().unwrap().path;
        // What a failed write whose rollback also failed leaves behind: a whole unacknowledged
        // line and a torn one.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"whole\":\"but never acknowledged\"}\n{\"torn").unwrap();
        log.poisoned = true;
        let range = log.append(&[event("Decrypt")], SystemTime::now()).unwrap();
        assert_eq!((range.first_sequence, range.last_sequence), (2, 2));
        assert!(!log.poisoned);
        let report = crate::verify_dir(dir.path(), None).unwrap();
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(report.records, 2);
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.windows(5).any(|window| window == b"whole"), "the unacknowledged line was cut");
    }
}
