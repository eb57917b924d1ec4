//! A running node: its Raft instance, its registry, and the operations that must reach the
//! leader (writes, read-index, membership changes), forwarded transparently when this node is
//! not the leader.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{CheckIsLeaderError, ClientWriteError, RaftError};
use openraft::{ChangeMembers, Raft, ServerState};
use tokio::time::Instant;
use trent_storage::{
    Applied, CommandResult, Disk, LogStore, NodeId, Rejection, RequestBatch, SharedRegistry, TrentNode,
    TypeConfig,
};
use trent_wire::admin::NodeRole;
use trent_wire::{ErrorCode, KmsError};

use crate::config::NodeConfig;
use crate::peer::protocol::{LeaderOp, LeaderReply, LEADER_OP};
use crate::peer::PeerClient;
use crate::promotion::{bounded_membership_change, membership_reply};
use crate::proposer::Proposer;
use crate::seal::keyring::KeyringError;
use crate::seal::state::Sealed;
use crate::write_path::ForwardedProposal;
use trent_storage::codec;

/// How long an operation waits for a leader to exist and answer (covers an election).
const LEADER_WAIT: Duration = Duration::from_secs(6);
/// Timeout of one forwarded operation.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);
/// How long adding a learner waits for it to catch up before answering (it stays a learner and
/// goes on catching up either way). Every membership call answers within a client's 10 s.
const ADD_LEARNER_TIMEOUT: Duration = Duration::from_secs(8);
/// Timeout of a forwarded membership call: the leader's own bound, plus slack.
const MEMBERSHIP_FORWARD_TIMEOUT: Duration = Duration::from_secs(9);
/// How long a forwarded write waits for this node to apply it before acknowledging anyway.
const WRITE_APPLY_WAIT: Duration = Duration::from_secs(2);
/// How long a read waits for this node to apply up to the leader's read index.
const READ_APPLY_WAIT: Duration = Duration::from_secs(5);

/// What unwrapping a sealed secret gives: nothing while sealed, else the keyring's answer.
pub type SealedResult<T> = Result<Result<T, KeyringError>, Sealed>;

/// One node of the cluster.
pub struct Node {
    /// Its configuration.
    pub config: Arc<NodeConfig>,
    /// Its Raft instance.
    pub raft: Raft<TypeConfig>,
    /// The registry its state machine applies to.
    pub registry: SharedRegistry,
    pub(crate) log_store: LogStore,
    pub(crate) disk: Disk,
    pub(crate) peers: PeerClient,
    pub(crate) proposer: Proposer,
    /// Whether this node holds its root key and keyring.
    pub seal: crate::seal::state::Seal,
    /// Checks SigV4 signatures (region from the config, service `kms`).
    pub verifier: trent_sigv4::SigV4Verifier,
    /// How current this node's applied state is known to be (the crypto consistency bound).
    pub freshness: Arc<crate::freshness::Freshness>,
    /// Memory every client request body in flight shares.
    pub body_budget: crate::http::body::BodyBudget,
    /// Memory every peer request body in flight shares.
    pub peer_body_budget: crate::http::body::BodyBudget,
    /// The plaintext cluster's shared peer secret (`None` with mutual TLS).
    pub peer_secret: Option<Arc<crate::peer::auth::PeerSecret>>,
    /// What `POST /v1/sys/init` must present, if the node was given an init token file.
    pub init_token: Option<zeroize::Zeroizing<Vec<u8>>>,
    /// Held by the leader while it adds a learner and while it raises the feature level, so a
    /// member that could not decode the new level never joins between the check and the raise.
    pub(crate) membership_gate: tokio::sync::Mutex<()>,
    /// Key and identity policies, kept parsed.
    pub policies: crate::authorization::policies::PolicyCache,
    /// Private keys of new keys, made by the leader before their writes join a batch.
    pub(crate) key_generation: crate::key_generation::KeyGeneration,
    /// What each key was last used for on this node (`GetKeyLastUsage`).
    pub key_usage: Arc<crate::key_usage::KeyUsageTracker>,
    /// What "now" is for this node's decisions.
    pub(crate) clock: crate::clock::Clock,
    /// This node's audit trail: every call is recorded before it is answered.
    pub audit: crate::audit::AuditTrail,
}

