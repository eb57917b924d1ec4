//! Commands: every key lifecycle event, as the leader proposes it to the Raft log.
//!
//! A [`Request`] is complete before it is proposed: the leader has picked the key id, the
//! request id and the timestamp, so applying it needs nothing but the current state.

use std::fmt;

use serde::{Deserialize, Serialize};
use trent_wire::model::{KeySpec, KeyUsage, Origin};
use trent_wire::{ErrorCode, KmsError};
use uuid::Uuid;

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

/// One replicated write: a command plus what the leader decided before proposing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Deduplication id: a second request with the same id returns the first one's result.
    pub request_id: RequestId,
    /// The leader's wall clock when it proposed this, milliseconds since the Unix epoch.
    pub issued_at_ms: u64,
    /// The event.
    pub command: Command,
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.request_id, self.command.name())
    }
}

/// Requests the leader proposes as one log entry: one flush and one replication round carry
/// them all. Each applies on its own, in order, with its own result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestBatch {
    /// The requests, applied first to last.
    pub requests: Vec<Request>,
}

impl fmt::Display for RequestBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "batch of {}", self.requests.len())
    }
}

/// A key as the caller asked for it, before the leader gives it an id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDraft {
    /// Description, 0–8192 characters.
    pub description: String,
    /// Key material type.
    pub spec: KeySpec,
    /// What it is for.
    pub usage: KeyUsage,
    /// Where its material comes from.
    pub origin: Origin,
    /// Tags at creation.
    pub tags: Vec<(String, String)>,
}

/// A new key as the leader built it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKey {
    /// The id the leader picked.
    pub key_id: KeyId,
    /// What the caller asked for.
    pub draft: KeyDraft,
}

/// Every key lifecycle event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Create a key, enabled.
    CreateKey(NewKey),
    /// Enable a disabled key.
    EnableKey {
        /// The key.
        key_id: KeyId,
    },
    /// Disable an enabled key.
    DisableKey {
        /// The key.
        key_id: KeyId,
    },
    /// Replace the description.
    UpdateKeyDescription {
        /// The key.
        key_id: KeyId,
        /// The new description.
        description: String,
    },
    /// Schedule deletion `window_days` after the request's timestamp.
    ScheduleKeyDeletion {
        /// The key.
        key_id: KeyId,
        /// 7–30.
        window_days: u32,
    },
    /// Cancel a scheduled deletion; the key becomes disabled.
    CancelKeyDeletion {
        /// The key.
        key_id: KeyId,
    },
    /// Delete a key whose deletion date is not after the request's timestamp, and its aliases.
    DeleteExpiredKey {
        /// The key.
        key_id: KeyId,
    },
    /// Create an alias; the name must be free.
    CreateAlias {
        /// `alias/<name>`.
        alias: String,
        /// The key it points to.
        key_id: KeyId,
    },
    /// Point an existing alias at another key.
    UpdateAlias {
        /// `alias/<name>`.
        alias: String,
        /// The new target.
        key_id: KeyId,
    },
    /// Delete an alias.
    DeleteAlias {
        /// `alias/<name>`.
        alias: String,
    },
    /// Add or overwrite tags.
    TagKey {
        /// The key.
        key_id: KeyId,
        /// Tags to set.
        tags: Vec<(String, String)>,
    },
    /// Remove tags by key; absent tag keys are ignored.
    UntagKey {
        /// The key.
        key_id: KeyId,
        /// Tag keys to remove.
        tag_keys: Vec<String>,
    },
    /// Initialise the cluster with its sealed keyring and first access key; applies once.
    InitializeCluster {
        /// Barrier keys sealed under the new root key.
        keyring: crate::sealed::SealedKeyring,
        /// The first administrator's access key.
        admin: crate::registry::AccessKeyRecord,
    },
    /// Replace the sealed keyring by one holding every version of the current one, and more
    /// (barrier key rotation).
    ReplaceKeyring {
        /// The new sealed keyring.
        keyring: crate::sealed::SealedKeyring,
    },
    /// Add an access key.
    CreateAccessKey(crate::registry::AccessKeyRecord),
    /// Delete an access key; the last one cannot be deleted.
    DeleteAccessKey {
        /// Its id.
        access_key_id: String,
    },
}

impl Command {
    /// Identifies what the caller asked for, leaving out what the leader decided (a new key's
    /// id), so a retried request matches its first attempt and a reused request id for a
    /// different request does not. FNV-1a over the encoded caller's view: stable across nodes.
    pub fn fingerprint(&self) -> u64 {
        let encoded = match self {
            Command::CreateKey(new_key) => crate::codec::encode(&(0u8, &new_key.draft)),
            // Everything in these was generated by the leader; the caller asked for no more
            // than the kind of change (and a description).
            Command::InitializeCluster { .. } => crate::codec::encode(&2u8),
            Command::ReplaceKeyring { .. } => crate::codec::encode(&3u8),
            Command::CreateAccessKey(record) => crate::codec::encode(&(4u8, &record.description)),
            other => crate::codec::encode(&(1u8, other)),
        };
        // Encoding plain data into a Vec cannot fail; an empty input still fingerprints.
        let bytes = encoded.unwrap_or_default();
        bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }

    /// A short name for logs (never includes values).
    pub fn name(&self) -> &'static str {
        match self {
            Command::CreateKey(_) => "CreateKey",
            Command::EnableKey { .. } => "EnableKey",
            Command::DisableKey { .. } => "DisableKey",
            Command::UpdateKeyDescription { .. } => "UpdateKeyDescription",
            Command::ScheduleKeyDeletion { .. } => "ScheduleKeyDeletion",
            Command::CancelKeyDeletion { .. } => "CancelKeyDeletion",
            Command::DeleteExpiredKey { .. } => "DeleteExpiredKey",
            Command::CreateAlias { .. } => "CreateAlias",
            Command::UpdateAlias { .. } => "UpdateAlias",
            Command::DeleteAlias { .. } => "DeleteAlias",
            Command::TagKey { .. } => "TagKey",
            Command::UntagKey { .. } => "UntagKey",
            Command::InitializeCluster { .. } => "InitializeCluster",
            Command::ReplaceKeyring { .. } => "ReplaceKeyring",
            Command::CreateAccessKey(_) => "CreateAccessKey",
            Command::DeleteAccessKey { .. } => "DeleteAccessKey",
        }
    }
}

/// What a successfully applied command produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Applied {
    /// The command changed (or created) this key; its record after the change.
    Key(Box<crate::registry::KeyRecord>),
    /// The command changed aliases or deleted a key; nothing to report.
    Done,
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

/// The result of applying one request.
pub type CommandResult = Result<Applied, Rejection>;

/// The results of applying one log entry, one per request of its batch; what `client_write`
/// returns. Blank and membership entries yield none.
pub type BatchResult = Vec<CommandResult>;
