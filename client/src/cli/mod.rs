//! The `trent` command line: argument definitions (`args`) and the human-readable rendering of
//! answers (`render`), and the operator's seal commands (`operator`). Dispatch lives in `main.rs`; the logic lives in the library.

pub mod args;
pub mod operator;
pub mod render;
