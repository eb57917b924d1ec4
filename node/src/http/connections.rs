//! Who gets a connection slot: a cap on connections per listener and per client address, and a
//! reserve for callers that have proven themselves.
//!
//! A connection is *unproven* until it carries a request that authenticates (a valid SigV4
//! signature on the client port; a verified peer on the peer port). Unproven connections are the
//! ones given up when room is needed: first those that are idle — no request in flight, which
//! includes a slowloris still sending its headers and a TLS handshake that has not finished —
//! then those whose request is still arriving (a body that trickles in, on any endpoint), oldest
//! first in each. A request that has started its operation (an unauthenticated init or unseal)
//! is never cut off mid-way: init hands out shares exactly once.
//!
//! - a new connection from an address already at its cap evicts that address's oldest evictable
//!   unproven connection, or is refused if it has none;
//! - a new connection when the listener is full evicts the oldest evictable unproven connection
//!   of any address, or is refused;
//! - under pressure (half the slots taken), unproven connections idle for longer than a short
//!   grace are closed, and new TLS handshakes and request bodies get shorter deadlines.
//!
//! Addresses are counted by host for IPv4 and by /64 for IPv6 (one machine commonly holds a
//! whole /64), so an attacker cannot multiply its share by walking its prefix.
//!
//! So a flood of idle or slow sockets can take at most the slots nobody proven needs: a signed
//! client's new connection evicts one of them and is served, and connections that already
//! authenticated are never evicted. The accept loop never stops accepting (a full listener that
//! stopped would leave everyone, proven or not, waiting in the kernel's backlog).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Notify;

/// Connection limits of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ConnectionLimits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// Most connections open at once from one client address; 0 for no per-address cap (behind
    /// a proxy every client has the proxy's address).
    pub max_connections_per_address: usize,
}

impl ConnectionLimits {
    /// The client port's defaults: 4,096 connections, 1,024 from one address.
    pub const CLIENT: ConnectionLimits =
        ConnectionLimits { max_connections: 4096, max_connections_per_address: 1024 };
    /// The peer port's: a cluster has a handful of members, each with a pool of connections
    /// that grows with load. No per-address cap: on one host (dev, tests) every peer has the
    /// same address, and an unauthenticated peer connection is evicted before a proven one.
    pub const PEER: ConnectionLimits =
        ConnectionLimits { max_connections: 1024, max_connections_per_address: 0 };
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits::CLIENT
    }
}

/// How long an unproven connection may stay idle once the listener is under pressure.
pub const PRESSURED_IDLE_GRACE: Duration = Duration::from_secs(2);
/// The TLS handshake deadline under pressure (normally [`crate::tls::HANDSHAKE_TIMEOUT`]).
pub const PRESSURED_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);

/// One connection's state, shared by its task and the gate.
#[derive(Debug)]
pub struct ConnectionState {
    sequence: u64,
    address: IpAddr,
    proven: AtomicBool,
    in_flight: AtomicU32,
    /// Requests past their checks and into their operation: never cut off.
    operating: AtomicU32,
    /// Milliseconds since the gate's origin of the last request start or end.
    last_active_ms: AtomicU64,
    evict: Notify,
    evicted: AtomicBool,
}

impl ConnectionState {
    /// The client's address.
    pub fn address(&self) -> IpAddr {
        self.address
    }

    /// Whether a request on this connection has authenticated.
    pub fn is_proven(&self) -> bool {
        self.proven.load(Ordering::Acquire)
    }

    /// Resolves once the gate has chosen this connection to make room.
    pub async fn evicted(&self) {
        let notified = self.evict.notified();
        if self.evicted.load(Ordering::Acquire) {
            return;
        }
        notified.await;
    }
}

#[derive(Debug, Default)]
struct GateState {
    open: usize,
    per_address: HashMap<IpAddr, usize>,
    /// Unproven connections by age (oldest first).
    unproven: BTreeMap<u64, Arc<ConnectionState>>,
    next_sequence: u64,
}

/// Admits connections to one listener.
#[derive(Debug)]
pub struct ConnectionGate {
    limits: ConnectionLimits,
    origin: Instant,
    state: Mutex<GateState>,
    /// Connections refused or evicted since start, for tests and logs.
    refused: AtomicU64,
    evicted: AtomicU64,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Its address holds its cap of connections, all of them busy or proven.
    #[error("this address holds its {0} connections")]
    AddressFull(usize),
    /// The listener holds its cap, all of them busy or proven.
    #[error("the listener holds its {0} connections")]
    ListenerFull(usize),
}

