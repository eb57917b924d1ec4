//! What the linearizability checker concludes, per key and for a whole history, and the evidence
//! it gives when a key's history cannot be linearized.

use std::fmt;

use crate::history::Operation;

/// The checker's conclusion about one key.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Some order of the operations, each placed between its invocation and completion, is a
    /// legal sequential execution of the model.
    Linearizable,
    /// No such order exists.
    NotLinearizable(Box<Counterexample>),
    /// The search stopped at a limit before reaching either conclusion.
    Unknown(UnknownReason),
}

/// Evidence that a key's history is not linearizable: the longest sequence of operations the
/// search could linearize, and the operation that could then be placed neither next nor later.
#[derive(Debug, Clone, PartialEq)]
pub struct Counterexample {
    /// The longest linearizable prefix found, in linearization order.
    pub prefix: Vec<Operation>,
    /// The operation whose completion the search reached without being able to place it after
    /// `prefix`.
    pub blocked: Operation,
    /// The model's state after `prefix`, as `Debug` shows it.
    pub state_after_prefix: String,
}

/// Why the checker gave up on a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnknownReason {
    /// The key has more operations than the search is allowed to consider.
    #[error("{operations} operations, more than the limit of {limit}")]
    TooManyOperations {
        /// Operations on the key.
        operations: usize,
        /// The limit.
        limit: usize,
    },
    /// The search took its whole step budget.
    #[error("step budget of {steps} exhausted")]
    StepBudgetExhausted {
        /// The budget.
        steps: u64,
    },
    /// The memo of visited configurations reached its memory bound.
    #[error("memo reached {bytes} bytes")]
    MemoFull {
        /// The bound.
        bytes: usize,
    },
}

/// The verdict on one key, with the size of its history and the work it took.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyReport {
    /// The key.
    pub key: String,
    /// Operations on the key that the checker considered (failed ones are not among them).
    pub operations: usize,
    /// Search steps taken.
    pub steps: u64,
    /// The conclusion.
    pub verdict: Verdict,
}

/// The verdict on a whole history: one [`KeyReport`] per key, in key order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Per-key reports, sorted by key.
    pub keys: Vec<KeyReport>,
}

/// A whole history's verdict in one word: the worst of its keys'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    /// Every key is linearizable.
    Linearizable,
    /// At least one key is not.
    NotLinearizable,
    /// No key is known to be non-linearizable, but at least one is unknown.
    Unknown,
}

impl Report {
    /// The worst verdict over all keys: any violation wins over any unknown.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::Linearizable;
        for key in &self.keys {
            match key.verdict {
                Verdict::NotLinearizable(_) => return Summary::NotLinearizable,
                Verdict::Unknown(_) => summary = Summary::Unknown,
                Verdict::Linearizable => {}
            }
        }
        summary
    }

    /// The report for `key`, if the history has operations on it.
    pub fn key(&self, key: &str) -> Option<&KeyReport> {
        self.keys.iter().find(|report| report.key == key)
    }

    /// The keys whose histories are not linearizable.
    pub fn violations(&self) -> impl Iterator<Item = (&str, &Counterexample)> {
        self.keys.iter().filter_map(|report| match &report.verdict {
            Verdict::NotLinearizable(counterexample) => Some((report.key.as_str(), counterexample.as_ref())),
            _ => None,
        })
    }
}

impl fmt::Display for KeyReport {
    /// One line of verdict, then, for a violation, the evidence one operation a line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (key, operations, steps) = (&self.key, self.operations, self.steps);
        match &self.verdict {
            Verdict::Linearizable => write!(f, "{key}: linearizable ({operations} ops, {steps} steps)"),
            Verdict::Unknown(reason) => write!(f, "{key}: unknown ({operations} ops): {reason}"),
            Verdict::NotLinearizable(counterexample) => {
                writeln!(f, "{key}: NOT linearizable ({operations} ops, {steps} steps)")?;
                writeln!(f, "  longest linearizable prefix ({} ops):", counterexample.prefix.len())?;
                for op in &counterexample.prefix {
                    writeln!(f, "    {op}")?;
                }
                writeln!(f, "  state after it: {}", counterexample.state_after_prefix)?;
                write!(f, "  cannot place: {}", counterexample.blocked)
            }
        }
    }
}
