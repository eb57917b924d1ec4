//! The consistency bound behind serving crypto from local state (DESIGN §2).
//!
//! Crypto operations read this node's applied registry without a Raft round trip, so a key
//! disabled through the leader could still be honoured here for a while. This module bounds that
//! while: a write acknowledged at time `t` is reflected in every crypto answer given after
//! `t + bound`, by every node, or the node refuses the call (`KeyUnavailableException`, 503).
//!
//! The evidence is the same a Raft leader lease rests on:
//! - **A follower** is fresh as of the moment it accepted an AppendEntries (data or heartbeat)
//!   from a leader that had already committed an entry of its own term — that leader's commit
//!   index then covers every write any leader acknowledged before — once its applied index has
//!   reached the commit index that message carried.
//! - **The leader** is fresh as of the send time of the latest AppendEntries a quorum of voters
//!   accepted in its current term, once it has applied an entry of that term. A deposed leader
//!   cannot collect such acknowledgements after a majority has voted for its successor, and the
//!   successor acknowledges no write before that vote.
//!
//! Evidence never expires early: "as of time `T` my state held every acknowledged write" stays
//! true, so a node serves until `T + bound` and rechecks after. The argument assumes a message
//! between peers is delivered well within the bound (peer RPCs time out long before) and that
//! monotonic clocks run at roughly the same rate on every node.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use trent_storage::NodeId;

/// Leader contacts remembered while this node's apply catches up with their commit index.
const MAX_PENDING_CONTACTS: usize = 256;

/// What the Raft instance says about this node at the moment of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftView {
    /// Whether this node is the leader.
    pub is_leader: bool,
    /// The current term.
    pub term: u64,
    /// The index of the last applied entry.
    pub applied_index: Option<u64>,
    /// The term of the last applied entry.
    pub applied_term: Option<u64>,
    /// This node's id.
    pub self_id: NodeId,
    /// The voters of the current membership.
    pub voters: Vec<NodeId>,
}

/// This node is not known to be current: how old its newest evidence is, if it has any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stale {
    /// Time since the state was last known current.
    pub age: Option<Duration>,
}

/// Tracks how current this node's applied state is.
pub struct Freshness {
    bound: Duration,
    origin: Instant,
    /// Milliseconds after `origin` until which the state is known current; 0 if never.
    fresh_until_ms: AtomicU64,
    evidence: Mutex<Evidence>,
}

#[derive(Default)]
struct Evidence {
    /// Newest moment the state was known current.
    fresh_as_of: Option<Instant>,
    /// Follower: accepted leader messages, oldest first, with the commit index each carried.
    contacts: VecDeque<(Instant, u64)>,
    /// Leader: per follower, the term and send time of the newest accepted AppendEntries.
    acks: HashMap<NodeId, (u64, Instant)>,
}

impl Freshness {
    /// Tracks freshness with the given bound.
    pub fn new(bound: Duration) -> Freshness {
        Freshness {
            bound,
            origin: Instant::now(),
            fresh_until_ms: AtomicU64::new(0),
            evidence: Mutex::new(Evidence::default()),
        }
    }

    /// The consistency bound.
    pub fn bound(&self) -> Duration {
        self.bound
    }

    /// Follower side: this node accepted an AppendEntries at `received` from a leader of `term`
    /// whose commit index was `leader_commit` (an entry of `commit_term`).
    pub fn leader_contact(&self, received: Instant, term: u64, leader_commit: Option<(u64, u64)>) {
        // A leader that has not yet committed in its own term may not know what its
        // predecessor acknowledged: its commit index proves nothing.
        let Some((commit_term, commit_index)) = leader_commit else { return };
        if commit_term != term {
            return;
        }
        let mut evidence = self.lock();
        if evidence.contacts.len() >= MAX_PENDING_CONTACTS {
            evidence.contacts.pop_front();
        }
        evidence.contacts.push_back((received, commit_index));
    }

    /// Leader side: `follower` accepted an AppendEntries of `term` sent at `sent_at`.
    pub fn follower_ack(&self, follower: NodeId, term: u64, sent_at: Instant) {
        let mut evidence = self.lock();
        let entry = evidence.acks.entry(follower).or_insert((term, sent_at));
        if (term, sent_at) > *entry {
            *entry = (term, sent_at);
        }
    }

    /// Whether the state may serve a state-dependent crypto operation at `now`. `view` is asked
    /// only when the cached answer has run out.
    pub fn check(&self, now: Instant, view: impl FnOnce() -> RaftView) -> Result<(), Stale> {
        let now_ms = self.millis(now);
        if now_ms < self.fresh_until_ms.load(Ordering::Acquire) {
            return Ok(());
        }
        let view = view();
        let mut evidence = self.lock();
        let newest = if view.is_leader { leader_evidence(&evidence, &view, now) } else { None };
        let newest = newest.or_else(|| follower_evidence(&mut evidence, &view));
        if let Some(at) = newest {
            evidence.fresh_as_of = Some(match evidence.fresh_as_of {
                Some(previous) => previous.max(at),
                None => at,
            });
        }
        let fresh_as_of = evidence.fresh_as_of;
        drop(evidence);
        let Some(fresh_as_of) = fresh_as_of else { return Err(Stale { age: None }) };
        let until = self.millis(fresh_as_of + self.bound);
        self.fresh_until_ms.fetch_max(until, Ordering::AcqRel);
        if now_ms < until {
            Ok(())
        } else {
            Err(Stale { age: Some(now.saturating_duration_since(fresh_as_of)) })
        }
    }