/// A connection's slot; freed when dropped.
#[derive(Debug)]
pub struct Admitted {
    gate: Arc<ConnectionGate>,
    state: Arc<ConnectionState>,
}

impl ConnectionGate {
    /// A gate with these limits.
    pub fn new(limits: ConnectionLimits) -> Arc<ConnectionGate> {
        Arc::new(ConnectionGate {
            limits,
            origin: Instant::now(),
            state: Mutex::new(GateState::default()),
            refused: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    /// Admits a connection from `address`, evicting an idle unproven one if that makes room.
    pub fn admit(self: &Arc<ConnectionGate>, address: IpAddr) -> Result<Admitted, Refused> {
        let address = counted_address(address);
        let mut state = self.lock();
        let per_address_cap = self.limits.max_connections_per_address;
        let from_address = state.per_address.get(&address).copied().unwrap_or(0);
        if per_address_cap > 0
            && from_address >= per_address_cap
            && !self.evict_one(&mut state, Some(address))
        {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Refused::AddressFull(per_address_cap));
        }
        if state.open >= self.limits.max_connections && !self.evict_one(&mut state, None) {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Refused::ListenerFull(self.limits.max_connections));
        }
        let sequence = state.next_sequence;
        state.next_sequence += 1;
        let connection = Arc::new(ConnectionState {
            sequence,
            address,
            proven: AtomicBool::new(false),
            in_flight: AtomicU32::new(0),
            operating: AtomicU32::new(0),
            last_active_ms: AtomicU64::new(self.now_ms()),
            evict: Notify::new(),
            evicted: AtomicBool::new(false),
        });
        state.open += 1;
        *state.per_address.entry(address).or_insert(0) += 1;
        state.unproven.insert(sequence, connection.clone());
        Ok(Admitted { gate: self.clone(), state: connection })
    }

    /// Evicts the oldest idle unproven connection (of `address`, if given), or failing that the
    /// oldest unproven one whose request is still arriving; whether it found one. Its slot is
    /// freed when its task drops it; counted free now so the caller can take it.
    fn evict_one(&self, state: &mut GateState, address: Option<IpAddr>) -> bool {
        let evictable = |connection: &&Arc<ConnectionState>| {
            address.is_none_or(|address| connection.address == address)
                && !connection.evicted.load(Ordering::Acquire)
                && connection.operating.load(Ordering::Acquire) == 0
        };
        let idle = state
            .unproven
            .values()
            .filter(evictable)
            .find(|connection| connection.in_flight.load(Ordering::Acquire) == 0)
            .cloned();
        let victim = idle.or_else(|| state.unproven.values().find(evictable).cloned());
        let Some(victim) = victim else {
            return false;
        };
        self.release(state, &victim);
        victim.evicted.store(true, Ordering::Release);
        victim.evict.notify_waiters();
        self.evicted.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Frees `connection`'s slot (once).
    fn release(&self, state: &mut GateState, connection: &ConnectionState) {
        if connection.evicted.load(Ordering::Acquire) {
            return; // freed when it was evicted
        }
        state.unproven.remove(&connection.sequence);
        state.open = state.open.saturating_sub(1);
        if let Some(count) = state.per_address.get_mut(&connection.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                state.per_address.remove(&connection.address);
            }
        }
    }

    /// Whether half the slots are taken: unproven connections get shorter deadlines.
    pub fn under_pressure(&self) -> bool {
        self.lock().open * 2 >= self.limits.max_connections
    }

    /// Closes unproven connections idle for longer than [`PRESSURED_IDLE_GRACE`], if the
    /// listener is under pressure; how many it closed.
    pub fn reap_idle(&self) -> usize {
        let mut state = self.lock();
        if state.open * 2 < self.limits.max_connections {
            return 0;
        }
        let now = self.now_ms();
        let grace = PRESSURED_IDLE_GRACE.as_millis() as u64;
        let idle: Vec<Arc<ConnectionState>> = state
            .unproven
            .values()
            .filter(|connection| {
                connection.in_flight.load(Ordering::Acquire) == 0
                    && now.saturating_sub(connection.last_active_ms.load(Ordering::Acquire)) > grace
            })
            .cloned()
            .collect();
        for connection in &idle {
            self.release(&mut state, connection);
            connection.evicted.store(true, Ordering::Release);
            connection.evict.notify_waiters();
        }
        self.evicted.fetch_add(idle.len() as u64, Ordering::Relaxed);
        idle.len()
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.lock().open
    }

    /// Connections refused and evicted since start.
    pub fn refused_and_evicted(&self) -> (u64, u64) {
        (self.refused.load(Ordering::Relaxed), self.evicted.load(Ordering::Relaxed))
    }
}

impl Admitted {
    /// The connection's shared state.
    pub fn state(&self) -> &Arc<ConnectionState> {
        &self.state
    }

