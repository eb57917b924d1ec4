//! The peer API: what nodes say to each other on their own port, separate from clients.
//!
//! Raft RPCs (append, vote, snapshot chunks), leader-bound operations (forwarded writes,
//! read-index requests, membership changes) and questions any member answers (its feature level,
//! its last use of a key), all as bincode over HTTP POST, from callers that prove they are peers
//! ([`auth`]: mutual TLS, or a shared-secret MAC in plaintext mode).

pub mod auth;
pub mod client;
#[cfg(test)]
mod golden;
pub mod legacy;
pub mod protocol;
pub mod service;

pub use client::{PeerClient, PeerError};
