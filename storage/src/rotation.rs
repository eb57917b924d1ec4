//! Key rotation in the replicated state: the limits, and what a rotation command asks for.
//! The leader decides when an automatic rotation is due and makes the new material; applying
//! [`crate::Command::RotateKey`] re-checks the schedule against the request's timestamp, so a
//! due date rotates once however many leaders propose it.

use serde::{Deserialize, Serialize};

use crate::materials::KeyMaterialId;
use crate::sealed::WrappedSecret;

/// `RotationPeriodInDays`: what EnableKeyRotation accepts.
pub const ROTATION_PERIOD_DAYS: std::ops::RangeInclusive<u32> = (trent_wire::limits::MIN_ROTATION_PERIOD_DAYS
    as u32)
    ..=(trent_wire::limits::MAX_ROTATION_PERIOD_DAYS as u32);
/// RotateKeyOnDemand rotations a key may have in its lifetime (AWS's quota).
pub const MAX_ON_DEMAND_ROTATIONS: u32 = trent_wire::limits::MAX_ON_DEMAND_ROTATIONS;
/// RotateKeyOnDemand is refused with ConflictException while an automatic rotation is due
/// within this long (AWS: "in progress or scheduled within the next 20 minutes").
pub const ON_DEMAND_CONFLICT_WINDOW_MS: u64 = 20 * 60 * 1000;

/// What triggered a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RotationKind {
    /// The key's schedule, for the rotation due at `due_at_ms`: applies only while that is
    /// still the key's next rotation date and has passed.
    Automatic {
        /// The due date the leader saw.
        due_at_ms: u64,
    },
    /// RotateKeyOnDemand.
    OnDemand,
}

/// The material a rotation of an `AWS_KMS` key brings, made and sealed by the leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotatedMaterial {
    /// The id the leader picked (random).
    pub id: KeyMaterialId,
    /// The material, sealed with the key id and `id` as context.
    pub sealed: WrappedSecret,
}
