//! Reads a request body with a hard cap, refusing an oversized body before reading it when the
//! client declared its length, and within a memory budget shared by every body in flight.
//!
//! The budget is what bounds memory under a flood: each body reserves its declared length (or
//! the cap, when the length is not declared) before a byte is read and holds the reservation
//! until the request is answered. When the budget is spent, a new body waits briefly for room
//! and is then refused as throttled, unread — so thousands of connections sending large bodies
//! cost the budget, not the machine. Large bodies (over [`SMALL_BODY_BYTES`], which everyday
//! KMS calls are not) may hold only half of it between them, so a flood of them never starves
//! ordinary calls; a connection that has not yet authenticated may hold, with every other such
//! connection from its address, at most a quarter of it, so one address (or /64) cannot starve
//! the rest with signed-looking heads; and a body must arrive at a minimum rate (faster under
//! pressure), so a slow sender holds its share only briefly.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{HeaderMap, Request};
use std::net::IpAddr;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::connections::ConnectionInfo;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Larger than the cap.
    #[error("request body is larger than {limit} bytes")]
    TooLarge {
        /// The cap.
        limit: usize,
    },
    /// The connection failed mid-body.
    #[error("request body could not be read: {0}")]
    Read(String),
    /// The body did not arrive in time.
    #[error("request body did not arrive within {0:?}")]
    TimedOut(std::time::Duration),
    /// Bodies in flight hold the whole budget.
    #[error("the node is holding as many request bodies as it allows; retry")]
    Throttled,
}

/// A body of this size or less is small: an Encrypt of 4 KiB is about 6 KiB of JSON.
pub const SMALL_BODY_BYTES: usize = 16 * 1024;
/// Every body gets this long to arrive, plus [`MIN_BODY_RATE`]'s time for its size.
pub const BODY_READ_GRACE: Duration = Duration::from_secs(5);
/// The slowest a body may arrive, bytes per second (a 384 KiB body: 5 s + 6 s).
pub const MIN_BODY_RATE: usize = 64 * 1024;
/// How long a body waits for room in the budget before it is refused.
const BUDGET_WAIT: Duration = Duration::from_millis(500);
/// The budget's unit: reservations are rounded up to whole KiB.
const UNIT: usize = 1024;

/// Memory all request bodies in flight on one listener may hold together.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    units: Arc<Semaphore>,
    total_units: u32,
    /// The half of the budget large bodies may hold between them.
    large_units: Arc<Semaphore>,
    large_total_units: u32,
    /// Units held by unauthenticated connections, by address.
    unproven: Arc<std::sync::Mutex<std::collections::HashMap<IpAddr, u32>>>,
}

/// A body's reservation; returned to the budget when dropped.
#[derive(Debug)]
pub struct Reservation {
    _permits: Vec<OwnedSemaphorePermit>,
    _unproven: Option<UnprovenShare>,
}

/// An unauthenticated address's part of a reservation.
#[derive(Debug)]
struct UnprovenShare {
    held: Arc<std::sync::Mutex<std::collections::HashMap<IpAddr, u32>>>,
    address: IpAddr,
    units: u32,
}

impl Drop for UnprovenShare {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(units) = held.get_mut(&self.address) {
            *units = units.saturating_sub(self.units);
            if *units == 0 {
                held.remove(&self.address);
            }
        }
    }
}

impl BodyBudget {
    /// A budget of `bytes` (at least one KiB).
    pub fn new(bytes: usize) -> BodyBudget {
        let total_units = u32::try_from(bytes.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX);
        let large_total_units = (total_units / 2).max(1);
        BodyBudget {
            units: Arc::new(Semaphore::new(total_units as usize)),
            total_units,
            large_units: Arc::new(Semaphore::new(large_total_units as usize)),
            large_total_units,
            unproven: Default::default(),
        }
    }

    /// Bytes not reserved now.
    pub fn available(&self) -> usize {
        self.units.available_permits() * UNIT
    }

    /// Whether more than half the budget is held: bodies get less time to arrive.
    pub fn under_pressure(&self) -> bool {
        self.units.available_permits() * 2 < self.total_units as usize
    }

