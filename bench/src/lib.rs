//! trent-bench's library, shared by its binaries: the operations and mixes a load draws from
//! ([`workload`]), the servers it can load ([`target`]), the closed- and open-loop drivers with
//! HDR latencies ([`runner`]), and the soak test that keeps a three-node cluster under attack for
//! a while and checks it stays in service ([`soak`], binary `trent-soak`).

pub mod runner;
pub mod soak;
pub mod target;
pub mod workload;