impl Node {
    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.config.node_id
    }

    /// This node's clock in ms since the epoch (`clock`: the wall clock and its test seams).
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// The leader this node knows of.
    pub fn current_leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    /// This node's role.
    pub fn role(&self) -> NodeRole {
        match self.raft.metrics().borrow().state {
            ServerState::Leader => NodeRole::Leader,
            ServerState::Follower => NodeRole::Follower,
            ServerState::Candidate => NodeRole::Candidate,
            ServerState::Learner => NodeRole::Learner,
            ServerState::Shutdown => NodeRole::Shutdown,
        }
    }

    /// The highest log index this node knows committed.
    pub fn committed_index(&self) -> Option<u64> {
        self.log_store.committed_index()
    }

    /// The address of a member, from the current membership.
    fn member(&self, node_id: NodeId) -> Option<TrentNode> {
        let metrics = self.raft.metrics();
        let metrics = metrics.borrow();
        metrics.membership_config.membership().get_node(&node_id).cloned()
    }

    /// Proposes a write (batched with others, through the leader) and returns what applying it
    /// produced.
    pub async fn write(&self, proposal: ForwardedProposal) -> Result<Applied, KmsError> {
        // Checked here too, not only on the leader: a leader of an older build could not even
        // decode the batch that carried it.
        proposal.proposal.check_feature_level(self.feature_level())?;
        self.prepare_on_leader(&proposal).await?;
        self.proposer.propose(proposal).await
    }

    /// On the leader, makes a new key's private material before its write joins a batch
    /// ([`crate::key_generation`]); a follower forwards the write and the leader makes it. The
    /// feature level is checked first, so no key is made for a write the stamp would refuse.
    /// Every other write passes straight through.
    async fn prepare_on_leader(&self, proposal: &ForwardedProposal) -> Result<(), KmsError> {
        if proposal.needs_private_material() && self.role() == NodeRole::Leader {
            proposal.proposal.check_feature_level(self.feature_level())?;
            self.key_generation.prepare(proposal).await?;
        }
        Ok(())
    }

    /// [`Node::write`] with a fresh request id, for writes no client will retry.
    pub async fn write_proposal(&self, proposal: crate::write_path::Proposal) -> Result<Applied, KmsError> {
        let request_id = trent_storage::RequestId(uuid::Uuid::new_v4());
        self.write(ForwardedProposal { request_id, proposal }).await
    }

    /// The highest cluster feature level this node supports.
    pub fn supported_feature_level(&self) -> u32 {
        self.config.supported_feature_level()
    }

    /// The cluster feature level this node has applied.
    pub fn feature_level(&self) -> u32 {
        self.registry.read().features().level
    }

    /// The format this node sends its peers: the one every member of the cluster decodes.
    pub fn peer_format(&self) -> trent_storage::codec::Format {
        trent_storage::features::format_for_level(self.feature_level())
    }

    /// This node's seal status, with whether the cluster is initialised.
    pub fn seal_status(&self) -> trent_wire::admin::SealStatusResponse {
        let status = self.seal.status();
        trent_wire::admin::SealStatusResponse {
            node_id: self.id(),
            initialized: self.registry.read().is_initialized(),
            sealed: status.sealed,
            threshold: status.threshold,
            progress: status.progress,
        }
    }

    /// Gives this node one unseal share, checked against the replicated keyring and the record
    /// of the current split.
    pub fn submit_unseal_share(
        &self,
        share: &str,
    ) -> Result<crate::seal::state::SealStatus, crate::seal::state::UnsealError> {
        let (keyring, split) = {
            let registry = self.registry.read();
            (registry.keyring().cloned(), registry.unseal_splits().cloned())
        };
        self.seal.submit_share(share, keyring.as_ref(), split.as_ref())
    }

    /// Replicates a batch of writes as one log entry, here or on the leader; one result each.
    pub(crate) async fn write_batch(
        &self,
        batch: Vec<ForwardedProposal>,
    ) -> Result<Vec<CommandResult>, KmsError> {
        match self.on_leader(LeaderOp::WriteBatch(batch)).await? {
            LeaderReply::Written { results, commit_index } => {
                if let Some(index) = commit_index {
                    // Read-your-writes on this node. The leader has committed, so this is one
                    // replication round; if it takes longer the write still succeeded, and the
                    // consistency bound still holds for crypto.
                    let _ = self
                        .raft
                        .wait(Some(WRITE_APPLY_WAIT))
                        .applied_index_at_least(Some(index), "read your writes")
                        .await;
                }
                Ok(results)
            }
            other => Err(unexpected(other)),
        }
    }

    /// Returns once this node's registry reflects every write acknowledged before the call.
    pub async fn linearizable_read(&self) -> Result<(), KmsError> {
        let index = match self.on_leader(LeaderOp::ReadIndex).await? {
            LeaderReply::ReadIndex(index) => index,
            other => return Err(unexpected(other)),
        };
        if let Some(index) = index {
            self.raft
                .wait(Some(READ_APPLY_WAIT))
                .applied_index_at_least(Some(index), "linearizable read")
                .await
                .map_err(|_| {
                    KmsError::new(
                        ErrorCode::DependencyTimeout,
                        "This node did not catch up with the leader in time",
                    )
                })?;
        }
        Ok(())
    }

    /// Runs `open` (something that unwraps a secret with the keyring); if the secret is sealed
    /// under a barrier version another node added, re-opens the keyring from the replicated
    /// state and runs it once more.
    pub fn with_current_keyring<T>(
        &self,
        open: impl Fn(&crate::seal::state::Seal) -> SealedResult<T>,
    ) -> SealedResult<T> {
        match open(&self.seal)? {
            Err(KeyringError::UnknownVersion(_)) => {
                if let Some(latest) = self.registry.read().keyring().cloned() {
                    // A refresh that fails leaves the old keyring; the retry then reports why.
                    let _ = self.seal.refresh(&latest);
                }
                open(&self.seal)
            }
            other => Ok(other),
        }
    }

    /// Refuses with `KeyUnavailableException` unless this node's applied state is known to hold
    /// every write acknowledged more than the consistency bound ago (see [`crate::freshness`]).
    pub async fn ensure_fresh(&self) -> Result<(), KmsError> {
        #[cfg(feature = "jepsen-planted-bug")]
        if crate::planted_bug::serves_stale_crypto() {
            return Ok(());
        }
        self.freshness.check_or_renew().await.map_err(|stale| {
            let since = match stale.age {
                Some(age) => format!("for {} ms", age.as_millis()),
                None => "since it started".to_owned(),
            };
            KmsError::new(
                ErrorCode::KeyUnavailable,
                format!(
                    "This node has not confirmed the cluster's state with its leader {since} (bound {} ms), so it cannot vouch for the key's state; retry, or call another node",
                    self.freshness.bound().as_millis()
                ),
            )
        })
    }

    /// Runs a membership change through the leader; returns the log index that carried it.
    pub async fn change_membership(&self, op: LeaderOp) -> Result<u64, KmsError> {
        match self.on_leader(op).await? {
            LeaderReply::MembershipChanged { log_index } => Ok(log_index),
            other => Err(unexpected(other)),
        }
    }

    /// Runs `op` on the leader, here or on a peer, retrying through elections until
    /// [`LEADER_WAIT`] has passed. Failures come back as `Ok(LeaderReply::Failed)` → `Err`.
    async fn on_leader(&self, op: LeaderOp) -> Result<LeaderReply, KmsError> {
        let deadline = Instant::now() + LEADER_WAIT;
        loop {
            let reply = match self.current_leader() {
                Some(leader) if leader == self.id() => self.execute_as_leader(op.clone()).await,
                Some(leader) => self.forward(leader, &op).await,
                None => LeaderReply::NotLeader(None),
            };
            match reply {
                LeaderReply::NotLeader(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                LeaderReply::NotLeader(_) => {
                    return Err(KmsError::new(
                        ErrorCode::ServiceUnavailable,
                        "No Raft leader is available; the cluster may have lost its quorum",
                    ))
                }
                LeaderReply::Failed(error) => return Err(error),
                reply => return Ok(reply),
            }
        }
    }

    async fn forward(&self, leader: NodeId, op: &LeaderOp) -> LeaderReply {
        let Some(member) = self.member(leader) else {
            return LeaderReply::NotLeader(None);
        };
        let body = match codec::encode_at(self.peer_format(), op) {
            Ok(body) => body,
            Err(error) => return internal(format!("cannot encode forwarded operation: {error}")),
        };
        let timeout = match op {
            // The leader bounds its own wait by these; the forward outlasts it so its answer,
            // not a timeout, reaches the caller.
            LeaderOp::AddLearner { .. } | LeaderOp::Promote { .. } | LeaderOp::Remove { .. } => {
                MEMBERSHIP_FORWARD_TIMEOUT
            }
            _ => FORWARD_TIMEOUT,
        };
        match self.peers.post(&member.peer_addr, LEADER_OP, body, timeout).await {
            Ok(reply) => crate::peer::legacy::decode_reply(&reply)
                .unwrap_or_else(|error| internal(format!("bad leader reply: {error}"))),
            Err(error) => {
                // The leader may be gone; wait for the next one. A write that did commit is
                // deduplicated by its request id when retried.
                tracing::debug!(%error, leader, "forwarding to leader failed");
                LeaderReply::NotLeader(None)
            }
        }
    }

    /// Executes an operation a peer forwarded because it believes this node is the leader.
    ///
    /// A forwarded batch joins this node's own queue, so writes arriving at every node share
    /// the leader's few in-flight entries instead of each becoming an entry (and an fsync) of its
    /// own. If leadership has just moved, the queue forwards them on.
    pub async fn execute_for_peer(&self, op: LeaderOp) -> LeaderReply {
        match op {
            LeaderOp::WriteBatch(batch) => {
                // A peer's proposer sends at most this many; more is a bug or an attack.
                if batch.len() > crate::proposer::MAX_BATCH_REQUESTS {
                    return LeaderReply::Failed(KmsError::new(
                        ErrorCode::Validation,
                        format!(
                            "A forwarded batch carries at most {} writes, not {}",
                            crate::proposer::MAX_BATCH_REQUESTS,
                            batch.len()
                        ),
                    ));
                }
                if self.role() != NodeRole::Leader {
                    return LeaderReply::NotLeader(self.current_leader());
                }
                let writes = batch.into_iter().map(|proposal| async move {
                    self.prepare_on_leader(&proposal).await?;
                    self.proposer.propose(proposal).await
                });
                let results = futures::future::join_all(writes).await;
                LeaderReply::Written {
                    results: results.into_iter().map(|result| result.map_err(Rejection::from)).collect(),
                    commit_index: self.committed_index(),
                }
            }
            other => self.execute_as_leader(other).await,
        }
    }

    /// Executes a leader operation on this node, which believes it is the leader.
    async fn execute_as_leader(&self, op: LeaderOp) -> LeaderReply {
        match op {
            LeaderOp::WriteBatch(batch) => {
                // Private keys were made before the batch (`key_generation`); a write that
                // arrives without one (leadership moved) has it made now, on a blocking thread.
                let materials = futures::future::join_all(batch.iter().map(|proposal| async move {
                    if proposal.needs_private_material() {
                        self.key_generation.take_or_make(proposal).await
                    } else {
                        Ok(None)
                    }
                }))
                .await;
                let now_ms = self.now_ms();
                let level = self.feature_level();
                // A write the leader cannot stamp (a CreateKey while sealed) is answered on its
                // own; the rest still go out together.
                let stamped: Vec<Result<trent_storage::Request, KmsError>> = {
                    let registry = self.registry.read();
                    batch
                        .into_iter()
                        .zip(materials)
                        .map(|(proposal, material)| {
                            proposal.stamp(now_ms, &self.seal, &registry, level, material?)
                        })
                        .collect()
                };
                let requests: Vec<trent_storage::Request> =
                    stamped.iter().filter_map(|stamp| stamp.as_ref().ok().cloned()).collect();
                let mut applied = if requests.is_empty() {
                    Vec::new().into_iter()
                } else {
                    match self.raft.client_write(RequestBatch { requests }).await {
                        Ok(response) => response.data.into_iter(),
                        Err(error) => return write_error_reply(error),
                    }
                };
                let results = stamped
                    .into_iter()
                    .map(|stamp| match stamp {
                        Ok(_) => applied.next().unwrap_or_else(|| {
                            Err(Rejection::new(ErrorCode::Internal, "missing result for a batched write"))
                        }),
                        Err(error) => Err(Rejection::from(error)),
                    })
                    .collect();
                LeaderReply::Written { results, commit_index: self.committed_index() }
            }
            LeaderOp::ReadIndex => match self.raft.get_read_log_id().await {
                Ok((read_log_id, _)) => LeaderReply::ReadIndex(read_log_id.map(|log_id| log_id.index)),
                Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(forward))) => {
                    LeaderReply::NotLeader(forward.leader_id)
                }
                Err(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(_))) => {
                    LeaderReply::NotLeader(None)
                }
                Err(RaftError::Fatal(fatal)) => unavailable(fatal.to_string()),
            },
            LeaderOp::AddLearner { node_id, node } => {
                let address = node.peer_addr.clone();
                // A node that could not decode what the cluster sends would stop on the first
                // entry it meets: refuse one that says so. One that cannot be asked yet (not
                // started) is added as before; if it then turns out older, it cannot decode what
                // it is sent, never catches up, and cannot be promoted.
                let _gate = self.membership_gate.lock().await;
                let level = self.feature_level();
                let refusal = match crate::feature_level::supported_level(self, &address).await {
                    Ok(supported) if supported < level => Some(format!(
                        "Node {node_id} supports cluster feature level {supported}, but the cluster is at level {level}: run a build that supports it"
                    )),
                    _ => None,
                };
                if let Some(message) = refusal {
                    return LeaderReply::Failed(KmsError::new(ErrorCode::InvalidState, message));
                }
                match tokio::time::timeout(ADD_LEARNER_TIMEOUT, self.raft.add_learner(node_id, node, true)).await {
                    Ok(result) => membership_reply(result),
                    Err(_) => LeaderReply::Failed(KmsError::new(
                        ErrorCode::DependencyTimeout,
                        format!(
                            "Node {node_id} was added as a learner but has not caught up within {}s: it goes on catching up if it runs at {address}; promote it once it has, or remove it (a learner does not count towards the quorum)",
                            ADD_LEARNER_TIMEOUT.as_secs()
                        ),
                    )),
                }
            }
            LeaderOp::Promote { node_id } => {
                if let Err(refusal) = self.learner_is_caught_up(node_id).await {
                    return LeaderReply::Failed(refusal);
                }
                let voters = BTreeSet::from([node_id]);
                let change = self.raft.change_membership(ChangeMembers::AddVoterIds(voters), true);
                bounded_membership_change(change).await
            }
            LeaderOp::Remove { node_id } => {
                let (is_member, is_voter) = {
                    let metrics = self.raft.metrics();
                    let metrics = metrics.borrow();
                    let membership = metrics.membership_config.membership();
                    (membership.get_node(&node_id).is_some(), membership.voter_ids().any(|id| id == node_id))
                };
                if !is_member {
                    return LeaderReply::Failed(KmsError::new(
                        ErrorCode::NotFound,
                        format!("Node {node_id} is not a member"),
                    ));
                }
                let ids = BTreeSet::from([node_id]);
                let change =
                    if is_voter { ChangeMembers::RemoveVoters(ids) } else { ChangeMembers::RemoveNodes(ids) };
                bounded_membership_change(self.raft.change_membership(change, false)).await
            }
        }
    }
}

