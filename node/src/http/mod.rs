//! HTTP plumbing shared by the client API and the peer API: the accept loop with a connection
//! cap and graceful shutdown, bounded body reading, and response builders.

pub mod body;
pub mod listener;
pub mod response;
