//! Sequential specifications: what a single, correct copy of the system would answer.
//!
//! A [`Model`] decodes a history's [`Operation`]s into its own typed operations once, then steps a
//! small state through them; a step that returns `None` means the recorded output is impossible
//! from that state. The checker in [`wgl`](crate::wgl) searches for an order in which every step
//! succeeds. [`KeyStateRegister`] is the model of the harness's key-state workload; [`Register`]
//! is a plain read/write/compare-and-set register for tests and other workloads.

use std::fmt::Debug;
use std::hash::Hash;

use serde_json::Value;

use crate::history::Operation;

/// A sequential specification the checker can search against.
pub trait Model {
    /// The system's state; the checker memoises on it, so keep it small.
    type State: Clone + Eq + Hash + Debug;
    /// An operation decoded from the history, with its input and (when known) its output.
    type Op: Clone + Debug;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Decodes one history operation. An indeterminate operation
    /// ([`Operation::is_indeterminate`]) must decode to an op whose output is not checked.
    fn decode(&self, op: &Operation) -> Result<Self::Op, ModelError>;

    /// Applies `op` to `state`: the next state, or `None` when the op's recorded output cannot
    /// have been produced from `state`.
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;
}

/// Why a history operation does not fit a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model has no operation by this name.
    #[error("unknown operation {f:?}")]
    UnknownOperation {
        /// The name found.
        f: String,
    },
    /// The operation's input is not what the model expects.
    #[error("{f}: bad input {value}: expected {expected}")]
    BadInput {
        /// The operation's name.
        f: String,
        /// The input found.
        value: Value,
        /// What the model expects.
        expected: &'static str,
    },
    /// The operation's output is not what the model expects.
    #[error("{f}: bad output {value}: expected {expected}")]
    BadOutput {
        /// The operation's name.
        f: String,
        /// The output found.
        value: Value,
        /// What the model expects.
        expected: &'static str,
    },
}

/// What a read-like operation returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Observation<T> {
    /// The client never learned the result (the operation timed out).
    Indeterminate,
    /// The client saw this value.
    Observed(T),
}

impl<T: PartialEq> Observation<T> {
    /// Whether `actual` could have produced this observation.
    pub fn admits(&self, actual: &T) -> bool {
        match self {
            Self::Indeterminate => true,
            Self::Observed(seen) => seen == actual,
        }
    }
}

/// A KMS key's enabled state, as `DescribeKey` reports it in `KeyMetadata.KeyState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyState {
    /// Usable for cryptographic operations.
    Enabled,
    /// Not usable until enabled again.
    Disabled,
}

impl KeyState {
    /// The name KMS uses for the state.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "Enabled",
            Self::Disabled => "Disabled",
        }
    }

    fn parse(value: &Value) -> Option<Self> {
        match value.as_str()? {
            "Enabled" => Some(Self::Enabled),
            "Disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// An operation of the key-state workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyStateOp {
    /// `EnableKey`: the key is Enabled afterwards, whatever it was.
    Enable,
    /// `DisableKey`: the key is Disabled afterwards, whatever it was.
    Disable,
    /// `DescribeKey`: observes the key state without changing it.
    Describe(Observation<KeyState>),
}

/// The harness's key-state register: one KMS key toggled by `enable` and `disable` and read by
/// `describe` (output `"Enabled"` or `"Disabled"`). Outputs of `enable` and `disable` are not
/// checked: a successful call has no result beyond having happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyStateRegister {
    /// The state of the key before the history starts; `CreateKey` makes keys Enabled.
    pub initial: KeyState,
}

impl Default for KeyStateRegister {
    fn default() -> Self {
        Self { initial: KeyState::Enabled }
    }
}

impl Model for KeyStateRegister {
    type State = KeyState;
    type Op = KeyStateOp;

    fn init(&self) -> KeyState {
        self.initial
    }

    fn decode(&self, op: &Operation) -> Result<KeyStateOp, ModelError> {
        match op.f.as_str() {
            "enable" => Ok(KeyStateOp::Enable),
            "disable" => Ok(KeyStateOp::Disable),
            "describe" => match op.observed_output() {
                None => Ok(KeyStateOp::Describe(Observation::Indeterminate)),
                Some(value) => KeyState::parse(value)
                    .map(|state| KeyStateOp::Describe(Observation::Observed(state)))
                    .ok_or_else(|| ModelError::BadOutput {
                        f: op.f.clone(),
                        value: value.clone(),
                        expected: r#""Enabled" or "Disabled""#,
                    }),
            },
            other => Err(ModelError::UnknownOperation { f: other.to_owned() }),
        }
    }

    fn step(&self, state: &KeyState, op: &KeyStateOp) -> Option<KeyState> {
        match op {
            KeyStateOp::Enable => Some(KeyState::Enabled),
            KeyStateOp::Disable => Some(KeyState::Disabled),
            KeyStateOp::Describe(seen) => seen.admits(state).then_some(*state),
        }
    }
}

