//! What each key was last used for, as this node saw it: the tracker behind `GetKeyLastUsage`.
//!
//! Every successful cryptographic call records its keys here, in memory under one mutex: no
//! I/O and no Raft write on the crypto path. Every [`PERSIST_INTERVAL`] (and when the node stops)
//! the map is written atomically to `<data_dir>/key-usage.json`, with the time this node first
//! tracked. What a crash kept from the file is completed at start from the node's own audit
//! log ([`KeyUsageTracker::replay_audit`]), which holds every answered call: no use is lost. No node holds the cluster's answer: `GetKeyLastUsage` asks every member
//! for its entry and takes the [`latest`].
//!
//! The map is bounded by the registry: only keys a call was authorized for (so keys that exist)
//! are recorded, and each write drops the entries of keys that no longer exist.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use trent_storage::KeyId;
use trent_wire::Operation;
use uuid::Uuid;

use crate::node::Node;

/// The file in the data directory that holds this node's uses.
pub const FILE_NAME: &str = "key-usage.json";
/// How often the uses are written: what a crash can lose.
pub const PERSIST_INTERVAL: Duration = Duration::from_secs(30);
/// The layout of [`FILE_NAME`].
const FILE_VERSION: u32 = 1;
/// Largest file read back at start: a use is about 200 bytes of JSON, and the registry holds far
/// fewer keys than this allows.
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// One key's last successful cryptographic use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastUse {
    /// What it was (one of the operations [`Operation::is_usage_tracked`] names).
    #[serde(with = "operation_name")]
    pub operation: Operation,
    /// When, ms since the epoch, by the clock of the node that served it.
    pub at_ms: u64,
    /// The call's audit event id (`CloudTrailEventId`).
    pub event_id: Uuid,
    /// The call's request id (`KmsRequestId`).
    pub request_id: Uuid,
}

impl LastUse {
    /// The order of uses: by time, ties broken by event id, so every node merges alike.
    fn order(&self) -> (u64, Uuid) {
        (self.at_ms, self.event_id)
    }
}

/// The latest of `uses`, if any.
pub fn latest(uses: impl IntoIterator<Item = LastUse>) -> Option<LastUse> {
    uses.into_iter().max_by_key(LastUse::order)
}

/// A node's uses of keys since it began tracking.
#[derive(Debug)]
pub struct KeyUsageTracker {
    path: PathBuf,
    tracking_start_ms: u64,
    uses: Mutex<HashMap<KeyId, LastUse>>,
    /// Whether a use was recorded since the last write: an idle node writes nothing.
    changed: AtomicBool,
}

