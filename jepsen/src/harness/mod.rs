//! The fault-injecting half of the harness: a three-node cluster in network namespaces
//! ([`netns`], [`process`], [`cluster`]), faults injected from outside ([`nemesis`]),
//! concurrent clients recording a history ([`workload`], [`recorder`]), the checkers
//! ([`checks`]) and the report ([`report`]); [`run`] ties them together.
//!
//! It needs root (network namespaces, iptables) and the `ip` and `iptables` commands.

pub mod checks;
pub mod cluster;
mod error;
pub mod nemesis;
pub mod netns;
pub mod process;
pub mod recorder;
pub mod report;
pub mod run;
pub mod workload;

pub use error::HarnessError;
