//! The `trent` command line: argument definitions (`args`), the human-readable rendering of
//! answers (`render`), the operator's seal and access-key commands (`operator`), users and
//! authorization questions (`identity`), envelope encryption of files (`envelope`), signing,
//! MACs, key agreement, ML-KEM and data key pairs (`asymmetric`), rotation and imported key
//! material (`key_material`), offline checks of audit log directories (`audit`), and the line
//! printers they share. Dispatch lives in `main.rs`; the logic lives in the library.

pub mod args;
pub mod asymmetric;
pub mod audit;
pub mod envelope;
pub mod identity;
pub mod key_material;
pub mod operator;
pub mod render;

use std::io::Write;

use serde::Serialize;

/// Prints `value` as pretty JSON, or `text()` for people.
pub fn show<T: Serialize>(json: bool, value: &T, text: impl FnOnce() -> String) -> anyhow::Result<()> {
    let rendered = if json { serde_json::to_string_pretty(value)? } else { text() };
    print_line(&rendered)
}

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