    /// A request on this connection authenticated: never evict it.
    pub fn prove(&self) {
        prove(&self.gate, &self.state);
    }
}

/// The address a connection is counted under: the host for IPv4 (and IPv4-mapped IPv6), the
/// /64 for IPv6.
pub fn counted_address(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let segments = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(
                    segments[0],
                    segments[1],
                    segments[2],
                    segments[3],
                    0,
                    0,
                    0,
                    0,
                ))
            }
        },
    }
}

/// Marks `connection` proven (see [`Admitted::prove`]); used where only the state is at hand.
pub fn prove(gate: &ConnectionGate, connection: &ConnectionState) {
    if !connection.proven.swap(true, Ordering::AcqRel) {
        gate.lock().unproven.remove(&connection.sequence);
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut state = self.gate.lock();
        self.gate.release(&mut state, &self.state);
    }
}

/// What a request handler sees of its connection (a request extension): its address, and how
/// to mark it proven.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    gate: Arc<ConnectionGate>,
    state: Arc<ConnectionState>,
}

impl ConnectionInfo {
    /// The handler's view of `admitted`.
    pub fn of(admitted: &Admitted) -> ConnectionInfo {
        ConnectionInfo { gate: admitted.gate.clone(), state: admitted.state.clone() }
    }

    /// The client's address, as connections are counted (IPv6 by /64).
    pub fn address(&self) -> IpAddr {
        self.state.address
    }

    /// Whether a request on this connection has authenticated.
    pub fn is_proven(&self) -> bool {
        self.state.is_proven()
    }

    /// Whether the listener is under pressure: bodies get shorter deadlines.
    pub fn under_pressure(&self) -> bool {
        self.gate.under_pressure()
    }

    /// The request has passed its checks and starts its operation: until the guard drops, the
    /// connection is not cut off to make room (an unauthenticated init must get its answer).
    pub fn operating(&self) -> Operating {
        self.state.operating.fetch_add(1, Ordering::AcqRel);
        Operating(self.state.clone())
    }

    /// The request authenticated: the connection is kept even when room is needed.
    pub fn prove(&self) {
        prove(&self.gate, &self.state);
    }

    /// A request started on this connection (it is busy, so not evicted meanwhile).
    pub fn request_started(&self) {
        self.state.in_flight.fetch_add(1, Ordering::AcqRel);
        self.touch();
    }

