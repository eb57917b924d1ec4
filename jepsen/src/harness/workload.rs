//! The workloads: concurrent clients calling random nodes, every call recorded.
//!
//! All six run at once, each on its own keys, so one history serves every checker:
//! - **key set**: `create` (CreateKey), key `"keyset"`, output the new key id;
//! - **ciphertexts**: `encrypt` under one of a few long-lived keys (output the blob),
//!   `decrypt` of a blob acknowledged earlier (input the blob and the plaintext it must give),
//!   and now and then `rotate` (RotateKeyOnDemand) of one of those keys, so blobs span material
//!   versions and every rotation must be applied once, on every node;
//! - **key-state register**: `enable` / `disable` / `describe` on a few keys, fresh keys every
//!   register slot so each key's history stays small enough for the linearizability search;
//! - **revocation**: one key per revocation cycle, encrypted under by every worker until — and
//!   after — a revoker disables it a third of the way into its cycle;
//! - **signing revocation**: the same, with one ECDSA P-256 signing key per cycle that every
//!   worker signs with until — and after — the revoker disables it with the cycle's key;
//! - **access revocation**: one key per revocation cycle that a user without an identity policy
//!   may use through a grant (even cycles) or because the key policy names it (odd cycles); the
//!   workers encrypt under it as that user, and a third of the way into the cycle the revoker
//!   revokes the grant or puts a key policy that no longer names the user;
//! - **split brain** is judged from the same blobs and, at the end, across nodes.
//!
//! Every call is sent with a request id of the harness's choosing (`x-trent-request-id`),
//! recorded in its invocation with the KMS operation it sends, so that the audit checker
//! ([`super::audit`]) can find each acknowledged call's record.
//!
//! How a call ended: `ok`; `fail` when it certainly changed nothing (a read, a call refused with
//! a 4xx error before any effect, a connection that never opened); `info` when a write may or
//! may not have happened (timeout, dropped connection, 5xx). A worker takes a new process id
//! after an `info`, since its last call may still be in flight.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use trent_client::wire::asymmetric::{SignRequest, SignResponse};
use trent_client::wire::data_plane::{DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse};
use trent_client::wire::kms::{
    CreateKeyRequest, EmptyResponse, KeyIdRequest, KeyIdResponse, KeyMetadataResponse,
};
use trent_client::wire::{Blob, Operation};
use trent_client::{new_request_id, ClientError, TrentClient};

use super::audit::{OPERATION_FIELD, REQUEST_ID_FIELD};
use super::cluster::{Cluster, NODES};
use super::recorder::Recorder;
pub use super::workload_keys::{access_policy, AccessKey, AccessRevocation, Keys};
use super::HarnessError;
use crate::history::EventType;

/// Register keys in use at one time.
pub const REGISTER_KEYS_PER_SLOT: usize = 2;
/// Long-lived keys of the ciphertext workload.
pub const CIPHER_KEYS: usize = 4;
/// How long the revoker waits for a DisableKey to be acknowledged before trying another node.
pub const REVOKE_RETRY: Duration = Duration::from_secs(1);
/// The `key` of key-set operations.
pub const KEYSET: &str = "keyset";
/// The key spec of the signing-revocation keys.
pub const SIGNING_KEY_SPEC: &str = "ECC_NIST_P256";
/// Their signing algorithm.
pub const SIGNING_ALGORITHM: &str = "ECDSA_SHA_256";
/// The user of the access-revocation workload.
pub const GRANTEE: &str = "jepsen-grantee";

/// How the clients behave.
#[derive(Debug, Clone)]
pub struct WorkloadPlan {
    /// Concurrent workers.
    pub workers: usize,
    /// How long they run.
    pub duration: Duration,
    /// How long one set of register keys is used.
    pub register_slot: Duration,
    /// One revocation key per cycle.
    pub revocation_cycle: Duration,
    /// Mean pause of a worker between calls.
    pub stagger: Duration,
    /// Seeds the workers' choices.
    pub seed: u64,
}

