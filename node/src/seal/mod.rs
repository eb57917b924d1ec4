//! The seal: how a node gets from "started, knows nothing secret" to "holds the root key".
//!
//! [`shares`] splits the root key into Shamir shares at init and combines a threshold of them
//! at unseal; the root key opens the [`keyring`], whose barrier keys seal every stored secret.
//! [`state`] is the sealed/unsealed state built on these two, and [`material`] the key
//! material under the barrier. The admin calls that use the seal (init, access keys, rekey) live
//! in `crate::admin`: this module is the barrier and nothing else.

pub mod key_secret;
pub mod keyring;
pub mod material;
pub mod shares;
pub mod state;
pub mod unwrap_cache;