    /// A request on this connection ended.
    pub fn request_ended(&self) {
        self.touch();
        self.state.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    fn touch(&self) {
        self.state.last_active_ms.store(self.gate.now_ms(), Ordering::Release);
    }
}

/// A request in its operation (see [`ConnectionInfo::operating`]).
#[derive(Debug)]
pub struct Operating(Arc<ConnectionState>);

impl Drop for Operating {
    fn drop(&mut self) {
        self.0.operating.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    fn gate(max: usize, per_address: usize) -> Arc<ConnectionGate> {
        ConnectionGate::new(ConnectionLimits {
            max_connections: max,
            max_connections_per_address: per_address,
        })
    }

    #[test]
    fn a_full_listener_evicts_its_oldest_idle_unproven_connection() {
        let gate = gate(3, 0);
        let first = gate.admit(ip(1)).unwrap();
        let second = gate.admit(ip(1)).unwrap();
        let _third = gate.admit(ip(2)).unwrap();
        let _fourth = gate.admit(ip(3)).unwrap();
        assert!(first.state().evicted.load(Ordering::Acquire), "the oldest made room");
        assert!(!second.state().evicted.load(Ordering::Acquire));
        assert_eq!(gate.open(), 3);
        drop(first); // its task ends later; the slot was already counted free
        assert_eq!(gate.open(), 3);
    }

    #[test]
    fn proven_and_operating_connections_are_never_evicted() {
        let gate = gate(2, 0);
        let proven = gate.admit(ip(1)).unwrap();
        proven.prove();
        let operating = gate.admit(ip(1)).unwrap();
        let info = ConnectionInfo::of(&operating);
        info.request_started();
        let guard = info.operating();
        assert_eq!(gate.admit(ip(2)).unwrap_err(), Refused::ListenerFull(2));
        drop(guard);
        info.request_ended();
        let newcomer = gate.admit(ip(2)).unwrap();
        assert!(operating.state().evicted.load(Ordering::Acquire), "idle again, unproven: evicted");
        assert!(!proven.state().evicted.load(Ordering::Acquire));
        drop(newcomer);
        assert_eq!(gate.open(), 1);
        assert_eq!(gate.refused_and_evicted(), (1, 1));
    }

    #[test]
    fn a_request_still_arriving_is_evicted_after_every_idle_one() {
        let gate = gate(3, 0);
        let arriving = gate.admit(ip(1)).unwrap();
        ConnectionInfo::of(&arriving).request_started(); // its body trickles in
        let idle = gate.admit(ip(2)).unwrap();
        let third = gate.admit(ip(3)).unwrap();
        third.prove();
        let fourth = gate.admit(ip(4)).unwrap();
        fourth.prove();
        assert!(idle.state().evicted.load(Ordering::Acquire), "the idle one goes first, though younger");
        assert!(!arriving.state().evicted.load(Ordering::Acquire));
        let _fifth = gate.admit(ip(5)).unwrap();
        assert!(arriving.state().evicted.load(Ordering::Acquire), "then the one still arriving");
    }

    #[test]
    fn ipv6_addresses_are_counted_by_their_64_and_mapped_ipv4_as_ipv4() {
        let gate = gate(100, 2);
        let in_prefix = |last: u16| IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, last));
        let first = gate.admit(in_prefix(1)).unwrap();
        first.prove();
        let second = gate.admit(in_prefix(2)).unwrap();
        second.prove();
        assert_eq!(gate.admit(in_prefix(3)).unwrap_err(), Refused::AddressFull(2), "one /64 is one address");
        let mapped = "::ffff:10.0.0.1".parse::<IpAddr>().unwrap();
        assert_eq!(counted_address(mapped), ip(1));
    }

    #[test]
    fn one_address_cannot_take_more_than_its_share() {
        let gate = gate(100, 2);
        let a = gate.admit(ip(1)).unwrap();
        a.prove();
        let b = gate.admit(ip(1)).unwrap();
        b.prove();
        assert_eq!(gate.admit(ip(1)).unwrap_err(), Refused::AddressFull(2));
        let _other = gate.admit(ip(2)).unwrap();
        drop(a);
        assert!(gate.admit(ip(1)).is_ok(), "a freed slot is free again");
    }

    #[test]
    fn an_address_at_its_cap_evicts_its_own_idle_connection_not_anothers() {
        let gate = gate(100, 2);
        let other = gate.admit(ip(9)).unwrap();
        let old = gate.admit(ip(1)).unwrap();
        let _new = gate.admit(ip(1)).unwrap();
        let _newer = gate.admit(ip(1)).unwrap();
        assert!(old.state().evicted.load(Ordering::Acquire));
        assert!(!other.state().evicted.load(Ordering::Acquire));
    }

    #[test]
    fn under_pressure_idle_unproven_connections_are_reaped() {
        let gate = gate(4, 0);
        let idle = gate.admit(ip(1)).unwrap();
        let proven = gate.admit(ip(1)).unwrap();
        proven.prove();
        assert!(gate.under_pressure());
        // Make the idle one look idle for longer than the grace.
        idle.state().last_active_ms.store(0, Ordering::Release);
        std::thread::sleep(PRESSURED_IDLE_GRACE + Duration::from_millis(50));
        assert_eq!(gate.reap_idle(), 1);
        assert!(idle.state().evicted.load(Ordering::Acquire));
        assert!(!proven.state().evicted.load(Ordering::Acquire));
        assert!(!gate.under_pressure());
    }

    #[tokio::test]
    async fn an_evicted_connection_hears_about_it() {
        let gate = gate(1, 0);
        let first = gate.admit(ip(1)).unwrap();
        let state = first.state().clone();
        let waiter = tokio::spawn(async move { state.evicted().await });
        tokio::task::yield_now().await;
        let _second = gate.admit(ip(2)).unwrap();
        tokio::time::timeout(Duration::from_secs(1), waiter).await.unwrap().unwrap();
        // An eviction that happened before anyone listened is still heard.
        first.state().evicted().await;
    }
}
