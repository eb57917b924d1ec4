//! Reading a broken link: given the records just before it (history), the record that does not
//! follow its predecessor, and the records after it (lookahead), name the first record that was
//! tampered with. The tests, in order:
//!
//! 1. the record is a byte-for-byte copy of another one → `Inserted`;
//! 2. its sequence jumps ahead and the record it belongs after comes later → `Reordered`;
//! 3. a later record follows its predecessor, so it and those before that one are extra →
//!    `Inserted`;
//! 4. it follows an earlier record, so the ones in between are extra → `Inserted` (the first);
//! 5. its sequence is right but its `previousHash` is not the predecessor's hash → the
//!    predecessor was `Changed`;
//! 6. its `previousHash` is right but its sequence is not → it was `Changed`;
//! 7. its sequence jumps ahead → records were `Removed` (`Truncated` when the gap falls at a file
//!    boundary and the later file starts at the sequence its name promises);
//! 8. its sequence goes back → `Reordered`.
//!
//! The windows are bounded, so a record moved further than them reads as removed.

use std::collections::VecDeque;

use super::stream::{links, Record, Seen};
use super::{Problem, ProblemKind};

/// A problem naming the record at `at`.
pub(super) fn problem_at(names: &[String], at: &Seen, kind: ProblemKind, detail: String) -> Problem {
    Problem {
        file: names.get(at.file).cloned().unwrap_or_default(),
        line: at.line,
        sequence: Some(at.sequence),
        kind,
        detail,
    }
}

fn place(names: &[String], at: &Seen) -> String {
    format!("{}:{}", names.get(at.file).map_or("?", String::as_str), at.line)
}

/// Names the first tampered record, given a `record` that does not follow `history`'s last.
pub(super) fn diagnose(
    history: &VecDeque<Seen>,
    record: &Record,
    ahead: &[Record],
    names: &[String],
    first_sequences: &[u64],
) -> Problem {
    let Some(previous) = history.back() else {
        return problem_at(names, &record.at, ProblemKind::Malformed, "no record before it".to_owned());
    };
    let at = &record.at;
    let here = |kind, detail: String| problem_at(names, at, kind, detail);
    let expected = previous.sequence.checked_add(1);
    let jumps_ahead = expected.is_some_and(|next| at.sequence > next);

    let earlier = history.iter().chain(ahead.iter().map(|later| &later.at));
    if let Some(original) = earlier.into_iter().find(|seen| seen.hash == at.hash) {
        let detail =
            format!("a byte-for-byte copy of sequence {} at {}", original.sequence, place(names, original));
        return here(ProblemKind::Inserted, detail);
    }
    if jumps_ahead {
        let belongs_after = ahead.iter().find(|later| {
            later.at.sequence.checked_add(1) == Some(at.sequence) && later.at.hash == record.previous
        });
        if let Some(after) = belongs_after {
            let detail = format!(
                "sequence {} stands where {} should; it belongs after sequence {} at {}",
                at.sequence,
                previous.sequence + 1,
                after.at.sequence,
                place(names, &after.at)
            );
            return here(ProblemKind::Reordered, detail);
        }
    }
    if let Some(resumes) = ahead.iter().position(|later| links(previous, later)) {
        let detail = format!(
            "not part of the chain: {} line(s) from here are extra; sequence {} at {} follows the record before them",
            resumes + 1,
            ahead[resumes].at.sequence,
            place(names, &ahead[resumes].at)
        );
        return here(ProblemKind::Inserted, detail);
    }
    let before_previous = history.len().saturating_sub(1);
    if let Some(anchor) = history.iter().take(before_previous).rposition(|seen| links(seen, record)) {
        if let Some(first_extra) = history.get(anchor + 1) {
            let detail = format!(
                "not part of the chain: sequence {} at {} follows sequence {} at {}, the record before this one",
                at.sequence,
                place(names, at),
                history[anchor].sequence,
                place(names, &history[anchor])
            );
            return problem_at(names, first_extra, ProblemKind::Inserted, detail);
        }
    }
    if expected == Some(at.sequence) {
        let detail = format!(
            "its bytes no longer hash to the previousHash of the next record, sequence {} at {}",
            at.sequence,
            place(names, at)
        );
        return problem_at(names, previous, ProblemKind::Changed, detail);
    }
    if record.previous == previous.hash {
        let detail = format!("its sequence was edited: it follows sequence {}", previous.sequence);
        return here(ProblemKind::Changed, detail);
    }
    if let (true, Some(first_missing)) = (jumps_ahead, expected) {
        let missing = format!("sequences {first_missing}..={}", at.sequence - 1);
        // A file whose first record is the one its name promises lost nothing at its start: the
        // missing records were at the end of the file before it.
        let file_intact_at_start = first_sequences.get(at.file) == Some(&at.sequence);
        if record.first_in_file && previous.file != at.file && file_intact_at_start {
            return Problem {
                file: names.get(previous.file).cloned().unwrap_or_default(),
                line: previous.line + 1,
                sequence: Some(first_missing),
                kind: ProblemKind::Truncated,
                detail: format!(
                    "{missing} are missing at the end of the file (or a whole file after it was removed): the next file starts at {}",
                    at.sequence
                ),
            };
        }
        let mut problem = here(ProblemKind::Removed, format!("{missing} are missing before this record"));
        problem.sequence = Some(first_missing);
        return problem;
    }
    here(
        ProblemKind::Reordered,
        format!("the sequence goes back from {} to {}", previous.sequence, at.sequence),
    )
}
