//! Wrapped secrets as the replicated state stores them. Storage never unwraps anything: these
//! are opaque bytes sealed by the node's barrier (AES-256-GCM under a barrier key, itself
//! sealed under the root key that only unsealed nodes hold in memory).

use serde::{Deserialize, Serialize};

/// A secret sealed under one version of the barrier key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedSecret {
    /// Which barrier key version sealed it.
    pub barrier_version: u32,
    /// `nonce | ciphertext | tag`.
    pub sealed: Vec<u8>,
}

/// One barrier key version, sealed under the root key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedBarrierKey {
    /// Its version, from 1.
    pub version: u32,
    /// `nonce | ciphertext | tag` of the key bytes.
    pub sealed: Vec<u8>,
}

/// The keyring as replicated: every barrier key version, sealed under the root key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedKeyring {
    /// The cluster these keys belong to (also inside every unseal share).
    pub cluster_id: [u8; 16],
    /// Every version, oldest first; the last is current.
    pub keys: Vec<WrappedBarrierKey>,
}

/// The cluster's current split of its root key into unseal shares, as `init` or the last rekey
/// made it: how many shares unseal, and a fingerprint every share of that split carries. Nodes
/// refuse, before combining anything, a share whose threshold or fingerprint differs — an
/// edited share, or one from a split a rekey replaced. Holds nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsealSplit {
    /// Shares needed.
    pub threshold: u8,
    /// Shares made; 0 when not known (a split recorded by the node it unsealed, for a cluster
    /// initialised before splits were recorded).
    pub shares: u8,
    /// SHA-256 over the part every share of the split has in common (see `trent-node`'s
    /// `seal::shares`).
    pub fingerprint: [u8; 32],
}

/// The splits whose shares a node accepts: the current one, and while a rekey is unconfirmed,
/// the last confirmed one. A rekey's shares are handed out once, in a reply that can be lost; so
/// the old shares keep working until a node has been unsealed with the new ones (which confirms
/// them), and an operator whose rekey reply never arrived is never left without working shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsealSplits {
    /// The newest split (init's, or the last rekey's).
    pub current: UnsealSplit,
    /// The last confirmed split, while `current` is unconfirmed.
    pub retiring: Option<UnsealSplit>,
}

impl UnsealSplits {
    /// The splits accepted now.
    pub fn accepted(&self) -> impl Iterator<Item = &UnsealSplit> {
        std::iter::once(&self.current).chain(self.retiring.as_ref())
    }
}