    /// Reserves room for a body of `bytes`, waiting up to `BUDGET_WAIT`. `unproven` names the
    /// address of a connection that has not authenticated yet: its address's share is capped.
    pub async fn reserve(&self, bytes: usize, unproven: Option<IpAddr>) -> Result<Reservation, BodyError> {
        if bytes == 0 {
            return Ok(Reservation { _permits: Vec::new(), _unproven: None });
        }
        let units = u32::try_from(bytes.div_ceil(UNIT)).unwrap_or(u32::MAX);
        let unproven = match unproven {
            Some(address) => Some(self.take_unproven_share(address, units.min(self.total_units))?),
            None => None,
        };
        let reserve = async {
            let mut permits = Vec::with_capacity(2);
            if bytes > SMALL_BODY_BYTES {
                let large = units.min(self.large_total_units);
                permits.push(self.large_units.clone().acquire_many_owned(large).await?);
            }
            permits.push(self.units.clone().acquire_many_owned(units.min(self.total_units)).await?);
            Ok::<_, tokio::sync::AcquireError>(permits)
        };
        match tokio::time::timeout(BUDGET_WAIT, reserve).await {
            Ok(Ok(permits)) => Ok(Reservation { _permits: permits, _unproven: unproven }),
            Ok(Err(_)) | Err(_) => Err(BodyError::Throttled),
        }
    }

    /// Counts `units` against `address`'s share of the budget, or refuses if that would pass a
    /// quarter of it.
    fn take_unproven_share(&self, address: IpAddr, units: u32) -> Result<UnprovenShare, BodyError> {
        let cap = (self.total_units / UNPROVEN_SHARE_DIVISOR).max(1);
        let mut held = self.unproven.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let already = held.get(&address).copied().unwrap_or(0);
        // A body larger than the whole share still gets the share (and only when it is free).
        let wanted = units.min(cap);
        if already.saturating_add(wanted) > cap {
            return Err(BodyError::Throttled);
        }
        held.insert(address, already + wanted);
        Ok(UnprovenShare { held: self.unproven.clone(), address, units: wanted })
    }
}

/// Unauthenticated connections of one address hold at most this fraction of the budget.
const UNPROVEN_SHARE_DIVISOR: u32 = 4;

/// How long a body of `bytes` may take to arrive: the grace plus the time at the minimum rate;
/// under pressure a fifth of that.
pub fn body_deadline(bytes: usize, under_pressure: bool) -> Duration {
    let deadline =
        BODY_READ_GRACE + Duration::from_millis((bytes as u64).saturating_mul(1000) / MIN_BODY_RATE as u64);
    if under_pressure {
        deadline / 5
    } else {
        deadline
    }
}

/// The length the client declared, if it did.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
}

/// Who is sending a body, as the budget sees it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sender {
    /// The address of a connection that has not authenticated yet (its share is capped).
    pub unproven: Option<IpAddr>,
    /// Whether its listener is short of connections (bodies get less time).
    pub under_pressure: bool,
}

impl Sender {
    /// The sender of a request on `connection` (none: a connection the gate does not know).
    pub fn of(connection: Option<&ConnectionInfo>) -> Sender {
        match connection {
            Some(connection) => Sender {
                unproven: (!connection.is_proven()).then(|| connection.address()),
                under_pressure: connection.under_pressure(),
            },
            None => Sender::default(),
        }
    }
}

/// Reads the whole body of `request`, at most `limit` bytes, holding a reservation from
/// `budget` for it; the body and the reservation, to be dropped together.
pub async fn read_body(
    request: Request<Incoming>,
    limit: usize,
    budget: &BodyBudget,
) -> Result<(Bytes, Reservation), BodyError> {
    let (parts, body) = request.into_parts();
    let sender = Sender::of(parts.extensions.get::<ConnectionInfo>());
    read_budgeted_body(&parts.headers, body, limit, budget, sender).await
}

