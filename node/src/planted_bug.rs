//! Bugs planted on purpose, so the fault harness (`jepsen/`) can show that its checkers fail
//! when the cluster breaks a promise. Compiled only with the cargo feature `jepsen-planted-bug`,
//! and only into debug builds; `TRENT_JEPSEN_PLANTED_BUG` picks the bug:
//!
//! - `early-ack` (the default): EnableKey and DisableKey are acknowledged as soon as they are
//!   queued, before they commit — a crash or partition can lose an acknowledged write, and a
//!   read right after the acknowledgement can miss it;
//! - `stale-crypto`: crypto is served from local state without the consistency bound's
//!   freshness check — a node cut off from the leader keeps honouring a revoked key;
//! - `ignores-revocation`: authorization remembers every call it allowed (caller, key, action)
//!   and allows it again without deciding — a revoked grant or a tightened key policy keeps
//!   being honoured, on every node, forever;
//! - `signs-while-disabled`: Sign checks the key's usage but not its state — a disabled
//!   signing key keeps signing, on every node (the asymmetric path's own check, which the
//!   symmetric workloads never reach);
//! - `decrypts-with-current`: Decrypt opens every blob with the key's current material
//!   version instead of the one the blob names — every blob made before a rotation stops
//!   decrypting, on every node;
//! - `loses-rotations`: RotateKeyOnDemand is acknowledged without being proposed — the key
//!   never rotates, on any node;
//! - `audit-buffered`: the audit writer tells every call its record is written as soon as it is
//!   queued, and appends the buffered records only every 2 seconds (or once 1024 wait) — a
//!   SIGKILL loses the records of calls already answered.

use std::sync::OnceLock;

use trent_storage::Command;

use crate::write_path::{ForwardedProposal, Proposal};

#[cfg(not(debug_assertions))]
compile_error!("the jepsen-planted-bug feature breaks Trent on purpose: never build it in release");

/// Which bug this node has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlantedBug {
    /// Key-state writes acknowledged before commit.
    EarlyAck,
    /// Crypto served without the freshness check.
    StaleCrypto,
    /// Allow decisions cached without invalidation.
    IgnoresRevocation,
    /// Sign served by a disabled key.
    SignsWhileDisabled,
    /// Decrypt with the current material version, whatever the blob names.
    DecryptsWithCurrent,
    /// RotateKeyOnDemand acknowledged, never written.
    LosesRotations,
    /// Audit records acknowledged when queued, written every 2 s.
    AuditBuffered,
}

/// The bug `TRENT_JEPSEN_PLANTED_BUG` names (read once); `None` for a name it does not know,
/// which the server refuses at start-up.
pub fn active() -> Option<PlantedBug> {
    static ACTIVE: OnceLock<Option<PlantedBug>> = OnceLock::new();
    *ACTIVE.get_or_init(|| match std::env::var("TRENT_JEPSEN_PLANTED_BUG").as_deref() {
        Ok("stale-crypto") => Some(PlantedBug::StaleCrypto),
        Ok("ignores-revocation") => Some(PlantedBug::IgnoresRevocation),
        Ok("signs-while-disabled") => Some(PlantedBug::SignsWhileDisabled),
        Ok("decrypts-with-current") => Some(PlantedBug::DecryptsWithCurrent),
        Ok("loses-rotations") => Some(PlantedBug::LosesRotations),
        Ok("audit-buffered") => Some(PlantedBug::AuditBuffered),
        Ok("early-ack") | Err(std::env::VarError::NotPresent) => Some(PlantedBug::EarlyAck),
        _ => None,
    })
}

/// Whether `proposal` is acknowledged without waiting for its commit.
pub fn acknowledges_early(proposal: &ForwardedProposal) -> bool {
    active() == Some(PlantedBug::EarlyAck)
        && matches!(
            proposal.proposal,
            Proposal::Command(Command::EnableKey { .. } | Command::DisableKey { .. })
        )
}

/// Whether `operation` on a disabled key is served as if the key were enabled.
pub fn signs_while_disabled(operation: trent_wire::Operation) -> bool {
    active() == Some(PlantedBug::SignsWhileDisabled) && operation == trent_wire::Operation::Sign
}

/// Whether Decrypt ignores the material version a blob names.
pub fn decrypts_with_current() -> bool {
    active() == Some(PlantedBug::DecryptsWithCurrent)
}

/// Whether RotateKeyOnDemand answers without rotating.
pub fn loses_rotations() -> bool {
    active() == Some(PlantedBug::LosesRotations)
}

/// How long `audit-buffered` keeps acknowledged records in memory before appending them.
const AUDIT_BUFFER_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether the audit writer acknowledges records before writing them.
pub fn audit_buffered() -> bool {
    active() == Some(PlantedBug::AuditBuffered)
}

/// With `audit-buffered`, whether the buffered records are appended now: [`AUDIT_BUFFER_INTERVAL`]
/// passed since `last_append` (then reset), or the buffer is `full`.
pub fn audit_append_due(last_append: &mut std::time::Instant, full: bool) -> bool {
    let due = full || last_append.elapsed() >= AUDIT_BUFFER_INTERVAL;
    if due {
        *last_append = std::time::Instant::now();
    }
    due
}

/// Whether crypto skips the freshness check.
pub fn serves_stale_crypto() -> bool {
    active() == Some(PlantedBug::StaleCrypto)
}

/// What `ignores-revocation` remembers: (access key id, key id, action) of every allowed check.
type Remembered = std::collections::HashSet<(String, trent_storage::KeyId, &'static str)>;

fn remembered() -> &'static std::sync::Mutex<Remembered> {
    static REMEMBERED: OnceLock<std::sync::Mutex<Remembered>> = OnceLock::new();
    REMEMBERED.get_or_init(Default::default)
}

/// With `ignores-revocation`, whether `allowed` (this check's own decision) is overridden:
/// an allowed check is remembered, a denied one that was once allowed is allowed again.
pub fn ignores_revocation(
    access_key_id: &str,
    key_id: trent_storage::KeyId,
    action: &'static str,
    allowed: bool,
) -> bool {
    if active() != Some(PlantedBug::IgnoresRevocation) {
        return false;
    }
    let mut remembered = remembered().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let entry = (access_key_id.to_owned(), key_id, action);
    if allowed {
        remembered.insert(entry);
        false
    } else {
        remembered.contains(&entry)
    }
}
