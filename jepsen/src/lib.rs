//! Trent's Jepsen-style fault harness.
//!
//! A test run records every client operation as an invocation and a completion in a JSON-lines
//! [`history`]; afterwards the Wing–Gong–Lowe search in [`wgl`] decides, key by key, whether some
//! sequential order of those operations, each taking effect between its invocation and its
//! completion, is allowed by a sequential [`model`] of the service. That is linearizability, the
//! guarantee Trent's Raft-replicated key registry claims.
//!
//! The [`harness`] drives a real three-node cluster in network namespaces, injects faults, runs
//! the workloads and checks what they recorded (binary `trent-jepsen`); [`crash`] cuts the power
//! under `trent-storage` at the block device (binary `trent-jepsen-crash`).

pub mod crash;
pub mod harness;
pub mod history;
pub mod host_command;
pub mod model;
pub mod verdict;
pub mod wgl;

pub use history::{
    pair_operations, Event, EventType, HistoryError, HistoryLimits, HistoryReader, HistoryWriter, Operation,
};
pub use model::{
    KeyState, KeyStateOp, KeyStateRegister, Model, ModelError, Observation, Register, RegisterOp,
};
pub use verdict::{Counterexample, KeyReport, Report, Summary, UnknownReason, Verdict};
pub use wgl::{check, check_key, CheckError, CheckLimits};
