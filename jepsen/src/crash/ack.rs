//! The writer's acknowledgements: one line on stdout per write that reached its durability point.

use std::fmt;

/// One acknowledgement, as the writer prints it and the parent reads it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// The append of log entry `index` was flushed: openraft's append callback fired.
    Log(u64),
    /// `save_vote` for a vote of this term returned.
    Vote(u64),
    /// The state machine applied entries up to `index`. Not a durability promise: trent-storage
    /// leaves registry rows unflushed, and replaying the log restores them after a crash.
    Applied(u64),
}

impl Ack {
    /// Parses one line as [`fmt::Display`] writes it; `None` for anything else.
    pub fn parse(line: &str) -> Option<Ack> {
        let mut words = line.split_whitespace();
        let ack = match (words.next(), words.next(), words.next()) {
            (Some("acked"), Some("log"), Some(index)) => Ack::Log(index.parse().ok()?),
            (Some("acked"), Some("vote"), Some(term)) => Ack::Vote(term.parse().ok()?),
            (Some("applied"), Some(index), None) => Ack::Applied(index.parse().ok()?),
            _ => return None,
        };
        words.next().is_none().then_some(ack)
    }
}

impl fmt::Display for Ack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ack::Log(index) => write!(f, "acked log {index}"),
            Ack::Vote(term) => write!(f, "acked vote {term}"),
            Ack::Applied(index) => write!(f, "applied {index}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Ack;

    #[test]
    fn every_ack_reads_back_as_printed() {
        for ack in [Ack::Log(7), Ack::Vote(3), Ack::Applied(12)] {
            assert_eq!(Ack::parse(&ack.to_string()), Some(ack));
        }
    }

    #[test]
    fn other_lines_are_not_acks() {
        for line in ["", "acked log", "acked log x", "acked log 1 2", "applied", "acked apply 3", "log 1"] {
            assert_eq!(Ack::parse(line), None, "{line:?}");
        }
    }
}
