//! The `trent` command line: argument definitions (`args`), the human-readable rendering of
//! answers (`render`), the operator's seal and access-key commands (`operator`), users and
//! authorization questions (`identity`), envelope encryption of files (`envelope`), and the
//! line printers they share. Dispatch lives in `main.rs`; the logic lives
//! in the library.

pub mod args;
pub mod envelope;
pub mod identity;
pub mod operator;
pub mod render;

use std::io::Write;

/// Writes one line to stdout; a closed pipe (`trent keys list | head`) ends output quietly.
pub fn print_line(text: &str) -> anyhow::Result<()> {
    write_line(std::io::stdout().lock(), text)
}

/// Writes one line to stderr, where reports go when stdout carries data.
pub fn eprint_line(text: &str) -> anyhow::Result<()> {
    write_line(std::io::stderr().lock(), text)
}

fn write_line(mut out: impl Write, text: &str) -> anyhow::Result<()> {
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(err.into()),
        _ => Ok(()),
    }
}
