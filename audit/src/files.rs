//! The log directory's layout: files named `audit-<first sequence, 20 digits>.jsonl`, listed in
//! sequence order, and bounded reading of their lines (never a whole file in memory).

use std::fs::File;
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::AuditError;
use crate::line::MAX_LINE_BYTES;

/// The most log files a directory listing returns.
pub const MAX_LOG_FILES: usize = 1_000_000;
const PREFIX: &str = "audit-";
const SUFFIX: &str = ".jsonl";

/// One log file in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogFile {
    /// The sequence its name says its first record has.
    pub first_sequence: u64,
    /// Its full path.
    pub path: PathBuf,
}

impl LogFile {
    /// The file's name, as reports name it.
    pub fn name(&self) -> String {
        file_name(self.first_sequence)
    }
}

/// The name of the file whose first record is `first_sequence`.
pub(crate) fn file_name(first_sequence: u64) -> String {
    format!("{PREFIX}{first_sequence:020}{SUFFIX}")
}

/// The first sequence a log file's name carries, or `None` for any other name.
fn parse_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok())?
}

/// The log files in `dir`, oldest first; other names are ignored.
pub(crate) fn list_log_files(dir: &Path) -> Result<Vec<LogFile>, AuditError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(AuditError::io(dir))? {
        let entry = entry.map_err(AuditError::io(dir))?;
        let Some(first_sequence) = entry.file_name().to_str().and_then(parse_file_name) else {
            continue;
        };
        if files.len() == MAX_LOG_FILES {
            return Err(AuditError::TooManyFiles { max: MAX_LOG_FILES });
        }
        files.push(LogFile { first_sequence, path: entry.path() });
    }
    files.sort_by_key(|file| file.first_sequence);
    Ok(files)
}

/// What one bounded line read found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LineRead {
    /// End of file, nothing read.
    End,
    /// A line ending in a newline (not included in the buffer).
    Complete,
    /// Bytes up to the end of file with no newline: a torn write.
    Unterminated,
    /// More than [`MAX_LINE_BYTES`] before a newline; the buffer holds the first part only.
    TooLong,
}

/// Reads one line into `buf` (cleared first), holding at most [`MAX_LINE_BYTES`] of it.
pub(crate) fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<LineRead> {
    buf.clear();
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if available.is_empty() {
            return Ok(if buf.is_empty() { LineRead::End } else { LineRead::Unterminated });
        }
        // The writer's preallocated padding: no record starts with a NUL byte.
        if buf.is_empty() && available.first() == Some(&0) {
            return Ok(LineRead::End);
        }
        let (chunk, found) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (&available[..at], true),
            None => (available, false),
        };
        if buf.len() + chunk.len() > MAX_LINE_BYTES {
            return Ok(LineRead::TooLong);
        }
        buf.extend_from_slice(chunk);
        let used = chunk.len() + usize::from(found);
        reader.consume(used);
        if found {
            return Ok(LineRead::Complete);
        }
    }
}

/// Where `file`'s records end: the offset after the last complete line before the first line
/// that starts with a NUL byte (the writer's padding, and whatever a crash left in it), read
/// forwards.
pub(crate) fn records_end(file: &File, path: &Path) -> Result<u64, AuditError> {
    let mut reader = std::io::BufReader::new(file);
    let mut buf = Vec::new();
    let mut end = 0u64;
    loop {
        match read_line(&mut reader, &mut buf).map_err(AuditError::io(path))? {
            LineRead::Complete => end += buf.len() as u64 + 1,
            // A torn or oversized last line is read_tail's to judge: keep its bytes.
            LineRead::Unterminated | LineRead::TooLong => {
                let len = file.metadata().map_err(AuditError::io(path))?.len();
                return first_zero_at_or_after(file, path, end, len);
            }
            LineRead::End => return Ok(end),
        }
    }
}

/// The first offset from `from` on whose byte is zero (`len` if none).
fn first_zero_at_or_after(file: &File, path: &Path, from: u64, len: u64) -> Result<u64, AuditError> {
    use std::io::Read;
    let mut reader = std::io::BufReader::new(file);
    reader.seek(SeekFrom::Start(from)).map_err(AuditError::io(path))?;
    let mut at = from;
    let mut chunk = [0u8; 8192];
    while at < len {
        let read = reader.read(&mut chunk).map_err(AuditError::io(path))?;
        if read == 0 {
            break;
        }
        if let Some(zero) = chunk[..read].iter().position(|&byte| byte == 0) {
            return Ok(at + zero as u64);
        }
        at += read as u64;
    }
    Ok(len)
}

