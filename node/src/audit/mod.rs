//! This node's audit trail: a record of every call it serves or refuses and of every change
//! the cluster makes on its own while it leads, durable before the call's response leaves the
//! node. The file format, the chain and the digests are `trent_audit`'s; here are what goes
//! into a record ([`events`], [`parameters`]), the writer thread (`writer`) and the queue in
//! front of it, the fail-closed rule and the digest timer.
//!
//! **Fail closed.** A record that cannot be written (disk full, I/O error) fails its call with
//! `KMSInternalException` (500), its reply dropped unsent; while the last write failed, health
//! says so and calls are refused before they run. Each refused call still tries to record its
//! refusal, so the first write that succeeds again (space returned) puts the node back in
//! service.

pub mod events;
pub mod parameters;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, watch};
use trent_audit::{AuditLog, DigestSigner, EncodedEvent, Event, RotationPolicy};
use trent_wire::{ErrorCode, KmsError};

use crate::node::Node;

/// Records that may wait for the writer; a caller beyond them waits for room.
const QUEUE_CAPACITY: usize = 8192;

/// Why a call could not be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the audit trail cannot record calls on this node: {0}")]
pub struct AuditUnavailable(pub String);

impl From<AuditUnavailable> for KmsError {
    fn from(unavailable: AuditUnavailable) -> KmsError {
        KmsError::new(
            ErrorCode::Internal,
            format!(
                "{unavailable}; the call was refused and its result not returned (see GET /v1/sys/health)"
            ),
        )
    }
}

/// Whether the log's last write failed, and why.
#[derive(Debug, Default)]
pub(crate) struct Health {
    failure: Mutex<Option<String>>,
}

impl Health {
    fn record(&self, result: &Result<(), String>) {
        let mut failure = self.failure.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match result {
            Ok(()) => {
                if failure.take().is_some() {
                    tracing::warn!("the audit trail writes again: calls are served");
                }
            }
            Err(error) => {
                if failure.is_none() {
                    tracing::error!(%error, "the audit trail cannot write: calls are refused until it can");
                }
                *failure = Some(error.clone());
            }
        }
    }

    fn failure(&self) -> Option<String> {
        self.failure.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

/// This node's audit trail.
pub struct AuditTrail {
    dir: PathBuf,
    /// `None` only for a benchmark's unaudited node.
    queue: Option<mpsc::Sender<writer::Job>>,
    health: Arc<Health>,
}

impl AuditTrail {
    /// Opens (or creates) the log in `dir` and starts its writer thread.
    pub fn open(dir: &Path, policy: RotationPolicy) -> Result<AuditTrail, trent_audit::AuditError> {
        let log = AuditLog::open(dir, policy)?;
        let (queue, jobs) = mpsc::channel(QUEUE_CAPACITY);
        let health = Arc::new(Health::default());
        let writer_health = health.clone();
        std::thread::Builder::new()
            .name("audit-writer".to_owned())
            .spawn(move || writer::run(log, jobs, writer_health))
            .map_err(|source| trent_audit::AuditError::Io { path: dir.to_owned(), source })?;
        Ok(AuditTrail { dir: dir.to_owned(), queue: Some(queue), health })
    }

    /// A trail that records nothing: for benchmarks that measure what recording costs
    /// (`--unaudited-bench-only`), never for service.
    pub fn unaudited(dir: &Path) -> AuditTrail {
        tracing::warn!("started --unaudited-bench-only: this node keeps NO audit trail; benchmarks only");
        AuditTrail { dir: dir.to_owned(), queue: None, health: Arc::new(Health::default()) }
    }

    /// Where the log lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this node keeps a trail at all (false only for a benchmark's unaudited node).
    pub fn is_recording(&self) -> bool {
        self.queue.is_some()
    }

    /// Why the last write failed, while it has not succeeded since.
    pub fn failure(&self) -> Option<String> {
        self.health.failure()
    }

    /// Appends `event` and returns once it is durable. The event is encoded here, on the
    /// caller's task, so the one writer thread only chains, writes and syncs.
    pub async fn record(&self, event: Event) -> Result<(), AuditUnavailable> {
        if self.queue.is_none() {
            return Ok(());
        }
        let encoded = EncodedEvent::new(&event).map_err(|error| AuditUnavailable(error.to_string()))?;
        drop(event);
        self.submit(|done| writer::Job::Record(encoded, done)).await
    }

    /// Signs the chain head with `signer` (nothing is written if no record came since the last
    /// digest).
    pub async fn digest(
        &self,
        signer: DigestSigner,
        node_id: u64,
        event_time: String,
    ) -> Result<(), AuditUnavailable> {
        self.submit(|done| writer::Job::Digest { signer, node_id, event_time, done }).await
    }

    /// Queues the job `make` builds around its reply channel and waits for the writer's answer.
    async fn submit(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<(), String>>) -> writer::Job,
    ) -> Result<(), AuditUnavailable> {
        let Some(queue) = &self.queue else { return Ok(()) };
        let stopped = || AuditUnavailable("the audit writer has stopped".to_owned());
        let (done, written) = oneshot::channel();
        queue.send(make(done)).await.map_err(|_| stopped())?;
        written.await.map_err(|_| stopped())?.map_err(AuditUnavailable)
    }
}

/// The cluster's digest signer, derived from the keyring (`None` while sealed).
pub fn signer(node: &Node) -> Option<DigestSigner> {
    let seed = node.seal.with_keyring(|keyring| keyring.audit_seed()).ok()?.ok()?;
    DigestSigner::from_seed(&seed).ok()
}

/// Writes a digest record every `[audit] digest_interval_s` while the node is unsealed, and a
/// last one when the node stops.
pub async fn sign_periodically(node: Arc<Node>, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(node.config.audit.digest_interval());
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        let stopping = tokio::select! {
            _ = ticker.tick() => false,
            _ = shutdown.changed() => true,
        };
        if let Some(signer) = signer(&node) {
            let time = trent_audit::rfc3339_seconds(node.now_ms());
            if let Err(error) = node.audit.digest(signer, node.id(), time).await {
                tracing::warn!(%error, "could not write an audit digest");
            }
        }
        if stopping {
            return;
        }
    }
}

/// Records a change the cluster made on its own, written by the leader that proposed it. A
/// failure is logged: the change has committed, and there is no caller to refuse.
pub async fn record_service_event(
    node: &Node,
    event_name: &str,
    key_id: trent_storage::KeyId,
    details: Option<serde_json::Value>,
) {
    let event = events::service_event(node, event_name, key_id, details);
    if let Err(error) = node.audit.record(event).await {
        tracing::error!(%error, event_name, %key_id, "could not record a cluster event in the audit trail");
    }
}
