//! The seal: how a node gets from "started, knows nothing secret" to "holds the root key".
//!
//! [`shares`] splits the root key into Shamir shares at init and combines a threshold of them
//! at unseal; the rest of the seal (the keyring it unlocks, the sealed/unsealed state) builds on
//! it.

pub mod shares;
