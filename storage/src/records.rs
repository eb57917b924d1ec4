//! The records the replicated state is made of — keys (their material in
//! [`crate::materials`]), aliases, access keys, remembered writes — and the ids that name them.
//! A leaf: [`crate::command`] (what changes them) and [`crate::registry`] (where they live) both
//! build on it and not on each other.

use std::fmt;

use serde::{Deserialize, Serialize};
use trent_wire::model::KeyState;
use trent_wire::{ErrorCode, KmsError};
use uuid::Uuid;

pub use crate::import::{ImportParametersRecord, ImportTokenId};
pub use crate::materials::{
    AutomaticRotation, ImportedMaterial, KeyMaterial, KeyMaterialId, KeyRecord, KeyRotation, MaterialSource,
    RotationEvent,
};

/// A key's id: a UUID, shown in its hyphenated form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyId(pub Uuid);

impl KeyId {
    /// Parses the hyphenated UUID form; `None` for anything else.
    pub fn parse(text: &str) -> Option<KeyId> {
        // Only the canonical 36-character form is a key id; braces, URNs and simple forms are not.
        if text.len() != 36 {
            return None;
        }
        Uuid::try_parse(text).ok().map(KeyId)
    }

    /// The 16 raw bytes, the order keys are listed in.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Identifies one client write across retries, so a retried write applies once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestId(pub Uuid);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Why a command was refused; applying it changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The AWS error code.
    pub code: ErrorCode,
    /// The AWS-style message.
    pub message: String,
}

impl Rejection {
    /// Builds a rejection.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Rejection {
        Rejection { code, message: message.into() }
    }
}

impl From<KmsError> for Rejection {
    fn from(error: KmsError) -> Rejection {
        Rejection { code: error.code, message: error.message }
    }
}

impl From<Rejection> for KmsError {
    fn from(rejection: Rejection) -> KmsError {
        KmsError::new(rejection.code, rejection.message)
    }
}

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyLifecycle {
    /// Usable.
    Enabled,
    /// Kept, but refused for use.
    Disabled,
    /// Waiting to be deleted at `deletion_at_ms`.
    PendingDeletion {
        /// When the leader will delete it, ms since the epoch.
        deletion_at_ms: u64,
        /// The window the caller asked for, in days.
        window_days: u32,
    },
    /// An `EXTERNAL` key that lacks material: never imported into, or some of its material
    /// was deleted or expired (format 3).
    PendingImport,
}

impl KeyLifecycle {
    /// The AWS `KeyState` of this lifecycle.
    pub fn key_state(self) -> KeyState {
        match self {
            KeyLifecycle::Enabled => KeyState::Enabled,
            KeyLifecycle::Disabled => KeyState::Disabled,
            KeyLifecycle::PendingDeletion { .. } => KeyState::PendingDeletion,
            KeyLifecycle::PendingImport => KeyState::PendingImport,
        }
    }
}

/// An alias and the key it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasRecord {
    /// `alias/<name>`.
    pub name: String,
    /// The target key.
    pub key_id: KeyId,
    /// Creation time, ms since the epoch.
    pub created_at_ms: u64,
    /// Last retarget time, ms since the epoch.
    pub updated_at_ms: u64,
}

/// What a remembered write produced, kept small: a key's id rather than a copy of its record,
/// so remembering 100,000 writes cannot hold 100,000 copies of large keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DedupOutcome {
    /// The write changed or created this key; a retry answers with its current record.
    Key(KeyId),
    /// The write succeeded with nothing to report.
    Done,
    /// The write was refused.
    Rejected(Rejection),
    /// The write created (or found) this grant.
    Grant(String),
    /// The write made these import parameters (format 3).
    ImportParameters(crate::import::ImportTokenId),
}

/// The remembered result of a write, so a retry with the same request id gets it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedupRecord {
    /// The log index that applied the write; with `position`, orders eviction identically on
    /// every node.
    pub log_index: u64,
    /// The write's position in its log entry's batch.
    pub position: u32,
    /// The write's timestamp, ms since the epoch.
    pub issued_at_ms: u64,
    /// [`crate::Command::fingerprint`] of the write: a retry must ask for the same thing.
    pub fingerprint: u64,
    /// What applying it produced.
    pub outcome: DedupOutcome,
}

/// An API principal: an access key id and its secret, sealed by the barrier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKeyRecord {
    /// The access key id (`AKIA…`-style, 16–128 characters).
    pub access_key_id: String,
    /// The secret access key, sealed under the barrier with the access key id as context.
    pub secret: crate::sealed::WrappedSecret,
    /// Creation time, ms since the epoch.
    pub created_at_ms: u64,
    /// What it is for, 0–256 characters.
    pub description: String,
}

/// The user every cluster has: the first access key (init, dev mode) and every access key
/// made before users existed belong to it.
pub const ADMIN_USER: &str = "admin";

/// The identity policy the `admin` user is created with: everything.
pub const ADMIN_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Administrator","Effect":"Allow","Action":["kms:*","iam:*","trent:*"],"Resource":"*"}]}"#;

/// A user (`arn:aws:iam::<account>:user/<name>`): the principal its access keys act as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// 1–64 of `[A-Za-z0-9+=,.@_-]`, unique (IAM compares user names without case).
    pub name: String,
    /// Creation time, ms since the epoch.
    pub created_at_ms: u64,
    /// Its inline identity policy (a validated IAM policy document), if it has one.
    pub policy: Option<String>,
}

/// A grant on a key: who may use it for which operations, as `trent_policy` evaluates it, and
/// what KMS reports about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    /// The key it is on.
    pub key_id: KeyId,
    /// What it allows (its id is `grant.grant_id`: 64 hex characters).
    pub grant: trent_policy::Grant,
    /// Its name, if the creator gave one: a second CreateGrant with the same name and
    /// parameters answers this grant.
    pub name: Option<String>,
    /// Who may retire it, besides its grantee (when allowed RetireGrant).
    pub retiring_principal: Option<String>,
    /// The ARN of the user who created it.
    pub issuing_principal: String,
    /// Creation time, ms since the epoch.
    pub created_at_ms: u64,
}

impl GrantRecord {
    /// Whether `other` asks for the same grant (all but id, creator and time): CreateGrant with
    /// a name is idempotent over these.
    pub fn same_parameters(&self, other: &GrantRecord) -> bool {
        self.key_id == other.key_id
            && self.name == other.name
            && self.grant.grantee_principal == other.grant.grantee_principal
            && self.grant.operations == other.grant.operations
            && self.grant.constraints == other.grant.constraints
            && self.retiring_principal == other.retiring_principal
    }
}
