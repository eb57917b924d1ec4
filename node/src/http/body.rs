//! Reads a request body with a hard cap, refusing an oversized body before reading it when the
//! client declared its length, and within a memory budget shared by every body in flight.
//!
//! The budget is what bounds memory under a flood: each body reserves its declared length (or
//! the cap, when the length is not declared) before a byte is read and holds the reservation
//! until the request is answered. When the budget is spent, a new body waits briefly for room
//! and is then refused as throttled, unread — so thousands of connections sending large bodies
//! cost the budget, not the machine. Large bodies (over [`SMALL_BODY_BYTES`], which everyday
//! KMS calls are not) may hold only half of it between them, so a flood of them never starves
//! ordinary calls; and a body must arrive at a minimum rate, so a slow sender holds its share
//! only briefly.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{HeaderMap, Request};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
}

/// A body's reservation; returned to the budget when dropped.
#[derive(Debug)]
pub struct Reservation {
    _permits: Vec<OwnedSemaphorePermit>,
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

    /// Reserves room for a body of `bytes`, waiting up to [`BUDGET_WAIT`].
    pub async fn reserve(&self, bytes: usize) -> Result<Reservation, BodyError> {
        if bytes == 0 {
            return Ok(Reservation { _permits: Vec::new() });
        }
        let units = u32::try_from(bytes.div_ceil(UNIT)).unwrap_or(u32::MAX);
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
            Ok(Ok(permits)) => Ok(Reservation { _permits: permits }),
            Ok(Err(_)) | Err(_) => Err(BodyError::Throttled),
        }
    }
}

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

/// Reads the whole body of `request`, at most `limit` bytes, holding a reservation from
/// `budget` for it; the body and the reservation, to be dropped together.
pub async fn read_body(
    request: Request<Incoming>,
    limit: usize,
    budget: &BodyBudget,
) -> Result<(Bytes, Reservation), BodyError> {
    let (parts, body) = request.into_parts();
    read_budgeted_body(&parts.headers, body, limit, budget).await
}

/// Reads `body`, whose request carried `headers`, at most `limit` bytes, holding a reservation
/// from `budget` for it; the body and the reservation, to be dropped together.
pub async fn read_budgeted_body(
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
    budget: &BodyBudget,
) -> Result<(Bytes, Reservation), BodyError> {
    let declared = declared_length(headers);
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let expected = declared.map_or(limit, |length| length as usize);
    let reservation = budget.reserve(expected).await?;
    let bytes = collect(body, limit, body_deadline(expected, budget.under_pressure())).await?;
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
        let first = budget.reserve(3 * UNIT).await.unwrap();
        assert_eq!(budget.available(), UNIT);
        assert!(matches!(budget.reserve(2 * UNIT).await, Err(BodyError::Throttled)));
        drop(first);
        assert_eq!(budget.available(), 4 * UNIT);
        let _small = budget.reserve(1).await.unwrap();
        assert_eq!(budget.available(), 3 * UNIT, "rounded up to a whole unit");
        let _empty = budget.reserve(0).await.unwrap();
        assert_eq!(budget.available(), 3 * UNIT);
    }

    #[tokio::test]
    async fn large_bodies_hold_at_most_half_the_budget() {
        let budget = BodyBudget::new(128 * UNIT);
        let large = budget.reserve(40 * UNIT).await.unwrap();
        assert!(matches!(budget.reserve(40 * UNIT).await, Err(BodyError::Throttled)), "over half");
        let small: Vec<Reservation> =
            futures::future::try_join_all((0..5).map(|_| budget.reserve(16 * UNIT))).await.unwrap();
        assert_eq!(budget.available(), 8 * UNIT);
        drop((large, small));
        assert_eq!(budget.available(), 128 * UNIT);
    }

    #[tokio::test]
    async fn a_body_larger_than_the_budget_takes_what_there_is_rather_than_never_fitting() {
        let budget = BodyBudget::new(2 * UNIT);
        let whole = budget.reserve(10 * UNIT).await.unwrap();
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
}
