//! After the power cut: open the recovered store and hold it to every acknowledgement.
//!
//! - every acknowledged log entry is there, byte for byte as the workload wrote it, and the log
//!   has no hole and nothing the writer never wrote;
//! - the vote is at least the last acknowledged one;
//! - the state machine's rows match its applied log id (a fresh store that applies the same
//!   entries holds the same registry), and replaying the rest of the recovered log, as openraft
//!   does on restart, brings it to the registry of the whole log. Applied rows themselves are not
//!   flushed by trent-storage, so the applied id may lag the acknowledged applies; the log is
//!   what makes them durable.

use std::collections::BTreeMap;
use std::path::Path;

use openraft::storage::{RaftLogStorage, RaftStateMachine};
use openraft::RaftLogReader;
use trent_storage::types::Entry;
use trent_storage::{DiskOptions, Registry, StateMachine};

use crate::crash::workload::Workload;
use crate::crash::{Ack, CrashError};

/// Largest number of entries applied in one call while rebuilding the reference state.
const APPLY_CHUNK: usize = 64;

/// What survived the power cut, measured against what the writer acknowledged.
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    /// Log entries acknowledged as flushed.
    pub acked_logs: u64,
    /// Of those, the ones found with their payload.
    pub survived_logs: u64,
    /// Acknowledged log indexes missing or changed after recovery.
    pub lost_logs: Vec<u64>,
    /// The last vote term acknowledged, if any.
    pub acked_vote: Option<u64>,
    /// The vote term found after recovery.
    pub recovered_vote: Option<u64>,
    /// The last index the writer reported applied.
    pub acked_applied: Option<u64>,
    /// The applied index found after recovery.
    pub recovered_applied: Option<u64>,
    /// The last log index found after recovery.
    pub recovered_last_log: Option<u64>,
    /// Anything else wrong with the recovered store (it did not open, a hole in the log, rows
    /// that disagree with the applied id, …).
    pub problems: Vec<String>,
}

impl Recovery {
    /// Whether the last acknowledged vote (or a later one) survived.
    pub fn vote_survived(&self) -> bool {
        self.acked_vote <= self.recovered_vote
    }

    /// Acknowledged writes that did not survive: log entries, plus one for a lost vote.
    pub fn lost(&self) -> u64 {
        self.lost_logs.len() as u64 + u64::from(!self.vote_survived())
    }

    /// Whether everything acknowledged survived and the store is consistent.
    pub fn is_clean(&self) -> bool {
        self.lost() == 0 && self.problems.is_empty()
    }
}

/// Checks the store recovered in `store_dir` against `acks` from the writer of `seed`, using
/// `reference_dir` (empty, off the device under test) for a store rebuilt from the workload.
pub async fn verify(
    store_dir: &Path,
    seed: u64,
    acks: &[Ack],
    reference_dir: &Path,
) -> Result<Recovery, CrashError> {
    let workload = Workload::new(seed);
    let mut recovery = Recovery::default();
    let mut acked_logs = Vec::new();
    for ack in acks {
        match *ack {
            Ack::Log(index) => acked_logs.push(index),
            Ack::Vote(term) => recovery.acked_vote = recovery.acked_vote.max(Some(term)),
            Ack::Applied(index) => recovery.acked_applied = recovery.acked_applied.max(Some(index)),
        }
    }
    recovery.acked_logs = acked_logs.len() as u64;

    let (mut log, mut state_machine) = match trent_storage::open(store_dir, DiskOptions::default()) {
        Ok(opened) => opened,
        Err(error) => {
            recovery.problems.push(format!("the recovered store does not open: {error}"));
            recovery.lost_logs = acked_logs;
            return Ok(recovery);
        }
    };
    let recovered: BTreeMap<u64, Entry> = match log.try_get_log_entries(..).await {
        Ok(entries) => entries.into_iter().map(|entry| (entry.log_id.index, entry)).collect(),
        Err(error) => {
            recovery.problems.push(format!("the recovered log does not read: {error}"));
            recovery.lost_logs = acked_logs;
            return Ok(recovery);
        }
    };
    recovery.recovered_last_log = recovered.keys().next_back().copied();
    check_log(&workload, &recovered, &acked_logs, &mut recovery)?;
    recovery.recovered_vote = log.read_vote().await?.map(|vote| vote.leader_id().get_term());

    let (applied, _) = state_machine.applied_state().await?;
    recovery.recovered_applied = applied.map(|log_id| log_id.index);
    if recovery.problems.is_empty() {
        check_state(&workload, &mut state_machine, &recovered, reference_dir, &mut recovery).await?;
    }
    Ok(recovery)
}

