//! What the fuzz targets that drive a live node share (`kms_dispatch`, `admin_api`,
//! `peer_protocol`): one in-process single-node cluster per fuzz process, initialised and
//! unsealed ([`live`]); placeholders the seeds spell for what only the running process knows
//! ([`placeholders`]); the progress report schedule and error-code names ([`report`]).
//!
//! A library of the fuzz crate rather than a module each target includes, so it is compiled
//! once and each target uses what it needs. See docs/fuzzing.md.

pub mod live;
pub mod placeholders;
pub mod report;

/// Whether an `ErrorCode::Internal` answer fails the target (`TRENT_FUZZ_ALLOW_INTERNAL=1`
/// tolerates it, to look past a known one).
pub fn strict() -> bool {
    std::env::var_os("TRENT_FUZZ_ALLOW_INTERNAL").is_none()
}

/// Whether `TRENT_FUZZ_VERBOSE` is set (print placeholders and other per-process details).
pub fn verbose() -> bool {
    std::env::var_os("TRENT_FUZZ_VERBOSE").is_some()
}