/// Why the uses could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// Encoding failed (a bug).
    #[error("cannot encode key usage: {0}")]
    Encode(#[from] serde_json::Error),
    /// The file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// The layout of [`FILE_NAME`].
#[derive(Debug, Serialize, Deserialize)]
struct UsageFile {
    version: u32,
    tracking_start_ms: u64,
    uses: Vec<StoredUse>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredUse {
    key_id: KeyId,
    #[serde(flatten)]
    last_use: LastUse,
}

impl KeyUsageTracker {
    /// The tracker of the node whose data directory is `data_dir`: what its file holds, or, with
    /// no file (or one that cannot be read), nothing, tracking from `now_ms`.
    pub fn load(data_dir: &Path, now_ms: u64) -> KeyUsageTracker {
        let path = data_dir.join(FILE_NAME);
        let (tracking_start_ms, uses) = match read(&path) {
            Ok(Some(file)) => {
                let uses = file.uses.into_iter().map(|stored| (stored.key_id, stored.last_use)).collect();
                (file.tracking_start_ms, uses)
            }
            Ok(None) => (now_ms, HashMap::new()),
            // Earlier uses are unknown: tracking starts again now, which TrackingStartDate says.
            Err(reason) => {
                tracing::warn!(path = %path.display(), reason, "key usage not loaded; tracking from now");
                (now_ms, HashMap::new())
            }
        };
        KeyUsageTracker { path, tracking_start_ms, uses: Mutex::new(uses), changed: AtomicBool::new(false) }
    }

    /// Completes the uses from this node's audit log `dir`: every served tracked call recorded
    /// since a little before the file was last written (so a crash, which skips the last write,
    /// loses nothing). Returns how many records it applied.
    pub fn replay_audit(&self, dir: &Path) -> Result<u64, trent_audit::AuditError> {
        let written = std::fs::metadata(&self.path).and_then(|meta| meta.modified());
        let Ok(written) = written else { return Ok(0) };
        let written_ms = trent_audit::unix_ms(written);
        let since_ms = written_ms.saturating_sub(2 * PERSIST_INTERVAL.as_millis() as u64);
        let filter = trent_audit::Filter {
            start_time: Some(trent_audit::rfc3339_seconds(since_ms)),
            ..trent_audit::Filter::default()
        };
        let mut applied = 0;
        let mut after = None;
        loop {
            let page = trent_audit::query(dir, &filter, after, trent_audit::MAX_QUERY_LIMIT)?;
            for stored in &page.events {
                applied += u64::from(self.replay_one(&stored.event));
            }
            match page.next_after {
                Some(next) => after = Some(next),
                None => return Ok(applied),
            }
        }
    }

    /// Records the use one audit record shows, if it is a served tracked call.
    fn replay_one(&self, event: &trent_audit::Event) -> bool {
        if event.error_code.is_some() || event.event_type != "AwsApiCall" {
            return false;
        }
        let target = format!("{}{}", trent_wire::kms::TARGET_PREFIX, event.event_name);
        let Some(operation) =
            Operation::from_target(&target).filter(|operation| operation.is_usage_tracked())
        else {
            return false;
        };
        let (Some(at_s), Ok(event_id), Ok(request_id)) = (
            trent_audit::parse_rfc3339_seconds(&event.event_time),
            Uuid::try_parse(&event.event_id),
            Uuid::try_parse(&event.request_id),
        ) else {
            return false;
        };
        let keys = event
            .resources
            .iter()
            .filter_map(|resource| resource.arn.rsplit('/').next().and_then(KeyId::parse));
        // A record's time is to the second: the use is taken to be at the end of its second,
        // so that it is not hidden by an earlier use, in the same second, on another node.
        let at_ms = at_s.saturating_mul(1000).saturating_add(999);
        for key_id in keys {
            // The file's own copy of this use has its exact time.
            if self.last_use(key_id).is_some_and(|known| known.event_id == event_id) {
                continue;
            }
            self.record(key_id, operation, at_ms, event_id, request_id);
        }
        true
    }

    /// Records a successful `operation` with `key_id` at `at_ms`, unless a later use is known.
    pub fn record(&self, key_id: KeyId, operation: Operation, at_ms: u64, event_id: Uuid, request_id: Uuid) {
        debug_assert!(operation.is_usage_tracked(), "{operation} is not a tracked use");
        let used = LastUse { operation, at_ms, event_id, request_id };
        let mut uses = self.uses();
        let entry = uses.entry(key_id).or_insert(used);
        if used.order() > entry.order() {
            *entry = used;
        }
        drop(uses);
        self.changed.store(true, Ordering::Relaxed);
    }

    /// The last use of `key_id` this node knows of.
    pub fn last_use(&self, key_id: KeyId) -> Option<LastUse> {
        self.uses().get(&key_id).copied()
    }

    /// When this node first tracked, ms since the epoch (kept across restarts).
    pub fn tracking_start_ms(&self) -> u64 {
        self.tracking_start_ms
    }

    /// Writes the uses of keys that still exist (`exists`) to the file, if any was recorded
    /// since the last write (or `always`), and forgets the others.
    pub fn persist(&self, exists: impl Fn(&KeyId) -> bool, always: bool) -> Result<(), PersistError> {
        if !self.changed.swap(false, Ordering::Relaxed) && !always {
            return Ok(());
        }
        let mut uses: Vec<StoredUse> = {
            let mut map = self.uses();
            map.retain(|key_id, _| exists(key_id));
            map.iter().map(|(key_id, last_use)| StoredUse { key_id: *key_id, last_use: *last_use }).collect()
        };
        uses.sort_by_key(|stored| stored.key_id);
        let file = UsageFile { version: FILE_VERSION, tracking_start_ms: self.tracking_start_ms, uses };
        let bytes = serde_json::to_vec(&file)?;
        crate::private_files::replace(&self.path, &bytes).map_err(|source| {
            // Written next time, with whatever came since.
            self.changed.store(true, Ordering::Relaxed);
            PersistError::Write { path: self.path.clone(), source }
        })
    }

    fn uses(&self) -> MutexGuard<'_, HashMap<KeyId, LastUse>> {
        // A panic while holding the lock leaves a map that is still a valid map.
        self.uses.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn read(path: &Path) -> Result<Option<UsageFile>, String> {
    let size = match std::fs::metadata(path) {
        Ok(metadata) => metadata.len(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.to_string()),
    };
    if size > MAX_FILE_BYTES {
        return Err(format!("{size} bytes, more than {MAX_FILE_BYTES}"));
    }
    let bytes = std::fs::read(path).map_err(|error| error.to_string())?;
    let file: UsageFile = serde_json::from_slice(&bytes).map_err(|error| error.to_string())?;
    if file.version != FILE_VERSION {
        return Err(format!("version {}; this build reads {FILE_VERSION}", file.version));
    }
    Ok(Some(file))
}

/// Writes the node's uses every [`PERSIST_INTERVAL`] and once more when `shutdown` turns true.
pub async fn run(node: Arc<Node>, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(PERSIST_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        let stopping = tokio::select! {
            _ = ticker.tick() => false,
            _ = shutdown.changed() => true,
        };
        let persisting = node.clone();
        if let Err(error) = tokio::task::spawn_blocking(move || persist(&persisting)).await {
            tracing::warn!(%error, "key usage writer failed");
        }
        if stopping {
            return;
        }
    }
}

/// Writes the node's uses now, if any was recorded since the last write (blocking: file I/O).
/// Also called once the node has stopped serving, for the calls that finished meanwhile.
pub fn persist(node: &Node) {
    let registry = node.registry.clone();
    if let Err(error) = node.key_usage.persist(|key_id| registry.read().key(key_id).is_some(), false) {
        tracing::warn!(%error, "key usage not written; retrying in 30 s");
    }
}

/// [`LastUse::operation`] as its name, so the file and peer messages say `Encrypt`.
mod operation_name {
    use serde::{Deserialize, Deserializer, Serializer};
    use trent_wire::operation::Service;
    use trent_wire::Operation;

    pub fn serialize<S: Serializer>(operation: &Operation, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(operation.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Operation, D::Error> {
        let name = String::deserialize(deserializer)?;
        Operation::ALL
            .iter()
            .copied()
            .find(|operation| {
                operation.service() == Service::Kms
                    && operation.name() == name
                    && operation.is_usage_tracked()
            })
            .ok_or_else(|| serde::de::Error::custom(format!("{name} is not a tracked operation")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn use_at(at_ms: u64, event: u128) -> LastUse {
        LastUse {
            operation: Operation::Encrypt,
            at_ms,
            event_id: Uuid::from_u128(event),
            request_id: Uuid::from_u128(event + 1000),
        }
    }

    #[test]
    fn the_latest_use_wins_and_ties_go_to_the_larger_event_id() {
        assert_eq!(latest([use_at(5, 1), use_at(9, 2), use_at(7, 3)]), Some(use_at(9, 2)));
        assert_eq!(latest([use_at(9, 4), use_at(9, 2)]), Some(use_at(9, 4)));
        assert_eq!(latest([use_at(9, 2), use_at(9, 4)]), Some(use_at(9, 4)), "in any order");
        assert_eq!(latest([]), None);
    }

    #[test]
    fn record_keeps_the_latest_use_of_each_key() {
        let dir = tempfile::tempdir().unwrap();
        let tracker = KeyUsageTracker::load(dir.path(), 100);
        let (one, two) = (KeyId(Uuid::from_u128(1)), KeyId(Uuid::from_u128(2)));
        tracker.record(one, Operation::Encrypt, 10, Uuid::from_u128(1), Uuid::from_u128(11));
        // A call that finished later but started earlier (another thread's clock read) loses.
        tracker.record(one, Operation::Decrypt, 9, Uuid::from_u128(2), Uuid::from_u128(12));
        tracker.record(two, Operation::Sign, 3, Uuid::from_u128(3), Uuid::from_u128(13));
        assert_eq!(
            tracker.last_use(one).map(|used| (used.operation, used.at_ms)),
            Some((Operation::Encrypt, 10))
        );
        assert_eq!(tracker.last_use(two).map(|used| used.operation), Some(Operation::Sign));
        assert_eq!(tracker.last_use(KeyId(Uuid::from_u128(3))), None);
        assert_eq!(tracker.tracking_start_ms(), 100);
    }

    #[test]
    fn uses_and_tracking_start_survive_a_restart_but_deleted_keys_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let tracker = KeyUsageTracker::load(dir.path(), 100);
        let (kept, deleted) = (KeyId(Uuid::from_u128(1)), KeyId(Uuid::from_u128(2)));
        tracker.record(kept, Operation::ReEncrypt, 10, Uuid::from_u128(7), Uuid::from_u128(8));
        tracker.record(deleted, Operation::Encrypt, 11, Uuid::from_u128(9), Uuid::from_u128(10));
        tracker.persist(|key_id| *key_id == kept, false).unwrap();
        assert_eq!(tracker.last_use(deleted), None, "forgotten in memory too");

        let restarted = KeyUsageTracker::load(dir.path(), 5_000);
        assert_eq!(restarted.tracking_start_ms(), 100, "the first time this node tracked");
        assert_eq!(restarted.last_use(kept), tracker.last_use(kept));
        assert_eq!(restarted.last_use(deleted), None);
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(text.contains(r#""operation":"ReEncrypt""#), "{text}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(FILE_NAME)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, crate::private_files::FILE_MODE);
    }

    #[test]
    fn an_idle_tracker_writes_nothing_and_an_unreadable_file_restarts_tracking() {
        let dir = tempfile::tempdir().unwrap();
        let tracker = KeyUsageTracker::load(dir.path(), 100);
        tracker.persist(|_| true, false).unwrap();
        assert!(!dir.path().join(FILE_NAME).exists(), "nothing recorded, nothing written");
        tracker.persist(|_| true, true).unwrap();
        assert!(dir.path().join(FILE_NAME).exists());

        std::fs::write(dir.path().join(FILE_NAME), b"{not json").unwrap();
        let restarted = KeyUsageTracker::load(dir.path(), 7_000);
        assert_eq!(restarted.tracking_start_ms(), 7_000, "earlier uses are unknown");
    }

    #[test]
    fn a_use_names_its_operation_and_refuses_one_that_is_not_tracked() {
        let json = serde_json::to_value(use_at(1, 1)).unwrap();
        assert_eq!(json["operation"], "Encrypt");
        let mut untracked = json.clone();
        untracked["operation"] = "DescribeKey".into();
        assert!(serde_json::from_value::<LastUse>(untracked).is_err());
        let bytes = trent_storage::codec::encode(&use_at(1, 1)).unwrap();
        assert_eq!(trent_storage::codec::decode::<LastUse>(&bytes).unwrap(), use_at(1, 1));
    }
}
