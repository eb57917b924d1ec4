//! The fault-injecting half of the harness: a three-node cluster in network namespaces
//! ([`netns`], [`process`], [`cluster`]), faults injected from outside ([`nemesis`]),
//! concurrent clients recording a history ([`workload`], its keys [`workload_keys`],
//! [`recorder`]), the checkers ([`checks`], [`rotations`], [`audit`]) and the report ([`report`]); [`run`]
//! ties them together.
//!
//! It needs root (network namespaces, iptables) and the `ip` and `iptables` commands.

pub mod audit;
pub mod checks;
pub mod cluster;
mod error;
pub mod nemesis;
pub mod netns;
pub mod process;
pub mod recorder;
pub mod report;
pub mod rotations;
pub mod run;
pub mod workload;
pub mod workload_keys;

pub use error::HarnessError;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The random stream of the nemesis schedule.
pub const NEMESIS_STREAM: u64 = 1;
/// The random stream of the revoker.
pub const REVOKER_STREAM: u64 = 2;
/// Worker `i` draws from stream `WORKER_STREAMS + i`.
pub const WORKER_STREAMS: u64 = 100;

/// The random numbers of one role in a run: every role draws from its own stream of the run's
/// seed, so no two roles see the same numbers and each is reproduced by the seed alone.
pub fn seeded(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}