impl WorkloadPlan {
    pub(super) fn slots(&self, every: Duration) -> usize {
        let every = every.as_millis().max(1);
        usize::try_from(self.duration.as_millis() / every).unwrap_or(usize::MAX).saturating_add(1)
    }
}

/// The operation names the history records (the `f` of each event).
pub mod ops {
    /// CreateKey.
    pub const CREATE: &str = "create";
    /// Encrypt.
    pub const ENCRYPT: &str = "encrypt";
    /// Decrypt.
    pub const DECRYPT: &str = "decrypt";
    /// EnableKey.
    pub const ENABLE: &str = "enable";
    /// DisableKey.
    pub const DISABLE: &str = "disable";
    /// DescribeKey.
    pub const DESCRIBE: &str = "describe";
    /// Sign (ECDSA P-256, RAW) under a signing-revocation key.
    pub const SIGN: &str = "sign";
    /// Encrypt as the grantee, under an access-revocation key.
    pub const ACCESS_ENCRYPT: &str = "access-encrypt";
    /// RotateKeyOnDemand of a ciphertext key.
    pub const ROTATE: &str = "rotate";
    /// RevokeGrant, or PutKeyPolicy without the grantee, on an access-revocation key.
    pub const REVOKE_ACCESS: &str = "revoke-access";
}

/// One call a worker makes.
#[derive(Debug, Clone)]
pub enum Call {
    /// CreateKey.
    Create,
    /// Encrypt `plaintext` under `key`.
    Encrypt { key: String, plaintext: Vec<u8> },
    /// Decrypt an acknowledged blob, which must give `plaintext`.
    Decrypt { key: String, blob: Vec<u8>, plaintext: Vec<u8> },
    /// EnableKey.
    Enable(String),
    /// DisableKey.
    Disable(String),
    /// DescribeKey, reading the key state.
    Describe(String),
    /// RotateKeyOnDemand.
    Rotate(String),
    /// Sign `message` with `key`.
    Sign { key: String, message: Vec<u8> },
    /// Encrypt `plaintext` under `key` as the grantee.
    AccessEncrypt { key: String, plaintext: Vec<u8> },
    /// Revoke the grantee's access to `key` (the account's root ARN for the new policy).
    RevokeAccess { access: AccessKey, root: String },
}

