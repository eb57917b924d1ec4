//! HTTP plumbing shared by the client API and the peer API: the accept loop with its admission
//! gate (connection caps, eviction of idle unauthenticated connections) and graceful shutdown,
//! bounded and budgeted body reading, and response builders.

pub mod body;
pub mod connections;
pub mod listener;
pub mod response;
