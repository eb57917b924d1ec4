//! The seal: how a node gets from "started, knows nothing secret" to "holds the root key".
//!
//! [`shares`] splits the root key into Shamir shares at init and combines a threshold of them
//! at unseal; the root key opens the [`keyring`], whose barrier keys seal every stored secret.
//! The sealed/unsealed state and its admin API build on these two.

pub mod admin_ops;
pub mod init;
pub mod keyring;
pub mod material;
pub mod shares;
pub mod state;
pub mod unwrap_cache;