impl Call {
    /// The operation's name in the history.
    pub fn f(&self) -> &'static str {
        match self {
            Call::Create => ops::CREATE,
            Call::Encrypt { .. } => ops::ENCRYPT,
            Call::Decrypt { .. } => ops::DECRYPT,
            Call::Sign { .. } => ops::SIGN,
            Call::Enable(_) => ops::ENABLE,
            Call::Disable(_) => ops::DISABLE,
            Call::Describe(_) => ops::DESCRIBE,
            Call::Rotate(_) => ops::ROTATE,
            Call::AccessEncrypt { .. } => ops::ACCESS_ENCRYPT,
            Call::RevokeAccess { .. } => ops::REVOKE_ACCESS,
        }
    }

    /// The key the history files the operation under.
    pub fn key(&self) -> &str {
        match self {
            Call::Create => KEYSET,
            Call::Encrypt { key, .. } | Call::Decrypt { key, .. } | Call::AccessEncrypt { key, .. } => key,
            Call::Sign { key, .. } => key,
            Call::Enable(key) | Call::Disable(key) | Call::Describe(key) | Call::Rotate(key) => key,
            Call::RevokeAccess { access, .. } => &access.key,
        }
    }

    /// Whether the call can change the cluster's state.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Call::Create | Call::Enable(_) | Call::Disable(_) | Call::Rotate(_) | Call::RevokeAccess { .. }
        )
    }

    /// The KMS operation the call sends: its audit record's `eventName`.
    pub fn operation(&self) -> Operation {
        match self {
            Call::Create => Operation::CreateKey,
            Call::Encrypt { .. } | Call::AccessEncrypt { .. } => Operation::Encrypt,
            Call::Decrypt { .. } => Operation::Decrypt,
            Call::Sign { .. } => Operation::Sign,
            Call::Enable(_) => Operation::EnableKey,
            Call::Disable(_) => Operation::DisableKey,
            Call::Describe(_) => Operation::DescribeKey,
            Call::Rotate(_) => Operation::RotateKeyOnDemand,
            Call::RevokeAccess { access, .. } => match access.revocation {
                AccessRevocation::Grant(_) => Operation::RevokeGrant,
                AccessRevocation::Policy => Operation::PutKeyPolicy,
            },
        }
    }

    /// The invocation's value: the node called, the operation and request id sent, and what the
    /// checkers need of the input.
    pub fn input(&self, node: u8, request_id: &str) -> Value {
        let mut input =
            json!({ "node": node, OPERATION_FIELD: self.operation().name(), REQUEST_ID_FIELD: request_id });
        match self {
            Call::Encrypt { plaintext, .. } | Call::AccessEncrypt { plaintext, .. } => {
                input["plaintext"] = json!(BASE64.encode(plaintext));
            }
            Call::Sign { message, .. } => input["message"] = json!(BASE64.encode(message)),
            Call::Decrypt { blob, plaintext, .. } => {
                input["blob"] = json!(BASE64.encode(blob));
                input["plaintext"] = json!(BASE64.encode(plaintext));
            }
            _ => {}
        }
        input
    }

    /// Makes the call with `request_id` as its `x-trent-request-id`; the output the history
    /// records.
    pub async fn perform(&self, client: &TrentClient, request_id: &str) -> Result<Value, ClientError> {
        let operation = self.operation().name();
        let key_request = |key: &str| KeyIdRequest { key_id: key.to_owned(), ..KeyIdRequest::default() };
        match self {
            Call::Create => {
                let request = CreateKeyRequest {
                    description: Some("jepsen key set".to_owned()),
                    ..CreateKeyRequest::default()
                };
                let answer: KeyMetadataResponse =
                    client.call_with_request_id(operation, &request, request_id).await?;
                Ok(Value::String(answer.key_metadata.key_id))
            }
            Call::Encrypt { key, plaintext } | Call::AccessEncrypt { key, plaintext } => {
                let request = EncryptRequest {
                    key_id: key.clone(),
                    plaintext: Blob(plaintext.clone()),
                    ..EncryptRequest::default()
                };
                let answer: EncryptResponse =
                    client.call_with_request_id(operation, &request, request_id).await?;
                Ok(json!({ "blob": BASE64.encode(answer.ciphertext_blob.as_bytes()) }))
            }
            Call::Decrypt { key, blob, .. } => {
                let request = DecryptRequest {
                    ciphertext_blob: Some(Blob(blob.clone())),
                    key_id: Some(key.clone()),
                    ..DecryptRequest::default()
                };
                let answer: DecryptResponse =
                    client.call_with_request_id(operation, &request, request_id).await?;
                Ok(json!({ "plaintext": BASE64.encode(answer.plaintext.as_bytes()) }))
            }
            Call::Sign { key, message } => {
                let request = SignRequest {
                    key_id: key.clone(),
                    message: Blob(message.clone()),
                    signing_algorithm: SIGNING_ALGORITHM.to_owned(),
                    ..SignRequest::default()
                };
                let answer: SignResponse =
                    client.call_with_request_id(operation, &request, request_id).await?;
                Ok(json!({ "signature": BASE64.encode(answer.signature.as_bytes()) }))
            }
            Call::Enable(key) | Call::Disable(key) => {
                let _: EmptyResponse =
                    client.call_with_request_id(operation, &key_request(key), request_id).await?;
                Ok(Value::Null)
            }
            Call::Rotate(key) => {
                let _: KeyIdResponse =
                    client.call_with_request_id(operation, &key_request(key), request_id).await?;
                Ok(Value::Null)
            }
            Call::Describe(key) => {
                let answer: KeyMetadataResponse =
                    client.call_with_request_id(operation, &key_request(key), request_id).await?;
                Ok(serde_json::to_value(answer.key_metadata.key_state).unwrap_or(Value::Null))
            }
            Call::RevokeAccess { access, root } => {
                let body = match &access.revocation {
                    AccessRevocation::Grant(grant_id) => json!({"KeyId": access.key, "GrantId": grant_id}),
                    AccessRevocation::Policy => {
                        json!({"KeyId": access.key, "Policy": access_policy(root, None)})
                    }
                };
                client
                    .call_with_request_id::<_, Value>(operation, &body, request_id)
                    .await
                    .map(|_| Value::Null)
            }
        }
    }

    /// How a call that returned `error` ended, in the history's terms.
    pub fn outcome_of(&self, error: &ClientError) -> EventType {
        let certainly_nothing = match error {
            ClientError::Connect { .. } => true,
            ClientError::Api(error) => error.code.http_status() < 500,
            _ => false,
        };
        if !self.is_write() || certainly_nothing {
            EventType::Fail
        } else {
            EventType::Info
        }
    }
}