/// The end of a file as recovery sees it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Tail {
    /// Length up to and including the last newline (0 if there is none).
    pub complete_len: u64,
    /// The last complete line's bytes (without its newline), if any.
    pub last_line: Option<Vec<u8>>,
    /// Where that last line starts.
    pub last_line_start: u64,
}

/// Finds the last complete line of `file` by reading backwards from its end, at most
/// [`MAX_LINE_BYTES`] plus one chunk past the last newline.
pub(crate) fn read_tail(file: &mut File, path: &Path) -> Result<Tail, AuditError> {
    let len = file.metadata().map_err(AuditError::io(path))?.len();
    let last_newline = find_newline_before(file, path, len)?;
    let Some(newline) = last_newline else {
        return Ok(Tail { complete_len: 0, last_line: None, last_line_start: 0 });
    };
    let start = find_newline_before(file, path, newline)?.map_or(0, |at| at + 1);
    let line_len = usize::try_from(newline - start).unwrap_or(usize::MAX);
    if line_len > MAX_LINE_BYTES {
        return Err(AuditError::Malformed {
            file: display_name(path),
            line: 0,
            detail: format!("the last line is over {MAX_LINE_BYTES} bytes"),
        });
    }
    let mut line = vec![0u8; line_len];
    file.seek(SeekFrom::Start(start)).map_err(AuditError::io(path))?;
    file.read_exact(&mut line).map_err(AuditError::io(path))?;
    Ok(Tail { complete_len: newline + 1, last_line: Some(line), last_line_start: start })
}

/// The offset of the last `\n` before `end`, searching back no further than one line's limit.
fn find_newline_before(file: &mut File, path: &Path, end: u64) -> Result<Option<u64>, AuditError> {
    const CHUNK: u64 = 64 * 1024;
    let floor = end.saturating_sub(MAX_LINE_BYTES as u64 + CHUNK);
    let mut chunk = vec![0u8; CHUNK as usize];
    let mut upto = end;
    while upto > floor {
        let from = upto.saturating_sub(CHUNK).max(floor);
        let part = &mut chunk[..usize::try_from(upto - from).unwrap_or(0)];
        file.seek(SeekFrom::Start(from)).map_err(AuditError::io(path))?;
        file.read_exact(part).map_err(AuditError::io(path))?;
        if let Some(at) = part.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(from + at as u64));
        }
        upto = from;
    }
    if floor == 0 {
        Ok(None)
    } else {
        Err(AuditError::Malformed {
            file: display_name(path),
            line: 0,
            detail: format!("no newline in the last {MAX_LINE_BYTES} bytes"),
        })
    }
}

/// The file name of `path`, for messages.
pub(crate) fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |name| name.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn names_sort_by_sequence_and_others_are_ignored() {
        assert_eq!(file_name(42), "audit-00000000000000000042.jsonl");
        assert_eq!(parse_file_name(&file_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_file_name("audit-42.jsonl"), None);
        assert_eq!(parse_file_name("audit-99999999999999999999.jsonl"), None);
        let dir = tempfile::tempdir().unwrap();
        for name in [file_name(10), file_name(2), "notes.txt".to_owned()] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let listed: Vec<u64> = list_log_files(dir.path()).unwrap().iter().map(|f| f.first_sequence).collect();
        assert_eq!(listed, [2, 10]);
    }

    #[test]
    fn read_line_bounds_and_flags_torn_lines() {
        let mut input = std::io::Cursor::new(b"one\ntwo".to_vec());
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut input, &mut buf).unwrap(), LineRead::Complete);
        assert_eq!(buf, b"one");
        assert_eq!(read_line(&mut input, &mut buf).unwrap(), LineRead::Unterminated);
        assert_eq!(buf, b"two");
        assert_eq!(read_line(&mut input, &mut buf).unwrap(), LineRead::End);
        let mut long = std::io::Cursor::new(vec![b'x'; MAX_LINE_BYTES + 1]);
        assert_eq!(read_line(&mut long, &mut buf).unwrap(), LineRead::TooLong);
    }

    #[test]
    fn read_tail_finds_the_last_complete_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut file = File::create(&path).unwrap();
        file.write_all(b"first\nsecond\nthi").unwrap();
        let mut file = File::open(&path).unwrap();
        let tail = read_tail(&mut file, &path).unwrap();
        assert_eq!(tail.complete_len, 13);
        assert_eq!(tail.last_line.as_deref(), Some(&b"second"[..]));
        assert_eq!(tail.last_line_start, 6);
    }
}
