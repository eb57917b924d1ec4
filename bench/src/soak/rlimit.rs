//! Raising this process's soft limit on open files (RLIMIT_NOFILE) so the attacks can hold their
//! thousands of connections. The cluster is started afterwards and inherits the same limit, so the
//! nodes are not starved of descriptors by a limit smaller than their own connection cap.

use serde::Serialize;

/// The limit before and after, for the report.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FileLimit {
    /// The soft limit found.
    pub soft_before: u64,
    /// The soft limit set (this process and the cluster).
    pub soft: u64,
    /// The hard limit.
    pub hard: u64,
}

/// Sets the soft RLIMIT_NOFILE to `wanted` (at most the hard limit); fails when the hard limit
/// is below `needed`.
pub fn raise_nofile(wanted: u64, needed: u64) -> anyhow::Result<FileLimit> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    let (soft_before, hard) = (limit.rlim_cur, limit.rlim_max);
    anyhow::ensure!(
        hard >= needed,
        "the attacks need {needed} open files but the hard RLIMIT_NOFILE is {hard}: raise it \
         (ulimit -Hn) or lower --idle-conns / --bodies-held / --slow-headers / --slow-bodies"
    );
    let soft = wanted.max(needed).min(hard);
    if soft != soft_before {
        let raised = libc::rlimit { rlim_cur: soft, rlim_max: hard };
        // SAFETY: setrlimit reads one rlimit from the struct we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
    }
    Ok(FileLimit { soft_before, soft, hard })
}
