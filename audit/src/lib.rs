//! Trent's audit trail as files, free of the node: the CloudTrail-shaped [`Event`], the log
//! directory that chains every record to the one before it with SHA-256 across file rotation,
//! the signed digest records that pin the chain head, and the offline verification and filtering
//! of such a directory.

mod record;

pub use record::{Event, Resource, UserIdentity, EVENT_SOURCE, EVENT_VERSION};
