//! Bodies of the admin API under `/v1/sys/`: health, cluster view, membership changes, and the
//! credentials file dev mode writes.

use serde::{Deserialize, Serialize};

/// A node's Raft role as the admin API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    /// Accepts writes.
    Leader,
    /// Voting member following a leader.
    Follower,
    /// Standing for election.
    Candidate,
    /// Non-voting member receiving the log.
    Learner,
    /// Stopped.
    Shutdown,
}

/// `GET /v1/sys/health` (readiness) and `GET /v1/sys/health/live` (liveness), no
/// authentication. Both answer this body; the status says the verdict: 200 when the node is
/// ready (or, for `/live`, alive), 503 otherwise, with the reasons in `problems`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// Alive: the process serves and its Raft runs. A node that is not alive cannot recover
    /// without a restart.
    #[serde(default)]
    pub live: bool,
    /// Ready: alive, initialised, unsealed and in touch with a leader within the consistency
    /// bound, so it serves every call.
    #[serde(default)]
    pub ready: bool,
    /// Why the node is not ready (empty when it is), e.g. `sealed`.
    #[serde(default)]
    pub problems: Vec<String>,
    /// This node's id.
    pub node_id: u64,
    /// This node's role.
    pub role: NodeRole,
    /// Whether the node is sealed (it then serves health, status and unseal only).
    pub sealed: bool,
    /// Whether the cluster has been initialised.
    pub initialized: bool,
    /// The leader this node knows of.
    pub leader_id: Option<u64>,
    /// The current Raft term.
    pub term: u64,
    /// Index of the last log entry applied to this node's state machine.
    pub last_applied_index: Option<u64>,
    /// Index of the last log entry this node holds.
    pub last_log_index: Option<u64>,
}

/// One member of the cluster in `GET /v1/sys/cluster`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// The member's node id.
    pub node_id: u64,
    /// Where the member serves the client API.
    pub api_addr: String,
    /// Where the member serves Raft RPCs.
    pub peer_addr: String,
    /// Voter (true) or learner (false).
    pub voter: bool,
    /// The highest log index the leader knows this member holds (leader's view only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_index: Option<u64>,
}

/// `GET /v1/sys/cluster`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterResponse {
    /// The node that answered.
    pub node_id: u64,
    /// Its role.
    pub role: NodeRole,
    /// The leader it knows of.
    pub leader_id: Option<u64>,
    /// The current term.
    pub term: u64,
    /// Highest log index known committed on this node.
    pub commit_index: Option<u64>,
    /// Highest log index applied on this node.
    pub applied_index: Option<u64>,
    /// Index of the last log entry this node holds.
    pub last_log_index: Option<u64>,
    /// Index covered by this node's latest snapshot.
    pub snapshot_index: Option<u64>,
    /// Index up to which this node has purged its log.
    pub purged_index: Option<u64>,
    /// Voters and learners, ordered by node id.
    pub members: Vec<MemberInfo>,
    /// The cluster feature level this node has applied (docs/operations.md, rolling upgrades).
    #[serde(default)]
    pub feature_level: u32,
    /// The highest feature level this node's build supports.
    #[serde(default)]
    pub supported_feature_level: u32,
}

/// `POST /v1/sys/members`: add a node as a learner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddLearnerRequest {
    /// The new node's id; must not be in use.
    pub node_id: u64,
    /// Its client API address (`host:port`).
    pub api_addr: String,
    /// Its Raft peer address (`host:port`).
    pub peer_addr: String,
}

/// Answer of a membership change: the log index that carried it and the resulting members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipChangeResponse {
    /// Log index of the committed membership entry.
    pub log_index: u64,
    /// Members after the change.
    pub members: Vec<MemberInfo>,
}

/// `<data-dir>/dev-credentials.json`, written by `trentd dev` so scripts can find the cluster.
/// Dev mode only: it holds the unseal share and admin secret in plain text on purpose.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevCredentials {
    /// Client API endpoints, e.g. `http://127.0.0.1:8400`.
    pub endpoints: Vec<String>,
    /// The cluster's region.
    pub region: String,
    /// The administrator's access key id.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// The unseal shares.
    pub unseal_shares: Vec<String>,
    /// Shares needed to unseal.
    pub threshold: u32,
}

impl std::fmt::Debug for DevCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCredentials")
            .field("endpoints", &self.endpoints)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// `POST /v1/sys/init`: how to split the new root key, optionally the first administrator's
/// credentials (generated when absent), and the init token the node was started with, if any.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitRequest {
    /// Number of unseal shares, 1–255.
    pub shares: u32,
    /// Shares needed to unseal, 1–`shares`.
    pub threshold: u32,
    /// The first access key id, if the operator chooses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// Its secret, if the operator chooses it (8–128 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<String>,
    /// The contents of the node's `--init-token-file`: a node started with one initialises only
    /// for a caller who presents it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_token: Option<String>,
}

impl std::fmt::Debug for InitRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitRequest")
            .field("shares", &self.shares)
            .field("threshold", &self.threshold)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The answer to `POST /v1/sys/init`, given exactly once: nothing here is stored anywhere.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitResponse {
    /// The unseal shares.
    pub shares: Vec<String>,
    /// Shares needed to unseal.
    pub threshold: u32,
    /// The first administrator's access key id.
    pub access_key_id: String,
    /// Its secret access key.
    pub secret_access_key: String,
}