pub(crate) type WriteError = RaftError<NodeId, ClientWriteError<NodeId, TrentNode>>;

/// The leader reply for a failed Raft write.
pub(crate) fn write_error_reply(error: WriteError) -> LeaderReply {
    match error {
        RaftError::APIError(ClientWriteError::ForwardToLeader(forward)) => {
            LeaderReply::NotLeader(forward.leader_id)
        }
        RaftError::APIError(ClientWriteError::ChangeMembershipError(
            openraft::error::ChangeMembershipError::InProgress(in_progress),
        )) => LeaderReply::Failed(KmsError::new(
            ErrorCode::InvalidState,
            format!(
                "Another membership change is still in progress ({in_progress}); it completes once a quorum of its new configuration acknowledges it: start the members that are down, then retry (docs/operations.md, \"A stuck membership change\")"
            ),
        )),
        RaftError::APIError(ClientWriteError::ChangeMembershipError(error)) => {
            LeaderReply::Failed(KmsError::new(ErrorCode::Validation, error.to_string()))
        }
        RaftError::Fatal(fatal) => unavailable(fatal.to_string()),
    }
}

fn unavailable(reason: String) -> LeaderReply {
    LeaderReply::Failed(KmsError::new(
        ErrorCode::ServiceUnavailable,
        format!("Raft is not running: {reason}"),
    ))
}

fn internal(message: String) -> LeaderReply {
    LeaderReply::Failed(KmsError::new(ErrorCode::Internal, message))
}

fn unexpected(reply: LeaderReply) -> KmsError {
    KmsError::new(ErrorCode::Internal, format!("unexpected leader reply {reply:?}"))
}
