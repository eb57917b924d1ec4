//! Who may do what to which key: AWS's policy language and evaluation logic, as a pure function.
//!
//! [`Policy::parse`] reads and validates a key policy or an IAM identity policy (JSON, as AWS
//! writes them); [`evaluate`] decides one request from its [`RequestContext`], the key's policy,
//! the caller's identity policies and the key's [`Grant`]s, the way AWS KMS documents it: an
//! explicit deny anywhere wins; otherwise the request is allowed if the key policy allows the
//! caller, or the key policy allows the caller's account (delegating to IAM) and an identity
//! policy allows it, or a grant allows it. The [`Decision`] says which statement or grant decided
//! and, for a denial, carries AWS's message. No I/O, no clock: the caller supplies the time.

mod condition;
mod context;
mod document;
mod evaluate;
mod grant;
mod wildcard;

pub use condition::{Condition, Operator, SetQualifier};
pub use context::RequestContext;
pub use document::{Effect, Policy, PolicyError, PolicyKind, Statement, MAX_POLICY_BYTES};
pub use evaluate::{evaluate, Decider, Decision, DenyReason};
pub use grant::{Grant, GrantConstraints};
pub use wildcard::matches as wildcard_matches;