/// A short name for an error, as recorded in the history.
pub fn error_name(error: &ClientError) -> String {
    match error {
        ClientError::Api(error) => error.code.as_str().to_owned(),
        ClientError::Http { status, .. } => format!("http-{status}"),
        ClientError::Connect { .. } => "connect".to_owned(),
        ClientError::Transport { .. } => "transport".to_owned(),
        ClientError::Timeout { .. } => "timeout".to_owned(),
        _ => "client".to_owned(),
    }
}

/// An encryption the cluster acknowledged.
#[derive(Debug, Clone)]
pub struct AckedBlob {
    /// The key it was made under.
    pub key: String,
    /// What it must decrypt to.
    pub plaintext: Vec<u8>,
    /// The ciphertext blob.
    pub blob: Vec<u8>,
}

/// The clients of one run.
pub struct Workload {
    recorder: Arc<Recorder>,
    clients: Vec<TrentClient>,
    /// One single-attempt client per node signing as the grantee.
    grantee_clients: Vec<TrentClient>,
    keys: Arc<Keys>,
    plan: WorkloadPlan,
    blobs: Mutex<Vec<AckedBlob>>,
    started: Instant,
}

impl Workload {
    /// Clients over `cluster`'s nodes, recording to `recorder`.
    pub fn new(
        cluster: &Cluster,
        recorder: Arc<Recorder>,
        keys: Arc<Keys>,
        plan: WorkloadPlan,
    ) -> Result<Workload, HarnessError> {
        let clients = (1..=NODES).map(|id| cluster.op_client(id).clone()).collect();
        let grantee_clients = match &keys.grantee {
            Some((signing, _)) => cluster.op_clients_signing_as(signing)?,
            None => Vec::new(),
        };
        Ok(Workload {
            recorder,
            clients,
            grantee_clients,
            keys,
            plan,
            blobs: Mutex::new(Vec::new()),
            started: Instant::now(),
        })
    }

    /// Runs the workers and the revoker for the plan's duration.
    pub async fn run(self: Arc<Self>) -> Result<(), HarnessError> {
        let mut tasks = Vec::new();
        for worker in 0..self.plan.workers {
            let workload = self.clone();
            tasks.push(tokio::spawn(async move { workload.worker(worker).await }));
        }
        let workload = self.clone();
        tasks.push(tokio::spawn(workload.revoker()));
        for task in tasks {
            task.await.map_err(HarnessError::panicked)??;
        }
        Ok(())
    }

