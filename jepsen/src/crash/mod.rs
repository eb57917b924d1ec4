//! A storage-level crash test: power loss simulated at the block device, not by killing a process.
//!
//! A SIGKILL cannot catch a missing fsync, because the page cache outlives the process. Here a
//! [`writer`] child drives `trent-storage` through openraft's storage traits on an ext4 file
//! system that lives on a loop device over an image file ([`image`]), and prints an [`Ack`] after
//! each write's durability point. The parent ([`iteration`]) freezes the child at a seeded
//! moment, copies the image file — what the device held at that instant, which is a state a power
//! cut could leave — mounts the copy (ext4 replays its journal) and [`check`]s that every
//! acknowledged write is still there. What the writer writes is a pure function of the seed
//! ([`workload`]), so the checker knows every payload without being told.
//!
//! Not covered: a device that reorders or drops flushed writes (the loop device over a file
//! honours flushes), and faults inside a write (torn sectors).

pub mod check;
pub mod image;
pub mod iteration;
pub mod workload;
pub mod writer;

mod ack;
mod error;

pub use ack::Ack;
pub use check::Recovery;
pub use error::CrashError;
pub use iteration::{plan, run_iteration, IterationConfig, IterationReport, Summary};
