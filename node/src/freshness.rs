//! The consistency bound behind serving crypto from local state (DESIGN §2).
//!
//! Crypto operations read this node's applied registry without a Raft round trip, so a key
//! disabled through the leader could still be honoured here for a while. This module bounds that
//! while: a write acknowledged at time `t` is reflected in every crypto answer any node gives
//! after `t + bound`, or that node refuses the call (`KeyUnavailableException`, 503).
//!
//! The evidence is a read index, renewed in the background every `bound / 5`: the node notes the
//! time `asked_at` on its own clock, asks the leader for a read index (the leader confirms its
//! leadership with a quorum round that starts after the question arrives, so the index covers
//! every write any leader acknowledged before `asked_at`), and waits until it has applied that
//! index. From then on its state is known to hold every write acknowledged before `asked_at`, and
//! it serves state-dependent crypto until `asked_at + bound`. A node cut off from a quorum — a
//! follower in a minority, a deposed leader, a paused process — gets no new evidence and stops
//! serving within the bound. Only the serving node's own monotonic clock is involved: no
//! assumption about message delays or other nodes' clocks. (A monotonic clock stops while the
//! machine is suspended; a suspended node wakes with at most its last `bound` of credit.)
//!
//! The check on the request path is one atomic load while the evidence is fresh; a stale node
//! asks for an immediate renewal and waits up to one renewal period before it refuses.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use crate::node::Node;

/// Renewals per bound: evidence is renewed this many times within one bound, so a renewal or
/// two that are slow under load do not make the node refuse.
pub const RENEWALS_PER_BOUND: u32 = 5;

/// This node is not known to be current: how old its newest evidence is, if it has any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stale {
    /// Time since the state was last known current.
    pub age: Option<Duration>,
}

/// Tracks until when this node's applied state is known to be current.
pub struct Freshness {
    bound: Duration,
    origin: Instant,
    /// Milliseconds after `origin` (plus one) of the newest evidence; 0 if none.
    fresh_as_of_ms: AtomicU64,
    /// Ticks on every renewal, for callers waiting for one.
    renewals: watch::Sender<()>,
    /// Asks the renewal task not to wait for its next tick.
    renew_now: Notify,
}

impl Freshness {
    /// Tracks freshness with the given bound.
    pub fn new(bound: Duration) -> Freshness {
        Freshness {
            bound,
            origin: Instant::now(),
            fresh_as_of_ms: AtomicU64::new(0),
            renewals: watch::Sender::new(()),
            renew_now: Notify::new(),
        }
    }

    /// Like [`Freshness::check`], but a stale node first asks for a renewal and waits up to one
    /// renewal period for it: a node that just started, or just got back in touch, serves
    /// instead of refusing. A node cut off from the leader still refuses, one period later.
    pub async fn check_or_renew(&self) -> Result<(), Stale> {
        if self.check(Instant::now()).is_ok() {
            return Ok(());
        }
        let mut renewals = self.renewals.subscribe();
        self.renew_now.notify_one();
        let deadline = tokio::time::Instant::now() + self.bound / RENEWALS_PER_BOUND;
        loop {
            match tokio::time::timeout_at(deadline, renewals.changed()).await {
                Ok(Ok(())) => {
                    if self.check(Instant::now()).is_ok() {
                        return Ok(());
                    }
                }
                Ok(Err(_)) | Err(_) => return self.check(Instant::now()),
            }
        }
    }

    /// The consistency bound.
    pub fn bound(&self) -> Duration {
        self.bound
    }

    /// This node has applied a read index it asked for at `asked_at`.
    pub fn renewed(&self, asked_at: Instant) {
        self.fresh_as_of_ms.fetch_max(self.millis(asked_at), Ordering::AcqRel);
        self.renewals.send_replace(());
    }

    /// Whether the state may serve a state-dependent crypto operation at `now`.
    pub fn check(&self, now: Instant) -> Result<(), Stale> {
        let fresh_as_of = self.fresh_as_of_ms.load(Ordering::Acquire);
        if fresh_as_of == 0 {
            return Err(Stale { age: None });
        }
        let age = Duration::from_millis(self.millis(now).saturating_sub(fresh_as_of));
        // Millisecond truncation of `now` can only make the age look smaller by under 1 ms;
        // `<` against the bound keeps the refusal at or before `fresh_as_of + bound + 1 ms`.
        if age < self.bound {
            Ok(())
        } else {
            Err(Stale { age: Some(age) })
        }
    }

    fn millis(&self, at: Instant) -> u64 {
        // +1 keeps 0 free to mean "never".
        at.saturating_duration_since(self.origin).as_millis() as u64 + 1
    }
}

/// Renews `node`'s evidence every `bound / RENEWALS_PER_BOUND` until `shutdown` turns true.
pub async fn renew(node: Arc<Node>, mut shutdown: watch::Receiver<bool>) {
    let bound = node.freshness.bound();
    let mut ticker = tokio::time::interval(bound / RENEWALS_PER_BOUND);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = node.freshness.renew_now.notified() => {}
            _ = shutdown.changed() => return,
        }
        let asked_at = Instant::now();
        // Evidence older than the bound is worthless, so a renewal never waits longer.
        if let Ok(Ok(())) = tokio::time::timeout(bound, node.linearizable_read()).await {
            node.freshness.renewed(asked_at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUND: Duration = Duration::from_millis(500);

    #[test]
    fn a_node_with_no_evidence_is_stale() {
        let freshness = Freshness::new(BOUND);
        assert_eq!(freshness.check(Instant::now()), Err(Stale { age: None }));
    }

    #[test]
    fn evidence_serves_for_one_bound_from_when_it_was_asked_for() {
        let freshness = Freshness::new(BOUND);
        let asked = Instant::now() + Duration::from_millis(50);
        freshness.renewed(asked);
        assert!(freshness.check(asked).is_ok());
        assert!(freshness.check(asked + Duration::from_millis(498)).is_ok());
        let late = freshness.check(asked + Duration::from_millis(500));
        assert_eq!(late, Err(Stale { age: Some(BOUND) }));
    }

    #[test]
    fn older_evidence_never_replaces_newer() {
        let freshness = Freshness::new(BOUND);
        let start = Instant::now();
        freshness.renewed(start + Duration::from_millis(300));
        freshness.renewed(start + Duration::from_millis(100));
        assert!(freshness.check(start + Duration::from_millis(700)).is_ok());
        assert!(freshness.check(start + Duration::from_millis(800)).is_err());
    }
}
