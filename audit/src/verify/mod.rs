//! Offline verification of a log directory: every link of the chain across files and every
//! digest, stopping at the first problem and naming the first record that was tampered with
//! (see [`diagnose`] for how a broken link is read).
//!
//! What it cannot see: an edit of the newest record, or removal of records at the very end of the
//! log, leaves no later link to break; only a digest written after them catches that (so the node
//! writes digests periodically and the verifier keeps the last digest it saw). Likewise records
//! removed from the start of the oldest file together with a rename of that file look exactly
//! like retention. An unterminated final line of the newest file is a write in progress or a
//! crash before recovery (never acknowledged), so it is reported in
//! [`VerifyReport::unterminated_tail`] and not as a problem; in any other file it is
//! [`ProblemKind::Truncated`]. A complete line that does not parse is [`ProblemKind::Malformed`].

mod diagnose;
mod stream;

use std::collections::VecDeque;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::crypto::DigestVerifier;
use crate::error::AuditError;
use crate::files::list_log_files;
use crate::hash::LineHash;
use crate::line::digest_message;
use stream::{Fault, Record, RecordStream, Seen};

/// Records remembered behind the current one, to explain a broken link.
const HISTORY: usize = 64;
/// Records read past a broken link, to explain it.
const LOOKAHEAD: usize = 256;

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// Log files read.
    pub files: usize,
    /// Records (events and digests) whose link to the one before checked out. With a problem,
    /// the named record may be among them: an edited record's own link is fine, it is the next
    /// one's that breaks.
    pub records: u64,
    /// Digests whose signature verified under the given key.
    pub digests_verified: u64,
    /// Digests link-checked only, because no key was given.
    pub digests_unverified: u64,
    /// The first record's sequence.
    pub first_sequence: Option<u64>,
    /// The last counted record's sequence.
    pub last_sequence: Option<u64>,
    /// Set when the first record is not sequence 1: its `previousHash` names a record deleted by
    /// retention, so the chain is trusted from this record on.
    pub anchored_at_sequence: Option<u64>,
    /// The newest file ends in a line without a newline (an unacknowledged, torn write).
    pub unterminated_tail: bool,
    /// The first problem, if any; verification stops there.
    pub problem: Option<Problem>,
}

impl VerifyReport {
    /// Whether every record and digest checked out.
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

/// The first tampered (or damaged) record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The file's name.
    pub file: String,
    /// 1-based line in that file.
    pub line: u64,
    /// The record's sequence (for `Removed` and `Truncated`: the first missing one).
    pub sequence: Option<u64>,
    /// What happened.
    pub kind: ProblemKind,
    /// Why the verifier thinks so, for people.
    pub detail: String,
}

/// Kinds of tampering and damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProblemKind {
    /// The record's bytes were edited.
    Changed,
    /// Records are missing at this position.
    Removed,
    /// This record is out of order.
    Reordered,
    /// This record is not part of the chain.
    Inserted,
    /// Records are missing at the end of this file.
    Truncated,
    /// The line is not a record.
    Malformed,
    /// A digest that does not sign the chain it sits in.
    BadDigest,
    /// A digest signed by another key than the one given.
    UnknownDigestKey,
}

/// Verifies every file of the log in `dir`, in name order. With a `verifier`, digest signatures
/// are checked too; without one, digests are only link-checked and counted as unverified.
/// Errors are for I/O only: tampering is the report's [`VerifyReport::problem`].
pub fn verify_dir(dir: &Path, verifier: Option<&DigestVerifier>) -> Result<VerifyReport, AuditError> {
    let files = list_log_files(dir)?;
    let mut walk = Walk {
        names: files.iter().map(|file| file.name()).collect(),
        first_sequences: files.iter().map(|file| file.first_sequence).collect(),
        verifier,
        history: VecDeque::with_capacity(HISTORY),
        last_good_digest: None,
        report: VerifyReport {
            files: files.len(),
            records: 0,
            digests_verified: 0,
            digests_unverified: 0,
            first_sequence: None,
            last_sequence: None,
            anchored_at_sequence: None,
            unterminated_tail: false,
            problem: None,
        },
    };
    let mut stream = RecordStream::new(files);
    loop {
        let record = match stream.next_record() {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(Fault::Problem(problem)) => {
                walk.report.problem = Some(problem);
                break;
            }
            Err(Fault::Io(err)) => return Err(err),
        };
        if let Some(problem) = walk.check(record, &mut stream) {
            walk.report.problem = Some(problem);
            break;
        }
    }
    walk.report.unterminated_tail = stream.unterminated_tail();
    Ok(walk.report)
}