    fn millis(&self, at: Instant) -> u64 {
        // +1 keeps 0 free to mean "never".
        at.saturating_duration_since(self.origin).as_millis() as u64 + 1
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Evidence> {
        self.evidence.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The send time of the newest AppendEntries a quorum accepted in this term, if this leader has
/// applied an entry of its term.
fn leader_evidence(evidence: &Evidence, view: &RaftView, now: Instant) -> Option<Instant> {
    if view.applied_term != Some(view.term) || !view.voters.contains(&view.self_id) {
        return None;
    }
    let mut times: Vec<Instant> = view
        .voters
        .iter()
        .filter(|voter| **voter != view.self_id)
        .filter_map(|voter| evidence.acks.get(voter))
        .filter(|(term, _)| *term == view.term)
        .map(|(_, sent_at)| *sent_at)
        .collect();
    // The leader counts itself; it needs this many followers more for a majority.
    let needed = view.voters.len() / 2;
    if needed == 0 {
        return Some(now);
    }
    times.sort_unstable_by(|a, b| b.cmp(a));
    times.get(needed - 1).copied()
}

/// The receipt time of the newest leader contact whose commit index this node has applied.
fn follower_evidence(evidence: &mut Evidence, view: &RaftView) -> Option<Instant> {
    let applied = view.applied_index?;
    let mut newest = None;
    while let Some(&(received, commit_index)) = evidence.contacts.front() {
        if commit_index > applied {
            break;
        }
        newest = Some(received);
        evidence.contacts.pop_front();
    }
    newest
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUND: Duration = Duration::from_millis(500);

    fn follower(applied: u64) -> RaftView {
        RaftView {
            is_leader: false,
            term: 3,
            applied_index: Some(applied),
            applied_term: Some(3),
            self_id: 2,
            voters: vec![1, 2, 3],
        }
    }

    fn leader(applied_term: u64) -> RaftView {
        RaftView { is_leader: true, self_id: 1, applied_term: Some(applied_term), ..follower(10) }
    }

    #[test]
    fn a_node_with_no_evidence_is_stale() {
        let freshness = Freshness::new(BOUND);
        assert_eq!(freshness.check(Instant::now(), || follower(5)), Err(Stale { age: None }));
    }

    #[test]
    fn a_follower_is_fresh_once_it_applied_what_the_leader_had_committed() {
        let freshness = Freshness::new(BOUND);
        let start = Instant::now();
        freshness.leader_contact(start, 3, Some((3, 7)));
        assert!(freshness.check(start, || follower(6)).is_err(), "not applied yet");
        assert!(freshness.check(start + Duration::from_millis(10), || follower(7)).is_ok());
        assert!(freshness.check(start + Duration::from_millis(499), || follower(7)).is_ok());
        let late = freshness.check(start + Duration::from_millis(600), || follower(7));
        assert_eq!(late, Err(Stale { age: Some(Duration::from_millis(600)) }));
    }

    #[test]
    fn a_leader_that_has_not_committed_in_its_term_proves_nothing() {
        let freshness = Freshness::new(BOUND);
        let start = Instant::now();
        freshness.leader_contact(start, 4, Some((3, 7)));
        freshness.leader_contact(start, 4, None);
        assert!(freshness.check(start, || follower(7)).is_err());
    }

    #[test]
    fn a_leader_is_fresh_as_of_its_latest_quorum_acknowledgement_in_its_term() {
        let freshness = Freshness::new(BOUND);
        let start = Instant::now();
        assert!(freshness.check(start, || leader(3)).is_err(), "no follower has acknowledged");
        freshness.follower_ack(2, 2, start);
        assert!(freshness.check(start, || leader(3)).is_err(), "acknowledged an older term");
        freshness.follower_ack(3, 3, start + Duration::from_millis(100));
        assert!(freshness.check(start + Duration::from_millis(550), || leader(3)).is_ok());
        assert!(freshness.check(start + Duration::from_millis(650), || leader(3)).is_err());
    }

    #[test]
    fn a_new_leader_waits_until_it_applied_an_entry_of_its_term() {
        let freshness = Freshness::new(BOUND);
        let start = Instant::now();
        freshness.follower_ack(2, 3, start);
        assert!(freshness.check(start, || leader(2)).is_err());
        assert!(freshness.check(start, || leader(3)).is_ok());
    }

    #[test]
    fn a_single_voter_is_its_own_quorum() {
        let freshness = Freshness::new(BOUND);
        let view = RaftView { voters: vec![1], ..leader(3) };
        assert!(freshness.check(Instant::now(), || view).is_ok());
    }

    #[test]
    fn five_voters_need_two_followers() {
        let freshness = Freshness::new(BOUND);
        let start = Instant::now();
        let view = RaftView { voters: vec![1, 2, 3, 4, 5], ..leader(3) };
        freshness.follower_ack(2, 3, start + Duration::from_millis(300));
        assert!(freshness.check(start, || view.clone()).is_err());
        freshness.follower_ack(4, 3, start);
        assert!(freshness.check(start + Duration::from_millis(450), || view.clone()).is_ok());
        assert!(freshness.check(start + Duration::from_millis(550), || view).is_err());
    }
}