/// Reads `body`, whose request carried `headers`, at most `limit` bytes, holding a reservation
/// from `budget` for it; the body and the reservation, to be dropped together.
pub async fn read_budgeted_body(
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
    budget: &BodyBudget,
    sender: Sender,
) -> Result<(Bytes, Reservation), BodyError> {
    use hyper::body::Body as _;
    // A GET (or any request hyper knows is empty) holds nothing.
    if body.is_end_stream() {
        return Ok((Bytes::new(), Reservation { _permits: Vec::new(), _unproven: None }));
    }
    let declared = declared_length(headers).or(body.size_hint().exact());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let expected = declared.map_or(limit, |length| length as usize);
    let reservation = budget.reserve(expected, sender.unproven).await?;
    let pressure = sender.under_pressure || budget.under_pressure();
    let bytes = collect(body, limit, body_deadline(expected, pressure)).await?;
    Ok((bytes, reservation))
}

async fn collect(body: Incoming, limit: usize, deadline: Duration) -> Result<Bytes, BodyError> {
    let collected = tokio::time::timeout(deadline, Limited::new(body, limit).collect())
        .await
        .map_err(|_| BodyError::TimedOut(deadline))?;
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            Err(BodyError::TooLarge { limit })
        }
        Err(error) => Err(BodyError::Read(error.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_share_the_budget_and_return_to_it() {
        let budget = BodyBudget::new(4 * UNIT);
        let first = budget.reserve(3 * UNIT, None).await.unwrap();
        assert_eq!(budget.available(), UNIT);
        assert!(matches!(budget.reserve(2 * UNIT, None).await, Err(BodyError::Throttled)));
        drop(first);
        assert_eq!(budget.available(), 4 * UNIT);
        let _small = budget.reserve(1, None).await.unwrap();
        assert_eq!(budget.available(), 3 * UNIT, "rounded up to a whole unit");
        let _empty = budget.reserve(0, None).await.unwrap();
        assert_eq!(budget.available(), 3 * UNIT);
    }

    #[tokio::test]
    async fn large_bodies_hold_at_most_half_the_budget() {
        let budget = BodyBudget::new(128 * UNIT);
        let large = budget.reserve(40 * UNIT, None).await.unwrap();
        assert!(matches!(budget.reserve(40 * UNIT, None).await, Err(BodyError::Throttled)), "over half");
        let small: Vec<Reservation> =
            futures::future::try_join_all((0..5).map(|_| budget.reserve(16 * UNIT, None))).await.unwrap();
        assert_eq!(budget.available(), 8 * UNIT);
        drop((large, small));
        assert_eq!(budget.available(), 128 * UNIT);
    }

    #[tokio::test]
    async fn a_body_larger_than_the_budget_takes_what_there_is_rather_than_never_fitting() {
        let budget = BodyBudget::new(2 * UNIT);
        let whole = budget.reserve(10 * UNIT, None).await.unwrap();
        assert_eq!(budget.available(), 0);
        drop(whole);
        assert_eq!(budget.available(), 2 * UNIT);
    }

    #[test]
    fn a_body_must_arrive_at_the_minimum_rate_and_faster_under_pressure() {
        assert_eq!(body_deadline(0, false), BODY_READ_GRACE);
        assert_eq!(body_deadline(384 * 1024, false), Duration::from_secs(11));
        assert_eq!(body_deadline(384 * 1024, true), Duration::from_millis(2200));
    }

    #[tokio::test]
    async fn one_unauthenticated_address_holds_at_most_a_quarter_of_the_budget() {
        let budget = BodyBudget::new(64 * UNIT);
        let attacker = Some(IpAddr::from([10, 0, 0, 1]));
        let held: Vec<Reservation> =
            futures::future::try_join_all((0..4).map(|_| budget.reserve(4 * UNIT, attacker))).await.unwrap();
        assert!(
            matches!(budget.reserve(UNIT, attacker).await, Err(BodyError::Throttled)),
            "its quarter is spent"
        );
        let other = budget.reserve(4 * UNIT, Some(IpAddr::from([10, 0, 0, 2]))).await;
        assert!(other.is_ok(), "another address has its own quarter");
        assert!(
            budget.reserve(4 * UNIT, None).await.is_ok(),
            "authenticated connections are not capped by address"
        );
        drop(held);
        assert!(budget.reserve(4 * UNIT, attacker).await.is_ok(), "released with the bodies");
    }
}