struct Walk<'a> {
    names: Vec<String>,
    first_sequences: Vec<u64>,
    verifier: Option<&'a DigestVerifier>,
    history: VecDeque<Seen>,
    last_good_digest: Option<u64>,
    report: VerifyReport,
}

impl Walk<'_> {
    /// Checks `record`'s link, its file's name and its digest; accepts it or names a problem.
    fn check(&mut self, record: Record, stream: &mut RecordStream) -> Option<Problem> {
        let link_problem = match self.history.back() {
            None => self.check_first(&record),
            Some(previous) if stream::links(previous, &record) => None,
            Some(_) => {
                let ahead = stream.read_ahead(LOOKAHEAD);
                Some(diagnose::diagnose(&self.history, &record, &ahead, &self.names, &self.first_sequences))
            }
        };
        if let Some(problem) = link_problem.or_else(|| self.check_file_name(&record)) {
            return Some(problem);
        }
        if let Some(problem) = self.check_digest(&record) {
            return Some(problem);
        }
        self.report.records += 1;
        self.report.first_sequence.get_or_insert(record.at.sequence);
        self.report.last_sequence = Some(record.at.sequence);
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(record.at);
        None
    }

    /// The log's first record is sequence 1 after 64 zeros, or an anchor left by retention.
    fn check_first(&mut self, record: &Record) -> Option<Problem> {
        let genesis = record.previous == LineHash::GENESIS;
        match (record.at.sequence, genesis) {
            (1, true) => None,
            (1, false) => {
                Some(self.problem(&record.at, ProblemKind::Changed, "sequence 1 must follow 64 zeros"))
            }
            (_, true) => Some(self.problem(
                &record.at,
                ProblemKind::Changed,
                "only sequence 1 may follow 64 zeros: its sequence or previousHash was edited",
            )),
            (sequence, false) => {
                self.report.anchored_at_sequence = Some(sequence);
                None
            }
        }
    }

    /// A file's first record carries the sequence its name says.
    fn check_file_name(&self, record: &Record) -> Option<Problem> {
        if !record.first_in_file {
            return None;
        }
        let named = self.first_sequences.get(record.at.file).copied()?;
        if named == record.at.sequence {
            return None;
        }
        if self.history.is_empty() && named < record.at.sequence {
            let mut problem = self.problem(
                &record.at,
                ProblemKind::Removed,
                &format!(
                    "the file is named for sequence {named} but starts at {}: sequences {named}..={} are gone from its start",
                    record.at.sequence,
                    record.at.sequence - 1
                ),
            );
            problem.sequence = Some(named);
            return Some(problem);
        }
        Some(self.problem(
            &record.at,
            ProblemKind::Malformed,
            &format!("the file is named for sequence {named} but its first record is {}", record.at.sequence),
        ))
    }

    /// A digest signs exactly the head before it, under the expected key.
    fn check_digest(&mut self, record: &Record) -> Option<Problem> {
        let digest = record.digest.as_ref()?;
        let signed = &digest.trent_digest;
        if record.at.sequence.checked_sub(1) != Some(signed.signed_sequence)
            || signed.head_hash != digest.previous_hash
        {
            return Some(self.problem(
                &record.at,
                ProblemKind::BadDigest,
                &format!(
                    "the digest signs sequence {} with head {}, not the record before it",
                    signed.signed_sequence, signed.head_hash
                ),
            ));
        }
        let Some(verifier) = self.verifier else {
            self.report.digests_unverified += 1;
            return None;
        };
        if signed.key_id != verifier.key_id() {
            return Some(self.problem(
                &record.at,
                ProblemKind::UnknownDigestKey,
                &format!("signed by key {}, not the given key {}", signed.key_id, verifier.key_id()),
            ));
        }
        let message =
            digest_message(digest.node_id, signed.signed_sequence, &signed.head_hash, &digest.event_time);
        let verified = STANDARD.decode(&signed.signature).is_ok_and(|sig| verifier.verifies(&message, &sig));
        if !verified {
            let since = match self.last_good_digest {
                Some(sequence) => format!("the last good digest (sequence {sequence})"),
                None => "the start of the log".to_owned(),
            };
            return Some(self.problem(
                &record.at,
                ProblemKind::BadDigest,
                &format!(
                    "the signature does not verify: the chain between {since} and sequence {} was rewritten, or the digest forged",
                    signed.signed_sequence
                ),
            ));
        }
        self.report.digests_verified += 1;
        self.last_good_digest = Some(record.at.sequence);
        None
    }

    fn problem(&self, at: &Seen, kind: ProblemKind, detail: &str) -> Problem {
        diagnose::problem_at(&self.names, at, kind, detail.to_owned())
    }
}
