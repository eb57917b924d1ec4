//! The cluster feature level: which commands and formats every member understands.
//!
//! A command a node might not decode is proposed only once the replicated level says every
//! member supports it; the leader raises the level (a [`crate::Command::RaiseFeatureLevel`])
//! once every member reports that it runs a build supporting the new level. The level also
//! picks the format nodes send each other ([`format_for_level`]) and how write fingerprints are
//! computed (`Command::fingerprint_at`). docs/operations.md describes the rolling upgrade.

use serde::{Deserialize, Serialize};

use crate::codec::Format;

/// The highest level this build supports. Level 0: every build before levels existed. Level 1:
/// versioned peer messages and snapshots, unseal split records, canonical write fingerprints.
/// Level 2: users, key policies and grants (their commands, and the snapshot payload of format 2).
/// Level 3: keys of every spec but SYMMETRIC_DEFAULT (asymmetric, HMAC and post-quantum), whose
/// new spec and usage values older builds do not decode; formats stay those of level 2.
/// Level 4: key rotation and import (their commands, import parameters, and format 3) and
/// ciphertext blobs of format v2.
pub const SUPPORTED_LEVEL: u32 = 4;

/// The replicated feature state of the cluster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterFeatures {
    /// The level every member supports; only ever raised.
    pub level: u32,
    /// Where (log index, position in its batch) the level first reached 1: writes applied
    /// after it carry canonical fingerprints, writes before it legacy ones.
    pub level_one_at: Option<(u64, u32)>,
}

impl ClusterFeatures {
    /// Whether a write remembered at (`log_index`, `position`) was fingerprinted canonically:
    /// every write from the raise itself on (the raise is remembered after it applied).
    pub fn canonical_fingerprint_at(&self, log_index: u64, position: u32) -> bool {
        self.level_one_at.is_some_and(|raised| (log_index, position) >= raised)
    }
}

/// The format of everything sent between nodes while the cluster is at `level`: what every
/// member decodes.
pub fn format_for_level(level: u32) -> Format {
    match level {
        0 => Format::LEGACY,
        1 => Format::V1,
        2 | 3 => Format::V2,
        _ => Format::V3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_level_sends_the_format_every_member_of_it_decodes() {
        let formats: Vec<Format> = (0..=5).map(format_for_level).collect();
        assert_eq!(formats, [Format::LEGACY, Format::V1, Format::V2, Format::V2, Format::V3, Format::V3]);
    }
}
