//! The soak test behind `trent-soak` and `scripts/soak.sh`: a three-node `trentd dev` cluster
//! kept, for a bounded time, under a signed workload and a set of attacks (AWS-legal large rows,
//! slow clients, idle-connection floods, unsigned maximum-size bodies), while its health, memory
//! and the signed clients' success and latency are watched; at the end a table of checks, each
//! PASS or FAIL, and the same report as JSON.
//!
//! One module per job: [`args`] (flags and bounds), [`rlimit`] (file descriptors), [`cluster`]
//! (start, find and stop the nodes), [`health`] and [`memory`] (the watchers), [`node_logs`]
//! (what the nodes complained of), [`signed`] and [`large_rows`] (signed traffic, counted in a
//! [`tally`]), [`slowloris`], [`idle_flood`] and [`bodies`] (the raw-TCP attacks, sharing
//! [`attack`]), [`checks`] and [`report`] (the verdict), [`stop`] (the switches), and [`run`],
//! which wires them together.

pub mod args;
pub mod attack;
pub mod bodies;
pub mod checks;
pub mod cluster;
pub mod health;
pub mod idle_flood;
pub mod large_rows;
pub mod memory;
pub mod node_logs;
pub mod report;
pub mod rlimit;
pub mod run;
pub mod signed;
pub mod slowloris;
pub mod stop;
pub mod tally;
