//! Reading the nodes' logs after the run: how many ERROR and WARN lines each wrote during it (from
//! the offset the log had reached when the run began, so start-up elections do not count), how
//! often Raft said it stopped (openraft's "quit RaftCore::main", or "Raft is not running") or a
//! thread panicked, and the first distinct
//! messages, so the report says what a node complained of without anyone opening its log.

use std::path::Path;

use serde::Serialize;

/// Distinct error messages kept per node.
const KEPT_MESSAGES: usize = 5;
/// Characters kept of one message.
const MESSAGE_CHARS: usize = 300;

/// What one node's log holds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeLog {
    /// The node.
    pub node: usize,
    /// The log file.
    pub path: String,
    /// Lines in it.
    pub lines: u64,
    /// ERROR lines.
    pub errors: u64,
    /// WARN lines.
    pub warnings: u64,
    /// Lines saying Raft stopped ("quit RaftCore::main") or is not running.
    pub raft_stopped: u64,
    /// Lines reporting a panic.
    pub panics: u64,
    /// The first distinct ERROR (or, failing those, WARN) messages, without their timestamps.
    pub first_messages: Vec<String>,
}

/// How far the log at `path` has been written (0 if it cannot be read): where a later scan starts.
pub fn offset(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |metadata| metadata.len())
}

/// Reads the log of `node` at `path` from byte `from` on (an unreadable log reads as empty).
pub fn scan(node: usize, path: &Path, from: u64) -> NodeLog {
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = usize::try_from(from).unwrap_or(usize::MAX).min(bytes.len());
    let text = String::from_utf8_lossy(&bytes[start..]);
    let mut log = NodeLog { node, path: path.display().to_string(), ..NodeLog::default() };
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for line in text.lines() {
        log.lines += 1;
        let message = line.split_once(' ').map_or(line, |(_, rest)| rest).trim();
        let message: String = message.chars().take(MESSAGE_CHARS).collect();
        if line.contains("quit RaftCore::main") || line.contains("Raft is not running") {
            log.raft_stopped += 1;
        }
        if line.contains("panicked") {
            log.panics += 1;
        }
        if message.starts_with("ERROR") {
            log.errors += 1;
            if errors.len() < KEPT_MESSAGES && !errors.contains(&message) {
                errors.push(message);
            }
        } else if message.starts_with("WARN") {
            log.warnings += 1;
            if warnings.len() < KEPT_MESSAGES && !warnings.contains(&message) {
                warnings.push(message);
            }
        }
    }
    log.first_messages = if errors.is_empty() { warnings } else { errors };
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_errors_warnings_and_raft_stops() {
        let dir = std::env::temp_dir().join(format!("trent-soak-log-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("node-1.log");
        std::fs::write(
            &path,
            "2026-01-01T00:00:00Z  INFO trent_node::server: node started\n\
             2026-01-01T00:00:01Z  WARN openraft: slow\n\
             2026-01-01T00:00:02Z ERROR openraft: Raft is not running: when Write Logs: No such file or directory\n\
             2026-01-01T00:00:03Z ERROR openraft: Raft is not running: when Write Logs: No such file or directory\n",
        )
        .unwrap();
        let log = scan(1, &path, 0);
        assert_eq!((log.lines, log.errors, log.warnings, log.raft_stopped), (4, 2, 1, 2));
        assert_eq!(log.first_messages.len(), 1);
        assert!(log.first_messages[0].starts_with("ERROR openraft"));
        let text = std::fs::read_to_string(&path).unwrap();
        let two_lines: usize = text.lines().take(2).map(|line| line.len() + 1).sum();
        let later = scan(1, &path, two_lines as u64);
        assert_eq!(later.lines, 2, "the first two lines are before the offset");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