/// An operation on a [`Register`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegisterOp {
    /// Reads the value (`null` when never written).
    Read(Observation<Option<i64>>),
    /// Writes the value.
    Write(i64),
    /// Sets the value to `new` if it is `expected`; a recorded (or assumed) success.
    CompareAndSet {
        /// The value required before.
        expected: i64,
        /// The value after.
        new: i64,
    },
}

/// A read/write/compare-and-set register of integers, initially empty: `read` outputs the value
/// or `null`, `write` takes the value as input, `cas` takes `[expected, new]`. A `cas` that failed
/// is a `fail` event and never reaches the model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Register;

impl Model for Register {
    type State = Option<i64>;
    type Op = RegisterOp;

    fn init(&self) -> Option<i64> {
        None
    }

    fn decode(&self, op: &Operation) -> Result<RegisterOp, ModelError> {
        let bad_input =
            |expected| ModelError::BadInput { f: op.f.clone(), value: op.input.clone(), expected };
        match op.f.as_str() {
            "read" => match op.observed_output() {
                None => Ok(RegisterOp::Read(Observation::Indeterminate)),
                Some(Value::Null) => Ok(RegisterOp::Read(Observation::Observed(None))),
                Some(value) => value
                    .as_i64()
                    .map(|v| RegisterOp::Read(Observation::Observed(Some(v))))
                    .ok_or_else(|| ModelError::BadOutput {
                        f: op.f.clone(),
                        value: value.clone(),
                        expected: "an integer or null",
                    }),
            },
            "write" => op.input.as_i64().map(RegisterOp::Write).ok_or_else(|| bad_input("an integer")),
            "cas" => match op.input.as_array().map(Vec::as_slice) {
                Some([expected, new]) => match (expected.as_i64(), new.as_i64()) {
                    (Some(expected), Some(new)) => Ok(RegisterOp::CompareAndSet { expected, new }),
                    _ => Err(bad_input("[expected, new] integers")),
                },
                _ => Err(bad_input("[expected, new] integers")),
            },
            other => Err(ModelError::UnknownOperation { f: other.to_owned() }),
        }
    }

    fn step(&self, state: &Option<i64>, op: &RegisterOp) -> Option<Option<i64>> {
        match op {
            RegisterOp::Read(seen) => seen.admits(state).then_some(*state),
            RegisterOp::Write(value) => Some(Some(*value)),
            RegisterOp::CompareAndSet { expected, new } => (*state == Some(*expected)).then_some(Some(*new)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(f: &str, input: Value, output: Value, determinate: bool) -> Operation {
        Operation {
            process: 0,
            f: f.into(),
            key: "k".into(),
            input,
            output,
            call_ns: 0,
            return_ns: determinate.then_some(1),
            invoke_index: 0,
        }
    }

    #[test]
    fn key_state_describe_must_match_the_state() {
        let model = KeyStateRegister::default();
        let seen_enabled = model.decode(&op("describe", json!(null), json!("Enabled"), true)).unwrap();
        assert_eq!(model.step(&KeyState::Enabled, &seen_enabled), Some(KeyState::Enabled));
        assert_eq!(model.step(&KeyState::Disabled, &seen_enabled), None);
        let disable = model.decode(&op("disable", json!(null), json!(null), true)).unwrap();
        assert_eq!(model.step(&KeyState::Enabled, &disable), Some(KeyState::Disabled));
    }

    #[test]
    fn key_state_indeterminate_describe_admits_any_state() {
        let model = KeyStateRegister::default();
        // An info completion's value is not an observation, even if it looks like one.
        let timed_out = model.decode(&op("describe", json!(null), json!("Enabled"), false)).unwrap();
        assert_eq!(timed_out, KeyStateOp::Describe(Observation::Indeterminate));
        assert_eq!(model.step(&KeyState::Disabled, &timed_out), Some(KeyState::Disabled));
    }

    #[test]
    fn key_state_rejects_unknown_operations_and_outputs() {
        let model = KeyStateRegister::default();
        assert!(matches!(
            model.decode(&op("delete", json!(null), json!(null), true)),
            Err(ModelError::UnknownOperation { .. })
        ));
        assert!(matches!(
            model.decode(&op("describe", json!(null), json!("PendingDeletion"), true)),
            Err(ModelError::BadOutput { .. })
        ));
    }

    #[test]
    fn register_cas_succeeds_only_from_the_expected_value() {
        let cas = Register.decode(&op("cas", json!([1, 2]), json!(null), true)).unwrap();
        assert_eq!(Register.step(&Some(1), &cas), Some(Some(2)));
        assert_eq!(Register.step(&Some(3), &cas), None);
        assert_eq!(Register.step(&None, &cas), None);
        let read_empty = Register.decode(&op("read", json!(null), json!(null), true)).unwrap();
        assert_eq!(Register.step(&None, &read_empty), Some(None));
        assert!(matches!(
            Register.decode(&op("write", json!("x"), json!(null), true)),
            Err(ModelError::BadInput { .. })
        ));
    }
}