/// The log: acknowledged entries present and unchanged, indexes contiguous from 1, and every
/// entry one the writer wrote.
fn check_log(
    workload: &Workload,
    recovered: &BTreeMap<u64, Entry>,
    acked_logs: &[u64],
    recovery: &mut Recovery,
) -> Result<(), CrashError> {
    for &index in acked_logs {
        match recovered.get(&index) {
            Some(entry) if same(entry, &workload.entry(index))? => recovery.survived_logs += 1,
            _ => recovery.lost_logs.push(index),
        }
    }
    for (expected, (&index, entry)) in (1..).zip(recovered) {
        if index != expected {
            recovery.problems.push(format!("the recovered log skips from {} to {index}", expected - 1));
            break;
        }
        if !same(entry, &workload.entry(index))? {
            recovery.problems.push(format!("recovered entry {index} is not the one written"));
            break;
        }
    }
    Ok(())
}

/// The state machine: rows that match the applied id, and a replay that reaches the registry of
/// the whole recovered log.
async fn check_state(
    workload: &Workload,
    state_machine: &mut StateMachine,
    recovered: &BTreeMap<u64, Entry>,
    reference_dir: &Path,
    recovery: &mut Recovery,
) -> Result<(), CrashError> {
    let applied = recovery.recovered_applied.unwrap_or(0);
    let last = recovery.recovered_last_log.unwrap_or(0);
    if applied > last {
        recovery.problems.push(format!("applied index {applied} is past the last log entry {last}"));
        return Ok(());
    }
    let (_, mut reference) = trent_storage::open(reference_dir, DiskOptions::default())?;
    apply_all(&mut reference, (1..=applied).map(|index| workload.entry(index))).await?;
    if registry(state_machine) != registry(&reference) {
        recovery.problems.push(format!("the registry rows do not match applied index {applied}"));
        return Ok(());
    }
    // What openraft does on restart: apply the committed entries the state machine lacks. The
    // log was checked contiguous, so these are exactly entries applied + 1..=last.
    apply_all(state_machine, recovered.range(applied + 1..).map(|(_, entry)| entry.clone())).await?;
    apply_all(&mut reference, (applied + 1..=last).map(|index| workload.entry(index))).await?;
    if registry(state_machine) != registry(&reference) {
        recovery
            .problems
            .push(format!("replaying entries {}..={last} gives a different registry", applied + 1));
    }
    Ok(())
}

async fn apply_all(
    state_machine: &mut StateMachine,
    entries: impl Iterator<Item = Entry>,
) -> Result<(), CrashError> {
    let mut entries = entries.peekable();
    while entries.peek().is_some() {
        let chunk: Vec<Entry> = entries.by_ref().take(APPLY_CHUNK).collect();
        state_machine.apply(chunk).await?;
    }
    Ok(())
}

fn registry(state_machine: &StateMachine) -> Registry {
    state_machine.registry().read().clone()
}

/// Whether two entries encode to the same bytes (what the log stores).
fn same(found: &Entry, expected: &Entry) -> Result<bool, CrashError> {
    let encode = |entry: &Entry| {
        trent_storage::codec::encode(entry)
            .map_err(|error| CrashError::Check(format!("encoding entry {}: {error}", entry.log_id.index)))
    };
    Ok(encode(found)? == encode(expected)?)
}
