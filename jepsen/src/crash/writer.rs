//! The crash-test writer: a child process that writes the [`Workload`] through trent-storage as
//! trentd would, and prints an [`Ack`] on stdout once each write reaches its durability point.
//!
//! The writes go through openraft's storage traits: `save_vote` before each term,
//! `RaftLogStorage::append` (through openraft's `blocking_append`, which hands `append` a
//! callback and waits for it to fire: trent-storage fires it after fdatasync), then
//! `save_committed` and `RaftStateMachine::apply`, as a single-node leader does.
//!
//! The planted fault (`planted_no_fsync`) installs a seccomp filter that turns every sync system
//! call of this process into a no-op returning success. trent-storage runs unchanged and
//! acknowledges as usual, but nothing it wrote is forced to the device: the crash test must
//! then report lost writes.

use std::io::Write;
use std::path::PathBuf;

use openraft::storage::{RaftLogStorage, RaftLogStorageExt, RaftStateMachine};
use openraft::Vote;
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter};
use trent_storage::DiskOptions;

use crate::crash::workload::{Workload, NODE_ID};
use crate::crash::{Ack, CrashError};

/// What one writer run does.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// The store's directory (on the file system under test).
    pub dir: PathBuf,
    /// The workload's seed.
    pub seed: u64,
    /// Disable every sync system call in this process (the planted fault).
    pub planted_no_fsync: bool,
    /// Stop after this many log entries; the parent normally cuts the power long before.
    pub max_entries: u64,
}

/// Writes the workload and acknowledges each durable write on `out`, until `max_entries`.
pub async fn run_writer(config: &WriterConfig, out: &mut impl Write) -> Result<(), CrashError> {
    if config.planted_no_fsync {
        disable_syncs()?;
    }
    let workload = Workload::new(config.seed);
    let (mut log, mut state_machine) = trent_storage::open(&config.dir, DiskOptions::default())?;
    let mut next = 1;
    while next <= config.max_entries {
        if Workload::starts_term(next) {
            let term = Workload::term_of(next);
            log.save_vote(&Vote::new_committed(term, NODE_ID)).await?;
            acknowledge(out, Ack::Vote(term))?;
        }
        let last = (next + workload.append_len(next) - 1).min(config.max_entries);
        let entries: Vec<_> = (next..=last).map(|index| workload.entry(index)).collect();
        log.blocking_append(entries.clone()).await?;
        for index in next..=last {
            acknowledge(out, Ack::Log(index))?;
        }
        // A single voter commits what it has flushed.
        log.save_committed(Some(Workload::log_id(last))).await?;
        state_machine.apply(entries).await?;
        acknowledge(out, Ack::Applied(last))?;
        next = last + 1;
    }
    Ok(())
}

fn acknowledge(out: &mut impl Write, ack: Ack) -> Result<(), CrashError> {
    writeln!(out, "{ack}").and_then(|()| out.flush()).map_err(CrashError::io("printing an acknowledgement"))
}

/// Makes fsync, fdatasync, sync_file_range, syncfs, sync and msync succeed without doing
/// anything, in every thread of this process, now and later.
fn disable_syncs() -> Result<(), CrashError> {
    let syscalls = [
        libc::SYS_fsync,
        libc::SYS_fdatasync,
        libc::SYS_sync_file_range,
        libc::SYS_syncfs,
        libc::SYS_sync,
        libc::SYS_msync,
    ];
    let rules = syscalls.into_iter().map(|syscall| (syscall, Vec::new())).collect();
    let arch = std::env::consts::ARCH.try_into().map_err(seccompiler::Error::from)?;
    let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(0), arch)
        .map_err(seccompiler::Error::from)?;
    let program: BpfProgram = filter.try_into().map_err(seccompiler::Error::from)?;
    seccompiler::apply_filter_all_threads(&program)?;
    Ok(())
}
