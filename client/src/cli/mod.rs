//! The `trent` command line: argument definitions (`args`) and the human-readable rendering of
//! answers (`render`). Dispatch lives in `main.rs`; the logic lives in the library.

pub mod args;
pub mod render;