    /// Every blob acknowledged so far.
    pub fn acked_blobs(&self) -> Vec<AckedBlob> {
        self.blobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    async fn worker(&self, worker: usize) -> Result<(), HarnessError> {
        let mut rng = super::seeded(self.plan.seed, super::WORKER_STREAMS + worker as u64);
        let mut process = self.recorder.new_process();
        let stagger_ms = u64::try_from(self.plan.stagger.as_millis()).unwrap_or(0);
        while self.elapsed() < self.plan.duration {
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..=2 * stagger_ms))).await;
            let call = self.next_call(&mut rng);
            let node = rng.random_range(1..=NODES);
            if self.call(process, node, &call).await? == EventType::Info {
                process = self.recorder.new_process();
            }
        }
        Ok(())
    }

    /// Disables each cycle's revocation key a third of the way into its cycle, each key in a
    /// task of its own ([`Workload::revoke`]).
    async fn revoker(self: Arc<Self>) -> Result<(), HarnessError> {
        let mut rng = super::seeded(self.plan.seed, super::REVOKER_STREAM);
        let cycle = self.plan.revocation_cycle;
        let mut revocations = tokio::task::JoinSet::new();
        for (index, key) in self.keys.revocation.iter().enumerate() {
            let cycle_start = cycle * u32::try_from(index).unwrap_or(u32::MAX);
            if cycle_start >= self.plan.duration {
                break;
            }
            tokio::time::sleep((cycle_start + cycle / 3).saturating_sub(self.elapsed())).await;
            revocations.spawn(self.clone().revoke(Call::Disable(key.clone()), rng.random_range(1..=NODES)));
            if let Some(signing) = self.keys.signing.get(index) {
                revocations
                    .spawn(self.clone().revoke(Call::Disable(signing.clone()), rng.random_range(1..=NODES)));
            }
            if let (Some(access), Some((_, root))) = (self.keys.access.get(index), &self.keys.grantee) {
                let call = Call::RevokeAccess { access: access.clone(), root: root.clone() };
                revocations.spawn(self.clone().revoke(call, rng.random_range(1..=NODES)));
            }
        }
        while let Some(revocation) = revocations.join_next().await {
            revocation.map_err(HarnessError::panicked)??;
        }
        Ok(())
    }

    /// Sends `call` (DisableKey, or a revocation of access) to `node`. A node cut off from the
    /// leader holds the call until
    /// the partition heals, so an attempt not answered within [`REVOKE_RETRY`] is followed by
    /// another to the next node (each attempt its own process), until one is acknowledged or the
    /// run ends; attempts still out are waited for.
    async fn revoke(self: Arc<Self>, revocation: Call, mut node: u8) -> Result<(), HarnessError> {
        let mut attempts = tokio::task::JoinSet::new();
        let mut acknowledged = false;
        while !acknowledged && self.elapsed() < self.plan.duration {
            let (workload, call) = (self.clone(), revocation.clone());
            attempts.spawn(async move {
                let process = workload.recorder.new_process();
                workload.call(process, node, &call).await
            });
            let next_attempt = tokio::time::Instant::now() + REVOKE_RETRY;
            while let Ok(Some(attempt)) = tokio::time::timeout_at(next_attempt, attempts.join_next()).await {
                if attempt.map_err(HarnessError::panicked)?? == EventType::Ok {
                    acknowledged = true;
                    break;
                }
            }
            tokio::time::sleep_until(next_attempt).await;
            node = node % NODES + 1;
        }
        while let Some(attempt) = attempts.join_next().await {
            attempt.map_err(HarnessError::panicked)??;
        }
        Ok(())
    }

    fn next_call(&self, rng: &mut ChaCha8Rng) -> Call {
        let elapsed = self.elapsed();
        let roll = rng.random_range(0..100);
        if roll < 12 {
            return Call::Create;
        }
        if roll < 45 {
            // One call in 200: rotations stay rare next to the encryptions that span them (past
            // AWS's quota of 25 per key, RotateKeyOnDemand is refused: a `fail`).
            if roll == 12 && rng.random_range(0..2) == 0 {
                let key = self.keys.cipher[rng.random_range(0..self.keys.cipher.len())].clone();
                return Call::Rotate(key);
            }
            if roll >= 32 {
                let blobs = self.blobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if !blobs.is_empty() {
                    let acked = &blobs[rng.random_range(0..blobs.len())];
                    return Call::Decrypt {
                        key: acked.key.clone(),
                        blob: acked.blob.clone(),
                        plaintext: acked.plaintext.clone(),
                    };
                }
            }
            let key = self.keys.cipher[rng.random_range(0..self.keys.cipher.len())].clone();
            return Call::Encrypt { key, plaintext: random_plaintext(rng) };
        }
        if roll < 75 {
            let slot = slot_index(elapsed, self.plan.register_slot, self.keys.registers.len());
            let group = &self.keys.registers[slot];
            let key = group[rng.random_range(0..group.len())].clone();
            return match rng.random_range(0..10) {
                0 | 1 => Call::Enable(key),
                2 | 3 => Call::Disable(key),
                _ => Call::Describe(key),
            };
        }
        let access = roll >= 88 && !self.keys.access.is_empty() && !self.grantee_clients.is_empty();
        let count = if access { self.keys.access.len() } else { self.keys.revocation.len() };
        let mut cycle = slot_index(elapsed, self.plan.revocation_cycle, count);
        if cycle > 0 && rng.random_range(0..10) < 3 {
            cycle -= 1;
        }
        if access {
            return Call::AccessEncrypt {
                key: self.keys.access[cycle].key.clone(),
                plaintext: random_plaintext(rng),
            };
        }
        if roll >= 82 && !self.keys.signing.is_empty() {
            let cycle = cycle.min(self.keys.signing.len() - 1);
            return Call::Sign { key: self.keys.signing[cycle].clone(), message: random_plaintext(rng) };
        }
        Call::Encrypt { key: self.keys.revocation[cycle].clone(), plaintext: random_plaintext(rng) }
    }

    /// Makes `call` on `node` as `process`, recording it; returns how it ended.
    async fn call(&self, process: u64, node: u8, call: &Call) -> Result<EventType, HarnessError> {
        let (f, key) = (call.f(), call.key());
        let request_id = new_request_id();
        self.recorder.invoke(process, f, key, call.input(node, &request_id))?;
        let clients =
            if matches!(call, Call::AccessEncrypt { .. }) { &self.grantee_clients } else { &self.clients };
        let client = &clients[usize::from(node - 1)];
        let (kind, value) = match call.perform(client, &request_id).await {
            Ok(output) => (EventType::Ok, output),
            Err(error) => (call.outcome_of(&error), json!({ "error": error_name(&error) })),
        };
        self.recorder.record(process, kind, f, key, value.clone())?;
        if kind == EventType::Ok {
            // Only once the acknowledgement is in the history may another call use the blob.
            self.remember(call, &value);
        }
        Ok(kind)
    }

    fn remember(&self, call: &Call, output: &Value) {
        let Call::Encrypt { key, plaintext } = call else {
            return;
        };
        if !self.keys.cipher.contains(key) {
            return;
        }
        let Some(blob) = output.get("blob").and_then(Value::as_str).and_then(|text| BASE64.decode(text).ok())
        else {
            return;
        };
        let acked = AckedBlob { key: key.clone(), plaintext: plaintext.clone(), blob };
        self.blobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(acked);
    }
}

/// Which of `count` slots of length `every` the time `elapsed` falls in (the last one after).
fn slot_index(elapsed: Duration, every: Duration, count: usize) -> usize {
    let index = usize::try_from(elapsed.as_millis() / every.as_millis().max(1)).unwrap_or(usize::MAX);
    index.min(count.saturating_sub(1))
}

fn random_plaintext(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut plaintext = vec![0u8; 24];
    rng.fill(plaintext.as_mut_slice());
    plaintext
}