impl std::fmt::Debug for InitResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitResponse")
            .field("shares", &self.shares.len())
            .field("threshold", &self.threshold)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// `POST /v1/sys/unseal`: one share, or a reset of the progress so far. The share is wiped from
/// memory when the request is dropped.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, zeroize::ZeroizeOnDrop)]
pub struct UnsealRequest {
    /// An unseal share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<String>,
    /// Forget the shares given so far.
    #[serde(default)]
    #[zeroize(skip)]
    pub reset: bool,
}

impl std::fmt::Debug for UnsealRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnsealRequest").field("reset", &self.reset).finish_non_exhaustive()
    }
}

/// `GET /v1/sys/status`, and the answer to unseal and seal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealStatusResponse {
    /// The node that answered.
    pub node_id: u64,
    /// Whether the cluster has been initialised.
    pub initialized: bool,
    /// Whether this node is sealed.
    pub sealed: bool,
    /// Shares needed, once known.
    pub threshold: Option<u8>,
    /// Shares given so far.
    pub progress: usize,
}

/// `POST /v1/sys/access-keys`: a new access key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateAccessKeyRequest {
    /// What it is for, 0–256 characters.
    #[serde(default)]
    pub description: String,
    /// The user it acts as; `admin` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// The answer to `POST /v1/sys/access-keys`: the secret is shown this once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateAccessKeyResponse {
    /// The new access key id.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// Its description.
    pub description: String,
    /// The user it acts as.
    #[serde(default)]
    pub user: String,
}

impl std::fmt::Debug for CreateAccessKeyResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateAccessKeyResponse")
            .field("access_key_id", &self.access_key_id)
            .field("description", &self.description)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// One access key in `GET /v1/sys/access-keys` (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessKeyInfo {
    /// The access key id.
    pub access_key_id: String,
    /// Its description.
    pub description: String,
    /// When it was created, epoch seconds.
    pub created: f64,
    /// The user it acts as.
    #[serde(default)]
    pub user: String,
}

/// `GET /v1/sys/access-keys`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessKeyList {
    /// Every access key, by id.
    pub access_keys: Vec<AccessKeyInfo>,
}

/// `POST /v1/sys/rekey`: a new share split of the same root key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RekeyRequest {
    /// Number of unseal shares, 1–255.
    pub shares: u32,
    /// Shares needed to unseal, 1–`shares`.
    pub threshold: u32,
}

/// The answer to `POST /v1/sys/rekey`: the new shares, shown this once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RekeyResponse {
    /// The new unseal shares.
    pub shares: Vec<String>,
    /// Shares needed to unseal.
    pub threshold: u32,
}

impl std::fmt::Debug for RekeyResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RekeyResponse")
            .field("shares", &self.shares.len())
            .field("threshold", &self.threshold)
            .finish()
    }
}

/// The answer to `POST /v1/sys/rotate`: the barrier key version now sealing new secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotateResponse {
    /// The new current barrier key version.
    pub barrier_version: u32,
}

/// `POST /v1/sys/users`: a new user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateUserRequest {
    /// 1–64 of `[A-Za-z0-9+=,.@_-]`.
    pub name: String,
    /// Its inline identity policy (an IAM policy document, as a JSON object or a string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<serde_json::Value>,
}

/// A user, as `POST /v1/sys/users` and `GET /v1/sys/users/<name>` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    /// Its name.
    pub user_name: String,
    /// `arn:aws:iam::<account>:user/<name>`.
    pub arn: String,
    /// When it was created, epoch seconds.
    pub create_date: f64,
    /// Its access key ids.
    #[serde(default)]
    pub access_keys: Vec<String>,
    /// Whether it has an inline identity policy.
    #[serde(default)]
    pub has_policy: bool,
}

/// `GET /v1/sys/users`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserList {
    /// Every user, by name.
    pub users: Vec<UserInfo>,
}

/// `GET /v1/sys/users/<name>/policy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserPolicy {
    /// The user.
    pub user_name: String,
    /// Its inline identity policy document.
    pub policy: String,
}

/// `POST /v1/sys/authorize`: would this call be allowed, and why?
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    /// A user name or user ARN.
    pub principal: String,
    /// The action, `kms:Encrypt`.
    pub action: String,
    /// The key (id, ARN, alias), for a key action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Condition keys and their values (`kms:EncryptionContext:app`, `aws:SourceIp`, ...).
    #[serde(default)]
    pub context: std::collections::BTreeMap<String, ConditionValues>,
}

/// One condition key's value or values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConditionValues {
    /// A single value.
    One(String),
    /// Several (a multi-valued key).
    Many(Vec<String>),
}

/// The answer to `POST /v1/sys/authorize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeResponse {
    /// `allow` or `deny`.
    pub decision: String,
    /// What decided: `key policy statement 2 (Sid "AllowUse")`, `grant <id>`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// One line for people: the decision and why.
    pub explanation: String,
    /// The `AccessDeniedException` message the call would get.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
