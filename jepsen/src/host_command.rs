//! Running the host tools the harness drives (`ip`, `iptables`, `losetup`, `mount`, `cp`, …):
//! one place that turns a failed run into an error with the command line, exit status and
//! standard error.

use std::process::{Command, Output, Stdio};

/// A host command that could not be run or exited unsuccessfully.
#[derive(Debug, thiserror::Error)]
#[error("`{command}` failed: {detail}")]
pub struct HostCommandError {
    /// The command line.
    pub command: String,
    /// Why: the exit status and standard error, or why it could not start.
    pub detail: String,
}

/// Runs `program args…` to completion on this thread; its standard output on success.
pub fn run_blocking(program: &str, args: &[&str]) -> Result<String, HostCommandError> {
    let output = Command::new(program).args(args).stdin(Stdio::null()).output();
    finish(program, args, output)
}

/// Runs `program args…` to completion without blocking the runtime; its standard output.
pub async fn run(program: &str, args: &[&str]) -> Result<String, HostCommandError> {
    let output = tokio::process::Command::new(program).args(args).stdin(Stdio::null()).output().await;
    finish(program, args, output)
}

fn finish(program: &str, args: &[&str], output: std::io::Result<Output>) -> Result<String, HostCommandError> {
    let command = format!("{program} {}", args.join(" "));
    match output {
        Ok(output) if output.status.success() => Ok(String::from_utf8_lossy(&output.stdout).into_owned()),
        Ok(output) => Err(HostCommandError {
            command,
            detail: format!("{}: {}", output.status, String::from_utf8_lossy(&output.stderr).trim()),
        }),
        Err(error) => Err(HostCommandError { command, detail: format!("cannot run it: {error}") }),
    }
}
